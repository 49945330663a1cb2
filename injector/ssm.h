/* ssm.h: AWS Systems Manager Parameter Store, a service module on the one AWS engine (aws.h):
 * its service row and GetParameters (names or ARNs with their selectors, 10 a call,
 * WithDecryption always), its request body and response parser. A parameter arrives as a
 * struct sm_secret (ARN, name, version as decimal text, type, value), so everything after the
 * fetch (keys, pointers, templates, sinks, refresh) treats it as it treats a secret. Retries,
 * signing and the error table are the engine's. */
#ifndef INJ_SSM_H
#define INJ_SSM_H

#include <stddef.h>

#include "aws.h"
#include "err.h"
#include "ref.h"
#include "sm.h"

/* GetParameters takes at most 10 names a call. */
#define SSM_BATCH_MAX 10
/* A parameter is at most 8 KiB (advanced tier); the Secrets Manager pass-through
 * (/aws/reference/secretsmanager/...) returns a secret, up to SM_MAX_SECRET. */
#define SSM_MAX_VALUE SM_MAX_SECRET
#define SSM_MAX_RESPONSE (SSM_BATCH_MAX * SM_MAX_RESPONSE)

/* The SSM service row (for aws_endpoint_url and tests): signing name ssm, endpoint
 * AWS_ENDPOINT_URL_SSM, X-Amz-Target AmazonSSM.<action>. */
extern const struct aws_service ssm_service;

/* One GetParameters call's input and output: items (REF_SSM refs of one region). */
struct ssm_batch {
    const struct sm_ctx *ctx;
    const char *region;
    struct sm_item *items[SSM_BATCH_MAX]; /* borrowed */
    size_t n;
    char label[160]; /* the call's name in log lines */
};

/* The GetParameters calls for a set of items: one per region and 10 items. */
struct ssm_plan {
    struct ssm_batch *b; /* owned */
    size_t n;
};

/* Groups items[0..n) (REF_SSM refs) into batches of at most SSM_BATCH_MAX of one region, in
 * order. Every item is reset (rc INJ_E_SOFTWARE until its call ends). INJ_E_NOMEM: out of
 * memory (every item says so). */
enum inj_rc ssm_plan_make(const struct sm_ctx *ctx, struct sm_item *items, size_t n,
                          struct ssm_plan *p);
/* Prepares calls[0..p->n) for the plan's batches, for aws_run on a (sm_aws_ctx of ctx), alone
 * or among other services' calls: a config that reads both services fetches them in one run. */
void ssm_plan_calls(const struct aws_ctx *a, struct ssm_plan *p, struct aws_call *calls);
/* After aws_run: each batch's answer spread over its items (or the call's failure worded for
 * each); frees calls[0..p->n). */
void ssm_plan_finish(const struct aws_ctx *a, struct ssm_plan *p, struct aws_call *calls);
void ssm_plan_free(struct ssm_plan *p);

/* GetParameters for every item of items[0..n) (any regions), the batches concurrently over
 * at most conns connections. Each item ends with its value (item.secret, owned) or its own
 * error (not found: INJ_E_MISSING naming the parameter and region). *api_calls grows by the
 * number of calls (not retries). */
void ssm_get_parameters(const struct sm_ctx *ctx, struct sm_item *items, size_t n, size_t conns,
                        size_t *api_calls);

/* Spreads a GetParameters 200 answer over items[0..n) (n <= SSM_BATCH_MAX): Parameters by
 * name or ARN and selector, InvalidParameters as "not found" (INJ_E_MISSING) naming the
 * parameter and region, the rest "answered neither". Returns INJ_OK unless the answer as a
 * whole is unusable (each item then carries that). Separate for the fuzz harness. */
enum inj_rc ssm_parse_parameters(const struct sm_ctx *ctx, const char *region,
                                 const struct http_resp *resp, struct sm_item *const *items,
                                 size_t n);

/* GetParametersByPath pages: at most 10 parameters each (the API's limit). */
#define SSM_PATH_PAGE 10

/* The key of parameter name under path (a parameter name, no trailing '/'): the name below
 * it ("/prod/app" and "/prod/app/db/password": "db/password"), borrowed from name; NULL when
 * name is not under path. expand_name then makes it a variable name: DB_PASSWORD. */
const char *ssm_path_key(const char *path, const char *name);

/* GetParametersByPath for each item of items[0..n) (REF_SSM refs with path set), every page
 * (NextToken) of every path, the paths concurrently over at most conns connections, each
 * page a call of the engine (its retries). Each item ends with its parameters as one JSON
 * object item.secret.value, {KEY: VALUE, ...} by ssm_path_key in byte order (expand.h reads
 * it), its name and arn "path /PATH/", its version_id a digest of the parameters' names and
 * versions (a new one when any changes, appears or goes); or with its own error: a name not
 * under the path, more parameters than ref->path_max (INJ_E_CONFIG naming the count), a
 * failed call. *api_calls grows by the calls made. */
void ssm_get_paths(const struct sm_ctx *ctx, struct sm_item *items, size_t n, size_t conns,
                   size_t *api_calls);
/* REF_SM items with path set (a name prefix, tags) are read the same way, with filtered
 * BatchGetSecretValue pages (sm.h sm_filter_op, 20 secrets a page); with tags, ListSecrets
 * pages instead (sm_list_op, 100 a page: only the secrets carrying every tag exactly count,
 * towards max too), then BatchGetSecretValue by ARN for those (20 a call, every read's calls
 * at once; a match the answer lacks or refuses fails the read, naming it). KEY is
 * sm_filter_key, the name and arn "secrets PREFIX*[ tagged K=V,...]", the version_id a digest
 * of KEY and VersionId; besides the errors above: a name not starting with the prefix, two
 * names with one key, an Errors item (the secret named), a denial (naming
 * secretsmanager:ListSecrets and secretsmanager:BatchGetSecretValue). */

/* One GetParametersByPath page 200 answer into the parameters gathered so far (acc, a cJSON
 * array of {"k": KEY, "v": VALUE, "n": VERSION}), its NextToken into *token (owned; NULL on
 * the last page). Separate for the fuzz harness and unit tests. */
struct cJSON;
enum inj_rc ssm_parse_path_page(const struct ref *ref, const char *path,
                                const struct http_resp *resp, struct cJSON *acc, char **token,
                                struct inj_err *err);

#endif
