/* test_supervise.c: the pure pieces of supervise mode (jitter and backoff bounds, change
 * detection, the supervise: config section), plus the supervisor loop itself on sh children, each run in a forked process
 * because supervise_run blocks signals and becomes a subreaper. */
#include "unit.h"

#include <signal.h>
#include <sys/wait.h>

#include "config.h"
#include "policy.h"
#include "refresh.h"
#include "supervise.h"

/* ---- jitter and backoff ---- */

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s;
}

static void jitter_bounds(void **state)
{
    static const long long intervals[] = {1, 9, 10, 50, 999, 1000, 300000, 2592000000LL};
    uint32_t seed = 12345;
    size_t i;
    int k;

    (void)state;
    for (i = 0; i < sizeof(intervals) / sizeof(intervals[0]); i++) {
        long long iv = intervals[i];
        long long lo = iv - iv / 10;
        long long hi = iv + iv / 10;
        int saw_lo = 0;
        int saw_hi = 0;

        assert_int_equal(supervise_jitter(iv, 0), lo);
        assert_int_equal(supervise_jitter(iv, (uint32_t)(2 * (iv / 10))), hi);
        assert_true(supervise_jitter(iv, UINT32_MAX) >= lo);
        assert_true(supervise_jitter(iv, UINT32_MAX) <= hi);
        for (k = 0; k < 20000; k++) {
            long long j = supervise_jitter(iv, lcg(&seed));
            assert_true(j >= lo && j <= hi);
            assert_true(j > 0);
            saw_lo |= j < iv;
            saw_hi |= j > iv;
        }
        if (iv >= 10) /* a spread of at least 1 ms: both sides get used */
            assert_true(saw_lo && saw_hi);
    }
    assert_int_equal(supervise_jitter(0, 7), 0);
    assert_int_equal(supervise_jitter(-5, 7), 0);
}

static void backoff_grows_and_caps(void **state)
{
    uint32_t seed = 99;
    unsigned int f;
    int k;

    (void)state;
    /* 5 min interval: 1 s, 2 s, 4 s, ... then 300 s, each +-10%. */
    for (f = 1; f <= 40; f++) {
        long long base = 1000;
        unsigned int i;

        for (i = 1; i < f && base < 300000; i++)
            base *= 2;
        if (base > 300000)
            base = 300000;
        for (k = 0; k < 200; k++) {
            long long b = supervise_backoff(300000, f, lcg(&seed));
            assert_true(b >= base - base / 10 && b <= base + base / 10);
        }
    }
    /* A fast test interval is never exceeded (beyond its jitter). */
    for (f = 1; f < 10; f++)
        for (k = 0; k < 200; k++)
            assert_true(supervise_backoff(50, f, lcg(&seed)) <= 55);
    assert_true(supervise_backoff(300000, 0, 0) >= 900);
    assert_true(supervise_backoff(300000, UINT32_MAX, UINT32_MAX) <= 330000);
}

/* ---- change detection ---- */

static struct sm_version_stages VERSIONS[] = {
    {"v-previous", "AWSPREVIOUS"},
    {"v-current", "AWSCURRENT,custom"},
    {"v-pending", "AWSPENDING"},
    {"v-empty", ""},
};

static void stage_version_lookup(void **state)
{
    struct sm_meta m = {NULL, VERSIONS, 4, 0};
    struct sm_meta none = {NULL, NULL, 0, 0};

    (void)state;
    assert_string_equal(refresh_stage_version(&m, "AWSCURRENT"), "v-current");
    assert_string_equal(refresh_stage_version(&m, "custom"), "v-current");
    assert_string_equal(refresh_stage_version(&m, "AWSPREVIOUS"), "v-previous");
    assert_string_equal(refresh_stage_version(&m, "AWSPENDING"), "v-pending");
    /* Labels match whole, not by prefix or suffix. */
    assert_null(refresh_stage_version(&m, "AWSCUR"));
    assert_null(refresh_stage_version(&m, "CURRENT"));
    assert_null(refresh_stage_version(&m, "AWSCURRENT,custom"));
    assert_null(refresh_stage_version(&m, ""));
    assert_null(refresh_stage_version(&none, "AWSCURRENT"));
}

static void needs_fetch(void **state)
{
    struct sm_meta m = {NULL, VERSIONS, 4, 0};

    (void)state;
    assert_int_equal(refresh_needs_fetch(&m, "AWSCURRENT", "v-current"), 0);
    assert_int_equal(refresh_needs_fetch(&m, "AWSPREVIOUS", "v-previous"), 0);
    /* Rotated: AWSCURRENT moved to another version. */
    assert_int_equal(refresh_needs_fetch(&m, "AWSCURRENT", "v-previous"), 1);
    /* Nothing fetched yet (an optional secret that was missing). */
    assert_int_equal(refresh_needs_fetch(&m, "AWSCURRENT", NULL), 1);
    /* The label is on no version: GetSecretValue has to say what is wrong. */
    assert_int_equal(refresh_needs_fetch(&m, "gone", "v-current"), 1);
}

static void set_value(struct resolved *r, const char *v, int skipped)
{
    memset(r, 0, sizeof(*r));
    r->value.max = 1024;
    r->skipped = skipped;
    if (v)
        assert_int_equal(sbuf_append(&r->value, v, strlen(v)), SBUF_OK);
}

static void value_differs(void **state)
{
    struct resolved a;
    struct resolved b;

    (void)state;
    set_value(&a, "secret-1", 0);
    set_value(&b, "secret-1", 0);
    assert_int_equal(refresh_value_differs(&a, &b), 0);
    sbuf_wipe_free(&b.value);
    set_value(&b, "secret-2", 0);
    assert_int_equal(refresh_value_differs(&a, &b), 1);
    sbuf_wipe_free(&b.value);
    set_value(&b, "secret-10", 0);
    assert_int_equal(refresh_value_differs(&a, &b), 1);
    sbuf_wipe_free(&b.value);
    set_value(&b, NULL, 1);
    assert_int_equal(refresh_value_differs(&a, &b), 1);
    assert_int_equal(refresh_value_differs(&b, &a), 1);
    sbuf_wipe_free(&a.value);
    set_value(&a, NULL, 1);
    assert_int_equal(refresh_value_differs(&a, &b), 0);
    set_value(&a, "", 0);
    set_value(&b, NULL, 0);
    assert_int_equal(refresh_value_differs(&a, &b), 0);
    sbuf_wipe_free(&a.value);
    sbuf_wipe_free(&b.value);
}

/* ---- the supervise: config section ---- */

static enum inj_rc parse(const char *yaml, struct config *c, struct inj_err *err)
{
    return config_parse("t.yaml", (const unsigned char *)yaml, strlen(yaml), c, err);
}

static void config_defaults_and_values(void **state)
{
    struct config c;
    struct inj_err err = UNIT_ERR_INIT;

    (void)state;
    assert_int_equal(parse("version: 1\n", &c, &err), INJ_OK);
    assert_int_equal(c.supervise.enabled, 0);
    assert_int_equal(c.supervise.refresh_ms, 0);
    assert_int_equal(c.supervise.on_change, SUPERVISE_ON_CHANGE_SIGNAL);
    assert_int_equal(c.supervise.on_change_signal, SIGHUP);
    assert_int_equal(c.supervise.restart_timeout_ms, 10000);
    assert_int_equal(c.supervise.restart_delay_ms, 1000);
    assert_null(c.supervise.on_change_exec);
    config_free(&c);

    assert_int_equal(parse("version: 1\nsupervise: true\n", &c, &err), INJ_OK);
    assert_int_equal(c.supervise.enabled, 1);
    config_free(&c);

    assert_int_equal(parse("version: 1\n"
                           "supervise:\n"
                           "  refresh: 5m\n"
                           "  on_change: restart\n"
                           "  on_change_signal: SIGUSR2\n"
                           "  on_change_exec: [/bin/reload, --fast, \"\"]\n"
                           "  restart_timeout: 30s\n"
                           "  restart_delay: 0s\n"
                           "  pgroup: true\n",
                           &c, &err),
                     INJ_OK);
    assert_int_equal(c.supervise.enabled, 1);
    assert_int_equal(c.supervise.refresh_ms, 300000);
    assert_int_equal(c.supervise.on_change, SUPERVISE_ON_CHANGE_RESTART);
    assert_int_equal(c.supervise.on_change_signal, SIGUSR2);
    assert_int_equal(c.supervise.restart_timeout_ms, 30000);
    assert_int_equal(c.supervise.restart_delay_ms, 0);
    assert_int_equal(c.supervise.pgroup, 1);
    assert_non_null(c.supervise.on_change_exec);
    assert_string_equal(c.supervise.on_change_exec[0], "/bin/reload");
    assert_string_equal(c.supervise.on_change_exec[1], "--fast");
    assert_string_equal(c.supervise.on_change_exec[2], "");
    assert_null(c.supervise.on_change_exec[3]);
    config_free(&c);

    assert_int_equal(parse("version: 1\nsupervise: { refresh: 50ms, on_change: none }\n", &c, &err),
                     INJ_OK);
    assert_int_equal(c.supervise.refresh_ms, 50);
    assert_int_equal(c.supervise.on_change, SUPERVISE_ON_CHANGE_NONE);
    config_free(&c);
}

static void config_bad(const char *yaml, const char *msg)
{
    struct config c;
    struct inj_err err = UNIT_ERR_INIT;

    if (parse(yaml, &c, &err) == INJ_OK)
        fail_msg("accepted: %s", yaml);
    assert_int_equal(err.code, INJ_E_CONFIG);
    assert_contains(err.msg, msg);
}

static void config_rejects(void **state)
{
    (void)state;
    config_bad("version: 1\nsupervise:\n  refresh: 5m\n  restrat_timeout: 1s\n",
               "t.yaml:4:3: unknown key \"restrat_timeout\" in supervise");
    config_bad("version: 1\nsupervise:\n  refresh: 300\n", "t.yaml:3:12: refresh: \"300\" is not "
                                                           "a duration");
    config_bad("version: 1\nsupervise:\n  refresh: 0s\n", "refresh: must be more than 0");
    config_bad("version: 1\nsupervise:\n  restart_timeout: 0ms\n",
               "restart_timeout: must be more than 0");
    config_bad("version: 1\nsupervise:\n  refresh: 31d\n", "at most 30d");
    config_bad("version: 1\nsupervise:\n  on_change: reload\n",
               "t.yaml:3:14: on_change: \"reload\" is not signal, restart or none");
    config_bad("version: 1\nsupervise:\n  on_change_signal: KILL\n",
               "on_change_signal: \"KILL\" is not one of");
    config_bad("version: 1\nsupervise:\n  on_change_exec: /bin/reload\n",
               "on_change_exec must be a list");
    config_bad("version: 1\nsupervise:\n  on_change_exec: []\n", "must list a command");
    config_bad("version: 1\nsupervise:\n  on_change_exec: [\"\", x]\n", "the command is empty");
    config_bad("version: 1\nsupervise:\n  on_change_exec: [a, [b]]\n", "must be a string");
    config_bad("version: 1\nsupervise:\n  pgroup: yes\n", "pgroup must be true or false");
    config_bad("version: 1\nsupervise: [refresh]\n", "must be true, false or a mapping");
    config_bad("version: 1\nsupervise: maybe\n", "supervise must be true or false");
    config_bad("version: 1\nsupervise:\n  refresh: 1s\n  refresh: 2s\n", "duplicate key");
    config_bad("version: 1\nsupervisor: true\n", "unknown top-level key \"supervisor\"");
    config_bad("version: 1\nsupervise:\n  refresh_signal: TERM\n",
               "t.yaml:3:19: refresh_signal: TERM stops injector and the app");
    config_bad("version: 1\nsupervise:\n  refresh_signal: SIGINT\n", "SIGINT stops injector");
    config_bad("version: 1\nsupervise:\n  refresh_signal: KILL\n",
               "refresh_signal: \"KILL\" is not one of");
}

/* refresh_signal: none by default (every signal is forwarded); a name with or without SIG. */
static void config_refresh_signal(void **state)
{
    struct config c;
    struct inj_err err = UNIT_ERR_INIT;

    (void)state;
    assert_int_equal(parse("version: 1\nsupervise: true\n", &c, &err), INJ_OK);
    assert_int_equal(c.supervise.refresh_signal, 0);
    assert_int_equal(c.supervise.on_change_given, 0);
    config_free(&c);
    assert_int_equal(
        parse("version: 1\nsupervise: { refresh_signal: SIGUSR1, on_change: signal }\n", &c, &err),
        INJ_OK);
    assert_int_equal(c.supervise.refresh_signal, SIGUSR1);
    assert_int_equal(c.supervise.on_change_given, 1);
    config_free(&c);
    assert_int_equal(parse("version: 1\nsupervise:\n  refresh_signal: HUP\n", &c, &err), INJ_OK);
    assert_int_equal(c.supervise.refresh_signal, SIGHUP);
    config_free(&c);
}

/* injector policy grants DescribeSecret when the config refreshes, and only then. */
static void policy_describe_with_refresh(void **state)
{
    static const char *const yaml[] = {
        "version: 1\nregion: eu-central-1\nenv:\n  A: { from: api, key: token }\n",
        "version: 1\nregion: eu-central-1\nsupervise: { refresh: 5m }\n"
        "env:\n  A: { from: api, key: token }\n",
        "version: 1\nregion: eu-central-1\nsupervise: { refresh_signal: USR1 }\n"
        "env:\n  A: { from: api, key: token }\n",
    };
    struct policy_opts opts;
    size_t i;

    (void)state;
    memset(&opts, 0, sizeof(opts));
    opts.fetch = SM_FETCH_UNSET;
    opts.region = "eu-central-1";
    for (i = 0; i < 3; i++) {
        struct config c;
        struct inj_err err = UNIT_ERR_INIT;
        char *text = NULL;

        assert_int_equal(parse(yaml[i], &c, &err), INJ_OK);
        assert_int_equal(policy_build(&c, &opts, &text, &err), INJ_OK);
        if (i)
            assert_contains(text,
                            "\"Action\": \"secretsmanager:DescribeSecret\",\n"
                            "      \"Resource\": [\n"
                            "        \"arn:aws:secretsmanager:eu-central-1:*:secret:api-??????\"");
        else
            assert_not_contains(text, "DescribeSecret");
        free(text);
        config_free(&c);
    }
}

/* ---- the supervisor loop, on sh children ---- */

static char **test_envp;
static int hook_calls;
static enum supervise_refresh_rc hook_script[8];

static enum supervise_refresh_rc fake_refresh(void *ctx)
{
    (void)ctx;
    if (hook_calls < 8)
        return hook_script[hook_calls++];
    hook_calls++;
    return SUPERVISE_SAME;
}

static char **fake_envp(void *ctx)
{
    (void)ctx;
    return test_envp;
}

/* Runs supervise_run in a child (it blocks signals and turns us into a subreaper) and
 * returns what it would have made injector exit with, or 1000 + rc when it failed. */
static int supervise_in_child(struct supervise_opts *o)
{
    struct supervise_hooks h = {.refresh = fake_refresh, .envp = fake_envp};
    pid_t pid;
    int st = 0;

    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct inj_err err = UNIT_ERR_INIT;
        int code = -1;
        enum inj_rc rc = supervise_run(o, &h, &code, &err);
        _exit(rc == INJ_OK ? code : 200 + (int)rc);
    }
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}

static void run_sh(const char *script, struct supervise_opts *o)
{
    static char *argv[4];

    argv[0] = "/bin/sh";
    argv[1] = "-c";
    argv[2] = (char *)script;
    argv[3] = NULL;
    memset(o, 0, sizeof(*o));
    o->argv = argv;
    o->on_change_signal = SIGHUP;
    o->restart_timeout_ms = 5000;
    o->restart_delay_ms = 0;
    hook_calls = 0;
    memset(hook_script, 0, sizeof(hook_script));
}

static void loop_exit_codes(void **state)
{
    static char *env[] = {"PATH=/usr/bin:/bin", NULL};
    static char *missing[] = {"no-such-command-injector-test", NULL};
    static char *notexec[] = {"/etc/passwd", NULL};
    struct supervise_opts o;

    (void)state;
    test_envp = env;
    run_sh("exit 7", &o);
    assert_int_equal(supervise_in_child(&o), 7);
    run_sh("exit 0", &o);
    assert_int_equal(supervise_in_child(&o), 0);
    run_sh("kill -TERM $$", &o);
    assert_int_equal(supervise_in_child(&o), 128 + SIGTERM);
    run_sh("kill -KILL $$", &o);
    assert_int_equal(supervise_in_child(&o), 128 + SIGKILL);
    /* The command never ran: an error, not an exit code. */
    run_sh("", &o);
    o.argv = missing;
    assert_int_equal(supervise_in_child(&o), 200 + INJ_E_NOTFOUND);
    o.argv = notexec;
    assert_int_equal(supervise_in_child(&o), 200 + INJ_E_NOEXEC);
}

/* The environment the child got comes from the envp hook, and an orphan is reaped. */
static void loop_env_and_orphans(void **state)
{
    static char *env[] = {"PATH=/usr/bin:/bin", "INJ_TEST=from-hook", NULL};
    struct supervise_opts o;

    (void)state;
    test_envp = env;
    run_sh("test \"$INJ_TEST\" = from-hook || exit 3; (sleep 0.05 &) ; sleep 0.2; exit 4", &o);
    assert_int_equal(supervise_in_child(&o), 4);
}

/* A change with on_change: signal sends SIGHUP once; the script exits 5 on it. */
static void loop_change_signals(void **state)
{
    static char *env[] = {"PATH=/usr/bin:/bin", NULL};
    struct supervise_opts o;

    (void)state;
    test_envp = env;
    run_sh("trap 'exit 5' HUP; i=0; while [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; "
           "exit 6",
           &o);
    o.refresh_ms = 20;
    hook_script[0] = SUPERVISE_FAILED; /* a failure first: nothing happens, retried */
    hook_script[1] = SUPERVISE_SAME;
    hook_script[2] = SUPERVISE_CHANGED;
    assert_int_equal(supervise_in_child(&o), 5);
    o.on_change_signal = SIGUSR1;
    run_sh("trap 'exit 8' USR1; i=0; while [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; "
           "exit 6",
           &o);
    o.on_change_signal = SIGUSR1;
    o.refresh_ms = 20;
    hook_script[0] = SUPERVISE_CHANGED;
    assert_int_equal(supervise_in_child(&o), 8);
}

/* on_change: restart stops the child with SIGTERM and starts it again. Generation 1 leaves
 * a mark; generation 2 sees it and exits 9, which is what injector exits with. */
static int restart_once(const char *gen1_on_term, long long timeout_ms)
{
    static char envbuf[400];
    static char *env[] = {"PATH=/usr/bin:/bin", envbuf, NULL};
    char script[512];
    char dir[256];
    char mark[300];
    struct supervise_opts o;
    int code;

    unit_mkdtemp(dir, sizeof(dir));
    unit_join(mark, sizeof(mark), dir, "mark");
    (void)snprintf(envbuf, sizeof(envbuf), "MARK=%s", mark);
    (void)snprintf(script, sizeof(script),
                   "if [ -e \"$MARK\" ]; then exit 9; fi; : > \"$MARK\"; %s", gen1_on_term);
    test_envp = env;
    run_sh(script, &o);
    o.refresh_ms = 20;
    o.on_change = SUPERVISE_ON_CHANGE_RESTART;
    o.restart_timeout_ms = timeout_ms;
    hook_script[0] = SUPERVISE_CHANGED;
    code = supervise_in_child(&o);
    unit_rmtree(dir);
    return code;
}

static void loop_change_restarts(void **state)
{
    (void)state;
    /* Stops on SIGTERM. */
    assert_int_equal(restart_once("trap 'exit 0' TERM; while :; do sleep 0.05; done", 10000), 9);
    /* Ignores SIGTERM (inherited through exec): SIGKILL after restart_timeout. */
    assert_int_equal(restart_once("trap '' TERM; exec sleep 30", 100), 9);
}

/* refresh_signal: the child sends it to injector (its parent); it is kept, not forwarded
 * (the child would die of SIGUSR1), and answered with a refresh, whose change sends
 * on_change_signal (SIGHUP: the script exits 5). No timer: refresh_ms is 0. */
static void loop_refresh_signal(void **state)
{
    static char *env[] = {"PATH=/usr/bin:/bin", NULL};
    struct supervise_opts o;

    (void)state;
    test_envp = env;
    run_sh("trap 'exit 5' HUP; kill -USR1 $PPID; i=0; while [ $i -lt 600 ]; do sleep 0.05; "
           "i=$((i+1)); done; exit 6",
           &o);
    o.refresh_signal = SIGUSR1;
    hook_script[0] = SUPERVISE_CHANGED;
    assert_int_equal(supervise_in_child(&o), 5);
    /* Without it, SIGUSR1 is forwarded: the script dies of it. */
    run_sh("kill -USR1 $PPID; i=0; while [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; "
           "exit 6",
           &o);
    hook_script[0] = SUPERVISE_CHANGED;
    assert_int_equal(supervise_in_child(&o), 128 + SIGUSR1);
}

static int ready_calls;

/* The sidecar's readiness hook: a helper process sends injector SIGTERM (a signal injector
 * raised itself would be ignored). */
static enum inj_rc fake_ready(void *rctx, struct inj_err *err)
{
    pid_t p;

    (void)rctx;
    (void)err;
    ready_calls++;
    p = fork();
    if (p == 0) {
        (void)kill(getppid(), SIGTERM);
        _exit(0);
    }
    return p > 0 ? INJ_OK : INJ_E_SOFTWARE;
}

static enum inj_rc failing_ready(void *rctx, struct inj_err *err)
{
    (void)rctx;
    return inj_err_set(err, INJ_E_IO, "ready file: no");
}

/* No command: ready once, then until SIGTERM (exit 0); a readiness failure is an error. */
static void loop_sidecar(void **state)
{
    struct supervise_opts o;
    struct supervise_hooks h = {.refresh = fake_refresh, .envp = fake_envp, .ready = fake_ready};
    pid_t pid;
    int st = 0;

    (void)state;
    run_sh("", &o);
    o.argv = NULL;
    o.refresh_ms = 20;
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct inj_err err = UNIT_ERR_INIT;
        int code = -1;
        enum inj_rc rc = supervise_run(&o, &h, &code, &err);
        _exit(rc == INJ_OK && ready_calls == 1 ? code : 100);
    }
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);

    h.ready = failing_ready;
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct inj_err err = UNIT_ERR_INIT;
        int code = -1;
        enum inj_rc rc = supervise_run(&o, &h, &code, &err);
        _exit(rc == INJ_E_IO && strstr(err.msg, "ready file: no") ? 0 : 100);
    }
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(jitter_bounds),
        cmocka_unit_test(backoff_grows_and_caps),
        cmocka_unit_test(stage_version_lookup),
        cmocka_unit_test(needs_fetch),
        cmocka_unit_test(value_differs),
        cmocka_unit_test(config_defaults_and_values),
        cmocka_unit_test(config_rejects),
        cmocka_unit_test(config_refresh_signal),
        cmocka_unit_test(loop_refresh_signal),
        cmocka_unit_test(loop_sidecar),
        cmocka_unit_test(policy_describe_with_refresh),
        cmocka_unit_test(loop_exit_codes),
        cmocka_unit_test(loop_env_and_orphans),
        cmocka_unit_test(loop_change_signals),
        cmocka_unit_test(loop_change_restarts),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
