/* test_ident.c: --user (ident.c): /etc/passwd and /etc/group parsing, resolution through
 * the bounded reader (a FIFO or an oversize file is refused at once, a missing one is
 * empty), and the privilege drop. */
#include "unit.h"

#include <signal.h>
#include <sys/wait.h>

#include "ident.h"

/* ---- /etc/passwd and /etc/group ---- */

static const char PASSWD[] = "root:x:0:0:root:/root:/bin/bash\n"
                             "# a comment:x:5:5\n"
                             "+nis::::::\n"
                             "-excluded:x:7:7::/:/bin/sh\n"
                             "broken:x:notanumber:1:::\n"
                             "short:x:9\n"
                             "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
                             "app:x:1000:1001::/home/app:/bin/sh\n"
                             "big:x:4294967295:1::/:/bin/sh\n"
                             "noeol:x:1200:1201::/:/bin/sh";

static const char GROUP[] = "root:x:0:\n"
                            "nogroup:x:65534:\n"
                            "apps:x:2000:app\n"
                            "#hidden:x:3:\n"
                            "bad:x:oops:\n";

static void user_ok(const char *spec, const char *pw, const char *gr, unsigned long uid,
                    unsigned long gid)
{
    struct ident_user u;
    struct inj_err err = UNIT_ERR_INIT;
    enum inj_rc rc = ident_parse(spec, pw, pw ? strlen(pw) : 0, gr, gr ? strlen(gr) : 0, &u, &err);

    if (rc != INJ_OK)
        fail_msg("%s: %s", spec, err.msg);
    assert_int_equal(u.set, 1);
    assert_int_equal(u.uid, uid);
    assert_int_equal(u.gid, gid);
}

static void user_bad(const char *spec, const char *pw, const char *gr, const char *msg)
{
    struct ident_user u;
    struct inj_err err = UNIT_ERR_INIT;
    enum inj_rc rc = ident_parse(spec, pw, pw ? strlen(pw) : 0, gr, gr ? strlen(gr) : 0, &u, &err);

    if (rc == INJ_OK)
        fail_msg("%s: accepted as %lu:%lu", spec, (unsigned long)u.uid, (unsigned long)u.gid);
    assert_int_equal(rc, INJ_E_USAGE);
    assert_int_equal(u.set, 0);
    assert_contains(err.msg, msg);
}

static void user_parse_names_and_ids(void **state)
{
    (void)state;
    user_ok("nobody", PASSWD, GROUP, 65534, 65534);
    user_ok("app", PASSWD, GROUP, 1000, 1001);       /* primary group from passwd */
    user_ok("app:apps", PASSWD, GROUP, 1000, 2000);  /* group by name */
    user_ok("app:3000", PASSWD, GROUP, 1000, 3000);  /* group by number, no entry needed */
    user_ok("1000", PASSWD, GROUP, 1000, 1001);      /* uid found in passwd */
    user_ok("4242:4243", PASSWD, GROUP, 4242, 4243); /* neither needs an entry */
    user_ok("0:0", PASSWD, GROUP, 0, 0);
    user_ok("noeol", PASSWD, GROUP, 1200, 1201);  /* last line without newline */
    user_ok("4242:4243", NULL, NULL, 4242, 4243); /* scratch image: no files */
    user_ok("nobody:nogroup", PASSWD, GROUP, 65534, 65534);
}

static void user_parse_rejects(void **state)
{
    (void)state;
    user_bad("4242", PASSWD, GROUP, "give one (uid:gid)");
    user_bad("ghost", PASSWD, GROUP, "no user \"ghost\"");
    user_bad("app:ghosts", PASSWD, GROUP, "no group \"ghosts\"");
    user_bad("", PASSWD, GROUP, "USER[:GROUP]");
    user_bad(":", PASSWD, GROUP, "USER[:GROUP]");
    user_bad("app:", PASSWD, GROUP, "USER[:GROUP]");
    user_bad(":100", PASSWD, GROUP, "USER[:GROUP]");
    user_bad("broken", PASSWD, GROUP, "no user"); /* malformed lines are skipped */
    user_bad("short", PASSWD, GROUP, "no user");
    user_bad("big", PASSWD, GROUP, "no user"); /* uid -1 is not an id */
    user_bad("+nis", PASSWD, GROUP, "no user");
    user_bad("excluded", PASSWD, GROUP, "no user");
    user_bad("-excluded", PASSWD, GROUP, "no user");
    user_bad("# a comment", PASSWD, GROUP, "no user");
    user_bad("app:hidden", PASSWD, GROUP, "no group");
    user_bad("app:bad", PASSWD, GROUP, "no group");
    user_bad("4294967295:1", PASSWD, GROUP, "not a valid uid");
    user_bad("99999999999:1", PASSWD, GROUP, "not a valid uid");
    user_bad("1x:1", PASSWD, GROUP, "not a valid uid");
    user_bad("1:4294967295", PASSWD, GROUP, "not a valid gid");
    user_bad("1:2:3", PASSWD, GROUP, "not a valid gid");
    user_bad("nobody", NULL, NULL, "no user");
}

static void drop_privileges(void **state)
{
    struct ident_user none = {0, 0, 0};
    struct ident_user nobody = {1, 65534, 65534};
    struct inj_err err = UNIT_ERR_INIT;
    pid_t pid;
    int st = 0;

    (void)state;
    assert_int_equal(ident_drop(&none, &err), INJ_OK);
    if (geteuid() != 0)
        skip();
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        gid_t groups[4];
        int ok = ident_drop(&nobody, &err) == INJ_OK && getuid() == 65534 && geteuid() == 65534 &&
                 getgid() == 65534 && getegid() == 65534 && getgroups(4, groups) == 0 &&
                 setuid(0) != 0 && setgid(0) != 0;
        _exit(ok ? 0 : 1);
    }
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

/* The files are read through rfile: a FIFO without a writer is refused at once (the test
 * would hang in open() otherwise: the harness's timeout is the failure detector). */
static void resolve_files(void **state)
{
    char dir[256];
    char pw[300];
    char gr[300];
    char fifo[300];
    char missing[300];
    struct ident_user u;
    struct inj_err err = UNIT_ERR_INIT;
    char *big;

    (void)state;
    unit_mkdtemp(dir, sizeof(dir));
    unit_join(pw, sizeof(pw), dir, "passwd");
    unit_join(gr, sizeof(gr), dir, "group");
    unit_join(fifo, sizeof(fifo), dir, "fifo");
    unit_join(missing, sizeof(missing), dir, "missing");
    unit_write_file(pw, PASSWD, strlen(PASSWD), 0644);
    unit_write_file(gr, GROUP, strlen(GROUP), 0644);
    assert_int_equal(mkfifo(fifo, 0600), 0);

    if (geteuid() == 0) {
        assert_int_equal(ident_resolve_files("app:apps", pw, gr, &u, &err), INJ_OK);
        assert_int_equal(u.uid, 1000);
        assert_int_equal(u.gid, 2000);
        /* Missing files read as empty: numbers still work. */
        assert_int_equal(ident_resolve_files("4242:4243", missing, missing, &u, &err), INJ_OK);
        assert_int_equal(u.gid, 4243);
    }
    memset(&err, 0, sizeof(err));
    assert_int_equal(ident_resolve_files("app", fifo, gr, &u, &err), INJ_E_NOINPUT);
    assert_contains(err.msg, fifo);
    assert_contains(err.msg, "a FIFO, not a regular file");
    assert_int_equal(u.set, 0);
    memset(&err, 0, sizeof(err));
    assert_int_equal(ident_resolve_files("app:apps", pw, fifo, &u, &err), INJ_E_NOINPUT);
    assert_contains(err.msg, "a FIFO, not a regular file");
    memset(&err, 0, sizeof(err));
    assert_int_equal(ident_resolve_files("app", dir, gr, &u, &err), INJ_E_NOINPUT);
    assert_contains(err.msg, "a directory");
    /* Larger than 8 MiB: the message names the file and the limit. */
    big = calloc(1, 8u * 1024u * 1024u + 1u);
    assert_non_null(big);
    unit_write_file(pw, big, 8u * 1024u * 1024u + 1u, 0644);
    free(big);
    memset(&err, 0, sizeof(err));
    assert_int_equal(ident_resolve_files("app", pw, gr, &u, &err), INJ_E_NOINPUT);
    assert_contains(err.msg, pw);
    assert_contains(err.msg, "larger than 8388608 bytes");
    unit_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(user_parse_names_and_ids),
        cmocka_unit_test(user_parse_rejects),
        cmocka_unit_test(resolve_files),
        cmocka_unit_test(drop_privileges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
