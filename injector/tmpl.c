/* tmpl.c: parsing and rendering entry templates. The language, in full:
 *   text {{ OPERAND [| FILTER]... }} text
 *   OPERAND: .  .a.b  ."key with/odd chars".c  "literal"  secret "ID"  secret "ID" .a.b
 *   FILTER:  urlencode  json  base64  default "x"
 * Array elements are reached with digits (.list.0). Nothing else: no conditionals, no loops,
 * no functions with side effects. */
#include "tmpl.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jx.h"

#define TMPL_MAX_NODES 1024
#define TMPL_MAX_PATH 32
#define TMPL_MAX_FILTERS 16
#define TMPL_MAX_SOURCES 64

enum tmpl_filter_kind { TF_URLENCODE, TF_JSON, TF_BASE64, TF_DEFAULT };

struct tmpl_filter {
    enum tmpl_filter_kind kind;
    char *arg; /* default's text */
    size_t arglen;
};

enum tmpl_node_kind { TN_TEXT, TN_LITERAL, TN_FIELD };

struct tmpl_node {
    enum tmpl_node_kind kind;
    char *text; /* TN_TEXT, TN_LITERAL: the bytes; TN_FIELD: NULL */
    size_t len;
    int src;     /* TN_FIELD: -1 for the entry's own secret, else a source index */
    char **path; /* TN_FIELD: keys (or array indexes) from the root; none: whole */
    size_t npath;
    struct tmpl_filter *filters;
    size_t nfilters;
    char *expr; /* the action's text (no value in it), for messages */
};

struct tmpl {
    struct tmpl_node *v;
    size_t n;
    struct ref *srcs;
    char **srctext;
    size_t nsrc;
    int uses_dot;
};

struct tmpl_parser {
    const char *s;
    size_t i;
    size_t len;
    struct tmpl *t;
    struct inj_err *err;
};

static const char *const tmpl_filter_names[] = {"urlencode", "json", "base64", "default"};

/* ---- parsing ---- */

static enum inj_rc tmpl_perr(const struct tmpl_parser *p, size_t at, const char *what)
{
    size_t line = 1;
    size_t col = 1;
    size_t k;

    for (k = 0; k < at && k < p->len; k++) {
        if (p->s[k] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    if (line > 1)
        return inj_err_set(p->err, INJ_E_CONFIG, "template: line %zu, column %zu: %s", line, col,
                           what);
    return inj_err_set(p->err, INJ_E_CONFIG, "template: column %zu: %s", col, what);
}

static void tmpl_ws(struct tmpl_parser *p)
{
    while (p->i < p->len && strchr(" \t\r\n", p->s[p->i]))
        p->i++;
}

static int tmpl_ident_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

/* A "..." literal with \" \\ \n \t escapes, into a fresh NUL-terminated buffer. */
static enum inj_rc tmpl_string(struct tmpl_parser *p, char **out, size_t *outlen)
{
    size_t start = p->i;
    size_t n = 0;
    char *buf;

    *out = NULL;
    if (p->i >= p->len || p->s[p->i] != '"')
        return tmpl_perr(p, p->i, "expected a \"quoted string\"");
    buf = malloc(p->len - p->i + 1);
    if (!buf)
        return inj_err_set(p->err, INJ_E_NOMEM, "out of memory");
    for (p->i++; p->i < p->len && p->s[p->i] != '"'; p->i++) {
        char c = p->s[p->i];
        if (c == '\\') {
            char e = p->i + 1 < p->len ? p->s[p->i + 1] : '\0';
            if (e == '"' || e == '\\')
                c = e;
            else if (e == 'n')
                c = '\n';
            else if (e == 't')
                c = '\t';
            else {
                free(buf);
                return tmpl_perr(p, p->i, "unknown escape in a string (known: \\\" \\\\ \\n \\t)");
            }
            p->i++;
        }
        buf[n++] = c;
    }
    if (p->i >= p->len) {
        free(buf);
        return tmpl_perr(p, start, "string not closed with \"");
    }
    p->i++;
    buf[n] = '\0';
    *out = buf;
    *outlen = n;
    return INJ_OK;
}

/* .a.b or ."x/y".c or a lone "." (then npath is 0). */
static enum inj_rc tmpl_path(struct tmpl_parser *p, struct tmpl_node *nd)
{
    enum inj_rc rc;

    while (p->i < p->len && p->s[p->i] == '.') {
        size_t seg_at = p->i;
        char *seg = NULL;
        size_t seglen = 0;
        char **grown;

        p->i++;
        if (p->i < p->len && p->s[p->i] == '"') {
            rc = tmpl_string(p, &seg, &seglen);
            if (rc != INJ_OK)
                return rc;
            if (!seg || memchr(seg, '\0', seglen)) {
                free(seg);
                return tmpl_perr(p, seg_at, "a key cannot contain a NUL");
            }
        } else if (p->i < p->len && tmpl_ident_char(p->s[p->i])) {
            size_t st = p->i;
            while (p->i < p->len && tmpl_ident_char(p->s[p->i]))
                p->i++;
            seg = xmemdup(p->s + st, p->i - st);
            if (!seg)
                return inj_err_set(p->err, INJ_E_NOMEM, "out of memory");
        } else {
            if (nd->npath == 0 && seg_at + 1 == p->i)
                return INJ_OK; /* a lone "." is the whole secret */
            return tmpl_perr(p, p->i,
                             "expected a key after \".\" (letters, digits, _ and -, "
                             "or a \"quoted key\")");
        }
        if (nd->npath >= TMPL_MAX_PATH) {
            free(seg);
            return tmpl_perr(p, seg_at, "path too deep");
        }
        grown = realloc(nd->path, (nd->npath + 1) * sizeof(*grown));
        if (!grown) {
            free(seg);
            return inj_err_set(p->err, INJ_E_NOMEM, "out of memory");
        }
        nd->path = grown;
        nd->path[nd->npath++] = seg;
    }
    return INJ_OK;
}

/* Registers `secret "ID"`, deduplicating; sets *idx. */
static enum inj_rc tmpl_add_source(struct tmpl_parser *p, size_t at, const char *id, int *idx)
{
    struct tmpl *t = p->t;
    struct ref r;
    struct inj_err e1;
    enum inj_rc rc;
    size_t k;
    struct ref *ns;
    char **nt;
    char msg[sizeof(e1.msg) + 64];

    memset(&e1, 0, sizeof(e1));
    rc = ref_parse(id, &r, &e1);
    if (rc == INJ_E_NOMEM)
        return inj_err_set(p->err, rc, "out of memory");
    if (rc != INJ_OK) {
        (void)snprintf(msg, sizeof(msg), "secret %s", e1.msg);
        return tmpl_perr(p, at, msg);
    }
    if (r.json_key) {
        ref_free(&r);
        return tmpl_perr(p, at,
                         "secret \"ID\" takes no JSON key; write the key as a path "
                         "after it: secret \"ID\" .key");
    }
    for (k = 0; k < t->nsrc; k++) {
        if (ref_same_fetch(&t->srcs[k], &r)) {
            ref_free(&r);
            *idx = (int)k;
            return INJ_OK;
        }
    }
    if (t->nsrc >= TMPL_MAX_SOURCES) {
        ref_free(&r);
        return tmpl_perr(p, at, "too many secrets in one template");
    }
    ns = realloc(t->srcs, (t->nsrc + 1) * sizeof(*ns));
    if (ns)
        t->srcs = ns;
    nt = ns ? realloc(t->srctext, (t->nsrc + 1) * sizeof(*nt)) : NULL;
    if (nt) {
        t->srctext = nt;
        t->srctext[t->nsrc] = xstrdup(id);
    }
    if (!ns || !nt || !t->srctext[t->nsrc]) {
        ref_free(&r);
        return inj_err_set(p->err, INJ_E_NOMEM, "out of memory");
    }
    t->srcs[t->nsrc] = r;
    *idx = (int)t->nsrc;
    t->nsrc++;
    return INJ_OK;
}

static enum inj_rc tmpl_filter(struct tmpl_parser *p, struct tmpl_node *nd)
{
    enum inj_rc rc;
    struct tmpl_filter *f;
    struct tmpl_filter *grown;
    size_t at = p->i;
    size_t st = p->i;
    size_t k;
    char msg[160];

    while (p->i < p->len && tmpl_ident_char(p->s[p->i]))
        p->i++;
    if (nd->nfilters >= TMPL_MAX_FILTERS)
        return tmpl_perr(p, at, "too many filters");
    grown = realloc(nd->filters, (nd->nfilters + 1) * sizeof(*grown));
    if (!grown)
        return inj_err_set(p->err, INJ_E_NOMEM, "out of memory");
    nd->filters = grown;
    f = &nd->filters[nd->nfilters];
    memset(f, 0, sizeof(*f));
    for (k = 0; k < sizeof(tmpl_filter_names) / sizeof(tmpl_filter_names[0]); k++)
        if (strlen(tmpl_filter_names[k]) == p->i - st &&
            !memcmp(p->s + st, tmpl_filter_names[k], p->i - st))
            break;
    if (k == sizeof(tmpl_filter_names) / sizeof(tmpl_filter_names[0])) {
        if (p->i == st)
            return tmpl_perr(p, at,
                             "expected a filter name after \"|\" (urlencode, json, "
                             "base64, default \"x\")");
        (void)snprintf(msg, sizeof(msg),
                       "unknown filter \"%.*s\" (known: urlencode, json, base64, default \"x\")",
                       (int)(p->i - st > 40 ? 40 : p->i - st), p->s + st);
        return tmpl_perr(p, at, msg);
    }
    f->kind = (enum tmpl_filter_kind)k;
    nd->nfilters++;
    if (f->kind == TF_DEFAULT) {
        tmpl_ws(p);
        if (p->i >= p->len || p->s[p->i] != '"')
            return tmpl_perr(p, p->i, "default needs a \"quoted\" value: default \"x\"");
        rc = tmpl_string(p, &f->arg, &f->arglen);
        if (rc != INJ_OK)
            return rc;
    }
    return INJ_OK;
}

static enum inj_rc tmpl_action(struct tmpl_parser *p, struct tmpl_node *nd, size_t open_at)
{
    enum inj_rc rc;
    size_t start;

    p->i += 2;
    tmpl_ws(p);
    start = p->i;
    if (p->i >= p->len)
        return tmpl_perr(p, open_at, "\"{{\" not closed with \"}}\"");
    if (p->s[p->i] == '.') {
        nd->kind = TN_FIELD;
        nd->src = -1;
        p->t->uses_dot = 1;
        rc = tmpl_path(p, nd);
    } else if (p->s[p->i] == '"') {
        nd->kind = TN_LITERAL;
        rc = tmpl_string(p, &nd->text, &nd->len);
    } else if (p->len - p->i > 6 && !memcmp(p->s + p->i, "secret", 6) &&
               !tmpl_ident_char(p->s[p->i + 6])) {
        char *id = NULL;
        size_t idlen = 0;
        size_t id_at;

        nd->kind = TN_FIELD;
        p->i += 6;
        tmpl_ws(p);
        id_at = p->i;
        rc = tmpl_string(p, &id, &idlen);
        if (rc == INJ_OK && (idlen == 0 || memchr(id, '\0', idlen)))
            rc = tmpl_perr(p, id_at, "secret needs an ID: secret \"name-or-ARN\"");
        if (rc == INJ_OK)
            rc = tmpl_add_source(p, id_at, id, &nd->src);
        free(id);
        if (rc == INJ_OK) {
            tmpl_ws(p);
            if (p->i < p->len && p->s[p->i] == '.')
                rc = tmpl_path(p, nd);
        }
    } else if (p->len - p->i >= 2 && !memcmp(p->s + p->i, "}}", 2)) {
        return tmpl_perr(p, open_at, "empty {{ }}");
    } else {
        return tmpl_perr(p, p->i, "expected .field, secret \"ID\" .field or a \"string\"");
    }
    if (rc != INJ_OK)
        return rc;
    for (;;) {
        tmpl_ws(p);
        if (p->i >= p->len)
            return tmpl_perr(p, open_at, "\"{{\" not closed with \"}}\"");
        if (p->len - p->i >= 2 && !memcmp(p->s + p->i, "}}", 2))
            break;
        if (p->s[p->i] != '|')
            return tmpl_perr(p, p->i, "expected \"|\" or \"}}\"");
        p->i++;
        tmpl_ws(p);
        rc = tmpl_filter(p, nd);
        if (rc != INJ_OK)
            return rc;
    }
    /* The action's own text, for messages: it names fields and filters, never values. The
     * whitespace before "}}" is dropped. */
    {
        size_t end = p->i;
        while (end > start && strchr(" \t\r\n", p->s[end - 1]))
            end--;
        nd->expr = xmemdup(p->s + start, end - start);
        if (!nd->expr)
            return inj_err_set(p->err, INJ_E_NOMEM, "out of memory");
    }
    p->i += 2;
    return INJ_OK;
}

static struct tmpl_node *tmpl_new_node(struct tmpl_parser *p)
{
    struct tmpl *t = p->t;
    struct tmpl_node *grown;

    if (t->n >= TMPL_MAX_NODES) {
        tmpl_perr(p, p->i, "too many {{ }} actions");
        return NULL;
    }
    grown = realloc(t->v, (t->n + 1) * sizeof(*grown));
    if (!grown) {
        inj_err_set(p->err, INJ_E_NOMEM, "out of memory");
        return NULL;
    }
    t->v = grown;
    memset(&t->v[t->n], 0, sizeof(t->v[t->n]));
    return &t->v[t->n++];
}

enum inj_rc tmpl_parse(const char *text, struct tmpl **out, struct inj_err *err)
{
    enum inj_rc rc = INJ_E_NOMEM;
    struct tmpl_parser p;
    struct tmpl_node *nd;

    *out = NULL;
    memset(&p, 0, sizeof(p));
    p.s = text;
    p.len = strlen(text);
    p.err = err;
    if (p.len > TMPL_MAX_TEXT)
        return inj_err_set(err, INJ_E_CONFIG, "template: longer than %u bytes", TMPL_MAX_TEXT);
    p.t = calloc(1, sizeof(*p.t));
    if (!p.t)
        return inj_err_set(err, rc, "out of memory");
    while (p.i < p.len) {
        const char *open = strstr(p.s + p.i, "{{");
        size_t stop = open ? (size_t)(open - p.s) : p.len;

        if (stop > p.i) {
            nd = tmpl_new_node(&p);
            if (!nd) {
                rc = err ? err->code : INJ_E_NOMEM;
                goto out;
            }
            nd->kind = TN_TEXT;
            nd->text = xmemdup(p.s + p.i, stop - p.i);
            nd->len = stop - p.i;
            if (!nd->text) {
                rc = inj_err_set(err, INJ_E_NOMEM, "out of memory");
                goto out;
            }
            p.i = stop;
        }
        if (!open)
            break;
        nd = tmpl_new_node(&p);
        if (!nd) {
            rc = err ? err->code : INJ_E_NOMEM;
            goto out;
        }
        rc = tmpl_action(&p, nd, stop);
        if (rc != INJ_OK)
            goto out;
    }
    rc = INJ_OK;
    *out = p.t;
    p.t = NULL;
out:
    tmpl_free(p.t);
    return rc;
}

void tmpl_free(struct tmpl *t)
{
    size_t i;
    size_t k;

    if (!t)
        return;
    for (i = 0; i < t->n; i++) {
        struct tmpl_node *nd = &t->v[i];
        free(nd->text);
        free(nd->expr);
        for (k = 0; k < nd->npath; k++)
            free(nd->path[k]);
        free(nd->path);
        for (k = 0; k < nd->nfilters; k++)
            free(nd->filters[k].arg);
        free(nd->filters);
    }
    for (i = 0; i < t->nsrc; i++) {
        ref_free(&t->srcs[i]);
        free(t->srctext[i]);
    }
    free(t->srcs);
    free(t->srctext);
    free(t->v);
    free(t);
}

int tmpl_uses_dot(const struct tmpl *t)
{
    return t->uses_dot;
}

size_t tmpl_nsources(const struct tmpl *t)
{
    return t->nsrc;
}

const struct ref *tmpl_source(const struct tmpl *t, size_t i)
{
    return i < t->nsrc ? &t->srcs[i] : NULL;
}

const char *tmpl_source_text(const struct tmpl *t, size_t i)
{
    return i < t->nsrc ? t->srctext[i] : NULL;
}

/* ---- filters ---- */

static enum inj_rc tmpl_sb(enum sbuf_rc r)
{
    if (r == SBUF_OK)
        return INJ_OK;
    return r == SBUF_TOOBIG ? INJ_E_DATA : INJ_E_NOMEM;
}

enum inj_rc tmpl_urlencode(const unsigned char *p, size_t len, struct sbuf *out)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i;
    enum inj_rc rc = INJ_OK;

    /* RFC 3986 section 2.3: unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~"; every other
     * byte (UTF-8 bytes included) is percent-encoded, so the result fits in any URI part. */
    for (i = 0; i < len && rc == INJ_OK; i++) {
        unsigned char c = p[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            rc = tmpl_sb(sbuf_append(out, &c, 1));
        } else {
            char enc[3];
            enc[0] = '%';
            enc[1] = hex[c >> 4];
            enc[2] = hex[c & 15];
            rc = tmpl_sb(sbuf_append(out, enc, 3));
        }
    }
    return rc;
}

enum inj_rc tmpl_base64(const unsigned char *p, size_t len, struct sbuf *out)
{
    unsigned char *buf;
    size_t n;
    int w;
    enum inj_rc rc;

    if (len > TMPL_MAX_VALUE)
        return INJ_E_DATA;
    n = 4 * ((len + 2) / 3) + 1;
    buf = malloc(n);
    if (!buf)
        return INJ_E_NOMEM;
    /* RFC 4648 section 4 alphabet, padded, no line breaks. */
    w = EVP_EncodeBlock(buf, p, (int)len);
    if (w < 0) {
        free(buf);
        return INJ_E_SOFTWARE;
    }
    rc = tmpl_sb(sbuf_append(out, buf, (size_t)w));
    wipe_free(buf, n);
    return rc;
}

enum inj_rc tmpl_json_quote(const unsigned char *p, size_t len, struct sbuf *out)
{
    static const char hex[] = "0123456789abcdef";
    enum inj_rc rc;
    size_t i;

    if (!jx_utf8_valid(p, len))
        return INJ_E_DATA;
    rc = tmpl_sb(sbuf_append(out, "\"", 1));
    for (i = 0; i < len && rc == INJ_OK; i++) {
        unsigned char c = p[i];
        char esc[6];
        size_t n = 2;

        esc[0] = '\\';
        if (c == '"' || c == '\\')
            esc[1] = (char)c;
        else if (c == '\n')
            esc[1] = 'n';
        else if (c == '\r')
            esc[1] = 'r';
        else if (c == '\t')
            esc[1] = 't';
        else if (c == '\b')
            esc[1] = 'b';
        else if (c == '\f')
            esc[1] = 'f';
        else if (c < 0x20 || c == 0x7f) {
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            n = 6;
        } else {
            esc[0] = (char)c;
            n = 1;
        }
        rc = tmpl_sb(sbuf_append(out, esc, n));
    }
    if (rc == INJ_OK)
        rc = tmpl_sb(sbuf_append(out, "\"", 1));
    return rc;
}

/* ---- rendering ---- */

/* One value on its way through the filters. */
struct tmpl_val {
    struct sbuf b;
    int json;    /* b holds JSON text (a number, true, null, object, array): json passes it on */
    int missing; /* the field does not exist: only default may follow */
};

struct tmpl_render_ctx {
    const struct tmpl *t;
    const struct tmpl_input *dot;
    const struct tmpl_input *src;
    cJSON **roots; /* parsed JSON per input: [0] dot, [1 + i] source i; NULL: not yet */
    struct inj_err *err;
};

static const struct tmpl_input *tmpl_input_of(const struct tmpl_render_ctx *c, int src)
{
    return src < 0 ? c->dot : &c->src[src];
}

/* The secret's JSON tree, parsed on first use by jx_parse, the gatekeeper: it refuses what is
 * not exactly one JSON value, NULs and duplicate keys. */
static enum inj_rc tmpl_root(struct tmpl_render_ctx *c, const struct tmpl_node *nd, cJSON **out)
{
    const struct tmpl_input *in = tmpl_input_of(c, nd->src);
    size_t slot = nd->src < 0 ? 0 : (size_t)nd->src + 1;
    struct jx_dup dup;

    if (c->roots[slot]) {
        *out = c->roots[slot];
        return INJ_OK;
    }
    memset(&dup, 0, sizeof(dup));
    switch (jx_parse(in->p, in->len, &c->roots[slot], &dup)) {
    case JX_OK:
        break;
    case JX_NOT_JSON:
        return inj_err_set(c->err, INJ_E_DATA,
                           "template {{ %s }}: secret %s is not JSON, so it has no fields; use "
                           "{{ %s }} for the whole secret",
                           nd->expr, in->arn, nd->src < 0 ? "." : "secret \"ID\"");
    case JX_NUL:
        return inj_err_set(c->err, INJ_E_DATA,
                           "template {{ %s }}: secret %s holds a NUL character (\\u0000)", nd->expr,
                           in->arn);
    case JX_DUPLICATE:
        return inj_err_set(c->err, INJ_E_DATA,
                           "template {{ %s }}: secret %s has the key \"%s\" twice in %s%s; a "
                           "secret with duplicate keys is ambiguous (Python, Go and JS take the "
                           "last, others the first): keep one",
                           nd->expr, in->arn, dup.key,
                           dup.at[0] ? "the object at " : "its top level", dup.at);
    case JX_NOT_OBJECT:
    case JX_MISSING:
    case JX_INEXACT:
    case JX_TOOBIG:
    case JX_NOMEM:
    default:
        return inj_err_set(c->err, INJ_E_NOMEM, "out of memory");
    }
    *out = c->roots[slot];
    return INJ_OK;
}

static enum inj_rc tmpl_field(struct tmpl_render_ctx *c, const struct tmpl_node *nd,
                              struct tmpl_val *v)
{
    const struct tmpl_input *in = tmpl_input_of(c, nd->src);
    cJSON *node = NULL;
    enum inj_rc rc;
    size_t k;

    if (!in || (!in->p && in->len))
        return inj_err_set(c->err, INJ_E_SOFTWARE, "template {{ %s }}: no input", nd->expr);
    if (!nd->npath)
        return tmpl_sb(sbuf_append(&v->b, in->p ? in->p : (const unsigned char *)"", in->len));
    rc = tmpl_root(c, nd, &node);
    if (rc != INJ_OK)
        return rc;
    for (k = 0; k < nd->npath && node; k++)
        node = jx_step(node, nd->path[k]);
    if (!node) {
        v->missing = 1;
        return INJ_OK;
    }
    switch (jx_emit(node, &v->b, &v->json)) { /* the tree is this render's own copy */
    case JX_OK:
        return INJ_OK;
    case JX_INEXACT:
        return inj_err_set(c->err, INJ_E_DATA,
                           "template {{ %s }}: secret %s holds a number there too large to pass "
                           "on exactly (beyond 2^53, or out of range); store it as a JSON string",
                           nd->expr, in->arn);
    case JX_TOOBIG:
        return INJ_E_DATA; /* tmpl_eval names the action */
    case JX_NOT_JSON:
    case JX_NOT_OBJECT:
    case JX_MISSING:
    case JX_NUL:
    case JX_DUPLICATE:
    case JX_NOMEM:
    default:
        return INJ_E_NOMEM;
    }
}

static enum inj_rc tmpl_missing(struct tmpl_render_ctx *c, const struct tmpl_node *nd)
{
    const struct tmpl_input *in = tmpl_input_of(c, nd->src);
    cJSON *node = NULL;
    size_t k;
    char keys[256];
    char where[256];
    size_t off = 0;

    /* Walk again to name the deepest object that exists and list its keys. */
    if (tmpl_root(c, nd, &node) != INJ_OK)
        return c->err->code;
    where[0] = '\0';
    for (k = 0; k + 1 < nd->npath; k++) {
        cJSON *next = jx_step(node, nd->path[k]);
        int w;
        if (!next)
            break;
        node = next;
        w = snprintf(where + off, sizeof(where) - off, ".%s", nd->path[k]);
        if (w > 0 && (size_t)w < sizeof(where) - off)
            off += (size_t)w;
    }
    jx_keys(node, keys, sizeof(keys));
    if (!cJSON_IsObject(node))
        (void)snprintf(keys, sizeof(keys), "(%s, not an object)",
                       cJSON_IsArray(node) ? "an array" : "a scalar");
    else if (!keys[0])
        (void)snprintf(keys, sizeof(keys), "(none)");
    return inj_err_set(c->err, INJ_E_MISSING,
                       "template {{ %s }}: not found in secret %s (version %s); the keys %s%s "
                       "are: %s; add | default \"...\" if it may be absent",
                       nd->expr, in->arn, in->version_id ? in->version_id : "?",
                       off ? "of " : "at the top", where, keys);
}

static enum inj_rc tmpl_apply(struct tmpl_render_ctx *c, const struct tmpl_node *nd,
                              const struct tmpl_filter *f, struct tmpl_val *v)
{
    struct sbuf nb = SBUF_INIT(TMPL_MAX_VALUE);
    enum inj_rc rc;

    if (v->missing && f->kind != TF_DEFAULT)
        return tmpl_missing(c, nd);
    switch (f->kind) {
    case TF_DEFAULT:
        if (!v->missing && v->b.len && !(v->json && v->b.len == 4 && !memcmp(v->b.p, "null", 4)))
            return INJ_OK;
        rc = tmpl_sb(sbuf_append(&nb, f->arg, f->arglen));
        v->json = 0;
        v->missing = 0;
        break;
    case TF_URLENCODE:
        rc = tmpl_urlencode(v->b.p, v->b.len, &nb);
        v->json = 0;
        break;
    case TF_BASE64:
        rc = tmpl_base64(v->b.p, v->b.len, &nb);
        v->json = 0;
        break;
    case TF_JSON:
        if (v->json)
            return INJ_OK; /* already JSON text (5432, true, {"a":1}) */
        if (!jx_utf8_valid(v->b.p, v->b.len)) {
            sbuf_wipe_free(&nb);
            return inj_err_set(c->err, INJ_E_DATA,
                               "template {{ %s }}: json: the value is not valid UTF-8 text; use "
                               "base64 for binary data",
                               nd->expr);
        }
        rc = tmpl_json_quote(v->b.p, v->b.len, &nb);
        v->json = 1;
        break;
    default:
        rc = INJ_E_SOFTWARE;
        break;
    }
    if (rc != INJ_OK) {
        sbuf_wipe_free(&nb);
        if (rc == INJ_E_DATA)
            return inj_err_set(c->err, rc, "template {{ %s }}: value longer than %u bytes",
                               nd->expr, TMPL_MAX_VALUE);
        return inj_err_set(c->err, rc, "out of memory");
    }
    sbuf_wipe_free(&v->b);
    v->b = nb;
    return INJ_OK;
}

static enum inj_rc tmpl_eval(struct tmpl_render_ctx *c, const struct tmpl_node *nd,
                             struct sbuf *out)
{
    struct tmpl_val v;
    enum inj_rc rc;
    size_t k;

    memset(&v, 0, sizeof(v));
    v.b.max = TMPL_MAX_VALUE;
    if (nd->kind == TN_LITERAL)
        rc = tmpl_sb(sbuf_append(&v.b, nd->text, nd->len));
    else
        rc = tmpl_field(c, nd, &v);
    if (rc == INJ_E_DATA && !c->err->msg[0])
        inj_err_set(c->err, rc, "template {{ %s }}: value too long", nd->expr);
    else if (rc == INJ_E_NOMEM && !c->err->msg[0])
        inj_err_set(c->err, rc, "out of memory");
    for (k = 0; rc == INJ_OK && k < nd->nfilters; k++)
        rc = tmpl_apply(c, nd, &nd->filters[k], &v);
    if (rc == INJ_OK && v.missing)
        rc = tmpl_missing(c, nd);
    if (rc == INJ_OK) {
        rc = tmpl_sb(sbuf_append(out, v.b.p ? v.b.p : (const unsigned char *)"", v.b.len));
        if (rc != INJ_OK)
            inj_err_set(c->err, rc, "template: rendered value too long");
    }
    sbuf_wipe_free(&v.b);
    return rc;
}

enum inj_rc tmpl_render(const struct tmpl *t, const struct tmpl_input *dot,
                        const struct tmpl_input *src, struct sbuf *out, struct inj_err *err)
{
    struct tmpl_render_ctx c;
    struct inj_err local;
    enum inj_rc rc = INJ_OK;
    size_t i;

    memset(&local, 0, sizeof(local));
    memset(&c, 0, sizeof(c));
    c.t = t;
    c.dot = dot;
    c.src = src;
    c.err = err ? err : &local;
    c.err->msg[0] = '\0';
    if (t->uses_dot && !dot)
        return inj_err_set(c.err, INJ_E_SOFTWARE, "template: uses . but has no secret");
    jx_init();
    c.roots = calloc(t->nsrc + 1, sizeof(*c.roots));
    if (!c.roots)
        return inj_err_set(c.err, INJ_E_NOMEM, "out of memory");
    for (i = 0; i < t->n && rc == INJ_OK; i++) {
        const struct tmpl_node *nd = &t->v[i];
        if (nd->kind == TN_TEXT) {
            rc = tmpl_sb(sbuf_append(out, nd->text, nd->len));
            if (rc != INJ_OK)
                inj_err_set(c.err, rc, "template: rendered value too long");
        } else {
            rc = tmpl_eval(&c, nd, out);
        }
    }
    for (i = 0; i < t->nsrc + 1; i++)
        cJSON_Delete(c.roots[i]); /* jx's hooks wipe every node */
    free(c.roots);
    return rc;
}
