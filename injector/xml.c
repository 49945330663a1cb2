/* xml.c: element lookup and text decoding for the few STS answers we read. Bounded by the
 * input length everywhere; no recursion, no allocation except the decoded text. */
#include "xml.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"

enum xml_kind { XML_T_START, XML_T_END, XML_T_EMPTY, XML_T_OTHER };

struct xml_tag {
    enum xml_kind kind;
    const char *name;
    size_t name_len;
    size_t start; /* offset of '<' */
    size_t end;   /* offset just after '>' */
};

static int xml_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.' || c == ':';
}

static int xml_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Offset just after the first `pat` at or after `from`, or 0 when absent. */
static size_t xml_skip_past(const char *doc, size_t len, size_t from, const char *pat)
{
    size_t plen = strlen(pat);
    const char *hit;

    if (from > len)
        return 0;
    hit = memmem(doc + from, len - from, pat, plen);
    if (!hit)
        return 0;
    return (size_t)(hit - doc) + plen;
}

static int xml_starts(const char *doc, size_t len, size_t at, const char *pat)
{
    size_t plen = strlen(pat);

    return at <= len && len - at >= plen && !memcmp(doc + at, pat, plen);
}

/* The next markup construct at or after *pos. XML_MISSING at the end of the document. */
static enum xml_rc xml_next_tag(const char *doc, size_t len, size_t *pos, struct xml_tag *t)
{
    const char *lt;
    size_t i;
    char quote = 0;

    if (*pos >= len)
        return XML_MISSING;
    lt = memchr(doc + *pos, '<', len - *pos);
    if (!lt)
        return XML_MISSING;
    memset(t, 0, sizeof(*t));
    t->start = (size_t)(lt - doc);
    i = t->start + 1;
    if (xml_starts(doc, len, i, "?") || xml_starts(doc, len, i, "!--") ||
        xml_starts(doc, len, i, "![CDATA[")) {
        /* Search after the opener, so "<!-->" is not a whole comment. */
        const char *close = doc[i] == '?' ? "?>" : doc[i + 1] == '-' ? "-->" : "]]>";
        size_t from = i + (doc[i] == '?' ? 1 : doc[i + 1] == '-' ? 3 : 8);

        t->kind = XML_T_OTHER;
        t->end = xml_skip_past(doc, len, from, close);
        if (!t->end)
            return XML_BAD;
        *pos = t->end;
        return XML_OK;
    }
    if (xml_starts(doc, len, i, "!"))
        return XML_BAD; /* DOCTYPE and friends: never in an AWS answer */
    t->kind = XML_T_START;
    if (xml_starts(doc, len, i, "/")) {
        t->kind = XML_T_END;
        i++;
    }
    t->name = doc + i;
    while (i < len && xml_name_char(doc[i]))
        i++;
    t->name_len = (size_t)(doc + i - t->name);
    if (!t->name_len)
        return XML_BAD;
    for (; i < len; i++) {
        char c = doc[i];

        if (quote) {
            if (c == quote)
                quote = 0;
            continue;
        }
        if (c == '"' || c == '\'') {
            if (t->kind == XML_T_END)
                return XML_BAD;
            quote = c;
        } else if (c == '<') { /* NOLINT(bugprone-branch-clone): not the same reason */
            return XML_BAD;
        } else if (c == '>') {
            if (doc[i - 1] == '/' && t->kind == XML_T_START)
                t->kind = XML_T_EMPTY;
            t->end = i + 1;
            *pos = t->end;
            return XML_OK;
        } else if (t->kind == XML_T_END && !xml_space(c)) {
            return XML_BAD;
        }
    }
    return XML_BAD;
}

static int xml_tag_is(const struct xml_tag *t, const char *tag, size_t tag_len)
{
    return t->name_len == tag_len && !memcmp(t->name, tag, tag_len);
}

enum xml_rc xml_element(const char *doc, size_t len, const char *tag, const char **inner,
                        size_t *inner_len)
{
    size_t tag_len = strlen(tag);
    size_t pos = 0;
    size_t content;
    struct xml_tag t;
    enum xml_rc rc;
    unsigned depth;

    *inner = NULL;
    *inner_len = 0;
    for (;;) {
        rc = xml_next_tag(doc, len, &pos, &t);
        if (rc != XML_OK)
            return rc;
        if ((t.kind == XML_T_START || t.kind == XML_T_EMPTY) && xml_tag_is(&t, tag, tag_len))
            break;
    }
    if (t.kind == XML_T_EMPTY) {
        *inner = doc + t.end;
        return XML_OK;
    }
    content = t.end;
    depth = 1;
    for (;;) {
        rc = xml_next_tag(doc, len, &pos, &t);
        if (rc == XML_MISSING)
            return XML_BAD; /* no end tag */
        if (rc != XML_OK)
            return rc;
        if (!xml_tag_is(&t, tag, tag_len))
            continue;
        if (t.kind == XML_T_START)
            depth++;
        else if (t.kind == XML_T_END && --depth == 0)
            break;
    }
    *inner = doc + content;
    *inner_len = t.start - content;
    return XML_OK;
}

/* Appends code point cp as UTF-8; 0 when cp is not a character XML allows. */
static size_t xml_put_utf8(unsigned long cp, char *o)
{
    if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
        return 0;
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Decodes the entity at s[0..n) (s[0] == '&'); sets *used and writes to o. 0 when bad. */
static size_t xml_entity(const char *s, size_t n, size_t *used, char *o)
{
    static const struct {
        const char *name;
        char c;
    } named[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    const char *semi = memchr(s, ';', n < 12 ? n : 12);
    unsigned long cp = 0;
    size_t i;
    size_t k;
    int hex;

    if (!semi)
        return 0;
    *used = (size_t)(semi - s) + 1;
    for (k = 0; k < sizeof(named) / sizeof(named[0]); k++) {
        if (*used == strlen(named[k].name) && !memcmp(s, named[k].name, *used)) {
            o[0] = named[k].c;
            return 1;
        }
    }
    if (*used < 4 || s[1] != '#')
        return 0;
    hex = s[2] == 'x';
    i = hex ? 3 : 2;
    if (s + i == semi)
        return 0;
    for (; s + i < semi; i++) {
        char c = s[i];
        unsigned d;

        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (hex && c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else if (hex && c >= 'A' && c <= 'F')
            d = (unsigned)(c - 'A' + 10);
        else
            return 0;
        cp = cp * (hex ? 16u : 10u) + d;
        if (cp > 0x10ffff)
            return 0;
    }
    return xml_put_utf8(cp, o);
}

enum xml_rc xml_text(const char *doc, size_t len, const char *tag, size_t max, char **out)
{
    const char *in;
    size_t in_len;
    size_t i;
    size_t o = 0;
    char *buf;
    enum xml_rc rc;

    *out = NULL;
    rc = xml_element(doc, len, tag, &in, &in_len);
    if (rc != XML_OK)
        return rc;
    /* Every entity is at least as long as what it decodes to: in_len bounds the output. */
    buf = malloc(in_len + 1);
    if (!buf)
        return XML_NOMEM;
    rc = XML_BAD;
    for (i = 0; i < in_len;) {
        size_t used = 1;
        size_t w;

        if (in[i] == '<' || in[i] == '\0')
            goto fail;
        if (in[i] == '&') {
            w = xml_entity(in + i, in_len - i, &used, buf + o);
            if (!w)
                goto fail;
        } else {
            buf[o] = in[i];
            w = 1;
        }
        o += w;
        i += used;
        if (o > max) {
            rc = XML_TOOBIG;
            goto fail;
        }
    }
    buf[o] = '\0';
    *out = buf;
    return XML_OK;
fail:
    wipe_free(buf, in_len + 1);
    return rc;
}
