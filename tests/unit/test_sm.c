/* test_sm.c: the Secrets Manager answers parsed without a network: the fetch mode names, and
 * BatchGetSecretValue answers spread over the secrets asked for (by name, ARN or partial ARN),
 * per-secret Errors worded as GetSecretValue's, an escaped NUL pinned to the right secret,
 * and whole answers that are unusable (not UTF-8, not an object, wrong types); the keys of a
 * read by name prefix (sm_filter_key) and its pages (sm_parse_filter_page). */
#include "unit.h"

#include <cjson/cJSON.h>

#include "creds.h"
#include "expand.h"
#include "http.h"
#include "jx.h"
#include "ref.h"
#include "sm.h"

#define ARN_A "arn:aws:secretsmanager:eu-central-1:111122223333:secret:app/a-Ab12Cd"
#define ARN_B "arn:aws:secretsmanager:eu-central-1:111122223333:secret:app/b-Xy34Zz"

static struct creds creds;
static struct sm_ctx ctx;

static int setup(void **state)
{
    (void)state;
    memset(&creds, 0, sizeof(creds));
    (void)snprintf(creds.source, sizeof(creds.source), "env");
    memset(&ctx, 0, sizeof(ctx));
    ctx.creds = &creds;
    ctx.region = "eu-central-1";
    ctx.max_attempts = 3;
    return 0;
}

/* Parses body as a batch answer for ids[0..n); the items are left for the test to inspect. */
static enum inj_rc parse(const char *body, const char *const *ids, size_t n, struct ref *refs,
                         struct sm_item *items)
{
    struct http_resp resp;
    enum inj_rc rc;
    size_t i;

    memset(&resp, 0, sizeof(resp));
    resp.status = 200;
    resp.body.max = SM_MAX_BATCH_RESPONSE;
    assert_int_equal(sbuf_append(&resp.body, body, strlen(body)), SBUF_OK);
    for (i = 0; i < n; i++) {
        memset(&refs[i], 0, sizeof(refs[i]));
        refs[i].secret_id = (char *)(uintptr_t)ids[i];
        memset(&items[i], 0, sizeof(items[i]));
        items[i].ref = &refs[i];
    }
    rc = sm_parse_batch(&ctx, "eu-central-1", &resp, items, n);
    http_resp_free(&resp);
    return rc;
}

static void free_items(struct sm_item *items, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        sm_secret_free(&items[i].secret);
        sm_fail_free(&items[i].fail);
    }
}

static void value_is(const struct sm_item *it, const char *arn, const char *want)
{
    assert_int_equal(it->rc, INJ_OK);
    assert_string_equal(it->secret.arn, arn);
    assert_int_equal(it->secret.value.len, strlen(want));
    assert_memory_equal(it->secret.value.p, want, it->secret.value.len);
}

#define FCANARY "CANARY-smfilter-unit-7d2a"

/* The key of a secret read by name prefix, then expand's rule. */
static void filter_keys(void **state)
{
    static const struct {
        const char *prefix, *name, *want; /* want NULL: not used */
    } cases[] = {
        {"prod/app/", "prod/app/db_password", "DB_PASSWORD"},
        {"prod/app/", "prod/app/db/password", "DB_PASSWORD"},
        {"prod/app", "prod/app/db/password", "DB_PASSWORD"}, /* the '/' after it dropped */
        {"prod/app", "prod/application/x", "LICATION_X"},    /* AWS's prefix match */
        {"prod/app/", "prod/application/x", NULL},
        {"prod/app/", "prod/app/", NULL}, /* the prefix itself */
        {"prod/app", "prod/app//", NULL},
        {"prod/app/", "other/x", NULL},
        {"prod/app/", "Prod/app/x", NULL}, /* case-sensitive */
        {"", "team/a", "TEAM_A"},          /* tags alone: the whole name */
        {"", "/x", "_X"},
    };
    char name[256];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *key = sm_filter_key(cases[i].prefix, cases[i].name);

        if (!cases[i].want) {
            assert_null(key);
            continue;
        }
        assert_non_null(key);
        assert_int_equal(expand_name("", key, name, sizeof(name)), 1);
        assert_string_equal(name, cases[i].want);
    }
}

static enum inj_rc filter_page(struct sm_filter_page *pg, const char *body, struct inj_err *err)
{
    struct http_resp resp;
    enum inj_rc rc;

    memset(&resp, 0, sizeof(resp));
    resp.status = 200;
    resp.body.max = SM_MAX_BATCH_RESPONSE;
    assert_int_equal(sbuf_append(&resp.body, body, strlen(body)), SBUF_OK);
    rc = sm_parse_filter_page(pg, &resp, err);
    http_resp_free(&resp);
    return rc;
}

/* One filtered page: keys, versions and the NextToken; then every refusal (a name outside the
 * prefix, an Errors item naming its secret, NUL, a binary that is not text, malformed), never
 * with a value in the message. */
static void filter_pages(void **state)
{
    struct sm_filter_page pg;
    struct inj_err err;
    struct ref r;
    size_t i;
    static const struct {
        const char *body, *msg;
        enum inj_rc rc;
    } bad[] = {
        {"{\"SecretValues\":[{\"ARN\":\"" ARN_A "\",\"Name\":\"app/a\",\"VersionId\":\"v\","
         "\"SecretString\":\"" FCANARY "\"}]}",
         "answered the secret app/a, whose name does not start with the prefix", INJ_E_UNAVAILABLE},
        {"{\"SecretValues\":[],\"Errors\":[{\"SecretId\":\"p/x\",\"ErrorCode\":"
         "\"AccessDeniedException\",\"Message\":\"no\"}]}",
         "secrets p/*: a secret it matched could not be read: p/x: "
         "secretsmanager:GetSecretValue denied",
         INJ_E_NOPERM},
        {"{\"SecretValues\":[{\"ARN\":\"a\",\"Name\":\"p/a\",\"VersionId\":\"v\","
         "\"SecretString\":\"x\\u0000" FCANARY "\"}]}",
         "NUL character", INJ_E_DATA},
        {"{\"SecretValues\":[{\"ARN\":\"a\",\"Name\":\"p/a\",\"VersionId\":\"v\","
         "\"SecretBinary\":\"AP8=\"}]}",
         "is a SecretBinary that is not UTF-8 text", INJ_E_DATA},
        {"{\"SecretValues\":[{\"Name\":\"p/a\",\"SecretString\":\"" FCANARY "\"}]}",
         "without a Name, ARN or VersionId", INJ_E_UNAVAILABLE},
        {"[]", "not a BatchGetSecretValue answer", INJ_E_UNAVAILABLE},
        {"{\"SecretValues\":{}}", "not a BatchGetSecretValue answer", INJ_E_UNAVAILABLE},
        {"{\"NextToken\":\"\"}", "not a BatchGetSecretValue answer", INJ_E_UNAVAILABLE},
    };

    (void)state;
    jx_init();
    memset(&r, 0, sizeof(r));
    r.secret_id = (char *)(uintptr_t) "p/";
    r.path = 1;
    memset(&pg, 0, sizeof(pg));
    pg.ctx = &ctx;
    pg.region = "eu-central-1";
    pg.ref = &r;
    pg.label = "secrets p/*";
    pg.acc = cJSON_CreateArray();
    assert_int_equal(
        filter_page(&pg,
                    "{\"SecretValues\":[{\"ARN\":\"" ARN_A "\",\"Name\":\"p/b\",\"VersionId\":"
                    "\"v2\",\"SecretString\":\"" FCANARY "\"},{\"ARN\":\"" ARN_B "\",\"Name\":"
                    "\"p/c/d\",\"VersionId\":\"v1\",\"SecretBinary\":\"aGk=\"}],\"Errors\":[],"
                    "\"NextToken\":\"T1\"}",
                    &err),
        INJ_OK);
    assert_string_equal(pg.next, "T1");
    assert_int_equal(cJSON_GetArraySize(pg.acc), 2);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(pg.acc, 0), "k")->valuestring, "b");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(pg.acc, 0), "n")->valuestring, "v2");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(pg.acc, 1), "k")->valuestring,
                        "c/d");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(pg.acc, 1), "v")->valuestring, "hi");
    /* The last page: no NextToken. */
    assert_int_equal(filter_page(&pg, "{\"SecretValues\":[]}", &err), INJ_OK);
    assert_null(pg.next);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(filter_page(&pg, bad[i].body, &err), bad[i].rc);
        if (!strstr(err.msg, bad[i].msg))
            fail_msg("case %zu: %s", i, err.msg);
        assert_null(strstr(err.msg, FCANARY));
        free(pg.next);
        pg.next = NULL;
    }
    /* With a retry list (ssm.c gives one to a read by prefix): a throttle or an internal error
     * on a secret puts its id on the list, once, and the page is read; a denial still fails. */
    pg.retry = cJSON_CreateArray();
    assert_non_null(pg.retry);
    assert_int_equal(
        filter_page(&pg,
                    "{\"SecretValues\":[],\"Errors\":[{\"SecretId\":\"p/x\",\"ErrorCode\":"
                    "\"InternalServiceError\",\"Message\":\"m\"},{\"SecretId\":\"p/y\","
                    "\"ErrorCode\":\"ThrottlingException\",\"Message\":\"Rate exceeded\"},"
                    "{\"SecretId\":\"p/x\",\"ErrorCode\":\"InternalServiceError\"}]}",
                    &err),
        INJ_OK);
    assert_int_equal(cJSON_GetArraySize(pg.retry), 2);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(pg.retry, 0), "a")->valuestring,
                        "p/x");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(pg.retry, 1), "a")->valuestring,
                        "p/y");
    assert_int_equal(filter_page(&pg, bad[1].body, &err), INJ_E_NOPERM);
    assert_int_equal(cJSON_GetArraySize(pg.retry), 2);
    cJSON_Delete(pg.retry);
    cJSON_Delete(pg.acc);
}

static enum inj_rc list_page(struct sm_filter_page *pg, const char *body, struct inj_err *err)
{
    struct http_resp resp;
    enum inj_rc rc;

    memset(&resp, 0, sizeof(resp));
    resp.status = 200;
    resp.body.max = SM_MAX_LIST_RESPONSE;
    assert_int_equal(sbuf_append(&resp.body, body, strlen(body)), SBUF_OK);
    rc = sm_parse_list_page(pg, &resp, err);
    http_resp_free(&resp);
    return rc;
}

#define LS(name, tags)                                                           \
    "{\"ARN\":\"arn:aws:secretsmanager:eu-central-1:1:secret:" name "-Ab12Cd\"," \
    "\"Name\":\"" name "\"" tags "}"
#define TAG(k, v) "{\"Key\":\"" k "\",\"Value\":\"" v "\"}"

/* ListSecrets pages of a read by {team: api, env: prod}: only the secrets carrying both pairs
 * exactly are kept (AWS's filters are prefixes of keys and values apart); the request; every
 * refusal, never with a tag value of another secret in the message. */
static void list_pages(void **state)
{
    struct sm_filter_page pg;
    struct inj_err err;
    struct ref_tag tags[2] = {{(char *)(uintptr_t) "team", (char *)(uintptr_t) "api"},
                              {(char *)(uintptr_t) "env", (char *)(uintptr_t) "prod"}};
    struct ref r;
    cJSON *req;
    char *body;
    char big[16384];
    size_t off;
    size_t i;
    static const struct {
        const char *body, *msg;
        enum inj_rc rc;
    } bad[] = {
        {"{\"SecretList\":[" LS("q/a",
                                ",\"Tags\":[" TAG("team", "api") "," TAG("env", "prod") "]") "]}",
         "ListSecrets answered the secret q/a, whose name does not start with the prefix",
         INJ_E_UNAVAILABLE},
        {"{\"SecretList\":[" LS("p/",
                                ",\"Tags\":[" TAG("team", "api") "," TAG("env", "prod") "]") "]}",
         "the secret p/ is named as the prefix itself", INJ_E_CONFIG},
        {"{\"SecretList\":[{\"Name\":\"p/a\",\"Tags\":[" TAG("team", FCANARY) "]}]}",
         "ListSecrets answered a secret without a Name or ARN", INJ_E_UNAVAILABLE},
        {"{\"SecretList\":[" LS("p/a", ",\"Tags\":{\"team\":\"" FCANARY "\"}") "]}",
         "or with Tags that are not a list", INJ_E_UNAVAILABLE},
        {"{\"SecretList\":{}}", "not a ListSecrets answer of at most 100", INJ_E_UNAVAILABLE},
        {"[]", "not a ListSecrets answer", INJ_E_UNAVAILABLE},
        {"{\"SecretList\":[],\"NextToken\":\"\"}", "not a ListSecrets answer", INJ_E_UNAVAILABLE},
        {"{\"SecretList\":[],\"NextToken\":7}", "not a ListSecrets answer", INJ_E_UNAVAILABLE},
        {"\xff", "not valid UTF-8 JSON", INJ_E_UNAVAILABLE},
    };

    /* clang-format off */
    static const char page[] = "{\"SecretList\":["
        LS("p/exact", ",\"Tags\":[" TAG("x", "y") "," TAG("env", "prod") "," TAG("team", "api")
           "]") ","
        LS("p/apiary", ",\"Tags\":[" TAG("team", "apiary") "," TAG("env", "prod") "]") ","
        LS("p/teams", ",\"Tags\":[" TAG("teams", "api") "," TAG("env", "prod") "]") ","
        LS("p/split", ",\"Tags\":[" TAG("team", "web") "," TAG("owner", "api") ","
           TAG("env", "prod") "]") ","
        LS("p/case", ",\"Tags\":[" TAG("Team", "api") "," TAG("env", "prod") "]") ","
        LS("p/one", ",\"Tags\":[" TAG("team", "api") "]") ","
        LS("p/prodx", ",\"Tags\":[" TAG("team", "api") "," TAG("env", "production") "]") ","
        LS("p/none", "") ","
        LS("p/odd", ",\"Tags\":[{\"Key\":\"team\"},7," TAG("env", "prod") "]") ","
        LS("p/both/x", ",\"Tags\":[" TAG("env", "prod") "," TAG("team", "api") "]")
        "],\"NextToken\":\"T1\"}";
    /* clang-format on */

    (void)state;
    jx_init();
    memset(&r, 0, sizeof(r));
    r.secret_id = (char *)(uintptr_t) "p/";
    r.path = 1;
    r.tags = tags;
    r.ntags = 2;
    memset(&pg, 0, sizeof(pg));
    pg.ctx = &ctx;
    pg.region = "eu-central-1";
    pg.ref = &r;
    pg.label = "secrets p/* tagged team=api,env=prod";
    pg.acc = cJSON_CreateArray();
    pg.listed = cJSON_CreateArray();
    /* The request: the filters (prefixes, as AWS takes them), 100 a page, no deleted ones. */
    pg.token = "T0";
    body = sm_list_op.build(&pg);
    assert_non_null(body);
    req = cJSON_Parse(body);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(req, "Filters")), 5);
    assert_non_null(strstr(body, "{\"Values\":[\"p/\"],\"Key\":\"name\"}"));
    assert_non_null(strstr(body, "{\"Values\":[\"team\"],\"Key\":\"tag-key\"}"));
    assert_non_null(strstr(body, "{\"Values\":[\"prod\"],\"Key\":\"tag-value\"}"));
    assert_int_equal(cJSON_GetObjectItem(req, "MaxResults")->valueint, 100);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(req, "IncludePlannedDeletion")));
    assert_string_equal(cJSON_GetObjectItem(req, "NextToken")->valuestring, "T0");
    cJSON_Delete(req);
    free(body);
    pg.token = NULL;
    assert_int_equal(list_page(&pg, page, &err), INJ_OK);
    assert_string_equal(pg.next, "T1");
    assert_int_equal(cJSON_GetArraySize(pg.listed), 2);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(pg.listed, 0), "s")->valuestring,
                        "p/exact");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(pg.listed, 0), "a")->valuestring,
                        "arn:aws:secretsmanager:eu-central-1:1:secret:p/exact-Ab12Cd");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(pg.listed, 1), "s")->valuestring,
                        "p/both/x");
    /* Metadata only: no value was added. */
    assert_int_equal(cJSON_GetArraySize(pg.acc), 0);
    /* The last page: no NextToken; an empty list, or none at all. */
    assert_int_equal(list_page(&pg, "{\"SecretList\":[]}", &err), INJ_OK);
    assert_null(pg.next);
    assert_int_equal(list_page(&pg, "{}", &err), INJ_OK);
    assert_int_equal(cJSON_GetArraySize(pg.listed), 2);
    /* A secret listed again (an endpoint paging by offset) is one match; "Tags": null is no
     * tags. */
    assert_int_equal(
        list_page(&pg,
                  "{\"SecretList\":[" LS(
                      "p/exact", ",\"Tags\":[" TAG("env", "prod") "," TAG(
                                     "team", "api") "]") "," LS("p/null", ",\"Tags\":null") "]}",
                  &err),
        INJ_OK);
    assert_int_equal(cJSON_GetArraySize(pg.listed), 2);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(list_page(&pg, bad[i].body, &err), bad[i].rc);
        if (!strstr(err.msg, bad[i].msg))
            fail_msg("case %zu: %s", i, err.msg);
        assert_null(strstr(err.msg, FCANARY));
        assert_null(pg.next);
    }
    /* More than 100 secrets in a page: not a ListSecrets answer. */
    off = (size_t)snprintf(big, sizeof(big), "{\"SecretList\":[");
    for (i = 0; i < 101; i++)
        off += (size_t)snprintf(big + off, sizeof(big) - off,
                                "%s{\"Name\":\"p/%zu\",\"ARN\":\"a\"}", i ? "," : "", i);
    (void)snprintf(big + off, sizeof(big) - off, "]}");
    assert_int_equal(list_page(&pg, big, &err), INJ_E_UNAVAILABLE);
    assert_contains(err.msg, "not a ListSecrets answer");
    cJSON_Delete(pg.listed);
    cJSON_Delete(pg.acc);
}

/* A secret read by ARN for a read with tags: its key from its name, or the read's failure. */
static void filter_keep(void **state)
{
    struct sm_filter_page pg;
    struct sm_secret sec;
    struct inj_err err;
    struct ref r;

    (void)state;
    jx_init();
    memset(&r, 0, sizeof(r));
    r.secret_id = (char *)(uintptr_t) "p/";
    memset(&pg, 0, sizeof(pg));
    pg.ref = &r;
    pg.label = "secrets p/*";
    pg.acc = cJSON_CreateArray();
    memset(&sec, 0, sizeof(sec));
    sec.name = (char *)(uintptr_t) "p/db/password";
    sec.version_id = (char *)(uintptr_t) "v1";
    sec.value.max = SM_MAX_SECRET;
    assert_int_equal(sbuf_append_str(&sec.value, FCANARY), SBUF_OK);
    assert_int_equal(sm_filter_keep(&pg, &sec, &err), INJ_OK);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(pg.acc, 0), "k")->valuestring,
                        "db/password");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(pg.acc, 0), "v")->valuestring,
                        FCANARY);
    sec.name = (char *)(uintptr_t) "q/x";
    assert_int_equal(sm_filter_keep(&pg, &sec, &err), INJ_E_UNAVAILABLE);
    assert_contains(err.msg, "answered the secret q/x, whose name does not start with the prefix");
    sec.name = (char *)(uintptr_t) "p/bin";
    sec.binary = 1;
    sbuf_wipe_free(&sec.value);
    sec.value.max = SM_MAX_SECRET;
    assert_int_equal(sbuf_append(&sec.value, "\0\xff", 2), SBUF_OK);
    assert_int_equal(sm_filter_keep(&pg, &sec, &err), INJ_E_DATA);
    assert_contains(err.msg, "the secret p/bin is a SecretBinary that is not UTF-8 text");
    assert_null(strstr(err.msg, FCANARY));
    assert_int_equal(cJSON_GetArraySize(pg.acc), 1);
    sbuf_wipe_free(&sec.value);
    cJSON_Delete(pg.acc);
}

static void fetch_modes(void **state)
{
    (void)state;
    assert_int_equal(sm_fetch_mode_parse("auto"), SM_FETCH_AUTO);
    assert_int_equal(sm_fetch_mode_parse("batch"), SM_FETCH_BATCH);
    assert_int_equal(sm_fetch_mode_parse("single"), SM_FETCH_SINGLE);
    assert_int_equal(sm_fetch_mode_parse("Batch"), SM_FETCH_UNSET);
    assert_int_equal(sm_fetch_mode_parse(""), SM_FETCH_UNSET);
    assert_int_equal(sm_fetch_mode_parse("auto "), SM_FETCH_UNSET);
    assert_string_equal(sm_fetch_mode_name(SM_FETCH_UNSET), "auto");
    assert_string_equal(sm_fetch_mode_name(SM_FETCH_SINGLE), "single");
}

static void values_by_name_arn_and_partial_arn(void **state)
{
    static const char body[] =
        "{\"SecretValues\":["
        "{\"ARN\":\"" ARN_B "\",\"Name\":\"app/b\",\"VersionId\":\"v-b\","
        "\"SecretString\":\"bee\",\"VersionStages\":[\"AWSCURRENT\"]},"
        "{\"ARN\":\"" ARN_A "\",\"Name\":\"app/a\",\"VersionId\":\"v-a\","
        "\"SecretBinary\":\"AAFh\",\"VersionStages\":[\"AWSCURRENT\",\"x\"]}],"
        "\"Errors\":[]}";
    const char *ids[] = {"app/a", ARN_B,
                         "arn:aws:secretsmanager:eu-central-1:111122223333:"
                         "secret:app/a"};
    struct ref refs[3];
    struct sm_item items[3];

    (void)state;
    assert_int_equal(parse(body, ids, 3, refs, items), INJ_OK);
    assert_int_equal(items[0].rc, INJ_OK);
    assert_true(items[0].secret.binary);
    assert_int_equal(items[0].secret.value.len, 3);
    assert_memory_equal(items[0].secret.value.p, "\0\1a", 3);
    assert_string_equal(items[0].secret.stages, "AWSCURRENT,x");
    value_is(&items[1], ARN_B, "bee");
    assert_string_equal(items[1].secret.version_id, "v-b");
    assert_int_equal(items[2].rc, INJ_OK);
    assert_string_equal(items[2].secret.arn, ARN_A);
    /* A secret that arrived holds no error: only a failure allocates one (issue 18). */
    assert_null(items[0].fail);
    assert_null(items[1].fail);
    assert_null(items[2].fail);
    free_items(items, 3);
}

/* The full ARN of app/x ends like the partial ARN of a secret named app/x-Zz99Yy: each item
 * takes its exact match, whichever order the answer lists them in (the second secret's value
 * went to the first id when it came first). */
static void exact_arn_beats_partial_arn(void **state)
{
#define ARN_X "arn:aws:secretsmanager:eu-central-1:111122223333:secret:app/x-Zz99Yy"
#define ARN_XX ARN_X "-Qw12Er"
    static const char body[] = "{\"SecretValues\":["
                               "{\"ARN\":\"" ARN_XX "\",\"Name\":\"app/x-Zz99Yy\","
                               "\"VersionId\":\"v-xx\",\"SecretString\":\"second\"},"
                               "{\"ARN\":\"" ARN_X "\",\"Name\":\"app/x\","
                               "\"VersionId\":\"v-x\",\"SecretString\":\"first\"}],"
                               "\"Errors\":[]}";
    const char *ids[] = {ARN_X, ARN_XX};
    struct ref refs[2];
    struct sm_item items[2];

    (void)state;
    assert_int_equal(parse(body, ids, 2, refs, items), INJ_OK);
    value_is(&items[0], ARN_X, "first");
    value_is(&items[1], ARN_XX, "second");
    free_items(items, 2);
#undef ARN_X
#undef ARN_XX
}

/* The out-of-line error: allocated by the first failure, read back, NULL reads as out of
 * memory; sm_fail_keep stores an error only for a failure. */
static void fail_out_of_line(void **state)
{
    struct sm_fail *f = NULL;
    struct inj_err e;

    (void)state;
    assert_string_equal(sm_fail_msg(NULL), "out of memory");
    assert_string_equal(sm_fail_why(NULL), "");
    assert_null(sm_fail_action(NULL));
    memset(&e, 0, sizeof(e));
    assert_int_equal(sm_fail_keep(&f, INJ_OK, &e), INJ_OK);
    assert_null(f);
    (void)inj_err_set(&e, INJ_E_NOPERM, "app/a: denied");
    e.action = "secretsmanager:GetSecretValue";
    assert_int_equal(sm_fail_keep(&f, INJ_E_NOPERM, &e), INJ_E_NOPERM);
    assert_non_null(f);
    assert_string_equal(sm_fail_msg(f), "app/a: denied");
    assert_string_equal(sm_fail_action(f), "secretsmanager:GetSecretValue");
    assert_string_equal(sm_fail_why(f), "");
    (void)snprintf(sm_fail_cause(&f), AWS_CAUSE_MAX, "%s", "denied");
    assert_string_equal(sm_fail_why(f), "denied");
    assert_ptr_equal(sm_fail_err(&f), &f->err);
    sm_fail_free(&f);
    assert_null(f);
}

static void errors_name_their_secret(void **state)
{
    static const char body[] =
        "{\"SecretValues\":[{\"ARN\":\"" ARN_A "\",\"Name\":\"app/a\",\"VersionId\":\"v\","
        "\"SecretString\":\"x\"}],"
        "\"Errors\":[{\"SecretId\":\"gone\",\"ErrorCode\":\"ResourceNotFoundException\","
        "\"Message\":\"Secrets Manager can't find the specified secret.\"},"
        "{\"SecretId\":\"" ARN_B "\",\"ErrorCode\":\"AccessDeniedException\","
        "\"Message\":\"not authorized to perform secretsmanager:GetSecretValue\"},"
        "{\"SecretId\":\"k\",\"ErrorCode\":\"DecryptionFailure\",\"Message\":\"no\"}]}";
    const char *ids[] = {"app/a", "gone", ARN_B, "k", "unanswered"};
    struct ref refs[5];
    struct sm_item items[5];

    (void)state;
    assert_int_equal(parse(body, ids, 5, refs, items), INJ_OK);
    value_is(&items[0], ARN_A, "x");
    assert_int_equal(items[1].rc, INJ_E_MISSING);
    assert_contains(sm_fail_msg(items[1].fail), "gone: not found in eu-central-1");
    assert_int_equal(items[2].rc, INJ_E_NOPERM);
    assert_contains(sm_fail_msg(items[2].fail), ARN_B ": secretsmanager:GetSecretValue denied");
    assert_int_equal(items[2].kind, AWS_K_DENIED);
    /* The cause names neither the secret nor what AWS said. */
    assert_true(!strncmp(sm_fail_why(items[2].fail), "secretsmanager:GetSecretValue denied", 36));
    assert_null(strstr(sm_fail_why(items[2].fail), "app/b"));
    assert_int_equal(items[3].rc, INJ_E_NOPERM);
    assert_int_equal(items[3].kind, AWS_K_KMS);
    assert_contains(sm_fail_msg(items[3].fail), "k: cannot be decrypted");
    assert_int_equal(items[4].rc, INJ_E_UNAVAILABLE);
    assert_contains(sm_fail_msg(items[4].fail), "unanswered: BatchGetSecretValue in eu-central-1 "
                                                "answered neither");
    assert_null(items[1].secret.value.p);
    free_items(items, 5);
}

static void escaped_nul_is_pinned_to_its_secret(void **state)
{
    /* The first value is JSON text holding an escaped NUL inside it (\\u0000: fine, jx
     * refuses it later if a key asks for it); the second holds a NUL itself. A Name that
     * reads "SecretString" must not confuse the count. */
    static const char body[] =
        "{\"SecretValues\":["
        "{\"ARN\":\"" ARN_A "\",\"Name\":\"SecretString\",\"VersionId\":\"v\","
        "\"SecretString\":\"{\\\"k\\\":\\\"a\\\\u0000b\\\"}\"},"
        "{\"ARN\":\"" ARN_B "\",\"Name\":\"app/b\",\"VersionId\":\"v\","
        "\"SecretString\" : \"b\\u0000tail\"}]}";
    const char *ids[] = {ARN_A, "app/b"};
    struct ref refs[2];
    struct sm_item items[2];

    (void)state;
    assert_int_equal(parse(body, ids, 2, refs, items), INJ_OK);
    value_is(&items[0], ARN_A, "{\"k\":\"a\\u0000b\"}");
    assert_int_equal(items[1].rc, INJ_E_DATA);
    assert_contains(sm_fail_msg(items[1].fail), "app/b: SecretString contains a NUL character");
    free_items(items, 2);
}

static void unusable_answers(void **state)
{
    static const char *const bodies[] = {
        "[]",
        "{\"SecretValues\":{}}",
        "{\"Errors\":\"x\"}",
        "not json",
        "{\"SecretValues\":[{\"ARN\":\"" ARN_A "\",\"Name\":\"app/a\","
        "\"SecretString\":\"a\",\"SecretString\":\"b\"}]}",
        "",
    };
    const char *ids[] = {"app/a", "app/b"};
    struct ref refs[2];
    struct sm_item items[2];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        assert_int_equal(parse(bodies[i], ids, 2, refs, items), INJ_E_UNAVAILABLE);
        assert_int_equal(items[0].rc, INJ_E_UNAVAILABLE);
        assert_contains(sm_fail_msg(items[0].fail), "app/a: Secrets Manager response");
        assert_contains(sm_fail_msg(items[1].fail), "app/b: Secrets Manager response");
        free_items(items, 2);
    }
}

static void invalid_utf8(void **state)
{
    const char *ids[] = {"app/a"};
    struct ref refs[1];
    struct sm_item items[1];

    (void)state;
    assert_int_equal(parse("{\"SecretValues\":[\"\xff\"]}", ids, 1, refs, items),
                     INJ_E_UNAVAILABLE);
    assert_contains(sm_fail_msg(items[0].fail), "not valid UTF-8");
    free_items(items, 1);
}

static void entries_of_the_wrong_shape(void **state)
{
    /* Not objects, no ARN, no value: those secrets are unanswered or fail on their own. */
    static const char body[] =
        "{\"SecretValues\":[1,\"s\",{\"Name\":\"app/b\"},"
        "{\"ARN\":\"" ARN_A "\",\"Name\":\"app/a\"}],\"Errors\":[7,{\"SecretId\":3}]}";
    const char *ids[] = {"app/a", "app/b"};
    struct ref refs[2];
    struct sm_item items[2];

    (void)state;
    assert_int_equal(parse(body, ids, 2, refs, items), INJ_OK);
    assert_int_equal(items[0].rc, INJ_E_UNAVAILABLE);
    assert_contains(sm_fail_msg(items[0].fail), "neither SecretString nor SecretBinary");
    assert_int_equal(items[1].rc, INJ_E_UNAVAILABLE);
    assert_contains(sm_fail_msg(items[1].fail), "answered neither");
    free_items(items, 2);
}

static void too_many_items(void **state)
{
    const char *ids[SM_BATCH_MAX + 1];
    struct ref refs[SM_BATCH_MAX + 1];
    struct sm_item items[SM_BATCH_MAX + 1];
    size_t i;

    (void)state;
    for (i = 0; i <= SM_BATCH_MAX; i++)
        ids[i] = "x";
    assert_int_equal(parse("{}", ids, SM_BATCH_MAX + 1, refs, items), INJ_E_SOFTWARE);
    free_items(items, SM_BATCH_MAX + 1);
}

/* Full jitter, doubling, capped: every wait in [0, ceiling]; over 2000 draws both ends of
 * the range are reached (a fixed or half-jitter backoff would not reach the bottom tenth;
 * the chance that a correct one misses either tenth is 2 * 0.9^2000, about 1e-91). */
static void backoff_full_jitter_doubling_capped(void **state)
{
    static const long ceiling[] = {1000, 2000, 4000, 8000, 16000, 20000, 20000, 20000};
    size_t i;
    int k;

    (void)state;
    for (i = 0; i < sizeof(ceiling) / sizeof(ceiling[0]); i++) {
        long lo = ceiling[i];
        long hi = 0;

        for (k = 0; k < 2000; k++) {
            long ms = aws_backoff_ms((int)i + 1);
            if (ms < 0 || ms > ceiling[i])
                fail_msg("attempt %zu: %ld ms outside [0, %ld]", i + 1, ms, ceiling[i]);
            if (ms < lo)
                lo = ms;
            if (ms > hi)
                hi = ms;
        }
        if (lo > ceiling[i] / 10 || hi < ceiling[i] - ceiling[i] / 10)
            fail_msg("attempt %zu: draws span only [%ld, %ld] of [0, %ld]", i + 1, lo, hi,
                     ceiling[i]);
    }
    assert_true(aws_backoff_ms(40) <= 20000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fetch_modes),
        cmocka_unit_test(filter_keys),
        cmocka_unit_test(filter_pages),
        cmocka_unit_test(list_pages),
        cmocka_unit_test(filter_keep),
        cmocka_unit_test(values_by_name_arn_and_partial_arn),
        cmocka_unit_test(exact_arn_beats_partial_arn),
        cmocka_unit_test(fail_out_of_line),
        cmocka_unit_test(errors_name_their_secret),
        cmocka_unit_test(escaped_nul_is_pinned_to_its_secret),
        cmocka_unit_test(unusable_answers),
        cmocka_unit_test(invalid_utf8),
        cmocka_unit_test(entries_of_the_wrong_shape),
        cmocka_unit_test(too_many_items),
        cmocka_unit_test(backoff_full_jitter_doubling_capped),
    };

    jx_init();
    return cmocka_run_group_tests(tests, setup, NULL);
}
