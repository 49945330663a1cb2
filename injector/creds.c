/* creds.c: the credentials provider chain. Here: the environment
 * (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN). */
#include "creds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"

void creds_free(struct creds *c)
{
    wipe_free_str(c->access_key_id);
    wipe_free_str(c->secret_access_key);
    wipe_free_str(c->session_token);
    memset(c, 0, sizeof(*c));
}

enum inj_rc creds_resolve(const struct creds_ctx *ctx, struct creds *out, struct inj_err *err)
{
    const char *id = getenv("AWS_ACCESS_KEY_ID");
    const char *secret = getenv("AWS_SECRET_ACCESS_KEY");
    const char *token = getenv("AWS_SESSION_TOKEN");

    (void)ctx;
    memset(out, 0, sizeof(*out));
    if (!id || !*id)
        return inj_err_set(err, INJ_E_NOPERM,
                           "no AWS credentials found (env: AWS_ACCESS_KEY_ID not set)");
    if (!secret || !*secret)
        return inj_err_set(err, INJ_E_NOPERM,
                           "no AWS credentials found (env: AWS_ACCESS_KEY_ID is set but "
                           "AWS_SECRET_ACCESS_KEY is not)");
    out->access_key_id = xstrdup(id);
    out->secret_access_key = xstrdup(secret);
    if (token && *token)
        out->session_token = xstrdup(token);
    if (!out->access_key_id || !out->secret_access_key || (token && *token && !out->session_token)) {
        creds_free(out);
        return inj_err_set(err, INJ_E_NOMEM, "out of memory");
    }
    (void)snprintf(out->source, sizeof(out->source), "env");
    return INJ_OK;
}
