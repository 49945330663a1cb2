/* sidecar.c: --sidecar mode's config rules and readiness (the ready file and its probe). */
#include "sidecar.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "supervise.h"

enum inj_rc sidecar_config_check(const struct config *c, struct inj_err *err)
{
    size_t nfiles = 0;
    size_t i;

    for (i = 0; i < c->n; i++) {
        const struct entry *e = &c->entries[i];

        if (e->kind == ENTRY_ENV)
            return inj_err_set(err, INJ_E_CONFIG,
                               "%s:%lu:%lu: env %s: sidecar mode runs no command, so there is no "
                               "process to give an environment variable to; write it to a file "
                               "(files:) that the app reads",
                               c->path, e->line, e->col, e->name);
        nfiles++;
    }
    if (!nfiles)
        return inj_err_set(err, INJ_E_CONFIG,
                           "%s: sidecar mode writes files, and the config has no files entry",
                           c->path);
    if (c->supervise.on_change_given && c->supervise.on_change != SUPERVISE_ON_CHANGE_NONE)
        return inj_err_set(
            err, INJ_E_CONFIG,
            "%s: supervise.on_change: %s needs a command, and sidecar mode runs "
            "none (a process in another container cannot be signalled); use "
            "on_change: none, with on_change_exec for a hook",
            c->path, c->supervise.on_change == SUPERVISE_ON_CHANGE_RESTART ? "restart" : "signal");
    return INJ_OK;
}

enum inj_rc sidecar_ready_path(const struct config *c, char *buf, size_t size, struct inj_err *err)
{
    const char *first = NULL;
    const char *slash;
    size_t i;
    int n;

    if (c->sidecar.ready_file) {
        n = snprintf(buf, size, "%s", c->sidecar.ready_file);
        if (n < 0 || (size_t)n >= size)
            return inj_err_set(err, INJ_E_CONFIG, "sidecar.ready_file: path too long");
        return INJ_OK;
    }
    for (i = 0; i < c->n && !first; i++)
        if (c->entries[i].kind == ENTRY_FILE)
            first = c->entries[i].name;
    if (!first)
        return inj_err_set(err, INJ_E_CONFIG,
                           "%s: no files entry to put the ready file next to; set "
                           "sidecar.ready_file",
                           c->path);
    slash = strrchr(first, '/'); /* an absolute path: there is one */
    if (!slash || slash - first > 4000)
        return inj_err_set(err, INJ_E_CONFIG, "%s: path too long", first);
    n = snprintf(buf, size, "%.*s/%s", (int)(slash - first), first, SIDECAR_READY_NAME);
    if (n < 0 || (size_t)n >= size)
        return inj_err_set(err, INJ_E_CONFIG, "%s: path too long", first);
    return INJ_OK;
}

static int sidecar_write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

enum inj_rc sidecar_ready_write(const char *path, struct inj_err *err)
{
    static const char body[] = "ready\n";
    enum inj_rc rc = INJ_E_IO;
    const char *slash = strrchr(path, '/');
    const char *name;
    char dir[4096];
    char tmp[300];
    int dfd = -1;
    int fd = -1;
    int made = 0;
    int n;

    if (!slash || (size_t)(slash - path) >= sizeof(dir))
        return inj_err_set(err, INJ_E_CONFIG, "ready file %s: not an absolute path", path);
    name = slash + 1;
    n = snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
    if (n < 0 || (size_t)n >= sizeof(dir))
        return inj_err_set(err, INJ_E_CONFIG, "ready file %s: path too long", path);
    n = snprintf(tmp, sizeof(tmp), ".%.200s.tmp-%ld", name, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return inj_err_set(err, INJ_E_CONFIG, "ready file %s: name too long", path);
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        (void)inj_err_set(err, rc, "ready file %s: directory %s: %s", path, dir, strerror(errno));
        goto out;
    }
    (void)unlinkat(dfd, tmp, 0); /* a leftover of an earlier run with our pid (PID 1) */
    fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444);
    if (fd < 0) {
        (void)inj_err_set(err, rc, "ready file %s: %s", path, strerror(errno));
        goto out;
    }
    made = 1;
    /* Readable by whoever runs the probe, whatever the umask. */
    if (fchmod(fd, 0444) != 0 || sidecar_write_all(fd, body, sizeof(body) - 1) != 0 ||
        fsync(fd) != 0) {
        (void)inj_err_set(err, rc, "ready file %s: %s", path, strerror(errno));
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        (void)inj_err_set(err, rc, "ready file %s: %s", path, strerror(errno));
        goto out;
    }
    fd = -1;
    if (renameat(dfd, tmp, dfd, name) != 0) {
        (void)inj_err_set(err, rc, "ready file %s: %s", path, strerror(errno));
        goto out;
    }
    made = 0;
    (void)fsync(dfd);
    rc = INJ_OK;
out:
    if (fd >= 0)
        (void)close(fd);
    if (made)
        (void)unlinkat(dfd, tmp, 0);
    if (dfd >= 0)
        (void)close(dfd);
    return rc;
}

int sidecar_ready_remove(const char *path)
{
    if (unlink(path) != 0 && errno != ENOENT)
        return -1;
    return 0;
}

enum inj_rc sidecar_ready_check(const struct config *c, const char *ready, size_t *nfiles,
                                struct inj_err *err)
{
    struct stat st;
    size_t found = 0;
    size_t i;

    if (nfiles)
        *nfiles = 0;
    if (lstat(ready, &st) != 0)
        return inj_err_set(err, INJ_E_UNAVAILABLE, "not ready: ready file %s: %s%s", ready,
                           strerror(errno),
                           errno == ENOENT ? " (injector --sidecar has not written every file "
                                             "yet, or is not running)"
                                           : "");
    if (!S_ISREG(st.st_mode))
        return inj_err_set(err, INJ_E_UNAVAILABLE, "not ready: ready file %s is not a regular file",
                           ready);
    for (i = 0; i < c->n; i++) {
        const struct entry *e = &c->entries[i];
        unsigned int mode;

        if (e->kind != ENTRY_FILE)
            continue;
        if (lstat(e->name, &st) != 0) {
            if (errno == ENOENT && e->optional)
                continue; /* its secret or key does not exist: skipped, as the run does */
            return inj_err_set(err, INJ_E_UNAVAILABLE, "not ready: file %s: %s", e->name,
                               strerror(errno));
        }
        if (!S_ISREG(st.st_mode))
            return inj_err_set(err, INJ_E_UNAVAILABLE, "not ready: file %s is not a regular file",
                               e->name);
        mode = (unsigned int)(st.st_mode & 07777);
        if (mode != e->mode)
            return inj_err_set(err, INJ_E_UNAVAILABLE,
                               "not ready: file %s has mode %04o, the config says %04o", e->name,
                               mode, e->mode);
        found++;
    }
    if (nfiles)
        *nfiles = found;
    return INJ_OK;
}
