/* wipemem.c: wipe-on-free allocators for libcurl and OpenSSL. A block's usable size comes
 * from malloc_usable_size (glibc and musl); realloc never leaves the old block unwiped. */
#include "wipemem.h"

#include <curl/curl.h>
#include <malloc.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

static void wm_free(void *p)
{
    if (!p)
        return;
    OPENSSL_cleanse(p, malloc_usable_size(p));
    free(p);
}

/* realloc as malloc + copy + wipe + free: the old block may hold a secret. */
static void *wm_realloc(void *p, size_t n)
{
    void *q;
    size_t old;

    if (!p)
        return malloc(n);
    if (n == 0) {
        wm_free(p);
        return NULL;
    }
    old = malloc_usable_size(p);
    if (n <= old)
        return p; /* the block is big enough: nothing moves, nothing is left behind */
    q = malloc(n);
    if (!q)
        return NULL;
    memcpy(q, p, old);
    wm_free(p);
    return q;
}

static char *wm_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);

    if (d)
        memcpy(d, s, n);
    return d;
}

static void *wm_ossl_malloc(size_t n, const char *file, int line)
{
    (void)file;
    (void)line;
    return malloc(n);
}

static void *wm_ossl_realloc(void *p, size_t n, const char *file, int line)
{
    (void)file;
    (void)line;
    return wm_realloc(p, n);
}

static void wm_ossl_free(void *p, const char *file, int line)
{
    (void)file;
    (void)line;
    wm_free(p);
}

int wipemem_install_openssl(void)
{
    return CRYPTO_set_mem_functions(wm_ossl_malloc, wm_ossl_realloc, wm_ossl_free);
}

enum inj_rc wipemem_curl_global_init(struct inj_err *err)
{
    if (curl_global_init_mem(CURL_GLOBAL_DEFAULT, malloc, wm_free, wm_realloc, wm_strdup, calloc) !=
        CURLE_OK)
        return inj_err_set(err, INJ_E_SOFTWARE, "cannot initialise libcurl");
    return INJ_OK;
}
