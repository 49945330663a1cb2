/* err.h: the one error type, return codes, and their exit codes.
 * A module fills a struct inj_err once, at the failure; only main.c prints it. */
#ifndef INJ_ERR_H
#define INJ_ERR_H

#include <stddef.h>

enum inj_rc {
    INJ_OK = 0,
    INJ_E_USAGE,       /* 64: bad command line */
    INJ_E_DATA,        /* 65: secret not JSON, value with NUL, bad response data */
    INJ_E_MISSING,     /* 65: secret, version or JSON key does not exist (optional skips) */
    INJ_E_NOINPUT,     /* 66: config file not found / unreadable */
    INJ_E_SOFTWARE,    /* 70: internal error */
    INJ_E_NOMEM,       /* 71: out of memory (EX_OSERR) */
    INJ_E_IO,          /* 74: could not write a file */
    INJ_E_UNAVAILABLE, /* 69: service unavailable, network, TLS */
    INJ_E_TEMPFAIL,    /* 75: throttled or timed out */
    INJ_E_NOPERM,      /* 77: access denied, bad or expired credentials */
    INJ_E_CONFIG,      /* 78: invalid config */
    INJ_E_NOEXEC,      /* 126: command not executable */
    INJ_E_NOTFOUND,    /* 127: command not found */
};

struct inj_err {
    enum inj_rc code;
    char msg[1024];
    /* What the failure is about, for JSON logs (log_err); NULL when not known. Borrowed:
     * each points into the config or at a static string, which outlive every error. */
    const char *entry;  /* the entry's name */
    const char *secret; /* the secret's ARN or name */
    const char *action; /* the IAM action to grant ("secretsmanager:GetSecretValue") */
};

/* Sets err (if not NULL) and returns code; entry, secret and action become NULL (the failing
 * module sets what it knows afterwards). fmt is ours, never input. */
enum inj_rc inj_err_set(struct inj_err *err, enum inj_rc code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#ifdef __clang_analyzer__
/* scan-build and clang-tidy see one file at a time: tell them inj_err_set returns `code`, or
 * every `return inj_err_set(err, INJ_E_..., ...)` looks like it might return INJ_OK. */
#define inj_err_set(err, code, ...) (inj_err_set((err), (code), __VA_ARGS__), (code))
#endif

/* Prefixes the message already in err with "prefix: " (keeps the code). */
void inj_err_prefix(struct inj_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The process exit code for a return code (sysexits.h values, 126/127). */
int inj_rc_exit(enum inj_rc rc);

/* Short name for a return code, for logs and tests ("access-denied"). */
const char *inj_rc_name(enum inj_rc rc);

#endif
