/* creds_int.h: what the credential providers (creds*.c) share: the provider table entry,
 * outcomes, helpers, and the parsers the unit tests reach. Not for other modules. */
#ifndef INJ_CREDS_INT_H
#define INJ_CREDS_INT_H

#include <stddef.h>
#include <time.h>

#include "creds.h"
#include "err.h"
#include "sbuf.h"

struct http_req;
struct http_resp;

/* aws-c-auth moves on after any failure; we stop at a source that is configured but broken
 * (CREDS_FAILED) rather than quietly fall through to, say, the instance role. */
enum creds_status { CREDS_OK = 0, CREDS_NOT_HERE, CREDS_FAILED };

/* One provider's outcome, for the chain's message. */
struct creds_try {
    char label[96];     /* the provider name, preset by the chain; a provider may refine it
                           (`profile "dev"`) */
    struct inj_err why; /* NOT_HERE: why it was skipped; FAILED: what broke, and the code
                           (INJ_E_NOPERM, or INJ_E_NOMEM). Never a key or token. */
};

struct creds_provider {
    const char *name;
    enum creds_status (*get)(const struct creds_ctx *ctx, struct creds *out, struct creds_try *t);
};

#define CREDS_MAX_PROFILE_FILE (1024u * 1024u)
#define CREDS_MAX_TOKEN_FILE (64u * 1024u) /* STS takes web identity tokens <= 20000 */
#define CREDS_MAX_JSON (64u * 1024u)       /* credential_process, container, IMDS answers */
#define CREDS_MAX_STS (64u * 1024u)

/* --- creds.c: the chain and shared helpers --- */

/* The value of an environment variable, NULL when unset or empty (ctx->env or getenv). */
const char *creds_getenv(const struct creds_ctx *ctx, const char *name);
/* 1 when the variable is "true" (any case), as the SDKs read boolean settings. */
int creds_env_true(const struct creds_ctx *ctx, const char *name);

/* Set t->why and return the status. fmt is ours, never input. */
enum creds_status creds_skip(struct creds_try *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
enum creds_status creds_fail(struct creds_try *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Same, with the exit code the failure deserves (network: INJ_E_UNAVAILABLE, throttled or
 * timed out: INJ_E_TEMPFAIL, a broken file: INJ_E_CONFIG); creds_fail means INJ_E_NOPERM. */
enum creds_status creds_fail_code(struct creds_try *t, enum inj_rc code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
enum creds_status creds_nomem(struct creds_try *t);

/* Copies id/secret/token (token may be NULL) into *out and names the source. Values must be
 * non-empty printable ASCII without spaces (they go into HTTP headers); exp 0: no expiry, an
 * expiry at or before `now` fails. `what` names the origin in messages ("container answer"). */
enum creds_status creds_set(struct creds *out, const char *id, const char *secret,
                            const char *token, time_t exp, time_t now, const char *source,
                            const char *what, struct creds_try *t);

/* ISO 8601 UTC ("2024-05-01T12:00:00Z", fractions and +hh:mm offsets allowed) -> epoch.
 * Returns 0, or -1 when s is not such a time. */
int creds_parse_time(const char *s, time_t *out);

/* Trims ASCII whitespace from both ends of s in place; returns the first non-space byte. */
char *creds_trim(char *s);

enum creds_json_kind {
    CREDS_JSON_PROCESS,   /* credential_process: Version 1, SessionToken */
    CREDS_JSON_CONTAINER, /* ECS / EKS Pod Identity: Token */
    CREDS_JSON_IMDS,      /* IMDS: Token, Code "Success" */
};

/* Parses a credentials JSON document into *out (what: "credential_process output", for
 * messages). Wipes every copy it makes. */
enum creds_status creds_parse_json(const unsigned char *buf, size_t len, enum creds_json_kind kind,
                                   time_t now, const char *source, const char *what,
                                   struct creds *out, struct creds_try *t);

/* The chain's one message from tries[0..n): failed < 0 when every source was skipped, else
 * the index of the one that failed. Returns the code set in err. */
enum inj_rc creds_chain_message(const struct creds_try *tries, size_t n, int failed,
                                struct inj_err *err);

/* Bounded pause between retries (EINTR-safe). */
/* The end of messages about running out of time. */
#define DEADLINE_WHY "(deadline: --timeout, or a refresh cycle's 10 s)"
/* want_ms cut to what is left before ctx->deadline_ms (want_ms when there is none); 0 when
 * the deadline has passed. */
long creds_time_left_ms(const struct creds_ctx *ctx, long want_ms);
/* Sets req's timeouts to want_ms / connect_ms (0: http's default) cut to the deadline;
 * 0 when no time is left. */
int creds_req_time(const struct creds_ctx *ctx, struct http_req *req, long want_ms,
                   long connect_ms);

/* The retry rules of one credentials endpoint (container, IMDS, STS). */
struct creds_retry {
    const char *what; /* for the debug log: "IMDS PUT /latest/api/token" */
    int attempts;     /* at most this many requests */
    long timeout_ms;  /* per attempt; cut to ctx->deadline_ms */
    long connect_ms;  /* per attempt (0: http's default); cut to the deadline */
    long backoff_ms;  /* pause after attempt n: backoff_ms * n, or backoff_ms << n when
                             doubling; 0: none. Cut to the deadline. */
    int doubling;
    /* 1 when an answer should be asked again; NULL: HTTP 5xx. */
    int (*retry)(const struct http_resp *resp);
};

/* Sends req (its timeouts are set here) until an answer the rules do not retry, a transport
 * failure http does not call retryable, or the attempts run out. *tries: requests sent.
 * INJ_OK: *resp is the last answer (perhaps a retryable status once attempts ran out).
 * Else e holds the last transport failure and its code (INJ_E_NOMEM included), or, with
 * *no_time set and INJ_E_TEMPFAIL returned, the deadline left no time for attempt
 * *tries + 1 and e still holds the failure before it (msg "" when there was none). */
enum inj_rc creds_http_retry(const struct creds_ctx *ctx, const struct creds_retry *rr,
                             struct http_req *req, struct http_resp *resp, struct inj_err *e,
                             int *tries, int *no_time);

/* --- providers --- */
enum creds_status creds_env_get(const struct creds_ctx *ctx, struct creds *out,
                                struct creds_try *t);
enum creds_status creds_webid_get(const struct creds_ctx *ctx, struct creds *out,
                                  struct creds_try *t);
enum creds_status creds_profile_get(const struct creds_ctx *ctx, struct creds *out,
                                    struct creds_try *t);
enum creds_status creds_ecs_get(const struct creds_ctx *ctx, struct creds *out,
                                struct creds_try *t);
enum creds_status creds_imds_get(const struct creds_ctx *ctx, struct creds *out,
                                 struct creds_try *t);

/* --- STS (creds_webid.c) --- */
struct creds_role {
    const char *role_arn;
    const char *session_name; /* NULL: "injector-<unix time>" */
    const char *external_id;  /* AssumeRole only; may be NULL */
    long duration_s;          /* 0: the service default (1 h) */
};

/* The STS endpoint: AWS_ENDPOINT_URL_STS, then AWS_ENDPOINT_URL (https only, unless
 * AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true), else https://<ref_endpoint_host of "sts" in
 * REGION with creds_endpoint_opts' variants>/, else without a region the global
 * https://sts.amazonaws.com/ (with a variant: us-east-1's). sign_region gets the SigV4
 * region ("us-east-1" for the global endpoint). */
enum creds_status creds_sts_endpoint(const struct creds_ctx *ctx, char *url, size_t n,
                                     char *sign_region, size_t rn, struct creds_try *t);

/* AssumeRoleWithWebIdentity (unsigned) with the token read from token_file now. */
enum creds_status creds_sts_web_identity(const struct creds_ctx *ctx, const struct creds_role *r,
                                         const char *token_file, const char *source,
                                         struct creds *out, struct creds_try *t);
/* AssumeRole signed with src. */
enum creds_status creds_sts_assume_role(const struct creds_ctx *ctx, const struct creds_role *r,
                                        const struct creds *src, const char *source,
                                        struct creds *out, struct creds_try *t);

/* --- shared config/credentials files (creds_profile.c) --- */
struct creds_ini_kv {
    const char *key; /* lower-cased, as botocore's ConfigParser does */
    const char *value;
    unsigned long line;
    int continued; /* indented lines followed: a nested (sub-)section, not a string */
};

struct creds_ini_sec {
    const char *name; /* the profile name ("dev" for [profile dev] in the config file) */
    size_t first;     /* kv[first .. first + n) */
    size_t n;
    unsigned long line;
    int is_profile; /* config file: [default] or [profile NAME]; credentials: all */
    int prefixed;   /* written as [profile NAME] */
};

struct creds_ini {
    char *buf; /* the file's bytes, split in place; may hold keys: wiped on free */
    size_t buf_len;
    struct creds_ini_sec *sec;
    size_t nsec;
    struct creds_ini_kv *kv;
    size_t nkv;
};

/* Parses an INI file the way botocore does (sections, `key = value` or `key: value`, # and ;
 * comment lines, indented continuation lines, duplicate sections or keys are errors).
 * config_file: section names are "default" and "profile NAME". Errors name the line, never
 * its text (it may be a key). */
enum inj_rc creds_ini_parse(const char *data, size_t len, int config_file, struct creds_ini *out,
                            struct inj_err *err);
/* The profile's section, or NULL. */
const struct creds_ini_sec *creds_ini_profile(const struct creds_ini *ini, const char *name);
/* A key's string value in s (NULL when absent, empty or nested). s may be NULL. */
const char *creds_ini_get(const struct creds_ini *ini, const struct creds_ini_sec *s,
                          const char *key);
void creds_ini_free(struct creds_ini *ini);

/* The active profile's `region` (either file), or "" (creds_region_fallback's first step). */
void creds_profile_region(const struct creds_ctx *ctx, char *buf, size_t n);

/* --- credential_process (creds_process.c) --- */

/* Splits cmd into words as botocore does (Python's shlex.split, POSIX mode): whitespace
 * separates, '...' is literal, "..." keeps \" \\ \$ \` escapes, a backslash outside quotes
 * escapes the next character. No globbing, no variables. *argv is NULL-terminated and owned
 * (creds_argv_free). INJ_E_CONFIG on an unclosed quote or a trailing backslash. */
enum inj_rc creds_split_command(const char *cmd, char ***argv, struct inj_err *err);
void creds_argv_free(char **argv);

/* Runs cmd (no shell), reads its stdout (<= CREDS_MAX_JSON, within the timeout from
 * INJECTOR_CREDENTIAL_PROCESS_TIMEOUT, default 60 s) and parses the Version 1 JSON. */
enum creds_status creds_process_get(const struct creds_ctx *ctx, const char *cmd,
                                    const char *source, struct creds *out, struct creds_try *t);

/* --- container (creds_ecs.c) --- */

/* 1 when a FULL_URI may be used: https, or http to loopback (127.0.0.0/8, ::1, localhost),
 * the ECS address 169.254.170.2 or the EKS Pod Identity addresses 169.254.170.23 and
 * fd00:ec2::23. Else 0, with why filled. */
int creds_ecs_uri_allowed(const char *uri, char *why, size_t n);

/* --- IMDS (creds_imds.c) --- */

/* The placement region from IMDS into buf, or "" when IMDS is off or does not answer. */
void creds_imds_region(const struct creds_ctx *ctx, char *buf, size_t n);

#endif
