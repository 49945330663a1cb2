/* sm.h: AWS Secrets Manager, a service module on the one AWS engine (aws.h): its service
 * row, its operations (GetSecretValue, DescribeSecret, BatchGetSecretValue, ListSecrets: each
 * a row with its IAM action, request body, response parser and size cap) and their answers.
 * Retries, signing and the error table are the engine's. */
#ifndef INJ_SM_H
#define INJ_SM_H

#include <stddef.h>

#include "aws.h"
#include "err.h"
#include "ref.h"
#include "sbuf.h"

struct http;
struct http_resp;
struct creds;

/* A secret is at most 64 KiB; base64 of that plus the JSON envelope fits in 128 KiB. */
#define SM_MAX_SECRET (64u * 1024u)
#define SM_MAX_RESPONSE (128u * 1024u)
/* BatchGetSecretValue takes at most 20 ids in SecretIdList. */
#define SM_BATCH_MAX 20
#define SM_MAX_BATCH_RESPONSE (SM_BATCH_MAX * SM_MAX_RESPONSE)

/* Which API fetches AWSCURRENT secrets (config `fetch:`, --fetch). auto: BatchGetSecretValue
 * for 2+ secrets in a region, falling back to GetSecretValue; batch: always the batch call;
 * single: GetSecretValue only. Version-pinned secrets always use GetSecretValue. */
enum sm_fetch_mode { SM_FETCH_UNSET = 0, SM_FETCH_AUTO, SM_FETCH_BATCH, SM_FETCH_SINGLE };

/* "auto", "batch", "single" -> mode; SM_FETCH_UNSET for anything else. */
enum sm_fetch_mode sm_fetch_mode_parse(const char *s);
const char *sm_fetch_mode_name(enum sm_fetch_mode m);

struct sm_ctx {
    struct http *http;             /* borrowed */
    const struct creds *creds;     /* borrowed */
    const char *region;            /* borrowed: region for names and partial ARNs */
    int max_attempts;              /* >= 1 */
    struct aws_retry *retry;       /* borrowed: retry mode, adaptive limiter; NULL: standard */
    long timeout_ms;               /* per attempt; 0: http default */
    long long deadline_ms;         /* mono_ms() after which no attempt starts; 0: none */
    enum sm_fetch_mode fetch_mode; /* for fetch.c; UNSET means auto */
    aws_transport_fn transport;    /* NULL: HTTPS through http; unit tests answer instead */
    void *transport_arg;
};

struct sm_secret {
    char *arn;
    char *name;
    char *version_id;
    char stages[128];  /* comma-separated VersionStages */
    struct sbuf value; /* SecretString, or the decoded SecretBinary bytes */
    int binary;
    char type[16]; /* an SSM parameter's Type (String, StringList, SecureString); "" for a
                      secret (ssm.h fills the rest the same way: its version as text) */
};

/* The engine's view of ctx (shared with ssm.c, which takes the same context). */
void sm_aws_ctx(const struct sm_ctx *ctx, struct aws_ctx *a);

/* The Secrets Manager service row (for aws_endpoint_url and tests). */
extern const struct aws_service sm_service;

/* The region a reference is fetched from: its own (a full ARN's, or a replica's from
 * ref_replica), else ctx->region. */
const char *sm_region_for(const struct sm_ctx *ctx, const struct ref *ref);

/* GetSecretValue for ref (secret id, version stage, version id). out is owned by the caller
 * (sm_secret_free). err names the secret and the fix; never a value. */
enum inj_rc sm_get_secret_value(const struct sm_ctx *ctx, const struct ref *ref,
                                struct sm_secret *out, struct inj_err *err);
void sm_secret_free(struct sm_secret *s);

/* Parses a GetSecretValue 200 response body into *out (owned; sm_secret_free even on
 * failure). Separate for the fuzz harness (tests/fuzz/fuzz_sm_parse.c). */
enum inj_rc sm_parse_value(const struct http_resp *resp, const char *id, struct sm_secret *out,
                           struct inj_err *err);

/* DescribeSecret metadata: which version carries which staging labels. No secret value. */
struct sm_version_stages {
    char *version_id;
    char stages[128]; /* comma-separated */
};

struct sm_meta {
    char *arn;
    struct sm_version_stages *v; /* VersionIdsToStages (versions with no label are omitted) */
    size_t n;
    int denied; /* the call was refused for lack of permission (an error of a
                                  refused kind, awserr.h; set even on failure) */
};

/* DescribeSecret for ref->secret_id (the cheap change check: secretsmanager:DescribeSecret,
 * no kms:Decrypt). out is owned by the caller (sm_meta_free, also after a failure). */
enum inj_rc sm_describe_secret(const struct sm_ctx *ctx, const struct ref *ref, struct sm_meta *out,
                               struct inj_err *err);
void sm_meta_free(struct sm_meta *m);

/* A failed secret's error, out of line: allocated by its first failure, so that the items
 * and fetches of a start (100 of each at N=100) do not each carry 1.7 KB that only a failure
 * writes. */
struct sm_fail {
    struct inj_err err;        /* names the secret and the fix, as sm_get_secret_value's */
    char cause[AWS_CAUSE_MAX]; /* err without the secret's name nor AWS's message: entries
                                  with the same kind and cause failed alike ("" : unique) */
};

/* The error to fill for a failure: *slot's, allocated on first use (zeroed). Out of memory,
 * it is a scratch one that nothing reads, *slot stays NULL and sm_fail_msg says "out of
 * memory". */
struct inj_err *sm_fail_err(struct sm_fail **slot);
/* The cause buffer (AWS_CAUSE_MAX bytes) of *slot, allocated as sm_fail_err does. */
char *sm_fail_cause(struct sm_fail **slot);
/* Returns rc; a failure (rc != INJ_OK) keeps e, its error, in *slot (as sm_fail_err). For
 * calls that fill an error only when they fail: the error is allocated only then. */
enum inj_rc sm_fail_keep(struct sm_fail **slot, enum inj_rc rc, const struct inj_err *e);
/* Readers: f's message ("out of memory" when f is NULL), cause ("" when NULL) and IAM
 * action (NULL). */
const char *sm_fail_msg(const struct sm_fail *f);
const char *sm_fail_why(const struct sm_fail *f);
const char *sm_fail_action(const struct sm_fail *f);
void sm_fail_free(struct sm_fail **slot);

/* One secret of a many-at-once fetch and its outcome. */
struct sm_item {
    const struct ref *ref;   /* borrowed */
    long long deadline_ms;   /* this secret's own deadline (its share of --timeout when it
                                 has failover regions); 0: ctx->deadline_ms */
    struct sm_secret secret; /* owned on INJ_OK (sm_secret_free), empty otherwise */
    enum inj_rc rc;
    struct sm_fail *fail; /* owned (sm_fail_free): set by a failure, NULL while none (or when
                             out of memory); names ref->secret_id and the fix */
    enum aws_kind kind;   /* the error answer's kind; AWS_K_NONE for other failures */
    int region_down;      /* failed because the region is down (unreachable, timing out,
                                 5xx after every attempt, out of time): a replica may answer */
};

/* Why a BatchGetSecretValue call failed as a whole: what GetSecretValue may do instead. */
enum sm_batch_fail {
    SM_BATCH_FAILED = 0,  /* GetSecretValue would fail the same way (network, auth) */
    SM_BATCH_DENIED,      /* AccessDenied: the role lacks secretsmanager:BatchGetSecretValue */
    SM_BATCH_THROTTLED,   /* the batch quota is exhausted */
    SM_BATCH_UNSUPPORTED, /* the endpoint does not know the action or refuses the list */
};

/* One BatchGetSecretValue call for items[0..n) (1 <= n <= SM_BATCH_MAX; AWSCURRENT secrets
 * of one region, sm_region_for items[0].ref). Every item gets its outcome: its value, its own
 * error from the answer's Errors (worded as GetSecretValue's), or the call's failure. Returns
 * INJ_OK when the call itself succeeded; otherwise *why classifies the failure. spare_quota:
 * a throttled call is not retried (to spare the batch quota) but fails with
 * SM_BATCH_THROTTLED at once. */
enum inj_rc sm_batch_get_secret_value(const struct sm_ctx *ctx, struct sm_item *items, size_t n,
                                      int spare_quota, enum sm_batch_fail *why);

/* One BatchGetSecretValue call of sm_batch_get_secret_values and its outcome. */
struct sm_batch {
    struct sm_item *items; /* borrowed: 1..SM_BATCH_MAX AWSCURRENT secrets of one region */
    size_t n;
    enum inj_rc rc;         /* as sm_batch_get_secret_value returns */
    enum sm_batch_fail why; /* when rc != INJ_OK */
};

/* The calls b[0..nb) at once over at most conns connections (a call of them ends as
 * sm_batch_get_secret_value ends it; a throttle of one does not stop the others, which are
 * already on their way). */
void sm_batch_get_secret_values(const struct sm_ctx *ctx, struct sm_batch *b, size_t nb,
                                size_t conns, int spare_quota);

/* Spreads a BatchGetSecretValue 200 answer over items[0..n) (n <= SM_BATCH_MAX; their refs
 * set): SecretValues by ARN, name or partial ARN, Errors by SecretId, the rest "answered
 * neither". Returns INJ_OK unless the answer as a whole is unusable (each item then carries
 * that). Items that failed hold no secret. Separate for the fuzz harness and unit tests. */
enum inj_rc sm_parse_batch(const struct sm_ctx *ctx, const char *region,
                           const struct http_resp *resp, struct sm_item *items, size_t n);

/* GetSecretValue for each of items[0..n), concurrently over at most conns connections; each
 * call retries on its own as sm_get_secret_value does and ends the same way. */
void sm_get_secret_values(const struct sm_ctx *ctx, struct sm_item *items, size_t n, size_t conns);
/* ---- Secrets by name prefix or tags: BatchGetSecretValue with Filters ------------------ */

/* A filtered BatchGetSecretValue page holds at most 20 secrets (MaxResults). */
#define SM_FILTER_PAGE 20

/* One page of a filtered read (ref->path on a REF_SM ref, ssm.h's ssm_get_paths reads every
 * page): its input and what its answer adds. */
struct cJSON;
struct sm_filter_page {
    const struct sm_ctx *ctx; /* borrowed: for the wording of the answer's Errors */
    const char *region;
    const struct ref *ref; /* borrowed: secret_id the name prefix ("" for tags alone), tags */
    const char *label;     /* the read in messages: "secrets prod/app/..." */
    const char *token;     /* borrowed: the NextToken to send; NULL: the first page */
    struct cJSON *acc;     /* borrowed: the secrets so far, [{"k": KEY, "v": VALUE, "n":
                              VERSIONID, "s": NAME}] */
    struct cJSON *listed;  /* borrowed: sm_list_op's exact matches so far, [{"s": NAME, "a":
                              ARN}]; NULL for sm_filter_op */
    struct cJSON *retry;   /* borrowed: sm_filter_op's secrets that the answer's Errors gave a
                              throttle or an internal error, [{"a": SECRETID}], to be read by id
                              after the last page; NULL: such an error fails the read */
    char *next;            /* owned: the answer's NextToken; NULL: the last page */
};

/* BatchGetSecretValue with Filters [{name: PREFIX}, {tag-key: K}, {tag-value: V} per tag],
 * MaxResults 20, NextToken: in is a struct sm_filter_page, and so is out (parsed by
 * sm_parse_filter_page). Its IAM action is secretsmanager:BatchGetSecretValue; AWS also asks
 * for secretsmanager:ListSecrets when Filters are given (ssm.c words a denial with both).
 * Only for reads without tags: AWS matches tag-key and tag-value as independent prefixes. */
extern const struct aws_op sm_filter_op;

/* A read with tags lists its secrets first, to match the tags exactly (sm_list_op), then
 * reads the matches by ARN (sm_batch_get_secret_values, SM_BATCH_MAX a call). A ListSecrets
 * page holds at most 100 secrets (MaxResults), metadata only: up to 50 tags of 384 bytes and
 * a description each. */
#define SM_LIST_PAGE 100
#define SM_MAX_LIST_RESPONSE (4u * 1024u * 1024u)

/* ListSecrets with the same Filters, MaxResults 100, IncludePlannedDeletion false, NextToken:
 * in is a struct sm_filter_page, and so is out (parsed by sm_parse_list_page, into
 * pg->listed). Its IAM action is secretsmanager:ListSecrets. */
extern const struct aws_op sm_list_op;

/* One ListSecrets page's 200 answer: the secrets that carry every tag of pg->ref exactly (key
 * and value equal, case-sensitive; AWS's filters match prefixes, of keys and values apart)
 * appended to pg->listed as {"s": NAME, "a": ARN}, the NextToken into pg->next.
 * A match whose name does not start with the prefix, or is the prefix itself, fails the read
 * as sm_parse_filter_page fails it; so does a malformed answer. Tag values are never in a
 * message. Separate for the fuzz harness and unit tests. */
enum inj_rc sm_parse_list_page(struct sm_filter_page *pg, const struct http_resp *resp,
                               struct inj_err *err);

/* A secret read by ARN for a read with tags into pg->acc as sm_parse_filter_page adds one:
 * the key of sec->name below the prefix, not a SecretBinary that is not text. err names the
 * secret, never a value. */
enum inj_rc sm_filter_keep(const struct sm_filter_page *pg, const struct sm_secret *sec,
                           struct inj_err *err);

/* The key of the secret name read by prefix: the name after the prefix, its leading '/'
 * dropped ("prod/app/" or "prod/app" and "prod/app/db/password": "db/password"), borrowed
 * from name; the whole name for the empty prefix (tags alone); NULL when name does not start
 * with prefix or nothing is left. */
const char *sm_filter_key(const char *prefix, const char *name);

/* One filtered page's 200 answer into pg->acc and pg->next. A secret whose name does not start
 * with the prefix, an Errors item (worded as GetSecretValue's, naming the secret), a NUL in a
 * value, or a SecretBinary that is not UTF-8 text fails the whole read (err names the
 * secret, never a value). Separate for the fuzz harness and unit tests. */
enum inj_rc sm_parse_filter_page(struct sm_filter_page *pg, const struct http_resp *resp,
                                 struct inj_err *err);

/* sm_get_secret_values in two halves, so that fetch.c can run these calls in one aws_run
 * with another service's: sm_get_calls prepares calls[0..n) (a = sm_aws_ctx of ctx) and
 * resets the items; sm_get_finish moves each call's outcome into its item and frees it. */
void sm_get_calls(const struct sm_ctx *ctx, const struct aws_ctx *a, struct sm_item *items,
                  size_t n, struct aws_call *calls);
void sm_get_finish(const struct aws_ctx *a, struct sm_item *items, size_t n,
                   struct aws_call *calls);

#endif
