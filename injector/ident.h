/* ident.h: who the command runs as (--user): parse "user[:group]", resolve it from
 * /etc/passwd and /etc/group (read directly: no NSS, so it works the same in a static binary
 * and a scratch image), drop privileges to it. */
#ifndef INJ_IDENT_H
#define INJ_IDENT_H

#include <stddef.h>
#include <sys/types.h>

#include "err.h"

struct ident_user {
    int set; /* 0: keep injector's own identity */
    uid_t uid;
    gid_t gid;
};

/* Resolves "user[:group]" (names or numbers) from /etc/passwd and /etc/group; a missing file
 * reads as empty, one that is not a regular file (a FIFO, a device) or is larger than 8 MiB
 * is an error (never blocks). Switching to another identity needs root. */
enum inj_rc ident_resolve(const char *spec, struct ident_user *out, struct inj_err *err);

/* ident_resolve with the two paths given (tests). */
enum inj_rc ident_resolve_files(const char *spec, const char *passwd_path, const char *group_path,
                                struct ident_user *out, struct inj_err *err);

/* The parser behind ident_resolve, on file contents (passwd and group may be NULL: empty).
 * A name resolves only through the files; a number needs no entry, but a bare uid without a
 * passwd entry needs an explicit group. Errors are INJ_E_USAGE. */
enum inj_rc ident_parse(const char *spec, const char *passwd, size_t passwd_len, const char *group,
                        size_t group_len, struct ident_user *out, struct inj_err *err);

/* Drops to u: setgroups(0), setgid, setuid, then verifies none can be undone. For the child
 * after fork (or just before exec in plain mode). u->set 0: nothing to do. */
enum inj_rc ident_drop(const struct ident_user *u, struct inj_err *err);

#endif
