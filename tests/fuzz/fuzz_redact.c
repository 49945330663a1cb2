/* fuzz_redact.c: redact_text (redact.c), the cleaner of all server text: its escape decoding
 * (%2B %2F %3D, JSON's \/ \" \\ \uXXXX) and the mapping of marks back onto the input. Input:
 * one byte choosing the output size and where a known secret goes, then the text. Checked:
 * the output is printable and bounded; no 16-byte piece of the known secret is left in it,
 * neither as written nor once its escapes are decoded, when the text holds the secret
 * literally or JSON-escaped among the fuzzed bytes. */
#include <string.h>

#include "fuzz.h"
#include "redact.h"

/* Known secret: a / or + every few characters (no 16-byte piece of it is free of an escape once
 * escaped), no hex digit, 'u', '%', '\\' or '"', so no escape can start before a piece of
 * it and take its first characters. */
#define SECRET "KNOWN/SQRT+ghijk/lmnop+qrstv/wxyzG+HIJKL/MNOPQ+RSTVW/XYZkm+nqrst=="
#define PIECE 16u

static const char secret[] = SECRET;

/* The secret JSON-escaped: / as \/, + as \u002b, = as \u003D. */
static size_t escaped_secret(char *out)
{
    const char *s = secret;
    size_t j = 0;

    for (; *s; s++) {
        const char *e = *s == '/' ? "\\/" : *s == '+' ? "\\u002b" : *s == '=' ? "\\u003D" : NULL;
        if (e) {
            memcpy(out + j, e, strlen(e));
            j += strlen(e);
        } else {
            out[j++] = *s;
        }
    }
    return j;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* out with the escapes decoded (what a reader decoding the log would see), into dec. */
static void decode(const char *out, char *dec)
{
    size_t j = 0;

    while (*out) {
        if (out[0] == '\\' && (out[1] == '/' || out[1] == '"' || out[1] == '\\')) {
            dec[j++] = out[1];
            out += 2;
        } else if (out[0] == '\\' && out[1] == 'u' && hexval(out[2]) >= 0 && hexval(out[3]) >= 0 &&
                   hexval(out[4]) >= 0 && hexval(out[5]) >= 0) {
            int v = ((hexval(out[2]) * 16 + hexval(out[3])) * 16 + hexval(out[4])) * 16 +
                    hexval(out[5]);
            dec[j++] = v > 0 && v < 0x80 ? (char)v : '?';
            out += 6;
        } else if (out[0] == '%' && ((out[1] == '2' && strchr("BbFf", out[2]) && out[2]) ||
                                     (out[1] == '3' && (out[2] == 'D' || out[2] == 'd')))) {
            dec[j++] = out[1] == '3' ? '=' : (out[2] == 'B' || out[2] == 'b') ? '+' : '/';
            out += 3;
        } else {
            dec[j++] = *out++;
        }
    }
    dec[j] = '\0';
}

static void check(const char *out, size_t n)
{
    static char dec[4096];
    size_t len = strlen(out);
    size_t k;
    size_t i;

    FUZZ_ASSERT(len < n);
    for (i = 0; i < len; i++)
        FUZZ_ASSERT(out[i] >= 0x20 && out[i] < 0x7f);
    decode(out, dec);
    for (k = 0; k + PIECE <= sizeof(SECRET) - 1; k++) {
        FUZZ_ASSERT(!memmem(out, len, &secret[k], PIECE));
        FUZZ_ASSERT(!memmem(dec, strlen(dec), &secret[k], PIECE));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t sizes[] = {1, 2, 17, 64, 300, 4096};
    static char out[4096];
    const char *known[3] = {SECRET, NULL, ""};
    char *in;
    size_t n;
    size_t at;
    size_t el;

    if (size < 1 || size > 8192)
        return 0;
    n = sizes[data[0] % 6];
    at = (size_t)(data[0] / 6) * (size - 1) / 42;
    if (at > size - 1)
        at = size - 1;
    in = malloc(size + 8 * sizeof(secret));
    if (!in)
        return 0;
    /* The text as it is: anything of the secret in it goes. */
    memcpy(in, data + 1, size - 1);
    in[size - 1] = '\0';
    redact_text(in, size - 1, known, 3, out, n);
    check(out, n);
    /* The secret JSON-escaped at `at`, then written plainly at the end. */
    memcpy(in, data + 1, at);
    el = escaped_secret(in + at);
    memcpy(in + at + el, data + 1 + at, size - 1 - at);
    in[size - 1 + el] = ' ';
    memcpy(in + size + el, secret, sizeof(secret));
    redact_text(in, strlen(in), known, 3, out, n);
    check(out, n);
    free(in);
    return 0;
}
