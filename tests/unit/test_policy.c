/* test_policy.c: `injector policy`: resources for full ARNs, partial ARNs and names, the
 * account and region they get, the batch statement, kms:Decrypt via Secrets Manager,
 * deduplication, sorting and byte-for-byte determinism, and the refusals. */
#include "unit.h"

#include <cjson/cJSON.h>

#include "config.h"
#include "policy.h"

#define ACCT "111122223333"
#define ARN_EU "arn:aws:secretsmanager:eu-central-1:" ACCT ":secret:"

/* Parses yaml and builds its policy; returns rc, *out set on success (caller frees). */
static enum sm_fetch_mode fetch_mode = SM_FETCH_UNSET;

static enum inj_rc build(const char *yaml, const char *region, const char *account, char **out,
                         struct inj_err *err)
{
    struct config c;
    struct policy_opts o;
    enum inj_rc rc;

    memset(&c, 0, sizeof(c));
    rc = config_parse("app.yaml", (const unsigned char *)yaml, strlen(yaml), &c, err);
    if (rc != INJ_OK)
        print_error("config_parse: %s\n", err->msg);
    assert_int_equal(rc, INJ_OK);
    o.region = region;
    o.account = account;
    o.fetch = fetch_mode;
    *out = NULL;
    rc = policy_build(&c, &o, out, err);
    config_free(&c);
    return rc;
}

/* Builds the policy, which must succeed, and returns it parsed (cJSON_Delete). */
static cJSON *build_ok(const char *yaml, const char *region, const char *account, char **text)
{
    struct inj_err err = UNIT_ERR_INIT;
    char *out = NULL;
    cJSON *doc;
    enum inj_rc rc = build(yaml, region, account, &out, &err);

    if (rc != INJ_OK)
        print_error("policy_build: %s\n", err.msg);
    assert_int_equal(rc, INJ_OK);
    assert_non_null(out);
    doc = cJSON_Parse(out);
    assert_non_null(doc);
    if (text)
        *text = out;
    else
        free(out);
    return doc;
}

static void build_bad(const char *yaml, const char *region, const char *account,
                      enum inj_rc want_rc, const char *want)
{
    struct inj_err err = UNIT_ERR_INIT;
    char *out = NULL;

    assert_int_equal(build(yaml, region, account, &out, &err), want_rc);
    assert_null(out);
    assert_int_equal(err.code, want_rc);
    assert_contains(err.msg, want);
}

/* The statement with this Sid, or NULL. */
static const cJSON *stmt(const cJSON *doc, const char *sid)
{
    const cJSON *s;

    cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(doc, "Statement"))
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(s, "Sid");
        if (cJSON_IsString(id) && !strcmp(id->valuestring, sid))
            return s;
    }
    return NULL;
}

/* Asserts that the statement's array at key (Resource) holds exactly want[0..n). */
static void assert_strings(const cJSON *arr, const char *const *want, size_t n)
{
    size_t i = 0;
    const cJSON *v;

    assert_true(cJSON_IsArray(arr));
    cJSON_ArrayForEach(v, arr)
    {
        assert_true(i < n);
        assert_true(cJSON_IsString(v));
        assert_string_equal(v->valuestring, want[i]);
        i++;
    }
    assert_int_equal(i, n);
}

static const char *const APP_YAML =
    "version: 1\n"
    "region: eu-central-1\n"
    "env:\n"
    "  DB_CONNECTION_STRING:\n"
    "    from: " ARN_EU "dev/fcj/momentum-Ab12Cd\n"
    "    key: DB_CONNECTION_STRING\n"
    "  PGUSER:     { from: \"rds!db-8fcc3794-ab80-4353-86fb-641f99a65793\", key: username }\n"
    "  PGPASSWORD: { from: \"rds!db-8fcc3794-ab80-4353-86fb-641f99a65793\", key: password }\n"
    "  API_TOKEN: \"" ARN_EU "api-Xy12Zz:token::\"\n"
    "files:\n"
    "  /run/secrets/db.json:\n"
    "    from: secretPostgresqlMasterUser\n";

static void example_config(void **state)
{
    static const char *const want[] = {
        "arn:aws:secretsmanager:eu-central-1:*:secret:"
        "rds!db-8fcc3794-ab80-4353-86fb-641f99a65793-??????",
        "arn:aws:secretsmanager:eu-central-1:*:secret:secretPostgresqlMasterUser-??????",
        ARN_EU "api-Xy12Zz",
        ARN_EU "dev/fcj/momentum-Ab12Cd",
    };
    static const char *const keys[] = {"arn:aws:kms:eu-central-1:*:key/*"};
    static const char *const via[] = {"secretsmanager.eu-central-1.amazonaws.com"};
    cJSON *doc;
    const cJSON *s;
    const cJSON *cond;

    (void)state;
    doc = build_ok(APP_YAML, "eu-central-1", NULL, NULL);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(doc, "Version")->valuestring,
                        "2012-10-17");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "Statement")), 3);
    s = stmt(doc, "ReadSecrets");
    assert_non_null(s);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(s, "Effect")->valuestring, "Allow");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(s, "Action")->valuestring,
                        "secretsmanager:GetSecretValue");
    /* Full ARNs as written (the key and stage fields dropped), names with the wildcard
     * suffix; the shared rds! secret once; sorted. */
    assert_strings(cJSON_GetObjectItemCaseSensitive(s, "Resource"), want, 4);
    s = stmt(doc, "BatchReadSecrets");
    assert_non_null(s);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(s, "Action")->valuestring,
                        "secretsmanager:BatchGetSecretValue");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(s, "Resource")->valuestring, "*");
    s = stmt(doc, "DecryptSecretsViaSecretsManager");
    assert_non_null(s);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(s, "Action")->valuestring, "kms:Decrypt");
    /* The account-wide wildcard covers 111122223333's keys in the same region. */
    assert_strings(cJSON_GetObjectItemCaseSensitive(s, "Resource"), keys, 1);
    cond = cJSON_GetObjectItemCaseSensitive(s, "Condition");
    cond = cJSON_GetObjectItemCaseSensitive(cond, "StringEquals");
    assert_strings(cJSON_GetObjectItemCaseSensitive(cond, "kms:ViaService"), via, 1);
    cJSON_Delete(doc);
}

static void account_option(void **state)
{
    static const char *const want[] = {
        ARN_EU "api-Xy12Zz",
        ARN_EU "dev/fcj/momentum-Ab12Cd",
        ARN_EU "rds!db-8fcc3794-ab80-4353-86fb-641f99a65793-??????",
        ARN_EU "secretPostgresqlMasterUser-??????",
    };
    static const char *const keys[] = {"arn:aws:kms:eu-central-1:" ACCT ":key/*"};
    cJSON *doc;

    (void)state;
    doc = build_ok(APP_YAML, "eu-central-1", ACCT, NULL);
    assert_strings(cJSON_GetObjectItemCaseSensitive(stmt(doc, "ReadSecrets"), "Resource"), want, 4);
    assert_strings(
        cJSON_GetObjectItemCaseSensitive(stmt(doc, "DecryptSecretsViaSecretsManager"), "Resource"),
        keys, 1);
    cJSON_Delete(doc);
}

/* The exact bytes: Python's json.dumps(indent=2) layout and a final newline. */
static void layout_and_determinism(void **state)
{
    static const char *const want =
        "{\n"
        "  \"Version\": \"2012-10-17\",\n"
        "  \"Statement\": [\n"
        "    {\n"
        "      \"Sid\": \"ReadSecrets\",\n"
        "      \"Effect\": \"Allow\",\n"
        "      \"Action\": \"secretsmanager:GetSecretValue\",\n"
        "      \"Resource\": [\n"
        "        \"arn:aws:secretsmanager:us-east-1:*:secret:prod/db-??????\"\n"
        "      ]\n"
        "    },\n"
        "    {\n"
        "      \"Sid\": \"DecryptSecretsViaSecretsManager\",\n"
        "      \"Effect\": \"Allow\",\n"
        "      \"Action\": \"kms:Decrypt\",\n"
        "      \"Resource\": [\n"
        "        \"arn:aws:kms:us-east-1:*:key/*\"\n"
        "      ],\n"
        "      \"Condition\": {\n"
        "        \"StringEquals\": {\n"
        "          \"kms:ViaService\": [\n"
        "            \"secretsmanager.us-east-1.amazonaws.com\"\n"
        "          ]\n"
        "        }\n"
        "      }\n"
        "    }\n"
        "  ]\n"
        "}\n";
    static const char *const a = "version: 1\n"
                                 "env:\n"
                                 "  A: prod/db:password\n"
                                 "  B: { from: prod/db, key: user }\n";
    static const char *const b = "version: 1\n"
                                 "env:\n"
                                 "  B: { from: prod/db, key: user }\n"
                                 "  A: prod/db:password\n";
    char *t1 = NULL;
    char *t2 = NULL;

    (void)state;
    cJSON_Delete(build_ok(a, "us-east-1", NULL, &t1));
    cJSON_Delete(build_ok(b, "us-east-1", NULL, &t2));
    /* One secret: nothing to batch, so no BatchGetSecretValue. */
    assert_string_equal(t1, want);
    assert_string_equal(t2, want);
    free(t1);
    free(t2);
}

/* Two fetches of one secret, or one of them at another stage: still nothing to batch. */
static void batch_only_for_two_current_secrets(void **state)
{
    cJSON *doc;

    (void)state;
    doc = build_ok("version: 1\n"
                   "env:\n"
                   "  A: { from: app/one, key: a }\n"
                   "  B: { from: app/two, key: b, version_stage: AWSPREVIOUS }\n",
                   "eu-west-1", NULL, NULL);
    assert_null(stmt(doc, "BatchReadSecrets"));
    assert_int_equal(
        cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(stmt(doc, "ReadSecrets"), "Resource")),
        2);
    cJSON_Delete(doc);
    doc = build_ok("version: 1\n"
                   "env:\n"
                   "  A: { from: app/one, key: a }\n"
                   "  B: { from: app/two, key: b, version_stage: AWSCURRENT }\n",
                   "eu-west-1", NULL, NULL);
    assert_non_null(stmt(doc, "BatchReadSecrets"));
    cJSON_Delete(doc);
}

/* The fetch mode decides as fetch.c does: auto batches 2+ AWSCURRENT secrets of one region,
 * batch any, single none. */
static void batch_follows_fetch_mode(void **state)
{
    static const char *const two_regions =
        "version: 1\n"
        "env:\n"
        "  A: { from: app/one, key: a }\n"
        "  B: \"arn:aws:secretsmanager:us-east-1:" ACCT ":secret:app/two-Ab12Cd:b\"\n";
    static const char *const one_region = "version: 1\n"
                                          "fetch: single\n"
                                          "env:\n"
                                          "  A: { from: app/one, key: a }\n"
                                          "  B: { from: app/two, key: b }\n";
    cJSON *doc;

    (void)state;
    doc = build_ok(two_regions, "eu-west-1", NULL, NULL);
    assert_null(stmt(doc, "BatchReadSecrets"));
    cJSON_Delete(doc);
    fetch_mode = SM_FETCH_BATCH;
    doc = build_ok(two_regions, "eu-west-1", NULL, NULL);
    assert_non_null(stmt(doc, "BatchReadSecrets"));
    cJSON_Delete(doc);
    fetch_mode = SM_FETCH_SINGLE;
    doc = build_ok(APP_YAML, "eu-central-1", NULL, NULL);
    assert_null(stmt(doc, "BatchReadSecrets"));
    cJSON_Delete(doc);
    fetch_mode = SM_FETCH_UNSET;
    /* fetch: single in the config; main.c lets --fetch override it. */
    doc = build_ok(one_region, "eu-west-1", NULL, NULL);
    assert_null(stmt(doc, "BatchReadSecrets"));
    cJSON_Delete(doc);
}

/* Partial ARN: the suffix wildcard is added; full ARN: as written. Other regions and
 * partitions get their own keys and ViaService values; the ARN's region beats --region. */
static void partial_arns_regions_partitions(void **state)
{
    static const char *const want[] = {
        "arn:aws-cn:secretsmanager:cn-north-1:" ACCT ":secret:cn/app-Zz99Yy",
        "arn:aws:secretsmanager:eu-west-1:" ACCT ":secret:plain-??????",
        "arn:aws:secretsmanager:us-east-1:" ACCT ":secret:team/db-??????",
    };
    static const char *const keys[] = {
        "arn:aws-cn:kms:cn-north-1:" ACCT ":key/*",
        "arn:aws:kms:eu-west-1:" ACCT ":key/*",
        "arn:aws:kms:us-east-1:" ACCT ":key/*",
    };
    static const char *const via[] = {
        "secretsmanager.cn-north-1.amazonaws.com.cn", /* China: its DNS suffix */
        "secretsmanager.eu-west-1.amazonaws.com",
        "secretsmanager.us-east-1.amazonaws.com",
    };
    cJSON *doc;
    const cJSON *s;

    (void)state;
    doc =
        build_ok("version: 1\n"
                 "env:\n"
                 "  A: \"arn:aws:secretsmanager:us-east-1:" ACCT ":secret:team/db:pw\"\n"
                 "  B: \"arn:aws-cn:secretsmanager:cn-north-1:" ACCT ":secret:cn/app-Zz99Yy:pw\"\n"
                 "  C: plain\n",
                 "eu-west-1", ACCT, NULL);
    assert_strings(cJSON_GetObjectItemCaseSensitive(stmt(doc, "ReadSecrets"), "Resource"), want, 3);
    s = stmt(doc, "DecryptSecretsViaSecretsManager");
    assert_strings(cJSON_GetObjectItemCaseSensitive(s, "Resource"), keys, 3);
    s = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(s, "Condition"),
                                         "StringEquals");
    assert_strings(cJSON_GetObjectItemCaseSensitive(s, "kms:ViaService"), via, 3);
    cJSON_Delete(doc);
}

/* Only full ARNs: no region needed at all. */
static void arns_need_no_region(void **state)
{
    cJSON *doc;

    (void)state;
    doc = build_ok("version: 1\n"
                   "env:\n"
                   "  A: \"" ARN_EU "api-Xy12Zz:token::\"\n",
                   NULL, NULL, NULL);
    assert_non_null(stmt(doc, "ReadSecrets"));
    cJSON_Delete(doc);
}

/* The secrets a template names are read too. */
static void template_secrets(void **state)
{
    static const char *const want[] = {
        "arn:aws:secretsmanager:eu-central-1:*:secret:api-??????",
        "arn:aws:secretsmanager:eu-central-1:*:secret:db/main-??????",
        "arn:aws:secretsmanager:eu-central-1:*:secret:rds!db-1-??????",
    };
    cJSON *doc;

    (void)state;
    doc = build_ok("version: 1\n"
                   "env:\n"
                   "  URL:\n"
                   "    from: db/main\n"
                   "    template: '{{ .user }}:{{ secret \"api\" .token }}:"
                   "{{ secret \"rds!db-1::AWSPREVIOUS\" .password }}'\n",
                   "eu-central-1", NULL, NULL);
    assert_strings(cJSON_GetObjectItemCaseSensitive(stmt(doc, "ReadSecrets"), "Resource"), want, 3);
    /* db/main and api at AWSCURRENT: two batchable secrets. */
    assert_non_null(stmt(doc, "BatchReadSecrets"));
    cJSON_Delete(doc);
}

static void refusals(void **state)
{
    (void)state;
    build_bad("version: 1\nenv:\n  PGUSER: { from: prod/db, key: user }\n", NULL, NULL, INJ_E_USAGE,
              "env PGUSER: \"prod/db\" is a secret name");
    build_bad("version: 1\nenv:\n  PGUSER: { from: prod/db, key: user }\n", "", NULL, INJ_E_USAGE,
              "give --region");
    build_bad("version: 1\nenv:\n  A: prod/db\n", "eu-central-1", "12345", INJ_E_USAGE,
              "--account 12345: expected a 12-digit account id");
    build_bad("version: 1\nenv:\n  A: prod/db\n", "eu-central-1", "11112222333x", INJ_E_USAGE,
              "12-digit");
    build_bad("version: 1\nenv:\n  A: prod/db\n", "Frankfurt", NULL, INJ_E_USAGE,
              "is not a region");
}

static void empty_config(void **state)
{
    (void)state;
    build_bad("version: 1\nenv: {}\n", "eu-central-1", NULL, INJ_E_CONFIG, "names no secret");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(example_config),
        cmocka_unit_test(account_option),
        cmocka_unit_test(layout_and_determinism),
        cmocka_unit_test(batch_only_for_two_current_secrets),
        cmocka_unit_test(batch_follows_fetch_mode),
        cmocka_unit_test(partial_arns_regions_partitions),
        cmocka_unit_test(arns_need_no_region),
        cmocka_unit_test(template_secrets),
        cmocka_unit_test(refusals),
        cmocka_unit_test(empty_config),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
