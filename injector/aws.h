/* aws.h: the one AWS client engine: build a request from a service row and an operation row,
 * sign it (SigV4), send it (many at once over the shared connection pool), classify the
 * answer (awserr.h) and retry as AWS's standard and legacy retry modes do (AWS_MAX_ATTEMPTS,
 * full-jitter backoff, the --timeout deadline). It knows no operation: a service module
 * (sm.c) is a service row, operation rows, request bodies and response parsers. */
#ifndef INJ_AWS_H
#define INJ_AWS_H

#include <stddef.h>

#include "awserr.h"
#include "err.h"
#include "http.h"

struct creds;

/* The most a failure's cause (aws_call_error) takes. */
#define AWS_CAUSE_MAX 640

/* A wire protocol, as data. JSON 1.1: POST, Content-Type application/x-amz-json-1.1,
 * X-Amz-Target: PREFIX.Action. (Query, for STS later: form body with Action and Version,
 * no target header; the error reader already takes its XML.) */
struct aws_protocol {
    const char *content_type; /* "Content-Type: ..." header line */
    int target_header;        /* sends X-Amz-Target: <target_prefix>.<action> */
};

extern const struct aws_protocol aws_json_1_1;

/* A service: everything the engine needs to reach and name it. */
struct aws_service {
    const char *name;          /* for messages: "Secrets Manager" */
    const char *signing_name;  /* SigV4 service: "secretsmanager" */
    const char *host_prefix;   /* https://<host_prefix>.REGION.<DNS suffix> */
    const char *endpoint_env;  /* its own endpoint variable: "AWS_ENDPOINT_URL_SECRETS_MANAGER" */
    const char *target_prefix; /* JSON: X-Amz-Target prefix ("secretsmanager", "AmazonSSM") */
    const struct aws_protocol *proto;
    /* The service's own words in the fixes (awserr.c aws_fault_cause). */
    const char *not_found_hint;   /* what to check: "the name or ARN, the version ..." */
    const char *bad_request_hint; /* why a valid request is refused: "is it scheduled ..." */
};

/* An operation: one row of a service module's table. */
struct aws_op {
    const char *action;     /* "GetSecretValue" */
    const char *iam_action; /* "secretsmanager:GetSecretValue", for "grant ..." */
    size_t max_response;    /* a larger answer is refused */
    /* The request body for in (the operation's own input type), malloc'd; NULL: no memory. */
    char *(*build)(const void *in);
    /* A 200 answer into out (the operation's own output type); err names id. */
    enum inj_rc (*parse)(const struct http_resp *resp, const char *id, void *out,
                         struct inj_err *err);
    int decrypts; /* it returns values: a denial may also be kms:Decrypt's */
};

/* The seam under the engine: performs calls[0..n) at most conns at once (http_do_many in
 * production; unit tests answer from canned responses). */
typedef enum inj_rc (*aws_transport_fn)(void *arg, struct http_call *calls, size_t n, size_t conns);

/* AWS_RETRY_MODE. */
enum aws_retry_mode { AWS_RETRY_STANDARD, AWS_RETRY_ADAPTIVE, AWS_RETRY_LEGACY };

/* adaptive mode's client-side rate limiter, as the SDKs' (botocore retries/adaptive.py and
 * bucket.py): off until the first throttle, then every attempt takes a token from a bucket
 * whose fill rate follows CUBIC: cut to 70% of the measured send rate at each throttle,
 * grown back along a cubic curve after. Times are mono_ms() milliseconds. */
struct aws_limiter {
    int enabled;
    double fill_rate; /* tokens per second */
    double max_capacity;
    double tokens;         /* may go below 0: tokens promised to attempts still waiting */
    long long last_refill; /* 0: never */
    double last_max_rate;  /* CUBIC's W_max */
    long long last_throttle;
    double time_window;    /* CUBIC's K, seconds */
    double measured_rate;  /* smoothed send rate, per second */
    long long rate_bucket; /* the half second being counted, in ms; 0: none yet */
    double rate_count;
};

/* How the calls of a context retry (aws_retry_init), shared by them: adaptive mode's limiter
 * lives here. Per context, for any service. */
struct aws_retry {
    enum aws_retry_mode mode;
    int max_attempts;     /* attempts for a retryable error that is not a throttle */
    int throttle_bounded; /* throttles count against max_attempts too, even with a deadline
                             (refresh: its next cycle is the retry) */
    struct aws_limiter limiter;
    /* The jitter's random source: NULL, RAND_bytes (the simulator's is seeded). */
    unsigned int (*rand)(void *arg);
    void *rand_arg;
};

struct aws_ctx {
    struct http *http;          /* borrowed; the transport's argument when transport is NULL */
    const struct creds *creds;  /* borrowed */
    int max_attempts;           /* >= 1; throttles: until the call's deadline (aws_retry) */
    struct aws_retry *retry;    /* borrowed, updated; NULL: standard mode, RAND_bytes jitter */
    long timeout_ms;            /* per attempt; 0: 10 s */
    long long deadline_ms;      /* mono_ms() after which no attempt starts; 0: none */
    aws_transport_fn transport; /* NULL: http_do_many on http */
    void *transport_arg;
};

/* How a call ended, before its error is worded for a particular name. */
enum aws_end { AWS_PENDING, AWS_OK, AWS_SETUP, AWS_TRANSPORT, AWS_FAULT, AWS_DEADLINE };

struct aws_call {
    /* Set by aws_call_init. */
    const struct aws_service *svc;
    const struct aws_op *op;
    const char *region;
    const char *id;        /* what the call is for, in log lines */
    char *body;            /* owned (free) */
    long long deadline_ms; /* no attempt starts after it; 0: none */
    int spare_throttle;    /* a throttle ends the call instead of being retried */
    int throttles;         /* attempts answered with a throttle */
    /* The outcome. */
    enum aws_end end;
    enum inj_rc rc;
    int attempts;
    int last_down;          /* the last attempt failed as a region that is down does */
    struct http_resp resp;  /* AWS_OK: the 200 answer (owned) */
    struct aws_fault fault; /* AWS_FAULT */
    struct inj_err err;     /* AWS_SETUP / AWS_TRANSPORT: what failed (no id) */
    /* The engine's. */
    char url[512];
    char sigv4[96];
    char target[128];
    const char *headers[3];
    struct http_req req;
    long long ready_ms;
    int has_token; /* adaptive mode: the next attempt's token is taken */
};

/* AWS_RETRY_MODE (standard: 3 attempts, adaptive: 3 and the client-side rate limiter,
 * legacy: 5) and AWS_MAX_ATTEMPTS (1 to 20) -> *max_attempts. The attempts bound every
 * retryable error but throttles: a call with a deadline retries those until its deadline. */
enum inj_rc aws_retry_config(int *max_attempts, struct inj_err *err);

/* r from the same variables: mode, max_attempts, a fresh limiter, RAND_bytes jitter. */
enum inj_rc aws_retry_init(struct aws_retry *r, struct inj_err *err);

/* The wait before retry number attempt (1 = the first retry): full jitter, uniform in
 * [0, min(2^(attempt-1) s, 20 s)], as AWS standard retry mode. */
long aws_backoff_ms(int attempt);

/* The endpoint variants every service's default endpoint takes from now on (FIPS,
 * dual-stack: creds_endpoint_opts reads them as the SDKs do). Process-wide: main sets them
 * once, before any call. */
void aws_set_endpoint_opts(int fips, int dualstack);

/* The jitter ceiling of a throttled call's retry number attempt with left_ms before its last
 * attempt must start: the standard ceiling (1 s, 2 s, 4 s ... 20 s), at most an eighth of
 * left_ms, so that starts that have waited long for a shared quota ask more often than fresh
 * ones. */
long aws_throttle_ceiling_ms(int attempt, long long left_ms);

/* The same from r's random source (r may be NULL). */
long aws_retry_backoff_ms(const struct aws_retry *r, int attempt);

/* adaptive mode, before an attempt at now: takes a token; returns how long the attempt must
 * wait for it (0: send now). Nothing while the limiter is off. */
long aws_limiter_take(struct aws_limiter *l, long long now);

/* adaptive mode, after an attempt's answer at now: throttled or not. */
void aws_limiter_update(struct aws_limiter *l, long long now, int throttled);

/* The endpoint URL of svc in region: svc->endpoint_env, then AWS_ENDPOINT_URL (both ignored
 * when AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true), then https://<ref_endpoint_host of
 * svc->host_prefix in region with the variants set by aws_set_endpoint_opts>. An endpoint
 * URL wins over the variants. Only https. INJ_E_USAGE for a variant the region's partition
 * does not have. */
enum inj_rc aws_endpoint_url(const struct aws_service *svc, const char *region, char *buf, size_t n,
                             struct inj_err *err);

/* Prepares c for svc/op in region with the body op->build makes of in. A failure leaves c
 * ended AWS_SETUP with c->err set (without id). */
void aws_call_init(struct aws_call *c, const struct aws_ctx *ctx, const struct aws_service *svc,
                   const struct aws_op *op, const char *region, const char *id, const void *in,
                   long long deadline_ms);
void aws_call_free(struct aws_call *c);

/* c ended AWS_OK: its answer through its operation's parser into out. */
enum inj_rc aws_call_parse(const struct aws_call *c, const char *id, void *out,
                           struct inj_err *err);

/* Runs every pending call of calls[0..n) to its end, at most conns at once, each with its
 * own retries and backoff (a call waiting for its backoff does not hold up the others).
 * A single call is n = 1. */
void aws_run(const struct aws_ctx *ctx, struct aws_call *calls, size_t n, size_t conns);

/* The values no server text may print back for ctx (its secret key and session token), as
 * awserr.h's aws_known: keys is the storage *out points into. */
void aws_ctx_known(const struct aws_ctx *ctx, const char *keys[2], struct aws_known *out);

/* c's failure worded for name, as "NAME: cause (AWS: message)"; the cause (without the
 * name or the service's message) also into cause[0..ncause) when cause is not NULL, for
 * grouping the entries that fail alike. Returns the error's code. */
enum inj_rc aws_call_error(const struct aws_ctx *ctx, const struct aws_call *c, const char *name,
                           struct inj_err *err, char *cause, size_t ncause);

/* An error answer f worded for name as aws_call_error does, with op's IAM action (a batch's
 * per-item errors are worded as the single call's) after attempts attempts. */
enum inj_rc aws_fault_error(const struct aws_ctx *ctx, const struct aws_service *svc,
                            const struct aws_op *op, const char *region, const struct aws_fault *f,
                            int attempts, const char *name, struct inj_err *err, char *cause,
                            size_t ncause);

/* Did c fail because its region is down (unreachable, timing out, 5xx after every attempt,
 * out of time after such a failure)? Then a replica may answer. */
int aws_call_region_down(const struct aws_call *c);

#endif
