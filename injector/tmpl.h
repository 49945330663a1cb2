/* tmpl.h: entry templates, a tiny language of our own that composes one value from secret
 * fields: "postgresql://{{ .username | urlencode }}:{{ .password | urlencode }}@{{ .host }}/db".
 * docs/config.md ("Templates") is the reference. tmpl_parse needs no secret: syntax errors,
 * unknown filters and bad secret references are config errors (`injector check` finds them);
 * tmpl_render reports fields missing from the fetched secrets. Messages never hold a value. */
#ifndef INJ_TMPL_H
#define INJ_TMPL_H

#include <stddef.h>

#include "err.h"
#include "ref.h"
#include "sbuf.h"

#define TMPL_MAX_TEXT (64u * 1024u)
/* A rendered value (and every intermediate one) is at most this long. */
#define TMPL_MAX_VALUE (256u * 1024u)

struct tmpl;

/* Compiles text (borrowed) into *out (owned; tmpl_free). On failure (INJ_E_CONFIG, or
 * INJ_E_NOMEM) *out is NULL and err reads "template: column N: what is wrong". */
enum inj_rc tmpl_parse(const char *text, struct tmpl **out, struct inj_err *err);
void tmpl_free(struct tmpl *t);

/* 1 when the template reads the entry's own secret (`.` or `.field`). */
int tmpl_uses_dot(const struct tmpl *t);

/* The distinct secrets named with `secret "ID"` (deduplicated with ref_same_fetch), in order of
 * first use; index i is src[i] for tmpl_render. Borrowed from t. */
size_t tmpl_nsources(const struct tmpl *t);
const struct ref *tmpl_source(const struct tmpl *t, size_t i);
/* The ID text as written, e.g. "api" or "rds!db-...::AWSPREVIOUS". */
const char *tmpl_source_text(const struct tmpl *t, size_t i);

/* One fetched secret, as the template sees it. Everything borrowed. */
struct tmpl_input {
    const unsigned char *p; /* the SecretString, or the SecretBinary bytes */
    size_t len;
    const char *arn;        /* for messages */
    const char *version_id; /* for messages, may be NULL */
};

/* Renders t, appending to out. dot is the entry's own secret (may be NULL when
 * !tmpl_uses_dot(t)); src has tmpl_nsources(t) elements. Fails with INJ_E_MISSING when a
 * field is missing and no `default` follows (err names the field, the secret's ARN and the
 * keys it has), INJ_E_DATA when a field is asked of a secret that is not JSON (jx_parse: also
 * NUL, and any key repeated in an object, naming it and where) or a filter cannot encode the
 * value, INJ_E_NOMEM. On failure out may hold a partial value: the caller
 * wipes it. */
enum inj_rc tmpl_render(const struct tmpl *t, const struct tmpl_input *dot,
                        const struct tmpl_input *src, struct sbuf *out, struct inj_err *err);

/* The filters on their own (also used for `encoding: base64`); they append to out. */
enum inj_rc tmpl_urlencode(const unsigned char *p, size_t len, struct sbuf *out);
enum inj_rc tmpl_base64(const unsigned char *p, size_t len, struct sbuf *out);
/* A JSON string literal ("..." with escapes). INJ_E_DATA when p is not valid UTF-8. */
enum inj_rc tmpl_json_quote(const unsigned char *p, size_t len, struct sbuf *out);

#endif
