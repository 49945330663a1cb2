/* castore.c: a PEM CA bundle indexed by subject name hash (the hash OpenSSL's hashed
 * directories are named by), decoded certificate by certificate only when a chain asks for
 * that subject: an X509_LOOKUP, as OpenSSL's by_dir lookup serves a hashed directory. */
#include "castore.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "rfile.h"
#include "sbuf.h"

/* A system bundle is about 220 KB; anything far larger is not a CA bundle. */
#define CASTORE_MAX_FILE (16u * 1024u * 1024u)

struct castore_cert {
    unsigned long hash; /* X509_NAME_hash_ex of its subject (canonical form) */
    size_t off;         /* its DER in der[off, off + len) */
    size_t len;
};

struct castore {
    unsigned char *der; /* every certificate's DER, one after another */
    size_t der_len;
    size_t der_cap;
    struct castore_cert *v;
    size_t n;
    size_t cap;
    size_t decoded;
    X509_LOOKUP_METHOD *meth;
};

void castore_free(struct castore *cs)
{
    if (!cs)
        return;
    free(cs->der);
    free(cs->v);
    if (cs->meth)
        X509_LOOKUP_meth_free(cs->meth);
    free(cs);
}

size_t castore_count(const struct castore *cs)
{
    return cs->n;
}

size_t castore_decoded(const struct castore *cs)
{
    return cs->decoded;
}

/* One DER TLV at p[0..len): its tag, header length and body length; -1 when malformed (high
 * tag numbers, indefinite or over-long lengths, or running past len). */
static int castore_tlv(const unsigned char *p, size_t len, unsigned char *tag, size_t *hdr,
                       size_t *body)
{
    size_t n;
    size_t i;
    size_t l = 0;

    if (len < 2 || (p[0] & 0x1f) == 0x1f)
        return -1;
    *tag = p[0];
    if (!(p[1] & 0x80)) {
        *hdr = 2;
        l = p[1];
    } else {
        n = p[1] & 0x7fu;
        if (n == 0 || n > 4 || len < 2 + n)
            return -1;
        for (i = 0; i < n; i++)
            l = (l << 8) | p[2 + i];
        *hdr = 2 + n;
    }
    if (l > len - *hdr)
        return -1;
    *body = l;
    return 0;
}

/* The subject Name of the certificate der[0..len) (exactly one Certificate, nothing after
 * it), as DER: tbsCertificate = [0] version?, serial, signature, issuer, validity, subject. */
static int castore_subject(const unsigned char *der, size_t len, const unsigned char **name,
                           size_t *nlen)
{
    unsigned char tag;
    size_t hdr;
    size_t body;
    const unsigned char *p;
    size_t left;
    int field;

    if (castore_tlv(der, len, &tag, &hdr, &body) != 0 || tag != 0x30 || hdr + body != len)
        return -1;
    p = der + hdr;
    left = body;
    if (castore_tlv(p, left, &tag, &hdr, &body) != 0 || tag != 0x30)
        return -1;
    p += hdr; /* into tbsCertificate */
    left = body;
    for (field = 0; field < 6; field++) {
        if (castore_tlv(p, left, &tag, &hdr, &body) != 0)
            return -1;
        if (field == 0 && tag != 0xa0)
            field = 1; /* no version: v1 */
        if (field == 5) {
            if (tag != 0x30)
                return -1;
            *name = p;
            *nlen = hdr + body;
            return 0;
        }
        p += hdr + body;
        left -= hdr + body;
    }
    return -1;
}

static int castore_grow_der(struct castore *cs, size_t more)
{
    size_t ncap = cs->der_cap ? cs->der_cap : 4096;
    unsigned char *nd;

    if (more > CASTORE_MAX_FILE || cs->der_len > CASTORE_MAX_FILE)
        return -1;
    while (ncap - cs->der_len < more)
        ncap *= 2;
    if (ncap == cs->der_cap)
        return 0;
    /* Public certificates: realloc is fine here (nothing secret moves). */
    nd = realloc(cs->der, ncap);
    if (!nd)
        return -1;
    cs->der = nd;
    cs->der_cap = ncap;
    return 0;
}

/* Records the certificate just decoded at der[off, der_len). */
static enum castore_rc castore_add(struct castore *cs, size_t off)
{
    const unsigned char *name = NULL;
    const unsigned char *q;
    size_t nlen = 0;
    X509_NAME *xn;
    unsigned long h;
    int ok = 0;

    if (castore_subject(cs->der + off, cs->der_len - off, &name, &nlen) != 0 || nlen > 65536)
        return CASTORE_OTHER;
    q = name;
    xn = d2i_X509_NAME(NULL, &q, (long)nlen);
    if (!xn)
        return CASTORE_OTHER;
    h = X509_NAME_hash_ex(xn, NULL, NULL, &ok);
    X509_NAME_free(xn);
    if (!ok)
        return CASTORE_OTHER;
    if (cs->n == cs->cap) {
        size_t ncap = cs->cap ? cs->cap * 2 : 64;
        struct castore_cert *nv = realloc(cs->v, ncap * sizeof(*nv));

        if (!nv)
            return CASTORE_NOMEM;
        cs->v = nv;
        cs->cap = ncap;
    }
    cs->v[cs->n].hash = h;
    cs->v[cs->n].off = off;
    cs->v[cs->n].len = cs->der_len - off;
    cs->n++;
    return CASTORE_OK;
}

/* The next line of p[*at..len) (without its end of line) into *line / *llen. */
static int castore_line(const char *p, size_t len, size_t *at, const char **line, size_t *llen)
{
    const char *nl;
    size_t l;

    if (*at >= len)
        return 0;
    *line = p + *at;
    nl = memchr(*line, '\n', len - *at);
    l = nl ? (size_t)(nl - *line) : len - *at;
    *at += nl ? l + 1 : l;
    if (l && (*line)[l - 1] == '\r')
        l--;
    *llen = l;
    return 1;
}

static int castore_is(const char *line, size_t llen, const char *what)
{
    size_t n = strlen(what);

    return llen >= n && !memcmp(line, what, n);
}

/* Walks the PEM text: every block must be a CERTIFICATE; text between blocks is ignored, as
 * OpenSSL ignores it (Amazon Linux's bundle has a comment before each certificate). */
static enum castore_rc castore_parse(struct castore *cs, const char *p, size_t len)
{
    static const char begin[] = "-----BEGIN CERTIFICATE-----";
    static const char end[] = "-----END CERTIFICATE-----";
    EVP_ENCODE_CTX *dec = EVP_ENCODE_CTX_new();
    enum castore_rc rc = CASTORE_NOMEM;
    const char *line;
    size_t llen;
    size_t at = 0;
    size_t off = 0;
    int in = 0;
    int outl;

    if (!dec)
        goto out;
    rc = CASTORE_OTHER;
    while (castore_line(p, len, &at, &line, &llen)) {
        if (!in) {
            if (castore_is(line, llen, "-----BEGIN ")) {
                if (llen != sizeof(begin) - 1 || memcmp(line, begin, llen) != 0)
                    goto out; /* another kind of block: OpenSSL's loader decides */
                in = 1;
                off = cs->der_len;
                EVP_DecodeInit(dec);
            }
            continue;
        }
        if (castore_is(line, llen, "-----")) {
            if (llen != sizeof(end) - 1 || memcmp(line, end, llen) != 0)
                goto out;
            if (castore_grow_der(cs, 80) != 0)
                goto nomem;
            outl = 0;
            if (EVP_DecodeFinal(dec, cs->der + cs->der_len, &outl) != 1 || outl < 0)
                goto out;
            cs->der_len += (size_t)outl;
            rc = castore_add(cs, off);
            if (rc != CASTORE_OK)
                goto out;
            rc = CASTORE_OTHER;
            in = 0;
            continue;
        }
        if (memchr(line, ':', llen) || llen > 1024)
            goto out; /* PEM headers (an encrypted block) or not base64 */
        if (castore_grow_der(cs, llen + 80) != 0)
            goto nomem;
        outl = 0;
        if (EVP_DecodeUpdate(dec, cs->der + cs->der_len, &outl, (const unsigned char *)line,
                             (int)llen) < 0 ||
            outl < 0)
            goto out;
        cs->der_len += (size_t)outl;
    }
    rc = !in && cs->n ? CASTORE_OK : CASTORE_OTHER;
    goto out;
nomem:
    rc = CASTORE_NOMEM;
out:
    EVP_ENCODE_CTX_free(dec);
    return rc;
}

/* X509_LOOKUP get_by_subject: every certificate of the bundle with that subject goes into the
 * lookup's store (as by_dir adds a hashed directory's), and one of them is returned, borrowed
 * from the store as by_dir returns it (the caller takes its own reference). */
static int castore_by_subject(X509_LOOKUP *lu, X509_LOOKUP_TYPE type, const X509_NAME *name,
                              X509_OBJECT *ret)
{
    struct castore *cs = X509_LOOKUP_get_method_data(lu);
    X509_STORE *store = X509_LOOKUP_get_store(lu);
    X509_OBJECT *obj;
    X509 *found;
    unsigned long h;
    int added = 0;
    int ok = 0;
    size_t i;

    if (!cs || !store || type != X509_LU_X509)
        return 0;
    h = X509_NAME_hash_ex(name, NULL, NULL, &ok);
    if (!ok)
        return 0;
    for (i = 0; i < cs->n; i++) {
        const unsigned char *q = cs->der + cs->v[i].off;
        X509 *x;

        if (cs->v[i].hash != h || cs->v[i].len > 1u << 20)
            continue;
        x = d2i_X509(NULL, &q, (long)cs->v[i].len);
        if (!x)
            continue; /* never trusted: OpenSSL's loader would have refused the bundle */
        cs->decoded++;
        if (!X509_NAME_cmp(X509_get_subject_name(x), name) && X509_STORE_add_cert(store, x))
            added = 1;
        X509_free(x);
    }
    if (!added)
        return 0;
    if (!X509_STORE_lock(store))
        return 0;
    obj = X509_OBJECT_retrieve_by_subject(X509_STORE_get0_objects(store), type, name);
    found = obj ? X509_OBJECT_get0_X509(obj) : NULL;
    /* set1 takes a reference; the store keeps the cert alive, so give that one back. */
    if (found && X509_OBJECT_set1_X509(ret, found))
        X509_free(found);
    else
        found = NULL;
    (void)X509_STORE_unlock(store);
    return found != NULL;
}

enum castore_rc castore_index(const char *path, const char *pem, size_t len, struct castore **out)
{
    struct sbuf text = SBUF_INIT(CASTORE_MAX_FILE);
    struct castore *cs = NULL;
    enum castore_rc rc = CASTORE_NOMEM;
    struct inj_err err;
    int sys = 0;

    *out = NULL;
    if (path) {
        if (rfile_read("CA bundle", path, CASTORE_MAX_FILE, 0, &text, &sys, &err) != INJ_OK) {
            rc = sys == ENOMEM ? CASTORE_NOMEM : CASTORE_UNREADABLE;
            goto out;
        }
        pem = (const char *)text.p;
        len = text.len;
    }
    cs = calloc(1, sizeof(*cs));
    if (!cs)
        goto out;
    rc = castore_parse(cs, pem, len);
    if (rc != CASTORE_OK)
        goto out;
    rc = CASTORE_NOMEM;
    cs->meth = X509_LOOKUP_meth_new("injector CA bundle index");
    if (!cs->meth || !X509_LOOKUP_meth_set_get_by_subject(cs->meth, castore_by_subject))
        goto out;
    *out = cs;
    cs = NULL;
    rc = CASTORE_OK;
out:
    castore_free(cs);
    sbuf_wipe_free(&text); /* public certificates; the one free there is */
    return rc;
}

int castore_attach(struct castore *cs, void *ssl_ctx)
{
    X509_STORE *store = SSL_CTX_get_cert_store((SSL_CTX *)ssl_ctx);
    X509_LOOKUP *lu;

    if (!store)
        return -1;
    lu = X509_STORE_add_lookup(store, cs->meth);
    if (!lu || !X509_LOOKUP_set_method_data(lu, cs))
        return -1;
    return 0;
}
