/* test_sidecar.c: --sidecar's config rules, the ready file's path, its atomic write and
 * removal, and the probe (check --ready): missing, wrong mode, not regular, optional. */
#include "unit.h"

#include "config.h"
#include "sidecar.h"

static void parse_ok(const char *yaml, struct config *c)
{
    struct inj_err err = UNIT_ERR_INIT;

    if (config_parse("t.yaml", (const unsigned char *)yaml, strlen(yaml), c, &err) != INJ_OK)
        fail_msg("unexpected error: %s", err.msg);
}

static void config_rules(void **state)
{
    static const struct {
        const char *yaml;
        const char *want; /* NULL: accepted */
    } cases[] = {
        {"version: 1\nfiles:\n  /s/a: x\n", NULL},
        {"version: 1\nsupervise: { refresh: 1m, on_change: none }\nfiles:\n  /s/a: x\n", NULL},
        {"version: 1\nsupervise: { on_change_signal: USR1 }\nfiles:\n  /s/a: x\n", NULL},
        {"version: 1\nfiles:\n  /s/a: x\nenv:\n  A: x\n",
         "t.yaml:5:3: env A: sidecar mode runs no command, so there is no process to give"},
        {"version: 1\n", "t.yaml: sidecar mode writes files, and the config has no files entry"},
        {"version: 1\nsupervise: { on_change: restart }\nfiles:\n  /s/a: x\n",
         "supervise.on_change: restart needs a command"},
        {"version: 1\nsupervise: { on_change: signal }\nfiles:\n  /s/a: x\n",
         "supervise.on_change: signal needs a command"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct config c;
        struct inj_err err = UNIT_ERR_INIT;
        enum inj_rc rc;

        parse_ok(cases[i].yaml, &c);
        rc = sidecar_config_check(&c, &err);
        if (!cases[i].want) {
            if (rc != INJ_OK)
                fail_msg("case %zu: %s", i, err.msg);
        } else {
            assert_int_equal(rc, INJ_E_CONFIG);
            assert_contains(err.msg, cases[i].want);
        }
        config_free(&c);
    }
}

static void ready_path(void **state)
{
    struct config c;
    struct inj_err err = UNIT_ERR_INIT;
    char buf[128];
    char tiny[8];

    (void)state;
    parse_ok("version: 1\nfiles:\n  /shared/x/a: x\n  /other/b: y\n", &c);
    assert_int_equal(sidecar_ready_path(&c, buf, sizeof(buf), &err), INJ_OK);
    assert_string_equal(buf, "/shared/x/.injector-ready");
    assert_int_equal(sidecar_ready_path(&c, tiny, sizeof(tiny), &err), INJ_E_CONFIG);
    config_free(&c);
    parse_ok("version: 1\nfiles:\n  /a: x\n", &c);
    assert_int_equal(sidecar_ready_path(&c, buf, sizeof(buf), &err), INJ_OK);
    assert_string_equal(buf, "/.injector-ready");
    config_free(&c);
    parse_ok("version: 1\nsidecar:\n  ready_file: /run/ready\nfiles:\n  /s/a: x\n", &c);
    assert_int_equal(sidecar_ready_path(&c, buf, sizeof(buf), &err), INJ_OK);
    assert_string_equal(buf, "/run/ready");
    config_free(&c);
    parse_ok("version: 1\n", &c);
    assert_int_equal(sidecar_ready_path(&c, buf, sizeof(buf), &err), INJ_E_CONFIG);
    assert_contains(err.msg, "set sidecar.ready_file");
    config_free(&c);
}

static void config_section(void **state)
{
    static const struct {
        const char *yaml;
        const char *want;
    } bad[] = {
        {"version: 1\nsidecar: true\n", "\"sidecar\" must be a mapping"},
        {"version: 1\nsidecar:\n  ready_file: rel\n", "t.yaml:3:15: ready_file: \"rel\" is not"},
        {"version: 1\nsidecar:\n  ready_file: /a/../b\n", "is not an absolute, normalised"},
        {"version: 1\nsidecar:\n  ready: /a\n", "unknown key \"ready\" in sidecar (known: "
                                                "ready_file)"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct config c;
        struct inj_err err = UNIT_ERR_INIT;

        assert_int_equal(config_parse("t.yaml", (const unsigned char *)bad[i].yaml,
                                      strlen(bad[i].yaml), &c, &err),
                         INJ_E_CONFIG);
        assert_contains(err.msg, bad[i].want);
    }
}

/* The probe, on a config whose files are in a temp dir. */
static void write_check_remove(void **state)
{
    struct config c;
    struct inj_err err = UNIT_ERR_INIT;
    char dir[256];
    char yaml[1200];
    char ready[300];
    char a[300];
    char b[300];
    char sub[300];
    char subc[320];
    struct stat st;
    size_t n = 99;
    char *body;

    (void)state;
    unit_mkdtemp(dir, sizeof(dir));
    unit_join(a, sizeof(a), dir, "a");
    unit_join(b, sizeof(b), dir, "b");
    unit_join(sub, sizeof(sub), dir, "sub");
    assert_true(snprintf(yaml, sizeof(yaml),
                         "version: 1\nfiles:\n  %s: x\n  %s: { from: y, mode: \"0440\" }\n"
                         "  %s/c: { from: z, optional: true }\n",
                         a, b, sub) > 0);
    parse_ok(yaml, &c);
    assert_int_equal(sidecar_ready_path(&c, ready, sizeof(ready), &err), INJ_OK);

    /* Nothing yet: the ready file is missing. */
    assert_int_equal(sidecar_ready_check(&c, ready, &n, &err), INJ_E_UNAVAILABLE);
    assert_contains(err.msg, "not ready: ready file ");
    assert_contains(err.msg, "has not written every file yet");
    assert_int_equal(n, 0);

    assert_int_equal(sidecar_ready_write(ready, &err), INJ_OK);
    assert_int_equal(lstat(ready, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0444);
    body = unit_read_file(ready, NULL);
    assert_string_equal(body, "ready\n");
    free(body);
    /* Written again (a refresh never does, but a restart on a kept volume may): replaced. */
    assert_int_equal(sidecar_ready_write(ready, &err), INJ_OK);

    /* The ready file alone is not enough. */
    assert_int_equal(sidecar_ready_check(&c, ready, &n, &err), INJ_E_UNAVAILABLE);
    assert_contains(err.msg, "not ready: file ");
    assert_contains(err.msg, "/a: No such file or directory");

    unit_write_file(a, "s", 1, 0400);
    unit_write_file(b, "s", 1, 0400);
    assert_int_equal(sidecar_ready_check(&c, ready, &n, &err), INJ_E_UNAVAILABLE);
    assert_contains(err.msg, "/b has mode 0400, the config says 0440");
    assert_int_equal(chmod(b, 0440), 0);
    /* The optional c may be missing (its directory too). */
    assert_int_equal(sidecar_ready_check(&c, ready, &n, &err), INJ_OK);
    assert_int_equal(n, 2);
    assert_int_equal(mkdir(sub, 0700), 0);
    unit_join(subc, sizeof(subc), sub, "c");
    assert_int_equal(mkdir(subc, 0700), 0);
    assert_int_equal(sidecar_ready_check(&c, ready, &n, &err), INJ_E_UNAVAILABLE);
    assert_contains(err.msg, "/sub/c is not a regular file");

    assert_int_equal(sidecar_ready_remove(ready), 0);
    assert_int_equal(sidecar_ready_remove(ready), 0); /* gone already: fine */
    assert_int_equal(lstat(ready, &st), -1);
    /* A ready file that is not a regular file does not count. */
    assert_int_equal(mkdir(ready, 0700), 0);
    assert_int_equal(sidecar_ready_check(&c, ready, &n, &err), INJ_E_UNAVAILABLE);
    assert_contains(err.msg, "is not a regular file");
    assert_int_equal(rmdir(ready), 0);

    /* Only regular entries in the directory: no temp file left behind. */
    assert_int_equal(sidecar_ready_write(ready, &err), INJ_OK);
    {
        DIR *d = opendir(dir);
        struct dirent *de;
        size_t count = 0;

        assert_non_null(d);
        while ((de = readdir(d)) != NULL)
            if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                count++;
        assert_int_equal(closedir(d), 0);
        assert_int_equal(count, 4); /* a, b, sub, .injector-ready */
    }
    config_free(&c);
    unit_rmtree(dir);
}

static void write_into_missing_dir(void **state)
{
    struct inj_err err = UNIT_ERR_INIT;
    char dir[256];
    char path[300];

    (void)state;
    unit_mkdtemp(dir, sizeof(dir));
    unit_join(path, sizeof(path), dir, "nope/ready");
    assert_int_equal(sidecar_ready_write(path, &err), INJ_E_IO);
    assert_contains(err.msg, "ready file ");
    assert_contains(err.msg, "No such file or directory");
    assert_int_equal(sidecar_ready_write("relative", &err), INJ_E_CONFIG);
    unit_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(config_rules),           cmocka_unit_test(ready_path),
        cmocka_unit_test(config_section),         cmocka_unit_test(write_check_remove),
        cmocka_unit_test(write_into_missing_dir),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
