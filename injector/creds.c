/* creds.c: the credentials provider chain (a table tried in the SDKs' order, like aws-c-auth
 * credentials_provider_chain.c but synchronous), its one message, and helpers the providers
 * share: env lookup, file reading, time and JSON parsing. */
#include "creds.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "creds_int.h"
#include "http.h"
#include "log.h"
#include "mono.h"
#include "redact.h"
#include "ref.h"

/* The order of issue 4 (Java/Go SDK order; botocore puts profile role_arn before web
 * identity). Container and IMDS are exclusive: a configured container endpoint either answers
 * or fails, so IMDS is only reached when no container variable is set (default_chain.c). */
static const struct creds_provider creds_chain[] = {
    {"env", creds_env_get},       {"web identity", creds_webid_get}, {"profile", creds_profile_get},
    {"container", creds_ecs_get}, {"IMDS", creds_imds_get},
};

#define CREDS_NCHAIN (sizeof(creds_chain) / sizeof(creds_chain[0]))

void creds_free(struct creds *c)
{
    wipe_free_str(c->access_key_id);
    wipe_free_str(c->secret_access_key);
    wipe_free_str(c->session_token);
    memset(c, 0, sizeof(*c));
}

const char *creds_getenv(const struct creds_ctx *ctx, const char *name)
{
    const char *v = ctx && ctx->env ? ctx->env(name) : getenv(name);

    return v && *v ? v : NULL;
}

int creds_env_true(const struct creds_ctx *ctx, const char *name)
{
    const char *v = creds_getenv(ctx, name);

    return v && !strcasecmp(v, "true");
}

static enum creds_status creds_vset(struct creds_try *t, enum inj_rc code, const char *fmt,
                                    va_list ap) __attribute__((format(printf, 3, 0)));

static enum creds_status creds_vset(struct creds_try *t, enum inj_rc code, const char *fmt,
                                    va_list ap)
{
    t->why.code = code;
    if (vsnprintf(t->why.msg, sizeof(t->why.msg), fmt, ap) < 0)
        t->why.msg[0] = '\0';
    return code == INJ_OK ? CREDS_NOT_HERE : CREDS_FAILED;
}

enum creds_status creds_skip(struct creds_try *t, const char *fmt, ...)
{
    enum creds_status st;
    va_list ap;

    va_start(ap, fmt);
    st = creds_vset(t, INJ_OK, fmt, ap);
    va_end(ap);
    return st;
}

enum creds_status creds_fail(struct creds_try *t, const char *fmt, ...)
{
    enum creds_status st;
    va_list ap;

    va_start(ap, fmt);
    st = creds_vset(t, INJ_E_NOPERM, fmt, ap);
    va_end(ap);
    return st;
}

enum creds_status creds_fail_code(struct creds_try *t, enum inj_rc code, const char *fmt, ...)
{
    enum creds_status st;
    va_list ap;

    va_start(ap, fmt);
    st = creds_vset(t, code, fmt, ap);
    va_end(ap);
    return st;
}

enum creds_status creds_nomem(struct creds_try *t)
{
    t->why.code = INJ_E_NOMEM;
    (void)snprintf(t->why.msg, sizeof(t->why.msg), "out of memory");
    return CREDS_FAILED;
}

/* Printable ASCII without spaces: the values go into the Authorization and
 * X-Amz-Security-Token headers, where a CR or LF would start a header of its own. */
static int creds_header_safe(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
            return 0;
    return 1;
}

enum creds_status creds_set(struct creds *out, const char *id, const char *secret,
                            const char *token, time_t exp, time_t now, const char *source,
                            const char *what, struct creds_try *t)
{
    char when[32];
    struct tm tm;

    if (!id || !*id)
        return creds_fail(t, "%s: no access key id", what);
    if (!secret || !*secret)
        return creds_fail(t, "%s: no secret access key", what);
    if (!creds_header_safe(id))
        return creds_fail(t, "%s: the access key id has characters AWS keys never have", what);
    if (!creds_header_safe(secret))
        return creds_fail(t, "%s: the secret access key has characters AWS keys never have", what);
    if (token && *token && !creds_header_safe(token))
        return creds_fail(t, "%s: the session token has characters AWS tokens never have", what);
    if (exp && exp <= now) {
        if (!gmtime_r(&exp, &tm) || !strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm))
            (void)snprintf(when, sizeof(when), "%lld", (long long)exp);
        return creds_fail(t, "%s: the credentials expired at %s", what, when);
    }
    memset(out, 0, sizeof(*out));
    out->access_key_id = xstrdup(id);
    out->secret_access_key = xstrdup(secret);
    if (token && *token)
        out->session_token = xstrdup(token);
    if (!out->access_key_id || !out->secret_access_key ||
        (token && *token && !out->session_token)) {
        creds_free(out);
        return creds_nomem(t);
    }
    out->expiration = exp;
    (void)snprintf(out->source, sizeof(out->source), "%s", source);
    return CREDS_OK;
}

static int creds_digits(const char **p, int n, int *out)
{
    int v = 0;
    int i;

    for (i = 0; i < n; i++) {
        if ((*p)[i] < '0' || (*p)[i] > '9')
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

static int creds_expect(const char **p, char c)
{
    if (**p != c)
        return -1;
    (*p)++;
    return 0;
}

int creds_parse_time(const char *s, time_t *out)
{
    struct tm tm;
    int y;
    int mo;
    int d;
    int h;
    int mi;
    int sec;
    int oh = 0;
    int om = 0;
    int sign = 0;
    time_t t;

    memset(&tm, 0, sizeof(tm));
    if (creds_digits(&s, 4, &y) || creds_expect(&s, '-') || creds_digits(&s, 2, &mo) ||
        creds_expect(&s, '-') || creds_digits(&s, 2, &d) || (*s != 'T' && *s != 't' && *s != ' '))
        return -1;
    s++;
    if (creds_digits(&s, 2, &h) || creds_expect(&s, ':') || creds_digits(&s, 2, &mi) ||
        creds_expect(&s, ':') || creds_digits(&s, 2, &sec))
        return -1;
    if (*s == '.') {
        s++;
        if (*s < '0' || *s > '9')
            return -1;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    if (*s == 'Z' || *s == 'z') {
        s++;
    } else if (*s == '+' || *s == '-') {
        sign = *s == '-' ? -1 : 1;
        s++;
        if (creds_digits(&s, 2, &oh))
            return -1;
        if (*s == ':')
            s++;
        if (creds_digits(&s, 2, &om))
            return -1;
    } else {
        return -1;
    }
    if (*s || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 ||
        oh > 23 || om > 59)
        return -1;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    t = timegm(&tm);
    if (t == (time_t)-1)
        return -1;
    *out = t - (time_t)sign * ((time_t)oh * 3600 + (time_t)om * 60);
    return 0;
}

char *creds_trim(char *s)
{
    size_t n;

    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n' || *s == '\v' || *s == '\f')
        s++;
    n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n' ||
                     s[n - 1] == '\v' || s[n - 1] == '\f'))
        s[--n] = '\0';
    return s;
}

long creds_time_left_ms(const struct creds_ctx *ctx, long want_ms)
{
    long long left;

    if (!ctx->deadline_ms)
        return want_ms;
    left = ctx->deadline_ms - mono_ms();
    if (left <= 0)
        return 0;
    return left < want_ms ? (long)left : want_ms;
}

int creds_req_time(const struct creds_ctx *ctx, struct http_req *req, long want_ms, long connect_ms)
{
    req->timeout_ms = creds_time_left_ms(ctx, want_ms);
    req->connect_timeout_ms = connect_ms ? creds_time_left_ms(ctx, connect_ms) : 0;
    if (req->timeout_ms && !req->connect_timeout_ms && ctx->deadline_ms)
        req->connect_timeout_ms = req->timeout_ms < 3000L ? req->timeout_ms : 3000L;
    return req->timeout_ms > 0;
}

enum inj_rc creds_http_retry(const struct creds_ctx *ctx, const struct creds_retry *rr,
                             struct http_req *req, struct http_resp *resp, struct inj_err *e,
                             int *tries, int *no_time)
{
    enum inj_rc rc = INJ_E_SOFTWARE;
    long pause;

    *no_time = 0;
    memset(e, 0, sizeof(*e));
    for (*tries = 0;;) {
        if (!creds_req_time(ctx, req, rr->timeout_ms, rr->connect_ms)) {
            *no_time = 1;
            return INJ_E_TEMPFAIL;
        }
        memset(e, 0, sizeof(*e));
        http_resp_free(resp);
        rc = http_do(ctx->http, req, resp, e);
        (*tries)++;
        if (rc == INJ_E_NOMEM)
            return rc;
        if (rc == INJ_OK && !(rr->retry ? rr->retry(resp) : resp->status >= 500))
            return INJ_OK;
        if (*tries >= rr->attempts || (rc != INJ_OK && !resp->retryable))
            return rc;
        if (rc == INJ_OK)
            log_debug("%s: HTTP %ld, retrying (attempt %d of %d)", rr->what, resp->status,
                      *tries + 1, rr->attempts);
        else
            log_debug("%s: %s; retrying (attempt %d of %d)", rr->what, e->msg, *tries + 1,
                      rr->attempts);
        pause = rr->doubling ? rr->backoff_ms << *tries : rr->backoff_ms * *tries;
        if (pause > 0)
            mono_sleep_ms(creds_time_left_ms(ctx, pause));
    }
}

/* cJSON frees without wiping; its strings here are keys and tokens. */
static void creds_json_wipe_delete(cJSON *root)
{
    cJSON *stack[32];
    size_t sp = 0;
    cJSON *n;

    if (root)
        stack[sp++] = root;
    while (sp > 0) {
        n = stack[--sp];
        for (; n; n = n->next) {
            if (n->valuestring)
                OPENSSL_cleanse(n->valuestring, strlen(n->valuestring));
            if (n->child && sp < sizeof(stack) / sizeof(stack[0]))
                stack[sp++] = n->child;
        }
    }
    cJSON_Delete(root);
}

/* A string member; NULL when absent. *bad set when present but not a string. */
static const char *creds_json_str(const cJSON *o, const char *key, int *bad)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    if (!v || cJSON_IsNull(v))
        return NULL;
    if (!cJSON_IsString(v) || !v->valuestring) {
        *bad = 1;
        return NULL;
    }
    return v->valuestring;
}

enum creds_status creds_parse_json(const unsigned char *buf, size_t len, enum creds_json_kind kind,
                                   time_t now, const char *source, const char *what,
                                   struct creds *out, struct creds_try *t)
{
    enum creds_status st = CREDS_FAILED;
    cJSON *root = NULL;
    const cJSON *ver;
    const char *id;
    const char *secret;
    const char *token;
    const char *exp_s;
    const char *code;
    char clean[64];
    const char *end = NULL;
    time_t exp = 0;
    int bad = 0;

    root = cJSON_ParseWithLengthOpts((const char *)buf, len, &end, 0);
    /* cJSON stops after the first value; json.loads (botocore) rejects anything after it. */
    while (root && end && (size_t)(end - (const char *)buf) < len &&
           (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n'))
        end++;
    if (!root || !cJSON_IsObject(root) || !end || (size_t)(end - (const char *)buf) != len) {
        st = creds_fail(t, "%s is not a JSON object", what);
        goto out;
    }
    if (kind == CREDS_JSON_PROCESS) {
        /* "The Version key must be set to 1" (SDK reference: sourcing credentials with an
         * external process). */
        ver = cJSON_GetObjectItemCaseSensitive(root, "Version");
        if (!cJSON_IsNumber(ver) || ver->valuedouble != 1.0) {
            st = creds_fail(t, "%s: \"Version\" must be 1", what);
            goto out;
        }
    }
    if (kind == CREDS_JSON_IMDS) {
        code = creds_json_str(root, "Code", &bad);
        if (code && strcmp(code, "Success") != 0) {
            redact_text(code, strlen(code), NULL, 0, clean, sizeof(clean));
            st = creds_fail(t, "%s: Code is \"%s\", not \"Success\"", what, clean);
            goto out;
        }
    }
    id = creds_json_str(root, "AccessKeyId", &bad);
    secret = creds_json_str(root, "SecretAccessKey", &bad);
    token = creds_json_str(root, kind == CREDS_JSON_PROCESS ? "SessionToken" : "Token", &bad);
    exp_s = creds_json_str(root, "Expiration", &bad);
    if (bad) {
        st = creds_fail(t,
                        "%s: AccessKeyId, SecretAccessKey, %s and Expiration must be "
                        "strings",
                        what, kind == CREDS_JSON_PROCESS ? "SessionToken" : "Token");
        goto out;
    }
    if (!id || !secret) {
        st = creds_fail(t, "%s: %s missing", what, !id ? "AccessKeyId" : "SecretAccessKey");
        goto out;
    }
    if (exp_s && creds_parse_time(exp_s, &exp) != 0) {
        st = creds_fail(t, "%s: Expiration is not an ISO 8601 time", what);
        goto out;
    }
    st = creds_set(out, id, secret, token, exp, now, source, what, t);
out:
    creds_json_wipe_delete(root);
    return st;
}

/* Appends "; " (unless first) and s to buf[0..n) at *len; marks truncation with "...". */
static void creds_msg_add(char *buf, size_t n, size_t *len, const char *sep, const char *a,
                          const char *b)
{
    int w;

    if (*len + 1 >= n)
        return;
    w = snprintf(buf + *len, n - *len, "%s%s: %s", sep, a, b);
    if (w < 0)
        return;
    if ((size_t)w >= n - *len) {
        *len = n - 1;
        if (n > 4)
            memcpy(buf + n - 4, "...", 4);
        return;
    }
    *len += (size_t)w;
}

enum inj_rc creds_chain_message(const struct creds_try *tries, size_t n, int failed,
                                struct inj_err *err)
{
    char list[sizeof(err->msg)];
    char after[128];
    size_t len = 0;
    size_t alen = 0;
    size_t i;
    size_t upto = failed < 0 ? n : (size_t)failed;
    enum inj_rc code;

    list[0] = '\0';
    for (i = 0; i < upto && i < n; i++)
        creds_msg_add(list, sizeof(list), &len, i ? "; " : "", tries[i].label, tries[i].why.msg);
    if (failed < 0)
        return inj_err_set(err, INJ_E_NOPERM,
                           "no AWS credentials found: %s; set credentials for one of these "
                           "sources (see docs/credentials.md)",
                           list);
    /* The failing source's own code: a network failure (69) or a broken file (78) is not an
     * access problem (77); NOPERM when a provider did not say. */
    code = tries[failed].why.code != INJ_OK ? tries[failed].why.code : INJ_E_NOPERM;
    /* The sources after it were not asked: say so, so the message still names all five. */
    after[0] = '\0';
    for (i = (size_t)failed + 1; i < n; i++) {
        int w =
            snprintf(after + alen, sizeof(after) - alen, "%s%s", alen ? ", " : "", tries[i].label);
        if (w < 0 || (size_t)w >= sizeof(after) - alen)
            break;
        alen += (size_t)w;
    }
    return inj_err_set(err, code, "AWS credentials from %s: %s (%s%s%s%s%s)", tries[failed].label,
                       tries[failed].why.msg, failed ? "skipped before it: " : "",
                       failed ? list : "", failed && alen ? "; " : "",
                       alen ? "not tried after it: " : "", after);
}

enum inj_rc creds_resolve(const struct creds_ctx *ctx, struct creds *out, struct inj_err *err)
{
    struct creds_try tries[CREDS_NCHAIN];
    enum creds_status st;
    size_t i;

    memset(out, 0, sizeof(*out));
    memset(tries, 0, sizeof(tries));
    for (i = 0; i < CREDS_NCHAIN; i++)
        (void)snprintf(tries[i].label, sizeof(tries[i].label), "%s", creds_chain[i].name);
    for (i = 0; i < CREDS_NCHAIN; i++) {
        st = creds_chain[i].get(ctx, out, &tries[i]);
        switch (st) {
        case CREDS_OK:
            log_info("AWS credentials from %s", out->source);
            return INJ_OK;
        case CREDS_NOT_HERE:
            log_debug("credentials: %s: %s", tries[i].label, tries[i].why.msg);
            continue;
        case CREDS_FAILED:
        default:
            creds_free(out);
            return creds_chain_message(tries, CREDS_NCHAIN, (int)i, err);
        }
    }
    return creds_chain_message(tries, CREDS_NCHAIN, -1, err);
}

enum inj_rc creds_region_fallback(const struct creds_ctx *ctx, char *buf, size_t n)
{
    if (n < 64)
        return INJ_E_SOFTWARE;
    buf[0] = '\0';
    creds_profile_region(ctx, buf, n);
    if (buf[0] && ref_valid_region(buf)) {
        log_debug("region %s from the profile", buf);
        return INJ_OK;
    }
    if (buf[0])
        log_warn("ignoring the profile's region: not a region name");
    buf[0] = '\0';
    if (!ctx->imds_region)
        return INJ_OK;
    creds_imds_region(ctx, buf, n);
    if (buf[0] && ref_valid_region(buf)) {
        log_debug("region %s from IMDS placement", buf);
        return INJ_OK;
    }
    buf[0] = '\0';
    return INJ_OK;
}
