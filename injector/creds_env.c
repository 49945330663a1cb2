/* creds_env.c: credentials from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
 * (and AWS_CREDENTIAL_EXPIRATION, which botocore reads too). */
#include <time.h>

#include "creds_int.h"

enum creds_status creds_env_get(const struct creds_ctx *ctx, struct creds *out, struct creds_try *t)
{
    const char *id = creds_getenv(ctx, "AWS_ACCESS_KEY_ID");
    const char *secret = creds_getenv(ctx, "AWS_SECRET_ACCESS_KEY");
    const char *token = creds_getenv(ctx, "AWS_SESSION_TOKEN");
    const char *exp_s = creds_getenv(ctx, "AWS_CREDENTIAL_EXPIRATION");
    time_t exp = 0;

    if (!id && !secret)
        return creds_skip(t, "AWS_ACCESS_KEY_ID not set");
    /* Half a key pair is a mistake, not an absence: botocore raises PartialCredentialsError
     * too. Falling through to a profile or the instance role would hide it. */
    if (!secret)
        return creds_fail(t, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
    if (!id)
        return creds_fail(t, "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not");
    if (exp_s && creds_parse_time(exp_s, &exp) != 0)
        return creds_fail(t, "AWS_CREDENTIAL_EXPIRATION is not an ISO 8601 time "
                             "(2024-05-01T12:00:00Z)");
    return creds_set(out, id, secret, token, exp, time(NULL), "env", "environment", t);
}
