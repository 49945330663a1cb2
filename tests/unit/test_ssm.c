/* test_ssm.c: SSM Parameter Store without a network: GetParameters' request (names and ARNs
 * with selectors, WithDecryption), batches of 10 per region run in one engine run, the
 * parser (match by name or ARN and selector, InvalidParameters, Values with NUL, oversize,
 * malformed answers) and errors worded with ssm:GetParameters / kms:Decrypt; fetch_all
 * mixing both services. Canary values are checked out of every message. */
#include "unit.h"

#include <cjson/cJSON.h>

#include "creds.h"
#include "expand.h"
#include "fetch.h"
#include "http.h"
#include "jx.h"
#include "ref.h"
#include "sm.h"
#include "ssm.h"

#include "fake_aws.h"

#define ACCT "111122223333"
#define CANARY "CANARY-ssm-unit-5c1e"

/* What the canned SSM does: every name it knows answers "value of NAME" (CANARY inside),
 * a name starting "/missing" is in InvalidParameters; the whole call may be an error. */
static struct {
    const char *error;   /* not NULL: every GetParameters call answers this code */
    const char *message; /* ... with this message */
    int max_names;       /* the most Names seen in one call */
    int with_decryption; /* every call had WithDecryption true */
    size_t calls;
} svc;

static struct fake_aws fa;
static struct creds creds;

static void canned(struct fake_aws *f, const struct http_req *req, const char *action,
                   const cJSON *in, struct http_resp *resp)
{
    cJSON *out;
    cJSON *params;
    cJSON *invalid;
    const cJSON *names = cJSON_GetObjectItemCaseSensitive(in, "Names");
    const cJSON *id;
    char *text;
    int n = 0;

    (void)f;
    assert_string_equal(action, "GetParameters");
    assert_non_null(strstr(req->sigv4, ":ssm"));
    svc.calls++;
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(in, "WithDecryption")))
        svc.with_decryption = 0;
    if (svc.error) {
        char body[512];

        (void)snprintf(body, sizeof(body), "{\"__type\":\"%s\",\"message\":\"%s\"}", svc.error,
                       svc.message ? svc.message : "canned");
        fake_answer(resp, 400, body);
        return;
    }
    out = cJSON_CreateObject();
    params = cJSON_AddArrayToObject(out, "Parameters");
    invalid = cJSON_AddArrayToObject(out, "InvalidParameters");
    cJSON_ArrayForEach(id, names)
    {
        char name[300];
        char value[400];
        char arn[400];
        const char *colon;
        const char *sel = NULL;
        cJSON *p;

        n++;
        if (!strncmp(id->valuestring, "/missing", 8)) {
            cJSON_AddItemToArray(invalid, cJSON_CreateString(id->valuestring));
            continue;
        }
        /* NAME[:SEL] or ARN[:SEL]: the selector follows the last ':' after "parameter/". */
        colon = strrchr(id->valuestring, ':');
        if (colon &&
            (strncmp(id->valuestring, "arn:", 4) != 0 || strstr(colon, "parameter/") == NULL))
            sel = colon + 1;
        if (!strncmp(id->valuestring, "arn:", 4) && colon && strstr(colon, "parameter/"))
            sel = NULL;
        (void)snprintf(name, sizeof(name), "%.*s",
                       sel ? (int)(colon - id->valuestring) : (int)strlen(id->valuestring),
                       id->valuestring);
        p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "Name", name);
        cJSON_AddStringToObject(p, "Type", "SecureString");
        (void)snprintf(value, sizeof(value), "value of %s " CANARY, name);
        cJSON_AddStringToObject(p, "Value", value);
        cJSON_AddNumberToObject(p, "Version",
                                sel && sel[0] >= '0' && sel[0] <= '9' ? atoi(sel) : 4);
        if (sel) {
            char s[120];

            (void)snprintf(s, sizeof(s), ":%s", sel);
            cJSON_AddStringToObject(p, "Selector", s);
        }
        if (strncmp(name, "arn:", 4) != 0) {
            (void)snprintf(arn, sizeof(arn), "arn:aws:ssm:eu-central-1:" ACCT ":parameter/%s",
                           name + (name[0] == '/'));
            cJSON_AddStringToObject(p, "ARN", arn);
        } else {
            cJSON_AddStringToObject(p, "ARN", name);
        }
        cJSON_AddItemToArray(params, p);
    }
    if (n > svc.max_names)
        svc.max_names = n;
    text = cJSON_PrintUnformatted(out);
    fake_answer(resp, 200, text);
    cJSON_free(text);
    cJSON_Delete(out);
}

static int setup(void **state)
{
    (void)state;
    memset(&fa, 0, sizeof(fa));
    memset(&svc, 0, sizeof(svc));
    svc.with_decryption = 1;
    fa.handle = canned;
    memset(&creds, 0, sizeof(creds));
    (void)snprintf(creds.source, sizeof(creds.source), "env");
    unsetenv("AWS_ENDPOINT_URL_SSM");
    return 0;
}

static void ctx_init(struct sm_ctx *ctx)
{
    fake_sm_ctx(ctx, &fa, &creds, SM_FETCH_AUTO);
}

static void parse_ref(const char *s, struct ref *r)
{
    struct inj_err err = UNIT_ERR_INIT;

    if (ref_parse(s, r, &err) != INJ_OK)
        fail_msg("%s: %s", s, err.msg);
}

/* 25 parameters in eu-central-1 and 3 in eu-west-1 (by ARN): 3 + 1 calls, 10 names at most,
 * every value where it belongs, WithDecryption on every call, one engine run. */
static void batches_of_ten(void **state)
{
    struct sm_ctx ctx;
    struct ref refs[28];
    struct sm_item items[28];
    char s[200];
    size_t calls = 0;
    size_t i;

    (void)state;
    ctx_init(&ctx);
    for (i = 0; i < 28; i++) {
        if (i < 25)
            (void)snprintf(s, sizeof(s), "ssm:/app/p%02zu", i);
        else
            (void)snprintf(s, sizeof(s), "arn:aws:ssm:eu-west-1:" ACCT ":parameter/w/p%02zu", i);
        parse_ref(s, &refs[i]);
        memset(&items[i], 0, sizeof(items[i]));
        items[i].ref = &refs[i];
    }
    ssm_get_parameters(&ctx, items, 28, 4, &calls);
    assert_int_equal(calls, 4);
    assert_int_equal(fake_count(&fa, "GetParameters"), 4);
    assert_int_equal(svc.max_names, 10);
    assert_true(svc.with_decryption);
    assert_int_equal(fake_count_for(&fa, "GetParameters",
                                    "arn:aws:ssm:eu-west-1:" ACCT ":parameter/w/p25,"
                                    "arn:aws:ssm:eu-west-1:" ACCT ":parameter/w/p26,"
                                    "arn:aws:ssm:eu-west-1:" ACCT ":parameter/w/p27",
                                    ""),
                     1);
    assert_string_equal(fa.calls[3].region, "eu-west-1");
    for (i = 0; i < 28; i++) {
        char want[300];

        assert_int_equal(items[i].rc, INJ_OK);
        (void)snprintf(want, sizeof(want), "value of %s " CANARY, refs[i].secret_id);
        assert_int_equal(items[i].secret.value.len, strlen(want));
        assert_memory_equal(items[i].secret.value.p, want, strlen(want));
        assert_string_equal(items[i].secret.type, "SecureString");
        assert_string_equal(items[i].secret.version_id, "4");
        sm_secret_free(&items[i].secret);
        sm_fail_free(&items[i].fail);
        ref_free(&refs[i]);
    }
}

/* Selectors are sent after the name and matched in the answer; the same name with two
 * selectors are two items. */
static void selectors(void **state)
{
    struct sm_ctx ctx;
    struct ref refs[3];
    struct sm_item items[3];
    size_t i;

    (void)state;
    ctx_init(&ctx);
    parse_ref("ssm:/db/pw", &refs[0]);
    parse_ref("ssm:/db/pw:2", &refs[1]);
    parse_ref("ssm:/db/pw:live", &refs[2]);
    memset(items, 0, sizeof(items));
    for (i = 0; i < 3; i++)
        items[i].ref = &refs[i];
    ssm_get_parameters(&ctx, items, 3, 1, NULL);
    assert_int_equal(fake_count_for(&fa, "GetParameters", "/db/pw,/db/pw:2,/db/pw:live", ""), 1);
    for (i = 0; i < 3; i++)
        assert_int_equal(items[i].rc, INJ_OK);
    assert_string_equal(items[0].secret.version_id, "4");
    assert_string_equal(items[0].secret.stages, "");
    assert_string_equal(items[1].secret.version_id, "2");
    assert_string_equal(items[1].secret.stages, "2");
    assert_string_equal(items[2].secret.stages, "live");
    for (i = 0; i < 3; i++) {
        sm_secret_free(&items[i].secret);
        sm_fail_free(&items[i].fail);
        ref_free(&refs[i]);
    }
}

/* InvalidParameters: not found (65) naming the parameter (with its selector) and region;
 * the others still get their values. */
static void invalid_parameters(void **state)
{
    struct sm_ctx ctx;
    struct ref refs[2];
    struct sm_item items[2];

    (void)state;
    ctx_init(&ctx);
    parse_ref("ssm:/missing/x:3", &refs[0]);
    parse_ref("ssm:/present", &refs[1]);
    memset(items, 0, sizeof(items));
    items[0].ref = &refs[0];
    items[1].ref = &refs[1];
    ssm_get_parameters(&ctx, items, 2, 1, NULL);
    assert_int_equal(items[0].rc, INJ_E_MISSING);
    assert_int_equal(items[0].kind, AWS_K_NOT_FOUND);
    assert_contains(sm_fail_msg(items[0].fail), "/missing/x:3: not found in eu-central-1");
    assert_contains(sm_fail_msg(items[0].fail), "version or label");
    assert_contains(sm_fail_why(items[0].fail), "not found in eu-central-1");
    assert_null(strstr(sm_fail_why(items[0].fail), "/missing"));
    assert_int_equal(items[1].rc, INJ_OK);
    sm_secret_free(&items[1].secret);
    sm_fail_free(&items[1].fail);
    sm_fail_free(&items[0].fail);
    ref_free(&refs[0]);
    ref_free(&refs[1]);
}

/* The whole call refused: each item says why, with SSM's own action and KMS's. */
static void call_errors(void **state)
{
    static const struct {
        const char *code;
        const char *msg;
        enum inj_rc rc;
        const char *want;
    } cases[] = {
        {"AccessDeniedException",
         "User: arn:aws:sts::1:assumed-role/r/s is not authorized to perform: ssm:GetParameters",
         INJ_E_NOPERM, "ssm:GetParameters denied"},
        {"AccessDeniedException",
         "User: x is not authorized to perform: kms:Decrypt on resource: arn:aws:kms:k",
         INJ_E_NOPERM, "kms:ViaService ssm.eu-central-1.amazonaws.com"},
        {"InvalidKeyId", "key disabled", INJ_E_NOPERM, "kms:Decrypt denied"},
        {"ThrottlingException", "Rate exceeded", INJ_E_TEMPFAIL,
         "throttled by SSM Parameter Store"},
        {"ParameterNotFound", "", INJ_E_MISSING, "not found in eu-central-1"},
    };
    struct sm_ctx ctx;
    struct ref r;
    struct sm_item it;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ctx_init(&ctx);
        svc.error = cases[i].code;
        svc.message = cases[i].msg;
        parse_ref("ssm:/db/pw", &r);
        memset(&it, 0, sizeof(it));
        it.ref = &r;
        ssm_get_parameters(&ctx, &it, 1, 1, NULL);
        assert_int_equal(it.rc, cases[i].rc);
        assert_contains(sm_fail_msg(it.fail), "/db/pw: ");
        assert_contains(sm_fail_msg(it.fail), cases[i].want);
        assert_null(it.secret.value.p);
        sm_fail_free(&it.fail);
        ref_free(&r);
    }
}

/* Throttled: retried by the engine (max_attempts), each retry one more call. */
static void throttle_retried(void **state)
{
    struct sm_ctx ctx;
    struct ref r;
    struct sm_item it;

    (void)state;
    ctx_init(&ctx);
    ctx.max_attempts = 2;
    svc.error = "ThrottlingException";
    parse_ref("ssm:/db/pw", &r);
    memset(&it, 0, sizeof(it));
    it.ref = &r;
    ssm_get_parameters(&ctx, &it, 1, 1, NULL);
    assert_int_equal(it.rc, INJ_E_TEMPFAIL);
    assert_int_equal(svc.calls, 2);
    assert_contains(sm_fail_msg(it.fail), "after 2 attempt(s)");
    sm_fail_free(&it.fail);
    ref_free(&r);
}

static struct http_resp resp_of(const char *body)
{
    struct http_resp r;

    memset(&r, 0, sizeof(r));
    r.status = 200;
    r.body.max = SSM_MAX_RESPONSE;
    assert_int_equal(sbuf_append(&r.body, body, strlen(body)), SBUF_OK);
    return r;
}

/* The parser on its own: match by ARN, NUL values, oversize, malformed answers. */
static void parser(void **state)
{
    struct sm_ctx ctx;
    struct ref refs[3];
    struct sm_item items[3];
    struct sm_item *pi[3] = {&items[0], &items[1], &items[2]};
    struct http_resp resp;
    char *big;
    size_t i;

    (void)state;
    ctx_init(&ctx);
    jx_init();
    parse_ref("arn:aws:ssm:eu-central-1:" ACCT ":parameter/a", &refs[0]);
    parse_ref("ssm:/b", &refs[1]);
    parse_ref("ssm:c", &refs[2]);
    memset(items, 0, sizeof(items));
    for (i = 0; i < 3; i++)
        items[i].ref = &refs[i];
    /* Answered by name with its ARN; b's value holds a NUL; c not answered at all. */
    resp = resp_of("{\"Parameters\":[{\"Name\":\"/a\",\"ARN\":\"arn:aws:ssm:eu-central-1:" ACCT
                   ":parameter/a\",\"Value\":\"x" CANARY "\",\"Version\":1,\"Type\":\"String\"},"
                   "{\"Name\":\"/b\",\"Value\":\"y\\u0000" CANARY "\",\"Version\":1}],"
                   "\"InvalidParameters\":[]}");
    assert_int_equal(ssm_parse_parameters(&ctx, "eu-central-1", &resp, pi, 3), INJ_OK);
    assert_int_equal(items[0].rc, INJ_OK);
    assert_string_equal(items[0].secret.type, "String");
    assert_int_equal(items[1].rc, INJ_E_DATA);
    assert_contains(sm_fail_msg(items[1].fail), "NUL");
    assert_int_equal(items[2].rc, INJ_E_UNAVAILABLE);
    assert_contains(sm_fail_msg(items[2].fail), "answered neither");
    for (i = 0; i < 3; i++) {
        assert_null(strstr(sm_fail_msg(items[i].fail), CANARY));
        sm_secret_free(&items[i].secret);
        sm_fail_free(&items[i].fail);
    }
    http_resp_free(&resp);
    /* Oversize value: refused for that parameter. */
    big = malloc(SSM_MAX_VALUE + 200);
    assert_non_null(big);
    memcpy(big, "{\"Parameters\":[{\"Name\":\"c\",\"Value\":\"", 36);
    memset(big + 36, 'v', SSM_MAX_VALUE + 1);
    memcpy(big + 36 + SSM_MAX_VALUE + 1, "\"}]}", 5);
    resp = resp_of(big);
    free(big);
    assert_int_equal(ssm_parse_parameters(&ctx, "eu-central-1", &resp, pi + 2, 1), INJ_OK);
    assert_int_equal(items[2].rc, INJ_E_DATA);
    assert_contains(sm_fail_msg(items[2].fail), "larger than 65536 bytes");
    http_resp_free(&resp);
    /* Not an answer at all. */
    static const char *const junk[] = {
        "[]", "{\"Parameters\":{}}", "{\"InvalidParameters\":3}", "not json", "\xff\xfe", ""};
    for (i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
        resp = resp_of(junk[i]);
        assert_int_equal(ssm_parse_parameters(&ctx, "eu-central-1", &resp, pi, 3),
                         INJ_E_UNAVAILABLE);
        assert_int_equal(items[0].rc, INJ_E_UNAVAILABLE);
        assert_contains(sm_fail_msg(items[0].fail), "SSM response");
        http_resp_free(&resp);
    }
    /* Duplicate Value members (the NUL scan and cJSON disagree): refused as a whole. */
    resp = resp_of("{\"Parameters\":[{\"Name\":\"c\",\"Value\":\"a\",\"Value\":\"b\"}]}");
    assert_int_equal(ssm_parse_parameters(&ctx, "eu-central-1", &resp, pi + 2, 1),
                     INJ_E_UNAVAILABLE);
    http_resp_free(&resp);
    for (i = 0; i < 3; i++) {
        sm_fail_free(&items[i].fail);
        ref_free(&refs[i]);
    }
}

/* fetch_all with both services: one GetParameters and one GetSecretValue, in one run. */
static void handle_both(struct fake_aws *f, const struct http_req *req, const char *action,
                        const cJSON *in, struct http_resp *resp)
{
    if (!strcmp(action, "GetParameters"))
        canned(f, req, action, in, resp);
    else
        fake_sm_answer(f, req, action, in, resp);
}

static void fetch_mixed(void **state)
{
    struct sm_ctx ctx;
    struct ref refs[3];
    struct fetched f[3];
    size_t calls = 0;
    size_t i;

    (void)state;
    ctx_init(&ctx);
    fa.handle = handle_both;
    fake_add(&fa, "db", "v1", "{\"u\":\"" CANARY "\"}");
    parse_ref("db", &refs[0]);
    parse_ref("ssm:/db/pw", &refs[1]);
    parse_ref("ssm:/missing/y", &refs[2]);
    memset(f, 0, sizeof(f));
    for (i = 0; i < 3; i++) {
        f[i].ref = &refs[i];
        f[i].rc = INJ_E_SOFTWARE;
    }
    fetch_all(&ctx, f, 3, &calls);
    assert_int_equal(calls, 2);
    assert_int_equal(fake_count(&fa, "GetParameters"), 1);
    assert_int_equal(fake_count(&fa, "GetSecretValue"), 1);
    assert_int_equal(fake_count(&fa, NULL), 2);
    assert_int_equal(f[0].rc, INJ_OK);
    assert_int_equal(f[1].rc, INJ_OK);
    assert_int_equal(f[2].rc, INJ_E_MISSING);
    assert_contains(sm_fail_msg(f[2].fail), "/missing/y: not found in eu-central-1");
    for (i = 0; i < 3; i++) {
        sm_secret_free(&f[i].secret);
        sm_fail_free(&f[i].fail);
        ref_free(&refs[i]);
    }
}

/* The name rule from a path: the name below the path (ssm_path_key), then expand's rule. */
static void path_names(void **state)
{
    static const struct {
        const char *path, *name, *prefix, *want; /* want NULL: not under the path */
    } cases[] = {
        {"/prod/app", "/prod/app/db_password", "", "DB_PASSWORD"},
        {"/prod/app", "/prod/app/db/password", "", "DB_PASSWORD"},
        {"/prod/app", "/prod/app/nested/deep/api-key", "", "NESTED_DEEP_API_KEY"},
        {"/prod/app", "/prod/app/api.key", "APP_", "APP_API_KEY"},
        {"/prod/app", "/prod/app/2fa", "", "_2FA"},
        {"/prod/app", "/prod/app/x", "", "X"},
        {"/prod/app", "/prod/application/x", "", NULL}, /* a sibling with the same start */
        {"/prod/app", "/prod/app", "", NULL},           /* the path itself */
        {"/prod/app", "/prod/app/", "", NULL},
        {"/prod/app", "/other/x", "", NULL},
        {"/", "/x/y", "", "X_Y"},
    };
    char name[256];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *key = ssm_path_key(cases[i].path, cases[i].name);

        if (!cases[i].want) {
            assert_null(key);
            continue;
        }
        assert_non_null(key);
        assert_int_equal(expand_name(cases[i].prefix, key, name, sizeof(name)), 1);
        assert_string_equal(name, cases[i].want);
    }
}

/* One GetParametersByPath page: the parameters below the path with their keys, NextToken,
 * and every kind of refusal (a name not under the path, nested without recursive, NUL,
 * oversize, malformed), never with a value in the message. */
static void path_page(void **state)
{
    struct ref r;
    struct inj_err err;
    struct http_resp resp;
    cJSON *acc;
    char *token = NULL;
    size_t i;

    (void)state;
    jx_init();
    parse_ref("ssm:/p", &r);
    r.path = 1;
    r.path_max = 5;
    acc = cJSON_CreateArray();
    resp = resp_of("{\"Parameters\":[{\"Name\":\"/p/b\",\"Value\":\"" CANARY "\",\"Version\":3},"
                   "{\"Name\":\"/p/a\",\"Value\":\"x\",\"Version\":1}],\"NextToken\":\"T1\"}");
    assert_int_equal(ssm_parse_path_page(&r, "/p", &resp, acc, &token, &err), INJ_OK);
    http_resp_free(&resp);
    assert_string_equal(token, "T1");
    free(token);
    assert_int_equal(cJSON_GetArraySize(acc), 2);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(acc, 0), "k")->valuestring, "b");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(acc, 0), "n")->valuestring, "3");
    /* The last page: no NextToken. */
    resp = resp_of("{\"Parameters\":[]}");
    assert_int_equal(ssm_parse_path_page(&r, "/p", &resp, acc, &token, &err), INJ_OK);
    assert_null(token);
    http_resp_free(&resp);
    {
        static const struct {
            const char *body, *msg;
            enum inj_rc rc;
        } bad[] = {
            {"{\"Parameters\":[{\"Name\":\"/q/a\",\"Value\":\"" CANARY "\"}]}",
             "which is not directly under the path", INJ_E_UNAVAILABLE},
            {"{\"Parameters\":[{\"Name\":\"/p/a/b\",\"Value\":\"" CANARY "\"}]}",
             "which is not directly under the path", INJ_E_UNAVAILABLE},
            {"{\"Parameters\":[{\"Name\":\"/p/a\",\"Value\":\"a\\u0000" CANARY "\"}]}",
             "holds a NUL character", INJ_E_DATA},
            {"{\"Parameters\":[{\"Name\":\"/p/a\"}]}", "without a Name or Value",
             INJ_E_UNAVAILABLE},
            {"{\"Parameters\":[],\"NextToken\":\"\"}", "not a GetParametersByPath answer",
             INJ_E_UNAVAILABLE},
            {"{\"Parameters\":{}}", "not a GetParametersByPath answer", INJ_E_UNAVAILABLE},
            {"[]", "not a GetParametersByPath answer", INJ_E_UNAVAILABLE},
            {"not json", "not a GetParametersByPath answer", INJ_E_UNAVAILABLE},
            {"\xff", "not valid UTF-8 JSON", INJ_E_UNAVAILABLE},
        };

        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            resp = resp_of(bad[i].body);
            assert_int_equal(ssm_parse_path_page(&r, "/p", &resp, acc, &token, &err), bad[i].rc);
            assert_null(token);
            assert_contains(err.msg, bad[i].msg);
            assert_null(strstr(err.msg, CANARY));
            http_resp_free(&resp);
        }
    }
    /* Nested names are fine when recursive. */
    r.recursive = 1;
    resp = resp_of("{\"Parameters\":[{\"Name\":\"/p/a/b\",\"Value\":\"v\"}]}");
    assert_int_equal(ssm_parse_path_page(&r, "/p", &resp, acc, &token, &err), INJ_OK);
    http_resp_free(&resp);
    cJSON_Delete(acc);
    ref_free(&r);
}

/* ssm_get_paths on the canned engine: three pages, then the variables sorted; the max bound
 * ends the read after the page that passes it. */
static void paths_paged(struct fake_aws *f, const struct http_req *req, const char *action,
                        const cJSON *in, struct http_resp *resp)
{
    const cJSON *tok = cJSON_GetObjectItem(in, "NextToken");
    int page = cJSON_IsString(tok) ? atoi(tok->valuestring) : 0;
    char body[2048];
    size_t o;
    int i;

    (void)f;
    (void)req;
    assert_string_equal(action, "GetParametersByPath");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(in, "WithDecryption")));
    assert_string_equal(cJSON_GetObjectItem(in, "Path")->valuestring, "/p");
    svc.calls++;
    o = (size_t)snprintf(body, sizeof(body), "{\"Parameters\":[");
    for (i = 0; i < (page < 2 ? 10 : 3); i++)
        o += (size_t)snprintf(body + o, sizeof(body) - o,
                              "%s{\"Name\":\"/p/k%02d\",\"Value\":"
                              "\"" CANARY "%d\",\"Version\":1}",
                              i ? "," : "", 29 - (page * 10 + i), page * 10 + i);
    if (page < 2)
        (void)snprintf(body + o, sizeof(body) - o, "],\"NextToken\":\"%d\"}", page + 1);
    else
        (void)snprintf(body + o, sizeof(body) - o, "]}");
    resp->status = 200;
    assert_int_equal(sbuf_append_str(&resp->body, body), SBUF_OK);
}

static void paths_fetch(void **state)
{
    struct sm_ctx ctx;
    struct ref r;
    struct sm_item it;
    size_t calls = 0;

    (void)state;
    ctx_init(&ctx);
    fa.handle = paths_paged;
    parse_ref("ssm:/p", &r);
    r.path = 1;
    r.path_max = 23;
    memset(&it, 0, sizeof(it));
    it.ref = &r;
    ssm_get_paths(&ctx, &it, 1, 1, &calls);
    assert_int_equal(it.rc, INJ_OK);
    assert_int_equal(calls, 3);
    assert_int_equal(it.secret.value.p[0], '{');
    /* Sorted by key: k07 (value 22) first, k29 (value 0) last. */
    assert_non_null(strstr((const char *)it.secret.value.p, "{\"k07\":\"" CANARY "22\""));
    assert_string_equal(it.secret.arn, "path /p/");
    assert_int_equal(strncmp(it.secret.version_id, "23-", 3), 0);
    sm_secret_free(&it.secret);
    sm_fail_free(&it.fail);
    /* One fewer allowed: the third page passes the bound. */
    r.path_max = 22;
    calls = 0;
    memset(&it, 0, sizeof(it));
    it.ref = &r;
    ssm_get_paths(&ctx, &it, 1, 1, &calls);
    assert_int_equal(it.rc, INJ_E_CONFIG);
    assert_contains(sm_fail_msg(it.fail), "at least 23 parameters, more than max: 22");
    r.path_max = 5;
    calls = 0;
    ssm_get_paths(&ctx, &it, 1, 1, &calls);
    assert_int_equal(calls, 1);
    assert_contains(sm_fail_msg(it.fail), "at least 10 parameters, more than max: 5");
    assert_null(strstr(sm_fail_msg(it.fail), CANARY));
    sm_fail_free(&it.fail);
    ref_free(&r);
}

/* ssm_get_paths for a Secrets Manager read by tags, on a canned Secrets Manager: ListSecrets
 * lists tg.exact secrets tagged team=api (p/k000...) and tg.over tagged team=apiary (p/o000...,
 * which AWS's prefix filters also list), 100 a page; BatchGetSecretValue answers its
 * SecretIdList (ARNs), all but tg.drop (deleted since it was listed), which GetSecretValue then
 * does not find. */
static struct {
    int exact;
    int over;
    const char *drop;
    int list_calls;
    int batch_calls;
    int get_calls;
    int most_ids;
} tg;

#define TG_ARN "arn:aws:secretsmanager:eu-central-1:" ACCT ":secret:"

static void tagged(struct fake_aws *f, const struct http_req *req, const char *action,
                   const cJSON *in, struct http_resp *resp)
{
    cJSON *out = cJSON_CreateObject();
    char *text;
    char name[64];
    char arn[128];
    long status = 200;

    (void)f;
    (void)req;
    if (!strcmp(action, "ListSecrets")) {
        const cJSON *tok = cJSON_GetObjectItem(in, "NextToken");
        cJSON *list = cJSON_AddArrayToObject(out, "SecretList");
        int start = cJSON_IsString(tok) ? atoi(tok->valuestring) : 0;
        int i;

        tg.list_calls++;
        assert_int_equal(cJSON_GetObjectItem(in, "MaxResults")->valueint, 100);
        assert_true(cJSON_IsFalse(cJSON_GetObjectItem(in, "IncludePlannedDeletion")));
        for (i = start; i < start + 100 && i < tg.exact + tg.over; i++) {
            cJSON *s = cJSON_CreateObject();
            cJSON *tags = cJSON_AddArrayToObject(s, "Tags");
            cJSON *t = cJSON_CreateObject();

            (void)snprintf(name, sizeof(name), "p/%c%03d", i < tg.exact ? 'k' : 'o', i);
            (void)snprintf(arn, sizeof(arn), TG_ARN "%s-Ab12Cd", name);
            cJSON_AddStringToObject(s, "ARN", arn);
            cJSON_AddStringToObject(s, "Name", name);
            cJSON_AddStringToObject(t, "Key", "team");
            cJSON_AddStringToObject(t, "Value", i < tg.exact ? "api" : "apiary");
            cJSON_AddItemToArray(tags, t);
            cJSON_AddItemToArray(list, s);
        }
        if (i < tg.exact + tg.over) {
            (void)snprintf(name, sizeof(name), "%d", i);
            cJSON_AddStringToObject(out, "NextToken", name);
        }
    } else if (!strcmp(action, "GetSecretValue")) {
        /* Only the match the batch answer lacked is asked for on its own. */
        tg.get_calls++;
        assert_non_null(tg.drop);
        (void)snprintf(arn, sizeof(arn), TG_ARN "%s-Ab12Cd", tg.drop);
        assert_string_equal(cJSON_GetObjectItem(in, "SecretId")->valuestring, arn);
        cJSON_AddStringToObject(out, "__type", "ResourceNotFoundException");
        cJSON_AddStringToObject(out, "Message", "Secrets Manager can't find the specified secret.");
        status = 400;
    } else {
        const cJSON *ids = cJSON_GetObjectItem(in, "SecretIdList");
        cJSON *vals = cJSON_AddArrayToObject(out, "SecretValues");
        const cJSON *id;

        assert_string_equal(action, "BatchGetSecretValue");
        assert_null(cJSON_GetObjectItem(in, "Filters"));
        tg.batch_calls++;
        if (cJSON_GetArraySize(ids) > tg.most_ids)
            tg.most_ids = cJSON_GetArraySize(ids);
        cJSON_ArrayForEach(id, ids)
        {
            const char *n = id->valuestring + strlen(TG_ARN);
            cJSON *v;

            assert_int_equal(strncmp(id->valuestring, TG_ARN, strlen(TG_ARN)), 0);
            assert_int_equal(n[2], 'k'); /* never an over-matched secret */
            (void)snprintf(name, sizeof(name), "%.*s", (int)(strlen(n) - 7), n);
            if (tg.drop && !strcmp(name, tg.drop))
                continue;
            v = cJSON_CreateObject();
            cJSON_AddStringToObject(v, "ARN", id->valuestring);
            cJSON_AddStringToObject(v, "Name", name);
            cJSON_AddStringToObject(v, "VersionId", "v1");
            cJSON_AddStringToObject(v, "SecretString", CANARY);
            cJSON_AddItemToArray(vals, v);
        }
        cJSON_AddArrayToObject(out, "Errors");
    }
    text = cJSON_PrintUnformatted(out);
    resp->status = status;
    resp->body.max = SM_MAX_LIST_RESPONSE;
    assert_int_equal(sbuf_append_str(&resp->body, text), SBUF_OK);
    cJSON_free(text);
    cJSON_Delete(out);
}

static void tagged_read(struct ref *r, size_t max, struct sm_item *it, size_t *calls)
{
    struct sm_ctx ctx;

    ctx_init(&ctx);
    tg.list_calls = 0;
    tg.batch_calls = 0;
    tg.get_calls = 0;
    tg.most_ids = 0;
    r->path_max = max;
    memset(it, 0, sizeof(*it));
    it->ref = r;
    *calls = 0;
    ssm_get_paths(&ctx, it, 1, 1, calls);
}

static void tags_fetch(void **state)
{
    struct ref_tag tag = {(char *)(uintptr_t) "team", (char *)(uintptr_t) "api"};
    struct ref r;
    struct sm_item it;
    size_t calls;

    (void)state;
    fa.handle = tagged;
    memset(&r, 0, sizeof(r));
    r.service = REF_SM;
    r.secret_id = (char *)(uintptr_t) "p/";
    r.path = 1;
    r.tags = &tag;
    r.ntags = 1;
    /* 25 exact, 90 over-matched: 115 listed (2 pages), 25 read by ARN (2 calls: 20 and 5). */
    tg.exact = 25;
    tg.over = 90;
    tagged_read(&r, 25, &it, &calls);
    assert_int_equal(it.rc, INJ_OK);
    assert_int_equal(tg.list_calls, 2);
    assert_int_equal(tg.batch_calls, 2);
    assert_int_equal(tg.most_ids, 20);
    assert_int_equal(calls, 4);
    assert_non_null(strstr((const char *)it.secret.value.p, "\"k000\":\"" CANARY "\""));
    assert_non_null(strstr((const char *)it.secret.value.p, "\"k024\":"));
    assert_null(strstr((const char *)it.secret.value.p, "\"o"));
    assert_string_equal(it.secret.name, "secrets p/* tagged team=api");
    assert_int_equal(strncmp(it.secret.version_id, "25-", 3), 0);
    sm_secret_free(&it.secret);
    sm_fail_free(&it.fail);
    /* max counts exact matches only: 25 > 24 fails after the first page, before any value. */
    tagged_read(&r, 24, &it, &calls);
    assert_int_equal(it.rc, INJ_E_CONFIG);
    assert_contains(sm_fail_msg(it.fail), "at least 25 secrets match, more than max: 24");
    assert_int_equal(tg.list_calls, 1);
    assert_int_equal(tg.batch_calls, 0);
    sm_fail_free(&it.fail);
    /* A match gone by the time it is read: the batch answer lacks it, its own GetSecretValue
     * does not find it, and the read fails naming it. */
    tg.drop = "p/k021";
    tagged_read(&r, 25, &it, &calls);
    assert_int_equal(it.rc, INJ_E_MISSING);
    assert_int_equal(tg.get_calls, 1);
    assert_int_equal(calls, 5);
    assert_contains(sm_fail_msg(it.fail), "secrets p/* tagged team=api: a secret it matched could "
                                          "not be read: " TG_ARN "p/k021-Ab12Cd");
    assert_contains(sm_fail_msg(it.fail), "not found");
    assert_null(strstr(sm_fail_msg(it.fail), CANARY));
    assert_null(it.secret.value.p);
    sm_fail_free(&it.fail);
    /* Pages of near-misses count towards no bound of max: 1 exact match among 15,000 listed
     * (151 pages) is read with max: 1 (it stopped after max + 101 pages); only max + 1,000
     * pages without the listing ending stop it, saying why. */
    tg.drop = NULL;
    tg.exact = 1;
    tg.over = 15000;
    tagged_read(&r, 1, &it, &calls);
    assert_int_equal(it.rc, INJ_OK);
    assert_int_equal(tg.list_calls, 151);
    assert_int_equal(tg.batch_calls, 1);
    sm_secret_free(&it.secret);
    sm_fail_free(&it.fail);
    tg.over = 100200;
    tagged_read(&r, 1, &it, &calls);
    assert_int_equal(it.rc, INJ_E_UNAVAILABLE);
    assert_contains(sm_fail_msg(it.fail), "ListSecrets pages read and the listing has not ended");
    assert_contains(sm_fail_msg(it.fail), "narrow the read with a name prefix");
    assert_int_equal(tg.list_calls, 1002);
    assert_int_equal(tg.batch_calls, 0);
    sm_fail_free(&it.fail);
    /* No exact match: an empty read, one call. */
    tg.over = 90;
    tg.exact = 0;
    tagged_read(&r, 5, &it, &calls);
    assert_int_equal(it.rc, INJ_OK);
    assert_int_equal(calls, 1);
    assert_string_equal((const char *)it.secret.value.p, "{}");
    sm_secret_free(&it.secret);
    sm_fail_free(&it.fail);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(batches_of_ten, setup),
        cmocka_unit_test_setup(selectors, setup),
        cmocka_unit_test_setup(invalid_parameters, setup),
        cmocka_unit_test_setup(call_errors, setup),
        cmocka_unit_test_setup(throttle_retried, setup),
        cmocka_unit_test_setup(parser, setup),
        cmocka_unit_test_setup(fetch_mixed, setup),
        cmocka_unit_test_setup(path_names, setup),
        cmocka_unit_test_setup(path_page, setup),
        cmocka_unit_test_setup(paths_fetch, setup),
        cmocka_unit_test_setup(tags_fetch, setup),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
