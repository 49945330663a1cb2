/* creds_imds.c: EC2 instance metadata, IMDSv2 only: PUT /latest/api/token with a TTL, then the
 * role name, then its credentials (and the placement region for the region chain). Short
 * timeouts so a laptop without IMDS fails fast.
 * https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-service.html */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "creds_int.h"
#include "http.h"
#include "log.h"

#define IMDS_DEFAULT_TIMEOUT_S 1L
#define IMDS_DEFAULT_ATTEMPTS 2L /* one retry */
#define IMDS_TOKEN_TTL "21600"   /* what the SDKs ask for: 6 h */
#define IMDS_CREDS_PATH "/latest/meta-data/iam/security-credentials/"

struct imds {
    const struct creds_ctx *ctx;
    char base[256]; /* no trailing slash */
    long timeout_ms;
    int attempts;
    char *token_hdr; /* "X-aws-ec2-metadata-token: ..." (owned, wiped) */
    size_t token_hdr_len;
};

/* The body as a writable string ("" when there was none). */
static char *imds_body(struct http_resp *r)
{
    static char empty[1];

    empty[0] = '\0';
    return r->body.p ? (char *)r->body.p : empty;
}

static void imds_free(struct imds *m)
{
    wipe_free(m->token_hdr, m->token_hdr_len);
    m->token_hdr = NULL;
    m->token_hdr_len = 0;
}

static enum creds_status imds_long(const struct creds_ctx *ctx, const char *var, long lo, long hi,
                                   long *v, struct creds_try *t)
{
    const char *s = creds_getenv(ctx, var);
    char *end = NULL;
    long n;

    if (!s)
        return CREDS_OK;
    errno = 0;
    n = strtol(s, &end, 10);
    if (errno || *end || n < lo || n > hi)
        return creds_fail(t, "%s=%.20s: expected %ld to %ld", var, s, lo, hi);
    *v = n;
    return CREDS_OK;
}

/* NOT_HERE when disabled; FAILED on a bad setting. */
static enum creds_status imds_setup(const struct creds_ctx *ctx, struct imds *m,
                                    struct creds_try *t)
{
    const char *ep = creds_getenv(ctx, "AWS_EC2_METADATA_SERVICE_ENDPOINT");
    const char *mode = creds_getenv(ctx, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
    long secs = IMDS_DEFAULT_TIMEOUT_S;
    long attempts = IMDS_DEFAULT_ATTEMPTS;
    enum creds_status st;
    size_t n;
    int w;

    memset(m, 0, sizeof(*m));
    m->ctx = ctx;
    if (creds_env_true(ctx, "AWS_EC2_METADATA_DISABLED"))
        return creds_skip(t, "disabled (AWS_EC2_METADATA_DISABLED=true)");
    st = imds_long(ctx, "AWS_METADATA_SERVICE_TIMEOUT", 1, 60, &secs, t);
    if (st == CREDS_OK)
        st = imds_long(ctx, "AWS_METADATA_SERVICE_NUM_ATTEMPTS", 1, 10, &attempts, t);
    if (st != CREDS_OK)
        return st;
    m->timeout_ms = secs * 1000L;
    m->attempts = (int)attempts;
    if (ep) {
        if (strncmp(ep, "http://", 7) != 0 && strncmp(ep, "https://", 8) != 0)
            return creds_fail(t,
                              "AWS_EC2_METADATA_SERVICE_ENDPOINT=%.200s: expected "
                              "http://HOST[:PORT]",
                              ep);
        w = snprintf(m->base, sizeof(m->base), "%s", ep);
    } else if (!mode || !strcasecmp(mode, "IPv4")) {
        w = snprintf(m->base, sizeof(m->base), "http://169.254.169.254");
    } else if (!strcasecmp(mode, "IPv6")) {
        w = snprintf(m->base, sizeof(m->base), "http://[fd00:ec2::254]");
    } else {
        return creds_fail(t,
                          "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=%.20s: expected IPv4 or "
                          "IPv6",
                          mode);
    }
    if (w < 0 || (size_t)w >= sizeof(m->base))
        return creds_fail(t, "AWS_EC2_METADATA_SERVICE_ENDPOINT too long");
    n = strlen(m->base);
    while (n > 0 && m->base[n - 1] == '/')
        m->base[--n] = '\0';
    return CREDS_OK;
}

/* One request with retries on transport failures and 5xx (creds_http_retry, no pause between
 * attempts). INJ_OK with resp filled, or the transport error in e. */
static enum inj_rc imds_request(struct imds *m, const char *method, const char *path,
                                const char *const *headers, struct http_resp *resp,
                                struct inj_err *e, int *tries)
{
    struct creds_retry rules;
    struct http_req req;
    char url[512];
    char what[96];
    enum inj_rc rc;
    int no_time = 0;
    int w;

    w = snprintf(url, sizeof(url), "%s%s", m->base, path);
    if (w < 0 || (size_t)w >= sizeof(url))
        return inj_err_set(e, INJ_E_CONFIG, "IMDS URL too long");
    if (!m->ctx->http)
        return inj_err_set(e, INJ_E_SOFTWARE, "no HTTP client");
    memset(&req, 0, sizeof(req));
    req.method = method;
    req.url = url;
    req.headers = headers;
    req.max_response = CREDS_MAX_JSON;
    (void)snprintf(what, sizeof(what), "IMDS %s %.64s", method, path);
    memset(&rules, 0, sizeof(rules));
    rules.what = what;
    rules.attempts = m->attempts;
    rules.timeout_ms = m->timeout_ms;
    rules.connect_ms = m->timeout_ms;
    rc = creds_http_retry(m->ctx, &rules, &req, resp, e, tries, &no_time);
    if (no_time) {
        char prev[sizeof(e->msg)];

        if (*tries == 0) {
            *tries = 1; /* as the message has always counted it */
            return inj_err_set(e, INJ_E_TEMPFAIL, "out of time " DEADLINE_WHY);
        }
        memcpy(prev, e->msg, sizeof(prev));
        return inj_err_set(e, INJ_E_TEMPFAIL, "%.900s; no time left to retry " DEADLINE_WHY, prev);
    }
    return rc;
}

static enum creds_status imds_transport_fail(const struct imds *m, const struct inj_err *e,
                                             int tries, struct creds_try *t)
{
    if (e->code == INJ_E_NOMEM)
        return creds_nomem(t);
    /* Out of time is not "no IMDS here": the run ends with 75, not "no credentials". */
    if (!creds_time_left_ms(m->ctx, 1))
        return creds_fail_code(t, INJ_E_TEMPFAIL, "%s (%d attempt%s)", e->msg, tries,
                               tries == 1 ? "" : "s");
    /* The token answer comes back with the instance's hop limit (default 1 on older
     * instances): one docker bridge more and it never arrives, while IMDSv1 would work. */
    return creds_skip(t, "%s (%d attempt%s of %ld s)%s", e->msg, tries, tries == 1 ? "" : "s",
                      m->timeout_ms / 1000,
                      e->code == INJ_E_TEMPFAIL
                          ? "; in a container on EC2, raise the instance's metadata hop limit "
                            "to 2 (aws ec2 modify-instance-metadata-options "
                            "--http-put-response-hop-limit 2)"
                          : "");
}

/* IMDSv2 session token -> m->token_hdr. NOT_HERE when there is no usable IMDS. */
static enum creds_status imds_token(struct imds *m, struct creds_try *t)
{
    static const char *const headers[] = {"X-aws-ec2-metadata-token-ttl-seconds: " IMDS_TOKEN_TTL,
                                          NULL};
    enum creds_status st = CREDS_NOT_HERE;
    struct http_resp resp;
    struct inj_err e;
    const unsigned char *c;
    char *tok;
    int tries = 0;

    memset(&resp, 0, sizeof(resp));
    memset(&e, 0, sizeof(e));
    if (imds_request(m, "PUT", "/latest/api/token", headers, &resp, &e, &tries) != INJ_OK) {
        st = imds_transport_fail(m, &e, tries, t);
        goto out;
    }
    if (resp.status == 403) {
        st = creds_skip(t, "token refused (HTTP 403): instance metadata is turned off for "
                           "this instance");
        goto out;
    }
    if (resp.status == 404 || resp.status == 405) {
        st = creds_skip(t,
                        "%s has no IMDSv2 token endpoint (HTTP %ld); injector does not use "
                        "IMDSv1",
                        m->base, resp.status);
        goto out;
    }
    if (resp.status != 200) {
        st = creds_skip(t, "token request: HTTP %ld from %s", resp.status, m->base);
        goto out;
    }
    /* An IMDSv2 token is base64 text; anything else (an HTML page from a proxy or a
     * captive portal) is not one, and must not be sent back as a header. */
    tok = creds_trim(imds_body(&resp));
    for (c = (const unsigned char *)tok; *c; c++)
        if (!isalnum(*c) && !strchr("+/=-_", *c))
            break;
    if (!*tok || *c) {
        st = creds_skip(t, "%s answered the token request with something that is not a token",
                        m->base);
        goto out;
    }
    m->token_hdr_len = strlen("X-aws-ec2-metadata-token: ") + strlen(tok) + 1;
    m->token_hdr = malloc(m->token_hdr_len);
    if (!m->token_hdr) {
        m->token_hdr_len = 0;
        st = creds_nomem(t);
        goto out;
    }
    (void)snprintf(m->token_hdr, m->token_hdr_len, "X-aws-ec2-metadata-token: %s", tok);
    st = CREDS_OK;
out:
    http_resp_free(&resp);
    return st;
}

/* GET path with the token. *resp is the caller's (http_resp_free). */
static enum creds_status imds_get(struct imds *m, const char *path, struct http_resp *resp,
                                  struct creds_try *t)
{
    const char *headers[2] = {m->token_hdr, NULL};
    struct inj_err e;
    int tries = 0;

    memset(&e, 0, sizeof(e));
    if (imds_request(m, "GET", path, headers, resp, &e, &tries) != INJ_OK) {
        if (e.code == INJ_E_NOMEM)
            return creds_nomem(t);
        return creds_fail(t, "GET %s: %s (%d attempt%s)", path, e.msg, tries,
                          tries == 1 ? "" : "s");
    }
    return CREDS_OK;
}

static int imds_role_ok(const char *s)
{
    size_t n = 0;

    for (; s[n]; n++)
        if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') ||
              (s[n] >= '0' && s[n] <= '9') || strchr("_+=,.@-", s[n])))
            return 0;
    return n > 0 && n <= 128;
}

enum creds_status creds_imds_get(const struct creds_ctx *ctx, struct creds *out,
                                 struct creds_try *t)
{
    enum creds_status st;
    struct http_resp resp;
    struct imds m;
    char role[160];
    char path[256];
    char *first;

    memset(&resp, 0, sizeof(resp));
    st = imds_setup(ctx, &m, t);
    if (st != CREDS_OK)
        return st;
    st = imds_token(&m, t);
    if (st != CREDS_OK)
        goto out;
    st = imds_get(&m, IMDS_CREDS_PATH, &resp, t);
    if (st != CREDS_OK)
        goto out;
    if (resp.status == 404) {
        st = creds_skip(t, "no IAM role attached to this instance (no instance profile)");
        goto out;
    }
    if (resp.status != 200) {
        st = creds_fail(t, "GET %s: HTTP %ld", IMDS_CREDS_PATH, resp.status);
        goto out;
    }
    /* One role per instance profile; the list is newline-separated all the same. */
    first = creds_trim(imds_body(&resp));
    first[strcspn(first, "\r\n")] = '\0';
    if (!imds_role_ok(first)) {
        st = creds_fail(t, "the role name from %s is not an IAM role name", IMDS_CREDS_PATH);
        goto out;
    }
    (void)snprintf(role, sizeof(role), "%s", first);
    (void)snprintf(path, sizeof(path), IMDS_CREDS_PATH "%s", role);
    st = imds_get(&m, path, &resp, t);
    if (st != CREDS_OK)
        goto out;
    if (resp.status != 200) {
        st = creds_fail(t, "role %s: HTTP %ld", role, resp.status);
        goto out;
    }
    st = creds_parse_json(resp.body.p, resp.body.len, CREDS_JSON_IMDS, time(NULL), "IMDS",
                          "IMDS credentials", out, t);
    if (st == CREDS_OK)
        log_debug("IMDS credentials for role %s", role);
out:
    http_resp_free(&resp);
    imds_free(&m);
    return st;
}

void creds_imds_region(const struct creds_ctx *ctx, char *buf, size_t n)
{
    struct http_resp resp;
    struct creds_try t;
    struct imds m;
    char *r;
    int w;

    buf[0] = '\0';
    memset(&resp, 0, sizeof(resp));
    memset(&t, 0, sizeof(t));
    if (imds_setup(ctx, &m, &t) != CREDS_OK || imds_token(&m, &t) != CREDS_OK ||
        imds_get(&m, "/latest/meta-data/placement/region", &resp, &t) != CREDS_OK ||
        resp.status != 200) {
        log_debug("no region from IMDS: %s", t.why.msg[0] ? t.why.msg : "no answer");
        goto out;
    }
    r = creds_trim(imds_body(&resp));
    w = snprintf(buf, n, "%s", r);
    if (w < 0 || (size_t)w >= n)
        buf[0] = '\0';
out:
    http_resp_free(&resp);
    imds_free(&m);
}
