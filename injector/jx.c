/* jx.c: JSON value extraction with cJSON; every cJSON allocation is wiped before free. */
#include "jx.h"

#include <cjson/cJSON.h>
#include <malloc.h>
#include <math.h>
#include <openssl/crypto.h>
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

static const cJSON *jx_walk(const cJSON *node, const char *ptr)
{
    char tok[1024];
    int ok;
    int idx;

    while (node && *ptr == '/') {
        ptr = jx_token(ptr + 1, tok, sizeof(tok), &ok);
        if (!ok)
            return NULL;
        if (cJSON_IsObject(node))
            node = cJSON_GetObjectItemCaseSensitive(node, tok);
        else if (cJSON_IsArray(node) && jx_index(tok, &idx))
            node = cJSON_GetArrayItem(node, idx);
        else
            return NULL;
    }
    return node;
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

enum jx_rc jx_extract(const unsigned char *json, size_t len, const char *key, const char *pointer,
                      struct sbuf *out)
{
    enum jx_rc rc = JX_NOMEM;
    cJSON *root = NULL;
    const cJSON *v;
    char *text = NULL;
    const char *end = NULL;
    enum sbuf_rc src;

    jx_init();
    /* Without a leading '/' the walk would stop at once and hand out the whole secret. */
    if (pointer && !jx_pointer_valid(pointer)) {
        rc = JX_MISSING;
        goto out;
    }
    /* A raw NUL is never JSON; cJSON would take it inside a string and cut the value there,
     * and the trailing-whitespace check below would take it for the end of the text. */
    if (len && memchr(json, '\0', len)) {
        rc = JX_NOT_JSON;
        goto out;
    }
    root = cJSON_ParseWithLengthOpts((const char *)json, len, &end, 0);
    if (!root || (size_t)(end - (const char *)json) < len) {
        /* Trailing bytes other than whitespace also mean "not one JSON value". */
        size_t off = root ? (size_t)(end - (const char *)json) : 0;
        int trailing_ok = root != NULL;
        for (; root && off < len; off++)
            if (!strchr(" \t\r\n", json[off]))
                trailing_ok = 0;
        if (!trailing_ok) {
            rc = JX_NOT_JSON;
            goto out;
        }
    }
    if (jx_has_escaped_nul(json, len)) {
        rc = JX_NUL;
        goto out;
    }
    if (key) {
        if (!cJSON_IsObject(root)) {
            rc = JX_NOT_OBJECT;
            goto out;
        }
        v = cJSON_GetObjectItemCaseSensitive(root, key);
    } else if (pointer) {
        v = jx_walk(root, pointer);
    } else {
        rc = JX_MISSING;
        goto out;
    }
    if (!v) {
        rc = JX_MISSING;
        goto out;
    }
    if (cJSON_IsString(v)) {
        src = sbuf_append_str(out, v->valuestring);
    } else {
        rc = jx_numbers_text((cJSON *)v); /* in root, which is ours */
        if (rc != JX_OK)
            goto out;
        rc = JX_NOMEM;
        text = cJSON_PrintUnformatted(v);
        if (!text)
            goto out;
        src = sbuf_append_str(out, text);
    }
    if (src == SBUF_TOOBIG)
        rc = JX_TOOBIG;
    else if (src != SBUF_OK)
        rc = JX_NOMEM;
    else
        rc = JX_OK;
out:
    if (text)
        jx_free(text);
    cJSON_Delete(root);
    return rc;
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

enum jx_rc jx_numbers_text(struct cJSON *v)
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

void jx_list_keys(const unsigned char *json, size_t len, char *buf, size_t n)
{
    cJSON *root;
    const cJSON *it;
    size_t off = 0;

    if (!n)
        return;
    buf[0] = '\0';
    jx_init();
    root = cJSON_ParseWithLength((const char *)json, len);
    if (!cJSON_IsObject(root))
        goto out;
    cJSON_ArrayForEach(it, root)
    {
        int w = snprintf(buf + off, n - off, "%s%s", off ? ", " : "", it->string);
        if (w < 0 || (size_t)w >= n - off) {
            buf[off] = '\0';
            break;
        }
        off += (size_t)w;
    }
out:
    cJSON_Delete(root);
}
