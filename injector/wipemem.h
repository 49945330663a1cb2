/* wipemem.h: allocators that wipe memory before freeing it, for libcurl and OpenSSL.
 * Their heap copies of keys, tokens, request headers and decrypted responses are then wiped
 * like our own buffers. Install before either library allocates anything. */
#ifndef INJ_WIPEMEM_H
#define INJ_WIPEMEM_H

#include "err.h"

/* Installs the wiping allocator in OpenSSL (CRYPTO_set_mem_functions): call first in main.
 * Returns 0 when OpenSSL had already allocated (then it keeps its own). */
int wipemem_install_openssl(void);

/* curl_global_init_mem with the wiping allocator (instead of curl_global_init). */
enum inj_rc wipemem_curl_global_init(struct inj_err *err);

#endif
