/* unit.h: what every cmocka unit test includes, plus small helpers (temp dirs, files,
 * message checks). Helpers are static inline so a test that does not use one still builds
 * with -Werror. */
#ifndef INJ_UNIT_H
#define INJ_UNIT_H

/* cmocka.h needs these first. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "err.h"

#define UNIT_ERR_INIT                 \
    {                                 \
        INJ_OK, {0}, NULL, NULL, NULL \
    }

/* Fails (printing both) unless haystack contains needle. */
#define assert_contains(haystack, needle) \
    unit_assert_contains((haystack), (needle), __FILE__, __LINE__)

static inline void unit_assert_contains(const char *h, const char *n, const char *file, int line)
{
    if (!h || !n || !strstr(h, n)) {
        print_error("%s:%d: expected \"%s\" in \"%s\"\n", file, line, n ? n : "(null)",
                    h ? h : "(null)");
        _fail(file, line);
    }
}

/* Fails unless haystack does not contain needle (used for "no secret value in a message"). */
#define assert_not_contains(haystack, needle) \
    unit_assert_not_contains((haystack), (needle), __FILE__, __LINE__)

static inline void unit_assert_not_contains(const char *h, const char *n, const char *file,
                                            int line)
{
    if (h && n && strstr(h, n)) {
        print_error("%s:%d: did not expect \"%s\" in \"%s\"\n", file, line, n, h);
        _fail(file, line);
    }
}

/* A fresh directory under $TMPDIR (or /tmp), written into buf. Returns buf. */
static inline char *unit_mkdtemp(char *buf, size_t n)
{
    const char *base = getenv("TMPDIR");
    int w;

    if (!base || !*base)
        base = "/tmp";
    w = snprintf(buf, n, "%s/inj-unit-XXXXXX", base);
    assert_true(w > 0 && (size_t)w < n);
    assert_non_null(mkdtemp(buf));
    return buf;
}

static inline int unit_rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* rm -rf dir (does not follow symlinks). */
static inline void unit_rmtree(const char *dir)
{
    (void)nftw(dir, unit_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* dir + "/" + name into buf (asserts it fits). */
static inline char *unit_join(char *buf, size_t n, const char *dir, const char *name)
{
    int w = snprintf(buf, n, "%s/%s", dir, name);

    assert_true(w > 0 && (size_t)w < n);
    return buf;
}

/* Creates (or truncates) path with exactly data[0..len) and mode. */
static inline void unit_write_file(const char *path, const void *data, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    const unsigned char *p = data;

    assert_true(fd >= 0);
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        assert_true(w > 0);
        p += w;
        len -= (size_t)w;
    }
    assert_int_equal(fchmod(fd, mode), 0);
    assert_int_equal(close(fd), 0);
}

/* Reads path into a malloc'd NUL-terminated buffer (*len set when not NULL). */
static inline char *unit_read_file(const char *path, size_t *len)
{
    struct stat st;
    char *buf;
    size_t got = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    assert_true(fd >= 0);
    assert_int_equal(fstat(fd, &st), 0);
    buf = malloc((size_t)st.st_size + 1);
    assert_non_null(buf);
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        assert_true(r > 0);
        got += (size_t)r;
    }
    buf[got] = '\0';
    (void)close(fd);
    if (len)
        *len = got;
    return buf;
}

/* Number of entries in dir, "." and ".." not counted. */
static inline size_t unit_count_entries(const char *dir)
{
    size_t n = 0;
    DIR *d;
    struct dirent *de;

    d = opendir(dir);
    assert_non_null(d);
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            n++;
    (void)closedir(d);
    return n;
}

#endif
