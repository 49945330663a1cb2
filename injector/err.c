/* err.c: filling struct inj_err and mapping return codes to exit codes. */
#include "err.h"

#undef inj_err_set /* the analyzer's model in err.h; this is the function itself */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum inj_rc inj_err_set(struct inj_err *err, enum inj_rc code, const char *fmt, ...)
{
    va_list ap;

    if (!err)
        return code;
    err->code = code;
    err->entry = NULL;
    err->secret = NULL;
    err->action = NULL;
    va_start(ap, fmt);
    (void)vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return code;
}

void inj_err_prefix(struct inj_err *err, const char *fmt, ...)
{
    char prefix[512];
    char old[sizeof(err->msg)];
    va_list ap;

    if (!err)
        return;
    va_start(ap, fmt);
    (void)vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof(old));
    old[sizeof(old) - 1] = '\0';
    /* Truncation is acceptable: the message stays NUL-terminated and the prefix comes first. */
    if (snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old) < 0)
        err->msg[0] = '\0';
}

/* sysexits.h numbers, spelled out: musl and glibc agree, but we document them ourselves. */
int inj_rc_exit(enum inj_rc rc)
{
    switch (rc) {
    case INJ_OK:
        return 0;
    case INJ_E_USAGE:
        return 64;
    case INJ_E_DATA:
    case INJ_E_MISSING:
        return 65;
    case INJ_E_NOINPUT:
        return 66;
    case INJ_E_UNAVAILABLE:
        return 69;
    case INJ_E_SOFTWARE:
        return 70;
    case INJ_E_NOMEM:
        return 71;
    case INJ_E_IO:
        return 74;
    case INJ_E_TEMPFAIL:
        return 75;
    case INJ_E_NOPERM:
        return 77;
    case INJ_E_CONFIG:
        return 78;
    case INJ_E_NOEXEC:
        return 126;
    case INJ_E_NOTFOUND:
        return 127;
    default:
        return 70;
    }
}

const char *inj_rc_name(enum inj_rc rc)
{
    switch (rc) {
    case INJ_OK:
        return "ok";
    case INJ_E_USAGE:
        return "usage";
    case INJ_E_DATA:
        return "bad-data";
    case INJ_E_MISSING:
        return "missing";
    case INJ_E_NOINPUT:
        return "no-input";
    case INJ_E_UNAVAILABLE:
        return "unavailable";
    case INJ_E_SOFTWARE:
        return "internal";
    case INJ_E_NOMEM:
        return "no-memory";
    case INJ_E_IO:
        return "io";
    case INJ_E_TEMPFAIL:
        return "temporary";
    case INJ_E_NOPERM:
        return "access-denied";
    case INJ_E_CONFIG:
        return "config";
    case INJ_E_NOEXEC:
        return "not-executable";
    case INJ_E_NOTFOUND:
        return "not-found";
    default:
        return "unknown";
    }
}
