/* supervise.h: injector as the command's parent (--supervise), copied from tini: all signals
 * blocked and collected with sigtimedwait, forwarded to the child (or its process group),
 * every zombie reaped, the child's status (or 128 + signal) passed on. Around that loop: the
 * refresh timer, and what a changed secret triggers (signal, restart, hook). What a refresh
 * does is the caller's, through struct supervise_hooks. */
#ifndef INJ_SUPERVISE_H
#define INJ_SUPERVISE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "err.h"
#include "ident.h"
#include "parse.h"

enum supervise_refresh_rc {
    SUPERVISE_SAME = 0, /* nothing the command sees changed */
    SUPERVISE_CHANGED,  /* files rewritten; envp() returns the new environment */
    SUPERVISE_FAILED,   /* the old values stay; retried with backoff */
};

struct supervise_hooks {
    void *ctx;
    /* One refresh cycle. Runs in the loop with every signal blocked: signals that arrive
     * meanwhile are forwarded once it returns, so it must be bounded in time. */
    enum supervise_refresh_rc (*refresh)(void *ctx);
    /* The environment for the next start of the command or of the on_change_exec hook. */
    char **(*envp)(void *ctx);
    /* NULL, or called once the command has been exec'd (what is kept to undo a start that
     * fails can go). */
    void (*started)(void *ctx);
    /* Sidecar mode (no argv): NULL, or called once with every signal blocked, before the loop
     * (a SIGTERM from then on is collected, not fatal): readiness. A failure ends
     * supervise_run with that error. */
    enum inj_rc (*ready)(void *rctx, struct inj_err *err);
    void *rctx;
};

struct supervise_opts {
    char **argv;          /* the command (borrowed, NULL-terminated); NULL: sidecar mode, no
                             command: refreshes and hooks only, until SIGTERM or SIGINT */
    int pgroup;           /* forward signals to the child's process group */
    long long refresh_ms; /* 0: never refresh */
    enum supervise_on_change on_change;
    int on_change_signal;         /* for SUPERVISE_ON_CHANGE_SIGNAL */
    char **on_change_exec;        /* NULL, or a hook run after each change (before the action) */
    long long restart_timeout_ms; /* SIGTERM -> SIGKILL on a restart; also bounds the hook */
    long long restart_delay_ms;   /* a restart waits this long after the first change, then
                                     re-checks once: changes close together restart once */
    struct ident_user user;       /* the command and the hook run as this user */
    const struct rlimit *core;    /* RLIMIT_CORE to give back to the child; NULL: leave */
    int refresh_signal; /* 0, or a signal kept (not forwarded) and answered with a refresh now;
                           signals arriving during a refresh make one more */
};

/* Starts argv as a child and supervises it until it exits. Returns INJ_OK with *exit_code
 * (the child's exit status, or 128 + the signal that killed it) once it has run; an error
 * (err set: 127 command not found, 126 not executable, ...) only when it never ran, so the
 * caller may undo what it prepared. Without argv (sidecar mode) it runs until SIGTERM or
 * SIGINT and *exit_code is 0; an error only when h->ready failed. Returns with every signal still blocked, so a late
 * SIGTERM cannot kill injector between the child's exit and its own. */
enum inj_rc supervise_run(const struct supervise_opts *o, const struct supervise_hooks *h,
                          int *exit_code, struct inj_err *err);

/* The delay before the next refresh: interval_ms +- 10%, picked by rnd (uniform). */
long long supervise_jitter(long long interval_ms, uint32_t rnd);

/* The delay after the n-th failed refresh in a row (n >= 1): 1 s doubling per failure,
 * never more than interval_ms, +- 10%. */
long long supervise_backoff(long long interval_ms, unsigned int failures, uint32_t rnd);

#endif
