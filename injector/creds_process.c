/* creds_process.c: a profile's credential_process: split like botocore, run without a shell,
 * read stdout (bounded, with a deadline), parse the Version 1 JSON.
 *
 * No shell, like botocore (ProcessProvider: shlex.split, then Popen without shell=True). The
 * Go, Java and JavaScript SDKs run `sh -c` instead; we follow botocore because injector ships
 * in FROM-scratch images with no /bin/sh, and a shell would give `$(...)` and `;` in a config
 * file meaning. A command that needs a shell says so: credential_process = sh -c '...'. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "creds_int.h"
#include "log.h"
#include "mono.h"

extern char **environ;

#define PROC_DEFAULT_TIMEOUT_S 60L /* the Go SDK's default; botocore waits forever */

void creds_argv_free(char **argv)
{
    size_t i;

    if (!argv)
        return;
    /* Arguments may carry a secret (--password ...): wipe them too. */
    for (i = 0; argv[i]; i++)
        wipe_free_str(argv[i]);
    free(argv);
}

/* shlex.split(s, posix=True): see creds_int.h. */
enum inj_rc creds_split_command(const char *cmd, char ***argv_out, struct inj_err *err)
{
    enum inj_rc rc = INJ_E_NOMEM;
    size_t cmd_len = strlen(cmd);
    char **argv = NULL;
    char **tmp;
    char *word = NULL;
    size_t nargs = 0;
    size_t wl = 0;
    int in_word = 0;
    size_t i;

    *argv_out = NULL;
    /* One word is at most the whole command; argv has at most len/2 + 2 entries. */
    word = malloc(cmd_len + 1);
    argv = calloc(cmd_len / 2 + 2, sizeof(*argv));
    if (!word || !argv) {
        inj_err_set(err, rc, "out of memory");
        goto fail;
    }
    for (i = 0; i <= cmd_len; i++) {
        char c = cmd[i];

        if (c == '\0' || c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            if (!in_word)
                continue;
            argv[nargs] = xmemdup(word, wl);
            if (!argv[nargs]) {
                inj_err_set(err, rc, "out of memory");
                goto fail;
            }
            nargs++;
            wl = 0;
            in_word = 0;
            continue;
        }
        in_word = 1;
        if (c == '\\') {
            if (!cmd[i + 1]) {
                rc = inj_err_set(err, INJ_E_CONFIG, "ends with a lone backslash");
                goto fail;
            }
            word[wl++] = cmd[++i];
        } else if (c == '\'') {
            for (i++; cmd[i] && cmd[i] != '\''; i++)
                word[wl++] = cmd[i];
            if (!cmd[i]) {
                rc = inj_err_set(err, INJ_E_CONFIG, "no closing ' quotation");
                goto fail;
            }
        } else if (c == '"') {
            for (i++; cmd[i] && cmd[i] != '"'; i++) {
                /* shlex (POSIX): inside "...", a backslash escapes only " and \. */
                if (cmd[i] == '\\' && (cmd[i + 1] == '"' || cmd[i + 1] == '\\'))
                    i++;
                word[wl++] = cmd[i];
            }
            if (!cmd[i]) {
                rc = inj_err_set(err, INJ_E_CONFIG, "no closing \" quotation");
                goto fail;
            }
        } else {
            word[wl++] = c;
        }
    }
    if (!nargs) {
        rc = inj_err_set(err, INJ_E_CONFIG, "empty command");
        goto fail;
    }
    /* Shrink to fit (pointers only). */
    tmp = realloc(argv, (nargs + 1) * sizeof(*argv));
    if (tmp)
        argv = tmp;
    argv[nargs] = NULL;
    wipe_free(word, cmd_len + 1);
    *argv_out = argv;
    return INJ_OK;
fail:
    wipe_free(word, cmd_len + 1);
    creds_argv_free(argv);
    return rc;
}

static void proc_kill_reap(pid_t pid, int *status)
{
    (void)kill(pid, SIGKILL);
    while (waitpid(pid, status, 0) < 0 && errno == EINTR)
        ;
}

/* Waits for pid until deadline_ms; 1 when it exited (status set), 0 when killed at the
 * deadline. */
static int proc_wait(pid_t pid, long long deadline_ms, int *status)
{
    pid_t r;

    for (;;) {
        r = waitpid(pid, status, WNOHANG);
        if (r == pid)
            return 1;
        if (r < 0 && errno != EINTR) {
            /* Reaped by someone else (an inherited SIGCHLD = SIG_IGN makes the kernel do
             * it): the exit status is lost, so it cannot count as a success. */
            *status = 1 << 8;
            return 1;
        }
        if (mono_ms() >= deadline_ms) {
            proc_kill_reap(pid, status);
            return 0;
        }
        mono_sleep_ms(10);
    }
}

static enum creds_status proc_timeout(const struct creds_ctx *ctx, long *secs,
                                      struct creds_try *t)
{
    const char *v = creds_getenv(ctx, "INJECTOR_CREDENTIAL_PROCESS_TIMEOUT");
    char *end = NULL;

    *secs = PROC_DEFAULT_TIMEOUT_S;
    if (!v)
        return CREDS_OK;
    errno = 0;
    *secs = strtol(v, &end, 10);
    if (errno || *end || *secs < 1 || *secs > 3600)
        return creds_fail(t, "INJECTOR_CREDENTIAL_PROCESS_TIMEOUT=%.20s: expected 1 to 3600 "
                             "seconds",
                          v);
    return CREDS_OK;
}

/* Reads the child's stdout until EOF, the size cap or the deadline. 0, or EFBIG / ETIMEDOUT /
 * an errno. */
static int proc_read(int fd, long long deadline_ms, struct sbuf *out)
{
    unsigned char chunk[4096];
    struct pollfd pfd;
    long long left;
    ssize_t n;
    int r;
    int e = 0;

    for (;;) {
        left = deadline_ms - mono_ms();
        if (left <= 0) {
            e = ETIMEDOUT;
            break;
        }
        pfd.fd = fd;
        pfd.events = POLLIN;
        pfd.revents = 0;
        r = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            e = errno;
            break;
        }
        if (r == 0)
            continue;
        n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0) {
            e = errno;
            break;
        }
        if (n == 0)
            break;
        if (sbuf_append(out, chunk, (size_t)n) != SBUF_OK) {
            e = EFBIG;
            break;
        }
    }
    OPENSSL_cleanse(chunk, sizeof(chunk));
    return e;
}

enum creds_status creds_process_get(const struct creds_ctx *ctx, const char *cmd,
                                    const char *source, struct creds *out, struct creds_try *t)
{
    enum creds_status st = CREDS_FAILED;
    struct sbuf buf = SBUF_INIT(CREDS_MAX_JSON);
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    int fa_ok = 0;
    int attr_ok = 0;
    int fds[2] = {-1, -1};
    char **argv = NULL;
    struct inj_err e;
    sigset_t none;
    sigset_t all;
    long long deadline;
    long wait_ms;
    long secs;
    pid_t pid = -1;
    int status = 0;
    int en;

    memset(&e, 0, sizeof(e));
    st = proc_timeout(ctx, &secs, t);
    if (st != CREDS_OK)
        return st;
    wait_ms = creds_time_left_ms(ctx, secs * 1000L);
    if (!wait_ms)
        return creds_fail_code(t, INJ_E_TEMPFAIL,
                               "credential_process: not started, no time left (deadline)");
    if (creds_split_command(cmd, &argv, &e) != INJ_OK)
        return e.code == INJ_E_NOMEM ? creds_nomem(t)
                                     : creds_fail(t, "credential_process: %s", e.msg);
    if (pipe2(fds, O_CLOEXEC) != 0) {
        st = creds_fail(t, "credential_process: pipe: %s", strerror(errno));
        goto out;
    }
    if (posix_spawn_file_actions_init(&fa) != 0) {
        st = creds_nomem(t);
        goto out;
    }
    fa_ok = 1;
    if (posix_spawnattr_init(&attr) != 0) {
        st = creds_nomem(t);
        goto out;
    }
    attr_ok = 1;
    if (posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO) != 0) {
        st = creds_nomem(t);
        goto out;
    }
    /* The child starts with no blocked signals and default dispositions, whatever
     * injector has set up by then. stdin and stderr are inherited: a helper may prompt. */
    (void)sigemptyset(&none);
    (void)sigfillset(&all);
    (void)sigdelset(&all, SIGKILL);
    (void)sigdelset(&all, SIGSTOP);
    if (posix_spawnattr_setsigmask(&attr, &none) != 0 ||
        posix_spawnattr_setsigdefault(&attr, &all) != 0 ||
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF) != 0) {
        st = creds_fail(t, "credential_process: cannot set up the child");
        goto out;
    }
    log_debug("running credential_process %s", argv[0]);
    en = posix_spawnp(&pid, argv[0], &fa, &attr, argv, environ);
    (void)close(fds[1]);
    fds[1] = -1;
    if (en != 0) {
        pid = -1;
        st = creds_fail(t, "credential_process %.200s: cannot run: %s", argv[0],
                        en == ENOENT ? "command not found (no shell is used; give a path or "
                                       "a command on PATH)"
                                     : strerror(en));
        goto out;
    }
    deadline = mono_ms() + wait_ms;
    en = proc_read(fds[0], deadline, &buf);
    if (en) {
        proc_kill_reap(pid, &status);
        pid = -1;
        if (en == ETIMEDOUT)
            st = wait_ms < secs * 1000L
                     ? creds_fail_code(t, INJ_E_TEMPFAIL,
                                       "credential_process %.200s: no answer within %ld ms, "
                                       "all the time left (deadline)",
                                       argv[0], wait_ms)
                     : creds_fail(t, "credential_process %.200s: no answer within %ld s (set "
                                     "INJECTOR_CREDENTIAL_PROCESS_TIMEOUT to wait longer)",
                                  argv[0], secs);
        else if (en == EFBIG)
            st = creds_fail(t, "credential_process %.200s: output larger than %u bytes",
                            argv[0], CREDS_MAX_JSON);
        else
            st = creds_fail(t, "credential_process %.200s: reading its output: %s", argv[0],
                            strerror(en));
        goto out;
    }
    if (!proc_wait(pid, deadline, &status)) {
        pid = -1;
        st = creds_fail(t, "credential_process %.200s: closed its output but did not exit "
                           "within %ld s",
                        argv[0], secs);
        goto out;
    }
    pid = -1;
    if (WIFSIGNALED(status)) {
        st = creds_fail(t, "credential_process %.200s: killed by signal %d", argv[0],
                        WTERMSIG(status));
        goto out;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
        /* Where posix_spawn cannot report a failed exec (valgrind, some libcs), the child
         * exits 127 like a shell would. */
        st = creds_fail(t, "credential_process %.200s: exited with status 127 (command not "
                           "found? no shell is used; give a path or a command on PATH)",
                        argv[0]);
        goto out;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
        st = creds_fail(t, "credential_process %.200s: exited with status %d (its stderr is "
                           "above)",
                        argv[0], WEXITSTATUS(status));
        goto out;
    }
    st = creds_parse_json(buf.p ? buf.p : (const unsigned char *)"", buf.len,
                          CREDS_JSON_PROCESS, time(NULL), source, "credential_process output",
                          out, t);
out:
    if (pid > 0)
        proc_kill_reap(pid, &status);
    if (fds[0] >= 0)
        (void)close(fds[0]);
    if (fds[1] >= 0)
        (void)close(fds[1]);
    if (fa_ok)
        (void)posix_spawn_file_actions_destroy(&fa);
    if (attr_ok)
        (void)posix_spawnattr_destroy(&attr);
    creds_argv_free(argv);
    sbuf_wipe_free(&buf);
    return st;
}
