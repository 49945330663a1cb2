/* castore.h: a PEM CA bundle (one file: Amazon Linux's ca-bundle.crt, distroless's
 * ca-certificates.crt, AWS_CA_BUNDLE) indexed by subject, so that a TLS handshake decodes only
 * the issuers its chain needs instead of every certificate of the bundle (OpenSSL 3.0 takes
 * about 0.15 ms a certificate: 20 ms for a system bundle, on every start and every new
 * connection). It trusts exactly the certificates of the bundle: nothing is added, and a
 * bundle it cannot index exactly is left to OpenSSL's own loader (castore_index says so). */
#ifndef INJ_CASTORE_H
#define INJ_CASTORE_H

#include <stddef.h>

struct castore;

enum castore_rc {
    CASTORE_OK = 0,
    CASTORE_NOMEM,
    CASTORE_UNREADABLE, /* cannot open or read the file */
    CASTORE_OTHER,      /* not a plain bundle of "CERTIFICATE" blocks (TRUSTED CERTIFICATE,
                           CRLs, PEM headers, bad base64 or DER, no certificate at all):
                           OpenSSL's loader reads it instead, as before */
};

/* Indexes the PEM bundle at path, or the len bytes at pem when path is NULL (the compiled-in
 * bundle). Decodes the base64 of each certificate only as far as its subject and keys the
 * subject as OpenSSL compares names (a broken body shows at lookup: that certificate is then
 * never trusted). *out is owned (castore_free) on CASTORE_OK, NULL otherwise. */
enum castore_rc castore_index(const char *path, const char *pem, size_t len, struct castore **out);

/* Makes the store of ssl_ctx (an SSL_CTX *) find its issuers in cs (an X509_LOOKUP): each
 * certificate of cs whose subject a chain asks for is decoded then and added to that store.
 * cs must outlive ssl_ctx. Returns 0, or -1 when OpenSSL refused (out of memory). */
int castore_attach(struct castore *cs, void *ssl_ctx);

/* Number of certificates indexed. */
size_t castore_count(const struct castore *cs);

/* Number of certificates decoded so far by lookups (for tests and the debug log). */
size_t castore_decoded(const struct castore *cs);

void castore_free(struct castore *cs);

#endif
