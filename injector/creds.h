/* creds.h: AWS credentials for signing, found the way the AWS SDKs find them: environment,
 * web identity, shared profile files, container endpoint, EC2 instance metadata (IMDSv2).
 * docs/credentials.md lists every variable and what of the SDK chain is left out. */
#ifndef INJ_CREDS_H
#define INJ_CREDS_H

#include <stddef.h>
#include <time.h>

#include "err.h"

struct http;

struct creds {
    char *access_key_id;     /* owned; wiped on free */
    char *secret_access_key; /* owned; wiped on free */
    char *session_token;     /* owned, may be NULL; wiped on free */
    time_t expiration;       /* 0: does not expire */
    char source[64];         /* "env", "profile default", "container", ... for logs */
};

struct creds_ctx {
    struct http *http;  /* borrowed, for providers that call an endpoint */
    const char *region; /* borrowed, may be NULL: region for STS calls (NULL: the
                                 global endpoint, us-east-1) */
    /* Environment lookup; NULL: getenv(3). Tests pass their own (no hidden inputs). */
    const char *(*env)(const char *name);
    int imds_region;       /* creds_region_fallback may ask IMDS (costs up to 2 s when
                                 there is no IMDS; set it only when a region is needed) */
    long long deadline_ms; /* mono_ms() after which no provider
                                 request or helper runs; timeouts are cut to it. 0: none */
};

/* Resolves credentials into *out (owned; creds_free), trying env, web identity, profile,
 * container, IMDS in that order. A source that is configured but broken stops the chain.
 * On failure (INJ_E_NOPERM, or INJ_E_NOMEM) err is one message naming each source tried and
 * why it was skipped or failed; never a key or token. */
enum inj_rc creds_resolve(const struct creds_ctx *ctx, struct creds *out, struct inj_err *err);

/* The region after --region, config, AWS_REGION and AWS_DEFAULT_REGION: the profile's
 * `region`, then (when ctx->imds_region and IMDS is enabled and answers within its timeout)
 * the instance's placement region. buf gets "" when neither has one. Broken profile files
 * are ignored here (creds_resolve reports them). INJ_E_SOFTWARE when n is too small. */
enum inj_rc creds_region_fallback(const struct creds_ctx *ctx, char *buf, size_t n);

/* A role to assume with STS AssumeRole (per-entry roles, roles.h). */
struct creds_assume {
    const char *role_arn;
    const char *external_id;  /* NULL: none */
    const char *session_name; /* NULL: "injector-<unix time>" */
    long duration_s;          /* 0: STS's default (1 h) */
    const char *source;       /* names the new credentials in logs and messages: "role db" */
};

/* STS AssumeRole signed with base (the STS endpoint of ctx: AWS_ENDPOINT_URL_STS, FIPS and
 * dual-stack as creds_sts_url) into *out (owned; creds_free). On failure err names the
 * role ARN and says what to grant (sts:AssumeRole on the role to the base identity, the
 * role's trust policy, its sts:ExternalId condition); never a key. */
enum inj_rc creds_assume_role(const struct creds_ctx *ctx, const struct creds *base,
                              const struct creds_assume *a, struct creds *out, struct inj_err *err);

/* The endpoint variants as the SDKs read them: AWS_USE_FIPS_ENDPOINT and
 * AWS_USE_DUALSTACK_ENDPOINT when set (the variable wins, "false" included), else the active
 * profile's use_fips_endpoint / use_dualstack_endpoint; "true" (any case) is on. A broken
 * profile file reads as neither (creds_resolve reports it). */
void creds_endpoint_opts(const struct creds_ctx *ctx, int *fips, int *dualstack);

/* The STS endpoint URL the credential providers use with ctx (for check -v). */
enum inj_rc creds_sts_url(const struct creds_ctx *ctx, char *url, size_t n, struct inj_err *err);

/* Wipes and frees the strings; *c is zeroed. */
void creds_free(struct creds *c);

#endif
