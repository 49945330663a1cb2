/* test_refresh.c: supervise mode's refresh cycle without a network, through the engine's
 * transport seam (fake_aws.h): values resolved and delivered as at start (env, a file on tmpfs
 * under /dev/shm), then refresh_run against a canned Secrets Manager whose secrets move or
 * fail. Checks the calls made (DescribeSecret first, GetSecretValue only for what moved or
 * where DescribeSecret is denied), what changed, and that a failed cycle keeps every value.
 * The pure helpers (refresh_stage_version, refresh_needs_fetch, refresh_value_differs) are
 * tested in test_supervise.c. */
#include "unit.h"

#include "config.h"
#include "creds.h"
#include "jx.h"
#include "log.h"
#include "refresh.h"
#include "resolve.h"
#include "sink.h"
#include "sm.h"

#include "fake_aws.h"

#define DB_V1 "{\"password\":\"canary-r-db-1\",\"user\":\"admin\"}"
#define DB_V2 "{\"password\":\"canary-r-db-2\",\"user\":\"admin\"}"
#define DB_V3 "{\"password\":\"canary-r-db-3\",\"user\":\"admin\"}"
#define DB_NOPW "{\"user\":\"admin\",\"pw\":\"canary-r-db-nopw\"}"
#define API_V1 "{\"token\":\"canary-r-tok-1\"}"

static const char *const canaries[] = {"canary-r-db-1", "canary-r-db-2", "canary-r-db-3",
                                       "canary-r-db-nopw", "canary-r-tok-1"};

/* Everything a supervised run keeps between cycles. */
static struct {
    char dir[64];   /* /dev/shm/inj-unit-XXXXXX */
    char file[128]; /* dir/db.json: the whole app/db secret */
    struct fake_aws fa;
    struct creds creds;
    struct config cfg;
    struct resolve_set set;
    struct sink_env env;
    struct sink_files files;
    struct refresh r;
    char *log; /* what the last cycle logged (debug level) */
} fx;

static char *const base_env[] = {"HOME=/nonexistent", NULL};

static int setup(void **state)
{
    static const char yaml[] =
        "version: 1\n"
        "region: eu-central-1\n"
        "env:\n"
        "  DB_PASS: { from: app/db, key: password }\n"
        "  API_TOKEN: { from: app/api, key: token }\n"
        "  URL: { template: 'p={{ secret \"app/db\" .password }} t={{ secret \"app/api\" .token "
        "}}' }\n"
        "files:\n"
        "  %s: { from: app/db }\n";
    char text[1024];
    struct inj_err err = UNIT_ERR_INIT;
    struct sm_ctx ctx;
    size_t i;
    int n;

    (void)state;
    memset(&fx, 0, sizeof(fx));
    log_set_level(LOG_LVL_WARN);
    /* Files go to tmpfs only (allow_disk is off): /dev/shm is one. */
    (void)snprintf(fx.dir, sizeof(fx.dir), "/dev/shm/inj-unit-XXXXXX");
    assert_non_null(mkdtemp(fx.dir));
    unit_join(fx.file, sizeof(fx.file), fx.dir, "db.json");
    fake_add(&fx.fa, "app/db", "v1", DB_V1);
    fake_add(&fx.fa, "app/api", "a1", API_V1);
    (void)snprintf(fx.creds.source, sizeof(fx.creds.source), "env");
    n = snprintf(text, sizeof(text), yaml, fx.file);
    assert_true(n > 0 && (size_t)n < sizeof(text));
    if (config_parse("t.yaml", (const unsigned char *)text, (size_t)n, &fx.cfg, &err) != INJ_OK)
        fail_msg("config: %s", err.msg);
    /* The start, as main.c does it: resolve (one batch call), env, files. */
    fake_sm_ctx(&ctx, &fx.fa, &fx.creds, SM_FETCH_AUTO);
    assert_int_equal(resolve_all(&fx.cfg, &ctx, &fx.set, &err), INJ_OK);
    assert_int_equal(fake_count_for(&fx.fa, "BatchGetSecretValue", "app/db,app/api", ""), 1);
    assert_int_equal(sink_env_init(&fx.env, base_env, &err), INJ_OK);
    for (i = 0; i < fx.set.nr; i++) {
        const struct resolved *v = &fx.set.r[i];

        if (v->e->kind == ENTRY_ENV)
            assert_int_equal(sink_env_set(&fx.env, v->e->name, v->value.p, v->value.len, 0, &err),
                             INJ_OK);
        else
            assert_int_equal(sink_file_stage(&fx.files, v->e->name, v->e->mode, 0, v->value.p,
                                             v->value.len, &err),
                             INJ_OK);
    }
    assert_int_equal(sink_files_commit(&fx.files, &err), INJ_OK);
    sink_files_release_old(&fx.files);
    /* Supervise mode's refresh over the same state (main.c main_supervise). */
    fx.r.cfg = &fx.cfg;
    fx.r.set = &fx.set;
    fx.r.env = &fx.env;
    fx.r.files = &fx.files;
    fx.r.creds = &fx.creds; /* no expiration: never re-obtained */
    fx.r.sm = ctx;
    assert_int_equal(refresh_init(&fx.r, &err), INJ_OK);
    fake_forget_calls(&fx.fa);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    refresh_free(&fx.r);
    sink_files_free(&fx.files);
    sink_env_free(&fx.env);
    resolve_free(&fx.set);
    config_free(&fx.cfg);
    unit_rmtree(fx.dir);
    free(fx.log);
    return 0;
}

/* What the command would see: NAME's value in the env for the next start. */
static const char *env_value(const char *name)
{
    char **v = sink_env_envp(&fx.env);
    size_t n = strlen(name);

    for (; *v; v++)
        if (!strncmp(*v, name, n) && (*v)[n] == '=')
            return *v + n + 1;
    fail_msg("no %s in the env", name);
    return NULL;
}

static void file_is(const char *want)
{
    char *got = unit_read_file(fx.file, NULL);

    assert_string_equal(got, want);
    free(got);
    /* No staged temp file left behind next to it. */
    assert_int_equal(unit_count_entries(fx.dir), 1);
}

/* The values the command sees, and the set in force, at app/db's version db_vid. */
static void in_force(const char *db_vid, const char *db_value, const char *db_pass)
{
    char url[128];

    (void)snprintf(url, sizeof(url), "p=%s t=canary-r-tok-1", db_pass);
    assert_string_equal(env_value("DB_PASS"), db_pass);
    assert_string_equal(env_value("API_TOKEN"), "canary-r-tok-1");
    assert_string_equal(env_value("URL"), url);
    assert_string_equal(env_value("HOME"), "/nonexistent");
    file_is(db_value);
    assert_string_equal(fx.set.f[0].ref->secret_id, "app/db");
    assert_non_null(fx.set.f[0].secret.version_id);
    assert_string_equal(fx.set.f[0].secret.version_id, db_vid);
    assert_int_equal(fx.set.f[0].secret.value.len, strlen(db_value));
    assert_memory_equal(fx.set.f[0].secret.value.p, db_value, strlen(db_value));
    /* app/api never moves: its fetch stays in force, whatever a cycle did. */
    assert_non_null(fx.set.f[1].secret.version_id);
    assert_string_equal(fx.set.f[1].secret.version_id, "a1");
    assert_int_equal(fx.set.f[1].secret.value.len, strlen(API_V1));
    assert_memory_equal(fx.set.f[1].secret.value.p, API_V1, strlen(API_V1));
    assert_int_equal(fx.set.r[0].value.len, strlen(db_pass));
    assert_memory_equal(fx.set.r[0].value.p, db_pass, strlen(db_pass));
}

/* One cycle, stderr captured (at debug level: every line) and checked for canaries. */
static enum inj_rc cycle(int *changed, struct inj_err *err)
{
    struct fake_stderr cap;
    enum inj_rc rc;
    size_t i;

    fake_forget_calls(&fx.fa);
    *changed = -1;
    memset(err, 0, sizeof(*err));
    log_set_level(LOG_LVL_DEBUG);
    fake_stderr_start(&cap);
    rc = refresh_run(&fx.r, changed, err);
    free(fx.log);
    fx.log = fake_stderr_end(&cap);
    log_set_level(LOG_LVL_WARN);
    for (i = 0; i < sizeof(canaries) / sizeof(canaries[0]); i++) {
        assert_not_contains(fx.log, canaries[i]);
        assert_not_contains(err->msg, canaries[i]);
    }
    return rc;
}

/* app/db's AWSCURRENT moves to vid with value (the old version becomes AWSPREVIOUS). */
static void rotate_db(const char *vid, const char *value)
{
    struct fake_secret *s = fake_find(&fx.fa, "app/db");

    s->prev_version = s->version;
    s->prev_value = s->value;
    s->version = vid;
    s->value = value;
}

/* Nothing moved: a DescribeSecret per secret, no value read, nothing changed. */
static void nothing_moved(void **state)
{
    struct inj_err err;
    int changed;
    int k;

    (void)state;
    for (k = 0; k < 2; k++) {
        assert_int_equal(cycle(&changed, &err), INJ_OK);
        assert_int_equal(changed, 0);
        assert_int_equal(fx.fa.ncalls, 2);
        assert_int_equal(fake_count_for(&fx.fa, "DescribeSecret", "app/db", ""), 1);
        assert_int_equal(fake_count_for(&fx.fa, "DescribeSecret", "app/api", ""), 1);
        in_force("v1", DB_V1, "canary-r-db-1");
    }
}

/* AWSCURRENT moved: that secret alone is read again, and every entry using it changes (the
 * env for the next start, the file in place, the template that names it). */
static void current_moved(void **state)
{
    struct inj_err err;
    int changed;

    (void)state;
    rotate_db("v2", DB_V2);
    assert_int_equal(cycle(&changed, &err), INJ_OK);
    assert_int_equal(changed, 1);
    assert_int_equal(fx.fa.ncalls, 3);
    assert_int_equal(fake_count(&fx.fa, "DescribeSecret"), 2);
    assert_int_equal(fake_count_for(&fx.fa, "GetSecretValue", "app/db", ""), 1);
    in_force("v2", DB_V2, "canary-r-db-2");
    assert_contains(fx.log, "app/db-Ab12Cd: new version v2 (AWSCURRENT)");
    assert_contains(fx.log, "env DB_PASS updated");
    assert_contains(fx.log, "env URL updated");
    assert_contains(fx.log, "file /dev/shm/inj-unit-");
    assert_not_contains(fx.log, "API_TOKEN updated");
    /* Next cycle: v2 is what we have. */
    assert_int_equal(cycle(&changed, &err), INJ_OK);
    assert_int_equal(changed, 0);
    assert_int_equal(fake_count(&fx.fa, "GetSecretValue"), 0);
    assert_int_equal(fx.fa.ncalls, 2);
}

/* A new version with the same values: read once, recorded, nothing changes for the command. */
static void new_version_same_value(void **state)
{
    struct inj_err err;
    int changed;

    (void)state;
    rotate_db("v2", DB_V1);
    assert_int_equal(cycle(&changed, &err), INJ_OK);
    assert_int_equal(changed, 0);
    assert_contains(fx.log, "no value used here changed: nothing to do");
    assert_int_equal(fake_count_for(&fx.fa, "GetSecretValue", "app/db", ""), 1);
    in_force("v2", DB_V1, "canary-r-db-1");
    assert_int_equal(cycle(&changed, &err), INJ_OK);
    assert_int_equal(fake_count(&fx.fa, "GetSecretValue"), 0);
}

/* DescribeSecret denied: GetSecretValue checks instead, comparing versions and values, and
 * DescribeSecret is not asked again. */
static void describe_denied(void **state)
{
    struct inj_err err;
    int changed;

    (void)state;
    fake_find(&fx.fa, "app/db")->describe_error = "AccessDeniedException";
    assert_int_equal(cycle(&changed, &err), INJ_OK);
    assert_int_equal(changed, 0);
    assert_int_equal(fx.fa.ncalls, 3);
    assert_int_equal(fake_count_for(&fx.fa, "DescribeSecret", "app/db", ""), 1);
    assert_int_equal(fake_count_for(&fx.fa, "GetSecretValue", "app/db", ""), 1);
    assert_int_equal(fake_count_for(&fx.fa, "DescribeSecret", "app/api", ""), 1);
    assert_contains(fx.log, "app/db: DescribeSecret is not allowed; checking for new versions with "
                            "GetSecretValue");
    assert_not_contains(fx.log, "Ab12Cd: new version"); /* same version and value: not moved */
    in_force("v1", DB_V1, "canary-r-db-1");
    /* From now on app/db is checked with GetSecretValue only. */
    assert_int_equal(cycle(&changed, &err), INJ_OK);
    assert_int_equal(changed, 0);
    assert_int_equal(fx.fa.ncalls, 2);
    assert_int_equal(fake_count_for(&fx.fa, "GetSecretValue", "app/db", ""), 1);
    assert_int_equal(fake_count_for(&fx.fa, "DescribeSecret", "app/api", ""), 1);
    /* A rotation is seen in the value GetSecretValue returns. */
    rotate_db("v2", DB_V2);
    assert_int_equal(cycle(&changed, &err), INJ_OK);
    assert_int_equal(changed, 1);
    assert_int_equal(fx.fa.ncalls, 2);
    assert_int_equal(fake_count(&fx.fa, "DescribeSecret"), 1);
    in_force("v2", DB_V2, "canary-r-db-2");
}

/* A cycle that fails anywhere keeps every value in force; once the cause is gone, the next
 * cycle applies the new version. */
static void failed_refresh_keeps_values(void **state)
{
    struct inj_err err;
    int changed;

    (void)state;
    /* The check of the second secret fails after the first was read again. */
    rotate_db("v2", DB_V2);
    fake_find(&fx.fa, "app/api")->describe_error = "ThrottlingException";
    assert_int_equal(cycle(&changed, &err), INJ_E_TEMPFAIL);
    assert_int_equal(changed, 0);
    assert_contains(err.msg, "app/api");
    assert_int_equal(fake_count_for(&fx.fa, "GetSecretValue", "app/db", ""), 1);
    assert_int_equal(fake_count_for(&fx.fa, "DescribeSecret", "app/api", ""), 1);
    in_force("v1", DB_V1, "canary-r-db-1");
    /* Reading the moved secret fails. */
    fake_find(&fx.fa, "app/api")->describe_error = NULL;
    fake_find(&fx.fa, "app/db")->error = "AccessDeniedException";
    assert_int_equal(cycle(&changed, &err), INJ_E_NOPERM);
    assert_int_equal(changed, 0);
    assert_contains(err.msg, "app/db");
    in_force("v1", DB_V1, "canary-r-db-1");
    /* The new version lacks a key an entry needs. */
    fake_find(&fx.fa, "app/db")->error = NULL;
    fake_find(&fx.fa, "app/db")->value = DB_NOPW;
    assert_int_equal(cycle(&changed, &err), INJ_E_MISSING);
    assert_int_equal(changed, 0);
    assert_contains(err.msg, "env DB_PASS: ");
    assert_contains(err.msg, "key \"password\" not found");
    assert_int_equal(fake_count_for(&fx.fa, "GetSecretValue", "app/db", ""), 1);
    in_force("v1", DB_V1, "canary-r-db-1");
    /* Fixed: the next cycle applies it. */
    rotate_db("v3", DB_V3);
    assert_int_equal(cycle(&changed, &err), INJ_OK);
    assert_int_equal(changed, 1);
    in_force("v3", DB_V3, "canary-r-db-3");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(nothing_moved, setup, teardown),
        cmocka_unit_test_setup_teardown(current_moved, setup, teardown),
        cmocka_unit_test_setup_teardown(new_version_same_value, setup, teardown),
        cmocka_unit_test_setup_teardown(describe_denied, setup, teardown),
        cmocka_unit_test_setup_teardown(failed_refresh_keeps_values, setup, teardown),
    };

    jx_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
