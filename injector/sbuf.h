/* sbuf.h: bounded, length-carrying byte buffers that may hold secrets.
 * Growth allocates, copies, wipes and frees: a secret is never left behind by realloc. */
#ifndef INJ_SBUF_H
#define INJ_SBUF_H

#include <stddef.h>

struct sbuf {
    unsigned char *p; /* always NUL-terminated when non-NULL (p[len] == 0) */
    size_t len;
    size_t cap;
    size_t max; /* appends that would exceed max fail with SBUF_TOOBIG */
};

#define SBUF_INIT(maxbytes)    \
    {                          \
        NULL, 0, 0, (maxbytes) \
    }

enum sbuf_rc { SBUF_OK = 0, SBUF_NOMEM, SBUF_TOOBIG };

enum sbuf_rc sbuf_append(struct sbuf *b, const void *data, size_t n);
enum sbuf_rc sbuf_append_str(struct sbuf *b, const char *s);
/* Wipes the contents (keeps the allocation). */
void sbuf_wipe(struct sbuf *b);
/* Wipes and frees; b is reusable afterwards (max kept). */
void sbuf_wipe_free(struct sbuf *b);

/* Wipes n bytes at p (OPENSSL_cleanse), then frees p. NULL is fine. */
void wipe_free(void *p, size_t n);
/* Wipes and frees a NUL-terminated string. */
void wipe_free_str(char *s);
/* strdup/memdup that return NULL on failure; the memdup result is NUL-terminated. */
char *xstrdup(const char *s);
char *xmemdup(const void *p, size_t n);

#endif
