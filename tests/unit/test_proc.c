/* test_proc.c: exec failures and their codes (127 not found, 126 not executable), and the
 * PATH search. Anything that might exec successfully runs in a forked child, which reports
 * proc_exec's return code as its exit status (100 + rc) if exec comes back. */
#include "unit.h"

#include <sys/wait.h>

#include "proc.h"

static char *const no_env[] = {NULL};

/* A temp dir per test with scripts in it; removed in teardown. */
struct fixture {
    char dir[256];
    char d1[512];
    char d2[512];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (!f)
        return -1;
    unit_mkdtemp(f->dir, sizeof(f->dir));
    unit_join(f->d1, sizeof(f->d1), f->dir, "d1");
    unit_join(f->d2, sizeof(f->d2), f->dir, "d2");
    if (mkdir(f->d1, 0755) != 0 || mkdir(f->d2, 0755) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    unit_rmtree(f->dir);
    free(f);
    return 0;
}

static void put(const char *dir, const char *name, const char *content, mode_t mode)
{
    char path[768];

    unit_join(path, sizeof(path), dir, name);
    unit_write_file(path, content, strlen(content), mode);
}

/* Runs proc_exec(argv, envp) in a child with PATH set to path (NULL: unset). Returns the
 * child's exit status: the program's own, or 100 + proc_exec's rc when exec failed, in which
 * case msg (when not NULL) gets err.msg. Even a test that expects a failure forks: were the
 * failure not to happen, the exec would otherwise replace the test runner. */
static int run_child_msg(const char *path, char *const argv[], char *const envp[], char *msg,
                         size_t msgn)
{
    pid_t pid;
    int st = 0;
    int fds[2];
    size_t got = 0;

    assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
    fflush(NULL);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct inj_err err = UNIT_ERR_INIT;
        enum inj_rc rc;
        int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
        (void)close(fds[0]);
        if (devnull >= 0)
            (void)dup2(devnull, STDOUT_FILENO);
        if (path ? setenv("PATH", path, 1) : unsetenv("PATH"))
            _exit(99);
        rc = proc_exec(argv, envp, &err);
        if (write(fds[1], err.msg, strlen(err.msg)) < 0)
            _exit(98);
        _exit(100 + (int)rc);
    }
    (void)close(fds[1]);
    for (;;) {
        char tmp[256];
        ssize_t n = read(fds[0], tmp, sizeof(tmp));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (msg && got + (size_t)n < msgn) {
            memcpy(msg + got, tmp, (size_t)n);
            got += (size_t)n;
        }
    }
    if (msg && msgn)
        msg[got] = '\0';
    (void)close(fds[0]);
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}

static int run_child(const char *path, char *const argv[], char *const envp[])
{
    return run_child_msg(path, argv, envp, NULL, 0);
}

static void not_found_with_slash(void **state)
{
    char *argv[] = {"/nonexistent/injector-test/cmd", "arg", NULL};
    struct inj_err err = UNIT_ERR_INIT;

    (void)state;
    assert_int_equal(proc_exec(argv, no_env, &err), INJ_E_NOTFOUND);
    assert_int_equal(err.code, INJ_E_NOTFOUND);
    assert_string_equal(err.msg, "command not found: /nonexistent/injector-test/cmd");
    assert_int_equal(inj_rc_exit(err.code), 127);
}

/* A path through a regular file (ENOTDIR) is "not found" too. */
static void not_found_through_a_file(void **state)
{
    struct fixture *f = *state;
    char path[768];
    char *argv[] = {path, NULL};
    struct inj_err err = UNIT_ERR_INIT;

    put(f->d1, "file", "x", 0644);
    unit_join(path, sizeof(path), f->d1, "file/cmd");
    assert_int_equal(proc_exec(argv, no_env, &err), INJ_E_NOTFOUND);
}

static void not_found_in_path(void **state)
{
    struct fixture *f = *state;
    char path[1100];
    char *argv[] = {"injector-no-such-command", NULL};

    assert_true(snprintf(path, sizeof(path), "%s:%s:/nonexistent", f->d1, f->d2) > 0);
    assert_int_equal(run_child(path, argv, no_env), 100 + INJ_E_NOTFOUND);
    /* And in-process, with the message. */
    {
        struct inj_err err = UNIT_ERR_INIT;
        char *old = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
        assert_int_equal(setenv("PATH", path, 1), 0);
        assert_int_equal(proc_exec(argv, no_env, &err), INJ_E_NOTFOUND);
        assert_string_equal(err.msg, "command not found: injector-no-such-command");
        if (old)
            assert_int_equal(setenv("PATH", old, 1), 0);
        else
            assert_int_equal(unsetenv("PATH"), 0);
        free(old);
    }
}

/* No exec bit: EACCES -> 126 (even for root, execve wants an x bit). */
static void not_executable(void **state)
{
    struct fixture *f = *state;
    char path[768];
    char msg[1024];
    char *argv[] = {path, NULL};

    put(f->d1, "script", "#!/bin/sh\nexit 0\n", 0644);
    unit_join(path, sizeof(path), f->d1, "script");
    assert_int_equal(run_child_msg("/usr/bin:/bin", argv, no_env, msg, sizeof(msg)),
                     100 + INJ_E_NOEXEC);
    assert_contains(msg, path);
    assert_contains(msg, "permission denied");
    assert_int_equal(inj_rc_exit(INJ_E_NOEXEC), 126);
}

/* Exec bit but no "#!" and not a binary: ENOEXEC -> 126, not a silent run through /bin/sh as
 * execvp would do. */
static void no_shebang(void **state)
{
    struct fixture *f = *state;
    char path[768];
    char marker[768];
    char script[1024];
    char msg[1024];
    char *argv[] = {path, NULL};

    unit_join(marker, sizeof(marker), f->dir, "ran");
    assert_true(snprintf(script, sizeof(script), "touch %s\nexit 0\n", marker) > 0);
    put(f->d1, "noshebang", script, 0755);
    unit_join(path, sizeof(path), f->d1, "noshebang");
    assert_int_equal(run_child_msg("/usr/bin:/bin", argv, no_env, msg, sizeof(msg)),
                     100 + INJ_E_NOEXEC);
    assert_contains(msg, path);
    assert_contains(msg, "not an executable format");
    assert_contains(msg, "#!");
    assert_int_equal(access(marker, F_OK), -1);
    /* Found through PATH: the same, and the search stops there. */
    put(f->d2, "noshebang", "#!/bin/sh\nexit 7\n", 0755);
    {
        char pth[1100];
        char *argv2[] = {"noshebang", NULL};
        assert_true(snprintf(pth, sizeof(pth), "%s:%s", f->d1, f->d2) > 0);
        assert_int_equal(run_child_msg(pth, argv2, no_env, msg, sizeof(msg)), 100 + INJ_E_NOEXEC);
        assert_contains(msg, path); /* names the file found, not just "noshebang" */
    }
    assert_int_equal(access(marker, F_OK), -1);
}

/* A binary-looking file with the exec bit: ENOEXEC as well. */
static void garbage_binary(void **state)
{
    struct fixture *f = *state;
    char path[768];
    char *argv[] = {path, NULL};
    static const char elfish[] = "\177ELF\001\001\001garbage";

    unit_join(path, sizeof(path), f->d1, "bin");
    unit_write_file(path, elfish, sizeof(elfish) - 1, 0755);
    assert_int_equal(run_child(NULL, argv, no_env), 100 + INJ_E_NOEXEC);
    /* Empty executable file. */
    put(f->d1, "empty", "", 0755);
    unit_join(path, sizeof(path), f->d1, "empty");
    assert_int_equal(run_child(NULL, argv, no_env), 100 + INJ_E_NOEXEC);
}

static void directory_is_not_executable(void **state)
{
    struct fixture *f = *state;
    char *argv[] = {f->d1, NULL};
    char *bare[] = {"d1", NULL};

    assert_int_equal(run_child(NULL, argv, no_env), 100 + INJ_E_NOEXEC);
    /* Found as a directory in PATH search: EACCES, so 126. */
    assert_int_equal(run_child(f->dir, bare, no_env), 100 + INJ_E_NOEXEC);
}

static void empty_command(void **state)
{
    char *argv[] = {"", NULL};
    char *none[] = {NULL};
    struct inj_err err = UNIT_ERR_INIT;

    (void)state;
    assert_int_equal(proc_exec(argv, no_env, &err), INJ_E_USAGE);
    assert_int_equal(proc_exec(none, no_env, &err), INJ_E_USAGE);
}

/* The first directory in PATH with the command wins. */
static void path_order(void **state)
{
    struct fixture *f = *state;
    char path[1100];
    char *argv[] = {"prog", NULL};

    put(f->d1, "prog", "#!/bin/sh\nexit 11\n", 0755);
    put(f->d2, "prog", "#!/bin/sh\nexit 22\n", 0755);
    assert_true(snprintf(path, sizeof(path), "%s:%s", f->d1, f->d2) > 0);
    assert_int_equal(run_child(path, argv, no_env), 11);
    assert_true(snprintf(path, sizeof(path), "%s:%s", f->d2, f->d1) > 0);
    assert_int_equal(run_child(path, argv, no_env), 22);
    /* Missing and non-directory entries before it are skipped. */
    assert_true(snprintf(path, sizeof(path), "/nonexistent:%s/d1/prog:%s", f->dir, f->d2) > 0);
    assert_int_equal(run_child(path, argv, no_env), 22);
}

/* A non-executable match is skipped for a later executable one, as execvp does; with no
 * executable match at all the result is 126, not 127. */
static void path_skips_non_executable(void **state)
{
    struct fixture *f = *state;
    char path[1100];
    char *argv[] = {"prog", NULL};

    put(f->d1, "prog", "#!/bin/sh\nexit 11\n", 0644);
    put(f->d2, "prog", "#!/bin/sh\nexit 22\n", 0755);
    assert_true(snprintf(path, sizeof(path), "%s:%s", f->d1, f->d2) > 0);
    assert_int_equal(run_child(path, argv, no_env), 22);
    assert_true(snprintf(path, sizeof(path), "%s:/nonexistent", f->d1) > 0);
    assert_int_equal(run_child(path, argv, no_env), 100 + INJ_E_NOEXEC);
}

/* A PATH element too long for a path is skipped, not truncated into another path. */
static void path_long_element(void **state)
{
    struct fixture *f = *state;
    size_t cap = 6000;
    char *path = malloc(cap);
    char *argv[] = {"prog", NULL};

    assert_non_null(path);
    put(f->d2, "prog", "#!/bin/sh\nexit 22\n", 0755);
    memset(path, 'x', 5000);
    path[0] = '/';
    assert_true(snprintf(path + 5000, cap - 5000, ":%s", f->d2) > 0);
    assert_int_equal(run_child(path, argv, no_env), 22);
    free(path);
}

/* Without PATH (or with an empty one), a default is searched: "true" is found there. */
static void path_default(void **state)
{
    char *argv[] = {"true", NULL};

    (void)state;
    assert_int_equal(run_child(NULL, argv, no_env), 0);
    assert_int_equal(run_child("", argv, no_env), 0);
}

/* argv goes through untouched (no shell), envp is exactly what was given. */
static void argv_and_env_passed(void **state)
{
    struct fixture *f = *state;
    char path[768];
    char *argv[] = {path, "a b", "$HOME;*", NULL};
    char *envp[] = {"FOO=bar baz", NULL};

    put(f->d1, "check",
        "#!/bin/sh\n"
        "[ \"$#\" = 2 ] || exit 2\n"
        "[ \"$1\" = 'a b' ] || exit 3\n"
        "[ \"$2\" = '$HOME;*' ] || exit 4\n"
        "[ \"$FOO\" = 'bar baz' ] || exit 5\n"
        "[ -z \"$HOME\" ] || exit 6\n"
        "exit 33\n",
        0755);
    unit_join(path, sizeof(path), f->d1, "check");
    assert_int_equal(run_child("/usr/bin:/bin", argv, envp), 33);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(not_found_with_slash),
        cmocka_unit_test_setup_teardown(not_found_through_a_file, setup, teardown),
        cmocka_unit_test_setup_teardown(not_found_in_path, setup, teardown),
        cmocka_unit_test_setup_teardown(not_executable, setup, teardown),
        cmocka_unit_test_setup_teardown(no_shebang, setup, teardown),
        cmocka_unit_test_setup_teardown(garbage_binary, setup, teardown),
        cmocka_unit_test_setup_teardown(directory_is_not_executable, setup, teardown),
        cmocka_unit_test(empty_command),
        cmocka_unit_test_setup_teardown(path_order, setup, teardown),
        cmocka_unit_test_setup_teardown(path_skips_non_executable, setup, teardown),
        cmocka_unit_test_setup_teardown(path_long_element, setup, teardown),
        cmocka_unit_test(path_default),
        cmocka_unit_test_setup_teardown(argv_and_env_passed, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
