/* test_expand.c: the expand name rule and expand_json's checks (names only in messages). */
#include "unit.h"

#include "config.h"
#include "expand.h"
#include "jx.h"

static void name_rule(void **state)
{
    char out[256];

    (void)state;
    assert_int_equal(expand_name("", "db-host", out, sizeof(out)), 1);
    assert_string_equal(out, "DB_HOST");
    assert_int_equal(expand_name("APP_", "user.name", out, sizeof(out)), 1);
    assert_string_equal(out, "APP_USER_NAME");
    assert_int_equal(expand_name("", "2fa", out, sizeof(out)), 1);
    assert_string_equal(out, "_2FA");
    assert_int_equal(expand_name("P", "2fa", out, sizeof(out)), 1);
    assert_string_equal(out, "P2FA");
    assert_int_equal(expand_name("", "\xc3\xbc", out, sizeof(out)), 1); /* one letter, 2 bytes */
    assert_string_equal(out, "__");
    assert_int_equal(expand_name("", "Mixed_Case9", out, sizeof(out)), 1);
    assert_string_equal(out, "MIXED_CASE9");
    assert_int_equal(expand_name("", "", out, sizeof(out)), 0);
    assert_int_equal(expand_name("X_", "", out, sizeof(out)), 1);
    assert_string_equal(out, "X_");
    assert_int_equal(expand_name("", "abcd", out, 4), 0); /* does not fit */
    assert_int_equal(expand_name("", "abc", out, 4), 1);
    assert_int_equal(expand_name("", "1bc", out, 4), 0); /* '_' makes it 4 */
}

static void run(struct entry *e, const char *json, struct expand_var **v, size_t *n,
                enum inj_rc want, struct inj_err *err)
{
    assert_int_equal(expand_json(e, "arn:x", (const unsigned char *)json, strlen(json), v, n, err),
                     want);
}

static void values_and_filters(void **state)
{
    struct entry e;
    struct expand_var *v = NULL;
    size_t n = 0;
    struct inj_err err = UNIT_ERR_INIT;
    char *only[] = {"b", "a"};

    (void)state;
    memset(&e, 0, sizeof(e));
    run(&e, "{\"a\":\"canary-x\",\"b\":5,\"c\":{\"d\":[true,null]}}", &v, &n, INJ_OK, &err);
    assert_int_equal(n, 3);
    assert_string_equal(v[0].name, "A");
    assert_memory_equal(v[0].value.p, "canary-x", 8);
    assert_string_equal(v[1].name, "B");
    assert_memory_equal(v[1].value.p, "5", 1);
    assert_string_equal(v[2].key, "c");
    assert_int_equal(v[2].value.len, strlen("{\"d\":[true,null]}"));
    expand_vars_free(v, n);
    e.only = only;
    e.nonly = 2;
    run(&e, "{\"a\":\"1\",\"b\":\"2\",\"c\":\"3\"}", &v, &n, INJ_OK, &err);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].name, "A"); /* the secret's order */
    expand_vars_free(v, n);
    e.nonly = 0;
    e.except = only;
    e.nexcept = 2;
    run(&e, "{\"a\":\"1\",\"b\":\"2\",\"c\":\"3\"}", &v, &n, INJ_OK, &err);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].name, "C");
    expand_vars_free(v, n);
    run(&e, "{}", &v, &n, INJ_OK, &err);
    assert_int_equal(n, 0);
    expand_vars_free(v, n);
}

static void refusals_name_every_offender(void **state)
{
    struct entry e;
    struct expand_var *v = NULL;
    size_t n = 0;
    struct inj_err err = UNIT_ERR_INIT;
    char *only[] = {"x", "y", "a"};

    (void)state;
    memset(&e, 0, sizeof(e));
    run(&e, "{\"a-b\":\"canary-1\",\"A_B\":\"canary-2\",\"ld_audit\":\"canary-3\",\"\":\"c4\"}", &v,
        &n, INJ_E_CONFIG, &err);
    assert_null(v);
    assert_contains(err.msg, "\"ld_audit\" -> LD_AUDIT (a loader/shell variable)");
    assert_contains(err.msg, "\"\" (no valid name)");
    assert_contains(err.msg, "\"a-b\" and \"A_B\" -> A_B");
    assert_null(strstr(err.msg, "canary"));
    e.allow_reserved = 1;
    run(&e, "{\"ld_audit\":\"canary-3\"}", &v, &n, INJ_OK, &err);
    expand_vars_free(v, n);
    run(&e, "[1]", &v, &n, INJ_E_DATA, &err);
    assert_contains(err.msg, "not an object");
    run(&e, "canary-plain", &v, &n, INJ_E_DATA, &err);
    assert_null(strstr(err.msg, "canary"));
    run(&e, "{\"a\":1,\"a\":2}", &v, &n, INJ_E_DATA, &err);
    assert_contains(err.msg, "twice");
    run(&e, "{\"a\":12345678901234567890}", &v, &n, INJ_E_DATA, &err);
    assert_contains(err.msg, "too large");
    e.only = only;
    e.nonly = 3;
    run(&e, "{\"a\":\"1\"}", &v, &n, INJ_E_MISSING, &err);
    assert_contains(err.msg, "no key \"x\", \"y\" (listed in only)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(name_rule),
        cmocka_unit_test(values_and_filters),
        cmocka_unit_test(refusals_name_every_offender),
    };

    jx_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
