/* export.c: quoting values for shells, dotenv files, JSON and $GITHUB_ENV. */
#include "export.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jx.h"
#include "tmpl.h"

int export_format_parse(const char *s)
{
    if (!strcmp(s, "shell"))
        return EXPORT_SHELL;
    if (!strcmp(s, "dotenv"))
        return EXPORT_DOTENV;
    if (!strcmp(s, "json"))
        return EXPORT_JSON;
    if (!strcmp(s, "github"))
        return EXPORT_GITHUB;
    return -1;
}

static enum inj_rc export_put(struct sbuf *out, const void *p, size_t n)
{
    enum sbuf_rc r = sbuf_append(out, p, n);

    if (r == SBUF_OK)
        return INJ_OK;
    return r == SBUF_TOOBIG ? INJ_E_DATA : INJ_E_NOMEM;
}

static enum inj_rc export_puts(struct sbuf *out, const char *s)
{
    return export_put(out, s, strlen(s));
}

/* POSIX sh: everything inside '...' is literal (newlines too); a ' is written '\''. */
static enum inj_rc export_shell(const struct export_var *v, struct sbuf *out)
{
    enum inj_rc rc;
    size_t i;
    size_t run = 0;

    rc = export_puts(out, "export ");
    if (rc == INJ_OK)
        rc = export_puts(out, v->name);
    if (rc == INJ_OK)
        rc = export_puts(out, "='");
    for (i = 0; i <= v->len && rc == INJ_OK; i++) {
        if (i < v->len && v->value[i] != '\'') {
            run++;
            continue;
        }
        rc = export_put(out, v->value + i - run, run);
        run = 0;
        if (rc == INJ_OK && i < v->len)
            rc = export_puts(out, "'\\''");
    }
    if (rc == INJ_OK)
        rc = export_puts(out, "'\n");
    return rc;
}

/* dotenv: one file that a POSIX shell (`. FILE`, `set -a; . FILE`), python-dotenv (which
 * expands ${NAME} in any value and unescapes \\ and \' even in single quotes) and docker
 * compose (compose-go: single quotes literal, double quotes unescape \\ \" and expand $)
 * all read back byte for byte, nothing executed:
 *  - 'VALUE' when the value has no ' and no \ (newlines, $, ` and " are literal in all three);
 *  - else "VALUE" with \ and " written \\ and \", when it has no $ and no ` (a shell expands
 *    both inside double quotes; python-dotenv keeps a backslash put before them).
 * export_dotenv_check refuses the rest. */
static enum inj_rc export_dotenv_check(const struct export_var *v, struct inj_err *err)
{
    const char *why = NULL;
    int quote = memchr(v->value, '\'', v->len) || memchr(v->value, '\\', v->len);

    if (!jx_utf8_valid(v->value, v->len))
        why = "is not valid UTF-8, which python-dotenv cannot read";
    else if (memchr(v->value, '\r', v->len))
        why = "holds a carriage return, which dotenv readers turn into a newline";
    else if (memmem(v->value, v->len, "${", 2))
        why = "holds \"${\", which python-dotenv expands even inside quotes";
    else if (quote && (memchr(v->value, '$', v->len) || memchr(v->value, '`', v->len)))
        why = "holds ' or \\ (double quotes needed) together with $ or ` (which a shell "
              "expands inside double quotes)";
    else if (v->len && v->value[v->len - 1] == '\\')
        why = "ends with a backslash, which python-dotenv takes for an escaped closing quote";
    if (!why)
        return INJ_OK;
    return inj_err_set(err, INJ_E_DATA,
                       "%s: the value %s; --format dotenv cannot hold it so that sh, bash and "
                       "python-dotenv all read it back unchanged (use --format shell or json, "
                       "or encoding: base64)",
                       v->name, why);
}

static enum inj_rc export_dotenv(const struct export_var *v, struct sbuf *out)
{
    enum inj_rc rc;
    size_t i;
    int dq = memchr(v->value, '\'', v->len) || memchr(v->value, '\\', v->len);

    rc = export_puts(out, v->name);
    if (rc == INJ_OK)
        rc = export_puts(out, dq ? "=\"" : "='");
    if (!dq) {
        if (rc == INJ_OK)
            rc = export_put(out, v->value, v->len);
        if (rc == INJ_OK)
            rc = export_puts(out, "'\n");
        return rc;
    }
    for (i = 0; i < v->len && rc == INJ_OK; i++) {
        unsigned char c = v->value[i];
        if (c == '\\' || c == '"')
            rc = export_put(out, "\\", 1);
        if (rc == INJ_OK)
            rc = export_put(out, &c, 1);
    }
    if (rc == INJ_OK)
        rc = export_puts(out, "\"\n");
    return rc;
}

/* $GITHUB_ENV heredoc form: NAME<<DELIM, the value, a newline, DELIM. The runner takes the
 * lines up to the first line equal to DELIM; a random DELIM that occurs nowhere in the value
 * cannot be forged by it (GitHub's own advice for untrusted values). */
static enum inj_rc export_github(const struct export_var *v, struct sbuf *out)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char rnd[16];
    char delim[14 + 2 * sizeof(rnd) + 1];
    enum inj_rc rc;
    size_t i;
    int tries;

    for (tries = 0;; tries++) {
        if (tries == 8 || RAND_bytes(rnd, (int)sizeof(rnd)) != 1)
            return INJ_E_SOFTWARE;
        memcpy(delim, "ghadelimiter_", 13);
        for (i = 0; i < sizeof(rnd); i++) {
            delim[13 + 2 * i] = hex[rnd[i] >> 4];
            delim[14 + 2 * i] = hex[rnd[i] & 15];
        }
        delim[13 + 2 * sizeof(rnd)] = '\0';
        if (!memmem(v->value, v->len, delim, strlen(delim)))
            break;
    }
    rc = export_puts(out, v->name);
    if (rc == INJ_OK)
        rc = export_puts(out, "<<");
    if (rc == INJ_OK)
        rc = export_puts(out, delim);
    if (rc == INJ_OK)
        rc = export_puts(out, "\n");
    if (rc == INJ_OK)
        rc = export_put(out, v->value, v->len);
    if (rc == INJ_OK)
        rc = export_puts(out, "\n");
    if (rc == INJ_OK)
        rc = export_puts(out, delim);
    if (rc == INJ_OK)
        rc = export_puts(out, "\n");
    return rc;
}

enum inj_rc export_render(enum export_format f, const struct export_var *vars, size_t n,
                          struct sbuf *out, struct inj_err *err)
{
    enum inj_rc rc = INJ_OK;
    size_t i;

    if (f == EXPORT_JSON)
        rc = export_puts(out, n ? "{\n" : "{");
    for (i = 0; i < n && rc == INJ_OK; i++) {
        const struct export_var *v = &vars[i];

        if (memchr(v->value, '\0', v->len))
            return inj_err_set(err, INJ_E_DATA,
                               "%s: the value contains a NUL byte, which no export format can "
                               "hold; use encoding: base64",
                               v->name);
        if ((f == EXPORT_JSON || f == EXPORT_GITHUB) && !jx_utf8_valid(v->value, v->len))
            return inj_err_set(err, INJ_E_DATA,
                               "%s: the value is not valid UTF-8, which --format %s cannot "
                               "hold; use encoding: base64",
                               v->name, f == EXPORT_JSON ? "json" : "github");
        if (f == EXPORT_DOTENV && export_dotenv_check(v, err) != INJ_OK)
            return INJ_E_DATA;
        switch (f) {
        case EXPORT_SHELL:
            rc = export_shell(v, out);
            break;
        case EXPORT_DOTENV:
            rc = export_dotenv(v, out);
            break;
        case EXPORT_JSON:
            rc = export_puts(out, "  ");
            if (rc == INJ_OK)
                rc = tmpl_json_quote((const unsigned char *)v->name, strlen(v->name), out);
            if (rc == INJ_OK)
                rc = export_puts(out, ": ");
            if (rc == INJ_OK)
                rc = tmpl_json_quote(v->value, v->len, out);
            if (rc == INJ_OK)
                rc = export_puts(out, i + 1 < n ? ",\n" : "\n");
            break;
        case EXPORT_GITHUB:
            rc = export_github(v, out);
            break;
        default:
            rc = INJ_E_SOFTWARE;
            break;
        }
    }
    if (rc == INJ_OK && f == EXPORT_JSON)
        rc = export_puts(out, "}\n");
    if (rc == INJ_E_DATA)
        return inj_err_set(err, rc, "export: output larger than %zu bytes", out->max);
    if (rc == INJ_E_SOFTWARE)
        return inj_err_set(err, rc, "export: no random bytes for the delimiter");
    if (rc != INJ_OK)
        return inj_err_set(err, rc, "out of memory");
    return INJ_OK;
}

/* One line of a value as a mask command: ::add-mask::LINE, '%' as %25. */
static enum inj_rc export_mask_line(const unsigned char *p, size_t len, struct sbuf *out)
{
    enum inj_rc rc = INJ_OK;
    size_t i;
    size_t run = 0;
    int blank = 1;

    for (i = 0; i < len; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\v' && p[i] != '\f')
            blank = 0;
    if (blank)
        return INJ_OK;
    rc = export_puts(out, "::add-mask::");
    for (i = 0; i <= len && rc == INJ_OK; i++) {
        if (i < len && p[i] != '%') {
            run++;
            continue;
        }
        rc = export_put(out, p + i - run, run);
        run = 0;
        if (rc == INJ_OK && i < len)
            rc = export_puts(out, "%25");
    }
    if (rc == INJ_OK)
        rc = export_puts(out, "\n");
    return rc;
}

enum inj_rc export_render_masks(const struct export_var *vars, size_t n, struct sbuf *out,
                                struct inj_err *err)
{
    enum inj_rc rc = INJ_OK;
    size_t i;
    size_t k;

    for (i = 0; i < n && rc == INJ_OK; i++) {
        const unsigned char *v = vars[i].value;
        size_t start = 0;

        for (k = 0; k <= vars[i].len && rc == INJ_OK; k++) {
            if (k < vars[i].len && v[k] != '\r' && v[k] != '\n')
                continue;
            rc = export_mask_line(v + start, k - start, out);
            start = k + 1;
        }
    }
    if (rc == INJ_E_DATA)
        return inj_err_set(err, rc, "export: masks larger than %zu bytes", out->max);
    if (rc != INJ_OK)
        return inj_err_set(err, rc, "out of memory");
    return INJ_OK;
}

enum inj_rc export_append_file(const char *path, const unsigned char *p, size_t len,
                               struct inj_err *err)
{
    struct stat st;
    enum inj_rc rc;
    int fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);

    if (fd < 0)
        return inj_err_set(err, INJ_E_IO, "export: GITHUB_ENV=%s: %s", path, strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        (void)close(fd);
        return inj_err_set(err, INJ_E_IO, "export: GITHUB_ENV=%s: not a regular file", path);
    }
    rc = export_write(fd, p, len, err);
    if (rc != INJ_OK)
        (void)inj_err_set(err, rc, "export: writing to GITHUB_ENV=%s: %s", path, strerror(errno));
    if (close(fd) != 0 && rc == INJ_OK)
        rc = inj_err_set(err, INJ_E_IO, "export: GITHUB_ENV=%s: %s", path, strerror(errno));
    return rc;
}

enum inj_rc export_write(int fd, const unsigned char *p, size_t len, struct inj_err *err)
{
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return inj_err_set(err, INJ_E_IO, "export: writing to stdout: %s", strerror(errno));
        p += w;
        len -= (size_t)w;
    }
    return INJ_OK;
}
