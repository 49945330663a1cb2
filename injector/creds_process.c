/* creds_process.c: a profile's credential_process: split like botocore, run without a shell,
 * read stdout (bounded, with a deadline), parse the Version 1 JSON. It runs in its own process
 * group, which is killed once it is done, under a forked reaper (a child subreaper) that kills
 * and reaps what it left in other groups or sessions: nothing it started outlives the call. Its
 * stderr is
 * passed through to a terminal (it may prompt), else read and printed through redact_text
 * once it is done (logs are collected; a helper may print its keys).
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
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "creds_int.h"
#include "log.h"
#include "mono.h"
#include "redact.h"

extern char **environ;

#define PROC_DEFAULT_TIMEOUT_S 60L     /* the Go SDK's default; botocore waits forever */
#define PROC_WATCH_MS 20LL             /* how often a running helper is checked for its exit */
#define PROC_ERR_KEEP (64u * 1024u)    /* of its stderr, kept to print; the rest is counted */
#define PROC_ERR_LINE 2048u            /* one printed line of it, after redaction */
#define PROC_ERR_DRAIN (1024u * 1024u) /* read from it at most, each time it is looked at */
#define PROC_ERR_PREFIX "injector: credential_process: "

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
    pid_t pid;    /* the helper; its process group has the same id */
    pid_t reaper; /* the process that started it and ends what it leaves (proc_reaper) */
    int stfd;     /* from the reaper: the helper's pid, then its wait status (non-blocking) */
    int ctlfd;    /* to the reaper: closing it says "end what is left and exit" */
    int status;
    int exited; /* the helper was reaped; status is its */
    int held;   /* it exited, but its stdout is still open: a process it left holds it */
};

/* What the reaper says first: how the start went. */
struct proc_hello {
    int err;      /* posix_spawnp's answer */
    int sub_err;  /* 0, or why it could not become a child subreaper */
    int list_err; /* 0, or why it cannot list its children (/proc/self/task/PID/children) */
    pid_t pid;
};

static void proc_write_all(int fd, const void *buf, size_t len)
{
    const unsigned char *p = buf;

    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        p += n;
        len -= (size_t)n;
    }
}

/* 0 when this process's children can be listed (proc_kill_children), else an errno. */
static int proc_children_listable(void)
{
    char path[64];
    int n = snprintf(path, sizeof(path), "/proc/self/task/%ld/children", (long)getpid());
    int fd;

    if (n < 0 || (size_t)n >= sizeof(path))
        return ENAMETOOLONG;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    (void)close(fd);
    return 0;
}

/* SIGKILLs every child of this process that /proc lists: -1 when the list cannot be read. */
static int proc_kill_children(void)
{
    char path[64];
    char list[4096];
    size_t got = 0;
    ssize_t n;
    int fd;
    int count = 0;
    char *p;
    char *end;

    n = snprintf(path, sizeof(path), "/proc/self/task/%ld/children", (long)getpid());
    if (n < 0 || (size_t)n >= sizeof(path))
        return -1;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    while (got < sizeof(list) - 1) {
        n = read(fd, list + got, sizeof(list) - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    (void)close(fd);
    list[got] = '\0';
    /* A list cut at the buffer's end loses its last pid until the next round. */
    for (p = list; *p;) {
        long v;

        errno = 0;
        v = strtol(p, &end, 10);
        if (end == p)
            break;
        if (!errno && v > 1 &&
            (*end == ' ' || *end == '\n' || (*end == '\0' && got < sizeof(list) - 1))) {
            (void)kill((pid_t)v, SIGKILL);
            count++;
        }
        p = end;
        while (*p == ' ' || *p == '\n')
            p++;
    }
    return count;
}

/* Rounds of 1 ms proc_kill_all_children waits for killed processes to die. */
#define PROC_REAP_WAITS 5000

/* Kills and reaps every child this process has: the helper's descendants, reparented here
 * because it is their subreaper, whatever process group or session they moved to. A killed
 * process's own children come here in turn and go in the next round. */
static void proc_kill_all_children(void)
{
    /* A process killed in an uninterruptible sleep (a hung network mount) dies only when
     * that ends: about 5 s of waiting for it, then the reaper exits and leaves it to init
     * rather than hold injector's start or refresh for good. */
    int waits = PROC_REAP_WAITS;

    for (;;) {
        int listed = proc_kill_children();
        pid_t w = waitpid(-1, NULL, WNOHANG);

        if (w > 0 || (w < 0 && errno == EINTR))
            continue;
        if (w < 0 || listed < 0 || waits-- <= 0)
            return;             /* ECHILD: none left; or they cannot be listed (no /proc) */
        (void)poll(NULL, 0, 1); /* killed, not dead yet */
    }
}

/* The forked process between injector and the helper. It registers as a child subreaper, so
 * the helper's descendants that leave its process group (setsid: a daemonising helper) are
 * reparented here when their parent exits, not to injector (PID 1 in a container: they would
 * become the app's unexpected children) or to init. It starts the helper, reports its pid
 * and later its wait status on stfd, waits for injector to close ctlfd (injector has the
 * answer, or gave up), then kills and reaps whatever is left and exits. Only this process's
 * own descendants are touched: never the supervised app or its orphans. injector has one
 * thread when it forks (as sup_child says), and this calls nothing that allocates. */
__attribute__((noreturn)) static void proc_reaper(char *const argv[],
                                                  const posix_spawn_file_actions_t *fa,
                                                  const posix_spawnattr_t *attr, int stfd,
                                                  int ctlfd, const int *drop, size_t ndrop)
{
    struct proc_hello h;
    struct sigaction dfl;
    int status = 1 << 8;
    char c;
    size_t i;

    memset(&h, 0, sizeof(h));
    h.pid = -1;
    /* qemu-user answers EINVAL: the helper then runs as before, its setsid'd leftovers go
     * to init. */
    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0)
        h.sub_err = errno;
    h.list_err = proc_children_listable();
    /* An inherited SIGCHLD = SIG_IGN would make the kernel reap the helper here. */
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    (void)sigaction(SIGCHLD, &dfl, NULL);
    h.err = posix_spawnp(&h.pid, argv[0], fa, attr, argv, environ);
    /* Holding the helper's stdout open here would hide its EOF from injector. */
    for (i = 0; i < ndrop; i++)
        if (drop[i] >= 0)
            (void)close(drop[i]);
    proc_write_all(stfd, &h, sizeof(h));
    if (h.err == 0) {
        siginfo_t si;

        /* Its exit is reported without reaping it: the zombie keeps its pid and process
         * group id its own until injector is done, so injector's kills (of the helper and
         * of its group's leftovers) cannot reach a process that took the id over. */
        memset(&si, 0, sizeof(si));
        while (waitid(P_PID, (id_t)h.pid, &si, WEXITED | WNOWAIT) < 0) {
            if (errno != EINTR) {
                si.si_code = 0;
                break;
            }
        }
        if (si.si_code == CLD_EXITED)
            status = (si.si_status & 0xff) << 8;
        else if (si.si_code == CLD_KILLED)
            status = si.si_status & 0x7f;
        else if (si.si_code == CLD_DUMPED)
            status = (si.si_status & 0x7f) | 0x80;
        proc_write_all(stfd, &status, sizeof(status));
        /* EOF when injector is done (or gone). */
        while (read(ctlfd, &c, 1) < 0 && errno == EINTR)
            ;
        (void)kill(-h.pid, SIGKILL);
        while (waitpid(h.pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    proc_kill_all_children();
    _exit(0);
}

/* Forks the reaper, which starts the helper: 0 with r->pid set, or an errno (the helper's
 * spawn error, or why the reaper could not be started). drop: descriptors the reaper closes
 * once the helper runs. */
static int proc_start(struct proc_run *r, char *const argv[], const posix_spawn_file_actions_t *fa,
                      const posix_spawnattr_t *attr, const int *drop, size_t ndrop)
{
    struct proc_hello h;
    unsigned char *p = (unsigned char *)&h;
    int st[2] = {-1, -1};
    int ctl[2] = {-1, -1};
    size_t got = 0;
    int e;

    if (pipe2(st, O_CLOEXEC) != 0)
        return errno;
    if (pipe2(ctl, O_CLOEXEC) != 0) {
        e = errno;
        (void)close(st[0]);
        (void)close(st[1]);
        return e;
    }
    r->reaper = fork();
    if (r->reaper == 0) {
        (void)close(st[0]);
        (void)close(ctl[1]);
        proc_reaper(argv, fa, attr, st[1], ctl[0], drop, ndrop);
    }
    e = errno;
    (void)close(st[1]);
    (void)close(ctl[0]);
    r->stfd = st[0];
    r->ctlfd = ctl[1];
    if (r->reaper < 0) {
        r->reaper = 0;
        return e;
    }
    memset(&h, 0, sizeof(h));
    while (got < sizeof(h)) {
        ssize_t n = read(r->stfd, p + got, sizeof(h) - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (got != sizeof(h))
        return ECHILD; /* the reaper died before it could say */
    if (!h.sub_err && h.list_err)
        log_debug("credential_process: cannot list the reaper's children (%s: no "
                  "/proc/self/task/PID/children): a process it starts in a session of its own "
                  "may outlive it",
                  strerror(h.list_err));
    if (h.sub_err)
        log_debug("credential_process: cannot register a child subreaper (%s): a process it "
                  "starts in a session of its own may outlive it",
                  strerror(h.sub_err));
    if (h.err)
        return h.err;
    if (fcntl(r->stfd, F_SETFL, O_NONBLOCK) != 0) {
        e = errno;
        (void)kill(-h.pid, SIGKILL); /* the reaper waits for it */
        (void)kill(h.pid, SIGKILL);
        return e;
    }
    r->pid = h.pid;
    return 0;
}

/* Takes the helper's wait status from the reaper when it has come; with wait, waits for it. */
static void proc_check_exit(struct proc_run *r, int wait)
{
    struct pollfd pfd;
    ssize_t n;

    while (!r->exited) {
        n = read(r->stfd, &r->status, sizeof(r->status));
        if (n == (ssize_t)sizeof(r->status)) {
            r->exited = 1;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!wait)
                return;
            pfd.fd = r->stfd;
            pfd.events = POLLIN;
            pfd.revents = 0;
            (void)poll(&pfd, 1, -1);
        } else {
            /* The reaper is gone without a word: the exit status is lost, so it cannot
             * count as a success. */
            r->status = 1 << 8;
            r->exited = 1;
        }
    }
}

/* Tells the reaper to end what the helper left, and reaps it. */
static void proc_end(struct proc_run *r)
{
    if (r->ctlfd >= 0)
        (void)close(r->ctlfd);
    r->ctlfd = -1;
    if (r->stfd >= 0)
        (void)close(r->stfd);
    r->stfd = -1;
    while (r->reaper > 0 && waitpid(r->reaper, NULL, 0) < 0 && errno == EINTR)
        ;
    r->reaper = 0;
}

/* The helper's stderr when it goes through a pipe (injector's stderr is no terminal). */
struct proc_err {
    int piped;              /* 0: inherited, nothing here */
    int fd;                 /* read end (non-blocking); -1 once at EOF */
    struct sbuf kept;       /* the first PROC_ERR_KEEP bytes; may hold keys: wiped */
    unsigned long long cut; /* bytes read past that, dropped */
};

/* Reads what the helper's stderr has now, without waiting: the pipe never fills, so a
 * chatty helper never blocks on it. EOF or an error ends the reading (nothing more to get).
 * At most PROC_ERR_DRAIN bytes a call: a leftover in a session of its own (not killed with the
 * group) writing as fast as this reads cannot keep it here. */
static void proc_err_drain(struct proc_err *pe)
{
    unsigned char chunk[4096];
    size_t budget = PROC_ERR_DRAIN;
    ssize_t n;
    size_t take;
    size_t i;

    while (pe->fd >= 0 && budget >= sizeof(chunk)) {
        n = read(pe->fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0) {
            (void)close(pe->fd);
            pe->fd = -1;
            break;
        }
        take = PROC_ERR_KEEP - pe->kept.len;
        if (take > (size_t)n)
            take = (size_t)n;
        /* A NUL would end the line early for redact_text: the rest of it unchecked. */
        for (i = 0; i < take; i++)
            if (!chunk[i])
                chunk[i] = '?';
        if (take && sbuf_append(&pe->kept, chunk, take) != SBUF_OK)
            pe->cut += take;
        pe->cut += (size_t)n - take;
        budget -= (size_t)n;
    }
    OPENSSL_cleanse(chunk, sizeof(chunk));
}

/* Waits up to ms for the helper's stderr (a plain sleep when it is not read), then drains it. */
static void proc_err_wait(struct proc_err *pe, long long ms)
{
    struct pollfd pfd;

    pfd.fd = pe->fd; /* poll ignores a negative fd: then this only sleeps */
    pfd.events = POLLIN;
    pfd.revents = 0;
    if (ms > PROC_WATCH_MS)
        ms = PROC_WATCH_MS;
    if (ms > 0)
        (void)poll(&pfd, 1, (int)ms);
    proc_err_drain(pe);
}

/* Writes one line of the helper's stderr, redacted, as one write (JSON logs: a log line). */
static void proc_err_line(enum log_level lvl, const char *line, size_t len,
                          const char *const *known, size_t nknown)
{
    char clean[PROC_ERR_LINE];
    char msg[sizeof(PROC_ERR_PREFIX) + PROC_ERR_LINE + 16];
    int m;

    redact_text(line, len, known, nknown, clean, sizeof(clean));
    if (log_get_format() == LOG_FMT_JSON) {
        log_at(lvl, NULL, "credential_process: %s%s", clean,
               strlen(clean) + 1 >= sizeof(clean) ? " [line cut]" : "");
        OPENSSL_cleanse(clean, sizeof(clean));
        return;
    }
    m = snprintf(msg, sizeof(msg), PROC_ERR_PREFIX "%s%s\n", clean,
                 strlen(clean) + 1 >= sizeof(clean) ? " [line cut]" : "");
    if (m > 0 && (size_t)m < sizeof(msg))
        (void)fwrite(msg, 1, (size_t)m, stderr);
    OPENSSL_cleanse(clean, sizeof(clean));
    OPENSSL_cleanse(msg, sizeof(msg));
}

/* Prints what the helper wrote to stderr, line by line through redact_text, with the keys it
 * answered as known secrets: those of *c when they were taken, else any SecretAccessKey and
 * SessionToken strings in its stdout (an answer refused as expired, say, still holds real
 * keys). Shown at the error level when the helper failed (its stderr says why), else at warn
 * (-q hides a working helper's chatter, as it hid nothing before: it went to the terminal). */
static void proc_err_print(struct proc_err *pe, int failed, const struct creds *c,
                           const struct sbuf *answer)
{
    const char *known[4] = {NULL, NULL, NULL, NULL};
    cJSON *root = NULL;
    const char *p;
    const char *end;
    const char *nl;
    size_t len;

    if (!pe->piped || (!pe->kept.len && !pe->cut))
        return;
    if (log_get_level() < (failed ? LOG_LVL_ERROR : LOG_LVL_WARN))
        return;
    if (!failed) {
        known[0] = c->secret_access_key;
        known[1] = c->session_token;
    } else if (answer->p && answer->len) {
        const cJSON *v;

        root = cJSON_ParseWithLength((const char *)answer->p, answer->len);
        v = cJSON_GetObjectItemCaseSensitive(root, "SecretAccessKey");
        known[2] = cJSON_IsString(v) ? v->valuestring : NULL;
        v = cJSON_GetObjectItemCaseSensitive(root, "SessionToken");
        known[3] = cJSON_IsString(v) ? v->valuestring : NULL;
    }
    p = (const char *)pe->kept.p;
    end = p ? p + pe->kept.len : p;
    while (p && p < end) {
        nl = memchr(p, '\n', (size_t)(end - p));
        len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (len && p[len - 1] == '\r')
            len--;
        if (len)
            proc_err_line(failed ? LOG_LVL_ERROR : LOG_LVL_WARN, p, len, known,
                          sizeof(known) / sizeof(known[0]));
        p = nl ? nl + 1 : end;
    }
    if (pe->cut) {
        char note[160];
        int m = snprintf(note, sizeof(note),
                         PROC_ERR_PREFIX "[%llu more bytes of its stderr not shown: %u KiB are "
                                         "kept]\n",
                         pe->cut, PROC_ERR_KEEP / 1024u);

        if (log_get_format() == LOG_FMT_JSON && m > (int)sizeof(PROC_ERR_PREFIX))
            log_at(failed ? LOG_LVL_ERROR : LOG_LVL_WARN, NULL, "credential_process: %.*s",
                   m - (int)sizeof(PROC_ERR_PREFIX), note + sizeof(PROC_ERR_PREFIX) - 1);
        else if (m > 0 && (size_t)m < sizeof(note))
            (void)fwrite(note, 1, (size_t)m, stderr);
    }
    (void)fflush(stderr);
    cJSON_Delete(root); /* jx's hooks wipe what cJSON allocated */
}

/* Reads the helper's stdout (fd, non-blocking) and its stderr when piped, and watches the
 * helper. Done at EOF, or once the helper has exited and either failed or wrote one complete
 * JSON object: a process it left in the background may hold stdout open for ever (r->held).
 * Its stderr's EOF is not waited for, for the same reason. 0, or EFBIG / ETIMEDOUT / an
 * errno. */
static int proc_collect(int fd, long long deadline_ms, struct proc_run *r, struct sbuf *out,
                        struct proc_err *pe)
{
    unsigned char chunk[4096];
    struct pollfd pfd[2];
    long long left;
    ssize_t n;
    int e = 0;

    for (;;) {
        proc_check_exit(r, 0);
        /* Everything there is to read now. */
        proc_err_drain(pe);
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
        pfd[0].fd = fd;
        pfd[0].events = POLLIN;
        pfd[0].revents = 0;
        pfd[1].fd = pe->fd; /* -1 (ignored) when inherited or at EOF */
        pfd[1].events = POLLIN;
        pfd[1].revents = 0;
        if (poll(pfd, 2, (int)left) < 0 && errno != EINTR) {
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
    int efds[2] = {-1, -1};
    struct proc_err pe = {0, -1, SBUF_INIT(PROC_ERR_KEEP), 0};
    char **argv = NULL;
    struct inj_err e;
    sigset_t none;
    sigset_t all;
    long long deadline;
    long wait_ms;
    long secs;
    struct proc_run r;
    int drop[4];
    int tty = 0;
    int en;

    memset(&e, 0, sizeof(e));
    memset(&r, 0, sizeof(r));
    r.pid = -1;
    r.stfd = -1;
    r.ctlfd = -1;
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
    /* stdin is inherited: a helper may prompt. So is stderr on a terminal, where the prompt
     * must show at once and someone is watching. Elsewhere stderr ends up in collected logs:
     * it is read here and printed redacted (a helper may print its keys or a request). */
    if (!isatty(STDERR_FILENO)) {
        if (pipe2(efds, O_CLOEXEC) != 0 || fcntl(efds[0], F_SETFL, O_NONBLOCK) != 0) {
            st = creds_fail(t, "credential_process: pipe: %s", strerror(errno));
            goto out;
        }
        if (posix_spawn_file_actions_adddup2(&fa, efds[1], STDERR_FILENO) != 0) {
            st = creds_nomem(t);
            goto out;
        }
        pe.piped = 1;
        pe.fd = efds[0];
        efds[0] = -1;
    }
    /* The child starts with no blocked signals and default dispositions, whatever
     * injector has set up by then. */
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
    drop[0] = fds[0];
    drop[1] = fds[1];
    drop[2] = efds[1];
    drop[3] = pe.fd;
    en = proc_start(&r, argv, &fa, &attr, drop, sizeof(drop) / sizeof(drop[0]));
    (void)close(fds[1]);
    fds[1] = -1;
    if (efds[1] >= 0)
        (void)close(efds[1]);
    efds[1] = -1;
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
    en = proc_collect(fds[0], deadline, &r, &buf, &pe);
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
            proc_check_exit(&r, 0);
            if (!r.exited)
                proc_err_wait(&pe, 10);
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
         * and maybe the credentials). The reaper reaps the helper only once injector is done
         * (proc_end), so its pid and group id are still its own here: the kills cannot reach
         * a process that took the id over. Its status is waited for unless it came. */
        (void)kill(-r.pid, SIGKILL);
        if (!r.exited) {
            (void)kill(r.pid, SIGKILL);
            proc_check_exit(&r, 1);
        }
    }
    /* The reaper kills and reaps what is left of the helper's descendants, in whatever
     * group or session. */
    proc_end(&r);
    if (r.pid > 0) {
        /* All it wrote is in the pipe now; what it left running is gone. */
        proc_err_drain(&pe);
        proc_err_print(&pe, st != CREDS_OK, out, &buf);
    }
    if (pe.fd >= 0)
        (void)close(pe.fd);
    sbuf_wipe_free(&pe.kept);
    if (efds[0] >= 0)
        (void)close(efds[0]);
    if (efds[1] >= 0)
        (void)close(efds[1]);
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
