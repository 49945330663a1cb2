/* test_cli.c: the command line: subcommands, "--", the command's own options left alone,
 * refusals (no config, no command, --dry-run with a command, unknown options). */
#include "unit.h"

#include "cli.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])) - 1)

static enum inj_rc parse(char **argv, int argc, struct cli *c, struct inj_err *err)
{
    return cli_parse(argc, argv, c, err);
}

/* argv must fail with INJ_E_USAGE and a message containing want. */
static void usage_error(char **argv, int argc, const char *want)
{
    struct cli c;
    struct inj_err err = UNIT_ERR_INIT;

    assert_int_equal(parse(argv, argc, &c, &err), INJ_E_USAGE);
    assert_int_equal(err.code, INJ_E_USAGE);
    assert_contains(err.msg, want);
}

static void run_with_separator(void **state)
{
    char *argv[] = {"injector", "-c", "app.yaml", "--", "psql", "-c", "select 1", NULL};
    struct cli c;
    struct inj_err err = UNIT_ERR_INIT;

    (void)state;
    assert_int_equal(parse(argv, ARGC(argv), &c, &err), INJ_OK);
    assert_int_equal(c.cmd, CLI_RUN);
    assert_string_equal(c.config, "app.yaml");
    assert_null(c.region);
    assert_false(c.dry_run);
    assert_int_equal(c.verbosity, 0);
    assert_int_equal(c.timeout_ms, 0);
    assert_ptr_equal(c.argv, &argv[4]);
    assert_string_equal(c.argv[0], "psql");
    assert_string_equal(c.argv[1], "-c");
    assert_string_equal(c.argv[2], "select 1");
    assert_null(c.argv[3]);
}

/* Without "--", parsing stops at the command: its options are its own. */
static void options_after_command_are_the_commands(void **state)
{
    char *argv[] = {
        "injector", "--config=app.yaml", "-v", "env", "-v", "--dry-run", "-c", "x", "--", "y",
        NULL};
    struct cli c;
    struct inj_err err = UNIT_ERR_INIT;

    (void)state;
    assert_int_equal(parse(argv, ARGC(argv), &c, &err), INJ_OK);
    assert_int_equal(c.cmd, CLI_RUN);
    assert_string_equal(c.config, "app.yaml");
    assert_int_equal(c.verbosity, 1);
    assert_false(c.dry_run);
    assert_ptr_equal(c.argv, &argv[3]);
    assert_string_equal(c.argv[1], "-v");
    assert_string_equal(c.argv[3], "-c");
    assert_string_equal(c.argv[5], "--");
}

/* After "--" even a command that looks like an option is the command. */
static void separator_protects_dash_command(void **state)
{
    char *argv[] = {"injector", "-c", "a.yaml", "--", "--help", NULL};
    struct cli c;
    struct inj_err err = UNIT_ERR_INIT;

    (void)state;
    assert_int_equal(parse(argv, ARGC(argv), &c, &err), INJ_OK);
    assert_int_equal(c.cmd, CLI_RUN);
    assert_string_equal(c.argv[0], "--help");
    assert_null(c.argv[1]);
}

static void all_options(void **state)
{
    char *argv[] = {"injector",  "-vv", "-q", "--verbose", "--region", "eu-west-1", "--quiet",
                    "--timeout", "2.5", "-c", "a.yaml",    "true",     NULL};
    struct cli c;
    struct inj_err err = UNIT_ERR_INIT;

    (void)state;
    assert_int_equal(parse(argv, ARGC(argv), &c, &err), INJ_OK);
    assert_int_equal(c.verbosity, 1);
    assert_string_equal(c.region, "eu-west-1");
    assert_int_equal(c.timeout_ms, 2500);
    assert_string_equal(c.config, "a.yaml");
    assert_string_equal(c.argv[0], "true");
}

static void timeout_values(void **state)
{
    char *ok_tiny[] = {"injector", "--timeout", "0.0001", "-c", "a", "true", NULL};
    char *ok_max[] = {"injector", "--timeout=3600", "-c", "a", "true", NULL};
    static const char *const badv[] = {"0", "-1", "abc", "3601", "5s", "", "nan", "inf", "1e9"};
    struct cli c;
    struct inj_err err = UNIT_ERR_INIT;
    size_t i;

    (void)state;
    assert_int_equal(parse(ok_tiny, ARGC(ok_tiny), &c, &err), INJ_OK);
    assert_int_equal(c.timeout_ms, 1);
    assert_int_equal(parse(ok_max, ARGC(ok_max), &c, &err), INJ_OK);
    assert_int_equal(c.timeout_ms, 3600000);
    for (i = 0; i < sizeof(badv) / sizeof(badv[0]); i++) {
        char *argv[] = {"injector", "--timeout", (char *)badv[i], "-c", "a", "true", NULL};
        usage_error(argv, ARGC(argv), "expected seconds, more than 0 and at most 3600");
    }
}

/* No -c is not a parse error: main.c falls back to INJECTOR_CONFIG, INJECTOR_CONFIG_YAML or
 * --from-env alone, and reports a missing config itself. */
static void no_config_is_left_to_main(void **state)
{
    char *a1[] = {"injector", "--", "true", NULL};
    char *a2[] = {"injector", "check", NULL};
    char *a3[] = {"injector", "--dry-run", NULL};
    char *a4[] = {"injector", NULL};
    struct cli c;
    struct inj_err err = UNIT_ERR_INIT;

    (void)state;
    assert_int_equal(parse(a1, ARGC(a1), &c, &err), INJ_OK);
    assert_null(c.config);
    assert_string_equal(c.argv[0], "true");
    assert_int_equal(parse(a2, ARGC(a2), &c, &err), INJ_OK);
    assert_int_equal(c.cmd, CLI_CHECK);
    assert_null(c.config);
    assert_int_equal(parse(a3, ARGC(a3), &c, &err), INJ_OK);
    assert_null(c.config);
    /* Nothing at all: still no command to run. */
    usage_error(a4, ARGC(a4), "no command to run");
}

static void missing_command(void **state)
{
    char *a1[] = {"injector", "-c", "a.yaml", NULL};
    char *a2[] = {"injector", "-c", "a.yaml", "--", NULL};

    (void)state;
    usage_error(a1, ARGC(a1), "no command to run: injector -c FILE -- COMMAND [ARG...]");
    usage_error(a2, ARGC(a2), "no command to run");
}

static void dry_run(void **state)
{
    char *ok_argv[] = {"injector", "--dry-run", "-c", "a.yaml", NULL};
    char *with_cmd[] = {"injector", "--dry-run", "-c", "a.yaml", "--", "true", NULL};
    char *with_cmd2[] = {"injector", "-c", "a.yaml", "--dry-run", "true", NULL};
    struct cli c;
    struct inj_err err = UNIT_ERR_INIT;

    (void)state;
    assert_int_equal(parse(ok_argv, ARGC(ok_argv), &c, &err), INJ_OK);
    assert_int_equal(c.cmd, CLI_RUN);
    assert_true(c.dry_run);
    assert_null(c.argv);
    usage_error(with_cmd, ARGC(with_cmd), "--dry-run runs no command; drop the command");
    usage_error(with_cmd2, ARGC(with_cmd2), "--dry-run runs no command");
}

static void check_subcommand(void **state)
{
    char *ok_argv[] = {"injector", "check", "-c", "a.yaml", NULL};
    char *ok2[] = {"injector", "check", "--config", "b.yaml", "-v", NULL};
    char *with_cmd[] = {"injector", "check", "-c", "a.yaml", "true", NULL};
    char *with_sep[] = {"injector", "check", "-c", "a.yaml", "--", "true", NULL};
    struct cli c;
    struct inj_err err = UNIT_ERR_INIT;

    (void)state;
    assert_int_equal(parse(ok_argv, ARGC(ok_argv), &c, &err), INJ_OK);
    assert_int_equal(c.cmd, CLI_CHECK);
    assert_string_equal(c.config, "a.yaml");
    assert_null(c.argv);
    assert_int_equal(parse(ok2, ARGC(ok2), &c, &err), INJ_OK);
    assert_int_equal(c.cmd, CLI_CHECK);
    assert_string_equal(c.config, "b.yaml");
    assert_int_equal(c.verbosity, 1);
    usage_error(with_cmd, ARGC(with_cmd), "check takes no command");
    usage_error(with_sep, ARGC(with_sep), "check takes no command");
}

/* A command named "check" after the options is a command, not the subcommand. */
static void check_as_a_command(void **state)
{
    char *argv[] = {"injector", "-c", "a.yaml", "check", NULL};
    struct cli c;
    struct inj_err err = UNIT_ERR_INIT;

    (void)state;
    assert_int_equal(parse(argv, ARGC(argv), &c, &err), INJ_OK);
    assert_int_equal(c.cmd, CLI_RUN);
    assert_string_equal(c.argv[0], "check");
}

/* export, policy, help TOPIC, and options that belong to one subcommand only. */
static void other_subcommands(void **state)
{
    char *e1[] = {"injector", "export", "-c", "a.yaml", "--format", "dotenv", NULL};
    char *e2[] = {"injector", "export", "-c", "a.yaml", NULL};
    char *e3[] = {"injector", "export", "-c", "a.yaml", "--format", "xml", NULL};
    char *e4[] = {"injector", "export", "--format", "json", "--", "true", NULL};
    char *e5[] = {"injector", "-c", "a.yaml", "--format", "json", "true", NULL};
    char *p1[] = {"injector", "policy", "-c", "a.yaml", "--account", "111122223333", NULL};
    char *p2[] = {"injector", "policy", "-c", "a.yaml", "true", NULL};
    char *p3[] = {"injector", "-c", "a.yaml", "--account", "1", "true", NULL};
    char *h1[] = {"injector", "help", "config", NULL};
    char *h2[] = {"injector", "help", "bogus", NULL};
    char *s1[] = {"injector", "--supervise", "--dry-run", "-c", "a.yaml", NULL};
    char *f1[] = {"injector", "--fetch", "sometimes", "-c", "a.yaml", "true", NULL};
    struct cli c;
    struct inj_err err = UNIT_ERR_INIT;

    (void)state;
    assert_int_equal(parse(e1, ARGC(e1), &c, &err), INJ_OK);
    assert_int_equal(c.cmd, CLI_EXPORT);
    assert_string_equal(c.format, "dotenv");
    usage_error(e2, ARGC(e2), "export needs --format");
    usage_error(e3, ARGC(e3), "--format xml: expected shell, dotenv, json or github");
    usage_error(e4, ARGC(e4), "export takes no command");
    usage_error(e5, ARGC(e5), "--format and --force belong to injector export");
    assert_int_equal(parse(p1, ARGC(p1), &c, &err), INJ_OK);
    assert_int_equal(c.cmd, CLI_POLICY);
    assert_string_equal(c.account, "111122223333");
    usage_error(p2, ARGC(p2), "policy takes no command");
    usage_error(p3, ARGC(p3), "--account is an option of injector policy");
    assert_int_equal(parse(h1, ARGC(h1), &c, &err), INJ_OK);
    assert_int_equal(c.cmd, CLI_HELP);
    assert_string_equal(c.help_topic, "config");
    usage_error(h2, ARGC(h2), "help topics: config");
    usage_error(s1, ARGC(s1), "go with a command to run");
    usage_error(f1, ARGC(f1), "--fetch sometimes: expected auto, batch or single");
}

static void version_and_help(void **state)
{
    char *v1[] = {"injector", "version", NULL};
    char *v2[] = {"injector", "-V", NULL};
    char *v3[] = {"injector", "--version", NULL};
    char *v4[] = {"injector", "version", "extra", NULL};
    char *h1[] = {"injector", "help", NULL};
    char *h2[] = {"injector", "-h", NULL};
    char *h3[] = {"injector", "--help", NULL};
    char *h4[] = {"injector", "-c", "a.yaml", "-h", "--bogus", NULL};
    struct cli c;
    struct inj_err err = UNIT_ERR_INIT;

    (void)state;
    assert_int_equal(parse(v1, ARGC(v1), &c, &err), INJ_OK);
    assert_int_equal(c.cmd, CLI_VERSION);
    assert_int_equal(parse(v2, ARGC(v2), &c, &err), INJ_OK);
    assert_int_equal(c.cmd, CLI_VERSION);
    assert_int_equal(parse(v3, ARGC(v3), &c, &err), INJ_OK);
    assert_int_equal(c.cmd, CLI_VERSION);
    usage_error(v4, ARGC(v4), "version takes no arguments");
    assert_int_equal(parse(h1, ARGC(h1), &c, &err), INJ_OK);
    assert_int_equal(c.cmd, CLI_HELP);
    assert_int_equal(parse(h2, ARGC(h2), &c, &err), INJ_OK);
    assert_int_equal(c.cmd, CLI_HELP);
    assert_int_equal(parse(h3, ARGC(h3), &c, &err), INJ_OK);
    assert_int_equal(c.cmd, CLI_HELP);
    /* Help wins over what follows it. */
    assert_int_equal(parse(h4, ARGC(h4), &c, &err), INJ_OK);
    assert_int_equal(c.cmd, CLI_HELP);
}

static void unknown_options(void **state)
{
    char *a1[] = {"injector", "--bogus", "-c", "a", "true", NULL};
    char *a2[] = {"injector", "-x", "-c", "a", "true", NULL};
    char *a3[] = {"injector", "-c", "a", "--dry-runn", NULL};
    char *a4[] = {"injector", "-vx", "-c", "a", "true", NULL};
    /* Unknown in the middle of a cluster: the message names the option, not argv[0]. */
    char *a5[] = {"injector", "-xv", "-c", "a", "true", NULL};
    char *a6[] = {"injector", "--help=x", "-c", "a", "true", NULL};

    (void)state;
    usage_error(a1, ARGC(a1), "unknown option --bogus (see injector --help)");
    usage_error(a2, ARGC(a2), "unknown option -x");
    usage_error(a3, ARGC(a3), "unknown option --dry-runn");
    usage_error(a4, ARGC(a4), "unknown option -x");
    usage_error(a5, ARGC(a5), "unknown option -x (see injector --help)");
    usage_error(a6, ARGC(a6), "unknown option --help=x");
}

static void missing_option_argument(void **state)
{
    char *a1[] = {"injector", "-c", NULL};
    char *a2[] = {"injector", "--config", NULL};
    char *a3[] = {"injector", "-c", "a", "--region", NULL};
    char *a4[] = {"injector", "-c", "a", "--timeout", NULL};

    (void)state;
    usage_error(a1, ARGC(a1), "option -c needs an argument");
    usage_error(a2, ARGC(a2), "option --config needs an argument");
    usage_error(a3, ARGC(a3), "option --region needs an argument");
    usage_error(a4, ARGC(a4), "option --timeout needs an argument");
}

/* "-c" takes the next word even when it looks like an option. */
static void config_value_looks_like_option(void **state)
{
    char *argv[] = {"injector", "-c", "--", "true", NULL};
    char *glued[] = {"injector", "-capp.yaml", "true", NULL};
    struct cli c;
    struct inj_err err = UNIT_ERR_INIT;

    (void)state;
    assert_int_equal(parse(argv, ARGC(argv), &c, &err), INJ_OK);
    assert_string_equal(c.config, "--");
    assert_string_equal(c.argv[0], "true");
    assert_int_equal(parse(glued, ARGC(glued), &c, &err), INJ_OK);
    assert_string_equal(c.config, "app.yaml");
}

/* Parsing twice in one process (getopt keeps state between calls). */
static void parse_is_repeatable(void **state)
{
    char *first[] = {"injector", "-hv", NULL};
    char *second[] = {"injector", "-c", "a.yaml", "true", NULL};
    struct cli c;
    struct inj_err err = UNIT_ERR_INIT;

    (void)state;
    assert_int_equal(parse(first, ARGC(first), &c, &err), INJ_OK);
    assert_int_equal(c.cmd, CLI_HELP);
    assert_int_equal(parse(second, ARGC(second), &c, &err), INJ_OK);
    assert_int_equal(c.cmd, CLI_RUN);
    assert_int_equal(c.verbosity, 0);
    assert_string_equal(c.config, "a.yaml");
    assert_string_equal(c.argv[0], "true");
}

/* --sidecar runs no command; --ready belongs to check. */
static void sidecar_and_ready(void **state)
{
    char *ok1[] = {"injector", "--sidecar", "-c", "a.yaml", NULL};
    char *ok2[] = {"injector", "--sidecar", "--refresh", "5m", "--user", "app", "--", NULL};
    char *ok3[] = {"injector", "check", "--ready", "-c", "a.yaml", NULL};
    char *b1[] = {"injector", "--sidecar", "-c", "a.yaml", "--", "node", NULL};
    char *b2[] = {"injector", "--sidecar", "--pgroup", NULL};
    char *b3[] = {"injector", "--sidecar", "--dry-run", NULL};
    char *b4[] = {"injector", "--sidecar", "--from-env", NULL};
    char *b5[] = {"injector", "export", "--sidecar", "--format", "json", NULL};
    char *b6[] = {"injector", "--ready", "--", "node", NULL};
    char *b7[] = {"injector", "check", "--ready", "--from-env", NULL};
    struct cli c;
    struct inj_err err = UNIT_ERR_INIT;

    (void)state;
    assert_int_equal(parse(ok1, ARGC(ok1), &c, &err), INJ_OK);
    assert_int_equal(c.cmd, CLI_RUN);
    assert_int_equal(c.sidecar, 1);
    assert_null(c.argv);
    assert_int_equal(parse(ok2, ARGC(ok2), &c, &err), INJ_OK);
    assert_int_equal(c.refresh_ms, 300000);
    assert_string_equal(c.user, "app");
    assert_null(c.argv);
    assert_int_equal(parse(ok3, ARGC(ok3), &c, &err), INJ_OK);
    assert_int_equal(c.cmd, CLI_CHECK);
    assert_int_equal(c.ready, 1);
    usage_error(b1, ARGC(b1), "--sidecar runs no command; drop node");
    usage_error(b2, ARGC(b2), "--sidecar writes files only");
    usage_error(b3, ARGC(b3), "--sidecar writes files only");
    usage_error(b4, ARGC(b4), "--sidecar writes files only");
    usage_error(b5, ARGC(b5), "--sidecar is a way to run");
    usage_error(b6, ARGC(b6), "--ready is an option of injector check");
    usage_error(b7, ARGC(b7), "check --ready looks at a sidecar's files");
}

static void usage_text(void **state)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    (void)state;
    assert_non_null(f);
    cli_usage(f);
    assert_int_equal(fclose(f), 0);
    assert_contains(text, "usage: injector [-c FILE] [options] [--] COMMAND [ARG...]");
    assert_contains(text, "injector check");
    assert_contains(text, "--dry-run");
    assert_contains(text, "--timeout SECS");
    assert_contains(text, "--region REGION");
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(run_with_separator),
        cmocka_unit_test(options_after_command_are_the_commands),
        cmocka_unit_test(separator_protects_dash_command),
        cmocka_unit_test(all_options),
        cmocka_unit_test(timeout_values),
        cmocka_unit_test(no_config_is_left_to_main),
        cmocka_unit_test(missing_command),
        cmocka_unit_test(dry_run),
        cmocka_unit_test(check_subcommand),
        cmocka_unit_test(check_as_a_command),
        cmocka_unit_test(other_subcommands),
        cmocka_unit_test(version_and_help),
        cmocka_unit_test(unknown_options),
        cmocka_unit_test(missing_option_argument),
        cmocka_unit_test(config_value_looks_like_option),
        cmocka_unit_test(parse_is_repeatable),
        cmocka_unit_test(sidecar_and_ready),
        cmocka_unit_test(usage_text),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
