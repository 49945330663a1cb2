/* test_childenv.c: what counts as a secret reference in the environment, the sm:// syntax
 * (key, JSON pointer, version stage / id, ARN ids) and its refusals, turning references into
 * config entries, and the variables --pristine drops. */
#include "unit.h"

#include "childenv.h"
#include "config.h"

#define VID "a1b2c3d4-0002-4000-8000-000000000001"

static void is_ref(void **state)
{
    (void)state;
    assert_true(childenv_is_ref("sm://x"));
    assert_true(childenv_is_ref("arn:aws:secretsmanager:eu-central-1:111122223333:secret:x"));
    assert_true(childenv_is_ref("arn:aws-cn:secretsmanager:cn-north-1:1:secret:x"));
    assert_true(childenv_is_ref("arn:bogus:secretsmanager:"));
    assert_false(childenv_is_ref("arn:aws:s3:::bucket"));
    /* SSM parameters (issue 15): their ARNs and ssm:NAME are references, fail closed. */
    assert_true(childenv_is_ref("arn:aws:ssm:eu-central-1:111122223333:parameter/x"));
    assert_true(childenv_is_ref("arn:aws:ssm:eu-central-1:1:parameter/x")); /* refused later */
    assert_true(childenv_is_ref("ssm:/prod/db/pw"));
    assert_true(childenv_is_ref("ssm:"));
    /* Other SSM resources are not parameters; a bare name cannot be told from a value. */
    assert_false(childenv_is_ref("arn:aws:ssm:eu-central-1:111122223333:document/x"));
    assert_false(childenv_is_ref("/prod/db/pw"));
    assert_false(childenv_is_ref("SSM:/prod/db/pw"));
    assert_false(childenv_is_ref("SM://x"));
    assert_false(childenv_is_ref("https://sm://x"));
    assert_false(childenv_is_ref(""));
}

static void parse_ok(const char *s, const char *id, const char *key, const char *ptr,
                     const char *stage, const char *vid)
{
    struct ref r;
    char *pointer = NULL;
    struct inj_err err = UNIT_ERR_INIT;

    if (childenv_parse_ref(s, &r, &pointer, &err) != INJ_OK)
        fail_msg("%s: %s", s, err.msg);
    assert_string_equal(r.secret_id, id);
#define OPT_EQ(a, b)                       \
    do {                                   \
        if (b)                             \
            assert_string_equal((a), (b)); \
        else                               \
            assert_null(a);                \
    } while (0)
    OPT_EQ(r.json_key, key);
    OPT_EQ(pointer, ptr);
    OPT_EQ(r.version_stage, stage);
    OPT_EQ(r.version_id, vid);
    ref_free(&r);
    free(pointer);
}

static void sm_uri_forms(void **state)
{
    (void)state;
    parse_ok("sm://plain/text", "plain/text", NULL, NULL, NULL, NULL);
    parse_ok("sm://api#token", "api", "token", NULL, NULL, NULL);
    parse_ok("sm://app/nested#/db/primary/password", "app/nested", NULL, "/db/primary/password",
             NULL, NULL);
    parse_ok("sm://rds!db-1?version_stage=AWSPREVIOUS#password", "rds!db-1", "password", NULL,
             "AWSPREVIOUS", NULL);
    parse_ok("sm://x?version_id=" VID, "x", NULL, NULL, NULL, VID);
    parse_ok("sm://x?version_stage=S&version_id=" VID "#k#with#hash", "x", "k#with#hash", NULL, "S",
             VID);
    parse_ok("sm://arn:aws:secretsmanager:eu-central-1:111122223333:secret:api-Xy12Zz#token",
             "arn:aws:secretsmanager:eu-central-1:111122223333:secret:api-Xy12Zz", "token", NULL,
             NULL, NULL);
    /* The ECS compact form. */
    parse_ok("arn:aws:secretsmanager:eu-central-1:111122223333:secret:api-Xy12Zz"
             ":token:AWSPREVIOUS:",
             "arn:aws:secretsmanager:eu-central-1:111122223333:secret:api-Xy12Zz", "token", NULL,
             "AWSPREVIOUS", NULL);
}

static void parse_bad(const char *s, const char *needle)
{
    struct ref r;
    char *pointer = NULL;
    struct inj_err err = UNIT_ERR_INIT;

    assert_int_equal(childenv_parse_ref(s, &r, &pointer, &err), INJ_E_CONFIG);
    assert_null(r.secret_id);
    assert_null(pointer);
    assert_contains(err.msg, needle);
}

static void sm_uri_refusals(void **state)
{
    (void)state;
    parse_bad("sm://", "no secret name");
    parse_bad("sm://#key", "no secret name");
    parse_bad("sm://x#", "empty key");
    parse_bad("sm://x#/a~2", "not a JSON pointer");
    parse_bad("sm://x?stage=A", "unknown parameter \"stage\"");
    parse_bad("sm://x?version_stage", "expected ?version_stage=");
    parse_bad("sm://x?version_stage=A&version_stage=B", "given twice");
    parse_bad("sm://x?version_id=short", "given twice or invalid");
    parse_bad("sm://x:key", "write the key after '#'");
    parse_bad("sm://bad name", "not a valid secret name");
    parse_bad("arn:aws:secretsmanager:eu-central-1:1:secret:x", "12-digit");
    /* sm:// names secrets; a parameter is written ssm:NAME. */
    parse_bad("sm://ssm:/prod/db/pw", "a parameter is written ssm:NAME");
    parse_bad("ssm:prod/db/pw", "does not start with '/'");
    parse_bad("arn:aws:ssm:eu-central-1:1:parameter/x", "12-digit");
}

static void add_refs_to_config(void **state)
{
    struct config cfg;
    struct inj_err err = UNIT_ERR_INIT;
    size_t added = 0;
    char *envp[] = {
        "PATH=/usr/bin",
        "A=sm://api#token",
        "B=plain value",
        "C=arn:aws:secretsmanager:eu-central-1:111122223333:secret:api-Xy12Zz:token::",
        "IN_CONFIG=sm://other#x",
        NULL,
    };
    char *bad[] = {"LD_PRELOAD=sm://x", NULL};
    char *bad2[] = {"X=sm://x?y=1", NULL};
    static const char yaml[] = "version: 1\nenv:\n  IN_CONFIG: { from: api, key: token }\n";

    (void)state;
    assert_int_equal(config_parse("t", (const unsigned char *)yaml, strlen(yaml), &cfg, &err),
                     INJ_OK);
    assert_int_equal(childenv_add_refs(&cfg, envp, &added, &err), INJ_OK);
    assert_int_equal(added, 2);
    assert_int_equal(cfg.n, 3);
    assert_string_equal(cfg.entries[1].name, "A");
    assert_string_equal(cfg.entries[1].ref.json_key, "token");
    assert_true(cfg.entries[1].overwrite);
    assert_string_equal(cfg.entries[2].name, "C");
    assert_true(cfg.entries[2].ref.is_arn);
    assert_int_equal(childenv_add_refs(&cfg, bad, &added, &err), INJ_E_CONFIG);
    assert_contains(err.msg, "LD_PRELOAD holds a secret reference");
    assert_int_equal(childenv_add_refs(&cfg, bad2, &added, &err), INJ_E_CONFIG);
    assert_contains(err.msg, "--from-env: X: ");
    assert_int_equal(cfg.n, 3);
    config_free(&cfg);
}

static void pristine_list(void **state)
{
    (void)state;
    assert_int_equal(childenv_dropped("AWS_ACCESS_KEY_ID=x"), 17);
    assert_int_equal(childenv_dropped("AWS_SECRET_ACCESS_KEY=x"), 21);
    assert_int_equal(childenv_dropped("AWS_SESSION_TOKEN"), 17);
    assert_true(childenv_dropped("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2"));
    assert_true(childenv_dropped("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=/t"));
    assert_true(childenv_dropped("AWS_WEB_IDENTITY_TOKEN_FILE=/t"));
    assert_true(childenv_dropped("AWS_ROLE_ARN=arn"));
    assert_true(childenv_dropped("AWS_PROFILE=p"));
    assert_true(childenv_dropped("INJECTOR_CONFIG_YAML=version: 1"));
    assert_true(childenv_dropped("INJECTOR_LOG_LEVEL=debug"));
    assert_false(childenv_dropped("INJECTOR_=x"));
    assert_false(childenv_dropped("AWS_REGION=eu-central-1"));
    assert_false(childenv_dropped("AWS_ENDPOINT_URL=https://x"));
    assert_false(childenv_dropped("AWS_CA_BUNDLE=/ca"));
    assert_false(childenv_dropped("AWS_ACCESS_KEY_ID_X=1"));
    assert_false(childenv_dropped("PATH=/bin"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(is_ref),          cmocka_unit_test(sm_uri_forms),
        cmocka_unit_test(sm_uri_refusals), cmocka_unit_test(add_refs_to_config),
        cmocka_unit_test(pristine_list),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
