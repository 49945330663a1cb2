/* test_rfile.c: the bounded reader (rfile.c): regular files only, decided by fstat before
 * any read (a FIFO without a writer must not block: the harness's timeout is the failure
 * detector), the size bound named in the message, the symlink rule as a flag, errno kept for
 * the caller, resource exhaustion named. */
#include "unit.h"

#include <sys/resource.h>
#include <sys/wait.h>

#include "rfile.h"

static char dir[256];

static int setup(void **state)
{
    (void)state;
    unit_mkdtemp(dir, sizeof(dir));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unit_rmtree(dir);
    return 0;
}

static void reads_a_regular_file(void **state)
{
    struct sbuf b = SBUF_INIT(0);
    struct inj_err err = UNIT_ERR_INIT;
    char path[300];
    int sys = -1;

    (void)state;
    unit_join(path, sizeof(path), dir, "ok");
    unit_write_file(path, "abc\n", 4, 0600);
    assert_int_equal(rfile_read("thing", path, 4, RFILE_WIPE, &b, &sys, &err), INJ_OK);
    assert_int_equal(sys, 0);
    assert_int_equal(b.len, 4);
    assert_memory_equal(b.p, "abc\n", 5); /* NUL-terminated */
    sbuf_wipe_free(&b);
    /* Empty: a buffer all the same (callers treat p as a string). */
    unit_write_file(path, "", 0, 0600);
    assert_int_equal(rfile_read("thing", path, 4, 0, &b, NULL, &err), INJ_OK);
    assert_non_null(b.p);
    assert_int_equal(b.len, 0);
    sbuf_wipe_free(&b);
}

static void refuses_what_is_not_a_regular_file(void **state)
{
    struct sbuf b = SBUF_INIT(0);
    struct inj_err err = UNIT_ERR_INIT;
    char path[300];
    int sys = 0;

    (void)state;
    unit_join(path, sizeof(path), dir, "fifo");
    assert_int_equal(mkfifo(path, 0600), 0);
    assert_int_equal(rfile_read("token file", path, 100, 0, &b, &sys, &err), INJ_E_NOINPUT);
    assert_int_equal(sys, EINVAL);
    assert_null(b.p);
    assert_contains(err.msg, "token file ");
    assert_contains(err.msg, path);
    assert_contains(err.msg, "a FIFO, not a regular file");
    memset(&err, 0, sizeof(err));
    assert_int_equal(rfile_read("config", dir, 100, 0, &b, &sys, &err), INJ_E_NOINPUT);
    assert_contains(err.msg, "a directory, not a regular file");
    memset(&err, 0, sizeof(err));
    assert_int_equal(rfile_read("config", "/dev/null", 100, 0, &b, &sys, &err), INJ_E_NOINPUT);
    assert_contains(err.msg, "a character device, not a regular file");
}

static void names_the_size_limit(void **state)
{
    struct sbuf b = SBUF_INIT(0);
    struct inj_err err = UNIT_ERR_INIT;
    char path[300];
    int sys = 0;

    (void)state;
    unit_join(path, sizeof(path), dir, "big");
    unit_write_file(path, "12345", 5, 0600);
    assert_int_equal(rfile_read("web identity token file", path, 4, 0, &b, &sys, &err),
                     INJ_E_NOINPUT);
    assert_int_equal(sys, EFBIG);
    assert_null(b.p);
    assert_contains(err.msg, "web identity token file ");
    assert_contains(err.msg, "5 bytes, larger than 4 bytes (the limit)");
}

static void symlinks_follow_the_flag(void **state)
{
    struct sbuf b = SBUF_INIT(0);
    struct inj_err err = UNIT_ERR_INIT;
    char target[300];
    char link[300];
    int sys = 0;

    (void)state;
    unit_join(target, sizeof(target), dir, "target");
    unit_join(link, sizeof(link), dir, "link");
    unit_write_file(target, "x", 1, 0600);
    assert_int_equal(symlink(target, link), 0);
    /* Kubernetes mounts ConfigMaps and projected tokens through symlinks: followed... */
    assert_int_equal(rfile_read("config", link, 10, 0, &b, &sys, &err), INJ_OK);
    assert_int_equal(b.len, 1);
    sbuf_wipe_free(&b);
    /* ... unless the caller asks otherwise. */
    assert_int_equal(rfile_read("config", link, 10, RFILE_NOFOLLOW, &b, &sys, &err), INJ_E_NOINPUT);
    assert_int_equal(sys, ELOOP);
    assert_contains(err.msg, "is a symlink, which is not allowed here");
}

static void missing_file_keeps_its_errno(void **state)
{
    struct sbuf b = SBUF_INIT(0);
    struct inj_err err = UNIT_ERR_INIT;
    char path[300];
    int sys = 0;

    (void)state;
    unit_join(path, sizeof(path), dir, "missing");
    assert_int_equal(rfile_read("shared config file", path, 10, 0, &b, &sys, &err), INJ_E_NOINPUT);
    assert_int_equal(sys, ENOENT);
    assert_contains(err.msg, "No such file or directory");
}

/* With no descriptor left, the message names the limit (in a child: the limit is the
 * process's). */
static void names_descriptor_exhaustion(void **state)
{
    char path[300];
    pid_t pid;
    int st = 0;

    (void)state;
    unit_join(path, sizeof(path), dir, "ok");
    unit_write_file(path, "abc", 3, 0600);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct sbuf b = SBUF_INIT(0);
        struct inj_err err = UNIT_ERR_INIT;
        struct rlimit rl;
        int sys = 0;
        int ok;

        if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
            _exit(2);
        /* Fill every descriptor below the new limit. */
        rl.rlim_cur = 16;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            _exit(3);
        while (open("/dev/null", O_RDONLY) >= 0)
            ;
        ok = rfile_read("config", path, 10, 0, &b, &sys, &err) == INJ_E_NOINPUT && sys == EMFILE &&
             strstr(err.msg, "too many open files (EMFILE): raise the limit");
        _exit(ok ? 0 : 1);
    }
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_null(rfile_exhausted(ENOENT));
    assert_non_null(rfile_exhausted(ENFILE));
    assert_non_null(rfile_exhausted(ENOMEM));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_a_regular_file),
        cmocka_unit_test(refuses_what_is_not_a_regular_file),
        cmocka_unit_test(names_the_size_limit),
        cmocka_unit_test(symlinks_follow_the_flag),
        cmocka_unit_test(missing_file_keeps_its_errno),
        cmocka_unit_test(names_descriptor_exhaustion),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
