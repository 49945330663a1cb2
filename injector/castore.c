/* castore.c: a PEM CA bundle indexed by a key of each certificate's subject, decoded
 * certificate by certificate only when a chain asks for that subject: an X509_LOOKUP, as
 * OpenSSL's by_dir lookup serves a hashed directory. Indexing decodes the base64 of each
 * certificate only as far as its subject and hashes the subject's DER as it stands (no
 * X509_NAME, no SHA-1): about 0.2 ms for a system bundle where decoding every subject cost
 * 3 ms. */
#include "castore.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A system bundle is about 220 KB; anything far larger is not a CA bundle. */
#define CASTORE_MAX_FILE (16u * 1024u * 1024u)
/* The DER a certificate's subject ends in, for nearly every CA: decoded first. */
#define CASTORE_PREFIX 512u
/* The largest certificate looked at (DER). */
#define CASTORE_MAX_CERT (1u << 20)

struct castore_cert {
    uint64_t key; /* castore_name_key of its subject */
    size_t off;   /* its base64 lines: pem[off, off + len) */
    size_t len;
};

struct castore {
    char *text;      /* the file read (NULL for the compiled-in bundle) */
    const char *pem; /* text, or the compiled-in bundle (borrowed) */
    size_t pem_len;
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
    free(cs->text); /* public certificates: nothing to wipe */
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

/* The value of each base64 character; 64: '=', 65: white space, 66: anything else. */
static const unsigned char castore_b64_value[256] = {
    66, 66, 66, 66, 66, 66, 66, 66, 66, 65, 65, 66, 66, 65, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
    66, 66, 66, 66, 66, 66, 66, 66, 65, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 62, 66, 66, 66, 63,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 66, 66, 66, 64, 66, 66, 66, 0,  1,  2,  3,  4,  5,  6,
    7,  8,  9,  10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 66, 66, 66, 66, 66,
    66, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48,
    49, 50, 51, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
    66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
    66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
    66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
    66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
    66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
};

/* Decodes the base64 lines p[0..len) into out[0..max): all of them when they fit (*full set),
 * else the first max bytes (*full 0). Returns 0, or -1 when p is not base64 (a character
 * outside the alphabet, padding before the end, a cut quantum). */
static int castore_b64(const char *p, size_t len, unsigned char *out, size_t max, size_t *outl,
                       int *full)
{
    unsigned long acc = 0;
    size_t o = 0;
    size_t i;
    unsigned int q = 0; /* sextets in acc */
    unsigned int pad = 0;

    *full = 0;
    for (i = 0; i < len; i++) {
        unsigned char v;

        /* Four sextets at once, the common case inside a line. */
        while (q == 0 && i + 4 <= len && o + 3 <= max) {
            unsigned char a = castore_b64_value[(unsigned char)p[i]];
            unsigned char b = castore_b64_value[(unsigned char)p[i + 1]];
            unsigned char c = castore_b64_value[(unsigned char)p[i + 2]];
            unsigned char d = castore_b64_value[(unsigned char)p[i + 3]];
            unsigned long w;

            if ((a | b | c | d) & 0xc0)
                break; /* '=', white space, or not base64: one at a time below */
            w = ((unsigned long)a << 18) | ((unsigned long)b << 12) | ((unsigned long)c << 6) | d;
            out[o++] = (unsigned char)(w >> 16);
            out[o++] = (unsigned char)(w >> 8);
            out[o++] = (unsigned char)w;
            i += 4;
        }
        if (i >= len)
            break;
        v = castore_b64_value[(unsigned char)p[i]];

        if (v == 65)
            continue;
        if (v == 66 || (pad && v != 64))
            return -1;
        if (v == 64) {
            if (q < 2 || ++pad + q > 4)
                return -1;
            if (q + pad < 4)
                continue;
            /* xx== is one byte, xxx= two */
            if (o + (q - 1) > max)
                break;
            out[o++] = (unsigned char)(acc >> (q == 2 ? 4 : 10));
            if (q == 3)
                out[o++] = (unsigned char)(acc >> 2);
            q = 4; /* complete: only white space may follow */
            continue;
        }
        acc = (acc << 6) | v;
        if (++q < 4)
            continue;
        if (o + 3 > max)
            break;
        out[o++] = (unsigned char)(acc >> 16);
        out[o++] = (unsigned char)(acc >> 8);
        out[o++] = (unsigned char)acc;
        acc = 0;
        q = 0;
    }
    *outl = o;
    if (i < len)
        return 0; /* out is full: a prefix */
    if (q != 0 && !(q == 4 && pad))
        return -1;
    *full = 1;
    return 0;
}

/* One DER header at p[0..len): tag, header length and the body length it declares; -1 when
 * malformed (high tag numbers, indefinite or over-long lengths, a header past len). */
static int castore_hdr(const unsigned char *p, size_t len, unsigned char *tag, size_t *hdr,
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
    *body = l;
    return 0;
}

/* One whole DER TLV at p[0..len); -1 when malformed or running past len. */
static int castore_tlv(const unsigned char *p, size_t len, unsigned char *tag, size_t *hdr,
                       size_t *body)
{
    if (castore_hdr(p, len, tag, hdr, body) != 0 || *body > len - *hdr)
        return -1;
    return 0;
}

/* The subject Name of the certificate whose DER starts der[0..len) (all of it when complete,
 * else a prefix), as DER: tbsCertificate = [0] version?, serial, signature, issuer,
 * validity, subject. A complete certificate must be exactly one, nothing after it. */
static int castore_subject(const unsigned char *der, size_t len, int complete,
                           const unsigned char **name, size_t *nlen)
{
    unsigned char tag;
    size_t hdr;
    size_t body;
    const unsigned char *p;
    size_t left;
    int field;

    if (castore_hdr(der, len, &tag, &hdr, &body) != 0 || tag != 0x30)
        return -1;
    if (complete && hdr + body != len)
        return -1;
    p = der + hdr;
    left = body < len - hdr ? body : len - hdr;
    if (castore_hdr(p, left, &tag, &hdr, &body) != 0 || tag != 0x30)
        return -1;
    if (complete && body > left - hdr)
        return -1;
    p += hdr; /* into tbsCertificate */
    left = body < left - hdr ? body : left - hdr;
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

#define CASTORE_FNV_OFFSET 0xcbf29ce484222325ull
#define CASTORE_FNV_PRIME 0x100000001b3ull

static uint64_t castore_mix(uint64_t h, unsigned long byte)
{
    return (h ^ (byte & 0xffu)) * CASTORE_FNV_PRIME;
}

static uint64_t castore_mix_len(uint64_t h, size_t n)
{
    h = castore_mix(h, (unsigned long)(n >> 24));
    h = castore_mix(h, (unsigned long)(n >> 16));
    h = castore_mix(h, (unsigned long)(n >> 8));
    return castore_mix(h, (unsigned long)n);
}

/* One attribute value into h. OpenSSL compares names in a canonical form (x509_name_canon):
 * the string types below as UTF-8, ASCII lowercased, white space trimmed and collapsed; any
 * other type as it stands. The key keeps only the ASCII letters, digits and punctuation of
 * such a string, lowercased: names equal in OpenSSL's sense get equal keys (a key is a
 * function of the canonical form); equal keys are then compared by X509_NAME_cmp. */
static uint64_t castore_key_value(uint64_t h, unsigned char tag, const unsigned char *v, size_t len)
{
    size_t width;
    size_t i;

    switch (tag) {
    case 0x0c: /* UTF8String */
    case 0x13: /* PrintableString */
    case 0x14: /* T61String (Latin-1 to OpenSSL) */
    case 0x16: /* IA5String */
    case 0x1a: /* VisibleString */
        width = 1;
        break;
    case 0x1e: /* BMPString */
        width = 2;
        break;
    case 0x1c: /* UniversalString */
        width = 4;
        break;
    default:
        h = castore_mix(h, 1);
        h = castore_mix(h, tag);
        h = castore_mix_len(h, len);
        for (i = 0; i < len; i++)
            h = castore_mix(h, v[i]);
        return h;
    }
    h = castore_mix(h, 2);
    for (i = 0; i + width <= len; i += width) {
        unsigned long cp = 0;
        size_t k;

        for (k = 0; k < width; k++)
            cp = (cp << 8) | v[i + k];
        if (cp <= 0x20 || cp >= 0x7f)
            continue; /* white space, control, not ASCII */
        if (cp >= 'A' && cp <= 'Z')
            cp += 'a' - 'A';
        h = castore_mix(h, cp);
    }
    return h;
}

/* The key of a Name's DER (SEQUENCE OF SET OF SEQUENCE { OID, value }): -1 when malformed. */
static int castore_name_key(const unsigned char *p, size_t len, uint64_t *key)
{
    uint64_t h = CASTORE_FNV_OFFSET;
    unsigned char tag;
    size_t hdr;
    size_t body;
    size_t left;

    if (castore_tlv(p, len, &tag, &hdr, &body) != 0 || tag != 0x30 || hdr + body != len)
        return -1;
    p += hdr;
    left = body;
    while (left) {
        const unsigned char *s;
        size_t sleft;

        if (castore_tlv(p, left, &tag, &hdr, &body) != 0 || tag != 0x31)
            return -1;
        s = p + hdr;
        sleft = body;
        p += hdr + body;
        left -= hdr + body;
        while (sleft) {
            const unsigned char *a;
            size_t aleft;
            size_t ohdr;
            size_t obody;

            if (castore_tlv(s, sleft, &tag, &hdr, &body) != 0 || tag != 0x30)
                return -1;
            a = s + hdr;
            aleft = body;
            s += hdr + body;
            sleft -= hdr + body;
            if (castore_tlv(a, aleft, &tag, &ohdr, &obody) != 0 || tag != 0x06)
                return -1;
            h = castore_mix(h, 0);
            h = castore_mix_len(h, obody);
            for (size_t i = 0; i < obody; i++)
                h = castore_mix(h, a[ohdr + i]);
            a += ohdr + obody;
            aleft -= ohdr + obody;
            if (castore_tlv(a, aleft, &tag, &hdr, &body) != 0 || hdr + body != aleft)
                return -1;
            h = castore_key_value(h, tag, a + hdr, body);
        }
    }
    *key = h;
    return 0;
}

/* The DER of the certificate whose base64 lines are b64[0..len), all of it (malloc'd into
 * *der, *dlen), or NULL when it does not decode. */
static unsigned char *castore_decode(const char *b64, size_t len, size_t *dlen)
{
    size_t max = len / 4 * 3 + 3;
    unsigned char *der;
    int full = 0;

    if (max > CASTORE_MAX_CERT)
        return NULL;
    der = malloc(max);
    if (!der)
        return NULL;
    if (castore_b64(b64, len, der, max, dlen, &full) != 0 || !full) {
        free(der);
        return NULL;
    }
    return der;
}

/* Records the certificate whose base64 lines are cs->pem[off, off + len): decodes it as far
 * as its subject (all of it when its subject ends past CASTORE_PREFIX bytes). */
static enum castore_rc castore_add(struct castore *cs, size_t off, size_t len)
{
    unsigned char prefix[CASTORE_PREFIX];
    unsigned char *all = NULL;
    const unsigned char *name = NULL;
    size_t nlen = 0;
    size_t dlen = 0;
    uint64_t key = 0;
    int full = 0;
    enum castore_rc rc = CASTORE_OTHER;

    if (castore_b64(cs->pem + off, len, prefix, sizeof(prefix), &dlen, &full) != 0)
        goto out;
    if (castore_subject(prefix, dlen, full, &name, &nlen) != 0) {
        if (full)
            goto out;
        all = castore_decode(cs->pem + off, len, &dlen);
        if (!all || castore_subject(all, dlen, 1, &name, &nlen) != 0)
            goto out;
    }
    if (castore_name_key(name, nlen, &key) != 0)
        goto out;
    if (cs->n == cs->cap) {
        size_t ncap = cs->cap ? cs->cap * 2 : 256;
        struct castore_cert *nv = realloc(cs->v, ncap * sizeof(*nv));

        rc = CASTORE_NOMEM;
        if (!nv)
            goto out;
        cs->v = nv;
        cs->cap = ncap;
    }
    cs->v[cs->n].key = key;
    cs->v[cs->n].off = off;
    cs->v[cs->n].len = len;
    cs->n++;
    rc = CASTORE_OK;
out:
    free(all); /* a public certificate */
    return rc;
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
 * OpenSSL ignores it (Amazon Linux's bundle has a comment before each certificate). A block's
 * body runs to the next '-', which must start its END line (base64 has no '-'; PEM headers
 * have one mid-line: an encrypted block is not taken). */
static enum castore_rc castore_parse(struct castore *cs)
{
    static const char begin[] = "-----BEGIN CERTIFICATE-----";
    static const char end[] = "-----END CERTIFICATE-----";
    enum castore_rc rc;
    const char *line;
    const char *dash;
    size_t llen;
    size_t at = 0;
    size_t body;

    while (castore_line(cs->pem, cs->pem_len, &at, &line, &llen)) {
        if (!castore_is(line, llen, "-----BEGIN "))
            continue;
        if (llen != sizeof(begin) - 1 || memcmp(line, begin, llen) != 0)
            return CASTORE_OTHER; /* another kind of block: OpenSSL's loader decides */
        body = at;
        dash = at < cs->pem_len ? memchr(cs->pem + at, '-', cs->pem_len - at) : NULL;
        if (!dash || (dash != cs->pem + at && dash[-1] != '\n'))
            return CASTORE_OTHER; /* a cut block, PEM headers, not base64 */
        at = (size_t)(dash - cs->pem);
        if (!castore_line(cs->pem, cs->pem_len, &at, &line, &llen) || llen != sizeof(end) - 1 ||
            memcmp(line, end, llen) != 0)
            return CASTORE_OTHER;
        rc = castore_add(cs, body, (size_t)(dash - cs->pem) - body);
        if (rc != CASTORE_OK)
            return rc;
    }
    return cs->n ? CASTORE_OK : CASTORE_OTHER;
}

/* X509_LOOKUP get_by_subject: every certificate of the bundle with that subject goes into the
 * lookup's store (as by_dir adds a hashed directory's), and one of them is returned, borrowed
 * from the store as by_dir returns it (the caller takes its own reference). */
static int castore_by_subject(X509_LOOKUP *lu, X509_LOOKUP_TYPE type, const X509_NAME *name,
                              X509_OBJECT *ret)
{
    struct castore *cs = X509_LOOKUP_get_method_data(lu);
    X509_STORE *store = X509_LOOKUP_get_store(lu);
    const unsigned char *nder = NULL;
    size_t nder_len = 0;
    X509_OBJECT *obj;
    X509 *found;
    uint64_t key;
    int added = 0;
    size_t i;

    if (!cs || !store || type != X509_LU_X509)
        return 0;
    if (!X509_NAME_get0_der(name, &nder, &nder_len) || castore_name_key(nder, nder_len, &key) != 0)
        return 0;
    for (i = 0; i < cs->n; i++) {
        const unsigned char *q;
        unsigned char *der;
        size_t dlen = 0;
        X509 *x;

        if (cs->v[i].key != key)
            continue;
        der = castore_decode(cs->pem + cs->v[i].off, cs->v[i].len, &dlen);
        if (!der)
            continue; /* never trusted: OpenSSL's loader would have refused the bundle */
        q = der;
        x = d2i_X509(NULL, &q, (long)dlen);
        if (x && q != der + dlen) {
            X509_free(x); /* something after the certificate: as above */
            x = NULL;
        }
        free(der);
        if (!x)
            continue;
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

/* Reads the regular file at path whole into cs->text, in one buffer of its size (rfile_read's
 * growing sbuf copies and wipes a 220 KB bundle several times over: nothing here is secret). */
static enum castore_rc castore_read(struct castore *cs, const char *path)
{
    enum castore_rc rc = CASTORE_UNREADABLE;
    struct stat st;
    size_t size;
    size_t got = 0;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);

    if (fd < 0)
        return errno == ENOMEM ? CASTORE_NOMEM : CASTORE_UNREADABLE;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 0 ||
        (unsigned long long)st.st_size > CASTORE_MAX_FILE)
        goto out;
    size = (size_t)st.st_size;
    cs->text = malloc(size + 1);
    if (!cs->text) {
        rc = CASTORE_NOMEM;
        goto out;
    }
    /* One byte more than fstat said: a file that grew meanwhile is OpenSSL's to read. */
    while (got <= size) {
        ssize_t n = read(fd, cs->text + got, size + 1 - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            goto out;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    rc = got <= size ? CASTORE_OK : CASTORE_OTHER;
    cs->pem = cs->text;
    cs->pem_len = got <= size ? got : 0;
out:
    (void)close(fd);
    return rc;
}

enum castore_rc castore_index(const char *path, const char *pem, size_t len, struct castore **out)
{
    struct castore *cs = NULL;
    enum castore_rc rc = CASTORE_NOMEM;

    *out = NULL;
    cs = calloc(1, sizeof(*cs));
    if (!cs)
        goto out;
    if (path) {
        rc = castore_read(cs, path);
        if (rc != CASTORE_OK)
            goto out;
    } else {
        cs->pem = pem ? pem : "";
        cs->pem_len = pem ? len : 0;
    }
    rc = castore_parse(cs);
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
