/* redact.c: server text made printable, bounded and free of credentials (redact.h). Decodes
 * the URL and JSON escapes a token may be written with, marks the characters to drop (known
 * secrets and their pieces, named header/field values, long base64 runs), maps the marks back
 * onto the input's bytes, then copies what is left, one REDACT_MARK per dropped run. */
#include "redact.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define REDACT_PIECE 16u            /* any piece this long of a known secret is an echo */
#define REDACT_RUN 80u              /* base64 runs this long are taken for a token */
#define REDACT_SCAN (1024u * 1024u) /* input looked at (bodies are capped far below) */
#define REDACT_SIGN_SPAN 2048u      /* AWS4-HMAC-SHA256 ... Signature=: how far to look */

enum redact_kind { REDACT_VALUE, REDACT_AUTH, REDACT_HEX };

/* Names whose value is a credential: header names, query parameters, JSON/INI keys. */
static const struct {
    const char *name;
    enum redact_kind kind;
} redact_names[] = {
    {"authorization", REDACT_AUTH},
    {"x-amz-security-token", REDACT_VALUE},
    {"x-aws-ec2-metadata-token", REDACT_VALUE},
    {"secretaccesskey", REDACT_VALUE},
    {"secret_access_key", REDACT_VALUE},
    {"sessiontoken", REDACT_VALUE},
    {"session_token", REDACT_VALUE},
    {"signature", REDACT_HEX},
};

/* Characters of base64, base64url and URL-encoding: what a key or token is written with.
 * '=' is left out: it is only padding at a token's end, and it ends a name (Token=...). */
static int redact_tokch(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/' || c == '_' || c == '-' || c == '%';
}

static int redact_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Ends a value: space, quotes, brackets, and the separators of headers, JSON and queries. */
static int redact_delim(unsigned char c)
{
    return c <= 0x20 || c >= 0x7f || strchr("\"'<>{}[](),;&\\", c) != NULL;
}

/* The value of a hex digit, -1 for anything else. */
static int redact_xval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* One encoded character at p: %2B %2F %3D (the three base64 characters a query string
 * encodes) and JSON's \/ \" \\ \uXXXX (below 0x80, not NUL): a server may echo a token in
 * either form. Returns its length (0: not one) and the character in *c. */
static size_t redact_escape(const char *p, size_t left, char *c)
{
    int v = 0;
    size_t k;

    if (left >= 3 && p[0] == '%') {
        if (p[1] == '2' && (p[2] == 'B' || p[2] == 'b'))
            *c = '+';
        else if (p[1] == '2' && (p[2] == 'F' || p[2] == 'f'))
            *c = '/';
        else if (p[1] == '3' && (p[2] == 'D' || p[2] == 'd'))
            *c = '=';
        else
            return 0;
        return 3;
    }
    if (left < 2 || p[0] != '\\')
        return 0;
    if (p[1] == '/' || p[1] == '"' || p[1] == '\\') {
        *c = p[1];
        return 2;
    }
    if (p[1] != 'u' || left < 6)
        return 0;
    for (k = 2; k < 6; k++) {
        int x = redact_xval(p[k]);
        if (x < 0)
            return 0;
        v = v * 16 + x;
    }
    if (v == 0 || v >= 0x80)
        return 0;
    *c = (char)v;
    return 6;
}

/* Decodes in[0..len) into norm (what every rule below looks at), pos[k] being where norm[k]
 * starts in the input (pos[nlen] == len). Returns nlen. */
static size_t redact_decode(const char *in, size_t len, char *norm, size_t *pos)
{
    size_t nlen = 0;
    size_t i;

    for (i = 0; i < len;) {
        char d = 0;
        size_t el = redact_escape(in + i, len - i, &d);

        pos[nlen] = i;
        norm[nlen++] = el ? d : in[i];
        i += el ? el : 1;
    }
    pos[nlen] = len;
    return nlen;
}

static void redact_mark(unsigned char *mask, size_t from, size_t to, unsigned char how)
{
    for (; from < to; from++)
        if (!mask[from])
            mask[from] = how;
}

/* Known secrets: every REDACT_PIECE-byte window of the (decoded) text found in a secret is
 * marked (2: to be widened over the token characters around it). */
static void redact_secrets(const char *in, size_t len, const char *const *secrets, size_t ns,
                           unsigned char *mask)
{
    size_t i;
    size_t k;

    for (k = 0; k < ns; k++) {
        const char *s = secrets[k];
        unsigned char has[256];
        size_t slen;
        size_t win;

        if (!s || !*s)
            continue;
        slen = strlen(s);
        win = slen < REDACT_PIECE ? slen : REDACT_PIECE;
        memset(has, 0, sizeof(has));
        for (i = 0; i < slen; i++)
            has[(unsigned char)s[i]] = 1;
        for (i = 0; i + win <= len; i++)
            if (has[(unsigned char)in[i]] && memmem(s, slen, in + i, win))
                redact_mark(mask, i, i + win, 2);
        OPENSSL_cleanse(has, sizeof(has));
    }
    /* A piece found: the rest of the token around it goes too (the edges shorter than a
     * piece, and the parts that differ from the secret). */
    for (i = 0; i < len; i++) {
        size_t l;
        size_t r;

        if (mask[i] != 2 || (i > 0 && mask[i - 1] == 2))
            continue;
        for (l = i; l > 0 && !mask[l - 1] && redact_tokch((unsigned char)in[l - 1]); l--)
            mask[l - 1] = 2;
        for (r = i; r < len && mask[r] == 2; r++)
            ;
        for (; r < len && !mask[r] && (redact_tokch((unsigned char)in[r]) || in[r] == '='); r++)
            mask[r] = 2;
        i = r;
    }
}

/* Where the value after `Authorization:` ends. AWS4-HMAC-SHA256 values have spaces and commas:
 * through the hex after Signature= when there is one before a line or quote ends. */
static size_t redact_auth_end(const char *in, size_t len, size_t *start)
{
    size_t v = *start;
    size_t lim = len - v > REDACT_SIGN_SPAN ? v + REDACT_SIGN_SPAN : len;
    size_t e;

    if (len - v >= 5 && !strncasecmp(in + v, "AWS4-", 5)) {
        for (e = v; e < lim && in[e] != '"' && in[e] != '\'' && in[e] != '\n' && in[e] != '\r';
             e++) {
            if (lim - e >= 10 && !strncasecmp(in + e, "Signature=", 10)) {
                for (e += 10; e < len && redact_hex((unsigned char)in[e]); e++)
                    ;
                return e;
            }
        }
        return e;
    }
    /* "Bearer TOKEN", "Basic ...": the scheme word, then the token. */
    for (e = v; e < len && isalpha((unsigned char)in[e]); e++)
        ;
    if (e > v && e < len && in[e] == ' ') {
        while (e < len && in[e] == ' ')
            e++;
        v = e;
        *start = v;
    }
    for (e = v; e < len && !redact_delim((unsigned char)in[e]); e++)
        ;
    return e;
}

/* Named values: NAME, optional quotes and spaces, ':' or '=', optional spaces and quotes,
 * then the value (1 in the mask). */
static void redact_named(const char *in, size_t len, unsigned char *mask)
{
    size_t i;
    size_t k;

    for (i = 0; i < len; i++) {
        for (k = 0; k < sizeof(redact_names) / sizeof(redact_names[0]); k++) {
            size_t nl = strlen(redact_names[k].name);
            size_t j = i + nl;
            size_t e;

            if (len - i < nl || strncasecmp(in + i, redact_names[k].name, nl) != 0)
                continue;
            while (j < len && (in[j] == '"' || in[j] == '\'' || in[j] == ' ' || in[j] == '\t'))
                j++;
            if (j >= len || (in[j] != ':' && in[j] != '='))
                continue;
            j++;
            while (j < len && (in[j] == '"' || in[j] == '\'' || in[j] == ' ' || in[j] == '\t'))
                j++;
            switch (redact_names[k].kind) {
            case REDACT_AUTH:
                e = redact_auth_end(in, len, &j);
                break;
            case REDACT_HEX:
                for (e = j; e < len && redact_hex((unsigned char)in[e]); e++)
                    ;
                break;
            case REDACT_VALUE:
            default:
                for (e = j; e < len && !redact_delim((unsigned char)in[e]); e++)
                    ;
                break;
            }
            redact_mark(mask, j, e, 1);
            /* Whatever the value holds is marked already: going on after it keeps this
             * linear on a text of names without delimiters ("session_token=session_token=..."). */
            if (e > i + 1)
                i = e - 1;
            break;
        }
    }
}

/* Runs of REDACT_RUN or more token characters. */
static void redact_runs(const char *in, size_t len, unsigned char *mask)
{
    size_t i = 0;
    size_t s;

    while (i < len) {
        if (!redact_tokch((unsigned char)in[i])) {
            i++;
            continue;
        }
        for (s = i; i < len && redact_tokch((unsigned char)in[i]); i++)
            ;
        if (i - s >= REDACT_RUN)
            redact_mark(mask, s, i, 1);
    }
}

void redact_text(const char *in, size_t in_len, const char *const *secrets, size_t nsecrets,
                 char *out, size_t n)
{
    unsigned char *mask = NULL;
    unsigned char *nmask = NULL;
    char *norm = NULL;
    size_t *pos = NULL;
    size_t nlen;
    size_t len;
    size_t i;
    size_t j = 0;

    if (!n)
        return;
    out[0] = '\0';
    if (!in)
        return;
    len = strnlen(in, in_len < REDACT_SCAN ? in_len : REDACT_SCAN);
    if (!len)
        return;
    mask = calloc(len, 1);
    nmask = calloc(len, 1);
    norm = calloc(len, 1);
    pos = calloc(len + 1, sizeof(*pos));
    if (!mask || !nmask || !norm || !pos) {
        /* Nothing we cannot check goes out. */
        (void)snprintf(out, n, "%s", REDACT_MARK);
        goto out;
    }
    /* The rules look at the decoded text; a mark there covers the whole escape it came
     * from. */
    nlen = redact_decode(in, len, norm, pos);
    /* A secret holding what reads as an escape ("\\\"", "\\/") is echoed as written: the
     * secrets are looked for in the text as it came too. */
    redact_secrets(in, len, secrets, secrets ? nsecrets : 0, mask);
    redact_secrets(norm, nlen, secrets, secrets ? nsecrets : 0, nmask);
    redact_named(norm, nlen, nmask);
    redact_runs(norm, nlen, nmask);
    for (i = 0; i < nlen; i++)
        if (nmask[i])
            redact_mark(mask, pos[i], pos[i + 1], nmask[i]);
    for (i = 0; i < len && j + 1 < n;) {
        unsigned char c = (unsigned char)in[i];
        size_t m;

        if (!mask[i]) {
            out[j++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
            i++;
            continue;
        }
        for (m = 0; REDACT_MARK[m] && j + 1 < n; m++)
            out[j++] = REDACT_MARK[m];
        while (i < len && mask[i])
            i++;
    }
    out[j] = '\0';
out:
    if (norm)
        OPENSSL_cleanse(norm, len);
    free(norm);
    free(nmask);
    free(mask);
    free(pos);
}
