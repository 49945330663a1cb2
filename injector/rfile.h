/* rfile.h: the one bounded reader for path-named inputs (config file, shared credentials and
 * config files, token files, /etc/passwd, /etc/group): never blocks, never reads an unbounded
 * or non-regular file, one cleanup path. */
#ifndef INJ_RFILE_H
#define INJ_RFILE_H

#include <stddef.h>

#include "err.h"
#include "sbuf.h"

enum rfile_flags {
    RFILE_NOFOLLOW = 1u, /* refuse a symlink as the last component (O_NOFOLLOW) */
    RFILE_WIPE = 2u,     /* the contents are secret: the read buffer on the stack is wiped
                            too (out is an sbuf: wiped on growth and by sbuf_wipe_free) */
};

/* Reads the regular file `path` (at most max bytes) into *out (owned, NUL-terminated even
 * when empty; free with sbuf_wipe_free). Opened O_RDONLY|O_NONBLOCK|O_CLOEXEC|O_NOCTTY, so a
 * FIFO without a writer or a device cannot block: fstat decides before any read.
 * `what` names the input in messages ("config", "web identity token file").
 * On failure *out is empty, *sys (if not NULL) is the errno behind it (EINVAL: not a regular
 * file, EFBIG: larger than max, ENOENT, ELOOP, EMFILE, ...), and err reads
 * "WHAT PATH: REASON" with code INJ_E_NOINPUT (INJ_E_NOMEM for ENOMEM). */
enum inj_rc rfile_read(const char *what, const char *path, size_t max, unsigned int flags,
                       struct sbuf *out, int *sys, struct inj_err *err);

/* A resource-exhaustion errno in words with its fix ("too many open files (EMFILE): raise
 * the limit (ulimit -n)"), or NULL when e is not one of EMFILE, ENFILE, ENOMEM. */
const char *rfile_exhausted(int e);

#endif
