/* test_fetch.c: the fetch strategy without a network, through the engine's transport seam
 * (sm_ctx.transport): a canned Secrets Manager answers each call by its region, action and
 * secret ids. The batch call for 2+ secrets of a region, the fallback to GetSecretValue when
 * the batch call is refused (in any shape), single mode, and failover across regions. */
#include "unit.h"

#include <cjson/cJSON.h>

#include "creds.h"
#include "fetch.h"
#include "http.h"
#include "jx.h"
#include "ref.h"
#include "sm.h"

#include "fake_aws.h"

/* What the canned service does. */
static struct {
    long batch_status;       /* != 200: BatchGetSecretValue answers this ... */
    const char *batch_body;  /* ... with this body */
    const char *down_region; /* every call to it answers 503 */
} svc;

static struct fake_aws fa; /* the transport: its log has every call's action and region */
static struct creds creds;

static cJSON *secret_json(const char *id, const char *region)
{
    cJSON *o = cJSON_CreateObject();
    char arn[200];
    char value[200];

    (void)snprintf(arn, sizeof(arn), "arn:aws:secretsmanager:%s:111122223333:secret:%s-Ab12Cd",
                   region, id);
    (void)snprintf(value, sizeof(value), "value of %s in %s", id, region);
    cJSON_AddStringToObject(o, "ARN", arn);
    cJSON_AddStringToObject(o, "Name", id);
    cJSON_AddStringToObject(o, "VersionId", "v1");
    cJSON_AddStringToObject(o, "SecretString", value);
    return o;
}

/* Answers each call by its region, action and secret ids. */
static void canned(struct fake_aws *f, const struct http_req *req, const char *action,
                   const cJSON *in, struct http_resp *resp)
{
    cJSON *out = NULL;
    char region[32];
    char *text;

    (void)f;
    fake_url_region(req->url, region, sizeof(region));
    if (svc.down_region && !strcmp(region, svc.down_region)) {
        fake_answer(resp, 503, "<html>503 Service Unavailable</html>");
        return;
    }
    if (!strcmp(action, "BatchGetSecretValue")) {
        const cJSON *id;
        cJSON *vals;

        if (svc.batch_status != 200) {
            fake_answer(resp, svc.batch_status, svc.batch_body);
            return;
        }
        out = cJSON_CreateObject();
        vals = cJSON_AddArrayToObject(out, "SecretValues");
        cJSON_ArrayForEach(id, cJSON_GetObjectItem(in, "SecretIdList"))
        {
            cJSON_AddItemToArray(vals, secret_json(id->valuestring, region));
        }
    } else {
        assert_string_equal(action, "GetSecretValue");
        out = secret_json(cJSON_GetObjectItem(in, "SecretId")->valuestring, region);
    }
    text = cJSON_PrintUnformatted(out);
    fake_answer(resp, 200, text);
    cJSON_free(text);
    cJSON_Delete(out);
}

static void ctx_init(struct sm_ctx *ctx, enum sm_fetch_mode mode)
{
    fake_sm_ctx(ctx, &fa, &creds, mode);
}

static int setup(void **state)
{
    (void)state;
    memset(&svc, 0, sizeof(svc));
    svc.batch_status = 200;
    memset(&fa, 0, sizeof(fa));
    fa.handle = canned;
    memset(&creds, 0, sizeof(creds));
    (void)snprintf(creds.source, sizeof(creds.source), "env");
    return 0;
}

/* n fetches of "app/0".."app/n-1". */
static void plan(struct fetched *f, struct ref *refs, size_t n)
{
    static const char *const ids[] = {"app/0", "app/1", "app/2", "app/3"};
    size_t i;

    assert_true(n <= 4);
    for (i = 0; i < n; i++) {
        memset(&refs[i], 0, sizeof(refs[i]));
        refs[i].secret_id = (char *)(uintptr_t)ids[i];
        memset(&f[i], 0, sizeof(f[i]));
        f[i].ref = &refs[i];
    }
}

static void done(struct fetched *f, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        sm_secret_free(&f[i].secret);
        sm_fail_free(&f[i].fail);
    }
}

static void value_is(const struct fetched *f, const char *want)
{
    assert_int_equal(f->rc, INJ_OK);
    assert_int_equal(f->secret.value.len, strlen(want));
    assert_memory_equal(f->secret.value.p, want, strlen(want));
}

static void batch_for_two_or_more(void **state)
{
    struct sm_ctx ctx;
    struct fetched f[3];
    struct ref refs[3];
    size_t calls = 0;

    (void)state;
    ctx_init(&ctx, SM_FETCH_AUTO);
    plan(f, refs, 3);
    fetch_all(&ctx, f, 3, &calls);
    assert_int_equal(calls, 1);
    assert_int_equal(fake_count(&fa, "BatchGetSecretValue"), 1);
    assert_int_equal(fake_count(&fa, "GetSecretValue"), 0);
    value_is(&f[0], "value of app/0 in eu-central-1");
    value_is(&f[2], "value of app/2 in eu-central-1");
    /* Fetched secrets hold no error: only a failure allocates one (issue 18). */
    assert_null(f[0].fail);
    assert_null(f[1].fail);
    assert_null(f[2].fail);
    done(f, 3);
}

static void single_mode_and_one_secret(void **state)
{
    struct sm_ctx ctx;
    struct fetched f[2];
    struct ref refs[2];
    size_t calls = 0;

    (void)state;
    ctx_init(&ctx, SM_FETCH_SINGLE);
    plan(f, refs, 2);
    fetch_all(&ctx, f, 2, &calls);
    assert_int_equal(fake_count(&fa, "BatchGetSecretValue"), 0);
    assert_int_equal(fake_count(&fa, "GetSecretValue"), 2);
    value_is(&f[1], "value of app/1 in eu-central-1");
    done(f, 2);
    /* Alone in its region, a secret goes through GetSecretValue in auto mode too. */
    ctx_init(&ctx, SM_FETCH_AUTO);
    plan(f, refs, 1);
    fetch_all(&ctx, f, 1, &calls);
    assert_int_equal(fake_count(&fa, "BatchGetSecretValue"), 0);
    assert_int_equal(fake_count(&fa, "GetSecretValue"), 3);
    done(f, 1);
}

/* A refused batch call, whatever its body, falls back to GetSecretValue for every secret. */
static void fallback_when_batch_is_refused(void **state)
{
    static const struct {
        long status;
        const char *body;
    } refusals[] = {
        {400, "{\"__type\":\"AccessDeniedException\",\"message\":\"no\"}"},
        {403, "<ErrorResponse><Error><Code>AccessDenied</Code><Message>no</Message></Error>"
              "</ErrorResponse>"},
        {403, "<html><h1>403 Forbidden</h1></html>"},
        {403, ""},
        {401, ""},
        {429, "<html>Too Many Requests</html>"},
        {400, "{\"__type\":\"com.amazon.coral.service#UnknownOperationException\"}"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
        struct sm_ctx ctx;
        struct fetched f[3];
        struct ref refs[3];
        size_t calls = 0;

        setup(NULL);
        svc.batch_status = refusals[i].status;
        svc.batch_body = refusals[i].body;
        ctx_init(&ctx, SM_FETCH_AUTO);
        plan(f, refs, 3);
        fetch_all(&ctx, f, 3, &calls);
        if (fake_count(&fa, "BatchGetSecretValue") != 1 || fake_count(&fa, "GetSecretValue") != 3)
            fail_msg("refusal %zu (HTTP %ld): %zu batch, %zu get", i, refusals[i].status,
                     fake_count(&fa, "BatchGetSecretValue"), fake_count(&fa, "GetSecretValue"));
        assert_int_equal(calls, 4);
        value_is(&f[1], "value of app/1 in eu-central-1");
        done(f, 3);
    }
}

/* Forced batch mode: the refusal is every secret's error, with its kind and one cause. */
static void forced_batch_refused_is_the_error(void **state)
{
    struct sm_ctx ctx;
    struct fetched f[2];
    struct ref refs[2];
    size_t calls = 0;

    (void)state;
    svc.batch_status = 403;
    svc.batch_body = "";
    ctx_init(&ctx, SM_FETCH_BATCH);
    plan(f, refs, 2);
    fetch_all(&ctx, f, 2, &calls);
    assert_int_equal(fake_count(&fa, "GetSecretValue"), 0);
    assert_int_equal(f[0].rc, INJ_E_NOPERM);
    assert_int_equal(f[0].kind, AWS_K_REFUSED);
    assert_contains(sm_fail_msg(f[0].fail),
                    "app/0: HTTP 403 (not an AWS error body): BatchGetSecretValue "
                    "refused: the role lacks secretsmanager:BatchGetSecretValue");
    assert_string_equal(sm_fail_why(f[0].fail), sm_fail_why(f[1].fail));
    assert_null(strstr(sm_fail_why(f[0].fail), "app/"));
    done(f, 2);
}

/* The primary region is down: each secret is read from its failover region, where the
 * fetch strategy starts over (two secrets there: one batch call). */
static void failover_to_another_region(void **state)
{
    struct sm_ctx ctx;
    struct fetched f[2];
    struct ref refs[2];
    size_t calls = 0;
    size_t i;

    (void)state;
    svc.down_region = "eu-central-1";
    ctx_init(&ctx, SM_FETCH_AUTO);
    plan(f, refs, 2);
    for (i = 0; i < 2; i++) {
        assert_int_equal(ref_regions_add(&f[i].failover, "eu-west-1"), 0);
        assert_int_equal(ref_regions_add(&f[i].failover, "us-east-1"), 0);
    }
    fetch_all(&ctx, f, 2, &calls);
    value_is(&f[0], "value of app/0 in eu-west-1");
    value_is(&f[1], "value of app/1 in eu-west-1");
    assert_int_equal(fa.ncalls, 2);
    assert_string_equal(fa.calls[0].region, "eu-central-1");
    assert_string_equal(fa.calls[1].region, "eu-west-1");
    /* One batch call in each: the primary's answered 503, the replica's the values. */
    assert_string_equal(fa.calls[0].action, "BatchGetSecretValue");
    assert_string_equal(fa.calls[1].action, "BatchGetSecretValue");
    done(f, 2);
    /* A failover region that is the secret's own is skipped: the next one answers. */
    setup(NULL);
    svc.down_region = "eu-central-1";
    ctx_init(&ctx, SM_FETCH_SINGLE);
    plan(f, refs, 1);
    assert_int_equal(ref_regions_add(&f[0].failover, "eu-central-1"), 0); /* own: skipped */
    assert_int_equal(ref_regions_add(&f[0].failover, "us-east-1"), 0);
    fetch_all(&ctx, f, 1, &calls);
    value_is(&f[0], "value of app/0 in us-east-1");
    assert_int_equal(fa.ncalls, 2);
    done(f, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(batch_for_two_or_more, setup),
        cmocka_unit_test_setup(single_mode_and_one_secret, setup),
        cmocka_unit_test_setup(fallback_when_batch_is_refused, setup),
        cmocka_unit_test_setup(forced_batch_refused_is_the_error, setup),
        cmocka_unit_test_setup(failover_to_another_region, setup),
    };

    jx_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
