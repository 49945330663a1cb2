/* jx.c: reading a secret's JSON with cJSON: strict parse (no NUL, UTF-8 only, no duplicate
 * keys), steps by key and pointer, exact emission. Every cJSON allocation is wiped before free. */
#include "jx.h"

#include <cjson/cJSON.h>
#include <malloc.h>
#include <math.h>
#include <openssl/crypto.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *jx_malloc(size_t n)
{
    return malloc(n);
}

/* cJSON does not know the size it freed; malloc_usable_size does (glibc and musl). */
static void jx_free(void *p)
{
    if (!p)
        return;
    OPENSSL_cleanse(p, malloc_usable_size(p));
    free(p);
}

void jx_init(void)
{
    cJSON_Hooks hooks = {jx_malloc, jx_free};

    cJSON_InitHooks(&hooks);
}

int jx_pointer_valid(const char *p)
{
    if (!*p)
        return 1;
    if (*p != '/')
        return 0;
    for (; *p; p++)
        if (*p == '~' && p[1] != '0' && p[1] != '1')
            return 0;
    return 1;
}

int jx_token_valid(const cJSON *next)
{
    if (!next || cJSON_IsNull(next))
        return 1;
    return cJSON_IsString(next) && next->valuestring[0] &&
           strlen(next->valuestring) <= JX_TOKEN_MAX;
}

int jx_token_dup(const cJSON *next, char **out)
{
    *out = NULL;
    if (!cJSON_IsString(next))
        return 0;
    *out = xstrdup(next->valuestring);
    return *out ? 0 : -1;
}

int jx_utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        unsigned char c = s[i];
        size_t need;
        unsigned long cp;
        size_t k;

        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
            cp = c & 0x1fu;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            cp = c & 0x0fu;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            cp = c & 0x07u;
        } else {
            return 0;
        }
        if (n - i <= need)
            return 0;
        for (k = 1; k <= need; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3fu);
        }
        if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += need + 1;
    }
    return 1;
}

/* Decodes one pointer token (up to '/' or end) into buf; returns its end. */
static const char *jx_token(const char *p, char *buf, size_t n, int *ok)
{
    size_t j = 0;

    *ok = 1;
    while (*p && *p != '/') {
        char ch = *p++;
        if (ch == '~') {
            /* Only ~0 and ~1 exist; anything else (or '~' at the end) names nothing. */
            if (*p != '0' && *p != '1') {
                *ok = 0;
                return p;
            }
            ch = (*p == '0') ? '~' : '/';
            p++;
        }
        if (j + 1 >= n) {
            *ok = 0;
            return p;
        }
        buf[j++] = ch;
    }
    buf[j] = '\0';
    return p;
}

/* Array index per RFC 6901: "0" or digits without a leading zero. */
static int jx_index(const char *t, int *out)
{
    long v = 0;

    if (!*t || (t[0] == '0' && t[1]))
        return 0;
    for (; *t; t++) {
        if (*t < '0' || *t > '9')
            return 0;
        v = v * 10 + (*t - '0');
        if (v > 1000000)
            return 0;
    }
    *out = (int)v;
    return 1;
}

int jx_has_escaped_nul(const unsigned char *s, size_t n)
{
    size_t i;

    for (i = 0; i + 5 < n; i++) {
        size_t run = 0;
        size_t j;
        if (s[i] != '\\' || s[i + 1] != 'u' || memcmp(s + i + 2, "0000", 4) != 0)
            continue;
        for (j = i; j > 0 && s[j - 1] == '\\'; j--)
            run++;
        if (run % 2 == 0)
            return 1;
    }
    return 0;
}

size_t jx_member_nul(const unsigned char *p, size_t len, const char *member, unsigned char *nul,
                     size_t max)
{
    size_t mlen = strlen(member);
    size_t i = 0;
    size_t k = 0;
    int want_value = 0;

    while (i < len) {
        size_t start;
        int has_nul = 0;

        if (p[i] != '"') {
            /* Between a member key and its value only ':' and blanks may come. */
            if (p[i] != ':' && p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
                want_value = 0;
            i++;
            continue;
        }
        i++;
        start = i;
        while (i < len && p[i] != '"') {
            if (p[i] == '\\') {
                if (len - i >= 6 && !memcmp(p + i + 1, "u0000", 5))
                    has_nul = 1;
                i += 2;
                continue;
            }
            i++;
        }
        if (want_value) {
            if (k < max)
                nul[k] = (unsigned char)has_nul;
            k++;
            want_value = 0;
        } else if (i - start == mlen && i < len && !memcmp(p + start, member, mlen)) {
            want_value = 1;
        }
        i++;
    }
    return k;
}

/* One number's text: the shortest of %.15g, %.16g, %.17g that reads back as the same double
 * (cJSON's own printer accepts a 15-digit text that is only close: 1234567890123456 would
 * come out as 1.23456789012346e+15); integers as integers. NULL when inexact. */
static char *jx_number_text(double d, char *buf, size_t n)
{
    int prec;

    if (!isfinite(d) || fabs(d) >= 9007199254740992.0) /* 2^53: the source may have had more */
        return NULL;
    if (d == floor(d)) {
        (void)snprintf(buf, n, "%.0f", d);
        return buf;
    }
    for (prec = 15; prec <= 17; prec++) {
        (void)snprintf(buf, n, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            return buf;
    }
    return buf;
}

/* Turns every number in v (and below it) into raw JSON text that reads back as the same
 * value, so that cJSON_Print* gives it exactly (cJSON_Raw nodes print as they are). */
static enum jx_rc jx_numbers_text(cJSON *v)
{
    cJSON *it;
    char buf[64];
    char *raw;

    if (cJSON_IsNumber(v)) {
        if (!jx_number_text(v->valuedouble, buf, sizeof(buf)))
            return JX_INEXACT;
        raw = cJSON_malloc(strlen(buf) + 1);
        if (!raw)
            return JX_NOMEM;
        memcpy(raw, buf, strlen(buf) + 1);
        v->type = cJSON_Raw;
        v->valuestring = raw;
        return JX_OK;
    }
    if (!cJSON_IsObject(v) && !cJSON_IsArray(v))
        return JX_OK;
    cJSON_ArrayForEach(it, v)
    {
        enum jx_rc rc = jx_numbers_text(it);

        if (rc != JX_OK)
            return rc;
    }
    return JX_OK;
}

/* Copies src[0..n) into dst (cap bytes), printable ASCII as is and every other byte as '?', so
 * that a key name cannot carry control characters into a message; "..." marks a cut. */
static void jx_clean(char *dst, size_t cap, const char *src, size_t n, int cut)
{
    size_t i;

    if (!cap)
        return;
    if (n >= cap) {
        n = cap - 1;
        cut = 1;
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    dst[n] = '\0';
    if (cut && cap >= 4)
        memcpy(dst + (n > cap - 4 ? cap - 4 : n), "...", 4);
}

/* The pointer of the object being checked, for the message; cut marks a path too long. */
struct jx_path {
    char p[2 * JX_DUP_AT];
    size_t len;
    int cut;
};

/* Appends "/tok" to the path, escaped per RFC 6901 (~ as ~0, / as ~1). */
static void jx_path_push(struct jx_path *pa, const char *tok)
{
    const char *s;

    if (pa->cut || pa->len + 2 > sizeof(pa->p)) {
        pa->cut = 1;
        return;
    }
    pa->p[pa->len++] = '/';
    for (s = tok; *s; s++) {
        size_t need = (*s == '~' || *s == '/') ? 2 : 1;
        if (pa->len + need + 1 > sizeof(pa->p)) {
            pa->cut = 1;
            break;
        }
        if (need == 2) {
            pa->p[pa->len++] = '~';
            pa->p[pa->len++] = *s == '~' ? '0' : '1';
        } else {
            pa->p[pa->len++] = *s;
        }
    }
    pa->p[pa->len] = '\0';
}

static int jx_name_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* JX_DUPLICATE when an object's members repeat a name. Sorting the names costs n log n, where
 * comparing every pair would make a 64 KiB secret of short keys slow. */
static enum jx_rc jx_object_dups(const cJSON *obj, const struct jx_path *pa, struct jx_dup *dup)
{
    const cJSON *it;
    const char **names;
    size_t n = 0;
    size_t i = 0;
    enum jx_rc rc = JX_OK;

    cJSON_ArrayForEach(it, obj) n++;
    if (n < 2)
        return JX_OK;
    if (n > SIZE_MAX / sizeof(*names))
        return JX_NOMEM;
    names = malloc(n * sizeof(*names));
    if (!names)
        return JX_NOMEM;
    cJSON_ArrayForEach(it, obj) names[i++] = it->string ? it->string : "";
    qsort(names, n, sizeof(*names), jx_name_cmp);
    for (i = 1; i < n && rc == JX_OK; i++) {
        if (strcmp(names[i - 1], names[i]) != 0)
            continue;
        rc = JX_DUPLICATE;
        if (dup) {
            jx_clean(dup->key, sizeof(dup->key), names[i], strlen(names[i]), 0);
            jx_clean(dup->at, sizeof(dup->at), pa->p, pa->len, pa->cut);
        }
    }
    free(names); /* pointers to names only, no values */
    return rc;
}

/* Checks every object at or below node, outer ones first. The depth is bounded by cJSON's
 * nesting limit (CJSON_NESTING_LIMIT, 1000). */
static enum jx_rc jx_dups(const cJSON *node, struct jx_path *pa, struct jx_dup *dup)
{
    const cJSON *it;
    enum jx_rc rc = JX_OK;
    int idx = 0;

    if (cJSON_IsObject(node))
        rc = jx_object_dups(node, pa, dup);
    else if (!cJSON_IsArray(node))
        return JX_OK;
    cJSON_ArrayForEach(it, node)
    {
        size_t was = pa->len;
        int wascut = pa->cut;
        char num[16];

        if (rc != JX_OK)
            break;
        if (cJSON_IsObject(node)) {
            jx_path_push(pa, it->string ? it->string : "");
        } else {
            (void)snprintf(num, sizeof(num), "%d", idx++);
            jx_path_push(pa, num);
        }
        rc = jx_dups(it, pa, dup);
        pa->len = was;
        pa->cut = wascut;
        pa->p[was] = '\0';
    }
    return rc;
}

enum jx_rc jx_parse(const unsigned char *json, size_t len, cJSON **root, struct jx_dup *dup)
{
    enum jx_rc rc = JX_NOT_JSON;
    cJSON *r = NULL;
    const char *end = NULL;
    struct jx_path pa;
    size_t off;

    *root = NULL;
    jx_init();
    /* A raw NUL is never JSON; cJSON would take it inside a string and cut the value there,
     * and the trailing-whitespace check below would take it for the end of the text. */
    if (len && memchr(json, '\0', len))
        goto out;
    if (!jx_utf8_valid(json, len)) /* RFC 8259 section 8.1: JSON text is UTF-8 */
        goto out;
    r = cJSON_ParseWithLengthOpts((const char *)json, len, &end, 0);
    if (!r)
        goto out;
    /* Trailing bytes other than whitespace also mean "not one JSON value". */
    for (off = (size_t)(end - (const char *)json); off < len; off++)
        if (!strchr(" \t\r\n", json[off]))
            goto out;
    rc = JX_NUL;
    if (jx_has_escaped_nul(json, len))
        goto out;
    memset(&pa, 0, sizeof(pa));
    rc = jx_dups(r, &pa, dup);
    if (rc != JX_OK)
        goto out;
    *root = r;
    r = NULL;
out:
    cJSON_Delete(r);
    return rc;
}

cJSON *jx_step(cJSON *node, const char *tok)
{
    int idx;

    if (cJSON_IsObject(node))
        return cJSON_GetObjectItemCaseSensitive(node, tok);
    if (cJSON_IsArray(node) && jx_index(tok, &idx))
        return cJSON_GetArrayItem(node, idx);
    return NULL;
}

cJSON *jx_at(cJSON *node, const char *pointer)
{
    char tok[1024];
    int ok;

    /* Without a leading '/' the walk would stop at once and hand out the whole secret. */
    if (!jx_pointer_valid(pointer))
        return NULL;
    while (node && *pointer == '/') {
        pointer = jx_token(pointer + 1, tok, sizeof(tok), &ok);
        if (!ok)
            return NULL;
        node = jx_step(node, tok);
    }
    return node;
}

enum jx_rc jx_emit(cJSON *v, struct sbuf *out, int *json)
{
    enum jx_rc rc;
    enum sbuf_rc src;
    char *text;

    if (cJSON_IsString(v)) {
        src = sbuf_append_str(out, v->valuestring);
    } else {
        rc = jx_numbers_text(v);
        if (rc != JX_OK)
            return rc;
        text = cJSON_PrintUnformatted(v);
        if (!text)
            return JX_NOMEM;
        src = sbuf_append_str(out, text);
        jx_free(text);
        if (json)
            *json = 1;
    }
    if (src == SBUF_TOOBIG)
        return JX_TOOBIG;
    return src == SBUF_OK ? JX_OK : JX_NOMEM;
}

enum jx_rc jx_extract(const unsigned char *json, size_t len, const char *key, const char *pointer,
                      struct sbuf *out, struct jx_dup *dup)
{
    enum jx_rc rc;
    cJSON *root = NULL;
    cJSON *v;

    if (!key && !pointer)
        return JX_MISSING;
    if (pointer && !jx_pointer_valid(pointer))
        return JX_MISSING;
    rc = jx_parse(json, len, &root, dup);
    if (rc != JX_OK)
        return rc;
    v = key ? jx_step(root, key) : jx_at(root, pointer);
    if (key && !cJSON_IsObject(root))
        rc = JX_NOT_OBJECT;
    else if (!v)
        rc = JX_MISSING;
    else
        rc = jx_emit(v, out, NULL);
    cJSON_Delete(root);
    return rc;
}

void jx_keys(const cJSON *obj, char *buf, size_t n)
{
    const cJSON *it;
    size_t off = 0;

    if (!n)
        return;
    buf[0] = '\0';
    if (!cJSON_IsObject(obj))
        return;
    cJSON_ArrayForEach(it, obj)
    {
        const char *name = it->string ? it->string : "";
        size_t len = strlen(name);
        size_t sep = off ? 2 : 0;

        if (sep + len >= n - off)
            break;
        memcpy(buf + off, ", ", sep);
        off += sep;
        jx_clean(buf + off, len + 1, name, len, 0);
        off += len;
    }
}

void jx_list_keys(const unsigned char *json, size_t len, char *buf, size_t n)
{
    cJSON *root;

    jx_init();
    root = cJSON_ParseWithLength((const char *)json, len);
    jx_keys(root, buf, n);
    cJSON_Delete(root);
}
