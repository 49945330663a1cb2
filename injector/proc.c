/* proc.c: exec in place, so the app keeps injector's PID and injector leaves no trace.
 * Our own PATH search, because execvp would run a file without "#!" through /bin/sh. */
#include "proc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROC_DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"

/* A --coverage build (make valgrind-coverage) writes its counters before execve replaces the
 * process, which would otherwise drop them; no other build has this call. */
#ifdef INJ_COVERAGE
void __gcov_dump(void);
#define PROC_COVERAGE_DUMP() __gcov_dump()
#else
#define PROC_COVERAGE_DUMP() ((void)0)
#endif

static enum inj_rc proc_fail(const char *cmd, int e, struct inj_err *err)
{
    switch (e) {
    case ENOENT:
    case ENOTDIR:
        return inj_err_set(err, INJ_E_NOTFOUND, "command not found: %s", cmd);
    case ENOEXEC:
        return inj_err_set(err, INJ_E_NOEXEC,
                           "%s: not an executable format (a script needs a \"#!\" line)", cmd);
    case EACCES:
        return inj_err_set(err, INJ_E_NOEXEC, "%s: permission denied (not executable?)", cmd);
    default:
        return inj_err_set(err, INJ_E_NOEXEC, "%s: cannot execute: %s", cmd, strerror(e));
    }
}

enum inj_rc proc_exec(char *const argv[], char *const envp[], struct inj_err *err)
{
    const char *cmd = argv[0];
    const char *path;
    const char *p;
    char full[4096];
    int saw_eacces = 0;
    int last = ENOENT;

    if (!cmd || !*cmd)
        return inj_err_set(err, INJ_E_USAGE, "empty command");
    PROC_COVERAGE_DUMP();
    if (strchr(cmd, '/')) {
        (void)execve(cmd, argv, envp);
        return proc_fail(cmd, errno, err);
    }
    path = getenv("PATH");
    if (!path || !*path)
        path = PROC_DEFAULT_PATH;
    for (p = path;; p++) {
        const char *end = strchr(p, ':');
        size_t dlen = end ? (size_t)(end - p) : strlen(p);
        int n = snprintf(full, sizeof(full), "%.*s%s%s", (int)dlen, p, dlen ? "/" : "", cmd);

        if (n >= 0 && (size_t)n < sizeof(full)) {
            (void)execve(full, argv, envp);
            switch (errno) {
            case ENOENT:
            case ENOTDIR:
            case ESTALE:
            case ELOOP:
            case ENAMETOOLONG:
                break;
            case EACCES:
                saw_eacces = 1;
                break;
            default:
                /* Found but unrunnable (ENOEXEC, ETXTBSY, ...): stop, as execvp does. */
                return proc_fail(full, errno, err);
            }
        }
        if (!end)
            break;
        p = end;
    }
    if (saw_eacces)
        last = EACCES;
    return proc_fail(cmd, last, err);
}
