/* test_sink.c: the child's environment (set, overwrite, refusals, unset, growth) and secret
 * files (staged, committed, aborted; exact modes, parent directories, symlinks). */
#include "unit.h"

#include <sys/vfs.h>

#include "sink.h"

#define TMPFS_MAGIC_ 0x01021994L

/* The value of name in envp, or NULL; fails when name occurs more than once. */
static const char *env_get(char **envp, const char *name)
{
    size_t len = strlen(name);
    const char *found = NULL;
    size_t i;

    for (i = 0; envp[i]; i++) {
        if (!strncmp(envp[i], name, len) && envp[i][len] == '=') {
            if (found)
                fail_msg("%s occurs twice in the environment", name);
            found = envp[i] + len + 1;
        }
    }
    return found;
}

static size_t env_count(char **envp)
{
    size_t n = 0;

    while (envp[n])
        n++;
    return n;
}

#define V(s) (const unsigned char *)(s), (sizeof(s) - 1)

static void env_init_copies_base(void **state)
{
    char *base[] = {(char *)"HOME=/root", (char *)"LANG=C", (char *)"NOEQUALS", NULL};
    struct sink_env e;
    struct inj_err err = UNIT_ERR_INIT;
    char **envp;

    (void)state;
    assert_int_equal(sink_env_init(&e, base, &err), INJ_OK);
    envp = sink_env_envp(&e);
    assert_ptr_not_equal(envp, base);
    assert_int_equal(env_count(envp), 3);
    assert_ptr_equal(envp[0], base[0]); /* borrowed, not copied */
    assert_string_equal(env_get(envp, "HOME"), "/root");
    assert_string_equal(env_get(envp, "LANG"), "C");
    sink_env_free(&e);
    sink_env_free(&e); /* twice: fine */
}

static void env_init_empty(void **state)
{
    char *base[] = {NULL};
    struct sink_env e;
    struct inj_err err = UNIT_ERR_INIT;

    (void)state;
    assert_int_equal(sink_env_init(&e, NULL, &err), INJ_OK);
    assert_non_null(sink_env_envp(&e));
    assert_null(sink_env_envp(&e)[0]);
    sink_env_free(&e);
    assert_int_equal(sink_env_init(&e, base, &err), INJ_OK);
    assert_null(sink_env_envp(&e)[0]);
    sink_env_free(&e);
}

/* Many variables (a 10,000-entry config): the filter that spares a scan per name never hides
 * one that is there: a repeat is refused, overwrite replaces, unset drops, also after the
 * arrays grew and for names of the base environment and bare ones. */
static void env_many_names(void **state)
{
    char *base[] = {(char *)"HOME=/root", (char *)"BARE", NULL};
    struct sink_env e;
    struct inj_err err = UNIT_ERR_INIT;
    char name[32];
    size_t i;

    (void)state;
    assert_int_equal(sink_env_init(&e, base, &err), INJ_OK);
    for (i = 0; i < 3000; i++) {
        (void)snprintf(name, sizeof(name), "V_%05zu", i);
        assert_int_equal(sink_env_set(&e, name, V("x"), 0, &err), INJ_OK);
    }
    assert_int_equal(env_count(sink_env_envp(&e)), 3002);
    for (i = 0; i < 3000; i += 7) {
        (void)snprintf(name, sizeof(name), "V_%05zu", i);
        assert_int_equal(sink_env_set(&e, name, V("y"), 0, &err), INJ_E_CONFIG);
    }
    assert_int_equal(sink_env_set(&e, "HOME", V("/x"), 0, &err), INJ_E_CONFIG);
    assert_int_equal(sink_env_set(&e, "V_02999", V("new"), 1, &err), INJ_OK);
    assert_string_equal(env_get(sink_env_envp(&e), "V_02999"), "new");
    sink_env_unset(&e, "BARE");
    sink_env_unset(&e, "V_00000");
    assert_int_equal(env_count(sink_env_envp(&e)), 3000);
    assert_null(env_get(sink_env_envp(&e), "V_00000"));
    /* Dropped: the name may be set again. */
    assert_int_equal(sink_env_set(&e, "V_00000", V("again"), 0, &err), INJ_OK);
    assert_string_equal(env_get(sink_env_envp(&e), "V_00000"), "again");
    sink_env_free(&e);
}

/* execve can pass "NAME" without '='; unset must find it (--pristine loops until the name
 * is gone, so a miss here would hang). */
static void env_unset_bare_name(void **state)
{
    char *base[] = {"A=1", "INJECTOR_BARE", "B=2", NULL};
    struct sink_env e;
    struct inj_err err = UNIT_ERR_INIT;

    (void)state;
    assert_int_equal(sink_env_init(&e, base, &err), INJ_OK);
    sink_env_unset(&e, "INJECTOR_BARE");
    assert_string_equal(sink_env_envp(&e)[0], "A=1");
    assert_string_equal(sink_env_envp(&e)[1], "B=2");
    assert_null(sink_env_envp(&e)[2]);
    sink_env_free(&e);
}

static void env_set_new(void **state)
{
    char *base[] = {(char *)"AB=1", (char *)"A", NULL};
    struct sink_env e;
    struct inj_err err = UNIT_ERR_INIT;

    (void)state;
    assert_int_equal(sink_env_init(&e, base, &err), INJ_OK);
    /* "AB=" and a bare "A" are not "A=". */
    assert_int_equal(sink_env_set(&e, "A", V("s3cret"), 0, &err), INJ_OK);
    assert_int_equal(sink_env_set(&e, "EMPTY", V(""), 0, &err), INJ_OK);
    assert_int_equal(sink_env_set(&e, "BIN", V("line1\nline2\t\xff=x"), 0, &err), INJ_OK);
    assert_string_equal(env_get(sink_env_envp(&e), "A"), "s3cret");
    assert_string_equal(env_get(sink_env_envp(&e), "AB"), "1");
    assert_string_equal(env_get(sink_env_envp(&e), "EMPTY"), "");
    assert_string_equal(env_get(sink_env_envp(&e), "BIN"), "line1\nline2\t\xff=x");
    assert_int_equal(env_count(sink_env_envp(&e)), 5);
    sink_env_free(&e);
}

/* The value is taken by length, not up to a terminator. */
static void env_set_uses_length(void **state)
{
    struct sink_env e;
    struct inj_err err = UNIT_ERR_INIT;

    (void)state;
    assert_int_equal(sink_env_init(&e, NULL, &err), INJ_OK);
    assert_int_equal(sink_env_set(&e, "A", (const unsigned char *)"abcdef", 3, 0, &err), INJ_OK);
    assert_string_equal(env_get(sink_env_envp(&e), "A"), "abc");
    sink_env_free(&e);
}

static void env_existing_refused_without_overwrite(void **state)
{
    char *base[] = {(char *)"DB_PASSWORD=old", NULL};
    struct sink_env e;
    struct inj_err err = UNIT_ERR_INIT;

    (void)state;
    assert_int_equal(sink_env_init(&e, base, &err), INJ_OK);
    assert_int_equal(sink_env_set(&e, "DB_PASSWORD", V("new-canary"), 0, &err), INJ_E_CONFIG);
    assert_contains(err.msg, "DB_PASSWORD is already set in the environment");
    assert_contains(err.msg, "overwrite: true");
    assert_not_contains(err.msg, "canary");
    assert_not_contains(err.msg, "old");
    assert_string_equal(env_get(sink_env_envp(&e), "DB_PASSWORD"), "old");
    assert_int_equal(env_count(sink_env_envp(&e)), 1);
    /* Ours, set twice without overwrite: refused as well. */
    assert_int_equal(sink_env_set(&e, "X", V("1"), 0, &err), INJ_OK);
    assert_int_equal(sink_env_set(&e, "X", V("2"), 0, &err), INJ_E_CONFIG);
    assert_string_equal(env_get(sink_env_envp(&e), "X"), "1");
    sink_env_free(&e);
}

static void env_overwrite(void **state)
{
    char *base[] = {(char *)"A=1", (char *)"DB_PASSWORD=old", (char *)"Z=26", NULL};
    struct sink_env e;
    struct inj_err err = UNIT_ERR_INIT;

    (void)state;
    assert_int_equal(sink_env_init(&e, base, &err), INJ_OK);
    assert_int_equal(sink_env_set(&e, "DB_PASSWORD", V("new"), 1, &err), INJ_OK);
    assert_string_equal(env_get(sink_env_envp(&e), "DB_PASSWORD"), "new");
    assert_int_equal(env_count(sink_env_envp(&e)), 3);
    /* Replacing our own value frees the old one (valgrind/ASan check it). */
    assert_int_equal(sink_env_set(&e, "DB_PASSWORD", V("newer"), 1, &err), INJ_OK);
    assert_string_equal(env_get(sink_env_envp(&e), "DB_PASSWORD"), "newer");
    assert_string_equal(env_get(sink_env_envp(&e), "A"), "1");
    assert_string_equal(env_get(sink_env_envp(&e), "Z"), "26");
    assert_int_equal(env_count(sink_env_envp(&e)), 3);
    sink_env_free(&e);
}

/* An environment may carry a name twice (execve allows it; getenv takes the first). Overwrite
 * and unset must not leave an old copy behind. */
static void env_duplicate_names_in_base(void **state)
{
    char *base[] = {(char *)"A=old1", (char *)"B=b", (char *)"A=old2", NULL};
    struct sink_env e;
    struct inj_err err = UNIT_ERR_INIT;

    (void)state;
    assert_int_equal(sink_env_init(&e, base, &err), INJ_OK);
    assert_int_equal(sink_env_set(&e, "A", V("new"), 1, &err), INJ_OK);
    assert_string_equal(env_get(sink_env_envp(&e), "A"), "new");
    assert_int_equal(env_count(sink_env_envp(&e)), 2);
    sink_env_free(&e);

    assert_int_equal(sink_env_init(&e, base, &err), INJ_OK);
    sink_env_unset(&e, "A");
    assert_null(env_get(sink_env_envp(&e), "A"));
    assert_string_equal(env_get(sink_env_envp(&e), "B"), "b");
    sink_env_free(&e);
}

static void env_nul_refused(void **state)
{
    struct sink_env e;
    struct inj_err err = UNIT_ERR_INIT;

    (void)state;
    assert_int_equal(sink_env_init(&e, NULL, &err), INJ_OK);
    assert_int_equal(sink_env_set(&e, "KEY", V("zq9\0canary"), 0, &err), INJ_E_DATA);
    assert_contains(err.msg, "KEY: the value contains a NUL byte");
    assert_not_contains(err.msg, "zq9");
    assert_int_equal(sink_env_set(&e, "KEY", V("\0"), 0, &err), INJ_E_DATA);
    assert_int_equal(sink_env_set(&e, "KEY", V("abc\0"), 0, &err), INJ_E_DATA);
    assert_null(env_get(sink_env_envp(&e), "KEY"));
    /* A NUL refusal with overwrite keeps the old value. */
    assert_int_equal(sink_env_set(&e, "KEY", V("ok"), 0, &err), INJ_OK);
    assert_int_equal(sink_env_set(&e, "KEY", V("x\0y"), 1, &err), INJ_E_DATA);
    assert_string_equal(env_get(sink_env_envp(&e), "KEY"), "ok");
    sink_env_free(&e);
}

static void env_unset(void **state)
{
    char *base[] = {(char *)"A=1", (char *)"B=2", (char *)"C=3", NULL};
    struct sink_env e;
    struct inj_err err = UNIT_ERR_INIT;

    (void)state;
    assert_int_equal(sink_env_init(&e, base, &err), INJ_OK);
    assert_int_equal(sink_env_set(&e, "OURS", V("x"), 0, &err), INJ_OK);
    sink_env_unset(&e, "B");
    sink_env_unset(&e, "NOPE");
    sink_env_unset(&e, "OURS");
    sink_env_unset(&e, "C");
    assert_int_equal(env_count(sink_env_envp(&e)), 1);
    assert_string_equal(sink_env_envp(&e)[0], "A=1");
    assert_null(sink_env_envp(&e)[1]);
    /* Unset, then set again without overwrite. */
    assert_int_equal(sink_env_set(&e, "B", V("again"), 0, &err), INJ_OK);
    assert_string_equal(env_get(sink_env_envp(&e), "B"), "again");
    sink_env_unset(&e, "A");
    sink_env_unset(&e, "B");
    assert_null(sink_env_envp(&e)[0]);
    sink_env_free(&e);
}

/* Far beyond the initial capacity (base + 16), from an empty and from a full base. */
static void env_growth(void **state)
{
    char *base[40];
    char names[40][16];
    struct sink_env e;
    struct inj_err err = UNIT_ERR_INIT;
    char name[32];
    char val[32];
    size_t i;

    (void)state;
    for (i = 0; i < 39; i++) {
        assert_true(snprintf(names[i], sizeof(names[i]), "BASE%zu=b", i) > 0);
        base[i] = names[i];
    }
    base[39] = NULL;
    assert_int_equal(sink_env_init(&e, base, &err), INJ_OK);
    for (i = 0; i < 1000; i++) {
        int n = snprintf(name, sizeof(name), "VAR_%zu", i);
        int m = snprintf(val, sizeof(val), "value-%zu", i);
        assert_true(n > 0 && m > 0);
        assert_int_equal(sink_env_set(&e, name, (const unsigned char *)val, (size_t)m, 0, &err),
                         INJ_OK);
    }
    assert_int_equal(env_count(sink_env_envp(&e)), 1039);
    for (i = 0; i < 1000; i += 37) {
        assert_true(snprintf(name, sizeof(name), "VAR_%zu", i) > 0);
        assert_true(snprintf(val, sizeof(val), "value-%zu", i) > 0);
        assert_string_equal(env_get(sink_env_envp(&e), name), val);
    }
    assert_string_equal(env_get(sink_env_envp(&e), "BASE38"), "b");
    /* Unset from the middle of a grown array, then overwrite past the old capacity. */
    sink_env_unset(&e, "VAR_500");
    assert_null(env_get(sink_env_envp(&e), "VAR_500"));
    assert_int_equal(sink_env_set(&e, "VAR_999", V("last"), 1, &err), INJ_OK);
    assert_string_equal(env_get(sink_env_envp(&e), "VAR_999"), "last");
    assert_int_equal(env_count(sink_env_envp(&e)), 1038);
    sink_env_free(&e);
}

/* ---- files ---- */

static int fs_is_tmpfs(const char *dir)
{
    struct statfs s;

    assert_int_equal(statfs(dir, &s), 0);
    return (long)s.f_type == TMPFS_MAGIC_;
}

/* Number of staged temp files (".NAME.injector-*") in dir. */
static size_t count_temps(const char *dir)
{
    size_t n = 0;
    DIR *d = opendir(dir);
    struct dirent *de;

    assert_non_null(d);
    while ((de = readdir(d)) != NULL)
        if (de->d_name[0] == '.' && strstr(de->d_name, ".injector-"))
            n++;
    (void)closedir(d);
    return n;
}

static mode_t mode_of(const char *path)
{
    struct stat st;

    assert_int_equal(lstat(path, &st), 0);
    return st.st_mode;
}

static int exists(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0;
}

static void files_stage_commit(void **state)
{
    char dir[256];
    char path[512];
    struct sink_files fs;
    struct inj_err err = UNIT_ERR_INIT;
    mode_t old = umask(0777); /* the mode must not depend on the umask */
    size_t len = 0;
    char *got;

    (void)state;
    memset(&fs, 0, sizeof(fs));
    umask(old);
    unit_mkdtemp(dir, sizeof(dir));
    unit_join(path, sizeof(path), dir, "db.json");
    umask(0777);
    assert_int_equal(sink_file_stage(&fs, path, 0640, 1, V("{\"password\":\"s3cr3t\"}\n"), &err),
                     INJ_OK);
    umask(old);
    /* Nothing at the path yet; one temp file in the same directory, already with the mode. */
    assert_false(exists(path));
    assert_int_equal(count_temps(dir), 1);
    assert_int_equal(unit_count_entries(dir), 1);
    assert_int_equal(fs.n, 1);
    assert_non_null(fs.v[0].tmp);
    assert_true(strncmp(fs.v[0].tmp, dir, strlen(dir)) == 0);
    assert_int_equal(mode_of(fs.v[0].tmp) & 07777, 0640);
    assert_int_equal(sink_files_commit(&fs, &err), INJ_OK);
    assert_int_equal(count_temps(dir), 0);
    assert_true(S_ISREG(mode_of(path)));
    assert_int_equal(mode_of(path) & 07777, 0640);
    got = unit_read_file(path, &len);
    assert_int_equal(len, 22);
    assert_memory_equal(got, "{\"password\":\"s3cr3t\"}\n", 22);
    free(got);
    sink_files_free(&fs);
    /* free after commit leaves the files in place. */
    assert_true(exists(path));
    unit_rmtree(dir);
}

static void files_default_mode_and_binary(void **state)
{
    char dir[256];
    char path[512];
    struct sink_files fs;
    struct inj_err err = UNIT_ERR_INIT;
    unsigned char bin[256];
    size_t len = 0;
    char *got;
    size_t i;

    (void)state;
    memset(&fs, 0, sizeof(fs));
    for (i = 0; i < sizeof(bin); i++)
        bin[i] = (unsigned char)i; /* NUL bytes are fine in a file */
    unit_mkdtemp(dir, sizeof(dir));
    unit_join(path, sizeof(path), dir, "bin");
    assert_int_equal(sink_file_stage(&fs, path, 0400, 1, bin, sizeof(bin), &err), INJ_OK);
    unit_join(path, sizeof(path), dir, "empty");
    assert_int_equal(sink_file_stage(&fs, path, 0400, 1, (const unsigned char *)"", 0, &err),
                     INJ_OK);
    assert_int_equal(sink_files_commit(&fs, &err), INJ_OK);
    got = unit_read_file(path, &len);
    assert_int_equal(len, 0);
    free(got);
    unit_join(path, sizeof(path), dir, "bin");
    assert_int_equal(mode_of(path) & 07777, 0400);
    got = unit_read_file(path, &len);
    assert_int_equal(len, sizeof(bin));
    assert_memory_equal(got, bin, sizeof(bin));
    free(got);
    sink_files_free(&fs);
    unit_rmtree(dir);
}

static void files_large_content(void **state)
{
    char dir[256];
    char path[512];
    struct sink_files fs;
    struct inj_err err = UNIT_ERR_INIT;
    size_t n = 3 * 1024 * 1024 + 7;
    unsigned char *data = malloc(n);
    size_t len = 0;
    char *got;
    size_t i;

    (void)state;
    assert_non_null(data);
    memset(&fs, 0, sizeof(fs));
    for (i = 0; i < n; i++)
        data[i] = (unsigned char)(i * 7);
    unit_mkdtemp(dir, sizeof(dir));
    unit_join(path, sizeof(path), dir, "big");
    assert_int_equal(sink_file_stage(&fs, path, 0600, 1, data, n, &err), INJ_OK);
    assert_int_equal(sink_files_commit(&fs, &err), INJ_OK);
    got = unit_read_file(path, &len);
    assert_int_equal(len, n);
    assert_memory_equal(got, data, n);
    free(got);
    free(data);
    sink_files_free(&fs);
    unit_rmtree(dir);
}

static void files_parents_created_0700(void **state)
{
    char dir[256];
    char path[512];
    char sub[512];
    struct sink_files fs;
    struct inj_err err = UNIT_ERR_INIT;
    /* The directory mode must not depend on the umask, not even a umask of 0777. */
    mode_t old = umask(0777);

    (void)state;
    memset(&fs, 0, sizeof(fs));
    unit_mkdtemp(dir, sizeof(dir));
    unit_join(path, sizeof(path), dir, "a/b/c/secret");
    assert_int_equal(sink_file_stage(&fs, path, 0400, 1, V("x"), &err), INJ_OK);
    assert_int_equal(fs.nmade, 3);
    unit_join(sub, sizeof(sub), dir, "a");
    assert_int_equal(mode_of(sub) & 07777, 0700);
    assert_true(S_ISDIR(mode_of(sub)));
    unit_join(sub, sizeof(sub), dir, "a/b");
    assert_int_equal(mode_of(sub) & 07777, 0700);
    unit_join(sub, sizeof(sub), dir, "a/b/c");
    assert_int_equal(mode_of(sub) & 07777, 0700);
    assert_int_equal(sink_files_commit(&fs, &err), INJ_OK);
    assert_int_equal(mode_of(path) & 07777, 0400);
    sink_files_free(&fs);
    /* A second file in an existing directory creates nothing. */
    unit_join(path, sizeof(path), dir, "a/b/other");
    assert_int_equal(sink_file_stage(&fs, path, 0400, 1, V("y"), &err), INJ_OK);
    assert_int_equal(fs.nmade, 0);
    sink_files_abort(&fs);
    sink_files_free(&fs);
    unit_join(sub, sizeof(sub), dir, "a/b");
    assert_int_equal(unit_count_entries(sub), 1); /* only c */
    umask(old);
    unit_rmtree(dir);
}

/* Abort before commit: the temp files and the directories we created are gone; what was
 * there before stays. */
static void files_abort_before_commit(void **state)
{
    char dir[256];
    char path[512];
    char keep[512];
    struct sink_files fs;
    struct inj_err err = UNIT_ERR_INIT;

    (void)state;
    memset(&fs, 0, sizeof(fs));
    unit_mkdtemp(dir, sizeof(dir));
    unit_join(keep, sizeof(keep), dir, "existing");
    assert_int_equal(mkdir(keep, 0755), 0);
    unit_join(path, sizeof(path), dir, "existing/f1");
    assert_int_equal(sink_file_stage(&fs, path, 0400, 1, V("one"), &err), INJ_OK);
    unit_join(path, sizeof(path), dir, "new/deeper/f2");
    assert_int_equal(sink_file_stage(&fs, path, 0400, 1, V("two"), &err), INJ_OK);
    assert_int_equal(count_temps(keep), 1);
    sink_files_abort(&fs);
    sink_files_free(&fs);
    assert_int_equal(unit_count_entries(dir), 1); /* existing/, empty again */
    assert_int_equal(unit_count_entries(keep), 0);
    assert_true(S_ISDIR(mode_of(keep)));
    unit_rmtree(dir);
}

/* Abort after commit removes the committed files and the directories. */
static void files_abort_after_commit(void **state)
{
    char dir[256];
    char path[512];
    struct sink_files fs;
    struct inj_err err = UNIT_ERR_INIT;

    (void)state;
    memset(&fs, 0, sizeof(fs));
    unit_mkdtemp(dir, sizeof(dir));
    unit_join(path, sizeof(path), dir, "f1");
    assert_int_equal(sink_file_stage(&fs, path, 0400, 1, V("one"), &err), INJ_OK);
    unit_join(path, sizeof(path), dir, "d/f2");
    assert_int_equal(sink_file_stage(&fs, path, 0400, 1, V("two"), &err), INJ_OK);
    assert_int_equal(sink_files_commit(&fs, &err), INJ_OK);
    assert_true(exists(path));
    sink_files_abort(&fs);
    sink_files_free(&fs);
    assert_int_equal(unit_count_entries(dir), 0);
    unit_rmtree(dir);
}

/* A commit that fails half-way: the error names the file, abort cleans up both the committed
 * file and the remaining temp file. */
static void files_commit_failure_then_abort(void **state)
{
    char dir[256];
    char p1[512];
    char p2[512];
    char blocker[512];
    struct sink_files fs;
    struct inj_err err = UNIT_ERR_INIT;

    (void)state;
    memset(&fs, 0, sizeof(fs));
    unit_mkdtemp(dir, sizeof(dir));
    unit_join(p1, sizeof(p1), dir, "f1");
    unit_join(p2, sizeof(p2), dir, "f2");
    assert_int_equal(sink_file_stage(&fs, p1, 0400, 1, V("one"), &err), INJ_OK);
    assert_int_equal(sink_file_stage(&fs, p2, 0400, 1, V("two"), &err), INJ_OK);
    /* Something puts a non-empty directory at f2 between stage and commit. */
    assert_int_equal(mkdir(p2, 0700), 0);
    unit_join(blocker, sizeof(blocker), p2, "x");
    unit_write_file(blocker, "x", 1, 0600);
    assert_int_equal(sink_files_commit(&fs, &err), INJ_E_IO);
    assert_contains(err.msg, p2);
    assert_contains(err.msg, "cannot move the file into place");
    assert_true(exists(p1));
    sink_files_abort(&fs);
    sink_files_free(&fs);
    assert_false(exists(p1));
    assert_int_equal(count_temps(dir), 0);
    assert_int_equal(unit_count_entries(dir), 1); /* the blocker directory, not ours */
    unit_rmtree(dir);
}

/* An existing regular file is replaced (content and mode), not appended to or merged. */
static void files_replace_existing(void **state)
{
    char dir[256];
    char path[512];
    struct sink_files fs;
    struct inj_err err = UNIT_ERR_INIT;
    size_t len = 0;
    char *got;

    (void)state;
    memset(&fs, 0, sizeof(fs));
    unit_mkdtemp(dir, sizeof(dir));
    unit_join(path, sizeof(path), dir, "f");
    unit_write_file(path, "a much longer old value", 23, 0644);
    assert_int_equal(sink_file_stage(&fs, path, 0400, 1, V("new"), &err), INJ_OK);
    got = unit_read_file(path, &len);
    assert_int_equal(len, 23); /* untouched until commit */
    free(got);
    assert_int_equal(sink_files_commit(&fs, &err), INJ_OK);
    got = unit_read_file(path, &len);
    assert_int_equal(len, 3);
    assert_memory_equal(got, "new", 3);
    free(got);
    assert_int_equal(mode_of(path) & 07777, 0400);
    sink_files_free(&fs);
    unit_rmtree(dir);
}

/* A symlink at the target when staging is refused, and nothing is written through it. */
static void files_symlink_at_stage_refused(void **state)
{
    char dir[256];
    char path[512];
    char victim[512];
    struct sink_files fs;
    struct inj_err err = UNIT_ERR_INIT;
    size_t len = 0;
    char *got;

    (void)state;
    memset(&fs, 0, sizeof(fs));
    unit_mkdtemp(dir, sizeof(dir));
    unit_join(victim, sizeof(victim), dir, "victim");
    unit_write_file(victim, "original", 8, 0644);
    unit_join(path, sizeof(path), dir, "link");
    assert_int_equal(symlink(victim, path), 0);
    assert_int_equal(sink_file_stage(&fs, path, 0400, 1, V("secret"), &err), INJ_E_IO);
    assert_contains(err.msg, path);
    assert_contains(err.msg, "symbolic link");
    assert_int_equal(count_temps(dir), 0);
    got = unit_read_file(victim, &len);
    assert_int_equal(len, 8);
    assert_memory_equal(got, "original", 8);
    free(got);
    sink_files_abort(&fs);
    sink_files_free(&fs);
    assert_true(S_ISLNK(mode_of(path)));
    unit_rmtree(dir);
}

/* A symlink that appears at the target after staging: commit replaces the link itself with a
 * regular file; the file it pointed to is untouched. */
static void files_symlink_at_commit_replaced(void **state)
{
    char dir[256];
    char path[512];
    char victim[512];
    struct sink_files fs;
    struct inj_err err = UNIT_ERR_INIT;
    size_t len = 0;
    char *got;

    (void)state;
    memset(&fs, 0, sizeof(fs));
    unit_mkdtemp(dir, sizeof(dir));
    unit_join(victim, sizeof(victim), dir, "victim");
    unit_write_file(victim, "original", 8, 0644);
    unit_join(path, sizeof(path), dir, "target");
    assert_int_equal(sink_file_stage(&fs, path, 0400, 1, V("secret"), &err), INJ_OK);
    assert_int_equal(symlink(victim, path), 0);
    assert_int_equal(sink_files_commit(&fs, &err), INJ_OK);
    assert_true(S_ISREG(mode_of(path)));
    assert_int_equal(mode_of(path) & 07777, 0400);
    got = unit_read_file(path, &len);
    assert_memory_equal(got, "secret", 6);
    free(got);
    got = unit_read_file(victim, &len);
    assert_int_equal(len, 8);
    assert_memory_equal(got, "original", 8);
    free(got);
    assert_int_equal(mode_of(victim) & 07777, 0644);
    sink_files_free(&fs);
    unit_rmtree(dir);
}

static void files_bad_targets(void **state)
{
    char dir[256];
    char path[512];
    char open_dir[512];
    struct sink_files fs;
    struct inj_err err = UNIT_ERR_INIT;

    (void)state;
    memset(&fs, 0, sizeof(fs));
    unit_mkdtemp(dir, sizeof(dir));
    /* A directory at the path. */
    unit_join(path, sizeof(path), dir, "isdir");
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(sink_file_stage(&fs, path, 0400, 1, V("x"), &err), INJ_E_IO);
    assert_contains(err.msg, "not a regular file");
    /* A parent that is a file. */
    unit_join(path, sizeof(path), dir, "plain");
    unit_write_file(path, "x", 1, 0600);
    unit_join(path, sizeof(path), dir, "plain/f");
    assert_int_equal(sink_file_stage(&fs, path, 0400, 1, V("x"), &err), INJ_E_IO);
    assert_contains(err.msg, path);
    /* A world-writable parent without the sticky bit. */
    unit_join(open_dir, sizeof(open_dir), dir, "open");
    assert_int_equal(mkdir(open_dir, 0700), 0);
    assert_int_equal(chmod(open_dir, 0777), 0);
    unit_join(path, sizeof(path), dir, "open/f");
    assert_int_equal(sink_file_stage(&fs, path, 0400, 1, V("x"), &err), INJ_E_CONFIG);
    assert_contains(err.msg, "world-writable");
    /* ... with the sticky bit it is fine (like /tmp). */
    assert_int_equal(chmod(open_dir, 01777), 0);
    assert_int_equal(sink_file_stage(&fs, path, 0400, 1, V("x"), &err), INJ_OK);
    /* Not absolute. */
    assert_int_equal(sink_file_stage(&fs, "relative", 0400, 1, V("x"), &err), INJ_E_CONFIG);
    assert_contains(err.msg, "not an absolute path");
    sink_files_abort(&fs);
    sink_files_free(&fs);
    assert_int_equal(count_temps(open_dir), 0);
    unit_rmtree(dir);
}

static void files_path_too_long(void **state)
{
    char *path = malloc(5000);
    struct sink_files fs;
    struct inj_err err = UNIT_ERR_INIT;

    (void)state;
    assert_non_null(path);
    memset(&fs, 0, sizeof(fs));
    memset(path, 'p', 4999);
    path[0] = '/';
    path[4999] = '\0';
    assert_int_equal(sink_file_stage(&fs, path, 0400, 1, V("x"), &err), INJ_E_CONFIG);
    assert_int_equal(fs.n, 0);
    assert_int_equal(fs.nmade, 0);
    sink_files_abort(&fs);
    sink_files_free(&fs);
    free(path);
}

/* Without allow_disk, only tmpfs/ramfs; /dev/shm is tmpfs on Linux. */
static void files_allow_disk(void **state)
{
    char dir[256];
    char shm[] = "/dev/shm/inj-unit-XXXXXX";
    char path[512];
    struct sink_files fs;
    struct inj_err err = UNIT_ERR_INIT;

    (void)state;
    memset(&fs, 0, sizeof(fs));
    unit_mkdtemp(dir, sizeof(dir));
    unit_join(path, sizeof(path), dir, "new/f");
    if (fs_is_tmpfs(dir)) {
        assert_int_equal(sink_file_stage(&fs, path, 0400, 0, V("x"), &err), INJ_OK);
    } else {
        assert_int_equal(sink_file_stage(&fs, path, 0400, 0, V("x"), &err), INJ_E_CONFIG);
        assert_contains(err.msg, "is not on tmpfs/ramfs");
        assert_contains(err.msg, "allow_disk: true");
        assert_int_equal(fs.n, 0);
    }
    /* Abort also removes the directory made before the refusal. */
    sink_files_abort(&fs);
    sink_files_free(&fs);
    assert_int_equal(unit_count_entries(dir), 0);
    unit_rmtree(dir);
    if (access("/dev/shm", W_OK) == 0 && fs_is_tmpfs("/dev/shm") && mkdtemp(shm)) {
        unit_join(path, sizeof(path), shm, "sub/f");
        assert_int_equal(sink_file_stage(&fs, path, 0400, 0, V("x"), &err), INJ_OK);
        assert_int_equal(sink_files_commit(&fs, &err), INJ_OK);
        assert_true(exists(path));
        sink_files_abort(&fs);
        sink_files_free(&fs);
        assert_int_equal(unit_count_entries(shm), 0);
        unit_rmtree(shm);
    }
}

/* The walk from "/" follows no symlink anywhere on the way: a link as the parent or as an
 * ancestor is refused (exit 78), nothing is created behind it, and --dry-run says the same. */
static void files_walk_symlink_component_refused(void **state)
{
    char dir[256];
    char real[512];
    char link[512];
    char path[512];
    struct sink_files fs;
    struct inj_err err = UNIT_ERR_INIT;
    struct inj_err err2 = UNIT_ERR_INIT;

    (void)state;
    memset(&fs, 0, sizeof(fs));
    unit_mkdtemp(dir, sizeof(dir));
    unit_join(real, sizeof(real), dir, "real");
    assert_int_equal(mkdir(real, 0700), 0);
    unit_join(link, sizeof(link), dir, "link");
    assert_int_equal(symlink(real, link), 0);
    /* The parent itself. */
    unit_join(path, sizeof(path), dir, "link/f");
    assert_int_equal(sink_file_stage(&fs, path, 0400, 1, V("x"), &err), INJ_E_CONFIG);
    assert_contains(err.msg, link);
    assert_contains(err.msg, "is a symbolic link");
    assert_int_equal(sink_file_check(&fs, path, 1, &err2), INJ_E_CONFIG);
    assert_string_equal(err.msg, err2.msg);
    /* An ancestor, with missing directories below it. */
    unit_join(path, sizeof(path), dir, "link/a/b/f");
    assert_int_equal(sink_file_stage(&fs, path, 0400, 1, V("x"), &err), INJ_E_CONFIG);
    assert_contains(err.msg, "is a symbolic link");
    assert_int_equal(sink_file_check(&fs, path, 1, &err2), INJ_E_CONFIG);
    assert_string_equal(err.msg, err2.msg);
    assert_int_equal(fs.n, 0);
    assert_int_equal(fs.nmade, 0);
    assert_int_equal(unit_count_entries(real), 0);
    sink_files_abort(&fs);
    sink_files_free(&fs);
    unit_rmtree(dir);
}

/* Missing components are created and recorded; --dry-run creates none of them. With chown
 * (--user) they stay ours, 0750 with the app's group; without, 0700. */
static void files_walk_creates_missing(void **state)
{
    char dir[256];
    char path[512];
    char sub[512];
    struct sink_files fs;
    struct inj_err err = UNIT_ERR_INIT;
    mode_t old = umask(0777);
    struct stat st;

    (void)state;
    memset(&fs, 0, sizeof(fs));
    fs.chown = 1;
    fs.uid = geteuid();
    fs.gid = getegid();
    unit_mkdtemp(dir, sizeof(dir));
    unit_join(path, sizeof(path), dir, "x/y/secret");
    assert_int_equal(sink_file_check(&fs, path, 1, &err), INJ_OK);
    assert_int_equal(unit_count_entries(dir), 0);
    assert_int_equal(sink_file_stage(&fs, path, 0400, 1, V("x"), &err), INJ_OK);
    assert_int_equal(fs.nmade, 2);
    assert_int_equal(fs.ndirs, 1);
    unit_join(sub, sizeof(sub), dir, "x");
    assert_int_equal(lstat(sub, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0750);
    assert_int_equal(st.st_uid, geteuid());
    assert_int_equal(st.st_gid, getegid());
    unit_join(sub, sizeof(sub), dir, "x/y");
    assert_int_equal(mode_of(sub) & 07777, 0750);
    /* The directory is kept open: a second file there walks nothing again. */
    unit_join(path, sizeof(path), dir, "x/y/other");
    assert_int_equal(sink_file_stage(&fs, path, 0400, 1, V("y"), &err), INJ_OK);
    assert_int_equal(fs.ndirs, 1);
    assert_int_equal(fs.v[0].dir_fd, fs.v[1].dir_fd);
    sink_files_abort(&fs);
    sink_files_free(&fs);
    assert_int_equal(unit_count_entries(dir), 0);
    umask(old);
    unit_rmtree(dir);
}

/* Directories others can change: group/world-writable without the sticky bit, refused with
 * their owner and mode named (exit 78); the sticky bit makes them fine. Owned by a third user:
 * refused (needs root to set up). --dry-run gives the same answer. */
static void files_walk_unsafe_directories(void **state)
{
    char dir[256];
    char open_dir[512];
    char path[512];
    char want[600];
    struct sink_files fs;
    struct inj_err err = UNIT_ERR_INIT;
    struct inj_err err2 = UNIT_ERR_INIT;

    (void)state;
    memset(&fs, 0, sizeof(fs));
    unit_mkdtemp(dir, sizeof(dir));
    unit_join(open_dir, sizeof(open_dir), dir, "g");
    assert_int_equal(mkdir(open_dir, 0700), 0);
    assert_int_equal(chmod(open_dir, 0770), 0);
    unit_join(path, sizeof(path), dir, "g/sub/f");
    assert_int_equal(sink_file_stage(&fs, path, 0400, 1, V("x"), &err), INJ_E_CONFIG);
    assert_true(snprintf(want, sizeof(want),
                         "directory %s (owner uid %lu, mode 0770) is "
                         "group-writable without the sticky bit",
                         open_dir, (unsigned long)geteuid()) > 0);
    assert_contains(err.msg, want);
    assert_int_equal(sink_file_check(&fs, path, 1, &err2), INJ_E_CONFIG);
    assert_string_equal(err.msg, err2.msg);
    assert_int_equal(unit_count_entries(open_dir), 0);
    assert_int_equal(chmod(open_dir, 01770), 0);
    assert_int_equal(sink_file_check(&fs, path, 1, &err), INJ_OK);
    assert_int_equal(sink_file_stage(&fs, path, 0400, 1, V("x"), &err), INJ_OK);
    sink_files_abort(&fs);
    sink_files_free(&fs);
    assert_int_equal(unit_count_entries(open_dir), 0);
    if (geteuid() == 0) {
        memset(&fs, 0, sizeof(fs));
        fs.chown = 1;
        fs.uid = 1000;
        fs.gid = 1000;
        assert_int_equal(chmod(open_dir, 0755), 0);
        assert_int_equal(chown(open_dir, 65534, 65534), 0);
        assert_int_equal(sink_file_stage(&fs, path, 0400, 1, V("x"), &err), INJ_E_CONFIG);
        assert_true(snprintf(want, sizeof(want), "directory %s is owned by uid 65534", open_dir) >
                    0);
        assert_contains(err.msg, want);
        assert_int_equal(sink_file_check(&fs, path, 1, &err2), INJ_E_CONFIG);
        assert_string_equal(err.msg, err2.msg);
        /* The app's own directory is fine. */
        fs.uid = 65534;
        assert_int_equal(sink_file_stage(&fs, path, 0400, 1, V("x"), &err), INJ_OK);
        sink_files_abort(&fs);
        sink_files_free(&fs);
    }
    unit_rmtree(dir);
}

/* A refresh (fs.anchors) writes into the directory inode validated at start, even after the
 * path was moved away and replaced by a link to a directory holding a file of that name. */
static void files_anchor_keeps_the_validated_directory(void **state)
{
    char dir[256];
    char path[512];
    char moved[512];
    char parent[512];
    char other[512];
    char foreign[512];
    struct sink_files start;
    struct sink_files cycle;
    struct inj_err err = UNIT_ERR_INIT;
    size_t len = 0;
    char *got;

    (void)state;
    memset(&start, 0, sizeof(start));
    memset(&cycle, 0, sizeof(cycle));
    unit_mkdtemp(dir, sizeof(dir));
    unit_join(path, sizeof(path), dir, "p/token");
    assert_int_equal(sink_file_stage(&start, path, 0400, 1, V("one"), &err), INJ_OK);
    assert_int_equal(sink_files_commit(&start, &err), INJ_OK);
    assert_true(start.v[0].old_fd < 0);
    unit_join(parent, sizeof(parent), dir, "p");
    unit_join(moved, sizeof(moved), dir, "moved");
    unit_join(other, sizeof(other), dir, "other");
    unit_join(foreign, sizeof(foreign), dir, "other/token");
    assert_int_equal(mkdir(other, 0700), 0);
    unit_write_file(foreign, "foreign", 7, 0644);
    assert_int_equal(rename(parent, moved), 0);
    assert_int_equal(symlink(other, parent), 0);
    cycle.anchors = &start;
    assert_int_equal(sink_file_stage(&cycle, path, 0400, 1, V("two"), &err), INJ_OK);
    assert_int_equal(cycle.ndirs, 0); /* no walk: the anchor's directory */
    assert_int_equal(sink_files_commit(&cycle, &err), INJ_OK);
    assert_true(cycle.v[0].old_fd >= 0); /* the replaced "one", kept for an abort */
    sink_files_release_old(&cycle);
    assert_int_equal(cycle.v[0].old_fd, -1);
    sink_files_free(&cycle);
    got = unit_read_file(foreign, &len);
    assert_int_equal(len, 7);
    assert_memory_equal(got, "foreign", 7);
    free(got);
    assert_int_equal(mode_of(foreign) & 07777, 0644);
    unit_join(foreign, sizeof(foreign), dir, "moved/token");
    got = unit_read_file(foreign, &len);
    assert_int_equal(len, 3);
    assert_memory_equal(got, "two", 3);
    free(got);
    sink_files_free(&start);
    unit_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(env_init_copies_base),
        cmocka_unit_test(env_init_empty),
        cmocka_unit_test(env_many_names),
        cmocka_unit_test(env_unset_bare_name),
        cmocka_unit_test(env_set_new),
        cmocka_unit_test(env_set_uses_length),
        cmocka_unit_test(env_existing_refused_without_overwrite),
        cmocka_unit_test(env_overwrite),
        cmocka_unit_test(env_duplicate_names_in_base),
        cmocka_unit_test(env_nul_refused),
        cmocka_unit_test(env_unset),
        cmocka_unit_test(env_growth),
        cmocka_unit_test(files_stage_commit),
        cmocka_unit_test(files_default_mode_and_binary),
        cmocka_unit_test(files_large_content),
        cmocka_unit_test(files_parents_created_0700),
        cmocka_unit_test(files_abort_before_commit),
        cmocka_unit_test(files_abort_after_commit),
        cmocka_unit_test(files_commit_failure_then_abort),
        cmocka_unit_test(files_replace_existing),
        cmocka_unit_test(files_symlink_at_stage_refused),
        cmocka_unit_test(files_symlink_at_commit_replaced),
        cmocka_unit_test(files_bad_targets),
        cmocka_unit_test(files_path_too_long),
        cmocka_unit_test(files_allow_disk),
        cmocka_unit_test(files_walk_symlink_component_refused),
        cmocka_unit_test(files_walk_creates_missing),
        cmocka_unit_test(files_walk_unsafe_directories),
        cmocka_unit_test(files_anchor_keeps_the_validated_directory),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
