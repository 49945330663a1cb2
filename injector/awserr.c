/* awserr.c: the one AWS error table (code -> kind), what each kind means, every error body
 * shape read into one (status, code, message) triple, and the "how to fix" wording. */
#include "awserr.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "jx.h"
#include "redact.h"
#include "sbuf.h"
#include "xml.h"

/* AWS error codes, by kind: the common errors of every AWS API, the JSON and Query front
 * ends' authentication errors, botocore's throttle and transient codes
 * (retries/standard.py), and the services' own. A code not here: the status decides. */
static const struct {
    const char *code;
    enum aws_kind kind;
} aws_codes[] = {
    {"AccessDeniedException", AWS_K_DENIED},
    {"AccessDenied", AWS_K_DENIED},
    {"NotAuthorized", AWS_K_DENIED},
    {"UnauthorizedOperation", AWS_K_DENIED},
    {"DecryptionFailure", AWS_K_KMS},
    {"KMSAccessDeniedException", AWS_K_KMS},
    {"KMSDisabledException", AWS_K_KMS},
    {"KMSInvalidStateException", AWS_K_KMS},
    {"InvalidSignatureException", AWS_K_SIGNATURE},
    {"SignatureDoesNotMatch", AWS_K_SIGNATURE},
    {"UnrecognizedClientException", AWS_K_KEY_INVALID},
    {"InvalidClientTokenId", AWS_K_KEY_INVALID},
    {"InvalidAccessKeyId", AWS_K_KEY_INVALID},
    {"ExpiredTokenException", AWS_K_EXPIRED},
    {"ExpiredToken", AWS_K_EXPIRED},
    {"MissingAuthenticationTokenException", AWS_K_UNAUTHENTICATED},
    {"MissingAuthenticationToken", AWS_K_UNAUTHENTICATED},
    {"IncompleteSignature", AWS_K_UNAUTHENTICATED},
    {"IncompleteSignatureException", AWS_K_UNAUTHENTICATED},
    {"RequestExpired", AWS_K_CLOCK},
    {"OptInRequired", AWS_K_OPT_IN},
    {"ResourceNotFoundException", AWS_K_NOT_FOUND},
    {"ParameterNotFound", AWS_K_NOT_FOUND},        /* SSM */
    {"ParameterVersionNotFound", AWS_K_NOT_FOUND}, /* SSM: no such version or label */
    {"InvalidKeyId", AWS_K_KMS},                   /* SSM: the SecureString's key is unusable */
    {"ThrottlingException", AWS_K_THROTTLED},
    {"Throttling", AWS_K_THROTTLED},
    {"ThrottledException", AWS_K_THROTTLED},
    {"RequestThrottledException", AWS_K_THROTTLED},
    {"RequestThrottled", AWS_K_THROTTLED},
    {"TooManyRequestsException", AWS_K_THROTTLED},
    {"ProvisionedThroughputExceededException", AWS_K_THROTTLED},
    {"RequestLimitExceeded", AWS_K_THROTTLED},
    {"BandwidthLimitExceeded", AWS_K_THROTTLED},
    {"SlowDown", AWS_K_THROTTLED},
    {"EC2ThrottledException", AWS_K_THROTTLED},
    {"RequestTimeout", AWS_K_TRANSIENT},
    {"RequestTimeoutException", AWS_K_TRANSIENT},
    {"PriorRequestNotComplete", AWS_K_TRANSIENT},
    {"InternalServiceError", AWS_K_TRANSIENT},
    {"InternalFailure", AWS_K_TRANSIENT},
    {"InternalServerError", AWS_K_TRANSIENT},
    {"ServiceUnavailable", AWS_K_TRANSIENT},
    {"ServiceUnavailableException", AWS_K_TRANSIENT},
    {"InvalidAction", AWS_K_UNKNOWN_ACTION},
    {"UnknownOperationException", AWS_K_UNKNOWN_ACTION},
    {"InvalidParameterException", AWS_K_INVALID},
    {"ValidationException", AWS_K_INVALID},
    {"ValidationError", AWS_K_INVALID},
    {"InvalidRequestException", AWS_K_BAD_REQUEST},
};

/* What a kind means. */
static const struct {
    const char *name;
    enum inj_rc rc;
    unsigned char retry, throttle, refused, unsupported;
} aws_kinds[] = {
    [AWS_K_NONE] = {"none", INJ_E_UNAVAILABLE, 0, 0, 0, 0},
    [AWS_K_DENIED] = {"denied", INJ_E_NOPERM, 0, 0, 1, 0},
    [AWS_K_REFUSED] = {"refused", INJ_E_NOPERM, 0, 0, 1, 0},
    [AWS_K_KMS] = {"kms", INJ_E_NOPERM, 0, 0, 0, 0},
    [AWS_K_SIGNATURE] = {"signature", INJ_E_NOPERM, 0, 0, 0, 0},
    [AWS_K_KEY_INVALID] = {"key-invalid", INJ_E_NOPERM, 0, 0, 0, 0},
    [AWS_K_EXPIRED] = {"expired", INJ_E_NOPERM, 0, 0, 0, 0},
    [AWS_K_UNAUTHENTICATED] = {"unauthenticated", INJ_E_NOPERM, 0, 0, 0, 0},
    [AWS_K_CLOCK] = {"clock", INJ_E_NOPERM, 0, 0, 0, 0},
    [AWS_K_OPT_IN] = {"opt-in", INJ_E_NOPERM, 0, 0, 0, 0},
    [AWS_K_NOT_FOUND] = {"not-found", INJ_E_MISSING, 0, 0, 0, 0},
    [AWS_K_THROTTLED] = {"throttled", INJ_E_TEMPFAIL, 1, 1, 0, 0},
    [AWS_K_TRANSIENT] = {"transient", INJ_E_UNAVAILABLE, 1, 0, 0, 0},
    [AWS_K_UNKNOWN_ACTION] = {"unknown-action", INJ_E_SOFTWARE, 0, 0, 0, 1},
    [AWS_K_INVALID] = {"invalid", INJ_E_CONFIG, 0, 0, 0, 1},
    [AWS_K_BAD_REQUEST] = {"bad-request", INJ_E_DATA, 0, 0, 0, 0},
    [AWS_K_UNEXPECTED] = {"unexpected", INJ_E_UNAVAILABLE, 0, 0, 0, 0},
};

#define AWS_NKINDS (sizeof(aws_kinds) / sizeof(aws_kinds[0]))

static size_t aws_kind_idx(enum aws_kind k)
{
    return (size_t)k < AWS_NKINDS ? (size_t)k : (size_t)AWS_K_UNEXPECTED;
}

int aws_kind_retryable(enum aws_kind k)
{
    return aws_kinds[aws_kind_idx(k)].retry;
}
int aws_kind_throttle(enum aws_kind k)
{
    return aws_kinds[aws_kind_idx(k)].throttle;
}
int aws_kind_refused(enum aws_kind k)
{
    return aws_kinds[aws_kind_idx(k)].refused;
}
int aws_kind_unsupported(enum aws_kind k)
{
    return aws_kinds[aws_kind_idx(k)].unsupported;
}
const char *aws_kind_name(enum aws_kind k)
{
    return aws_kinds[aws_kind_idx(k)].name;
}

enum aws_kind aws_code_kind(const char *code)
{
    size_t i;

    for (i = 0; code && i < sizeof(aws_codes) / sizeof(aws_codes[0]); i++)
        if (!strcmp(code, aws_codes[i].code))
            return aws_codes[i].kind;
    return AWS_K_UNEXPECTED;
}

enum aws_kind aws_classify(long status, const char *code, const char *msg)
{
    enum aws_kind k = aws_code_kind(code);

    /* An AccessDenied about the secret's key: what to grant is kms:Decrypt. Only KMS's own
     * words count ("perform: kms:Decrypt", an arn:aws:kms: key, "Access to KMS", "KMS key",
     * and the older "The ciphertext refers to a customer master key ..." SSM passes on),
     * never a bare "kms": the message also names the caller's role and the secret, and a role
     * called orders-kms-reader denied secretsmanager:BatchGetSecretValue is an IAM refusal
     * (GetSecretValue may still be allowed), not a key refusal. Names and ARNs of roles,
     * sessions and secrets cannot hold ':' or ' ', so none of these phrases comes from them. */
    if (k == AWS_K_DENIED && msg &&
        (strstr(msg, "kms:") || strstr(msg, "Access to KMS") || strstr(msg, "KMS key") ||
         strstr(msg, "customer master key")))
        return AWS_K_KMS;
    if (status >= 500 && k != AWS_K_THROTTLED)
        return AWS_K_TRANSIENT;
    if (k != AWS_K_UNEXPECTED)
        return k;
    if (status == 401 || status == 403)
        return AWS_K_REFUSED;
    if (status == 429)
        return AWS_K_THROTTLED;
    return AWS_K_UNEXPECTED;
}

void aws_clean_msg(const char *in, size_t len, const struct aws_known *known, char *out, size_t n)
{
    redact_text(in, len, known ? known->v : NULL, known ? known->n : 0, out, n);
}

/* "com.amazon.coral.service#Code:http://internal..." -> "Code". */
static void aws_set_code(struct aws_fault *f, const char *code, size_t len)
{
    const char *hash = memchr(code, '#', len);
    size_t k;

    while (hash) {
        len -= (size_t)(hash + 1 - code);
        code = hash + 1;
        hash = memchr(code, '#', len);
    }
    for (k = 0; k < len && code[k] != ':'; k++)
        ;
    aws_clean_msg(code, k, NULL, f->code, sizeof(f->code));
}

/* JSON 1.0/1.1 and REST-JSON: {"__type": ..., "message" or "Message": ...}. */
static int aws_fault_json(const struct http_resp *resp, const struct aws_known *known,
                          struct aws_fault *f)
{
    cJSON *root = NULL;
    const cJSON *t;
    const cJSON *m;

    if (!resp->body.p || !jx_utf8_valid(resp->body.p, resp->body.len))
        return 0;
    root = cJSON_ParseWithLength((const char *)resp->body.p, resp->body.len);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return 0;
    }
    t = cJSON_GetObjectItemCaseSensitive(root, "__type");
    if (cJSON_IsString(t))
        aws_set_code(f, t->valuestring, strlen(t->valuestring));
    m = cJSON_GetObjectItemCaseSensitive(root, "message");
    if (!cJSON_IsString(m))
        m = cJSON_GetObjectItemCaseSensitive(root, "Message");
    if (cJSON_IsString(m))
        aws_clean_msg(m->valuestring, strlen(m->valuestring), known, f->msg, sizeof(f->msg));
    cJSON_Delete(root);
    return 1;
}

/* Query and REST-XML: <ErrorResponse><Error><Code>..</Code><Message>..</Message></Error>,
 * or a bare <Error>. */
static void aws_fault_xml(const struct http_resp *resp, const struct aws_known *known,
                          struct aws_fault *f)
{
    const char *doc = (const char *)resp->body.p;
    const char *inner = NULL;
    size_t inner_len = 0;
    char *code = NULL;
    char *msg = NULL;

    if (!doc || xml_element(doc, resp->body.len, "Error", &inner, &inner_len) != XML_OK)
        return;
    if (!f->code[0] && xml_text(inner, inner_len, "Code", sizeof(f->code), &code) == XML_OK)
        aws_set_code(f, code, strlen(code));
    if (!f->msg[0] && xml_text(inner, inner_len, "Message", 4096, &msg) == XML_OK)
        aws_clean_msg(msg, strlen(msg), known, f->msg, sizeof(f->msg));
    wipe_free_str(code);
    wipe_free_str(msg);
}

void aws_parse_fault(const struct http_resp *resp, const struct aws_known *known,
                     struct aws_fault *f)
{
    memset(f, 0, sizeof(*f));
    f->status = resp->status;
    f->server_date = resp->server_date;
    if (!aws_fault_json(resp, known, f))
        aws_fault_xml(resp, known, f);
    if (!f->code[0] && resp->amzn_error_type[0])
        aws_set_code(f, resp->amzn_error_type, strlen(resp->amzn_error_type));
    f->kind = aws_classify(f->status, f->code, f->msg);
}

void aws_fault_set_known(struct aws_fault *f, long status, const char *code, const char *msg,
                         const struct aws_known *known)
{
    memset(f, 0, sizeof(*f));
    f->status = status;
    if (code)
        aws_set_code(f, code, strlen(code));
    if (msg)
        aws_clean_msg(msg, strlen(msg), known, f->msg, sizeof(f->msg));
    f->kind = aws_classify(status, f->code, f->msg);
}

void aws_fault_set(struct aws_fault *f, long status, const char *code, const char *msg)
{
    aws_fault_set_known(f, status, code, msg, NULL);
}

/* SigV4 errors name their cause only in the message. */
static enum inj_rc aws_cause_signature(const struct aws_fault *f, const struct aws_wording *w,
                                       const char *src, char *cause, size_t n)
{
    long skew = f->server_date ? (long)(f->server_date - time(NULL)) : 0;

    if (strstr(f->msg, "Signature expired") || skew > 240 || skew < -240)
        (void)snprintf(cause, n,
                       "request rejected because of clock skew: the local clock is %ld s %s the "
                       "server's; fix time sync (NTP) on this host",
                       skew < 0 ? -skew : skew, skew < 0 ? "ahead of" : "behind");
    else if (strstr(f->msg, "scoped to a valid region") || strstr(f->msg, "scoped to correct"))
        (void)snprintf(cause, n,
                       "the endpoint rejected a request signed for region %s; the endpoint "
                       "(AWS_ENDPOINT_URL?) is in another region: set the region to match it",
                       w->region);
    else
        (void)snprintf(cause, n,
                       "signature rejected: the secret access key does not match the access key "
                       "id (credentials from %s); check AWS_SECRET_ACCESS_KEY",
                       src);
    return INJ_E_NOPERM;
}

enum inj_rc aws_fault_cause(const struct aws_fault *f, const struct aws_wording *w, char *cause,
                            size_t n)
{
    const char *src = w->creds_source && w->creds_source[0] ? w->creds_source : "unknown";
    const char *code = f->code[0] ? f->code : "(not an AWS error body)";

    switch (f->kind) {
    case AWS_K_DENIED:
        /* Only a call that returns values decrypts them: ListSecrets and DescribeSecret need
         * no kms:Decrypt. */
        (void)snprintf(
            cause, n,
            "%s denied (%s: not authorized; credentials from %s); grant it to the task role%s",
            w->iam_action, code, src,
            w->decrypts ? " (and kms:Decrypt if a customer managed key encrypts it)" : "");
        break;
    case AWS_K_REFUSED:
        (void)snprintf(cause, n,
                       "HTTP %ld %s: %s refused: the role lacks %s, or the access key or its "
                       "signature was refused (credentials from %s); grant %s to the task role "
                       "and check the credentials",
                       f->status, code, w->action, w->iam_action, src, w->iam_action);
        break;
    case AWS_K_KMS:
        (void)snprintf(cause, n,
                       "cannot be decrypted: kms:Decrypt denied on its KMS key, or the key is "
                       "disabled; allow kms:Decrypt on that key for the task role, with "
                       "kms:ViaService %s.%s.%s, and check the key is enabled",
                       w->host_prefix, w->region, w->dns_suffix ? w->dns_suffix : "amazonaws.com");
        break;
    case AWS_K_SIGNATURE:
        return aws_cause_signature(f, w, src, cause, n);
    case AWS_K_KEY_INVALID:
        (void)snprintf(cause, n,
                       "the access key id (credentials from %s) is not valid in %s: deleted key, "
                       "wrong partition, or a session token missing or invalid",
                       src, w->region);
        break;
    case AWS_K_EXPIRED:
        (void)snprintf(cause, n,
                       "the session token (credentials from %s) has expired; obtain fresh "
                       "credentials",
                       src);
        break;
    case AWS_K_UNAUTHENTICATED:
        (void)snprintf(cause, n, "request not authenticated (%s)", code);
        break;
    case AWS_K_CLOCK:
        (void)snprintf(cause, n,
                       "request expired on arrival: the local clock is more than 15 minutes "
                       "off; fix time sync (NTP) on this host");
        break;
    case AWS_K_OPT_IN:
        (void)snprintf(cause, n,
                       "the account is not opted in to %s in %s; enable the region for the "
                       "account",
                       w->service, w->region);
        break;
    case AWS_K_NOT_FOUND:
        (void)snprintf(cause, n, "not found in %s; check %s", w->region,
                       w->not_found_hint ? w->not_found_hint : "the name or ARN and the region");
        break;
    case AWS_K_THROTTLED:
        (void)snprintf(cause, n,
                       "throttled by %s in %s after %d attempt(s) (HTTP %ld %s); too many calls "
                       "in the account (stagger starts, or give them a longer --timeout)",
                       w->service, w->region, w->attempts, f->status, code);
        break;
    case AWS_K_TRANSIENT:
        (void)snprintf(cause, n, "%s in %s failed with HTTP %ld %s after %d attempt(s)", w->service,
                       w->region, f->status, f->code[0] ? f->code : "(no error code)", w->attempts);
        break;
    case AWS_K_UNKNOWN_ACTION:
        (void)snprintf(cause, n,
                       "the endpoint does not know the action %s; is AWS_ENDPOINT_URL a %s "
                       "endpoint?",
                       w->action, w->service);
        break;
    case AWS_K_INVALID:
        (void)snprintf(cause, n, "rejected as invalid (%s)", code);
        break;
    case AWS_K_BAD_REQUEST:
        (void)snprintf(cause, n, "%s refused the request (%s%s%s)", w->service, code,
                       w->bad_request_hint ? "; " : "",
                       w->bad_request_hint ? w->bad_request_hint : "");
        break;
    case AWS_K_NONE:
    case AWS_K_UNEXPECTED:
    default:
        (void)snprintf(cause, n, "unexpected response from %s in %s: HTTP %ld %s", w->service,
                       w->region, f->status, code);
        break;
    }
    return aws_kinds[aws_kind_idx(f->kind)].rc;
}
