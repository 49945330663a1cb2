/* sbuf.c: bounded buffers for secrets; growth never leaves an unwiped copy behind. */
#include "sbuf.h"

#include <openssl/crypto.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum sbuf_rc sbuf_append(struct sbuf *b, const void *data, size_t n)
{
    unsigned char *np;
    size_t ncap;

    if (n > SIZE_MAX - b->len - 1 || (b->max && b->len + n > b->max))
        return SBUF_TOOBIG;
    if (b->len + n + 1 > b->cap) {
        ncap = b->cap ? b->cap : 256;
        while (ncap < b->len + n + 1)
            ncap = ncap > SIZE_MAX / 2 ? b->len + n + 1 : ncap * 2;
        /* Never realloc: the old block would keep its bytes. Copy, wipe, free. */
        np = malloc(ncap);
        if (!np)
            return SBUF_NOMEM;
        if (b->p) {
            memcpy(np, b->p, b->len);
            OPENSSL_cleanse(b->p, b->cap);
            free(b->p);
        }
        b->p = np;
        b->cap = ncap;
    }
    if (n)
        memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
    return SBUF_OK;
}

enum sbuf_rc sbuf_append_str(struct sbuf *b, const char *s)
{
    return sbuf_append(b, s, strlen(s));
}

void sbuf_wipe(struct sbuf *b)
{
    if (b->p)
        OPENSSL_cleanse(b->p, b->cap);
    b->len = 0;
}

void sbuf_wipe_free(struct sbuf *b)
{
    if (b->p) {
        OPENSSL_cleanse(b->p, b->cap);
        free(b->p);
    }
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
}

void wipe_free(void *p, size_t n)
{
    if (!p)
        return;
    OPENSSL_cleanse(p, n);
    free(p);
}

void wipe_free_str(char *s)
{
    if (s)
        wipe_free(s, strlen(s));
}

char *xstrdup(const char *s)
{
    return xmemdup(s, strlen(s));
}

char *xmemdup(const void *p, size_t n)
{
    char *d;

    if (n == SIZE_MAX)
        return NULL;
    d = malloc(n + 1);
    if (!d)
        return NULL;
    if (n)
        memcpy(d, p, n);
    d[n] = '\0';
    return d;
}
