/* creds_webid.c: STS: the web identity provider (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN,
 * EKS IRSA) and the two calls behind it and behind profile roles: AssumeRoleWithWebIdentity
 * (unsigned) and AssumeRole (signed with the source credentials). Query protocol, XML answer. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "creds_int.h"
#include "http.h"
#include "log.h"
#include "mono.h"
#include "redact.h"
#include "rfile.h"
#include "ref.h"
#include "xml.h"

#define STS_ATTEMPTS 3
#define STS_TIMEOUT_MS 10000L

enum creds_status creds_sts_endpoint(const struct creds_ctx *ctx, char *url, size_t n,
                                     char *sign_region, size_t rn, struct creds_try *t)
{
    const char *region = ctx->region && *ctx->region ? ctx->region : NULL;
    const char *var = "AWS_ENDPOINT_URL_STS";
    const char *ov = NULL;
    struct ref_endpoint_opts o;
    int w;

    creds_endpoint_opts(ctx, &o.fips, &o.dualstack);
    if (!creds_env_true(ctx, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")) {
        ov = creds_getenv(ctx, var);
        if (!ov) {
            var = "AWS_ENDPOINT_URL";
            ov = creds_getenv(ctx, var);
        }
    }
    if (region && !ref_valid_region(region))
        return creds_fail(t, "region \"%.64s\" is not a region name", region);
    w = snprintf(sign_region, rn, "%s", region ? region : "us-east-1");
    if (w < 0 || (size_t)w >= rn)
        return creds_fail(t, "region name too long");
    if (ov) {
        /* The web identity token and the new keys cross this connection. */
        if (strncmp(ov, "https://", 8) != 0)
            return creds_fail(t, "%s=%s: only https:// endpoints are allowed", var, ov);
        w = snprintf(url, n, "%s%s", ov, strchr(ov + 8, '/') ? "" : "/");
    } else if (region || o.fips || o.dualstack) {
        /* Regional, as current SDKs default to (AWS_STS_REGIONAL_ENDPOINTS=regional); the
         * global endpoint has no FIPS or dual-stack variant: us-east-1's has. */
        char host[256];
        struct inj_err e;

        memset(&e, 0, sizeof(e));
        if (ref_endpoint_host("sts", region ? region : "us-east-1", &o, host, sizeof(host), &e) !=
            INJ_OK)
            return creds_fail_code(t, e.code, "STS endpoint: %s", e.msg);
        w = snprintf(url, n, "https://%s/", host);
    } else {
        w = snprintf(url, n, "https://sts.amazonaws.com/");
    }
    if (w < 0 || (size_t)w >= n)
        return creds_fail(t, "STS endpoint URL too long");
    return CREDS_OK;
}

enum inj_rc creds_sts_url(const struct creds_ctx *ctx, char *url, size_t n, struct inj_err *err)
{
    struct creds_try t;
    char region[64];

    memset(&t, 0, sizeof(t));
    if (creds_sts_endpoint(ctx, url, n, region, sizeof(region), &t) != CREDS_OK)
        return inj_err_set(err, t.why.code ? t.why.code : INJ_E_USAGE, "%s", t.why.msg);
    return INJ_OK;
}

/* application/x-www-form-urlencoded, RFC 3986 unreserved characters kept. */
static enum sbuf_rc creds_form_add(struct sbuf *b, const char *name, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";
    enum sbuf_rc rc;
    char enc[3];
    const unsigned char *p;

    rc = sbuf_append_str(b, b->len ? "&" : "");
    if (rc == SBUF_OK)
        rc = sbuf_append_str(b, name);
    if (rc == SBUF_OK)
        rc = sbuf_append_str(b, "=");
    for (p = (const unsigned char *)value; rc == SBUF_OK && *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~') {
            rc = sbuf_append(b, p, 1);
            continue;
        }
        enc[0] = '%';
        enc[1] = hex[*p >> 4];
        enc[2] = hex[*p & 15];
        rc = sbuf_append(b, enc, 3);
    }
    OPENSSL_cleanse(enc, sizeof(enc)); /* the last byte of a token may be in it */
    return rc;
}

/* STS's own limits ([\w+=,.@-]{2,64}), checked here so the message is ours. */
static int creds_session_name_ok(const char *s)
{
    size_t n = 0;

    for (; s[n]; n++) {
        char c = s[n];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("_+=,.@-", c)))
            return 0;
    }
    return n >= 2 && n <= 64;
}

static int creds_role_arn_ok(const char *s)
{
    size_t n = strlen(s);
    size_t i;

    if (n < 20 || n > 2048 || strncmp(s, "arn:", 4) != 0)
        return 0;
    for (i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            return 0;
    return 1;
}

/* The common request body: Action, Version, RoleArn, RoleSessionName. */
static enum creds_status creds_sts_body(const struct creds_role *r, const char *action,
                                        struct sbuf *body, struct creds_try *t)
{
    char gen[32];
    const char *session = r->session_name;
    char dur[24];
    enum sbuf_rc rc;

    if (!creds_role_arn_ok(r->role_arn))
        return creds_fail(t, "role ARN \"%.100s\" is not an IAM role ARN", r->role_arn);
    if (!session) {
        (void)snprintf(gen, sizeof(gen), "injector-%lld", (long long)time(NULL));
        session = gen;
    }
    if (!creds_session_name_ok(session))
        return creds_fail(t, "role session name \"%.64s\": 2 to 64 of A-Z a-z 0-9 _+=,.@-",
                          session);
    rc = creds_form_add(body, "Action", action);
    if (rc == SBUF_OK)
        rc = creds_form_add(body, "Version", "2011-06-15");
    if (rc == SBUF_OK)
        rc = creds_form_add(body, "RoleArn", r->role_arn);
    if (rc == SBUF_OK)
        rc = creds_form_add(body, "RoleSessionName", session);
    if (rc == SBUF_OK && r->duration_s > 0) {
        (void)snprintf(dur, sizeof(dur), "%ld", r->duration_s);
        rc = creds_form_add(body, "DurationSeconds", dur);
    }
    if (rc == SBUF_OK && r->external_id)
        rc = creds_form_add(body, "ExternalId", r->external_id);
    if (rc == SBUF_NOMEM)
        return creds_nomem(t);
    if (rc != SBUF_OK)
        return creds_fail(t, "STS %s request too large", action);
    return CREDS_OK;
}

/* What to do about an STS error code. */
static const char *creds_sts_hint(const char *code, int web)
{
    if (!strcmp(code, "AccessDenied"))
        return web ? "check the role's trust policy: it must allow "
                     "sts:AssumeRoleWithWebIdentity for this identity provider and subject "
                     "(EKS IRSA: the cluster's OIDC provider and the service account in the "
                     "sub condition)"
                   : "the role's trust policy must allow sts:AssumeRole for the source "
                     "identity, and the source identity's policy must allow sts:AssumeRole on "
                     "the role";
    if (!strcmp(code, "InvalidIdentityToken") || !strcmp(code, "IDPRejectedClaim"))
        return "check that the token's issuer is an IAM OIDC identity provider and its "
               "audience is an allowed client id (IRSA: sts.amazonaws.com)";
    if (!strcmp(code, "ExpiredTokenException") || !strcmp(code, "ExpiredToken"))
        return web ? "the web identity token has expired; whatever writes the token file "
                     "(the kubelet for IRSA) should have refreshed it"
                   : "the source credentials have expired; refresh them";
    if (!strcmp(code, "InvalidClientTokenId") || !strcmp(code, "SignatureDoesNotMatch") ||
        !strcmp(code, "IncompleteSignature"))
        return "the source credentials were rejected: check the source profile's keys and "
               "the clock";
    if (!strcmp(code, "RegionDisabledException"))
        return "STS is not activated in this region: activate it in IAM account settings, "
               "or set another region";
    if (!strcmp(code, "ValidationError"))
        return "a parameter was rejected (duration_seconds may exceed the role's maximum "
               "session duration)";
    return "see the STS documentation for this error";
}

static int creds_sts_retryable(long status, const char *code)
{
    return status >= 500 || status == 429 || !strcmp(code, "Throttling") ||
           !strcmp(code, "IDPCommunicationError") || !strcmp(code, "RequestLimitExceeded");
}

/* creds_retry's rule: any answer but 200 whose status or error Code is retryable. */
static int creds_sts_retry(const struct http_resp *resp)
{
    char *code = NULL;
    int r;

    if (resp->status == 200)
        return 0;
    if (xml_text((const char *)resp->body.p, resp->body.len, "Code", 256, &code) != XML_OK)
        code = NULL;
    r = creds_sts_retryable(resp->status, code ? code : "");
    wipe_free_str(code);
    return r;
}

/* Reads the Credentials element of a successful answer into *out. */
static enum creds_status creds_sts_parse(const char *action, const struct sbuf *b,
                                         const char *source, struct creds *out, struct creds_try *t)
{
    static const char *const names[] = {"AccessKeyId", "SecretAccessKey", "SessionToken",
                                        "Expiration"};
    enum creds_status st = CREDS_FAILED;
    char *v[4] = {NULL, NULL, NULL, NULL};
    const char *inner;
    size_t inner_len;
    char what[80];
    time_t exp = 0;
    enum xml_rc xr;
    size_t i;

    (void)snprintf(what, sizeof(what), "STS %s answer", action);
    xr = xml_element((const char *)b->p, b->len, "Credentials", &inner, &inner_len);
    if (xr != XML_OK) {
        st = creds_fail(t, "%s: no Credentials element (not an STS answer?)", what);
        goto out;
    }
    for (i = 0; i < 4; i++) {
        xr = xml_text(inner, inner_len, names[i], 8192, &v[i]);
        if (xr == XML_NOMEM) {
            st = creds_nomem(t);
            goto out;
        }
        if (xr != XML_OK) {
            st = creds_fail(t, "%s: %s %s", what, names[i],
                            xr == XML_MISSING ? "missing" : "malformed");
            goto out;
        }
    }
    if (creds_parse_time(v[3], &exp) != 0) {
        st = creds_fail(t, "%s: Expiration is not an ISO 8601 time", what);
        goto out;
    }
    st = creds_set(out, v[0], v[1], v[2], exp, time(NULL), source, what, t);
out:
    for (i = 0; i < 4; i++)
        wipe_free_str(v[i]);
    return st;
}

/* One STS call with retries; src NULL: unsigned. `secret` is what the error message must
 * never repeat (the web identity token). */
static enum creds_status creds_sts_call(const struct creds_ctx *ctx, const char *action,
                                        const char *role_arn, const struct sbuf *body,
                                        const struct creds *src, const char *secret,
                                        const char *source, struct creds *out, struct creds_try *t)
{
    static const char *const headers[] = {
        "Content-Type: application/x-www-form-urlencoded; charset=utf-8", NULL};
    enum creds_status st;
    struct http_resp resp;
    struct http_req req;
    struct inj_err e;
    char url[512];
    char region[64];
    char sigv4[96];
    char *code = NULL;
    char *msg = NULL;
    char clean_code[64];
    char clean_msg[300];
    const char *known[3];
    static const struct creds_retry rules = {"STS", STS_ATTEMPTS,   STS_TIMEOUT_MS, 0, 200L,
                                             1,     creds_sts_retry};
    enum inj_rc rc;
    int tries = 0;
    int no_time = 0;

    memset(&resp, 0, sizeof(resp));
    st = creds_sts_endpoint(ctx, url, sizeof(url), region, sizeof(region), t);
    if (st != CREDS_OK)
        return st;
    if (!ctx->http)
        return creds_fail(t, "no HTTP client");
    log_info("STS %s for %s: endpoint %s", action, role_arn, url);
    (void)snprintf(sigv4, sizeof(sigv4), "aws:amz:%s:sts", region);
    memset(&req, 0, sizeof(req));
    req.method = "POST";
    req.url = url;
    req.headers = headers;
    req.body = body->p;
    req.body_len = body->len;
    req.sigv4 = src ? sigv4 : NULL;
    req.creds = src;
    req.max_response = CREDS_MAX_STS;
    rc = creds_http_retry(ctx, &rules, &req, &resp, &e, &tries, &no_time);
    if (no_time) {
        st = creds_fail_code(t, INJ_E_TEMPFAIL,
                             "STS %s for %s: %.600s%sno time left for attempt %d " DEADLINE_WHY,
                             action, role_arn, e.msg, e.msg[0] ? "; " : "", tries + 1);
        goto out;
    }
    if (rc == INJ_E_NOMEM) {
        st = creds_nomem(t);
        goto out;
    }
    if (rc != INJ_OK) {
        st = creds_fail_code(t, rc, "STS %s for %s: %s (%d attempt%s)", action, role_arn, e.msg,
                             tries, tries == 1 ? "" : "s");
        goto out;
    }
    if (resp.status == 200) {
        st = creds_sts_parse(action, &resp.body, source, out, t);
        goto out;
    }
    if (xml_text((const char *)resp.body.p, resp.body.len, "Code", 256, &code) != XML_OK)
        code = NULL;
    if (xml_text((const char *)resp.body.p, resp.body.len, "Message", 1024, &msg) != XML_OK)
        msg = NULL;
    known[0] = secret;
    known[1] = src ? src->secret_access_key : NULL;
    known[2] = src ? src->session_token : NULL;
    redact_text(code, code ? strlen(code) : 0, known, 3, clean_code, sizeof(clean_code));
    redact_text(msg, msg ? strlen(msg) : 0, known, 3, clean_msg, sizeof(clean_msg));
    if (!code)
        st = creds_fail(t,
                        "STS %s for %s: HTTP %ld without an STS error (is %s an STS "
                        "endpoint?)",
                        action, role_arn, resp.status, url);
    else
        st = creds_fail(t, "STS %s for %s: %s: %s; %s", action, role_arn, clean_code,
                        clean_msg[0] ? clean_msg : "(no message)",
                        creds_sts_hint(clean_code, src == NULL));
out:
    wipe_free_str(code);
    wipe_free_str(msg);
    http_resp_free(&resp);
    return st;
}

enum creds_status creds_sts_web_identity(const struct creds_ctx *ctx, const struct creds_role *r,
                                         const char *token_file, const char *source,
                                         struct creds *out, struct creds_try *t)
{
    enum creds_status st;
    struct sbuf file = SBUF_INIT(CREDS_MAX_TOKEN_FILE);
    struct sbuf body = SBUF_INIT(CREDS_MAX_TOKEN_FILE * 3 + 4096);
    enum sbuf_rc brc;
    char *token;
    struct inj_err fe;

    st = creds_sts_body(r, "AssumeRoleWithWebIdentity", &body, t);
    if (st != CREDS_OK)
        goto out;
    /* Read now, not earlier: the kubelet rotates the token in place. */
    memset(&fe, 0, sizeof(fe));
    if (rfile_read("web identity token file", token_file, CREDS_MAX_TOKEN_FILE, RFILE_WIPE, &file,
                   NULL, &fe) != INJ_OK) {
        st = fe.code == INJ_E_NOMEM ? creds_nomem(t) : creds_fail(t, "%s", fe.msg);
        goto out;
    }
    token = creds_trim((char *)file.p);
    if (!*token) {
        st = creds_fail(t, "web identity token file %s is empty", token_file);
        goto out;
    }
    brc = creds_form_add(&body, "WebIdentityToken", token);
    if (brc != SBUF_OK) {
        st = brc == SBUF_NOMEM ? creds_nomem(t)
                               : creds_fail(t, "web identity token in %s is too large", token_file);
        goto out;
    }
    log_debug("STS AssumeRoleWithWebIdentity for %s", r->role_arn);
    st = creds_sts_call(ctx, "AssumeRoleWithWebIdentity", r->role_arn, &body, NULL, token, source,
                        out, t);
out:
    sbuf_wipe_free(&file);
    sbuf_wipe_free(&body);
    return st;
}

enum creds_status creds_sts_assume_role(const struct creds_ctx *ctx, const struct creds_role *r,
                                        const struct creds *src, const char *source,
                                        struct creds *out, struct creds_try *t)
{
    enum creds_status st;
    struct sbuf body = SBUF_INIT(16384);

    st = creds_sts_body(r, "AssumeRole", &body, t);
    if (st == CREDS_OK) {
        log_debug("STS AssumeRole for %s with credentials from %s", r->role_arn, src->source);
        st = creds_sts_call(ctx, "AssumeRole", r->role_arn, &body, src, NULL, source, out, t);
    }
    sbuf_wipe_free(&body);
    return st;
}

enum inj_rc creds_assume_role(const struct creds_ctx *ctx, const struct creds *base,
                              const struct creds_assume *a, struct creds *out, struct inj_err *err)
{
    struct creds_role r;
    struct creds_try t;
    enum creds_status st;

    memset(&r, 0, sizeof(r));
    memset(&t, 0, sizeof(t));
    r.role_arn = a->role_arn;
    r.external_id = a->external_id;
    r.session_name = a->session_name;
    r.duration_s = a->duration_s;
    st = creds_sts_assume_role(ctx, &r, base, a->source, out, &t);
    if (st == CREDS_OK)
        return INJ_OK;
    creds_free(out);
    if (a->external_id && strstr(t.why.msg, ": AccessDenied:"))
        return inj_err_set(err, t.why.code ? t.why.code : INJ_E_NOPERM,
                           "%s; external_id is set: the trust policy's sts:ExternalId condition "
                           "must match it",
                           t.why.msg);
    return inj_err_set(err, t.why.code ? t.why.code : INJ_E_NOPERM, "%s", t.why.msg);
}

enum creds_status creds_webid_get(const struct creds_ctx *ctx, struct creds *out,
                                  struct creds_try *t)
{
    struct creds_role r;
    const char *file = creds_getenv(ctx, "AWS_WEB_IDENTITY_TOKEN_FILE");

    memset(&r, 0, sizeof(r));
    r.role_arn = creds_getenv(ctx, "AWS_ROLE_ARN");
    r.session_name = creds_getenv(ctx, "AWS_ROLE_SESSION_NAME");
    if (!file && !r.role_arn)
        return creds_skip(t, "AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN not set");
    if (!file)
        return creds_skip(t, "AWS_ROLE_ARN is set but AWS_WEB_IDENTITY_TOKEN_FILE is not");
    /* botocore: a token file without a role is an InvalidConfigError, not an absence. */
    if (!r.role_arn)
        return creds_fail(t, "AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not");
    return creds_sts_web_identity(ctx, &r, file, "web identity", out, t);
}
