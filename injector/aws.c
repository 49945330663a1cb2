/* aws.c: the one AWS client engine: request building from service and operation rows,
 * standard/legacy-mode retries for many calls at once, and the wording of their failures. */
#include "aws.h"

#include <errno.h>
#include <math.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "creds.h"
#include "log.h"
#include "mono.h"
#include "ref.h"

#define AWS_BACKOFF_CAP_MS 20000L
#define AWS_DEFAULT_TIMEOUT_MS 10000L
/* A throttled call's last attempt starts this long before its deadline, at the latest. */
#define AWS_LAST_TRY_MS 1000L
/* A throttled call's backoff ceiling is at most the time left before that, divided by this. */
#define AWS_THROTTLE_SHARE 8

/* adaptive mode (botocore retries/adaptive.py, throttling.py, bucket.py). */
#define AWS_LIM_MIN_RATE 0.5   /* tokens per second, the slowest */
#define AWS_LIM_BETA 0.7       /* a throttle cuts the rate to this share */
#define AWS_LIM_SCALE 0.4      /* CUBIC's C */
#define AWS_LIM_SMOOTH 0.8     /* the measured rate's smoothing */
#define AWS_LIM_BUCKET_MS 500  /* the measured rate's time buckets */
#define AWS_LIM_MAX_ADJUST 2.0 /* the fill rate is at most this times the measured rate */

const struct aws_protocol aws_json_1_1 = {
    "Content-Type: application/x-amz-json-1.1",
    1,
};

enum inj_rc aws_retry_config(int *max_attempts, struct inj_err *err)
{
    const char *mode = getenv("AWS_RETRY_MODE");
    const char *v = getenv("AWS_MAX_ATTEMPTS");
    char *end = NULL;
    long n;

    *max_attempts = 3;
    if (mode && *mode) {
        if (!strcmp(mode, "legacy"))
            *max_attempts = 5;
        else if (strcmp(mode, "standard") != 0 && strcmp(mode, "adaptive") != 0)
            return inj_err_set(err, INJ_E_USAGE,
                               "AWS_RETRY_MODE=%s: expected standard, adaptive or legacy", mode);
    }
    if (v && *v) {
        errno = 0;
        n = strtol(v, &end, 10);
        if (errno || *end || n < 1 || n > 20)
            return inj_err_set(err, INJ_E_USAGE, "AWS_MAX_ATTEMPTS=%s: expected 1 to 20", v);
        *max_attempts = (int)n;
    }
    return INJ_OK;
}

enum inj_rc aws_retry_init(struct aws_retry *r, struct inj_err *err)
{
    const char *mode = getenv("AWS_RETRY_MODE");
    enum inj_rc rc;

    memset(r, 0, sizeof(*r));
    rc = aws_retry_config(&r->max_attempts, err);
    if (rc != INJ_OK)
        return rc;
    if (mode && !strcmp(mode, "adaptive"))
        r->mode = AWS_RETRY_ADAPTIVE;
    else if (mode && !strcmp(mode, "legacy"))
        r->mode = AWS_RETRY_LEGACY;
    return INJ_OK;
}

/* Uniform in [0, ceiling]: the jitter of every backoff. */
static long aws_jitter_ms(const struct aws_retry *rp, long ceiling)
{
    unsigned int r = 0;

    if (rp && rp->rand)
        r = rp->rand(rp->rand_arg);
    else if (RAND_bytes((unsigned char *)&r, (int)sizeof(r)) != 1)
        r = (unsigned int)time(NULL);
    return (long)(r % (unsigned int)(ceiling + 1));
}

/* The full-jitter ceiling of retry number attempt: 1 s, 2 s, 4 s ... AWS_BACKOFF_CAP_MS. */
static long aws_backoff_ceiling_ms(int attempt)
{
    long ceiling = 1000L;
    int i;

    for (i = 1; i < attempt && ceiling < AWS_BACKOFF_CAP_MS; i++)
        ceiling *= 2;
    return ceiling > AWS_BACKOFF_CAP_MS ? AWS_BACKOFF_CAP_MS : ceiling;
}

long aws_throttle_ceiling_ms(int attempt, long long left_ms)
{
    long ceiling = aws_backoff_ceiling_ms(attempt);

    /* Near its deadline a call asks more often. Starts that share a quota (an account's,
     * fleet-wide) are not served in order, and exponential backoff favours the fresh ones
     * (short backoffs) over those that have waited long; capping the wait at a share of the
     * time left turns that around, so a start that has waited long is not the one that fails
     * (make bench-storm's SSM run: docs/throttling.md). */
    if (left_ms < 0)
        left_ms = 0;
    if (ceiling > left_ms / AWS_THROTTLE_SHARE)
        ceiling = (long)(left_ms / AWS_THROTTLE_SHARE);
    return ceiling;
}

long aws_retry_backoff_ms(const struct aws_retry *rp, int attempt)
{
    return aws_jitter_ms(rp, aws_backoff_ceiling_ms(attempt));
}

/* Set once by main before any call (aws_set_endpoint_opts). */
static struct ref_endpoint_opts aws_endpoint_opts;

void aws_set_endpoint_opts(int fips, int dualstack)
{
    aws_endpoint_opts.fips = fips;
    aws_endpoint_opts.dualstack = dualstack;
}

long aws_backoff_ms(int attempt)
{
    return aws_retry_backoff_ms(NULL, attempt);
}

static void aws_limiter_refill(struct aws_limiter *l, long long now)
{
    double t;

    if (!l->last_refill) {
        l->last_refill = now ? now : 1;
        return;
    }
    t = l->tokens + (double)(now - l->last_refill) / 1000.0 * l->fill_rate;
    l->tokens = t < l->max_capacity ? t : l->max_capacity;
    l->last_refill = now;
}

/* bucket.py TokenBucket.max_rate's setter. */
static void aws_limiter_set_rate(struct aws_limiter *l, long long now, double rate)
{
    aws_limiter_refill(l, now);
    l->fill_rate = rate > AWS_LIM_MIN_RATE ? rate : AWS_LIM_MIN_RATE;
    l->max_capacity = rate >= 1.0 ? rate : 1.0;
    if (l->tokens > l->max_capacity)
        l->tokens = l->max_capacity;
}

/* A limiter as botocore starts one: 1 token a second, CUBIC from 0.5 a second. */
static void aws_limiter_start(struct aws_limiter *l, long long now)
{
    if (l->fill_rate > 0.0)
        return;
    l->last_max_rate = AWS_LIM_MIN_RATE;
    l->last_throttle = now;
    l->time_window = cbrt(l->last_max_rate * (1.0 - AWS_LIM_BETA) / AWS_LIM_SCALE);
    l->rate_bucket = now / 1000 * 1000; /* RateClocker starts on a whole second */
    aws_limiter_set_rate(l, now, 1.0);
}

long aws_limiter_take(struct aws_limiter *l, long long now)
{
    aws_limiter_start(l, now); /* the first attempt: as botocore's client is created */
    if (!l->enabled)
        return 0;
    aws_limiter_refill(l, now);
    /* The token is promised now; an attempt that has to wait for it waits as long as
     * botocore's blocking acquire would, and those after it longer. */
    l->tokens -= 1.0;
    if (l->tokens >= 0.0)
        return 0;
    return (long)ceil(-l->tokens / l->fill_rate * 1000.0);
}

/* adaptive.py RateClocker.record: the smoothed send rate. */
static double aws_limiter_clock(struct aws_limiter *l, long long now)
{
    long long bucket = now / AWS_LIM_BUCKET_MS * AWS_LIM_BUCKET_MS;

    l->rate_count += 1.0;
    if (bucket > l->rate_bucket) {
        double rate = l->rate_count / ((double)(bucket - l->rate_bucket) / 1000.0);

        l->measured_rate = rate * AWS_LIM_SMOOTH + l->measured_rate * (1.0 - AWS_LIM_SMOOTH);
        l->rate_count = 0.0;
        l->rate_bucket = bucket;
    }
    return l->measured_rate;
}

void aws_limiter_update(struct aws_limiter *l, long long now, int throttled)
{
    double measured;
    double rate;

    aws_limiter_start(l, now);
    measured = aws_limiter_clock(l, now);
    if (!throttled) {
        /* throttling.py CubicCalculator.success_received */
        double dt = (double)(now - l->last_throttle) / 1000.0 - l->time_window;

        rate = AWS_LIM_SCALE * dt * dt * dt + l->last_max_rate;
    } else {
        double use = measured;

        if (l->enabled && l->fill_rate < use)
            use = l->fill_rate;
        l->last_max_rate = use;
        l->time_window = cbrt(use * (1.0 - AWS_LIM_BETA) / AWS_LIM_SCALE);
        l->last_throttle = now;
        rate = use * AWS_LIM_BETA;
        l->enabled = 1;
    }
    if (rate > AWS_LIM_MAX_ADJUST * measured)
        rate = AWS_LIM_MAX_ADJUST * measured;
    aws_limiter_set_rate(l, now, rate);
}

enum inj_rc aws_endpoint_url(const struct aws_service *svc, const char *region, char *buf, size_t n,
                             struct inj_err *err)
{
    const char *ignore = getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
    const char *v = NULL;
    int len;

    if (!ignore || strcasecmp(ignore, "true") != 0) {
        v = getenv(svc->endpoint_env);
        if (!v || !*v)
            v = getenv("AWS_ENDPOINT_URL");
    }
    if (v && *v) {
        /* TLS is not optional: an http:// endpoint would send the token and get the secret
         * in clear text. */
        if (strncmp(v, "https://", 8) != 0)
            return inj_err_set(err, INJ_E_USAGE, "endpoint %s: only https:// endpoints are allowed",
                               v);
        len = snprintf(buf, n, "%s", v);
    } else {
        if (!region || !*region)
            return inj_err_set(err, INJ_E_USAGE,
                               "no AWS region: set region in the config, --region, AWS_REGION "
                               "or use full ARNs");
        char host[256];
        enum inj_rc rc = ref_endpoint_host(svc->host_prefix, region, &aws_endpoint_opts, host,
                                           sizeof(host), err);

        if (rc != INJ_OK)
            return rc;
        len = snprintf(buf, n, "https://%s", host);
    }
    if (len < 0 || (size_t)len >= n)
        return inj_err_set(err, INJ_E_USAGE, "endpoint URL too long");
    return INJ_OK;
}

/* -v: the endpoint a service is reached at in a region, once per endpoint in a row. */
static void aws_log_endpoint(const struct aws_service *svc, const char *region, const char *url)
{
    static char last[512];

    if (!strcmp(last, url))
        return;
    (void)snprintf(last, sizeof(last), "%s", url);
    log_info("%s in %s: endpoint %s", svc->name, region, url);
}

void aws_call_free(struct aws_call *c)
{
    http_resp_free(&c->resp);
    free(c->body);
    c->body = NULL;
}

void aws_call_init(struct aws_call *c, const struct aws_ctx *ctx, const struct aws_service *svc,
                   const struct aws_op *op, const char *region, const char *id, const void *in,
                   long long deadline_ms)
{
    int n;

    c->svc = svc;
    c->op = op;
    c->region = region;
    c->id = id;
    c->body = op->build(in);
    c->deadline_ms = deadline_ms;
    c->end = AWS_SETUP;
    if (!c->body) {
        c->rc = inj_err_set(&c->err, INJ_E_NOMEM, "out of memory");
        return;
    }
    if (!region || !*region) {
        c->rc = inj_err_set(&c->err, INJ_E_USAGE,
                            "no AWS region: set region in the config, --region, AWS_REGION, or "
                            "use the full ARN");
        return;
    }
    c->rc = aws_endpoint_url(svc, region, c->url, sizeof(c->url), &c->err);
    if (c->rc != INJ_OK)
        return;
    aws_log_endpoint(svc, region, c->url);
    n = snprintf(c->sigv4, sizeof(c->sigv4), "aws:amz:%s:%s", region, svc->signing_name);
    if (n < 0 || (size_t)n >= sizeof(c->sigv4)) {
        c->rc = inj_err_set(&c->err, INJ_E_CONFIG, "region name too long");
        return;
    }
    n = 0;
    c->headers[n++] = svc->proto->content_type;
    if (svc->proto->target_header) {
        (void)snprintf(c->target, sizeof(c->target), "X-Amz-Target: %s.%s", svc->target_prefix,
                       op->action);
        c->headers[n++] = c->target;
    }
    c->headers[n] = NULL;
    c->req.method = "POST";
    c->req.url = c->url;
    c->req.headers = c->headers;
    c->req.body = c->body;
    c->req.body_len = strlen(c->body);
    c->req.sigv4 = c->sigv4;
    c->req.creds = ctx->creds;
    c->req.max_response = op->max_response;
    c->end = AWS_PENDING;
}

enum inj_rc aws_call_parse(const struct aws_call *c, const char *id, void *out, struct inj_err *err)
{
    return c->op->parse(&c->resp, id, out, err);
}

/* The attempt's timeout: the per-request one, cut to what is left of deadline (0: none).
 * Returns 0 when the deadline has passed. */
static long aws_attempt_timeout(const struct aws_ctx *ctx, long long deadline)
{
    long t = ctx->timeout_ms ? ctx->timeout_ms : AWS_DEFAULT_TIMEOUT_MS;
    long long left;

    if (!deadline)
        return t;
    left = deadline - mono_ms();
    if (left <= 0)
        return 0;
    return left < t ? (long)left : t;
}

/* adaptive mode: the limiter of ctx, NULL in the other modes. */
static struct aws_limiter *aws_limiter_of(const struct aws_ctx *ctx)
{
    if (!ctx->retry || ctx->retry->mode != AWS_RETRY_ADAPTIVE)
        return NULL;
    return &ctx->retry->limiter;
}

/* A throttled call with a deadline is retried until it: capped full-jitter backoff, the
 * last attempt at least AWS_LAST_TRY_MS before the deadline. Returns 0 when no attempt
 * fits any more. */
static int aws_throttle_retry(const struct aws_ctx *ctx, struct aws_call *c, long long now)
{
    long long last = c->deadline_ms - AWS_LAST_TRY_MS;

    if (now >= last)
        return 0;
    c->ready_ms = now + aws_jitter_ms(ctx->retry, aws_throttle_ceiling_ms(c->attempts, last - now));
    if (c->ready_ms > last)
        c->ready_ms = last;
    return 1;
}

/* Decides what an attempt's answer means for c: done, or another attempt after a backoff. */
static void aws_outcome(const struct aws_ctx *ctx, struct aws_call *c, enum inj_rc rc)
{
    struct aws_limiter *lim = aws_limiter_of(ctx);
    long long now = mono_ms();
    int throttle;

    /* A later attempt that timed out because the deadline left it under a second says
     * nothing new about the region (after throttles, say): the earlier verdict stands. */
    if (rc == INJ_OK)
        c->last_down = c->resp.status >= 500;
    else if (!(rc == INJ_E_TEMPFAIL && c->attempts > 1 && c->req.timeout_ms < 1000L))
        c->last_down = c->resp.retryable;
    if (rc != INJ_OK) {
        if (lim)
            aws_limiter_update(lim, now, 0);
        if (c->resp.retryable && c->attempts < ctx->max_attempts) {
            log_info("%s: %s; retrying (attempt %d of %d)", c->id, c->err.msg, c->attempts + 1,
                     ctx->max_attempts);
            c->ready_ms = now + aws_retry_backoff_ms(ctx->retry, c->attempts);
            return;
        }
        c->rc = rc;
        c->end = AWS_TRANSPORT;
        return;
    }
    if (c->resp.status == 200) {
        if (lim)
            aws_limiter_update(lim, now, 0);
        c->rc = INJ_OK;
        c->end = AWS_OK;
        return;
    }
    {
        const char *keys[2];
        struct aws_known known;

        aws_ctx_known(ctx, keys, &known);
        aws_parse_fault(&c->resp, &known, &c->fault);
    }
    sbuf_wipe_free(&c->resp.body);
    throttle = aws_kind_throttle(c->fault.kind);
    c->throttles += throttle;
    if (lim) {
        aws_limiter_update(lim, now, throttle);
        if (throttle)
            log_debug("%s: adaptive retry mode: the throttle cut the send rate to %.1f a second",
                      c->id, lim->fill_rate);
    }
    if (throttle && c->spare_throttle) {
        c->rc = INJ_E_UNAVAILABLE;
        c->end = AWS_FAULT;
        return;
    }
    /* A throttle says "not now", not "not at all": with a deadline, it is retried until it. */
    if (throttle && c->deadline_ms && !(ctx->retry && ctx->retry->throttle_bounded)) {
        if (aws_throttle_retry(ctx, c, now)) {
            log_info("%s: %s answered HTTP %ld %s; retrying (attempt %d, until the deadline)",
                     c->id, c->op->action, c->resp.status, c->fault.code, c->attempts + 1);
            return;
        }
        c->rc = INJ_E_TEMPFAIL;
        c->end = AWS_DEADLINE;
        return;
    } else if (aws_kind_retryable(c->fault.kind) && c->attempts < ctx->max_attempts) {
        log_info("%s: %s answered HTTP %ld %s; retrying (attempt %d of %d)", c->id, c->op->action,
                 c->resp.status, c->fault.code, c->attempts + 1, ctx->max_attempts);
        c->ready_ms = now + aws_retry_backoff_ms(ctx->retry, c->attempts);
        return;
    }
    c->rc = INJ_E_UNAVAILABLE;
    c->end = AWS_FAULT;
}

static enum inj_rc aws_transport(const struct aws_ctx *ctx, struct http_call *calls, size_t n,
                                 size_t conns)
{
    if (ctx->transport)
        return ctx->transport(ctx->transport_arg, calls, n, conns);
    return http_do_many(ctx->http, calls, n, conns);
}

void aws_run(const struct aws_ctx *ctx, struct aws_call *calls, size_t n, size_t conns)
{
    struct aws_limiter *lim = aws_limiter_of(ctx);
    struct http_call *hc = calloc(n ? n : 1, sizeof(*hc));
    size_t *idx = calloc(n ? n : 1, sizeof(*idx));
    long long now;
    long long wake;
    size_t i;
    size_t k;

    if (!hc || !idx) {
        for (i = 0; i < n; i++) {
            if (calls[i].end != AWS_PENDING)
                continue;
            calls[i].end = AWS_SETUP;
            calls[i].rc = inj_err_set(&calls[i].err, INJ_E_NOMEM, "out of memory");
        }
        goto out;
    }
    for (;;) {
        now = mono_ms();
        wake = 0;
        k = 0;
        for (i = 0; i < n; i++) {
            struct aws_call *c = &calls[i];

            if (c->end != AWS_PENDING)
                continue;
            /* A backoff that ends past the deadline would only wait to give up. */
            if (c->deadline_ms && c->ready_ms > now && c->ready_ms >= c->deadline_ms) {
                c->rc = INJ_E_TEMPFAIL;
                c->end = AWS_DEADLINE;
                continue;
            }
            if (c->ready_ms <= now && lim && !c->has_token) {
                /* adaptive mode: the attempt waits for its token like a backoff. */
                long wait = aws_limiter_take(lim, now);

                c->has_token = 1;
                if (wait > 0) {
                    log_debug("%s: adaptive retry mode: waiting %ld ms for a send token (%.1f "
                              "a second since a throttle)",
                              c->id, wait, lim->fill_rate);
                    c->ready_ms = now + wait;
                    /* The client's own limiter never fails a call: it sends by the time a
                     * throttled call would make its last attempt. */
                    if (c->deadline_ms && c->ready_ms > c->deadline_ms - AWS_LAST_TRY_MS)
                        c->ready_ms = c->deadline_ms - AWS_LAST_TRY_MS > now
                                          ? c->deadline_ms - AWS_LAST_TRY_MS
                                          : now;
                }
            }
            if (c->ready_ms > now) {
                if (!wake || c->ready_ms < wake)
                    wake = c->ready_ms;
                continue;
            }
            c->has_token = 0;
            c->req.timeout_ms = aws_attempt_timeout(ctx, c->deadline_ms);
            if (c->req.timeout_ms == 0) {
                c->rc = INJ_E_TEMPFAIL;
                c->end = AWS_DEADLINE;
                continue;
            }
            http_resp_free(&c->resp);
            hc[k].req = &c->req;
            hc[k].resp = &c->resp;
            hc[k].err = &c->err;
            idx[k++] = i;
            c->attempts++;
        }
        if (!k && !wake)
            break;
        if (!k) {
            /* Nothing to send before the earliest backoff ends (or the deadline). */
            for (i = 0; i < n; i++)
                if (calls[i].end == AWS_PENDING && calls[i].deadline_ms &&
                    wake > calls[i].deadline_ms)
                    wake = calls[i].deadline_ms;
            mono_sleep_ms(wake - now);
            continue;
        }
        (void)aws_transport(ctx, hc, k, conns);
        for (i = 0; i < k; i++)
            aws_outcome(ctx, &calls[idx[i]], hc[i].rc);
    }
out:
    free(hc);
    free(idx);
}

static void aws_copy_cause(char *cause, size_t ncause, const char *text)
{
    if (cause && ncause)
        (void)snprintf(cause, ncause, "%s", text);
}

enum inj_rc aws_fault_error(const struct aws_ctx *ctx, const struct aws_service *svc,
                            const struct aws_op *op, const char *region, const struct aws_fault *f,
                            int attempts, const char *name, struct inj_err *err, char *cause,
                            size_t ncause)
{
    struct aws_wording w;
    char text[640];
    enum inj_rc rc;

    w.service = svc->name;
    w.iam_action = op->iam_action;
    w.action = op->action;
    w.host_prefix = svc->host_prefix;
    w.region = region ? region : "(no region)";
    w.dns_suffix = region ? ref_region_dns_suffix(region) : "amazonaws.com";
    w.creds_source = ctx->creds ? ctx->creds->source : "";
    w.attempts = attempts;
    w.not_found_hint = svc->not_found_hint;
    w.bad_request_hint = svc->bad_request_hint;
    w.decrypts = op->decrypts;
    rc = aws_fault_cause(f, &w, text, sizeof(text));
    aws_copy_cause(cause, ncause, text);
    if (f->msg[0])
        (void)inj_err_set(err, rc, "%s: %s (AWS: %s)", name, text, f->msg);
    else
        (void)inj_err_set(err, rc, "%s: %s", name, text);
    /* What to grant, for JSON logs: the wording above names it too. */
    if (err && (f->kind == AWS_K_DENIED || f->kind == AWS_K_REFUSED))
        err->action = op->iam_action;
    else if (err && f->kind == AWS_K_KMS)
        err->action = "kms:Decrypt";
    return rc;
}

enum inj_rc aws_call_error(const struct aws_ctx *ctx, const struct aws_call *c, const char *name,
                           struct inj_err *err, char *cause, size_t ncause)
{
    char text[sizeof(err->msg)];

    switch (c->end) {
    case AWS_FAULT:
        return aws_fault_error(ctx, c->svc, c->op, c->region, &c->fault, c->attempts, name, err,
                               cause, ncause);
    case AWS_DEADLINE:
        (void)snprintf(text, sizeof(text),
                       "%s in %s: the --timeout deadline passed after %d attempt(s)%s",
                       c->op->action, c->region, c->attempts,
                       c->throttles ? ", throttled (rate exceeded) until then" : "");
        aws_copy_cause(cause, ncause, text);
        return inj_err_set(err, INJ_E_TEMPFAIL, "%s: %s", name, text);
    case AWS_TRANSPORT:
        (void)snprintf(text, sizeof(text), "%s in %s (after %d attempt(s)): %.800s", c->op->action,
                       c->region, c->attempts, c->err.msg);
        aws_copy_cause(cause, ncause, text);
        return inj_err_set(err, c->rc, "%s: %s", name, text);
    case AWS_SETUP:
        aws_copy_cause(cause, ncause, c->err.msg);
        return inj_err_set(err, c->rc, "%s: %s", name, c->err.msg);
    case AWS_OK:
    case AWS_PENDING:
    default:
        aws_copy_cause(cause, ncause, "");
        return inj_err_set(err, INJ_E_SOFTWARE, "%s: %s ended without an outcome", name,
                           c->op ? c->op->action : "a call");
    }
}

int aws_call_region_down(const struct aws_call *c)
{
    switch (c->end) {
    case AWS_TRANSPORT:
        return c->last_down;
    case AWS_FAULT:
        return c->fault.status >= 500;
    case AWS_DEADLINE:
        /* Out of time waiting to retry: down if the last attempt failed as down
         * (not after a throttle), or if there was no time for any attempt. */
        return !c->attempts || c->last_down;
    case AWS_OK:
    case AWS_SETUP:
    case AWS_PENDING:
    default:
        return 0;
    }
}

void aws_ctx_known(const struct aws_ctx *ctx, const char *keys[2], struct aws_known *out)
{
    keys[0] = ctx->creds ? ctx->creds->secret_access_key : NULL;
    keys[1] = ctx->creds ? ctx->creds->session_token : NULL;
    out->v = keys;
    out->n = 2;
}
