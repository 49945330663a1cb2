/* creds_process.c: a profile's credential_process: split like botocore, run without a shell,
 * read stdout (bounded, with a deadline), parse the Version 1 JSON. It runs in its own process
 * group, which is killed once it is done: nothing it started outlives the call.
 *
 * No shell, like botocore (ProcessProvider: shlex.split, then Popen without shell=True). The
 * Go, Java and JavaScript SDKs run `sh -c` instead; we follow botocore because injector ships
 * in FROM-scratch images with no /bin/sh, and a shell would give `$(...)` and `;` in a config
 * file meaning. A command that needs a shell says so: credential_process = sh -c '...'. */
#include <cjson/cJSON.h>
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
#define PROC_WATCH_MS 20LL         /* how often a running helper is checked for its exit */

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

/* Ends the helper's whole process group (what it started in the background too) and reaps
 * the helper. Its descendants are reaped by their new parent (init, or injector itself as a
 * subreaper in supervise mode). */
static void proc_kill_reap(pid_t pid, int *status)
{
    (void)kill(-pid, SIGKILL);
    (void)kill(pid, SIGKILL);
    while (waitpid(pid, status, 0) < 0 && errno == EINTR)
        ;
}

static enum creds_status proc_timeout(const struct creds_ctx *ctx, long *secs, struct creds_try *t)
{
    const char *v = creds_getenv(ctx, "INJECTOR_CREDENTIAL_PROCESS_TIMEOUT");
    char *end = NULL;

    *secs = PROC_DEFAULT_TIMEOUT_S;
    if (!v)
        return CREDS_OK;
    errno = 0;
    *secs = strtol(v, &end, 10);
    if (errno || *end || *secs < 1 || *secs > 3600)
        return creds_fail(t,
                          "INJECTOR_CREDENTIAL_PROCESS_TIMEOUT=%.20s: expected 1 to 3600 "
                          "seconds",
                          v);
    return CREDS_OK;
}

/* 1 when buf is one complete JSON object (whitespace around it): the whole answer. */
static int proc_json_complete(const struct sbuf *b)
{
    const char *end = NULL;
    cJSON *root;
    int ok;

    if (!b->p || !b->len)
        return 0;
    root = cJSON_ParseWithLengthOpts((const char *)b->p, b->len, &end, 0);
    while (root && end && (size_t)(end - (const char *)b->p) < b->len &&
           (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n'))
        end++;
    ok = root && cJSON_IsObject(root) && end && (size_t)(end - (const char *)b->p) == b->len;
    cJSON_Delete(root); /* jx's hooks wipe what cJSON allocated */
    return ok;
}

struct proc_run {
    pid_t pid;
    int status;
    int exited; /* the helper was reaped; status is its */
    int held;   /* it exited, but its stdout is still open: a process it left holds it */
};

/* Reads the helper's stdout (fd, non-blocking) and watches the helper. Done at EOF, or once
 * the helper has exited and either failed or wrote one complete JSON object: a process it
 * left in the background may hold stdout open for ever (r->held). 0, or EFBIG / ETIMEDOUT /
 * an errno. */
static int proc_collect(int fd, long long deadline_ms, struct proc_run *r, struct sbuf *out)
{
    unsigned char chunk[4096];
    struct pollfd pfd;
    long long left;
    ssize_t n;
    int e = 0;

    for (;;) {
        if (!r->exited) {
            pid_t w = waitpid(r->pid, &r->status, WNOHANG);
            if (w == r->pid) {
                r->exited = 1;
            } else if (w < 0 && errno != EINTR) {
                /* Reaped by someone else (an inherited SIGCHLD = SIG_IGN makes the kernel do
                 * it): the exit status is lost, so it cannot count as a success. */
                r->status = 1 << 8;
                r->exited = 1;
            }
        }
        /* Everything there is to read now. */
        for (;;) {
            n = read(fd, chunk, sizeof(chunk));
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                break;
            if (n < 0) {
                e = errno;
                goto out;
            }
            if (n == 0)
                goto out; /* EOF: every writer is gone */
            if (sbuf_append(out, chunk, (size_t)n) != SBUF_OK) {
                e = EFBIG;
                goto out;
            }
        }
        if (r->exited &&
            (!WIFEXITED(r->status) || WEXITSTATUS(r->status) != 0 || proc_json_complete(out))) {
            r->held = 1;
            goto out;
        }
        left = deadline_ms - mono_ms();
        if (left <= 0) {
            e = ETIMEDOUT;
            goto out;
        }
        /* While the helper runs, look at it now and then: its exit closes nothing when a
         * descendant holds the pipe. */
        if (!r->exited && left > PROC_WATCH_MS)
            left = PROC_WATCH_MS;
        pfd.fd = fd;
        pfd.events = POLLIN;
        pfd.revents = 0;
        if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR) {
            e = errno;
            goto out;
        }
    }
out:
    OPENSSL_cleanse(chunk, sizeof(chunk));
    return e;
}

/* Hands the terminal to the helper's process group when injector has it in the foreground
 * (so a helper may prompt, as aws-vault does for an MFA code): 1 when it did. A read before
 * the handover stopped the helper with SIGTTIN; SIGCONT resumes it. */
static int proc_tty_give(pid_t pgid)
{
    if (!isatty(STDIN_FILENO) || tcgetpgrp(STDIN_FILENO) != getpgrp())
        return 0;
    if (tcsetpgrp(STDIN_FILENO, pgid) != 0)
        return 0;
    (void)kill(-pgid, SIGCONT);
    return 1;
}

/* Takes the terminal back; from the background that needs SIGTTOU blocked. */
static void proc_tty_take(void)
{
    sigset_t ttou;
    sigset_t old;

    (void)sigemptyset(&ttou);
    (void)sigaddset(&ttou, SIGTTOU);
    if (sigprocmask(SIG_BLOCK, &ttou, &old) != 0)
        return;
    if (tcsetpgrp(STDIN_FILENO, getpgrp()) != 0)
        log_debug("taking the terminal back from credential_process: %s", strerror(errno));
    (void)sigprocmask(SIG_SETMASK, &old, NULL);
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
    struct proc_run r;
    int tty = 0;
    int en;

    memset(&e, 0, sizeof(e));
    memset(&r, 0, sizeof(r));
    r.pid = -1;
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
    if (pipe2(fds, O_CLOEXEC) != 0 || fcntl(fds[0], F_SETFL, O_NONBLOCK) != 0) {
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
    /* Its own process group, so that what it starts can be ended with it. */
    if (posix_spawnattr_setsigmask(&attr, &none) != 0 ||
        posix_spawnattr_setsigdefault(&attr, &all) != 0 ||
        posix_spawnattr_setpgroup(&attr, 0) != 0 ||
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                            POSIX_SPAWN_SETPGROUP) != 0) {
        st = creds_fail(t, "credential_process: cannot set up the child");
        goto out;
    }
    log_debug("running credential_process %s", argv[0]);
    en = posix_spawnp(&r.pid, argv[0], &fa, &attr, argv, environ);
    (void)close(fds[1]);
    fds[1] = -1;
    if (en != 0) {
        r.pid = -1;
        st = creds_fail(t, "credential_process %.200s: cannot run: %s", argv[0],
                        en == ENOENT ? "command not found (no shell is used; give a path or "
                                       "a command on PATH)"
                                     : strerror(en));
        goto out;
    }
    tty = proc_tty_give(r.pid);
    deadline = mono_ms() + wait_ms;
    en = proc_collect(fds[0], deadline, &r, &buf);
    if (en == ETIMEDOUT && r.exited) {
        st = creds_fail(t,
                        "credential_process %.200s: exited, but a process it started still "
                        "holds its stdout open and what was written is not a complete "
                        "answer; killed its process group",
                        argv[0]);
        goto out;
    }
    if (en) {
        if (en == ETIMEDOUT)
            st = wait_ms < secs * 1000L
                     ? creds_fail_code(t, INJ_E_TEMPFAIL,
                                       "credential_process %.200s: no answer within %ld ms, "
                                       "all the time left (deadline)",
                                       argv[0], wait_ms)
                     : creds_fail(t,
                                  "credential_process %.200s: no answer within %ld s (set "
                                  "INJECTOR_CREDENTIAL_PROCESS_TIMEOUT to wait longer)",
                                  argv[0], secs);
        else if (en == EFBIG)
            st = creds_fail(t,
                            "credential_process %.200s: output larger than %u bytes (the "
                            "limit for a credentials answer)",
                            argv[0], CREDS_MAX_JSON);
        else
            st = creds_fail(t, "credential_process %.200s: reading its output: %s", argv[0],
                            strerror(en));
        goto out;
    }
    if (!r.exited) {
        /* EOF first: give it until the deadline to exit. */
        while (!r.exited && mono_ms() < deadline) {
            pid_t w = waitpid(r.pid, &r.status, WNOHANG);
            if (w == r.pid || (w < 0 && errno != EINTR)) {
                if (w < 0)
                    r.status = 1 << 8;
                r.exited = 1;
            } else {
                mono_sleep_ms(10);
            }
        }
        if (!r.exited) {
            st = creds_fail(t,
                            "credential_process %.200s: closed its output but did not exit "
                            "within %ld s",
                            argv[0], secs);
            goto out;
        }
    }
    if (r.held)
        log_warn("credential_process %.200s exited, but a process it started still held its "
                 "stdout open: its process group is killed",
                 argv[0]);
    if (WIFSIGNALED(r.status)) {
        st = creds_fail(t, "credential_process %.200s: killed by signal %d", argv[0],
                        WTERMSIG(r.status));
        goto out;
    }
    if (WIFEXITED(r.status) && WEXITSTATUS(r.status) == 127) {
        /* Where posix_spawn cannot report a failed exec (valgrind, some libcs), the child
         * exits 127 like a shell would. */
        st = creds_fail(t,
                        "credential_process %.200s: exited with status 127 (command not "
                        "found? no shell is used; give a path or a command on PATH)",
                        argv[0]);
        goto out;
    }
    if (WIFEXITED(r.status) && WEXITSTATUS(r.status) != 0) {
        st = creds_fail(t,
                        "credential_process %.200s: exited with status %d (its stderr is "
                        "above)",
                        argv[0], WEXITSTATUS(r.status));
        goto out;
    }
    st = creds_parse_json(buf.p ? buf.p : (const unsigned char *)"", buf.len, CREDS_JSON_PROCESS,
                          time(NULL), source, "credential_process output", out, t);
out:
    if (tty)
        proc_tty_take();
    if (r.pid > 0) {
        /* Exited or not: its group goes (a helper's background leftovers hold its output
         * and maybe the credentials). Reaped here unless it already was. */
        (void)kill(-r.pid, SIGKILL);
        if (!r.exited)
            proc_kill_reap(r.pid, &r.status);
    }
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
