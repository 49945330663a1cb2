/* test_export.c: the export formats' quoting (shell, dotenv, json, github), refusals (NUL,
 * invalid UTF-8), errors that name the variable but never the value, and the format names. */
#include "unit.h"

#include <signal.h>

#include "export.h"

static char *render(enum export_format f, const char *name, const char *value, size_t len,
                    enum inj_rc want)
{
    struct export_var v;
    struct sbuf out = SBUF_INIT(1u << 20);
    struct inj_err err = UNIT_ERR_INIT;
    enum inj_rc rc;
    char *copy;

    v.name = name;
    v.value = (const unsigned char *)value;
    v.len = len;
    rc = export_render(f, &v, 1, &out, &err);
    assert_int_equal(rc, want);
    if (rc != INJ_OK) {
        assert_contains(err.msg, name);
        assert_not_contains(err.msg, "SECRET");
        sbuf_wipe_free(&out);
        return NULL;
    }
    copy = strdup(out.p ? (const char *)out.p : "");
    assert_non_null(copy);
    sbuf_wipe_free(&out);
    return copy;
}

static void want(enum export_format f, const char *value, const char *expect)
{
    char *got = render(f, "X", value, strlen(value), INJ_OK);

    assert_string_equal(got, expect);
    free(got);
}

static void shell_single_quotes(void **state)
{
    (void)state;
    want(EXPORT_SHELL, "", "export X=''\n");
    want(EXPORT_SHELL, "plain", "export X='plain'\n");
    want(EXPORT_SHELL, "it's", "export X='it'\\''s'\n");
    want(EXPORT_SHELL, "''", "export X=''\\'''\\'''\n");
    want(EXPORT_SHELL, "$HOME `id` \"q\" \\ \n\t", "export X='$HOME `id` \"q\" \\ \n\t'\n");
}

static void dotenv_quoting(void **state)
{
    (void)state;
    /* No ' and no \: single quotes, literal. */
    want(EXPORT_DOTENV, "a $b `c` $(d) \"d\"\n#e", "X='a $b `c` $(d) \"d\"\n#e'\n");
    want(EXPORT_DOTENV, "", "X=''\n");
    /* Otherwise double quotes with \\ \" escaped (and no $ or ` in the value). */
    want(EXPORT_DOTENV, "it's home", "X=\"it's home\"\n");
    want(EXPORT_DOTENV, "C:\\x\"y\\'z\n", "X=\"C:\\\\x\\\"y\\\\'z\n\"\n");
}

/* What no dotenv quoting makes sh, bash and python-dotenv read the same: refused, naming
 * the variable and the reason, never the value. */
static void dotenv_refusals(void **state)
{
    static const struct {
        const char *value;
        const char *why;
    } bad[] = {
        {"SECRET ${HOME}", "python-dotenv expands"},   {"SECRET\r\n", "carriage return"},
        {"SECRET it's $HOME", "together with $ or `"}, {"SECRET C:\\`id`", "together with $ or `"},
        {"SECRET C:\\", "ends with a backslash"},      {"SECRET \xe9", "not valid UTF-8"},
    };
    struct export_var v;
    struct sbuf out = SBUF_INIT(4096);
    struct inj_err err = UNIT_ERR_INIT;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        v.name = "DB_PASSWORD";
        v.value = (const unsigned char *)bad[i].value;
        v.len = strlen(bad[i].value);
        assert_int_equal(export_render(EXPORT_DOTENV, &v, 1, &out, &err), INJ_E_DATA);
        assert_contains(err.msg, "DB_PASSWORD: the value ");
        assert_contains(err.msg, bad[i].why);
        assert_not_contains(err.msg, "SECRET");
        sbuf_wipe_free(&out);
        /* --format shell holds every one of them */
        assert_int_equal(export_render(EXPORT_SHELL, &v, 1, &out, &err), INJ_OK);
        sbuf_wipe_free(&out);
    }
}

static void json_object(void **state)
{
    struct export_var v[2];
    struct sbuf out = SBUF_INIT(4096);
    struct inj_err err = UNIT_ERR_INIT;

    (void)state;
    want(EXPORT_JSON, "a\"b\\c\n\x01\xc3\xbc",
         "{\n  \"X\": \"a\\\"b\\\\c\\n\\u0001\xc3\xbc\"\n}\n");
    assert_int_equal(export_render(EXPORT_JSON, v, 0, &out, &err), INJ_OK);
    assert_string_equal((const char *)out.p, "{}\n");
    sbuf_wipe_free(&out);
    v[0].name = "A";
    v[0].value = (const unsigned char *)"1";
    v[0].len = 1;
    v[1].name = "B";
    v[1].value = (const unsigned char *)"2";
    v[1].len = 1;
    assert_int_equal(export_render(EXPORT_JSON, v, 2, &out, &err), INJ_OK);
    assert_string_equal((const char *)out.p, "{\n  \"A\": \"1\",\n  \"B\": \"2\"\n}\n");
    sbuf_wipe_free(&out);
}

static void github_heredoc(void **state)
{
    char *got;
    char delim[64];
    char expect[256];

    (void)state;
    got = render(EXPORT_GITHUB, "X", "a\nb", 3, INJ_OK);
    assert_int_equal(sscanf(got, "X<<%63s", delim), 1);
    assert_int_equal(strncmp(delim, "ghadelimiter_", 13), 0);
    assert_int_equal(strlen(delim), 13 + 32);
    assert_true(snprintf(expect, sizeof(expect), "X<<%s\na\nb\n%s\n", delim, delim) > 0);
    assert_string_equal(got, expect);
    free(got);
}

static void refusals_name_the_variable(void **state)
{
    (void)state;
    assert_null(render(EXPORT_SHELL, "BLOB", "SECRET\0x", 8, INJ_E_DATA));
    assert_null(render(EXPORT_DOTENV, "BLOB", "SECRET\0x", 8, INJ_E_DATA));
    assert_null(render(EXPORT_JSON, "LATIN1", "SECRET\xe9", 7, INJ_E_DATA));
    assert_null(render(EXPORT_GITHUB, "LATIN1", "SECRET\xe9", 7, INJ_E_DATA));
    /* shell carries any bytes but NUL (dotenv: see dotenv_refusals) */
    free(render(EXPORT_SHELL, "LATIN1", "caf\xe9", 4, INJ_OK));
}

static void output_is_bounded(void **state)
{
    struct export_var v;
    struct sbuf out = SBUF_INIT(16);
    struct inj_err err = UNIT_ERR_INIT;

    (void)state;
    v.name = "X";
    v.value = (const unsigned char *)"0123456789abcdef";
    v.len = 16;
    assert_int_equal(export_render(EXPORT_SHELL, &v, 1, &out, &err), INJ_E_DATA);
    assert_contains(err.msg, "output larger than");
    sbuf_wipe_free(&out);
}

static void format_names(void **state)
{
    (void)state;
    assert_int_equal(export_format_parse("shell"), EXPORT_SHELL);
    assert_int_equal(export_format_parse("dotenv"), EXPORT_DOTENV);
    assert_int_equal(export_format_parse("json"), EXPORT_JSON);
    assert_int_equal(export_format_parse("github"), EXPORT_GITHUB);
    assert_int_equal(export_format_parse("Shell"), -1);
    assert_int_equal(export_format_parse(""), -1);
}

static void write_all(void **state)
{
    int fds[2];
    char buf[8];
    struct inj_err err = UNIT_ERR_INIT;

    (void)state;
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(export_write(fds[1], (const unsigned char *)"hello", 5, &err), INJ_OK);
    assert_int_equal(read(fds[0], buf, sizeof(buf)), 5);
    (void)close(fds[0]);
    assert_int_equal(export_write(fds[1], (const unsigned char *)"x", 1, &err), INJ_E_IO);
    (void)close(fds[1]);
}

static void masks_want(const char *value, size_t len, const char *expect)
{
    struct export_var v[2];
    struct sbuf out = SBUF_INIT(1u << 20);
    struct inj_err err = UNIT_ERR_INIT;

    v[0].name = "A";
    v[0].value = (const unsigned char *)value;
    v[0].len = len;
    v[1].name = "B";
    v[1].value = (const unsigned char *)"second";
    v[1].len = 6;
    assert_int_equal(export_render_masks(v, 2, &out, &err), INJ_OK);
    assert_non_null(out.p);
    assert_int_equal(out.len, strlen(expect) + strlen("::add-mask::second\n"));
    assert_memory_equal(out.p, expect, strlen(expect));
    assert_memory_equal(out.p + strlen(expect), "::add-mask::second\n", 19);
    sbuf_wipe_free(&out);
}

#define MASKS(value, expect) masks_want((value), sizeof(value) - 1, (expect))

/* One ::add-mask:: per line of every value; % as %25 (the runner unescapes %25, %0D, %0A);
 * CR and LF split lines; empty and blank lines skipped (the runner refuses them); what looks
 * like a workflow command stays data after "::add-mask::". */
static void github_masks(void **state)
{
    (void)state;
    MASKS("s3cr3t", "::add-mask::s3cr3t\n");
    MASKS("", "");
    MASKS("line1\nline2\n\nline4\n", "::add-mask::line1\n::add-mask::line2\n::add-mask::line4\n");
    MASKS("a\r\nb\rc", "::add-mask::a\n::add-mask::b\n::add-mask::c\n");
    MASKS("  \n\t\nx y ", "::add-mask::x y \n");
    MASKS("100%0A%25%", "::add-mask::100%250A%2525%25\n");
    MASKS("::stop-commands::tok\n::set-env name=A::b\n%0A::error::x",
          "::add-mask::::stop-commands::tok\n::add-mask::::set-env name=A::b\n"
          "::add-mask::%250A::error::x\n");
    MASKS("-----BEGIN KEY-----\nAbC=\n-----END KEY-----\n",
          "::add-mask::-----BEGIN KEY-----\n::add-mask::AbC=\n::add-mask::-----END KEY-----\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shell_single_quotes), cmocka_unit_test(dotenv_quoting),
        cmocka_unit_test(dotenv_refusals),     cmocka_unit_test(json_object),
        cmocka_unit_test(github_heredoc),      cmocka_unit_test(refusals_name_the_variable),
        cmocka_unit_test(output_is_bounded),   cmocka_unit_test(format_names),
        cmocka_unit_test(write_all),           cmocka_unit_test(github_masks),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
