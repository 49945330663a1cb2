/* sink.h: where values go: the child's environment, and files written atomically.
 * Files are staged (temp file written, fsynced) and only renamed into place on commit,
 * so a failure anywhere leaves no secret file behind. */
#ifndef INJ_SINK_H
#define INJ_SINK_H

#include <stddef.h>
#include <sys/types.h>

#include "err.h"

struct sink_env {
    char **vars;         /* "NAME=value", NULL-terminated; ours (added) are wiped on free */
    unsigned char *ours; /* per var: 1 when we allocated it */
    size_t n;
    size_t cap;
    unsigned char *seen; /* names that may be in vars: two bits per name of nseen bits (a
                            Bloom filter, never cleared: a drop leaves a false maybe) */
    size_t nseen;        /* a power of two */
};

/* Starts from a copy of base (the process environment; pointers borrowed). */
enum inj_rc sink_env_init(struct sink_env *e, char *const *base, struct inj_err *err);
/* Adds NAME=value. An existing NAME is an error unless overwrite. NUL in value is refused. */
enum inj_rc sink_env_set(struct sink_env *e, const char *name, const unsigned char *val, size_t len,
                         int overwrite, struct inj_err *err);
/* Removes NAME if present (for dropping variables from the child's environment). */
void sink_env_unset(struct sink_env *e, const char *name);
char **sink_env_envp(const struct sink_env *e);
void sink_env_free(struct sink_env *e);

/* A directory files go into, walked from "/" once (no symlink followed, every pre-existing
 * directory checked) and from then on used only through fd: a later change to the path
 * cannot redirect a write. */
struct sink_dir {
    char *path; /* as configured, e.g. "/run/secrets" */
    int fd;     /* the directory, close-on-exec; every *at() call goes through it */
    dev_t dev;  /* the inode validated by the walk */
    ino_t ino;
    int moved_warned; /* "path no longer leads here" logged once */
};

/* A directory the walk created: removed again on abort, through its parent's descriptor. */
struct sink_made {
    int parent_fd; /* close-on-exec */
    char *name;    /* in parent_fd */
};

struct sink_file {
    char *path;
    char *tmp; /* the staged temp file's path (messages); tmpname is its last part */
    const char *tmpname;
    const char *name; /* in path: the file's name in its directory */
    int dir_fd;       /* borrowed from a struct sink_dir (ours or the anchors') */
    int committed;
    int old_fd; /* the file the commit replaced, or -1: sink_files_abort puts its
                          content back; close-on-exec, closed by sink_files_release_old or
                          sink_files_free */
};

struct sink_files {
    struct sink_file *v;
    size_t n;
    struct sink_dir *dirs; /* the directories our files went into */
    size_t ndirs;
    struct sink_made *made; /* directories we created, in creation order */
    size_t nmade;
    /* Borrowed, may be NULL: the directories validated at start (supervise refresh). A file
     * whose directory is there goes into that inode, whatever the path leads to now. */
    struct sink_files *anchors;
    int chown; /* set before staging (--user): files get owner uid:gid before any byte
                          of a secret is written; directories we create stay ours (root's),
                          mode 0750 with group gid, so the app can enter but not change them */
    uid_t uid;
    gid_t gid;
};

/* Writes data to a temp file next to path, mode applied before the content is written,
 * fsynced. Nothing is visible at path until sink_files_commit.
 * The directory is reached from "/" one component at a time without following a symlink;
 * missing ones are created (0700 ours, or 0750 ours with group gid under --user) and set up
 * through their descriptor. Refuses (nothing written):
 * - INJ_E_CONFIG: a directory on the way that is a symlink, is owned by a user other than
 *   root, us or the app's user (fs->uid under chown), or is group/world-writable without the
 *   sticky bit; a parent on a filesystem other than tmpfs/ramfs unless allow_disk;
 * - INJ_E_IO: a symlink or non-regular file at path, a component that is not a directory.
 * With fs->anchors, a directory found there is used as it is (its inode, not the path). */
enum inj_rc sink_file_stage(struct sink_files *fs, const char *path, unsigned int mode,
                            int allow_disk, const unsigned char *data, size_t len,
                            struct inj_err *err);
/* --dry-run: refuses what sink_file_stage would refuse (the same messages and codes; fs gives
 * chown/uid), and a directory it could not create; creates and writes nothing. */
enum inj_rc sink_file_check(const struct sink_files *fs, const char *path, int allow_disk,
                            struct inj_err *err);
/* Renames every staged file into place and fsyncs the directories. */
enum inj_rc sink_files_commit(struct sink_files *fs, struct inj_err *err);
/* Removes staged temp files, files committed so far and directories we created; a committed
 * file that replaced one gets the old content, mode and owner back. */
void sink_files_abort(struct sink_files *fs);
/* After a failed refresh: removes the staged temp files not yet committed; files already
 * renamed into place stay (they replaced a file the command was using). */
void sink_files_discard(struct sink_files *fs);
/* Once the command runs: closes the replaced files kept for sink_files_abort. */
void sink_files_release_old(struct sink_files *fs);
/* Closes every descriptor (directories, replaced files) and frees. */
void sink_files_free(struct sink_files *fs);

#endif
