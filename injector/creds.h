/* creds.h: AWS credentials for signing, found the way the AWS SDKs find them. */
#ifndef INJ_CREDS_H
#define INJ_CREDS_H

#include <time.h>

#include "err.h"

struct http;

struct creds {
    char *access_key_id;      /* owned; wiped on free */
    char *secret_access_key;  /* owned; wiped on free */
    char *session_token;      /* owned, may be NULL; wiped on free */
    time_t expiration;        /* 0: does not expire */
    char source[64];          /* "env", "profile default", "container", ... for logs */
};

struct creds_ctx {
    struct http *http;        /* borrowed, for providers that call an endpoint */
    const char *region;       /* borrowed, may be NULL: region for STS calls */
};

/* Resolves credentials into *out (owned; creds_free). On failure err lists each
 * source tried and why it was skipped or failed (INJ_E_NOPERM). */
enum inj_rc creds_resolve(const struct creds_ctx *ctx, struct creds *out, struct inj_err *err);

/* Wipes and frees the strings; *c is zeroed. */
void creds_free(struct creds *c);

#endif
