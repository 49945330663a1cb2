/* sm.c: Secrets Manager over the JSON 1.1 protocol: request building, standard-mode
 * retries, response parsing and the error-to-fix table. */
#include "sm.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "creds.h"
#include "http.h"
#include "jx.h"
#include "log.h"
#include "mono.h"
#include "redact.h"

#define SM_BACKOFF_CAP_MS 20000L

void sm_secret_free(struct sm_secret *s)
{
    free(s->arn);
    free(s->name);
    free(s->version_id);
    sbuf_wipe_free(&s->value);
    memset(s, 0, sizeof(*s));
}

enum inj_rc sm_retry_config(struct sm_ctx *ctx, struct inj_err *err)
{
    const char *mode = getenv("AWS_RETRY_MODE");
    const char *v = getenv("AWS_MAX_ATTEMPTS");
    char *end = NULL;
    long n;

    ctx->max_attempts = 3;
    if (mode && *mode) {
        if (!strcmp(mode, "legacy"))
            ctx->max_attempts = 5;
        else if (strcmp(mode, "standard") != 0 && strcmp(mode, "adaptive") != 0)
            return inj_err_set(err, INJ_E_USAGE,
                               "AWS_RETRY_MODE=%s: expected standard, adaptive or legacy", mode);
    }
    if (v && *v) {
        errno = 0;
        n = strtol(v, &end, 10);
        if (errno || *end || n < 1 || n > 20)
            return inj_err_set(err, INJ_E_USAGE, "AWS_MAX_ATTEMPTS=%s: expected 1 to 20", v);
        ctx->max_attempts = (int)n;
    }
    return INJ_OK;
}

/* The attempt's timeout: the per-request one, cut to what is left of deadline (0: none).
 * Returns 0 when the deadline has passed. */
static long sm_attempt_timeout(const struct sm_ctx *ctx, long long deadline)
{
    long t = ctx->timeout_ms ? ctx->timeout_ms : 10000L;
    long long left;

    if (!deadline)
        return t;
    left = deadline - mono_ms();
    if (left <= 0)
        return 0;
    return left < t ? (long)left : t;
}

const char *sm_region_for(const struct sm_ctx *ctx, const struct ref *ref)
{
    if (ref->region[0])
        return ref->region;
    return ctx->region;
}

enum inj_rc sm_endpoint_url(const char *region, char *buf, size_t n, struct inj_err *err)
{
    const char *ignore = getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
    const char *v = NULL;
    int len;

    if (!ignore || strcasecmp(ignore, "true") != 0) {
        v = getenv("AWS_ENDPOINT_URL_SECRETS_MANAGER");
        if (!v || !*v)
            v = getenv("AWS_ENDPOINT_URL");
    }
    if (v && *v) {
        /* TLS is not optional: an http:// endpoint would send the token and get the secret
         * in clear text. */
        if (strncmp(v, "https://", 8) != 0)
            return inj_err_set(err, INJ_E_USAGE,
                               "endpoint %s: only https:// endpoints are allowed", v);
        len = snprintf(buf, n, "%s", v);
    } else {
        if (!region || !*region)
            return inj_err_set(err, INJ_E_USAGE,
                               "no AWS region: set region in the config, --region, AWS_REGION "
                               "or use full secret ARNs");
        len = snprintf(buf, n, "https://secretsmanager.%s.%s", region,
                       ref_region_dns_suffix(region));
    }
    if (len < 0 || (size_t)len >= n)
        return inj_err_set(err, INJ_E_USAGE, "endpoint URL too long");
    return INJ_OK;
}

/* Printable-ASCII copy of an AWS error message (bounded), for our own messages. */
static void sm_clean_msg(const char *in, char *out, size_t n)
{
    redact_text(in, in ? strlen(in) : 0, NULL, 0, out, n);
}

struct sm_fault {
    char type[96];  /* AWS error code, "" when none */
    char msg[320];  /* AWS message, cleaned */
};

/* Reads __type (possibly "prefix#Code") and message / Message from an error body. */
static void sm_parse_fault(const struct http_resp *resp, struct sm_fault *f)
{
    cJSON *root = NULL;
    const cJSON *t;
    const cJSON *m;
    const char *code;
    const char *hash;

    memset(f, 0, sizeof(*f));
    if (resp->body.p && jx_utf8_valid(resp->body.p, resp->body.len))
        root = cJSON_ParseWithLength((const char *)resp->body.p, resp->body.len);
    t = root ? cJSON_GetObjectItemCaseSensitive(root, "__type") : NULL;
    code = t && cJSON_IsString(t) ? t->valuestring : resp->amzn_error_type;
    hash = strrchr(code, '#');
    if (hash)
        code = hash + 1;
    (void)snprintf(f->type, sizeof(f->type), "%.*s", (int)strcspn(code, ":"), code);
    m = root ? cJSON_GetObjectItemCaseSensitive(root, "message") : NULL;
    if (!cJSON_IsString(m) && root)
        m = cJSON_GetObjectItemCaseSensitive(root, "Message");
    if (m && cJSON_IsString(m))
        sm_clean_msg(m->valuestring, f->msg, sizeof(f->msg));
    cJSON_Delete(root);
}

static int sm_fault_retryable(long status, const char *type)
{
    static const char *const throttles[] = {
        "ThrottlingException", "Throttling", "TooManyRequestsException",
        "RequestLimitExceeded", "RequestThrottled", "RequestTimeout", "RequestTimeoutException",
        "ProvisionedThroughputExceededException", "InternalServiceError", "InternalFailure",
        "ServiceUnavailable",
    };
    size_t i;

    if (status >= 500)
        return 1;
    for (i = 0; i < sizeof(throttles) / sizeof(throttles[0]); i++)
        if (!strcmp(type, throttles[i]))
            return 1;
    return 0;
}

static int sm_is_throttle(const char *type)
{
    return strstr(type, "Throttl") != NULL || !strcmp(type, "TooManyRequestsException") ||
           !strcmp(type, "RequestLimitExceeded");
}

long sm_backoff_ms(int attempt)
{
    unsigned int r = 0;
    long ceiling = 1000L;
    int i;

    for (i = 1; i < attempt && ceiling < SM_BACKOFF_CAP_MS; i++)
        ceiling *= 2;
    if (ceiling > SM_BACKOFF_CAP_MS)
        ceiling = SM_BACKOFF_CAP_MS;
    if (RAND_bytes((unsigned char *)&r, (int)sizeof(r)) != 1)
        r = (unsigned int)time(NULL);
    return (long)(r % (unsigned int)(ceiling + 1));
}

/* Sleeps the backoff, but never past the --timeout deadline (the next attempt then sees it). */
static void sm_backoff(const struct sm_ctx *ctx, int attempt)
{
    long ms = sm_backoff_ms(attempt);

    if (ctx->deadline_ms) {
        long long left = ctx->deadline_ms - mono_ms();
        if (left < 0)
            left = 0;
        if (left < ms)
            ms = (long)left;
    }
    mono_sleep_ms(ms);
}

static enum inj_rc sm_fault_to_err(const struct sm_ctx *ctx, const char *id, const char *region,
                                   const char *action, const struct http_resp *resp,
                                   const struct sm_fault *f, int attempts, struct inj_err *err)
{
    const char *src = ctx->creds->source[0] ? ctx->creds->source : "unknown";
    const char *t = f->type;
    long skew;

    if (!strcmp(t, "AccessDeniedException")) {
        if (strstr(f->msg, "kms") || strstr(f->msg, "KMS"))
            return inj_err_set(err, INJ_E_NOPERM,
                               "%s: kms:Decrypt denied on the secret's KMS key; allow kms:Decrypt "
                               "on that key for the task role, with kms:ViaService "
                               "secretsmanager.%s.amazonaws.com (AWS: %s)",
                               id, region, f->msg);
        return inj_err_set(err, INJ_E_NOPERM,
                           "secretsmanager:%s denied on %s; grant it to the task role (and "
                           "kms:Decrypt if the secret uses a customer managed key) (AWS: %s)",
                           action, id, f->msg);
    }
    if (!strcmp(t, "DecryptionFailure"))
        return inj_err_set(err, INJ_E_NOPERM,
                           "%s: the secret cannot be decrypted with its KMS key; allow kms:Decrypt "
                           "on the key for the task role and check the key is enabled (AWS: %s)",
                           id, f->msg);
    if (!strcmp(t, "ResourceNotFoundException"))
        return inj_err_set(err, INJ_E_MISSING,
                           "%s: not found in %s (AWS: %s); check the name or ARN, the version "
                           "stage/id and the region",
                           id, region, f->msg);
    if (!strcmp(t, "InvalidSignatureException") || !strcmp(t, "SignatureDoesNotMatch")) {
        skew = resp->server_date ? (long)(resp->server_date - time(NULL)) : 0;
        if (strstr(f->msg, "Signature expired") || skew > 240 || skew < -240)
            return inj_err_set(err, INJ_E_NOPERM,
                               "%s: request rejected because of clock skew: the local clock is "
                               "%ld s %s the server's; fix time sync (NTP) on this host",
                               id, skew < 0 ? -skew : skew, skew < 0 ? "ahead of" : "behind");
        if (strstr(f->msg, "scoped to a valid region") || strstr(f->msg, "scoped to correct"))
            return inj_err_set(err, INJ_E_NOPERM,
                               "%s: the endpoint rejected a request signed for region %s; the "
                               "endpoint (AWS_ENDPOINT_URL?) is in another region: set the "
                               "region to match it (AWS: %s)",
                               id, region, f->msg);
        return inj_err_set(err, INJ_E_NOPERM,
                           "%s: signature rejected: the secret access key does not match the "
                           "access key id (credentials from %s); check AWS_SECRET_ACCESS_KEY",
                           id, src);
    }
    if (!strcmp(t, "UnrecognizedClientException") || !strcmp(t, "InvalidClientTokenId"))
        return inj_err_set(err, INJ_E_NOPERM,
                           "%s: the access key id (credentials from %s) is not valid in %s: "
                           "deleted key, wrong partition, or a session token missing or "
                           "invalid (AWS: %s)",
                           id, src, region, f->msg);
    if (!strcmp(t, "ExpiredTokenException") || !strcmp(t, "ExpiredToken"))
        return inj_err_set(err, INJ_E_NOPERM,
                           "%s: the session token (credentials from %s) has expired; obtain "
                           "fresh credentials",
                           id, src);
    if (!strcmp(t, "MissingAuthenticationTokenException") ||
        !strcmp(t, "MissingAuthenticationToken") || !strcmp(t, "IncompleteSignature") ||
        !strcmp(t, "IncompleteSignatureException"))
        return inj_err_set(err, INJ_E_NOPERM, "%s: request not authenticated (%s: %s)", id, t,
                           f->msg);
    /* The AWS common errors (Secrets Manager API reference, "Common Errors"). */
    if (!strcmp(t, "RequestExpired"))
        return inj_err_set(err, INJ_E_NOPERM,
                           "%s: request expired on arrival: the local clock is more than 15 "
                           "minutes off; fix time sync (NTP) on this host (AWS: %s)",
                           id, f->msg);
    if (!strcmp(t, "NotAuthorized"))
        return inj_err_set(err, INJ_E_NOPERM,
                           "%s: not authorized (credentials from %s); grant "
                           "secretsmanager:%s to the task role (AWS: %s)",
                           id, src, action, f->msg);
    if (!strcmp(t, "OptInRequired"))
        return inj_err_set(err, INJ_E_NOPERM,
                           "%s: the account is not opted in to Secrets Manager in %s; enable "
                           "the region for the account (AWS: %s)",
                           id, region, f->msg);
    if (!strcmp(t, "InvalidAction"))
        return inj_err_set(err, INJ_E_SOFTWARE,
                           "%s: the endpoint does not know the action %s; is "
                           "AWS_ENDPOINT_URL a Secrets Manager endpoint? (AWS: %s)",
                           id, action, f->msg);
    if (!strcmp(t, "InvalidParameterException") || !strcmp(t, "ValidationException") ||
        !strcmp(t, "ValidationError"))
        return inj_err_set(err, INJ_E_CONFIG, "%s: rejected as invalid (%s: %s)", id, t, f->msg);
    if (!strcmp(t, "InvalidRequestException"))
        return inj_err_set(err, INJ_E_DATA, "%s: %s (is the secret scheduled for deletion?)", id,
                           f->msg);
    if (sm_is_throttle(t))
        return inj_err_set(err, INJ_E_TEMPFAIL,
                           "%s: throttled by Secrets Manager in %s after %d attempt(s); too many "
                           "calls in the account (raise AWS_MAX_ATTEMPTS or stagger starts)",
                           id, region, attempts);
    if (resp->status >= 500)
        return inj_err_set(err, INJ_E_UNAVAILABLE,
                           "%s: Secrets Manager in %s failed with HTTP %ld %s after %d "
                           "attempt(s)",
                           id, region, resp->status, t[0] ? t : "(no error code)", attempts);
    return inj_err_set(err, INJ_E_UNAVAILABLE,
                       "%s: unexpected response from Secrets Manager in %s: HTTP %ld %s %s", id,
                       region, resp->status, t[0] ? t : "(not an AWS error body)", f->msg);
}

/* One API call with retries. On INJ_OK, *resp holds a 200 response body (owned). */
static enum inj_rc sm_call(const struct sm_ctx *ctx, const char *region, const char *action,
                           const char *id, const char *body, struct http_resp *resp,
                           struct inj_err *err)
{
    enum inj_rc rc = INJ_E_SOFTWARE;
    char url[512];
    char sigv4[96];
    char target[96];
    const char *headers[3];
    struct http_req req;
    struct sm_fault fault;
    int attempt;
    int n;

    rc = sm_endpoint_url(region, url, sizeof(url), err);
    if (rc != INJ_OK)
        return rc;
    n = snprintf(sigv4, sizeof(sigv4), "aws:amz:%s:secretsmanager", region);
    if (n < 0 || (size_t)n >= sizeof(sigv4))
        return inj_err_set(err, INJ_E_CONFIG, "region name too long");
    (void)snprintf(target, sizeof(target), "X-Amz-Target: secretsmanager.%s", action);
    headers[0] = "Content-Type: application/x-amz-json-1.1";
    headers[1] = target;
    headers[2] = NULL;
    memset(&req, 0, sizeof(req));
    req.method = "POST";
    req.url = url;
    req.headers = headers;
    req.body = body;
    req.body_len = strlen(body);
    req.sigv4 = sigv4;
    req.creds = ctx->creds;
    req.max_response = SM_MAX_RESPONSE;

    for (attempt = 1;; attempt++) {
        http_resp_free(resp);
        req.timeout_ms = sm_attempt_timeout(ctx, ctx->deadline_ms);
        if (req.timeout_ms == 0)
            return inj_err_set(err, INJ_E_TEMPFAIL,
                               "%s: %s in %s: the --timeout deadline passed after %d attempt(s)",
                               id, action, region, attempt - 1);
        rc = http_do(ctx->http, &req, resp, err);
        if (rc != INJ_OK) {
            if (resp->retryable && attempt < ctx->max_attempts) {
                log_info("%s: %s; retrying (attempt %d of %d)", id, err->msg, attempt + 1,
                         ctx->max_attempts);
                sm_backoff(ctx, attempt);
                continue;
            }
            inj_err_prefix(err, "%s: %s in %s (after %d attempt(s))", id, action, region,
                           attempt);
            return rc;
        }
        if (resp->status == 200)
            return INJ_OK;
        sm_parse_fault(resp, &fault);
        if (sm_fault_retryable(resp->status, fault.type) && attempt < ctx->max_attempts) {
            log_info("%s: %s answered HTTP %ld %s; retrying (attempt %d of %d)", id, action,
                     resp->status, fault.type, attempt + 1, ctx->max_attempts);
            sm_backoff(ctx, attempt);
            continue;
        }
        rc = sm_fault_to_err(ctx, id, region, action, resp, &fault, attempt, err);
        http_resp_free(resp);
        return rc;
    }
}

static char *sm_dup_field(const cJSON *root, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, name);

    return cJSON_IsString(v) ? xstrdup(v->valuestring) : xstrdup("");
}

/* SecretBinary arrives base64-encoded in the JSON. */
static enum inj_rc sm_decode_binary(const char *b64, struct sbuf *out)
{
    size_t len = strlen(b64);
    unsigned char *tmp = NULL;
    int n;
    size_t pad = 0;
    enum inj_rc rc = INJ_E_DATA;

    if (len % 4 != 0 || len > (size_t)SM_MAX_RESPONSE)
        return INJ_E_DATA;
    if (len == 0)
        return sbuf_append(out, "", 0) == SBUF_OK ? INJ_OK : INJ_E_NOMEM;
    tmp = malloc(len / 4 * 3 + 1);
    if (!tmp)
        return INJ_E_NOMEM;
    n = EVP_DecodeBlock(tmp, (const unsigned char *)b64, (int)len);
    if (n < 0)
        goto out;
    if (b64[len - 1] == '=')
        pad++;
    if (b64[len - 2] == '=')
        pad++;
    if ((size_t)n < pad)
        goto out;
    switch (sbuf_append(out, tmp, (size_t)n - pad)) {
    case SBUF_OK:
        rc = INJ_OK;
        break;
    case SBUF_NOMEM:
        rc = INJ_E_NOMEM;
        break;
    case SBUF_TOOBIG:
    default:
        rc = INJ_E_DATA;
        break;
    }
out:
    wipe_free(tmp, len / 4 * 3 + 1);
    return rc;
}

/* One secret's fields from a GetSecretValue answer or a BatchGetSecretValue SecretValues
 * entry. has_nul: the SecretString text holds an escaped NUL, which cJSON cut short. */
static enum inj_rc sm_parse_secret(const cJSON *root, int has_nul, const char *id,
                                   struct sm_secret *out, struct inj_err *err)
{
    enum inj_rc rc = INJ_E_UNAVAILABLE;
    const cJSON *s;
    const cJSON *b;
    const cJSON *st;
    const cJSON *it;
    size_t off = 0;

    out->arn = sm_dup_field(root, "ARN");
    out->name = sm_dup_field(root, "Name");
    out->version_id = sm_dup_field(root, "VersionId");
    if (!out->arn || !out->name || !out->version_id) {
        rc = inj_err_set(err, INJ_E_NOMEM, "out of memory");
        goto out;
    }
    st = cJSON_GetObjectItemCaseSensitive(root, "VersionStages");
    cJSON_ArrayForEach(it, st)
    {
        int w;

        if (!cJSON_IsString(it))
            continue;
        w = snprintf(out->stages + off, sizeof(out->stages) - off, "%s%s", off ? "," : "",
                     it->valuestring);
        if (w < 0 || (size_t)w >= sizeof(out->stages) - off)
            break;
        off += (size_t)w;
    }
    out->value.max = SM_MAX_SECRET;
    s = cJSON_GetObjectItemCaseSensitive(root, "SecretString");
    b = cJSON_GetObjectItemCaseSensitive(root, "SecretBinary");
    if (cJSON_IsString(s)) {
        /* cJSON would truncate at an escaped NUL; a value with NUL is refused outright. */
        if (has_nul) {
            rc = inj_err_set(err, INJ_E_DATA,
                             "%s: SecretString contains a NUL character, which no environment "
                             "variable or text file can carry",
                             id);
            goto out;
        }
        switch (sbuf_append_str(&out->value, s->valuestring)) {
        case SBUF_OK:
            break;
        case SBUF_TOOBIG:
            rc = inj_err_set(err, INJ_E_DATA, "%s: secret value larger than %u bytes", id,
                             SM_MAX_SECRET);
            goto out;
        case SBUF_NOMEM:
        default:
            rc = inj_err_set(err, INJ_E_NOMEM, "out of memory");
            goto out;
        }
    } else if (cJSON_IsString(b)) {
        rc = sm_decode_binary(b->valuestring, &out->value);
        if (rc != INJ_OK) {
            if (rc == INJ_E_NOMEM)
                inj_err_set(err, rc, "out of memory");
            else
                inj_err_set(err, rc, "%s: SecretBinary is not valid base64 or too large", id);
            goto out;
        }
        out->binary = 1;
    } else {
        inj_err_set(err, rc, "%s: response has neither SecretString nor SecretBinary", id);
        goto out;
    }
    rc = INJ_OK;
out:
    return rc;
}

enum inj_rc sm_parse_value(const struct http_resp *resp, const char *id, struct sm_secret *out,
                           struct inj_err *err)
{
    enum inj_rc rc = INJ_E_UNAVAILABLE;
    cJSON *root = NULL;

    if (!resp->body.p || !jx_utf8_valid(resp->body.p, resp->body.len)) {
        inj_err_set(err, rc, "%s: Secrets Manager response is not valid UTF-8 JSON", id);
        goto out;
    }
    root = cJSON_ParseWithLength((const char *)resp->body.p, resp->body.len);
    if (!cJSON_IsObject(root)) {
        inj_err_set(err, rc,
                    "%s: Secrets Manager response is not a JSON object (truncated or not from "
                    "Secrets Manager; check AWS_ENDPOINT_URL and proxies)",
                    id);
        goto out;
    }
    /* Not memmem("\\u0000"): that also matches "\\\\u0000", a literal backslash in a value. */
    rc = sm_parse_secret(root, jx_has_escaped_nul(resp->body.p, resp->body.len), id, out, err);
out:
    cJSON_Delete(root);
    return rc;
}

/* The GetSecretValue request body for ref; NULL when out of memory. */
static char *sm_get_body(const struct ref *ref)
{
    cJSON *req = cJSON_CreateObject();
    char *body = NULL;

    if (!req || !cJSON_AddStringToObject(req, "SecretId", ref->secret_id))
        goto out;
    if (ref->version_id && !cJSON_AddStringToObject(req, "VersionId", ref->version_id))
        goto out;
    if (ref->version_stage && !cJSON_AddStringToObject(req, "VersionStage", ref->version_stage))
        goto out;
    body = cJSON_PrintUnformatted(req);
out:
    cJSON_Delete(req);
    return body;
}

enum inj_rc sm_get_secret_value(const struct sm_ctx *ctx, const struct ref *ref,
                                struct sm_secret *out, struct inj_err *err)
{
    enum inj_rc rc = INJ_E_NOMEM;
    const char *region = sm_region_for(ctx, ref);
    char *body = NULL;
    struct http_resp resp;

    jx_init();
    memset(out, 0, sizeof(*out));
    memset(&resp, 0, sizeof(resp));
    if (!region || !*region) {
        rc = inj_err_set(err, INJ_E_USAGE,
                         "%s: no AWS region: set region in the config, --region, AWS_REGION, or "
                         "use the secret's full ARN",
                         ref->secret_id);
        goto out;
    }
    body = sm_get_body(ref);
    if (!body)
        goto nomem;
    rc = sm_call(ctx, region, "GetSecretValue", ref->secret_id, body, &resp, err);
    if (rc != INJ_OK)
        goto out;
    rc = sm_parse_value(&resp, ref->secret_id, out, err);
    goto out;
nomem:
    rc = inj_err_set(err, INJ_E_NOMEM, "out of memory");
out:
    http_resp_free(&resp);
    cJSON_free(body);
    if (rc != INJ_OK)
        sm_secret_free(out);
    return rc;
}

void sm_meta_free(struct sm_meta *m)
{
    size_t i;

    for (i = 0; i < m->n; i++)
        free(m->v[i].version_id);
    free(m->v);
    free(m->arn);
    memset(m, 0, sizeof(*m));
}

/* VersionIdsToStages: { "version-id": ["AWSCURRENT", ...], ... } */
static enum inj_rc sm_parse_meta(const struct http_resp *resp, const char *id, struct sm_meta *out,
                                 struct inj_err *err)
{
    enum inj_rc rc = INJ_E_UNAVAILABLE;
    cJSON *root = NULL;
    const cJSON *map;
    const cJSON *ver;
    int count;

    if (!resp->body.p || !jx_utf8_valid(resp->body.p, resp->body.len)) {
        inj_err_set(err, rc, "%s: DescribeSecret response is not valid UTF-8 JSON", id);
        goto out;
    }
    root = cJSON_ParseWithLength((const char *)resp->body.p, resp->body.len);
    map = root ? cJSON_GetObjectItemCaseSensitive(root, "VersionIdsToStages") : NULL;
    if (!cJSON_IsObject(root) || (map && !cJSON_IsObject(map))) {
        inj_err_set(err, rc, "%s: DescribeSecret response is not the expected JSON object", id);
        goto out;
    }
    out->arn = sm_dup_field(root, "ARN");
    count = map ? cJSON_GetArraySize(map) : 0;
    if (count > 10000) {
        inj_err_set(err, rc, "%s: DescribeSecret lists too many versions", id);
        goto out;
    }
    out->v = calloc(count > 0 ? (size_t)count : 1, sizeof(*out->v));
    if (!out->arn || !out->v) {
        rc = inj_err_set(err, INJ_E_NOMEM, "out of memory");
        goto out;
    }
    cJSON_ArrayForEach(ver, map)
    {
        struct sm_version_stages *v = &out->v[out->n];
        const cJSON *it;
        size_t off = 0;

        if (out->n >= (size_t)count || !ver->string || !cJSON_IsArray(ver))
            continue;
        v->version_id = xstrdup(ver->string);
        if (!v->version_id) {
            rc = inj_err_set(err, INJ_E_NOMEM, "out of memory");
            goto out;
        }
        out->n++;
        cJSON_ArrayForEach(it, ver)
        {
            int w;

            if (!cJSON_IsString(it))
                continue;
            w = snprintf(v->stages + off, sizeof(v->stages) - off, "%s%s", off ? "," : "",
                         it->valuestring);
            if (w < 0 || (size_t)w >= sizeof(v->stages) - off)
                break;
            off += (size_t)w;
        }
    }
    rc = INJ_OK;
out:
    cJSON_Delete(root);
    return rc;
}

enum inj_rc sm_describe_secret(const struct sm_ctx *ctx, const struct ref *ref,
                               struct sm_meta *out, struct inj_err *err)
{
    enum inj_rc rc = INJ_E_NOMEM;
    const char *region = sm_region_for(ctx, ref);
    cJSON *req = NULL;
    char *body = NULL;
    struct http_resp resp;

    jx_init();
    memset(out, 0, sizeof(*out));
    memset(&resp, 0, sizeof(resp));
    if (!region || !*region) {
        rc = inj_err_set(err, INJ_E_USAGE, "%s: no AWS region", ref->secret_id);
        goto out;
    }
    req = cJSON_CreateObject();
    if (!req || !cJSON_AddStringToObject(req, "SecretId", ref->secret_id)) {
        rc = inj_err_set(err, INJ_E_NOMEM, "out of memory");
        goto out;
    }
    body = cJSON_PrintUnformatted(req);
    if (!body) {
        rc = inj_err_set(err, INJ_E_NOMEM, "out of memory");
        goto out;
    }
    rc = sm_call(ctx, region, "DescribeSecret", ref->secret_id, body, &resp, err);
    if (rc == INJ_OK)
        rc = sm_parse_meta(&resp, ref->secret_id, out, err);
out:
    http_resp_free(&resp);
    cJSON_free(body);
    cJSON_Delete(req);
    if (rc != INJ_OK) {
        sm_meta_free(out);
        /* sm_fault_to_err words AccessDeniedException / NotAuthorized this way (same file);
         * the caller then checks with GetSecretValue instead. */
        out->denied = rc == INJ_E_NOPERM && err &&
                      (strstr(err->msg, "secretsmanager:DescribeSecret denied") ||
                       strstr(err->msg, "not authorized"));
    }
    return rc;
}

/* Many secrets at once: BatchGetSecretValue (up to SM_BATCH_MAX a call) and GetSecretValue
 * over several connections. Each call keeps its own standard-mode retry state; calls that
 * wait for their backoff do not hold up the others. */

enum sm_fetch_mode sm_fetch_mode_parse(const char *s)
{
    if (!strcmp(s, "auto"))
        return SM_FETCH_AUTO;
    if (!strcmp(s, "batch"))
        return SM_FETCH_BATCH;
    if (!strcmp(s, "single"))
        return SM_FETCH_SINGLE;
    return SM_FETCH_UNSET;
}

const char *sm_fetch_mode_name(enum sm_fetch_mode m)
{
    switch (m) {
    case SM_FETCH_BATCH:
        return "batch";
    case SM_FETCH_SINGLE:
        return "single";
    case SM_FETCH_AUTO:
    case SM_FETCH_UNSET:
    default:
        return "auto";
    }
}

/* How a call ended, before its error is worded for a particular secret. */
enum sm_op_end { SM_OP_PENDING, SM_OP_OK, SM_OP_SETUP, SM_OP_TRANSPORT, SM_OP_FAULT,
                 SM_OP_DEADLINE };

struct sm_op {
    const char *action;
    const char *region;
    const char *id;           /* for log lines */
    char *body;               /* owned (cJSON_free) */
    int spare_throttle;       /* a throttle ends the call instead of being retried */
    long long deadline_ms;    /* no attempt starts after it; 0: none */
    int last_down;            /* the last attempt failed as a region that is down does */
    size_t max_response;
    char url[512];
    char sigv4[96];
    char target[96];
    const char *headers[3];
    struct http_req req;
    struct http_resp resp;    /* SM_OP_OK: the 200 answer; SM_OP_FAULT: status and Date */
    struct inj_err err;       /* SM_OP_SETUP / SM_OP_TRANSPORT: what failed (no id) */
    struct sm_fault fault;    /* SM_OP_FAULT */
    enum inj_rc rc;
    enum sm_op_end end;
    int attempts;
    long long ready_ms;       /* no attempt before this (backoff) */
};

static void sm_op_free(struct sm_op *op)
{
    http_resp_free(&op->resp);
    cJSON_free(op->body);
    op->body = NULL;
}

static void sm_op_prepare(struct sm_op *op, const struct sm_ctx *ctx)
{
    int n;

    op->end = SM_OP_SETUP;
    op->rc = sm_endpoint_url(op->region, op->url, sizeof(op->url), &op->err);
    if (op->rc != INJ_OK)
        return;
    n = snprintf(op->sigv4, sizeof(op->sigv4), "aws:amz:%s:secretsmanager", op->region);
    if (n < 0 || (size_t)n >= sizeof(op->sigv4)) {
        op->rc = inj_err_set(&op->err, INJ_E_CONFIG, "region name too long");
        return;
    }
    (void)snprintf(op->target, sizeof(op->target), "X-Amz-Target: secretsmanager.%s",
                   op->action);
    op->headers[0] = "Content-Type: application/x-amz-json-1.1";
    op->headers[1] = op->target;
    op->headers[2] = NULL;
    op->req.method = "POST";
    op->req.url = op->url;
    op->req.headers = op->headers;
    op->req.body = op->body;
    op->req.body_len = strlen(op->body);
    op->req.sigv4 = op->sigv4;
    op->req.creds = ctx->creds;
    op->req.max_response = op->max_response;
    op->end = SM_OP_PENDING;
}

/* Decides what an attempt's answer means for op: done, or another attempt after a backoff. */
static void sm_op_outcome(const struct sm_ctx *ctx, struct sm_op *op, enum inj_rc rc)
{
    /* A later attempt that timed out because the deadline left it under a second says
     * nothing new about the region (after throttles, say): the earlier verdict stands. */
    if (rc == INJ_OK)
        op->last_down = op->resp.status >= 500;
    else if (!(rc == INJ_E_TEMPFAIL && op->attempts > 1 && op->req.timeout_ms < 1000L))
        op->last_down = op->resp.retryable;
    if (rc != INJ_OK) {
        if (op->resp.retryable && op->attempts < ctx->max_attempts) {
            log_info("%s: %s; retrying (attempt %d of %d)", op->id, op->err.msg,
                     op->attempts + 1, ctx->max_attempts);
            op->ready_ms = mono_ms() + sm_backoff_ms(op->attempts);
            return;
        }
        op->rc = rc;
        op->end = SM_OP_TRANSPORT;
        return;
    }
    if (op->resp.status == 200) {
        op->rc = INJ_OK;
        op->end = SM_OP_OK;
        return;
    }
    sm_parse_fault(&op->resp, &op->fault);
    sbuf_wipe_free(&op->resp.body);
    if (sm_fault_retryable(op->resp.status, op->fault.type) && op->attempts < ctx->max_attempts &&
        !(op->spare_throttle && sm_is_throttle(op->fault.type))) {
        log_info("%s: %s answered HTTP %ld %s; retrying (attempt %d of %d)", op->id, op->action,
                 op->resp.status, op->fault.type, op->attempts + 1, ctx->max_attempts);
        op->ready_ms = mono_ms() + sm_backoff_ms(op->attempts);
        return;
    }
    op->rc = INJ_E_UNAVAILABLE;
    op->end = SM_OP_FAULT;
}

/* Runs every pending op to its end, at most conns at once, each with its own retries. */
static void sm_run_ops(const struct sm_ctx *ctx, struct sm_op *ops, size_t n, size_t conns)
{
    struct http_call *calls = calloc(n ? n : 1, sizeof(*calls));
    size_t *idx = calloc(n ? n : 1, sizeof(*idx));
    long long now;
    long long wake;
    size_t i;
    size_t k;

    if (!calls || !idx) {
        for (i = 0; i < n; i++) {
            if (ops[i].end != SM_OP_PENDING)
                continue;
            ops[i].end = SM_OP_SETUP;
            ops[i].rc = inj_err_set(&ops[i].err, INJ_E_NOMEM, "out of memory");
        }
        goto out;
    }
    for (;;) {
        now = mono_ms();
        wake = 0;
        k = 0;
        for (i = 0; i < n; i++) {
            struct sm_op *op = &ops[i];

            if (op->end != SM_OP_PENDING)
                continue;
            /* A backoff that ends past the deadline would only wait to give up. */
            if (op->deadline_ms && op->ready_ms > now && op->ready_ms >= op->deadline_ms) {
                op->rc = INJ_E_TEMPFAIL;
                op->end = SM_OP_DEADLINE;
                continue;
            }
            if (op->ready_ms > now) {
                if (!wake || op->ready_ms < wake)
                    wake = op->ready_ms;
                continue;
            }
            op->req.timeout_ms = sm_attempt_timeout(ctx, op->deadline_ms);
            if (op->req.timeout_ms == 0) {
                op->rc = INJ_E_TEMPFAIL;
                op->end = SM_OP_DEADLINE;
                continue;
            }
            http_resp_free(&op->resp);
            calls[k].req = &op->req;
            calls[k].resp = &op->resp;
            calls[k].err = &op->err;
            idx[k++] = i;
            op->attempts++;
        }
        if (!k && !wake)
            break;
        if (!k) {
            /* Nothing to send before the earliest backoff ends (or the deadline). */
            for (i = 0; i < n; i++)
                if (ops[i].end == SM_OP_PENDING && ops[i].deadline_ms &&
                    wake > ops[i].deadline_ms)
                    wake = ops[i].deadline_ms;
            mono_sleep_ms(wake - now);
            continue;
        }
        (void)http_do_many(ctx->http, calls, k, conns);
        for (i = 0; i < k; i++)
            sm_op_outcome(ctx, &ops[idx[i]], calls[i].rc);
    }
out:
    free(calls);
    free(idx);
}

/* Words op's failure for the secret id, as sm_call would have. */
static enum inj_rc sm_op_error(const struct sm_ctx *ctx, const struct sm_op *op, const char *id,
                               struct inj_err *err)
{
    switch (op->end) {
    case SM_OP_FAULT:
        return sm_fault_to_err(ctx, id, op->region, op->action, &op->resp, &op->fault,
                               op->attempts, err);
    case SM_OP_DEADLINE:
        return inj_err_set(err, INJ_E_TEMPFAIL,
                           "%s: %s in %s: the --timeout deadline passed after %d attempt(s)", id,
                           op->action, op->region, op->attempts);
    case SM_OP_TRANSPORT:
        inj_err_set(err, op->rc, "%s", op->err.msg);
        inj_err_prefix(err, "%s: %s in %s (after %d attempt(s))", id, op->action, op->region,
                       op->attempts);
        return op->rc;
    case SM_OP_SETUP:
        return inj_err_set(err, op->rc, "%s", op->err.msg);
    case SM_OP_OK:
    case SM_OP_PENDING:
    default:
        return inj_err_set(err, INJ_E_SOFTWARE, "%s: %s ended without an outcome", id,
                           op->action);
    }
}

/* Did op fail because its region is down? Unreachable or timing out (a retryable transport
 * failure on the last attempt), 5xx answers, or out of time after such a failure. Not: 4xx
 * answers (access, not found, throttling, KMS), DNS and TLS failures, malformed answers: a
 * replica would not help. */
static int sm_op_region_down(const struct sm_op *op)
{
    switch (op->end) {
    case SM_OP_TRANSPORT:
        return op->last_down;
    case SM_OP_FAULT:
        return op->resp.status >= 500;
    case SM_OP_DEADLINE:
        /* Out of time waiting to retry: down if the last attempt failed as down
         * (not after a throttle), or if there was no time for any attempt. */
        return !op->attempts || op->last_down;
    case SM_OP_OK:
    case SM_OP_SETUP:
    case SM_OP_PENDING:
    default:
        return 0;
    }
}

static enum inj_rc sm_no_region(const struct ref *ref, struct inj_err *err)
{
    return inj_err_set(err, INJ_E_USAGE,
                       "%s: no AWS region: set region in the config, --region, AWS_REGION, or "
                       "use the secret's full ARN",
                       ref->secret_id);
}

void sm_get_secret_values(const struct sm_ctx *ctx, struct sm_item *items, size_t n,
                          size_t conns)
{
    struct sm_op *ops = NULL;
    size_t i;

    jx_init();
    for (i = 0; i < n; i++) {
        memset(&items[i].secret, 0, sizeof(items[i].secret));
        items[i].rc = INJ_E_SOFTWARE;
        items[i].region_down = 0;
    }
    ops = calloc(n ? n : 1, sizeof(*ops));
    if (!ops) {
        for (i = 0; i < n; i++)
            items[i].rc = inj_err_set(&items[i].err, INJ_E_NOMEM, "out of memory");
        return;
    }
    for (i = 0; i < n; i++) {
        struct sm_op *op = &ops[i];

        op->action = "GetSecretValue";
        op->deadline_ms = items[i].deadline_ms ? items[i].deadline_ms : ctx->deadline_ms;
        op->region = sm_region_for(ctx, items[i].ref);
        op->id = items[i].ref->secret_id;
        op->max_response = SM_MAX_RESPONSE;
        op->end = SM_OP_SETUP;
        if (!op->region || !*op->region) {
            op->rc = sm_no_region(items[i].ref, &op->err);
            continue;
        }
        op->body = sm_get_body(items[i].ref);
        if (!op->body) {
            op->rc = inj_err_set(&op->err, INJ_E_NOMEM, "out of memory");
            continue;
        }
        sm_op_prepare(op, ctx);
    }
    sm_run_ops(ctx, ops, n, conns);
    for (i = 0; i < n; i++) {
        if (ops[i].end == SM_OP_OK)
            items[i].rc = sm_parse_value(&ops[i].resp, items[i].ref->secret_id,
                                         &items[i].secret, &items[i].err);
        else
            items[i].rc = sm_op_error(ctx, &ops[i], items[i].ref->secret_id, &items[i].err);
        items[i].region_down = sm_op_region_down(&ops[i]);
        if (items[i].rc != INJ_OK)
            sm_secret_free(&items[i].secret);
        sm_op_free(&ops[i]);
    }
    free(ops);
}

/* Finds, in order, every "SecretString" member's string value in a JSON text and records
 * whether it holds an escaped NUL (\u0000): cJSON would cut the value there, so such a
 * value is refused, and this says which one. Returns how many were found. */
static size_t sm_scan_nul(const unsigned char *p, size_t len, unsigned char *nul, size_t max)
{
    size_t i = 0;
    size_t k = 0;
    int want_value = 0;

    while (i < len) {
        size_t start;
        int has_nul = 0;

        if (p[i] != '"') {
            /* Between a "SecretString" key and its value only ':' and blanks may come. */
            if (p[i] != ':' && p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
                want_value = 0;
            i++;
            continue;
        }
        i++;
        start = i;
        while (i < len && p[i] != '"') {
            if (p[i] == '\\') {
                if (len - i >= 6 && !memcmp(p + i + 1, "u0000", 5))
                    has_nul = 1;
                i += 2;
                continue;
            }
            i++;
        }
        if (want_value) {
            if (k < max)
                nul[k] = (unsigned char)has_nul;
            k++;
            want_value = 0;
        } else if (i - start == 12 && i < len && !memcmp(p + start, "SecretString", 12)) {
            want_value = 1;
        }
        i++;
    }
    return k;
}

/* Does a batch answer for (arn, name) belong to the requested id (name, ARN or partial ARN,
 * i.e. the ARN without its "-" and six random characters)? */
static int sm_batch_match(const char *id, const char *arn, const char *name)
{
    size_t n = strlen(id);

    if (!strcmp(id, arn) || !strcmp(id, name))
        return 1;
    return !strncmp(id, "arn:", 4) && !strncmp(arn, id, n) && arn[n] == '-' &&
           strlen(arn + n) == 7;
}

/* The whole answer is unusable: every secret gets the same complaint under its own id. */
static enum inj_rc sm_batch_fail_all(struct sm_item *items, size_t n, enum inj_rc rc,
                                     const char *what)
{
    size_t i;

    for (i = 0; i < n; i++)
        items[i].rc = inj_err_set(&items[i].err, rc, "%s: %s", items[i].ref->secret_id, what);
    return rc;
}

/* Spreads a BatchGetSecretValue answer over the items: SecretValues by ARN or name, Errors
 * by SecretId, each error worded as GetSecretValue's would be (the batch call needs
 * secretsmanager:GetSecretValue on every secret, and its per-secret errors are those). */
enum inj_rc sm_parse_batch(const struct sm_ctx *ctx, const char *region,
                           const struct http_resp *resp, struct sm_item *items, size_t n)
{
    enum inj_rc rc = INJ_E_UNAVAILABLE;
    unsigned char nul[SM_BATCH_MAX * 2] = {0};
    unsigned char done[SM_BATCH_MAX];
    cJSON *root = NULL;
    const cJSON *vals;
    const cJSON *errs;
    const cJSON *it;
    size_t nstr = 0;
    size_t k = 0;
    size_t nnul;
    size_t i;

    memset(done, 0, sizeof(done));
    if (n > SM_BATCH_MAX)
        return sm_batch_fail_all(items, n, INJ_E_SOFTWARE, "internal error: batch too large");
    for (i = 0; i < n; i++) {
        memset(&items[i].secret, 0, sizeof(items[i].secret));
        items[i].rc = INJ_E_SOFTWARE;
        items[i].region_down = 0;
    }
    if (!resp->body.p || !jx_utf8_valid(resp->body.p, resp->body.len))
        return sm_batch_fail_all(items, n, rc, "Secrets Manager response is not valid UTF-8 JSON");
    root = cJSON_ParseWithLength((const char *)resp->body.p, resp->body.len);
    vals = cJSON_GetObjectItemCaseSensitive(root, "SecretValues");
    errs = cJSON_GetObjectItemCaseSensitive(root, "Errors");
    if (!cJSON_IsObject(root) || (vals && !cJSON_IsArray(vals)) || (errs && !cJSON_IsArray(errs))) {
        rc = sm_batch_fail_all(items, n, rc,
                               "Secrets Manager response is not a BatchGetSecretValue answer "
                               "(truncated or not from Secrets Manager; check AWS_ENDPOINT_URL "
                               "and proxies)");
        goto out;
    }
    cJSON_ArrayForEach(it, vals)
    {
        if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(it, "SecretString")))
            nstr++;
    }
    nnul = sm_scan_nul(resp->body.p, resp->body.len, nul, sizeof(nul));
    if (nnul != nstr || nnul > sizeof(nul)) {
        rc = sm_batch_fail_all(items, n, rc,
                               "Secrets Manager response has duplicate or malformed SecretString "
                               "members");
        goto out;
    }
    cJSON_ArrayForEach(it, vals)
    {
        const cJSON *arn = cJSON_GetObjectItemCaseSensitive(it, "ARN");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(it, "Name");
        int has_nul = 0;

        if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(it, "SecretString")))
            has_nul = nul[k++];
        if (!cJSON_IsString(arn) || !cJSON_IsString(name))
            continue;
        for (i = 0; i < n; i++) {
            if (done[i] || !sm_batch_match(items[i].ref->secret_id, arn->valuestring,
                                           name->valuestring))
                continue;
            items[i].rc = sm_parse_secret(it, has_nul, items[i].ref->secret_id,
                                          &items[i].secret, &items[i].err);
            done[i] = 1;
        }
    }
    cJSON_ArrayForEach(it, errs)
    {
        const cJSON *sid = cJSON_GetObjectItemCaseSensitive(it, "SecretId");
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(it, "ErrorCode");
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(it, "Message");
        struct http_resp one;
        struct sm_fault f;

        if (!cJSON_IsString(sid))
            continue;
        memset(&f, 0, sizeof(f));
        memset(&one, 0, sizeof(one));
        one.status = 400;
        one.server_date = resp->server_date;
        (void)snprintf(f.type, sizeof(f.type), "%s",
                       cJSON_IsString(code) ? code->valuestring : "(no error code)");
        if (cJSON_IsString(msg))
            sm_clean_msg(msg->valuestring, f.msg, sizeof(f.msg));
        for (i = 0; i < n; i++) {
            if (done[i] || strcmp(items[i].ref->secret_id, sid->valuestring) != 0)
                continue;
            items[i].rc = sm_fault_to_err(ctx, items[i].ref->secret_id, region, "GetSecretValue",
                                          &one, &f, 1, &items[i].err);
            done[i] = 1;
        }
    }
    for (i = 0; i < n; i++)
        if (!done[i])
            items[i].rc = inj_err_set(&items[i].err, INJ_E_UNAVAILABLE,
                                      "%s: BatchGetSecretValue in %s answered neither its value "
                                      "nor an error for it",
                                      items[i].ref->secret_id, region);
    rc = INJ_OK;
out:
    for (i = 0; i < n; i++)
        if (items[i].rc != INJ_OK)
            sm_secret_free(&items[i].secret);
    cJSON_Delete(root);
    return rc;
}

static enum sm_batch_fail sm_batch_why(const struct sm_op *op)
{
    const char *t = op->fault.type;

    if (op->end != SM_OP_FAULT)
        return SM_BATCH_FAILED;
    if (!strcmp(t, "AccessDeniedException"))
        return SM_BATCH_DENIED;
    if (sm_is_throttle(t))
        return SM_BATCH_THROTTLED;
    /* An endpoint that does not know the action (an older emulator, a filtering proxy), or
     * that refuses the list: GetSecretValue may still work, and names the culprit. */
    if (op->resp.status == 404 || !strcmp(t, "UnknownOperationException") ||
        !strcmp(t, "InvalidAction") || !strcmp(t, "ValidationException") ||
        !strcmp(t, "InvalidParameterException"))
        return SM_BATCH_UNSUPPORTED;
    return SM_BATCH_FAILED;
}

enum inj_rc sm_batch_get_secret_value(const struct sm_ctx *ctx, struct sm_item *items, size_t n,
                                      int spare_quota, enum sm_batch_fail *why)
{
    enum inj_rc rc = INJ_E_NOMEM;
    struct sm_op op;
    cJSON *req = NULL;
    cJSON *list = NULL;
    char label[160];
    size_t i;

    jx_init();
    *why = SM_BATCH_FAILED;
    memset(&op, 0, sizeof(op));
    for (i = 0; i < n; i++) {
        memset(&items[i].secret, 0, sizeof(items[i].secret));
        items[i].rc = INJ_E_SOFTWARE;
        items[i].region_down = 0;
    }
    if (!n || n > SM_BATCH_MAX)
        return sm_batch_fail_all(items, n, INJ_E_SOFTWARE, "internal error: bad batch size");
    op.action = "BatchGetSecretValue";
    /* One request for all: the latest of their deadlines (none when one has none). */
    for (i = 0; i < n; i++) {
        long long d = items[i].deadline_ms ? items[i].deadline_ms : ctx->deadline_ms;

        if (!d) {
            op.deadline_ms = 0;
            break;
        }
        if (d > op.deadline_ms)
            op.deadline_ms = d;
    }
    op.region = sm_region_for(ctx, items[0].ref);
    if (!op.region || !*op.region) {
        for (i = 0; i < n; i++)
            items[i].rc = sm_no_region(items[i].ref, &items[i].err);
        return items[0].rc;
    }
    req = cJSON_CreateObject();
    list = cJSON_AddArrayToObject(req, "SecretIdList");
    if (!list)
        goto nomem;
    for (i = 0; i < n; i++) {
        cJSON *s = cJSON_CreateString(items[i].ref->secret_id);
        if (!s || !cJSON_AddItemToArray(list, s)) {
            cJSON_Delete(s);
            goto nomem;
        }
    }
    op.body = cJSON_PrintUnformatted(req);
    if (!op.body)
        goto nomem;
    (void)snprintf(label, sizeof(label), "%s%s", items[0].ref->secret_id,
                   n > 1 ? " and the rest of its batch" : "");
    op.id = label;
    op.spare_throttle = spare_quota;
    op.max_response = SM_MAX_BATCH_RESPONSE;
    sm_op_prepare(&op, ctx);
    sm_run_ops(ctx, &op, 1, 1);
    if (op.end != SM_OP_OK) {
        *why = sm_batch_why(&op);
        for (i = 0; i < n; i++) {
            items[i].rc = sm_op_error(ctx, &op, items[i].ref->secret_id, &items[i].err);
            items[i].region_down = sm_op_region_down(&op);
        }
        rc = items[0].rc;
        goto out;
    }
    rc = sm_parse_batch(ctx, op.region, &op.resp, items, n);
    goto out;
nomem:
    rc = sm_batch_fail_all(items, n, INJ_E_NOMEM, "out of memory");
out:
    for (i = 0; i < n; i++)
        if (items[i].rc != INJ_OK)
            sm_secret_free(&items[i].secret);
    sm_op_free(&op);
    cJSON_Delete(req);
    return rc;
}
