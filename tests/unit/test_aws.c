/* test_aws.c: the engine's retry policy without a network (issue 22), through the transport
 * seam and a jitter source that always draws 0 (no backoff, nothing sleeps): throttles retried
 * until the call's deadline past AWS_MAX_ATTEMPTS, the last attempt at least 1 s before it;
 * other retryable errors and deadline-less calls kept to max_attempts; throttle_bounded
 * (refresh) too; and adaptive mode's limiter, step by step against botocore's own classes
 * (the expected numbers are botocore's, from retries/adaptive.py with a fake clock). */
#include "unit.h"

#include <math.h>

#include <cjson/cJSON.h>

#include "aws.h"
#include "creds.h"
#include "http.h"
#include "jx.h"
#include "log.h"
#include "mono.h"
#include "ref.h"
#include "sm.h"

#include "fake_aws.h"

static struct fake_aws fa;
static struct creds creds;
static struct sm_ctx ctx;
static struct aws_retry retry;
static struct ref ref;
static int throttles_left; /* GetSecretValue answers ThrottlingException this many times */
static int unavailable;    /* GetSecretValue answers 503 every time */

static unsigned int zero_jitter(void *arg)
{
    (void)arg;
    return 0;
}

static void handler(struct fake_aws *f, const struct http_req *req, const char *action,
                    const cJSON *in, struct http_resp *resp)
{
    if (unavailable) {
        fake_answer(resp, 503, "");
        return;
    }
    if (throttles_left > 0) {
        throttles_left--;
        fake_answer_error(resp, "ThrottlingException");
        return;
    }
    fake_sm_answer(f, req, action, in, resp);
}

static int setup(void **state)
{
    struct inj_err err;

    (void)state;
    memset(&fa, 0, sizeof(fa));
    memset(&creds, 0, sizeof(creds));
    (void)snprintf(creds.source, sizeof(creds.source), "env");
    fa.handle = handler;
    (void)fake_add(&fa, "app/db", "v1", "canary-aws-db");
    fake_sm_ctx(&ctx, &fa, &creds, SM_FETCH_SINGLE);
    memset(&retry, 0, sizeof(retry));
    retry.max_attempts = 1;
    retry.rand = zero_jitter;
    ctx.retry = &retry;
    ctx.max_attempts = 1;
    throttles_left = 0;
    unavailable = 0;
    jx_init();
    assert_int_equal(ref_parse("app/db", &ref, &err), INJ_OK);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ref_free(&ref);
    return 0;
}

static enum inj_rc get(struct inj_err *err)
{
    struct sm_secret s;
    enum inj_rc rc;

    memset(&s, 0, sizeof(s));
    rc = sm_get_secret_value(&ctx, &ref, &s, err);
    if (rc == INJ_OK)
        assert_memory_equal(s.value.p, "canary-aws-db", s.value.len);
    sm_secret_free(&s);
    return rc;
}

static void throttles_retried_until_the_deadline(void **state)
{
    struct inj_err err = UNIT_ERR_INIT;

    (void)state;
    throttles_left = 6;
    ctx.deadline_ms = mono_ms() + 60000;
    assert_int_equal(get(&err), INJ_OK);
    assert_int_equal(fake_count(&fa, "GetSecretValue"), 7); /* max_attempts is 1 */
}

static void throttles_without_a_deadline_keep_max_attempts(void **state)
{
    struct inj_err err = UNIT_ERR_INIT;

    (void)state;
    throttles_left = 6;
    ctx.deadline_ms = 0;
    ctx.max_attempts = retry.max_attempts = 2;
    assert_int_equal(get(&err), INJ_E_TEMPFAIL);
    assert_int_equal(fake_count(&fa, "GetSecretValue"), 2);
    assert_contains(err.msg, "throttled");
    assert_not_contains(err.msg, "canary-aws-db");
}

static void throttle_bounded_keeps_max_attempts(void **state)
{
    struct inj_err err = UNIT_ERR_INIT;

    (void)state;
    throttles_left = 6;
    ctx.deadline_ms = mono_ms() + 60000;
    retry.throttle_bounded = 1;
    assert_int_equal(get(&err), INJ_E_TEMPFAIL);
    assert_int_equal(fake_count(&fa, "GetSecretValue"), 1);
}

/* Under a second to the deadline: no attempt after a throttle. */
static void throttle_near_the_deadline_ends_the_call(void **state)
{
    struct inj_err err = UNIT_ERR_INIT;

    (void)state;
    throttles_left = 6;
    ctx.deadline_ms = mono_ms() + 900;
    assert_int_equal(get(&err), INJ_E_TEMPFAIL);
    assert_int_equal(fake_count(&fa, "GetSecretValue"), 1);
    assert_contains(err.msg, "deadline passed after 1 attempt(s), throttled");
}

/* The standard ceilings while the deadline is far; an eighth of the time left near it. */
static void throttle_ceiling_shrinks_near_the_deadline(void **state)
{
    (void)state;
    assert_int_equal(aws_throttle_ceiling_ms(1, 59000), 1000);
    assert_int_equal(aws_throttle_ceiling_ms(3, 59000), 4000);
    assert_int_equal(aws_throttle_ceiling_ms(9, 600000), 20000); /* the 20 s cap */
    assert_int_equal(aws_throttle_ceiling_ms(9, 59000), 7375);   /* 59 s / 8 */
    assert_int_equal(aws_throttle_ceiling_ms(9, 8000), 1000);
    assert_int_equal(aws_throttle_ceiling_ms(1, 4000), 500);
    assert_int_equal(aws_throttle_ceiling_ms(5, 0), 0);
    assert_int_equal(aws_throttle_ceiling_ms(5, -5), 0);
}

static void other_retryable_errors_keep_max_attempts(void **state)
{
    struct inj_err err = UNIT_ERR_INIT;

    (void)state;
    unavailable = 1;
    ctx.deadline_ms = mono_ms() + 60000;
    ctx.max_attempts = retry.max_attempts = 3;
    assert_int_not_equal(get(&err), INJ_OK);
    assert_int_equal(fake_count(&fa, "GetSecretValue"), 3);
}

static void retry_init_reads_the_mode(void **state)
{
    struct aws_retry r;
    struct inj_err err = UNIT_ERR_INIT;

    (void)state;
    assert_int_equal(setenv("AWS_RETRY_MODE", "adaptive", 1), 0);
    unsetenv("AWS_MAX_ATTEMPTS");
    assert_int_equal(aws_retry_init(&r, &err), INJ_OK);
    assert_int_equal(r.mode, AWS_RETRY_ADAPTIVE);
    assert_int_equal(r.max_attempts, 3);
    assert_false(r.limiter.enabled);
    assert_int_equal(setenv("AWS_RETRY_MODE", "legacy", 1), 0);
    assert_int_equal(aws_retry_init(&r, &err), INJ_OK);
    assert_int_equal(r.mode, AWS_RETRY_LEGACY);
    assert_int_equal(r.max_attempts, 5);
    unsetenv("AWS_RETRY_MODE");
    assert_int_equal(aws_retry_init(&r, &err), INJ_OK);
    assert_int_equal(r.mode, AWS_RETRY_STANDARD);
}

#define assert_rate(l, want)                                                       \
    do {                                                                           \
        if (fabs((l)->fill_rate - (want)) > 1e-9)                                  \
            fail_msg("fill rate %.12f, botocore's %.12f", (l)->fill_rate, (want)); \
    } while (0)

/* botocore (retries/adaptive.py, a fake clock from 10.0 s): 20 successes 50 ms apart, a
 * throttle at 11.2 s, successes at 11.5, 12, 13 and 14 s; the fill rate after each, as
 * TokenBucket.max_rate reports it. */
static void limiter_follows_botocore(void **state)
{
    struct aws_limiter l;
    int i;

    (void)state;
    memset(&l, 0, sizeof(l));
    assert_int_equal(aws_limiter_take(&l, 10000), 0); /* off until the first throttle */
    for (i = 0; i < 20; i++)
        aws_limiter_update(&l, 10000 + 50LL * (i + 1), 0);
    assert_false(l.enabled);
    assert_rate(&l, 0.5086754047311262);
    assert_int_equal(aws_limiter_take(&l, 11100), 0);
    aws_limiter_update(&l, 11200, 1);
    assert_true(l.enabled);
    assert_rate(&l, 13.44);
    if (fabs(l.tokens - 0.6271424403059882) > 1e-9)
        fail_msg("tokens %.12f", l.tokens);
    /* The next attempt waits for its token: (1 - 0.627) / 13.44 s. */
    assert_int_equal(aws_limiter_take(&l, 11200), 28);
    aws_limiter_update(&l, 11500, 0);
    assert_rate(&l, 14.079999999999998);
    aws_limiter_update(&l, 12000, 0);
    assert_rate(&l, 6.015999999999999);
    aws_limiter_update(&l, 13000, 0);
    assert_rate(&l, 2.8031999999999995);
    aws_limiter_update(&l, 14000, 0);
    assert_rate(&l, 2.16064);
}

/* In adaptive mode the runner asks the limiter before each attempt: after a throttle at the
 * rate measured from one call, the retry waits for its token. */
static void adaptive_retry_waits_for_its_token(void **state)
{
    struct inj_err err = UNIT_ERR_INIT;
    struct fake_stderr cap;
    char *log;

    (void)state;
    retry.mode = AWS_RETRY_ADAPTIVE;
    throttles_left = 1;
    ctx.deadline_ms = mono_ms() + 60000;
    log_set_level(LOG_LVL_DEBUG);
    fake_stderr_start(&cap);
    assert_int_equal(get(&err), INJ_OK);
    log = fake_stderr_end(&cap);
    log_set_level(LOG_LVL_WARN);
    assert_int_equal(fake_count(&fa, "GetSecretValue"), 2);
    assert_true(retry.limiter.enabled);
    assert_contains(log, "app/db: adaptive retry mode: waiting ");
    assert_contains(log, " ms for a send token");
    assert_not_contains(log, "canary-aws-db");
    free(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(throttles_retried_until_the_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(throttles_without_a_deadline_keep_max_attempts, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(throttle_bounded_keeps_max_attempts, setup, teardown),
        cmocka_unit_test_setup_teardown(throttle_near_the_deadline_ends_the_call, setup, teardown),
        cmocka_unit_test(throttle_ceiling_shrinks_near_the_deadline),
        cmocka_unit_test_setup_teardown(other_retryable_errors_keep_max_attempts, setup, teardown),
        cmocka_unit_test_setup_teardown(retry_init_reads_the_mode, setup, teardown),
        cmocka_unit_test(limiter_follows_botocore),
        cmocka_unit_test_setup_teardown(adaptive_retry_waits_for_its_token, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
