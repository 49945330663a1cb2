/* export.h: `injector export`: resolved variables printed for another consumer, quoted for
 * it: a POSIX shell (eval), a dotenv file (read the same by sh/bash sourcing, python-dotenv
 * and docker compose), JSON, or GitHub Actions' $GITHUB_ENV (heredoc form, random
 * delimiter). The output is built whole, then written: a value that cannot be represented
 * prints nothing at all. */
#ifndef INJ_EXPORT_H
#define INJ_EXPORT_H

#include <stddef.h>

#include "err.h"
#include "sbuf.h"

enum export_format { EXPORT_SHELL, EXPORT_DOTENV, EXPORT_JSON, EXPORT_GITHUB };

/* "shell", "dotenv", "json", "github" -> the format; -1 when unknown. */
int export_format_parse(const char *s);

struct export_var {
    const char *name;           /* a valid env name, borrowed */
    const unsigned char *value; /* borrowed */
    size_t len;
};

/* Appends the n variables in format f to out (which holds secrets: the caller wipes it).
 * INJ_E_DATA, err naming the variable (never the value), when a value cannot be represented:
 * a NUL byte (any format), invalid UTF-8 (json, github, dotenv), and for dotenv what no
 * quoting makes sh and python-dotenv read the same: "${", a CR, ' or \ with $ or `, a
 * trailing \. */
enum inj_rc export_render(enum export_format f, const struct export_var *vars, size_t n,
                          struct sbuf *out, struct inj_err *err);

/* Writes p[0..len) to fd, looping on short writes and EINTR. INJ_E_IO on failure. */
enum inj_rc export_write(int fd, const unsigned char *p, size_t len, struct inj_err *err);

/* GitHub Actions masking: appends "::add-mask::LINE\n" to out for every line of every value
 * (lines split at CR and LF, as the runner splits a masked value; lines empty or only blanks
 * skipped, the runner refuses those), with '%' written %25 (the runner unescapes %25, %0D and
 * %0A in a command's data). The runner reads workflow commands from the step's stdout; a
 * value with several lines needs a mask per line (a masked "a\nb" alone would not hide "a"
 * printed on its own line). out holds secrets: the caller wipes it. */
enum inj_rc export_render_masks(const struct export_var *vars, size_t n, struct sbuf *out,
                                struct inj_err *err);

/* Appends p[0..len) to the existing regular file path (O_APPEND, no O_CREAT, no symlink):
 * the file $GITHUB_ENV names, which the runner created for the step. INJ_E_IO on failure. */
enum inj_rc export_append_file(const char *path, const unsigned char *p, size_t len,
                               struct inj_err *err);

#endif
