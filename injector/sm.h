/* sm.h: AWS Secrets Manager client (JSON 1.1 protocol over SigV4-signed HTTPS).
 * Retries what AWS's standard retry mode retries; maps service errors to a message that
 * names the secret and the likely fix. */
#ifndef INJ_SM_H
#define INJ_SM_H

#include <stddef.h>

#include "err.h"
#include "ref.h"
#include "sbuf.h"

struct http;
struct creds;

/* A secret is at most 64 KiB; base64 of that plus the JSON envelope fits in 128 KiB. */
#define SM_MAX_SECRET (64u * 1024u)
#define SM_MAX_RESPONSE (128u * 1024u)

struct sm_ctx {
    struct http *http;        /* borrowed */
    const struct creds *creds; /* borrowed */
    const char *region;       /* borrowed: region for names and partial ARNs */
    int max_attempts;         /* >= 1 */
    long timeout_ms;          /* per attempt; 0: http default */
    long long deadline_ms;    /* CLOCK_MONOTONIC ms after which no attempt starts; 0: none */
};

/* Milliseconds on CLOCK_MONOTONIC, for deadlines. */
long long sm_now_ms(void);

struct sm_secret {
    char *arn;
    char *name;
    char *version_id;
    char stages[128];         /* comma-separated VersionStages */
    struct sbuf value;        /* SecretString, or the decoded SecretBinary bytes */
    int binary;
};

/* Fills ctx->max_attempts from AWS_MAX_ATTEMPTS / AWS_RETRY_MODE (standard: 3, legacy: 5). */
enum inj_rc sm_retry_config(struct sm_ctx *ctx, struct inj_err *err);

/* The Secrets Manager endpoint URL for a region: AWS_ENDPOINT_URL_SECRETS_MANAGER, then
 * AWS_ENDPOINT_URL, then https://secretsmanager.REGION.<partition's DNS suffix>. */
enum inj_rc sm_endpoint_url(const char *region, char *buf, size_t n, struct inj_err *err);

/* The region a reference is fetched from: a full ARN's own region, else ctx->region. */
const char *sm_region_for(const struct sm_ctx *ctx, const struct ref *ref);

/* GetSecretValue for ref (secret id, version stage, version id). out is owned by the caller
 * (sm_secret_free). err names the secret and the fix; never a value. */
enum inj_rc sm_get_secret_value(const struct sm_ctx *ctx, const struct ref *ref,
                                struct sm_secret *out, struct inj_err *err);
void sm_secret_free(struct sm_secret *s);

#endif
