/* test_resolve.c: from config entries to values without a network, through the engine's
 * transport seam (fake_aws.h): the fetch plan (one call per distinct secret version, templates'
 * `secret "ID"` included), key / pointer / template extraction, optional entries skipped, the
 * extraction errors (not JSON, duplicate keys), and one error line per cause. Every secret
 * value is a canary that no message (stderr, captured) may carry. */
#include "unit.h"

#include "config.h"
#include "creds.h"
#include "jx.h"
#include "log.h"
#include "resolve.h"
#include "sm.h"

#include "fake_aws.h"

#define DB_V1                                                                            \
    "{\"username\":\"admin\",\"password\":\"canary-db-pw-5d1e\",\"net\":{\"host\":\"db." \
    "internal\"}}"
#define DB_V0 \
    "{\"username\":\"admin\",\"password\":\"canary-old-pw-77aa\",\"net\":{\"host\":\"db.old\"}}"
#define API_V1 "{\"token\":\"canary-api-tok-91c3\"}"
#define PLAIN_V1 "canary-plain-text-0b2f"
#define DUP_V1 "{\"user\":\"u\",\"password\":\"canary-dup-a-11\",\"password\":\"canary-dup-b-22\"}"
#define NESTED_DUP_V1 "{\"db\":{\"host\":\"h\",\"host\":\"canary-nested-dup-3c\"}}"

static const char *const canaries[] = {
    "canary-db-pw-5d1e", "canary-old-pw-77aa", "canary-api-tok-91c3", "canary-plain-text-0b2f",
    "canary-dup-a-11",   "canary-dup-b-22",    "canary-nested-dup-3c"};

static struct fake_aws fa;
static struct creds creds;

static int setup(void **state)
{
    struct fake_secret *s;

    (void)state;
    memset(&fa, 0, sizeof(fa));
    s = fake_add(&fa, "app/db", "v1", DB_V1);
    s->prev_version = "v0";
    s->prev_value = DB_V0;
    fake_add(&fa, "app/api", "a1", API_V1);
    fake_add(&fa, "app/plain", "p1", PLAIN_V1);
    fake_add(&fa, "app/dup", "d1", DUP_V1);
    fake_add(&fa, "app/nested-dup", "n1", NESTED_DUP_V1);
    memset(&creds, 0, sizeof(creds));
    (void)snprintf(creds.source, sizeof(creds.source), "env");
    log_set_level(LOG_LVL_WARN);
    return 0;
}

/* Lines of text that contain needle. */
static size_t count_lines(const char *text, const char *needle)
{
    size_t n = 0;
    const char *p = text;

    while (*p) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *hit = strstr(p, needle);

        n += hit && hit < p + len;
        p += len + (end != NULL);
    }
    return n;
}

/* The line of text that contains needle (asserts there is exactly one), malloc'd. */
static char *line_with(const char *text, const char *needle)
{
    const char *hit = strstr(text, needle);
    const char *start;
    const char *end;

    if (count_lines(text, needle) != 1)
        fail_msg("expected one line with \"%s\" in:\n%s", needle, text);
    start = hit;
    while (start > text && start[-1] != '\n')
        start--;
    end = strchr(hit, '\n');
    return strndup(start, end ? (size_t)(end - start) : strlen(start));
}

/* ---- helpers ---- */

static void parse(const char *yaml, struct config *cfg)
{
    struct inj_err err = UNIT_ERR_INIT;

    if (config_parse("t.yaml", (const unsigned char *)yaml, strlen(yaml), cfg, &err) != INJ_OK)
        fail_msg("config: %s", err.msg);
}

static struct resolved *entry(const struct resolve_set *s, const char *name)
{
    size_t i;

    for (i = 0; i < s->nr; i++)
        if (!strcmp(s->r[i].e->name, name))
            return &s->r[i];
    fail_msg("no entry %s", name);
    return NULL;
}

static void value_is(const struct resolved *r, const char *want)
{
    assert_false(r->skipped);
    if (r->value.len != strlen(want) || memcmp(r->value.p, want, r->value.len) != 0)
        fail_msg("%s: got %zu bytes, want \"%s\"", r->e->name, r->value.len, want);
}

/* Runs resolve_all over cfg in mode, stderr captured into *log (malloc'd). */
static enum inj_rc run(const struct config *cfg, enum sm_fetch_mode mode, struct resolve_set *set,
                       struct inj_err *err, char **log)
{
    struct sm_ctx ctx;
    struct fake_stderr cap;
    size_t i;
    enum inj_rc rc;

    fake_sm_ctx(&ctx, &fa, &creds, mode);
    fake_forget_calls(&fa);
    fake_stderr_start(&cap);
    rc = resolve_all(cfg, &ctx, set, err);
    *log = fake_stderr_end(&cap);
    for (i = 0; i < sizeof(canaries) / sizeof(canaries[0]); i++)
        assert_not_contains(*log, canaries[i]);
    return rc;
}

static const char DEDUP_YAML[] =
    "version: 1\n"
    "region: eu-central-1\n"
    "env:\n"
    "  DB_USER: { from: app/db, key: username }\n"
    "  DB_PASS: { from: app/db, key: password }\n"
    "  DB_HOST: { from: app/db, pointer: /net/host }\n"
    "  DB_URL:\n"
    "    from: app/db\n"
    "    template: 'u={{ .username }} p={{ .password }} h={{ .net.host }} t={{ secret \"app/api\" "
    ".token }}'\n"
    "  API_TOKEN: { from: app/api, key: token }\n"
    "  OLD_PASS: { from: app/db, key: password, version_stage: AWSPREVIOUS }\n"
    "  API_JSON: { template: '{{ secret \"app/api\" }}' }\n";

/* Seven entries read three secret versions: the plan has three fetches, templates' `secret
 * "ID"` deduplicated with the entries' own. */
static void plan_deduplicates(void **state)
{
    struct config cfg;
    struct resolve_set set;
    struct inj_err err = UNIT_ERR_INIT;

    (void)state;
    parse(DEDUP_YAML, &cfg);
    assert_int_equal(resolve_plan(&cfg, &set, &err), INJ_OK);
    assert_int_equal(set.nr, 7);
    assert_int_equal(set.nf, 3);
    assert_string_equal(set.f[0].ref->secret_id, "app/db");
    assert_null(set.f[0].ref->version_stage);
    assert_string_equal(set.f[1].ref->secret_id, "app/api");
    assert_string_equal(set.f[2].ref->secret_id, "app/db");
    assert_string_equal(set.f[2].ref->version_stage, "AWSPREVIOUS");
    /* Every entry points at its fetch; the template's `secret "app/api"` at app/api's. */
    assert_ptr_equal(entry(&set, "DB_USER")->f, &set.f[0]);
    assert_ptr_equal(entry(&set, "DB_URL")->f, &set.f[0]);
    assert_ptr_equal(entry(&set, "DB_URL")->src[0], &set.f[1]);
    assert_ptr_equal(entry(&set, "API_TOKEN")->f, &set.f[1]);
    assert_ptr_equal(entry(&set, "OLD_PASS")->f, &set.f[2]);
    assert_ptr_equal(entry(&set, "API_JSON")->f, &set.f[1]);
    assert_int_equal(fa.ncalls, 0); /* planning is offline */
    resolve_free(&set);
    config_free(&cfg);
}

/* Each (secret, version) is fetched once, whichever API fetches it; every form of entry gets
 * its value from the one answer. */
static void fetch_once_and_extract(void **state)
{
    static const enum sm_fetch_mode modes[] = {SM_FETCH_AUTO, SM_FETCH_SINGLE};
    size_t m;

    (void)state;
    for (m = 0; m < 2; m++) {
        struct config cfg;
        struct resolve_set set;
        struct inj_err err = UNIT_ERR_INIT;
        char *log = NULL;

        parse(DEDUP_YAML, &cfg);
        log_set_level(LOG_LVL_DEBUG); /* every line, for the canary check */
        assert_int_equal(run(&cfg, modes[m], &set, &err, &log), INJ_OK);
        log_set_level(LOG_LVL_WARN);
        if (modes[m] == SM_FETCH_AUTO) {
            /* Two AWSCURRENT secrets of one region: one batch call; the pinned version
             * through GetSecretValue. */
            assert_int_equal(fa.ncalls, 2);
            assert_int_equal(fake_count_for(&fa, "BatchGetSecretValue", "app/db,app/api", ""), 1);
            assert_int_equal(fake_count_for(&fa, "GetSecretValue", "app/db", "AWSPREVIOUS"), 1);
        } else {
            assert_int_equal(fa.ncalls, 3);
            assert_int_equal(fake_count_for(&fa, "GetSecretValue", "app/db", ""), 1);
            assert_int_equal(fake_count_for(&fa, "GetSecretValue", "app/api", ""), 1);
            assert_int_equal(fake_count_for(&fa, "GetSecretValue", "app/db", "AWSPREVIOUS"), 1);
        }
        assert_int_equal(fake_count(&fa, "DescribeSecret"), 0);
        assert_int_equal(set.api_calls, fa.ncalls);
        value_is(entry(&set, "DB_USER"), "admin");
        value_is(entry(&set, "DB_PASS"), "canary-db-pw-5d1e");
        value_is(entry(&set, "DB_HOST"), "db.internal");
        value_is(entry(&set, "DB_URL"),
                 "u=admin p=canary-db-pw-5d1e h=db.internal t=canary-api-tok-91c3");
        value_is(entry(&set, "API_TOKEN"), "canary-api-tok-91c3");
        value_is(entry(&set, "OLD_PASS"), "canary-old-pw-77aa");
        value_is(entry(&set, "API_JSON"), API_V1);
        assert_string_equal(set.f[2].secret.version_id, "v0");
        free(log);
        resolve_free(&set);
        config_free(&cfg);
    }
}

/* Optional entries whose secret or key is missing are skipped with a warning; the others
 * still get their values. */
static void optional_entries_skipped(void **state)
{
    struct config cfg;
    struct resolve_set set;
    struct inj_err err = UNIT_ERR_INIT;
    char *log = NULL;

    (void)state;
    parse("version: 1\n"
          "env:\n"
          "  GONE: { from: app/gone, optional: true }\n"
          "  NOKEY: { from: app/db, key: nope, optional: true }\n"
          "  NOPTR: { from: app/db, pointer: /net/port, optional: true }\n"
          "  DB_PASS: { from: app/db, key: password }\n",
          &cfg);
    assert_int_equal(run(&cfg, SM_FETCH_AUTO, &set, &err, &log), INJ_OK);
    assert_int_equal(fake_count_for(&fa, "BatchGetSecretValue", "app/gone,app/db", ""), 1);
    assert_int_equal(fa.ncalls, 1);
    assert_true(entry(&set, "GONE")->skipped);
    assert_true(entry(&set, "NOKEY")->skipped);
    assert_true(entry(&set, "NOPTR")->skipped);
    assert_int_equal(entry(&set, "NOKEY")->value.len, 0);
    value_is(entry(&set, "DB_PASS"), "canary-db-pw-5d1e");
    assert_int_equal(count_lines(log, "(optional: skipped)"), 3);
    assert_int_equal(count_lines(log, "injector: error:"), 0);
    assert_contains(log, "env NOKEY: key \"nope\" not found in secret "
                         "arn:aws:secretsmanager:eu-central-1:111122223333:secret:app/db-Ab12Cd");
    assert_contains(log, "its keys are: username, password, net");
    assert_contains(log, "env GONE: app/gone:");
    free(log);
    resolve_free(&set);
    config_free(&cfg);
}

/* The extraction errors, entry by entry (resolve_extract again on each failed entry): a key or
 * pointer into a non-JSON secret, and a duplicate key wherever the lookup passes through it. */
static void extraction_errors(void **state)
{
    static const struct {
        const char *name;
        enum inj_rc rc;
        const char *msg;
    } want[] = {
        {"PLAIN_KEY", INJ_E_DATA,
         "PLAIN_KEY: secret "
         "arn:aws:secretsmanager:eu-central-1:111122223333:secret:app/plain-Ab12Cd "
         "is not JSON, but key \"password\" was asked"},
        {"PLAIN_PTR", INJ_E_DATA,
         "PLAIN_PTR: secret "
         "arn:aws:secretsmanager:eu-central-1:111122223333:secret:app/"
         "plain-Ab12Cd is not JSON, but pointer \"/a\" was asked"},
        {"DUP_KEY", INJ_E_DATA, "has the key \"password\" twice in its top level"},
        /* The duplicate is not the key asked for, but the lookup passes its object. */
        {"DUP_OTHER", INJ_E_DATA, "has the key \"password\" twice in its top level"},
        {"DUP_PTR", INJ_E_DATA, "has the key \"host\" twice in the object at /db"},
        {"DUP_TMPL", INJ_E_DATA, "has the key \"password\" twice"},
        {"DUP_OPT", INJ_E_DATA, "has the key \"password\" twice"},
    };
    struct config cfg;
    struct resolve_set set;
    struct inj_err err = UNIT_ERR_INIT;
    char *log = NULL;
    size_t i;
    size_t k;

    (void)state;
    parse("version: 1\n"
          "env:\n"
          "  PLAIN_KEY: { from: app/plain, key: password }\n"
          "  PLAIN_PTR: { from: app/plain, pointer: /a }\n"
          "  PLAIN_ALL: { from: app/plain }\n"
          "  DUP_KEY: { from: app/dup, key: password }\n"
          "  DUP_OTHER: { from: app/dup, key: user }\n"
          "  DUP_PTR: { from: app/nested-dup, pointer: /db/host }\n"
          "  DUP_TMPL: { from: app/dup, template: 'x{{ .password }}' }\n"
          "  DUP_OPT: { from: app/dup, key: password, optional: true }\n",
          &cfg);
    assert_int_equal(run(&cfg, SM_FETCH_AUTO, &set, &err, &log), INJ_E_DATA);
    assert_int_equal(inj_rc_exit(err.code), 65);
    assert_contains(err.msg, "7 of 8 entries failed");
    assert_int_equal(
        fake_count_for(&fa, "BatchGetSecretValue", "app/plain,app/dup,app/nested-dup", ""), 1);
    assert_int_equal(fa.ncalls, 1);
    value_is(entry(&set, "PLAIN_ALL"), PLAIN_V1); /* the whole secret needs no JSON */
    /* Each its own line: none shares a fetch failure's cause. Optional does not excuse a
     * secret that is ambiguous (only a missing secret or key is skipped). */
    assert_int_equal(count_lines(log, "injector: error:"), 7);
    assert_int_equal(count_lines(log, "(optional: skipped)"), 0);
    for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        struct resolved *r = entry(&set, want[i].name);
        struct inj_err e = UNIT_ERR_INIT;
        char prefix[64];
        char *line;

        (void)snprintf(prefix, sizeof(prefix), "injector: error: env %s: ", want[i].name);
        line = line_with(log, prefix);
        assert_contains(line, want[i].msg);
        free(line);
        assert_int_equal(r->value.len, 0); /* wiped */
        assert_int_equal(resolve_extract(r, &e), want[i].rc);
        assert_int_equal(inj_rc_exit(e.code), 65);
        assert_contains(e.msg, want[i].msg);
        for (k = 0; k < sizeof(canaries) / sizeof(canaries[0]); k++)
            assert_not_contains(e.msg, canaries[k]);
        sbuf_wipe_free(&r->value);
    }
    free(log);
    resolve_free(&set);
    config_free(&cfg);
}

/* Entries that fail alike are one line listing them; another cause keeps its own line. */
static void one_line_per_cause(void **state)
{
    static const enum sm_fetch_mode modes[] = {SM_FETCH_AUTO, SM_FETCH_SINGLE};
    size_t m;

    (void)state;
    for (m = 0; m < 2; m++) {
        struct config cfg;
        struct resolve_set set;
        struct inj_err err = UNIT_ERR_INIT;
        char *log = NULL;
        char *line;

        setup(NULL);
        fake_add(&fa, "app/d1", "x", "{}")->error = "AccessDeniedException";
        fake_add(&fa, "app/d2", "x", "{}")->error = "AccessDeniedException";
        fake_add(&fa, "app/k1", "x", "{}")->error = "DecryptionFailure";
        parse("version: 1\n"
              "env:\n"
              "  A: { from: app/d1, key: a }\n"
              "  B: { from: app/d2, key: b }\n"
              "  C: { from: app/d1, key: c }\n"
              "  K: { from: app/k1 }\n"
              "  GONE: { from: app/gone }\n"
              "  OK: { from: app/db, key: username }\n"
              "  T: { template: '{{ secret \"app/d2\" .x }}' }\n"
              "files:\n"
              "  /run/secrets/f: { from: app/d1 }\n",
              &cfg);
        assert_int_equal(run(&cfg, modes[m], &set, &err, &log), INJ_E_NOPERM);
        assert_contains(err.msg, "7 of 8 entries failed; nothing was written");
        if (modes[m] == SM_FETCH_AUTO) {
            assert_int_equal(fa.ncalls, 1);
            assert_int_equal(fake_count_for(&fa, "BatchGetSecretValue",
                                            "app/d1,app/d2,app/k1,app/gone,app/db", ""),
                             1);
        } else {
            assert_int_equal(fa.ncalls, 5);
            assert_int_equal(fake_count_for(&fa, "GetSecretValue", "app/d1", ""), 1);
            assert_int_equal(fake_count_for(&fa, "GetSecretValue", "app/d2", ""), 1);
        }
        value_is(entry(&set, "OK"), "admin");
        /* Denied: one line for five entries (a file and a template among them), AWS's
         * message left out of it. */
        assert_int_equal(count_lines(log, "injector: error:"), 3);
        line = line_with(log, "5 entries failed: ");
        assert_contains(line, "secretsmanager:GetSecretValue denied (AccessDeniedException");
        assert_contains(line, "grant it to the task role");
        assert_contains(line, "env A (app/d1), env B (app/d2), env C (app/d1), env T (app/d2), "
                              "file /run/secrets/f (app/d1)");
        assert_not_contains(line, "canned");
        free(line);
        /* The KMS failure and the missing secret: a line each, naming their entry. */
        line = line_with(log, "env K: app/k1: ");
        assert_contains(line, "kms:Decrypt");
        free(line);
        line = line_with(log, "env GONE: app/gone: ");
        assert_not_contains(line, "entries failed");
        free(line);
        free(log);
        resolve_free(&set);
        config_free(&cfg);
    }
}

/* A long list names ten entries and counts the rest. */
static void one_line_lists_ten(void **state)
{
    char yaml[2048];
    size_t off;
    struct config cfg;
    struct resolve_set set;
    struct inj_err err = UNIT_ERR_INIT;
    char *log = NULL;
    char *line;
    int i;

    (void)state;
    fake_add(&fa, "app/d1", "x", "{}")->error = "AccessDeniedException";
    off = (size_t)snprintf(yaml, sizeof(yaml), "version: 1\nenv:\n");
    for (i = 0; i < 12; i++)
        off += (size_t)snprintf(yaml + off, sizeof(yaml) - off,
                                "  V%02d: { from: app/d1, key: k }\n", i);
    assert_true(off < sizeof(yaml));
    parse(yaml, &cfg);
    assert_int_equal(run(&cfg, SM_FETCH_AUTO, &set, &err, &log), INJ_E_NOPERM);
    assert_int_equal(fake_count_for(&fa, "GetSecretValue", "app/d1", ""), 1);
    assert_int_equal(fa.ncalls, 1);
    assert_int_equal(count_lines(log, "injector: error:"), 1);
    line = line_with(log, "12 entries failed: ");
    assert_contains(line, "env V00 (app/d1), ");
    assert_contains(line, "env V09 (app/d1) and 2 more");
    assert_not_contains(line, "V10");
    free(line);
    free(log);
    resolve_free(&set);
    config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(plan_deduplicates, setup),
        cmocka_unit_test_setup(fetch_once_and_extract, setup),
        cmocka_unit_test_setup(optional_entries_skipped, setup),
        cmocka_unit_test_setup(extraction_errors, setup),
        cmocka_unit_test_setup(one_line_per_cause, setup),
        cmocka_unit_test_setup(one_line_lists_ten, setup),
    };

    jx_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
