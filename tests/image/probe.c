/* probe.c: the "application" tests/integration/test_image.py runs in an empty chroot, after
 * the static injector has fetched the secrets and exec'd it. Built static (musl-gcc -static,
 * or gcc -static), so it needs nothing from the chroot either.
 *
 * usage: probe REPORT [env:NAME | file:PATH]...
 *
 * Writes REPORT (a file outside the tmpfs, on the host's side of the chroot), one line per
 * item, values hex-encoded so that nothing of them reaches stdout or stderr, which the test
 * greps for leaks:
 *   pid PID uid UID
 *   env NAME HEX              or   env NAME -   when unset
 *   file PATH MODE SIZE FSTYPE HEX    or   file PATH -   when missing
 * FSTYPE is "tmpfs" when statfs says so, else the magic number in hex.
 * Exits 0 when every item was found, 3 otherwise, 2 on usage or I/O errors. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#define TMPFS_MAGIC_NR 0x01021994L

static void put_hex(FILE *f, const unsigned char *p, size_t n)
{
    size_t i;

    if (n == 0)
        fputs("\"\"", f);
    for (i = 0; i < n; i++)
        fprintf(f, "%02x", p[i]);
}

static int report_file(FILE *out, const char *path)
{
    unsigned char buf[65536];
    struct stat st;
    struct statfs sf;
    size_t got = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

    if (fd < 0 || fstat(fd, &st) != 0 || fstatfs(fd, &sf) != 0) {
        fprintf(out, "file %s -\n", path);
        if (fd >= 0)
            close(fd);
        return 0;
    }
    while (got < sizeof(buf)) {
        ssize_t r = read(fd, buf + got, sizeof(buf) - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    fprintf(out, "file %s %04o %lld ", path, (unsigned)(st.st_mode & 07777),
            (long long)st.st_size);
    if ((long)sf.f_type == TMPFS_MAGIC_NR)
        fputs("tmpfs ", out);
    else
        fprintf(out, "%lx ", (unsigned long)sf.f_type);
    put_hex(out, buf, got);
    fputc('\n', out);
    return 1;
}

int main(int argc, char **argv)
{
    FILE *out;
    int ok = 1;
    int i;

    if (argc < 2) {
        fputs("usage: probe REPORT [env:NAME | file:PATH]...\n", stderr);
        return 2;
    }
    out = fopen(argv[1], "w");
    if (!out) {
        perror(argv[1]);
        return 2;
    }
    fprintf(out, "pid %ld uid %ld\n", (long)getpid(), (long)getuid());
    for (i = 2; i < argc; i++) {
        if (!strncmp(argv[i], "env:", 4)) {
            const char *v = getenv(argv[i] + 4);
            fprintf(out, "env %s ", argv[i] + 4);
            if (v)
                put_hex(out, (const unsigned char *)v, strlen(v));
            else
                fputc('-', out);
            fputc('\n', out);
            ok &= v != NULL;
        } else if (!strncmp(argv[i], "file:", 5)) {
            ok &= report_file(out, argv[i] + 5);
        } else {
            fprintf(stderr, "probe: bad item %s\n", argv[i]);
            ok = 0;
        }
    }
    if (fclose(out) != 0) {
        perror(argv[1]);
        return 2;
    }
    return ok ? 0 : 3;
}
