/* sink.c: building the child's environment and writing secret files atomically through
 * directory descriptors walked from "/" (temp file, O_EXCL|O_NOFOLLOW, fsync, renameat). */
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

#include "log.h"
#include "sbuf.h"

/* The name part of "NAME=value" (or of a bare "NAME"), hashed (FNV-1a, 64 bits). */
static uint64_t sink_env_hash(const char *s, size_t len)
{
    uint64_t h = 14695981039346656037ull;
    size_t i;

    for (i = 0; i < len && s[i] && s[i] != '='; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

static void sink_env_bits(const struct sink_env *e, uint64_t h, size_t *a, size_t *b)
{
    *a = (size_t)(h & (e->nseen - 1));
    *b = (size_t)((h >> 32) & (e->nseen - 1));
}

static void sink_env_note(struct sink_env *e, const char *var)
{
    size_t a;
    size_t b;

    sink_env_bits(e, sink_env_hash(var, SIZE_MAX), &a, &b);
    e->seen[a / 8] = (unsigned char)(e->seen[a / 8] | (1u << (a % 8)));
    e->seen[b / 8] = (unsigned char)(e->seen[b / 8] | (1u << (b % 8)));
}

/* 0 when no variable named name[0..len) can be in e: sink_env_find need not look (with
 * 10,000 entries a scan per entry is the whole start). */
static int sink_env_maybe(const struct sink_env *e, const char *name, size_t len)
{
    size_t a;
    size_t b;

    if (!e->seen)
        return 1;
    sink_env_bits(e, sink_env_hash(name, len), &a, &b);
    return (e->seen[a / 8] >> (a % 8) & 1) && (e->seen[b / 8] >> (b % 8) & 1);
}

/* (Re)builds the filter for cap variables: 16 bits a name, about 1.4% false maybes. */
static int sink_env_index(struct sink_env *e)
{
    size_t bits = 1024;
    unsigned char *nb;
    size_t i;

    while (bits < e->cap * 16 && bits < ((size_t)1 << 30))
        bits *= 2;
    nb = calloc(bits / 8, 1);
    if (!nb)
        return -1;
    free(e->seen);
    e->seen = nb;
    e->nseen = bits;
    for (i = 0; i < e->n; i++)
        sink_env_note(e, e->vars[i]);
    return 0;
}

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
    if (sink_env_index(e) != 0) {
        sink_env_free(e);
        return inj_err_set(err, INJ_E_NOMEM, "out of memory");
    }
    return INJ_OK;
}

/* Finds "NAME=..."; with bare, also a "NAME" without '=' (execve can pass one: getenv
 * ignores it, but a variable that is dropped must be dropped in that form too). */
static size_t sink_env_find(const struct sink_env *e, const char *name, int bare)
{
    size_t len = strlen(name);
    size_t i;

    if (!sink_env_maybe(e, name, len))
        return SIZE_MAX;
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

enum inj_rc sink_env_set(struct sink_env *e, const char *name, const unsigned char *val, size_t len,
                         int overwrite, struct inj_err *err)
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
        if (sink_env_index(e) != 0)
            return inj_err_set(err, INJ_E_NOMEM, "out of memory");
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
    if (e->seen)
        sink_env_note(e, kv);
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
    free(e->seen);
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

/* statfs(2) f_type values (linux/magic.h, spelled out: musl builds lack kernel headers). */
#define SINK_TMPFS_MAGIC 0x01021994UL
#define SINK_RAMFS_MAGIC 0x858458f6UL

#define SINK_WALK_OPEN (O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

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

/* A directory that was there before us: whoever can change what is in it could swap our
 * files or the directories below it. Root, we and the app's user (app_uid) may own it; a
 * group/world-writable one needs the sticky bit (/tmp, /dev/shm). */
static enum inj_rc sink_check_dir(const char *path, const char *dir, const struct stat *st,
                                  uid_t app_uid, struct inj_err *err)
{
    if (st->st_uid != 0 && st->st_uid != geteuid() && st->st_uid != app_uid)
        return inj_err_set(err, INJ_E_CONFIG,
                           "%s: directory %s is owned by uid %lu, neither root, injector's "
                           "user nor the app's, who could swap what is in it; use a directory "
                           "owned by root or by the app's user",
                           path, dir, (unsigned long)st->st_uid);
    if ((st->st_mode & (S_IWGRP | S_IWOTH)) && !(st->st_mode & S_ISVTX))
        return inj_err_set(err, INJ_E_CONFIG,
                           "%s: directory %s (owner uid %lu, mode %04lo) is %s-writable without "
                           "the sticky bit, so others could replace the file; use a private "
                           "directory",
                           path, dir, (unsigned long)st->st_uid,
                           (unsigned long)(st->st_mode & 07777),
                           (st->st_mode & S_IWOTH) ? "world" : "group");
    return INJ_OK;
}

/* The next component of dir from *off: dir[*start..*start+*len]; 0 at the end (empty ones
 * skipped). */
static int sink_next_component(const char *dir, size_t *off, size_t *start, size_t *len)
{
    size_t i = *off;

    while (dir[i] == '/')
        i++;
    if (!dir[i])
        return 0;
    *start = i;
    while (dir[i] && dir[i] != '/')
        i++;
    *len = i - *start;
    *off = i;
    return 1;
}

static enum inj_rc sink_remember_made(struct sink_files *fs, int parent, const char *name,
                                      struct inj_err *err)
{
    struct sink_made *nm = realloc(fs->made, (fs->nmade + 1) * sizeof(*nm));
    char *n = NULL;
    int fd;

    if (!nm)
        return inj_err_set(err, INJ_E_NOMEM, "out of memory");
    fs->made = nm;
    n = xstrdup(name);
    if (!n)
        return inj_err_set(err, INJ_E_NOMEM, "out of memory");
    fd = fcntl(parent, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) {
        free(n);
        return inj_err_set(err, INJ_E_IO, "cannot keep a directory descriptor: %s",
                           strerror(errno));
    }
    fs->made[fs->nmade].parent_fd = fd;
    fs->made[fs->nmade].name = n;
    fs->nmade++;
    return INJ_OK;
}

/* Creates name in parent and sets it up through its own descriptor, never by name: mode 0700,
 * or 0750 with the app's group under --user; the owner stays us. Returns the directory's fd
 * (-1 with err set). A directory swapped in by someone else between mkdirat and openat is
 * refused (it is not ours), a symlink is not followed. */
static int sink_mkdir(struct sink_files *fs, int parent, const char *name, const char *path,
                      const char *dir, struct inj_err *err)
{
    struct stat st;
    mode_t mode = fs->chown ? 0750 : 0700;
    int fd;

    if (mkdirat(parent, name, 0700) != 0) {
        inj_err_set(err, INJ_E_IO, "%s: cannot create directory %s: %s", path, dir,
                    strerror(errno));
        return -1;
    }
    if (sink_remember_made(fs, parent, name, err) != INJ_OK)
        return -1;
    fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        inj_err_set(err, INJ_E_IO, "%s: cannot open directory %s just created: %s", path, dir,
                    strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0 || st.st_uid != geteuid()) {
        inj_err_set(err, INJ_E_IO, "%s: directory %s was replaced while being created", path, dir);
        goto fail;
    }
    /* Exactly this mode whatever the umask (a umask of 0777 would leave it unusable). */
    if (fs->chown && fchown(fd, (uid_t)-1, fs->gid) != 0) {
        inj_err_set(err, INJ_E_IO, "%s: cannot give directory %s to group %lu: %s", path, dir,
                    (unsigned long)fs->gid, strerror(errno));
        goto fail;
    }
    if (fchmod(fd, mode) != 0) {
        inj_err_set(err, INJ_E_IO, "%s: cannot set mode %04lo on %s: %s", path, (unsigned long)mode,
                    dir, strerror(errno));
        goto fail;
    }
    return fd;
fail:
    (void)close(fd);
    return -1;
}

/* Walks dir (absolute) from "/" one component at a time, never following a symlink, checking
 * every directory that was already there (sink_check_dir). With fs (staging) a missing one is
 * created (sink_mkdir); without (--dry-run) the walk stops there: *missing is set, and
 * reached names the last directory that exists, whose fd is returned. Returns the fd of dir
 * (close-on-exec), or -1 with err set. */
static int sink_walk(struct sink_files *fs, uid_t app_uid, const char *path, const char *dir,
                     char *reached, size_t reached_size, int *missing, struct inj_err *err)
{
    char cur[4096];
    char name[256];
    size_t off = 0;
    size_t start;
    size_t len;
    struct stat st;
    int created = 0;
    int fd = open("/", SINK_WALK_OPEN);

    if (missing)
        *missing = 0;
    cur[0] = '\0';
    if (fd < 0) {
        inj_err_set(err, INJ_E_IO, "%s: cannot open /: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0) {
        inj_err_set(err, INJ_E_IO, "%s: cannot inspect /: %s", path, strerror(errno));
        goto fail;
    }
    if (sink_check_dir(path, "/", &st, app_uid, err) != INJ_OK)
        goto fail;
    while (sink_next_component(dir, &off, &start, &len)) {
        size_t clen = strlen(cur);
        int next;

        if (len >= sizeof(name) || clen + 1 + len >= sizeof(cur)) {
            inj_err_set(err, INJ_E_CONFIG, "%s: path too long", path);
            goto fail;
        }
        memcpy(name, dir + start, len);
        name[len] = '\0';
        if (!strcmp(name, ".") || !strcmp(name, "..")) {
            inj_err_set(err, INJ_E_CONFIG, "%s: not a normalised path (\".\" or \"..\")", path);
            goto fail;
        }
        cur[clen] = '/';
        memcpy(cur + clen + 1, name, len + 1);
        next = created ? -1 : openat(fd, name, SINK_WALK_OPEN);
        if (next < 0 && (created || errno == ENOENT)) {
            if (!fs) {
                /* --dry-run: what mkdirat would say, without creating. */
                if (faccessat(fd, ".", W_OK | X_OK, 0) != 0) {
                    inj_err_set(err, INJ_E_IO, "%s: cannot create directory %s: %s", path, cur,
                                strerror(errno));
                    goto fail;
                }
                *missing = 1;
                break;
            }
            next = sink_mkdir(fs, fd, name, path, cur, err);
            if (next < 0)
                goto fail;
            created = 1;
        } else if (next < 0) {
            int e = errno;

            if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
                inj_err_set(err, INJ_E_CONFIG,
                            "%s: %s is a symbolic link; links are not followed on the way to a "
                            "secret file: give the real path",
                            path, cur);
            else
                inj_err_set(err, INJ_E_IO, "%s: cannot open directory %s: %s", path, cur,
                            strerror(e == ELOOP ? ENOTDIR : e));
            goto fail;
        } else if (fstat(next, &st) != 0) {
            inj_err_set(err, INJ_E_IO, "%s: cannot inspect directory %s: %s", path, cur,
                        strerror(errno));
            (void)close(next);
            goto fail;
        } else if (sink_check_dir(path, cur, &st, app_uid, err) != INJ_OK) {
            (void)close(next);
            goto fail;
        }
        (void)close(fd);
        fd = next;
    }
    if (reached) {
        int n = snprintf(reached, reached_size, "%s", cur[0] ? cur : "/");
        if (n < 0 || (size_t)n >= reached_size) {
            inj_err_set(err, INJ_E_CONFIG, "%s: path too long", path);
            goto fail;
        }
    }
    return fd;
fail:
    (void)close(fd);
    return -1;
}

/* Where the secret is about to land, before any byte of it is written: a disk (a secret on
 * disk outlives the container and ends up in snapshots and backups) or something other than a
 * regular file at the name (a symlink is never followed nor replaced). */
static enum inj_rc sink_check_target(const char *path, const char *dir, int dfd, const char *name,
                                     int allow_disk, struct inj_err *err)
{
    struct stat st;
    struct statfs sfs;
    enum inj_rc rc;

    if (fstatfs(dfd, &sfs) != 0)
        return inj_err_set(err, INJ_E_IO, "%s: cannot inspect directory %s: %s", path, dir,
                           strerror(errno));
    rc = sink_check_fs(path, dir, &sfs, allow_disk, err);
    if (rc != INJ_OK)
        return rc;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        if (S_ISLNK(st.st_mode))
            return inj_err_set(err, INJ_E_IO, "%s: is a symbolic link; refusing to replace it",
                               path);
        if (!S_ISREG(st.st_mode))
            return inj_err_set(err, INJ_E_IO, "%s: exists and is not a regular file", path);
    } else if (errno != ENOENT) {
        return inj_err_set(err, INJ_E_IO, "%s: %s", path, strerror(errno));
    }
    return INJ_OK;
}

/* Splits path into its directory (into dir) and the name in it. */
static enum inj_rc sink_split(const char *path, char *dir, size_t size, const char **name,
                              struct inj_err *err)
{
    const char *slash = strrchr(path, '/');
    int n;

    if (path[0] != '/' || !slash)
        return inj_err_set(err, INJ_E_CONFIG, "%s: not an absolute path", path);
    if (!slash[1])
        return inj_err_set(err, INJ_E_CONFIG, "%s: names a directory, not a file", path);
    if (strlen(path) >= size || strlen(slash + 1) > 255)
        return inj_err_set(err, INJ_E_CONFIG, "%s: path too long", path);
    n = snprintf(dir, size, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    if (n < 0 || (size_t)n >= size)
        return inj_err_set(err, INJ_E_CONFIG, "%s: path too long", path);
    *name = slash + 1;
    return INJ_OK;
}

/* The app's user: who may own a directory on the way besides root and us. */
static uid_t sink_app_uid(const struct sink_files *fs)
{
    return fs && fs->chown ? fs->uid : geteuid();
}

enum inj_rc sink_file_check(const struct sink_files *fs, const char *path, int allow_disk,
                            struct inj_err *err)
{
    enum inj_rc rc;
    char dir[4096];
    char reached[4096];
    const char *name = NULL;
    struct statfs sfs;
    int missing = 0;
    int fd;

    rc = sink_split(path, dir, sizeof(dir), &name, err);
    if (rc != INJ_OK)
        return rc;
    fd = sink_walk(NULL, sink_app_uid(fs), path, dir, reached, sizeof(reached), &missing, err);
    if (fd < 0)
        return err->code;
    if (!missing) {
        rc = sink_check_target(path, dir, fd, name, allow_disk, err);
    } else if (fstatfs(fd, &sfs) != 0) {
        /* The directories the real run creates live on the nearest existing one's fs. */
        rc = inj_err_set(err, INJ_E_IO, "%s: cannot inspect directory %s: %s", path, reached,
                         strerror(errno));
    } else {
        rc = sink_check_fs(path, reached, &sfs, allow_disk, err);
    }
    (void)close(fd);
    return rc;
}

static struct sink_dir *sink_find_dir(struct sink_files *fs, const char *dir)
{
    size_t i;

    for (i = 0; fs && i < fs->ndirs; i++)
        if (!strcmp(fs->dirs[i].path, dir))
            return &fs->dirs[i];
    return NULL;
}

/* A directory validated at start whose path now leads elsewhere (or nowhere): the app renamed
 * or replaced something on the way. Writes keep going into the validated inode (docs/security.md
 * section 4); this only says so, once. */
static void sink_warn_moved(struct sink_dir *d)
{
    struct inj_err e;
    struct stat st;
    int fd;
    int same = 0;

    if (d->moved_warned)
        return;
    memset(&e, 0, sizeof(e));
    fd = open(d->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        same = fstat(fd, &st) == 0 && st.st_dev == d->dev && st.st_ino == d->ino;
        (void)close(fd);
    }
    if (same)
        return;
    d->moved_warned = 1;
    log_warn("%s no longer leads to the directory checked at start (moved or replaced); "
             "files keep going into that directory, not where the path leads now",
             d->path);
}

/* The directory for path: one already walked (ours, or the anchors' from the start), else
 * walked now and remembered. */
static struct sink_dir *sink_dir_for(struct sink_files *fs, const char *path, const char *dir,
                                     struct inj_err *err)
{
    struct sink_dir *d = sink_find_dir(fs, dir);
    struct sink_dir *nd;
    struct stat st;
    char *p;
    int fd;

    if (d)
        return d;
    d = sink_find_dir(fs->anchors, dir);
    if (d) {
        sink_warn_moved(d);
        return d;
    }
    fd = sink_walk(fs, sink_app_uid(fs), path, dir, NULL, 0, NULL, err);
    if (fd < 0)
        return NULL;
    p = xstrdup(dir);
    nd = realloc(fs->dirs, (fs->ndirs + 1) * sizeof(*nd));
    if (nd)
        fs->dirs = nd;
    if (!p || !nd || fstat(fd, &st) != 0) {
        inj_err_set(err, p && nd ? INJ_E_IO : INJ_E_NOMEM, "%s: cannot keep directory %s: %s", path,
                    dir, p && nd ? strerror(errno) : "out of memory");
        free(p);
        (void)close(fd);
        return NULL;
    }
    d = &fs->dirs[fs->ndirs++];
    memset(d, 0, sizeof(*d));
    d->path = p;
    d->fd = fd;
    d->dev = st.st_dev;
    d->ino = st.st_ino;
    return d;
}

enum inj_rc sink_file_stage(struct sink_files *fs, const char *path, unsigned int mode,
                            int allow_disk, const unsigned char *data, size_t len,
                            struct inj_err *err)
{
    enum inj_rc rc = INJ_E_IO;
    struct sink_file *nv = NULL;
    struct sink_file *f;
    const struct sink_dir *d;
    char dir[4096];
    char tmp[4200];
    unsigned char rnd[6];
    const char *name = NULL;
    int fd = -1;
    int n;

    rc = sink_split(path, dir, sizeof(dir), &name, err);
    if (rc != INJ_OK)
        return rc;
    d = sink_dir_for(fs, path, dir, err);
    if (!d)
        return err->code;
    rc = sink_check_target(path, dir, d->fd, name, allow_disk, err);
    if (rc != INJ_OK)
        return rc;
    if (RAND_bytes(rnd, sizeof(rnd)) != 1)
        return inj_err_set(err, INJ_E_SOFTWARE, "no randomness for a temp file name");
    n = snprintf(tmp, sizeof(tmp), "%s%s.%s.injector-%02x%02x%02x%02x%02x%02x",
                 strcmp(dir, "/") ? dir : "", "/", name, rnd[0], rnd[1], rnd[2], rnd[3], rnd[4],
                 rnd[5]);
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return inj_err_set(err, INJ_E_CONFIG, "%s: path too long", path);
    nv = realloc(fs->v, (fs->n + 1) * sizeof(*nv));
    if (!nv)
        return inj_err_set(err, INJ_E_NOMEM, "out of memory");
    fs->v = nv;
    f = &fs->v[fs->n];
    memset(f, 0, sizeof(*f));
    f->path = xstrdup(path);
    f->tmp = xstrdup(tmp);
    f->old_fd = -1;
    f->dir_fd = d->fd;
    if (!f->path || !f->tmp) {
        free(f->path);
        free(f->tmp);
        return inj_err_set(err, INJ_E_NOMEM, "out of memory");
    }
    f->name = f->path + (name - path);
    f->tmpname = strrchr(f->tmp, '/') + 1;
    fd = openat(f->dir_fd, f->tmpname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                (mode_t)(mode & 0700));
    if (fd < 0) {
        rc = inj_err_set(err, INJ_E_IO, "%s: cannot create a file in its directory: %s", path,
                         strerror(errno));
        free(f->path);
        free(f->tmp);
        return rc;
    }
    fs->n++;
    /* The mode is exact (umask ignored) and applied before any byte of the secret lands. */
    if ((fs->chown && fchown(fd, fs->uid, fs->gid) != 0) || fchmod(fd, (mode_t)mode) != 0 ||
        sink_write_all(fd, data, len) != 0 || fsync(fd) != 0) {
        rc = inj_err_set(err, INJ_E_IO, "%s: cannot write: %s", path, strerror(errno));
        (void)close(fd);
        return rc;
    }
    if (close(fd) != 0)
        return inj_err_set(err, INJ_E_IO, "%s: cannot write: %s", path, strerror(errno));
    return INJ_OK;
}

/* O_PATH descriptors cannot be fsynced: the directory itself, opened through one. */
static void sink_fsync_dir(int dfd)
{
    int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0)
        return;
    (void)fsync(fd);
    (void)close(fd);
}

/* The regular file at name in dfd, open for reading, or -1. */
static int sink_open_old(int dfd, const char *name)
{
    struct stat st;
    int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

    if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
        (void)close(fd);
        fd = -1;
    }
    return fd;
}

/* Puts the replaced file back at f->path: its content (from the still open old inode), mode
 * and owner, through a temp file and a rename, all in f->dir_fd. 0 on success. */
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
    fd = openat(f->dir_fd, f->tmpname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
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
    if (ok && renameat(f->dir_fd, f->tmpname, f->dir_fd, f->name) == 0)
        return 0;
    (void)unlinkat(f->dir_fd, f->tmpname, 0);
    return -1;
}

enum inj_rc sink_files_commit(struct sink_files *fs, struct inj_err *err)
{
    size_t i;

    for (i = 0; i < fs->n; i++) {
        struct sink_file *f = &fs->v[i];

        if (f->old_fd < 0)
            f->old_fd = sink_open_old(f->dir_fd, f->name);
        if (renameat(f->dir_fd, f->tmpname, f->dir_fd, f->name) != 0)
            return inj_err_set(err, INJ_E_IO, "%s: cannot move the file into place: %s", f->path,
                               strerror(errno));
        f->committed = 1;
        sink_fsync_dir(f->dir_fd);
    }
    return INJ_OK;
}

void sink_files_abort(struct sink_files *fs)
{
    size_t i;

    for (i = 0; i < fs->n; i++) {
        const struct sink_file *f = &fs->v[i];

        if (!f->committed)
            (void)unlinkat(f->dir_fd, f->tmpname, 0);
        else if (f->old_fd < 0 || sink_restore(f) != 0)
            (void)unlinkat(f->dir_fd, f->name, 0); /* never leave the new secret behind */
    }
    for (i = fs->nmade; i > 0; i--)
        (void)unlinkat(fs->made[i - 1].parent_fd, fs->made[i - 1].name, AT_REMOVEDIR);
}

void sink_files_discard(struct sink_files *fs)
{
    size_t i;

    for (i = 0; i < fs->n; i++)
        if (!fs->v[i].committed)
            (void)unlinkat(fs->v[i].dir_fd, fs->v[i].tmpname, 0);
}

void sink_files_release_old(struct sink_files *fs)
{
    size_t i;

    for (i = 0; i < fs->n; i++) {
        if (fs->v[i].old_fd >= 0)
            (void)close(fs->v[i].old_fd);
        fs->v[i].old_fd = -1;
    }
}

void sink_files_free(struct sink_files *fs)
{
    size_t i;

    sink_files_release_old(fs);
    for (i = 0; i < fs->n; i++) {
        free(fs->v[i].path);
        free(fs->v[i].tmp);
    }
    for (i = 0; i < fs->ndirs; i++) {
        free(fs->dirs[i].path);
        (void)close(fs->dirs[i].fd);
    }
    for (i = 0; i < fs->nmade; i++) {
        free(fs->made[i].name);
        (void)close(fs->made[i].parent_fd);
    }
    free(fs->v);
    free(fs->dirs);
    free(fs->made);
    memset(fs, 0, sizeof(*fs));
}
