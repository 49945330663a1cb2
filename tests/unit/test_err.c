/* test_err.c: the error type and the return-code -> exit-code table (documented in README and
 * --help; scripts depend on these numbers). */
#include "unit.h"

#include "cli.h"
#include "err.h"

struct code_row {
    enum inj_rc rc;
    int exit;
    const char *name;
};

/* The documented table: 64 usage, 65 data/missing, 66 no input, 69 unavailable, 70 software,
 * 71 nomem, 74 io, 75 tempfail, 77 noperm, 78 config, 126, 127. */
static const struct code_row table[] = {
    {INJ_OK, 0, "ok"},
    {INJ_E_USAGE, 64, "usage"},
    {INJ_E_DATA, 65, "bad-data"},
    {INJ_E_MISSING, 65, "missing"},
    {INJ_E_NOINPUT, 66, "no-input"},
    {INJ_E_UNAVAILABLE, 69, "unavailable"},
    {INJ_E_SOFTWARE, 70, "internal"},
    {INJ_E_NOMEM, 71, "no-memory"},
    {INJ_E_IO, 74, "io"},
    {INJ_E_TEMPFAIL, 75, "temporary"},
    {INJ_E_NOPERM, 77, "access-denied"},
    {INJ_E_CONFIG, 78, "config"},
    {INJ_E_NOEXEC, 126, "not-executable"},
    {INJ_E_NOTFOUND, 127, "not-found"},
};

static void exit_codes_match_documentation(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        assert_int_equal(inj_rc_exit(table[i].rc), table[i].exit);
        assert_string_equal(inj_rc_name(table[i].rc), table[i].name);
    }
}

/* Every enumerator is in the table above: a new code without a documented exit code fails. */
static void every_code_is_in_the_table(void **state)
{
    int rc;

    (void)state;
    for (rc = INJ_OK; rc <= INJ_E_NOTFOUND; rc++) {
        size_t i;
        int found = 0;
        for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
            if ((int)table[i].rc == rc)
                found = 1;
        assert_true(found);
        assert_string_not_equal(inj_rc_name((enum inj_rc)rc), "unknown");
    }
}

static void unknown_code_is_internal(void **state)
{
    (void)state;
    assert_int_equal(inj_rc_exit((enum inj_rc)999), 70);
    assert_string_equal(inj_rc_name((enum inj_rc)999), "unknown");
}

/* No two different codes share a name (logs and tests key on them). */
static void names_are_distinct(void **state)
{
    size_t i;
    size_t j;

    (void)state;
    for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        for (j = i + 1; j < sizeof(table) / sizeof(table[0]); j++)
            assert_string_not_equal(inj_rc_name(table[i].rc), inj_rc_name(table[j].rc));
}

/* --help lists the same numbers. */
static void help_text_documents_exit_codes(void **state)
{
    static const char *const want[] = {"64 usage",
                                       "65 bad or missing data",
                                       "66 config not found",
                                       "69 service unavailable",
                                       "70 internal",
                                       "71 out of memory",
                                       "74 file I/O",
                                       "75 throttled",
                                       "77 access denied",
                                       "78 invalid config",
                                       "126 command not executable",
                                       "127 command not found"};
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    size_t i;

    (void)state;
    assert_non_null(f);
    cli_usage(f);
    assert_int_equal(fclose(f), 0);
    for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        assert_contains(text, want[i]);
    free(text);
}

static void set_fills_code_and_message(void **state)
{
    struct inj_err err = UNIT_ERR_INIT;

    (void)state;
    assert_int_equal(inj_err_set(&err, INJ_E_CONFIG, "entry %s: %d", "db", 42), INJ_E_CONFIG);
    assert_int_equal(err.code, INJ_E_CONFIG);
    assert_string_equal(err.msg, "entry db: 42");
}

static void set_with_null_err_returns_code(void **state)
{
    (void)state;
    assert_int_equal(inj_err_set(NULL, INJ_E_IO, "x"), INJ_E_IO);
    inj_err_prefix(NULL, "p");
}

static void set_truncates_long_message(void **state)
{
    struct inj_err err = UNIT_ERR_INIT;
    char big[3000];

    (void)state;
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    inj_err_set(&err, INJ_E_DATA, "%s", big);
    assert_int_equal(strlen(err.msg), sizeof(err.msg) - 1);
    assert_int_equal(err.code, INJ_E_DATA);
}

static void prefix_keeps_code(void **state)
{
    struct inj_err err = UNIT_ERR_INIT;

    (void)state;
    inj_err_set(&err, INJ_E_NOPERM, "AccessDenied");
    inj_err_prefix(&err, "entry %s", "PGPASSWORD");
    assert_int_equal(err.code, INJ_E_NOPERM);
    assert_string_equal(err.msg, "entry PGPASSWORD: AccessDenied");
    inj_err_prefix(&err, "outer");
    assert_string_equal(err.msg, "outer: entry PGPASSWORD: AccessDenied");
}

/* A full message plus a prefix: truncated at the end, still terminated, prefix first. */
static void prefix_truncates_at_the_end(void **state)
{
    struct inj_err err = UNIT_ERR_INIT;
    char big[sizeof(err.msg) + 10];

    (void)state;
    memset(big, 'b', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    inj_err_set(&err, INJ_E_DATA, "%s", big);
    inj_err_prefix(&err, "PFX");
    assert_int_equal(strlen(err.msg), sizeof(err.msg) - 1);
    assert_memory_equal(err.msg, "PFX: bbb", 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exit_codes_match_documentation),
        cmocka_unit_test(every_code_is_in_the_table),
        cmocka_unit_test(unknown_code_is_internal),
        cmocka_unit_test(names_are_distinct),
        cmocka_unit_test(help_text_documents_exit_codes),
        cmocka_unit_test(set_fills_code_and_message),
        cmocka_unit_test(set_with_null_err_returns_code),
        cmocka_unit_test(set_truncates_long_message),
        cmocka_unit_test(prefix_keeps_code),
        cmocka_unit_test(prefix_truncates_at_the_end),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
