/* supervise.c: the parent process of --supervise. The signal loop is tini's (src/tini.c):
 * block everything but the synchronous signals, collect with sigtimedwait, forward, reap with
 * waitpid(-1, WNOHANG). Around it: the refresh timer and the on-change actions. No work is
 * done in a signal handler; there are none. */
#include "supervise.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mono.h"
#include "proc.h"

#define SUP_IDLE_WAIT_MS 60000LL  /* nothing scheduled: wake up anyway now and then */
#define SUP_DRAIN_POLL_MS 50LL    /* how often to look whether a stopped group is gone */
#define SUP_KILLED_WAIT_MS 2000LL /* after SIGKILL: time for the kernel and the reaping */

/* ---- pure helpers (unit-tested) ---- */

long long supervise_jitter(long long interval_ms, uint32_t rnd)
{
    long long spread;

    if (interval_ms <= 0)
        return 0;
    spread = interval_ms / 10;
    return interval_ms - spread + (long long)((uint64_t)rnd % (uint64_t)(2 * spread + 1));
}

long long supervise_backoff(long long interval_ms, unsigned int failures, uint32_t rnd)
{
    long long base = 1000;
    unsigned int i;

    for (i = 1; i < failures && base < interval_ms; i++)
        base *= 2;
    if (base > interval_ms)
        base = interval_ms;
    return supervise_jitter(base, rnd);
}

/* ---- the supervisor ---- */

struct sup {
    const struct supervise_opts *o;
    const struct supervise_hooks *h;
    sigset_t waitset;      /* blocked, collected by sigtimedwait */
    sigset_t child_mask;   /* the mask we started with: the child's */
    struct sigaction ttin; /* dispositions we replaced, for the child */
    struct sigaction ttou;
    struct sigaction chld; /* SIGCHLD as inherited (SIG_IGN would auto-reap our child) */
    int fg;                /* injector's group owned the tty: hand it to the child */
    pid_t child;           /* the command, 0: none running */
    pid_t app_pg;          /* the current generation's process group (kept after exit) */
    int exited;            /* the command was reaped; status holds its exit code */
    int status;
    pid_t stopped; /* the command being stopped for a restart */
    int stopping;
    long long kill_at; /* SIGKILL the stopped command (or its group) then; 0: none */
    pid_t draining;    /* with pgroup: the old group, still alive after its leader */
    int terminating;   /* TERM/INT came from outside: no refresh, no restarts */
    pid_t hook;        /* on_change_exec, 0: none running */
    pid_t hook_pg;     /* its process group, until shutdown has seen it gone */
    long long hook_kill_at;
    int hook_again; /* another change came while the hook ran */
    int pending_signal;
    int pending_restart;
    long long restart_at;
    long long refresh_at; /* 0: no refresh */
    unsigned int failures;
    int refresh_now; /* the refresh signal came: check before anything else */
};

static uint32_t sup_rand(void)
{
    uint32_t r = 0;

    if (RAND_bytes((unsigned char *)&r, (int)sizeof(r)) != 1)
        r = (uint32_t)mono_ms() ^ (uint32_t)getpid();
    return r;
}

static const char *sup_cmd(const struct sup *s)
{
    return s->o->argv ? s->o->argv[0] : "(no command)";
}

/* The exit code a shell would report: the status, or 128 + the signal. */
static int sup_exit_code(int st)
{
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return 1;
}

/* tini's configure_signals: everything blocked except the synchronous signals (they are
 * ours: a SIGSEGV here is a bug in injector), and SIGTTIN/SIGTTOU ignored, because the child
 * gets the tty and a write to it from us must not stop us. */
static enum inj_rc sup_block_signals(struct sup *s, struct inj_err *err)
{
    static const int ours[] = {SIGFPE,  SIGILL, SIGSEGV, SIGBUS, SIGABRT,
                               SIGTRAP, SIGSYS, SIGTTIN, SIGTTOU};
    struct sigaction ign;
    size_t i;

    if (sigfillset(&s->waitset) != 0)
        return inj_err_set(err, INJ_E_SOFTWARE, "sigfillset: %s", strerror(errno));
    for (i = 0; i < sizeof(ours) / sizeof(ours[0]); i++)
        if (sigdelset(&s->waitset, ours[i]) != 0)
            return inj_err_set(err, INJ_E_SOFTWARE, "sigdelset: %s", strerror(errno));
    if (sigprocmask(SIG_SETMASK, &s->waitset, &s->child_mask) != 0)
        return inj_err_set(err, INJ_E_SOFTWARE, "sigprocmask: %s", strerror(errno));
    memset(&ign, 0, sizeof(ign));
    ign.sa_handler = SIG_IGN;
    (void)sigemptyset(&ign.sa_mask);
    if (sigaction(SIGTTIN, &ign, &s->ttin) != 0 || sigaction(SIGTTOU, &ign, &s->ttou) != 0)
        return inj_err_set(err, INJ_E_SOFTWARE, "sigaction: %s", strerror(errno));
    /* Started with SIGCHLD ignored, the kernel would reap the child itself and we would never
     * learn that it exited: take the default, give the child what we inherited. */
    ign.sa_handler = SIG_DFL;
    if (sigaction(SIGCHLD, &ign, &s->chld) != 0)
        return inj_err_set(err, INJ_E_SOFTWARE, "sigaction: %s", strerror(errno));
    return INJ_OK;
}

static void sup_write_all(int fd, const void *buf, size_t len)
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

/* The child between fork and exec: own process group (and the tty, as tini), the signal
 * state and core limit we started with, the target user, then proc_exec. A failure is
 * written to fd (close-on-exec: a successful exec closes it empty). injector has one thread
 * when it forks (libcurl joins its resolver thread when a lookup ends; nothing else starts
 * threads), so the child may format that failure with snprintf/strerror, which are not
 * async-signal-safe and would not be allowed after fork in a multi-threaded process. */
__attribute__((noreturn)) static void sup_child(const struct sup *s, char *const argv[],
                                                char *const envp[], int hook, int fd)
{
    struct inj_err e;
    enum inj_rc rc;

    memset(&e, 0, sizeof(e));
    if (setpgid(0, 0) != 0) {
        rc = inj_err_set(&e, INJ_E_SOFTWARE, "setpgid: %s", strerror(errno));
        goto fail;
    }
    /* Unlike tini, only when injector had the foreground: a background job must not take
     * the terminal (tini's TODO). SIGTTOU is still ignored, so this cannot stop the child. */
    if (!hook && s->fg)
        (void)tcsetpgrp(STDIN_FILENO, getpgrp());
    if (sigaction(SIGTTIN, &s->ttin, NULL) != 0 || sigaction(SIGTTOU, &s->ttou, NULL) != 0 ||
        sigaction(SIGCHLD, &s->chld, NULL) != 0 ||
        sigprocmask(SIG_SETMASK, &s->child_mask, NULL) != 0) {
        rc = inj_err_set(&e, INJ_E_SOFTWARE, "restoring the signal state: %s", strerror(errno));
        goto fail;
    }
    if (s->o->core)
        (void)setrlimit(RLIMIT_CORE, s->o->core);
    rc = ident_drop(&s->o->user, &e);
    if (rc == INJ_OK)
        rc = proc_exec(argv, envp, &e);
fail:
    sup_write_all(fd, &e, sizeof(e));
    _exit(inj_rc_exit(rc));
}

/* Forks and execs argv. *pid is set whenever a process was created (it must be reaped);
 * the return code says whether exec succeeded (err from the child otherwise). */
static enum inj_rc sup_spawn(const struct sup *s, char *const argv[], int hook, pid_t *pid,
                             struct inj_err *err)
{
    char **envp = s->h && s->h->envp ? s->h->envp(s->h->ctx) : NULL;
    struct inj_err cerr;
    unsigned char *p = (unsigned char *)&cerr;
    size_t got = 0;
    int fds[2];

    *pid = 0;
    if (pipe2(fds, O_CLOEXEC) != 0)
        return inj_err_set(err, INJ_E_SOFTWARE, "pipe: %s", strerror(errno));
    *pid = fork();
    if (*pid < 0) {
        *pid = 0;
        (void)close(fds[0]);
        (void)close(fds[1]);
        return inj_err_set(err, INJ_E_SOFTWARE, "fork: %s", strerror(errno));
    }
    if (*pid == 0) {
        (void)close(fds[0]);
        sup_child(s, argv, envp, hook, fds[1]);
    }
    (void)close(fds[1]);
    /* Blocks until exec (the pipe closes) or failure; signals wait, blocked, meanwhile. */
    while (got < sizeof(cerr)) {
        ssize_t n = read(fds[0], p + got, sizeof(cerr) - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    (void)close(fds[0]);
    if (got == 0)
        return INJ_OK;
    if (got != sizeof(cerr))
        return inj_err_set(err, INJ_E_NOEXEC, "%s: could not be started", argv[0]);
    cerr.msg[sizeof(cerr.msg) - 1] = '\0';
    return inj_err_set(err, cerr.code, "%s", cerr.msg);
}

static pid_t sup_target(const struct sup *s, pid_t pid)
{
    return s->o->pgroup ? -pid : pid;
}

static void sup_on_signal(struct sup *s, const siginfo_t *info)
{
    int sig = info->si_signo;

    if (sig == SIGCHLD)
        return; /* tini: not forwarded; the reap below collects */
    /* Raised by injector itself, e.g. SIGPIPE from a connection the peer closed: it is
     * blocked here, so it would wait for us and be passed on to kill the app. */
    if (info->si_pid == getpid() && (info->si_code == SI_USER || info->si_code == SI_TKILL)) {
        log_debug("not forwarding signal %d raised inside injector", sig);
        return;
    }
    /* Kept, not forwarded. Standard signals do not queue: however many arrive while a refresh
     * runs (they wait, blocked), one is pending afterwards, so a burst makes one more check. */
    if (s->o->refresh_signal && sig == s->o->refresh_signal && s->h && s->h->refresh) {
        log_info("signal %d (%s): checking the secrets now", sig, strsignal(sig));
        s->refresh_now = 1;
        return;
    }
    /* Not SIGQUIT: a JVM answers it with a thread dump and carries on, and its secrets
     * must keep being refreshed (a Go program dies of it, and then injector exits too). */
    if (sig == SIGTERM || sig == SIGINT) {
        s->terminating = 1;
        s->pending_restart = 0;
    }
    if (s->child) {
        log_debug("forwarding signal %d (%s) to %s %ld", sig, strsignal(sig),
                  s->o->pgroup ? "process group" : "pid", (long)s->child);
        if (kill(sup_target(s, s->child), sig) != 0 && errno != ESRCH)
            log_warn("forwarding signal %d to pid %ld: %s", sig, (long)s->child, strerror(errno));
    } else if (s->draining) {
        (void)kill(-s->draining, sig);
    } else if (!s->o->argv && sig != SIGTERM && sig != SIGINT) {
        log_debug("signal %d (%s) ignored: sidecar mode runs no command", sig, strsignal(sig));
    }
}

/* 1 while any process of group pgid is alive (zombies count until reaped). */
static int sup_group_alive(pid_t pgid)
{
    return kill(-pgid, 0) == 0 || errno == EPERM;
}

/* tini's reap_zombies: everything that has exited, until 0 or ECHILD. */
static void sup_reap(struct sup *s)
{
    for (;;) {
        int st = 0;
        pid_t p = waitpid(-1, &st, WNOHANG);

        if (p == 0)
            return;
        if (p < 0) {
            if (errno == EINTR)
                continue;
            if (errno != ECHILD)
                log_warn("waitpid: %s", strerror(errno));
            return;
        }
        if (p == s->child) {
            s->status = sup_exit_code(st);
            s->child = 0;
            s->exited = 1;
            if (WIFSIGNALED(st))
                log_info("%s (pid %ld) was killed by signal %d (%s); exit code %d", sup_cmd(s),
                         (long)p, WTERMSIG(st), strsignal(WTERMSIG(st)), s->status);
            else
                log_info("%s (pid %ld) exited with %d", sup_cmd(s), (long)p, s->status);
        } else if (p == s->hook) {
            s->hook = 0;
            s->hook_kill_at = 0;
            /* Whatever the hook left behind has the new secrets in its environment. */
            if (sup_group_alive(s->hook_pg)) {
                log_warn("on_change_exec %s left processes running in its process group %ld; "
                         "killing them",
                         s->o->on_change_exec[0], (long)s->hook_pg);
                (void)kill(-s->hook_pg, SIGKILL);
            } else {
                s->hook_pg = 0; /* gone: its number must not be signalled again */
            }
            if (sup_exit_code(st) != 0)
                log_warn("on_change_exec %s exited with %d", s->o->on_change_exec[0],
                         sup_exit_code(st));
            else
                log_info("on_change_exec %s done", s->o->on_change_exec[0]);
        } else {
            log_debug("reaped orphan pid %ld", (long)p);
        }
    }
}

static void sup_start_hook(struct sup *s)
{
    struct inj_err e;
    pid_t pid = 0;
    enum inj_rc rc;

    memset(&e, 0, sizeof(e));
    rc = sup_spawn(s, s->o->on_change_exec, 1, &pid, &e);
    if (pid > 0) {
        s->hook = pid;
        s->hook_pg = pid;
        s->hook_kill_at = mono_ms() + s->o->restart_timeout_ms;
    }
    if (rc != INJ_OK) {
        inj_err_prefix(&e, "on_change_exec");
        log_err(LOG_LVL_ERROR, &e);
    }
}

/* The replacement after a restart's stop. A failure to exec is the child's exit code
 * (126/127), which the loop then passes on, as in plain mode. */
static void sup_restart_spawn(struct sup *s)
{
    struct inj_err e;
    pid_t pid = 0;
    enum inj_rc rc;

    memset(&e, 0, sizeof(e));
    s->stopping = 0;
    s->stopped = 0;
    s->draining = 0;
    s->kill_at = 0;
    /* The environment is read now, so changes seen while stopping are in already. */
    s->pending_restart = 0;
    s->pending_signal = 0;
    rc = sup_spawn(s, s->o->argv, 0, &pid, &e);
    s->child = pid;
    if (pid > 0)
        s->app_pg = pid;
    if (rc != INJ_OK) {
        inj_err_prefix(&e, "restart");
        log_err(LOG_LVL_ERROR, &e);
        if (!pid) {
            s->status = inj_rc_exit(rc);
            s->exited = 1;
        }
        return;
    }
    log_info("restarted %s (pid %ld) with the new values", sup_cmd(s), (long)pid);
}

/* One refresh: the timer's (manual 0) or the refresh signal's (manual 1). The signal's leaves
 * the timer's schedule and its failure count alone: the timer goes on as it would have. */
static void sup_refresh(struct sup *s, int manual)
{
    enum supervise_refresh_rc rc = s->h->refresh(s->h->ctx);
    long long now = mono_ms();

    if (manual && rc == SUPERVISE_FAILED) {
        log_warn("refresh on signal failed; keeping the current values%s",
                 s->refresh_at ? " (the timer's checks go on)" : "");
        return;
    }
    if (manual)
        goto done;
    if (rc == SUPERVISE_FAILED) {
        long long delay;

        s->failures++;
        delay = supervise_backoff(s->o->refresh_ms, s->failures, sup_rand());
        log_warn("refresh failed (%u in a row); keeping the current values, next try in "
                 "%lld ms",
                 s->failures, delay);
        s->refresh_at = now + delay;
        return;
    }
    if (s->failures)
        log_info("refresh works again after %u failure(s)", s->failures);
    s->failures = 0;
    /* No interval (refresh_signal alone): no timer. */
    s->refresh_at = s->o->refresh_ms > 0 ? now + supervise_jitter(s->o->refresh_ms, sup_rand()) : 0;
done:
    if (rc != SUPERVISE_CHANGED)
        return;
    if (s->o->on_change_exec) {
        if (s->hook)
            s->hook_again = 1;
        else
            sup_start_hook(s);
    }
    switch (s->o->on_change) {
    case SUPERVISE_ON_CHANGE_SIGNAL:
        s->pending_signal = 1;
        break;
    case SUPERVISE_ON_CHANGE_RESTART:
        if (s->pending_restart)
            break;
        s->pending_restart = 1;
        s->restart_at = now + s->o->restart_delay_ms;
        /* One more look when the window closes, so a second secret rotated right after the
         * first is in the same restart. */
        if (s->o->restart_delay_ms > 0 && (!s->refresh_at || s->restart_at < s->refresh_at))
            s->refresh_at = s->restart_at;
        break;
    case SUPERVISE_ON_CHANGE_NONE:
    default:
        break;
    }
}

/* Deadlines: SIGKILLs, the refresh, the on-change action. */
static void sup_timers(struct sup *s)
{
    long long now = mono_ms();

    if (s->kill_at && now >= s->kill_at) {
        pid_t target = s->draining ? -s->draining : sup_target(s, s->stopped);
        log_warn("%s (pid %ld) did not stop within restart_timeout (%lld ms); sending SIGKILL",
                 sup_cmd(s), (long)s->stopped, s->o->restart_timeout_ms);
        (void)kill(target, SIGKILL);
        s->kill_at = 0;
    }
    if (s->hook && s->hook_kill_at && now >= s->hook_kill_at) {
        log_warn("on_change_exec %s still running after %lld ms; sending SIGKILL",
                 s->o->on_change_exec[0], s->o->restart_timeout_ms);
        (void)kill(-s->hook, SIGKILL);
        s->hook_kill_at = 0;
    }
    if (s->terminating)
        return;
    if (s->refresh_now) {
        s->refresh_now = 0;
        sup_refresh(s, 1);
        now = mono_ms();
    }
    if (s->refresh_at && now >= s->refresh_at) {
        sup_refresh(s, 0);
        now = mono_ms();
    }
    if (!s->hook && s->hook_again) {
        s->hook_again = 0;
        sup_start_hook(s);
    }
    /* The action waits for the hook: it may prepare what the app reloads. */
    if (s->hook || !s->child || s->stopping)
        return;
    if (s->pending_signal) {
        s->pending_signal = 0;
        log_info("sending signal %d (%s) to %s (pid %ld): a secret changed", s->o->on_change_signal,
                 strsignal(s->o->on_change_signal), sup_cmd(s), (long)s->child);
        if (kill(sup_target(s, s->child), s->o->on_change_signal) != 0 && errno != ESRCH)
            log_warn("signal to pid %ld: %s", (long)s->child, strerror(errno));
    }
    if (s->pending_restart && now >= s->restart_at) {
        s->pending_restart = 0;
        s->stopping = 1;
        s->stopped = s->child;
        s->kill_at = now + s->o->restart_timeout_ms;
        log_info("restarting %s (pid %ld): a secret changed; sending SIGTERM", sup_cmd(s),
                 (long)s->child);
        if (kill(sup_target(s, s->child), SIGTERM) != 0 && errno != ESRCH)
            log_warn("SIGTERM to pid %ld: %s", (long)s->child, strerror(errno));
    }
}

static long long sup_next_wake(const struct sup *s, long long now)
{
    long long t = now + SUP_IDLE_WAIT_MS;

    if (s->kill_at && s->kill_at < t)
        t = s->kill_at;
    if (s->hook && s->hook_kill_at && s->hook_kill_at < t)
        t = s->hook_kill_at;
    if (!s->terminating && s->refresh_at && s->refresh_at < t)
        t = s->refresh_at;
    if (!s->terminating && s->pending_restart && !s->hook && s->restart_at < t)
        t = s->restart_at;
    if (s->draining && now + SUP_DRAIN_POLL_MS < t)
        t = now + SUP_DRAIN_POLL_MS;
    return t < now ? now : t;
}

/* Runs until the command has exited for good; returns its exit code. */
static int sup_loop(struct sup *s)
{
    for (;;) {
        long long now = mono_ms();
        long long wait = sup_next_wake(s, now) - now;
        struct timespec ts;
        siginfo_t info;

        ts.tv_sec = (time_t)(wait / 1000);
        ts.tv_nsec = (long)(wait % 1000) * 1000000L;
        memset(&info, 0, sizeof(info));
        if (sigtimedwait(&s->waitset, &info, &ts) > 0)
            sup_on_signal(s, &info);
        else if (errno != EAGAIN && errno != EINTR)
            log_warn("sigtimedwait: %s", strerror(errno));
        sup_reap(s);
        if (!s->o->argv && s->terminating)
            return 0; /* sidecar mode: SIGTERM/SIGINT is the end */
        if (s->exited) {
            s->exited = 0;
            if (!s->stopping || s->terminating)
                return s->status;
            /* A restart: the old group must be gone too. Without --pgroup it has had no
             * SIGTERM yet; the SIGKILL at kill_at goes to the whole group either way. */
            if (sup_group_alive(s->stopped)) {
                if (!s->o->pgroup)
                    (void)kill(-s->stopped, SIGTERM);
                s->draining = s->stopped;
            } else {
                sup_restart_spawn(s);
            }
        }
        if (s->draining) {
            if (s->terminating)
                return s->status;
            if (!sup_group_alive(s->draining))
                sup_restart_spawn(s);
        }
        if (s->exited && !s->child)
            return s->status; /* the replacement could not even be forked */
        sup_timers(s);
    }
}

/* Waits up to deadline_ms (reaping, signals collected and dropped: injector is leaving)
 * while any of the n groups is alive. Returns 1 when all are gone. */
static int sup_wait_groups(struct sup *s, const pid_t *g, size_t n, long long deadline_ms)
{
    for (;;) {
        long long left = deadline_ms - mono_ms();
        struct timespec ts;
        siginfo_t info;
        size_t i;
        int alive = 0;

        sup_reap(s);
        for (i = 0; i < n; i++)
            alive |= g[i] > 0 && sup_group_alive(g[i]);
        if (!alive)
            return 1;
        if (left <= 0)
            return 0;
        if (left > SUP_DRAIN_POLL_MS)
            left = SUP_DRAIN_POLL_MS;
        ts.tv_sec = 0;
        ts.tv_nsec = (long)left * 1000000L;
        if (sigtimedwait(&s->waitset, &info, &ts) < 0 && errno != EAGAIN && errno != EINTR)
            mono_sleep_ms(left);
    }
}

/* Before supervise_run returns: every process group injector started (the app's, an old
 * generation still draining, the hook's) gets SIGTERM, restart_timeout to go, then SIGKILL,
 * and is reaped. Under another init (tini, ECS initProcessEnabled, systemd) they would
 * otherwise outlive injector, holding the secrets in their environment. */
static void sup_shutdown(struct sup *s)
{
    pid_t g[3] = {0, 0, 0};
    size_t n = 0;
    size_t i;

    if (s->app_pg > 0)
        g[n++] = s->app_pg;
    if (s->draining > 0 && s->draining != s->app_pg)
        g[n++] = s->draining;
    if (s->hook_pg > 0)
        g[n++] = s->hook_pg;
    for (i = 0; i < n; i++) {
        if (!sup_group_alive(g[i]))
            continue;
        log_info("stopping process group %ld (%s), left running at exit: SIGTERM", (long)g[i],
                 g[i] == s->hook_pg ? "on_change_exec" : sup_cmd(s));
        (void)kill(-g[i], SIGTERM);
        (void)kill(-g[i], SIGCONT);
    }
    if (sup_wait_groups(s, g, n, mono_ms() + s->o->restart_timeout_ms))
        return;
    for (i = 0; i < n; i++) {
        if (!sup_group_alive(g[i]))
            continue;
        log_warn("process group %ld did not stop within restart_timeout (%lld ms); sending "
                 "SIGKILL",
                 (long)g[i], s->o->restart_timeout_ms);
        (void)kill(-g[i], SIGKILL);
    }
    /* SIGKILL cannot be ignored: what is left are zombies to reap (ours as a subreaper,
     * init's otherwise), so this wait is short. */
    if (!sup_wait_groups(s, g, n, mono_ms() + SUP_KILLED_WAIT_MS))
        log_warn("processes started by injector were still there after SIGKILL");
}

/* Sidecar mode: no command; readiness, then refreshes and hooks until SIGTERM/SIGINT. */
static enum inj_rc sup_sidecar(struct sup *s, int *exit_code, struct inj_err *err)
{
    const struct supervise_hooks *h = s->h;
    enum inj_rc rc;

    if (h && h->ready) {
        rc = h->ready(h->rctx, err);
        if (rc != INJ_OK)
            return rc;
    }
    if (h && h->started)
        h->started(h->ctx);
    log_info("sidecar mode%s: %s", getpid() == 1 ? " as PID 1" : "",
             s->o->refresh_ms > 0       ? "keeping the files fresh"
             : s->o->refresh_signal > 0 ? "files written, refreshed on the refresh signal only"
                                        : "files written, no refresh interval");
    if (s->o->refresh_ms > 0 && h && h->refresh)
        s->refresh_at = mono_ms() + supervise_jitter(s->o->refresh_ms, sup_rand());
    *exit_code = sup_loop(s);
    sup_shutdown(s);
    return INJ_OK;
}

enum inj_rc supervise_run(const struct supervise_opts *o, const struct supervise_hooks *h,
                          int *exit_code, struct inj_err *err)
{
    struct sup s;
    enum inj_rc rc;
    pid_t pid = 0;

    memset(&s, 0, sizeof(s));
    s.o = o;
    s.h = h;
    *exit_code = 0;
    /* Orphans of the app are reparented to us, so we can reap them (PID 1 gets them anyway). */
    if (getpid() != 1 && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0)
        log_warn("cannot become a child subreaper (%s): orphaned processes will not be reaped",
                 strerror(errno));
    rc = sup_block_signals(&s, err);
    if (rc != INJ_OK)
        return rc;
    s.fg = isatty(STDIN_FILENO) && tcgetpgrp(STDIN_FILENO) == getpgrp();
    if (!o->argv)
        return sup_sidecar(&s, exit_code, err);
    rc = sup_spawn(&s, o->argv, 0, &pid, err);
    if (rc != INJ_OK) {
        while (pid > 0 && waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        return rc;
    }
    s.child = pid;
    s.app_pg = pid;
    if (h && h->started)
        h->started(h->ctx);
    log_info("supervising %s (pid %ld)%s%s", sup_cmd(&s), (long)pid,
             getpid() == 1 ? " as PID 1" : "", o->pgroup ? ", signals to its process group" : "");
    if (o->refresh_ms > 0 && h && h->refresh)
        s.refresh_at = mono_ms() + supervise_jitter(o->refresh_ms, sup_rand());
    *exit_code = sup_loop(&s);
    sup_shutdown(&s);
    return INJ_OK;
}
