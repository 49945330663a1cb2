/* sink.h: where values go: the child's environment, and files written atomically.
 * Files are staged (temp file written, fsynced) and only renamed into place on commit,
 * so a failure anywhere leaves no secret file behind. */
#ifndef INJ_SINK_H
#define INJ_SINK_H

#include <stddef.h>
#include <sys/types.h>

#include "err.h"

struct sink_env {
    char **vars;       /* "NAME=value", NULL-terminated; ours (added) are wiped on free */
    unsigned char *ours; /* per var: 1 when we allocated it */
    size_t n;
    size_t cap;
};

/* Starts from a copy of base (the process environment; pointers borrowed). */
enum inj_rc sink_env_init(struct sink_env *e, char *const *base, struct inj_err *err);
/* Adds NAME=value. An existing NAME is an error unless overwrite. NUL in value is refused. */
enum inj_rc sink_env_set(struct sink_env *e, const char *name, const unsigned char *val,
                         size_t len, int overwrite, struct inj_err *err);
/* Removes NAME if present (for dropping variables from the child's environment). */
void sink_env_unset(struct sink_env *e, const char *name);
char **sink_env_envp(const struct sink_env *e);
void sink_env_free(struct sink_env *e);

struct sink_file {
    char *path;
    char *tmp;         /* staged temp file in the same directory */
    int committed;
    int old_fd;        /* the file the commit replaced, or -1: sink_files_abort puts its
                          content back; close-on-exec, closed by sink_files_free */
};

struct sink_files {
    struct sink_file *v;
    size_t n;
    char **dirs;       /* directories we created (removed again on abort) */
    size_t ndirs;
    int chown;         /* set before staging (--user): files and the directories we create
                          get owner uid:gid, before any byte of a secret is written */
    uid_t uid;
    gid_t gid;
};

/* Writes data to a temp file next to path (parents created 0700), mode applied before the
 * content is written, fsynced. Nothing is visible at path until sink_files_commit.
 * Refuses (nothing written): a symlink or non-regular file at path (INJ_E_IO), a parent
 * directory that is world-writable without the sticky bit (INJ_E_IO), and a parent on a
 * filesystem other than tmpfs/ramfs unless allow_disk (INJ_E_CONFIG). */
enum inj_rc sink_file_stage(struct sink_files *fs, const char *path, unsigned int mode,
                            int allow_disk, const unsigned char *data, size_t len,
                            struct inj_err *err);
/* --dry-run: refuses what sink_file_stage would refuse (the same messages and codes), and a
 * directory it could not create the file in; creates and writes nothing. */
enum inj_rc sink_file_check(const char *path, int allow_disk, struct inj_err *err);
/* Renames every staged file into place and fsyncs the directories. */
enum inj_rc sink_files_commit(struct sink_files *fs, struct inj_err *err);
/* Removes staged temp files, files committed so far and directories we created; a committed
 * file that replaced one gets the old content, mode and owner back. */
void sink_files_abort(struct sink_files *fs);
/* After a failed refresh: removes the staged temp files not yet committed; files already
 * renamed into place stay (they replaced a file the command was using). */
void sink_files_discard(struct sink_files *fs);
void sink_files_free(struct sink_files *fs);

#endif
