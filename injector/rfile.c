/* rfile.c: bounded, non-blocking reads of small path-named files. The checks are on the
 * open descriptor (fstat), not the path, so nothing can be swapped in between. */
#include "rfile.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *rfile_exhausted(int e)
{
    switch (e) {
    case EMFILE:
        return "too many open files (EMFILE): raise the limit (ulimit -n, or nofile in the "
               "container's ulimits)";
    case ENFILE:
        return "the system's open file table is full (ENFILE)";
    case ENOMEM:
        return "out of memory (ENOMEM)";
    default:
        return NULL;
    }
}

static const char *rfile_type(mode_t m)
{
    if (S_ISFIFO(m))
        return "a FIFO";
    if (S_ISDIR(m))
        return "a directory";
    if (S_ISCHR(m))
        return "a character device";
    if (S_ISBLK(m))
        return "a block device";
    if (S_ISSOCK(m))
        return "a socket";
    return "not a regular file";
}

static enum inj_rc rfile_errno(const char *what, const char *path, int e, unsigned int flags,
                               int *sys, struct inj_err *err)
{
    const char *ex = rfile_exhausted(e);

    if (sys)
        *sys = e;
    if (e == ELOOP && (flags & RFILE_NOFOLLOW))
        return inj_err_set(err, INJ_E_NOINPUT, "%s %s: is a symlink, which is not allowed here",
                           what, path);
    return inj_err_set(err, e == ENOMEM ? INJ_E_NOMEM : INJ_E_NOINPUT, "%s %s: %s", what, path,
                       ex ? ex : strerror(e));
}

enum inj_rc rfile_read(const char *what, const char *path, size_t max, unsigned int flags,
                       struct sbuf *out, int *sys, struct inj_err *err)
{
    enum inj_rc rc = INJ_E_NOINPUT;
    unsigned char chunk[4096];
    struct stat st;
    int fd;

    sbuf_wipe_free(out);
    out->max = max;
    if (sys)
        *sys = 0;
    fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY |
                        ((flags & RFILE_NOFOLLOW) ? O_NOFOLLOW : 0));
    if (fd < 0)
        return rfile_errno(what, path, errno, flags, sys, err);
    if (fstat(fd, &st) != 0) {
        rc = rfile_errno(what, path, errno, flags, sys, err);
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        if (sys)
            *sys = EINVAL;
        rc = inj_err_set(err, INJ_E_NOINPUT, "%s %s: %s, not a regular file", what, path,
                         rfile_type(st.st_mode));
        goto out;
    }
    if (st.st_size < 0 || (unsigned long long)st.st_size > max) {
        if (sys)
            *sys = EFBIG;
        rc = inj_err_set(err, INJ_E_NOINPUT,
                         "%s %s: %lld bytes, larger than %zu bytes (the "
                         "limit)",
                         what, path, (long long)st.st_size, max);
        goto out;
    }
    /* Until EOF: a file that grew since fstat is still cut at max by the sbuf. */
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = rfile_errno(what, path, errno, flags, sys, err);
            goto out;
        }
        if (n == 0)
            break;
        switch (sbuf_append(out, chunk, (size_t)n)) {
        case SBUF_OK:
            break;
        case SBUF_TOOBIG:
            if (sys)
                *sys = EFBIG;
            rc = inj_err_set(err, INJ_E_NOINPUT, "%s %s: grew past %zu bytes (the limit)", what,
                             path, max);
            goto out;
        case SBUF_NOMEM:
        default:
            rc = rfile_errno(what, path, ENOMEM, flags, sys, err);
            goto out;
        }
    }
    if (!out->p && sbuf_append(out, "", 0) != SBUF_OK) {
        rc = rfile_errno(what, path, ENOMEM, flags, sys, err);
        goto out;
    }
    rc = INJ_OK;
out:
    if (flags & RFILE_WIPE)
        OPENSSL_cleanse(chunk, sizeof(chunk));
    (void)close(fd);
    if (rc != INJ_OK)
        sbuf_wipe_free(out);
    return rc;
}
