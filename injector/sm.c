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
#include <time.h>

#include "creds.h"
#include "http.h"
#include "jx.h"
#include "log.h"

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

long long sm_now_ms(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000LL + ts.tv_nsec / 1000000L;
}

/* The attempt's timeout: the per-request one, cut to what is left of the deadline.
 * Returns 0 when the deadline has passed. */
static long sm_attempt_timeout(const struct sm_ctx *ctx)
{
    long t = ctx->timeout_ms ? ctx->timeout_ms : 10000L;
    long long left;

    if (!ctx->deadline_ms)
        return t;
    left = ctx->deadline_ms - sm_now_ms();
    if (left <= 0)
        return 0;
    return left < t ? (long)left : t;
}

const char *sm_region_for(const struct sm_ctx *ctx, const struct ref *ref)
{
    if (ref->is_arn && ref->region[0])
        return ref->region;
    return ctx->region;
}

static const char *sm_dns_suffix(const char *partition)
{
    if (!strcmp(partition, "aws-cn"))
        return "amazonaws.com.cn";
    if (!strcmp(partition, "aws-iso"))
        return "c2s.ic.gov";
    if (!strcmp(partition, "aws-iso-b"))
        return "sc2s.sgov.gov";
    return "amazonaws.com";
}

enum inj_rc sm_endpoint_url(const char *region, char *buf, size_t n, struct inj_err *err)
{
    const char *v = getenv("AWS_ENDPOINT_URL_SECRETS_MANAGER");
    int len;

    if (!v || !*v)
        v = getenv("AWS_ENDPOINT_URL");
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
                       sm_dns_suffix(ref_region_partition(region)));
    }
    if (len < 0 || (size_t)len >= n)
        return inj_err_set(err, INJ_E_USAGE, "endpoint URL too long");
    return INJ_OK;
}

/* Printable-ASCII copy of an AWS error message (bounded), for our own messages. */
static void sm_clean_msg(const char *in, char *out, size_t n)
{
    size_t j = 0;

    for (; in && *in && j + 1 < n; in++)
        out[j++] = (*in >= 0x20 && *in < 0x7f) ? *in : '?';
    out[j] = '\0';
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
    code = cJSON_IsString(t) ? t->valuestring : resp->amzn_error_type;
    hash = strrchr(code, '#');
    if (hash)
        code = hash + 1;
    (void)snprintf(f->type, sizeof(f->type), "%.*s", (int)strcspn(code, ":"), code);
    m = root ? cJSON_GetObjectItemCaseSensitive(root, "message") : NULL;
    if (!cJSON_IsString(m) && root)
        m = cJSON_GetObjectItemCaseSensitive(root, "Message");
    if (cJSON_IsString(m))
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

/* Full-jitter exponential backoff (AWS standard retry mode): rand * min(cap, 2^(n-1) s). */
static void sm_backoff(int attempt)
{
    unsigned int r = 0;
    long ceiling = 1000L;
    long ms;
    struct timespec ts;
    int i;

    for (i = 1; i < attempt && ceiling < SM_BACKOFF_CAP_MS; i++)
        ceiling *= 2;
    if (ceiling > SM_BACKOFF_CAP_MS)
        ceiling = SM_BACKOFF_CAP_MS;
    if (RAND_bytes((unsigned char *)&r, (int)sizeof(r)) != 1)
        r = (unsigned int)time(NULL);
    ms = (long)(r % (unsigned int)(ceiling + 1));
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
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
        !strcmp(t, "IncompleteSignatureException"))
        return inj_err_set(err, INJ_E_NOPERM, "%s: request not authenticated (%s: %s)", id, t,
                           f->msg);
    if (!strcmp(t, "InvalidParameterException") || !strcmp(t, "ValidationException"))
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
        req.timeout_ms = sm_attempt_timeout(ctx);
        if (req.timeout_ms == 0)
            return inj_err_set(err, INJ_E_TEMPFAIL,
                               "%s: %s in %s: the --timeout deadline passed after %d attempt(s)",
                               id, action, region, attempt - 1);
        rc = http_do(ctx->http, &req, resp, err);
        if (rc != INJ_OK) {
            if (resp->retryable && attempt < ctx->max_attempts) {
                log_info("%s: %s; retrying (attempt %d of %d)", id, err->msg, attempt + 1,
                         ctx->max_attempts);
                sm_backoff(attempt);
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
            sm_backoff(attempt);
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
    rc = sbuf_append(out, tmp, (size_t)n - pad) == SBUF_OK ? INJ_OK : INJ_E_DATA;
out:
    wipe_free(tmp, len / 4 * 3 + 1);
    return rc;
}

static enum inj_rc sm_parse_value(const struct http_resp *resp, const char *id,
                                  struct sm_secret *out, struct inj_err *err)
{
    enum inj_rc rc = INJ_E_UNAVAILABLE;
    cJSON *root = NULL;
    const cJSON *s;
    const cJSON *b;
    const cJSON *st;
    const cJSON *it;
    size_t off = 0;

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
        if (memmem(resp->body.p, resp->body.len, "\\u0000", 6)) {
            rc = inj_err_set(err, INJ_E_DATA,
                             "%s: SecretString contains a NUL character, which no environment "
                             "variable or text file can carry",
                             id);
            goto out;
        }
        if (sbuf_append_str(&out->value, s->valuestring) != SBUF_OK) {
            rc = inj_err_set(err, INJ_E_DATA, "%s: secret value larger than %u bytes", id,
                             SM_MAX_SECRET);
            goto out;
        }
    } else if (cJSON_IsString(b)) {
        rc = sm_decode_binary(b->valuestring, &out->value);
        if (rc != INJ_OK) {
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
    cJSON_Delete(root);
    return rc;
}

enum inj_rc sm_get_secret_value(const struct sm_ctx *ctx, const struct ref *ref,
                                struct sm_secret *out, struct inj_err *err)
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
        rc = inj_err_set(err, INJ_E_USAGE,
                         "%s: no AWS region: set region in the config, --region, AWS_REGION, or "
                         "use the secret's full ARN",
                         ref->secret_id);
        goto out;
    }
    req = cJSON_CreateObject();
    if (!req || !cJSON_AddStringToObject(req, "SecretId", ref->secret_id))
        goto nomem;
    if (ref->version_id && !cJSON_AddStringToObject(req, "VersionId", ref->version_id))
        goto nomem;
    if (ref->version_stage && !cJSON_AddStringToObject(req, "VersionStage", ref->version_stage))
        goto nomem;
    body = cJSON_PrintUnformatted(req);
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
    cJSON_Delete(req);
    if (rc != INJ_OK)
        sm_secret_free(out);
    return rc;
}
