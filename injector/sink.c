/* sink.c: building the child's environment and writing secret files atomically
 * (temp file in the target directory, O_EXCL|O_NOFOLLOW, fsync, rename). */
#include "sink.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "sbuf.h"

enum inj_rc sink_env_init(struct sink_env *e, char *const *base, struct inj_err *err)
{
    size_t n = 0;

    memset(e, 0, sizeof(*e));
    while (base && base[n])
        n++;
    e->cap = n + 16;
    e->vars = calloc(e->cap + 1, sizeof(*e->vars));
    e->ours = calloc(e->cap + 1, 1);
    if (!e->vars || !e->ours) {
        sink_env_free(e);
        return inj_err_set(err, INJ_E_NOMEM, "out of memory");
    }
    if (n)
        memcpy(e->vars, base, n * sizeof(*e->vars));
    e->n = n;
    return INJ_OK;
}

/* Finds "NAME=..."; with bare, also a "NAME" without '=' (execve can pass one: getenv
 * ignores it, but a variable that is dropped must be dropped in that form too). */
static size_t sink_env_find(const struct sink_env *e, const char *name, int bare)
{
    size_t len = strlen(name);
    size_t i;

    for (i = 0; i < e->n; i++)
        if (!strncmp(e->vars[i], name, len) &&
            (e->vars[i][len] == '=' || (bare && e->vars[i][len] == '\0')))
            return i;
    return SIZE_MAX;
}

static void sink_env_drop(struct sink_env *e, size_t i)
{
    if (e->ours[i])
        wipe_free_str(e->vars[i]);
    memmove(&e->vars[i], &e->vars[i + 1], (e->n - i) * sizeof(*e->vars));
    memmove(&e->ours[i], &e->ours[i + 1], e->n - i);
    e->n--;
}

void sink_env_unset(struct sink_env *e, const char *name)
{
    size_t i = sink_env_find(e, name, 1);

    /* An environment may hold a name more than once (execve allows it): drop every copy. */
    while (i != SIZE_MAX) {
        sink_env_drop(e, i);
        i = sink_env_find(e, name, 1);
    }
}

enum inj_rc sink_env_set(struct sink_env *e, const char *name, const unsigned char *val,
                         size_t len, int overwrite, struct inj_err *err)
{
    size_t nlen = strlen(name);
    size_t i;
    char *kv;

    if (memchr(val, '\0', len))
        return inj_err_set(err, INJ_E_DATA,
                           "%s: the value contains a NUL byte, which an environment variable "
                           "cannot hold; write it to a file instead",
                           name);
    i = sink_env_find(e, name, 0);
    if (i != SIZE_MAX && !overwrite)
        return inj_err_set(err, INJ_E_CONFIG,
                           "%s is already set in the environment; unset it or add "
                           "\"overwrite: true\" to the entry",
                           name);
    /* Every copy: a second "NAME=old" left behind would be the one getenv finds. */
    while (i != SIZE_MAX) {
        sink_env_drop(e, i);
        i = sink_env_find(e, name, 0);
    }
    if (e->n >= e->cap) {
        /* Grow by copying pointers: the strings themselves do not move. */
        size_t ncap = e->cap * 2 + 16;
        char **nv = calloc(ncap + 1, sizeof(*nv));
        unsigned char *no = calloc(ncap + 1, 1);
        if (!nv || !no) {
            free(nv);
            free(no);
            return inj_err_set(err, INJ_E_NOMEM, "out of memory");
        }
        memcpy(nv, e->vars, e->n * sizeof(*nv));
        memcpy(no, e->ours, e->n);
        free(e->vars);
        free(e->ours);
        e->vars = nv;
        e->ours = no;
        e->cap = ncap;
    }
    if (len > SIZE_MAX - nlen - 2)
        return inj_err_set(err, INJ_E_NOMEM, "out of memory");
    kv = malloc(nlen + len + 2);
    if (!kv)
        return inj_err_set(err, INJ_E_NOMEM, "out of memory");
    memcpy(kv, name, nlen);
    kv[nlen] = '=';
    memcpy(kv + nlen + 1, val, len);
    kv[nlen + 1 + len] = '\0';
    e->vars[e->n] = kv;
    e->ours[e->n] = 1;
    e->n++;
    e->vars[e->n] = NULL;
    return INJ_OK;
}

char **sink_env_envp(const struct sink_env *e)
{
    return e->vars;
}

void sink_env_free(struct sink_env *e)
{
    size_t i;

    for (i = 0; e->vars && e->ours && i < e->n; i++)
        if (e->ours[i])
            wipe_free_str(e->vars[i]);
    free(e->vars);
    free(e->ours);
    memset(e, 0, sizeof(*e));
}

static int sink_write_all(int fd, const unsigned char *p, size_t len)
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

static enum inj_rc sink_remember_dir(struct sink_files *fs, const char *dir)
{
    char **nd = malloc((fs->ndirs + 1) * sizeof(*nd));
    char *d = xstrdup(dir);

    if (!nd || !d) {
        free(nd);
        free(d);
        return INJ_E_NOMEM;
    }
    if (fs->ndirs)
        memcpy(nd, fs->dirs, fs->ndirs * sizeof(*nd));
    free(fs->dirs);
    fs->dirs = nd;
    fs->dirs[fs->ndirs++] = d;
    return INJ_OK;
}

/* mkdir -p for the parent of path, 0700 for what we create. */
static enum inj_rc sink_make_parents(struct sink_files *fs, const char *path, struct inj_err *err)
{
    char dir[4096];
    char *p;
    int n = snprintf(dir, sizeof(dir), "%s", path);

    if (n < 0 || (size_t)n >= sizeof(dir))
        return inj_err_set(err, INJ_E_CONFIG, "%s: path too long", path);
    p = strrchr(dir, '/');
    if (!p || p == dir)
        return INJ_OK;
    *p = '\0';
    for (p = dir + 1;; p++) {
        char saved = *p;
        if (*p != '/' && *p != '\0')
            continue;
        *p = '\0';
        if (mkdir(dir, 0700) == 0) {
            if (sink_remember_dir(fs, dir) != INJ_OK)
                return inj_err_set(err, INJ_E_NOMEM, "out of memory");
            /* Exactly 0700 whatever the umask (a umask of 0777 would leave it unusable). */
            if (chmod(dir, 0700) != 0)
                return inj_err_set(err, INJ_E_IO, "%s: cannot set mode 0700 on %s: %s", path,
                                   dir, strerror(errno));
            if (fs->chown && chown(dir, fs->uid, fs->gid) != 0)
                return inj_err_set(err, INJ_E_IO, "%s: cannot give directory %s to uid %lu: %s",
                                   path, dir, (unsigned long)fs->uid, strerror(errno));
        } else if (errno != EEXIST) {
            return inj_err_set(err, INJ_E_IO, "%s: cannot create directory %s: %s", path, dir,
                               strerror(errno));
        }
        *p = saved;
        if (saved == '\0')
            break;
    }
    return INJ_OK;
}

/* statfs(2) f_type values (linux/magic.h, spelled out: musl builds lack kernel headers). */
#define SINK_TMPFS_MAGIC 0x01021994UL
#define SINK_RAMFS_MAGIC 0x858458f6UL

/* A secret on disk outlives the container and ends up in snapshots and backups. */
static enum inj_rc sink_check_fs(const char *path, const char *dir, const struct statfs *sfs,
                                 int allow_disk, struct inj_err *err)
{
    unsigned long fstype = (unsigned long)sfs->f_type;

    if (allow_disk || fstype == SINK_TMPFS_MAGIC || fstype == SINK_RAMFS_MAGIC)
        return INJ_OK;
    return inj_err_set(err, INJ_E_CONFIG,
                       "%s: %s is not on tmpfs/ramfs (filesystem type 0x%lx), so the secret "
                       "would be written to disk; mount a tmpfs there (Kubernetes: emptyDir "
                       "medium Memory) or add \"allow_disk: true\" to the entry",
                       path, dir, fstype);
}

/* Where the secret is about to land, before any byte of it is written: a symlink at the
 * target, a directory anyone can swap files in, or a disk (a secret on disk outlives the
 * container and ends up in snapshots and backups). */
static enum inj_rc sink_check_target(const char *path, int allow_disk, struct inj_err *err)
{
    enum inj_rc rc = INJ_E_IO;
    char dir[4096];
    const char *slash = strrchr(path, '/');
    struct stat st;
    struct statfs sfs;
    int fd = -1;
    int n;

    if (!slash)
        return inj_err_set(err, INJ_E_CONFIG, "%s: not an absolute path", path);
    n = snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
    if (n < 0 || (size_t)n >= sizeof(dir))
        return inj_err_set(err, INJ_E_CONFIG, "%s: path too long", path);
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return inj_err_set(err, INJ_E_IO, "%s: cannot open directory %s: %s", path, dir,
                           strerror(errno));
    if (fstat(fd, &st) != 0 || fstatfs(fd, &sfs) != 0) {
        inj_err_set(err, INJ_E_IO, "%s: cannot inspect directory %s: %s", path, dir,
                    strerror(errno));
        goto out;
    }
    if ((st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX)) {
        inj_err_set(err, INJ_E_IO,
                    "%s: directory %s is world-writable without the sticky bit, so anyone "
                    "could replace the file; use a private directory",
                    path, dir);
        goto out;
    }
    rc = sink_check_fs(path, dir, &sfs, allow_disk, err);
    if (rc != INJ_OK)
        goto out;
    rc = INJ_E_IO;
    if (lstat(path, &st) == 0) {
        if (S_ISLNK(st.st_mode)) {
            inj_err_set(err, INJ_E_IO, "%s: is a symbolic link; refusing to replace it", path);
            goto out;
        }
        if (!S_ISREG(st.st_mode)) {
            inj_err_set(err, INJ_E_IO, "%s: exists and is not a regular file", path);
            goto out;
        }
    } else if (errno != ENOENT) {
        inj_err_set(err, INJ_E_IO, "%s: %s", path, strerror(errno));
        goto out;
    }
    rc = INJ_OK;
out:
    (void)close(fd);
    return rc;
}

enum inj_rc sink_file_check(const char *path, int allow_disk, struct inj_err *err)
{
    char dir[4096];
    char *slash;
    struct stat st;
    struct statfs sfs;
    int parent = 1;
    int found;
    int e = 0;
    int n;

    if (path[0] != '/')
        return inj_err_set(err, INJ_E_CONFIG, "%s: not an absolute path", path);
    n = snprintf(dir, sizeof(dir), "%s", path);
    if (n < 0 || (size_t)n >= sizeof(dir))
        return inj_err_set(err, INJ_E_CONFIG, "%s: path too long", path);
    /* The parent, else the nearest ancestor that exists: the directories sink_make_parents
     * would create live on that one's filesystem. */
    for (;;) {
        slash = strrchr(dir, '/');
        if (slash == dir)
            dir[1] = '\0';
        else
            *slash = '\0';
        found = stat(dir, &st) == 0;
        if (found || errno != ENOENT || !strcmp(dir, "/"))
            break;
        parent = 0;
    }
    if (!found || (S_ISDIR(st.st_mode) && access(dir, W_OK | X_OK) != 0))
        e = errno;
    else if (!S_ISDIR(st.st_mode))
        e = ENOTDIR;
    if (e)
        return inj_err_set(err, INJ_E_IO, "%s: cannot create a file under %s: %s", path, dir,
                           strerror(e));
    if (parent)
        return sink_check_target(path, allow_disk, err);
    if (statfs(dir, &sfs) != 0)
        return inj_err_set(err, INJ_E_IO, "%s: cannot inspect directory %s: %s", path, dir,
                           strerror(errno));
    return sink_check_fs(path, dir, &sfs, allow_disk, err);
}

enum inj_rc sink_file_stage(struct sink_files *fs, const char *path, unsigned int mode,
                            int allow_disk, const unsigned char *data, size_t len,
                            struct inj_err *err)
{
    enum inj_rc rc = INJ_E_IO;
    struct sink_file *nv = NULL;
    char tmp[4200];
    unsigned char rnd[6];
    const char *slash = strrchr(path, '/');
    int fd = -1;
    int n;

    if (!slash)
        return inj_err_set(err, INJ_E_CONFIG, "%s: not an absolute path", path);
    rc = sink_make_parents(fs, path, err);
    if (rc != INJ_OK)
        return rc;
    rc = sink_check_target(path, allow_disk, err);
    if (rc != INJ_OK)
        return rc;
    if (RAND_bytes(rnd, sizeof(rnd)) != 1)
        return inj_err_set(err, INJ_E_SOFTWARE, "no randomness for a temp file name");
    n = snprintf(tmp, sizeof(tmp), "%.*s/.%s.injector-%02x%02x%02x%02x%02x%02x",
                 (int)(slash - path), path, slash + 1, rnd[0], rnd[1], rnd[2], rnd[3], rnd[4],
                 rnd[5]);
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return inj_err_set(err, INJ_E_CONFIG, "%s: path too long", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, (mode_t)(mode & 0700));
    if (fd < 0)
        return inj_err_set(err, INJ_E_IO, "%s: cannot create a file in its directory: %s", path,
                           strerror(errno));
    nv = realloc(fs->v, (fs->n + 1) * sizeof(*nv));
    if (!nv) {
        rc = inj_err_set(err, INJ_E_NOMEM, "out of memory");
        goto fail;
    }
    fs->v = nv;
    fs->v[fs->n].path = xstrdup(path);
    fs->v[fs->n].tmp = xstrdup(tmp);
    fs->v[fs->n].committed = 0;
    fs->v[fs->n].old_fd = -1;
    if (!fs->v[fs->n].path || !fs->v[fs->n].tmp) {
        free(fs->v[fs->n].path);
        free(fs->v[fs->n].tmp);
        rc = inj_err_set(err, INJ_E_NOMEM, "out of memory");
        goto fail;
    }
    fs->n++;
    /* The mode is exact (umask ignored) and applied before any byte of the secret lands. */
    if ((fs->chown && fchown(fd, fs->uid, fs->gid) != 0) || fchmod(fd, (mode_t)mode) != 0 ||
        sink_write_all(fd, data, len) != 0 || fsync(fd) != 0) {
        rc = inj_err_set(err, INJ_E_IO, "%s: cannot write: %s", path, strerror(errno));
        goto fail_registered;
    }
    if (close(fd) != 0) {
        fd = -1;
        rc = inj_err_set(err, INJ_E_IO, "%s: cannot write: %s", path, strerror(errno));
        goto fail_registered;
    }
    return INJ_OK;
fail:
    (void)unlink(tmp);
fail_registered:
    if (fd >= 0)
        (void)close(fd);
    return rc;
}

static void sink_fsync_dir(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    int fd;
    int n;

    if (!slash)
        return;
    n = snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
    if (n < 0 || (size_t)n >= sizeof(dir))
        return;
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return;
    (void)fsync(fd);
    (void)close(fd);
}

/* The regular file at path, open for reading, or -1. */
static int sink_open_old(const char *path)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

    if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
        (void)close(fd);
        fd = -1;
    }
    return fd;
}

/* Puts the replaced file back at f->path: its content (from the still open old inode), mode
 * and owner, through a temp file and a rename. 0 on success. */
static int sink_restore(const struct sink_file *f)
{
    unsigned char buf[4096];
    struct stat st;
    off_t off = 0;
    ssize_t n = 0;
    int fd;
    int ok = 0;

    if (fstat(f->old_fd, &st) != 0)
        return -1;
    fd = open(f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    if ((fchown(fd, st.st_uid, st.st_gid) == 0 || geteuid() != 0) &&
        fchmod(fd, st.st_mode & 07777) == 0) {
        while ((n = pread(f->old_fd, buf, sizeof(buf), off)) > 0 &&
               sink_write_all(fd, buf, (size_t)n) == 0)
            off += n;
        ok = n == 0 && fsync(fd) == 0;
    }
    OPENSSL_cleanse(buf, sizeof(buf));
    if (close(fd) != 0)
        ok = 0;
    if (ok && rename(f->tmp, f->path) == 0)
        return 0;
    (void)unlink(f->tmp);
    return -1;
}

enum inj_rc sink_files_commit(struct sink_files *fs, struct inj_err *err)
{
    size_t i;

    for (i = 0; i < fs->n; i++) {
        if (fs->v[i].old_fd < 0)
            fs->v[i].old_fd = sink_open_old(fs->v[i].path);
        if (rename(fs->v[i].tmp, fs->v[i].path) != 0)
            return inj_err_set(err, INJ_E_IO, "%s: cannot move the file into place: %s",
                               fs->v[i].path, strerror(errno));
        fs->v[i].committed = 1;
        sink_fsync_dir(fs->v[i].path);
    }
    return INJ_OK;
}

void sink_files_abort(struct sink_files *fs)
{
    size_t i;

    for (i = 0; i < fs->n; i++) {
        const struct sink_file *f = &fs->v[i];

        if (!f->committed)
            (void)unlink(f->tmp);
        else if (f->old_fd < 0 || sink_restore(f) != 0)
            (void)unlink(f->path); /* never leave the new secret behind */
    }
    for (i = fs->ndirs; i > 0; i--)
        (void)rmdir(fs->dirs[i - 1]);
}

void sink_files_discard(struct sink_files *fs)
{
    size_t i;

    for (i = 0; i < fs->n; i++)
        if (!fs->v[i].committed)
            (void)unlink(fs->v[i].tmp);
}

void sink_files_free(struct sink_files *fs)
{
    size_t i;

    for (i = 0; i < fs->n; i++) {
        free(fs->v[i].path);
        free(fs->v[i].tmp);
        if (fs->v[i].old_fd >= 0)
            (void)close(fs->v[i].old_fd);
    }
    for (i = 0; i < fs->ndirs; i++)
        free(fs->dirs[i]);
    free(fs->v);
    free(fs->dirs);
    memset(fs, 0, sizeof(*fs));
}
