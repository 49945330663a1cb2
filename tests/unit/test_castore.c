/* test_castore.c: the CA bundle index: which bundles it takes (only plain CERTIFICATE blocks,
 * text between them ignored, CRLF), which it leaves to OpenSSL's loader, that a lookup
 * decodes only the certificates with the subject asked for, matched as OpenSSL matches
 * names, and that a certificate broken past its subject is never trusted. */
#include "unit.h"

#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "ca.h"
#include "castore.h"

static size_t count_blocks(const char *p)
{
    size_t n = 0;

    while ((p = strstr(p, "-----BEGIN CERTIFICATE-----")) != NULL) {
        n++;
        p++;
    }
    return n;
}

static enum castore_rc index_text(const char *text, size_t *count)
{
    struct castore *cs = NULL;
    enum castore_rc rc = castore_index(NULL, text, strlen(text), &cs);

    *count = cs ? castore_count(cs) : 0;
    if (rc != CASTORE_OK)
        assert_null(cs);
    castore_free(cs);
    return rc;
}

/* The compiled-in bundle with every line end CRLF and a comment before each block (as
 * Amazon Linux's ca-bundle.crt has). malloc'd. */
static char *amazon_style(void)
{
    const char *p = inj_ca_fallback_pem;
    size_t cap = inj_ca_fallback_pem_len * 2 + 4096;
    char *out = malloc(cap);
    size_t off = 0;

    assert_non_null(out);
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);

        if (!strncmp(p, "-----BEGIN", 10))
            off += (size_t)snprintf(out + off, cap - off, "# Some Root CA: a comment\r\n\r\n");
        assert_true(off + len + 3 < cap);
        memcpy(out + off, p, len);
        off += len;
        memcpy(out + off, "\r\n", 2);
        off += 2;
        p += len + (nl ? 1 : 0);
    }
    out[off] = '\0';
    return out;
}

static void indexes_the_compiled_in_bundle(void **state)
{
    size_t n = 0;
    char *text;

    (void)state;
    assert_int_equal(index_text(inj_ca_fallback_pem, &n), CASTORE_OK);
    assert_true(n > 0);
    assert_int_equal(n, count_blocks(inj_ca_fallback_pem));
    text = amazon_style();
    assert_int_equal(index_text(text, &n), CASTORE_OK);
    assert_int_equal(n, count_blocks(inj_ca_fallback_pem));
    free(text);
}

/* The first certificate block of the compiled-in bundle, with its lines. malloc'd. */
static char *first_block(void)
{
    const char *b = strstr(inj_ca_fallback_pem, "-----BEGIN CERTIFICATE-----");
    const char *e = strstr(b, "-----END CERTIFICATE-----");
    size_t len = (size_t)(e - b) + strlen("-----END CERTIFICATE-----\n");
    char *out = malloc(len + 1);

    assert_non_null(out);
    memcpy(out, b, len);
    out[len] = '\0';
    return out;
}

/* The first certificate block of the compiled-in bundle longer than min characters. malloc'd. */
static char *block_longer_than(size_t min)
{
    const char *b = inj_ca_fallback_pem;

    while ((b = strstr(b, "-----BEGIN CERTIFICATE-----")) != NULL) {
        const char *e = strstr(b, "-----END CERTIFICATE-----");
        size_t len = (size_t)(e - b) + strlen("-----END CERTIFICATE-----\n");

        if (len > min) {
            char *out = malloc(len + 1);

            assert_non_null(out);
            memcpy(out, b, len);
            out[len] = '\0';
            return out;
        }
        b = e;
    }
    fail_msg("no certificate block longer than %zu characters", min);
    return NULL;
}

/* Anything but plain certificate blocks goes to OpenSSL's own loader (CASTORE_OTHER). */
static void leaves_other_bundles_to_openssl(void **state)
{
    char *one = first_block();
    char buf[16384];
    size_t n = 0;
    char *body = strchr(one, '\n') + 1;

    (void)state;
    assert_int_equal(index_text(one, &n), CASTORE_OK);
    assert_int_equal(n, 1);
    /* TRUSTED CERTIFICATE carries trust settings the index would drop. */
    (void)snprintf(buf, sizeof(buf),
                   "%s-----BEGIN TRUSTED CERTIFICATE-----\n%.*s"
                   "-----END TRUSTED CERTIFICATE-----\n",
                   one, (int)(strstr(body, "-----END") - body), body);
    assert_int_equal(index_text(buf, &n), CASTORE_OTHER);
    /* A CRL, an encrypted block's headers, a cut block, bad base64, nothing at all. */
    (void)snprintf(buf, sizeof(buf), "%s-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n",
                   one);
    assert_int_equal(index_text(buf, &n), CASTORE_OTHER);
    (void)snprintf(buf, sizeof(buf), "-----BEGIN CERTIFICATE-----\nProc-Type: 4,ENCRYPTED\n%s",
                   body);
    assert_int_equal(index_text(buf, &n), CASTORE_OTHER);
    (void)snprintf(buf, sizeof(buf), "%.*s", (int)(strstr(one, "-----END") - one), one);
    assert_int_equal(index_text(buf, &n), CASTORE_OTHER);
    (void)snprintf(buf, sizeof(buf),
                   "-----BEGIN CERTIFICATE-----\n!!!!not base64!!!!\n"
                   "-----END CERTIFICATE-----\n");
    assert_int_equal(index_text(buf, &n), CASTORE_OTHER);
    (void)snprintf(buf, sizeof(buf),
                   "-----BEGIN CERTIFICATE-----\nAAAAAAAA\n"
                   "-----END CERTIFICATE-----\n");
    assert_int_equal(index_text(buf, &n), CASTORE_OTHER); /* base64, but no certificate */
    assert_int_equal(index_text("# only a comment\n", &n), CASTORE_OTHER);
    assert_int_equal(index_text("", &n), CASTORE_OTHER);
    free(one);
}

static void unreadable_file(void **state)
{
    struct castore *cs = NULL;

    (void)state;
    assert_int_equal(castore_index("/nonexistent/ca.pem", NULL, 0, &cs), CASTORE_UNREADABLE);
    assert_null(cs);
}

/* A lookup by subject decodes the certificates with that subject only, and finds nothing for
 * a subject not in the bundle. */
static void lookup_decodes_only_what_is_asked(void **state)
{
    char *one = first_block();
    BIO *bio = BIO_new_mem_buf(one, -1);
    X509 *want = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    X509_NAME *other = X509_NAME_new();
    struct castore *cs = NULL;
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    X509_STORE_CTX *sc = X509_STORE_CTX_new();
    X509_OBJECT *obj;
    size_t n;

    (void)state;
    assert_non_null(want);
    assert_non_null(ctx);
    assert_non_null(sc);
    assert_int_equal(castore_index(NULL, inj_ca_fallback_pem, inj_ca_fallback_pem_len, &cs),
                     CASTORE_OK);
    n = castore_count(cs);
    assert_int_equal(castore_attach(cs, ctx), 0);
    assert_int_equal(castore_attach(cs, ctx), 0); /* twice: the same lookup */
    assert_int_equal(castore_decoded(cs), 0);
    assert_int_equal(X509_STORE_CTX_init(sc, SSL_CTX_get_cert_store(ctx), NULL, NULL), 1);
    obj = X509_STORE_CTX_get_obj_by_subject(sc, X509_LU_X509, X509_get_subject_name(want));
    assert_non_null(obj);
    assert_int_equal(X509_cmp(X509_OBJECT_get0_X509(obj), want), 0);
    X509_OBJECT_free(obj);
    assert_true(castore_decoded(cs) >= 1);
    assert_true(castore_decoded(cs) < n); /* not the whole bundle */
    n = castore_decoded(cs);
    /* Asked again: the store has it now; nothing more is decoded. */
    obj = X509_STORE_CTX_get_obj_by_subject(sc, X509_LU_X509, X509_get_subject_name(want));
    assert_non_null(obj);
    X509_OBJECT_free(obj);
    assert_int_equal(castore_decoded(cs), n);
    assert_int_equal(X509_NAME_add_entry_by_txt(other, "CN", MBSTRING_ASC,
                                                (const unsigned char *)"Not In Any Bundle", -1, -1,
                                                0),
                     1);
    assert_null(X509_STORE_CTX_get_obj_by_subject(sc, X509_LU_X509, other));
    X509_STORE_CTX_free(sc);
    SSL_CTX_free(ctx);
    castore_free(cs);
    X509_NAME_free(other);
    X509_free(want);
    BIO_free(bio);
    free(one);
}

/* The subject of want re-encoded as OpenSSL still finds equal (X509_NAME_cmp compares a
 * canonical form): every string as a UTF8String, upper case, white space doubled. With
 * change set, one letter differs too. */
static X509_NAME *reencoded(const X509 *want, int change)
{
    const X509_NAME *subj = X509_get_subject_name(want);
    X509_NAME *out = X509_NAME_new();
    int i;

    assert_non_null(out);
    for (i = 0; i < X509_NAME_entry_count(subj); i++) {
        const X509_NAME_ENTRY *e = X509_NAME_get_entry(subj, i);
        unsigned char *utf8 = NULL;
        int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
        unsigned char buf[512];
        int o = 0;
        int k;

        assert_true(len > 0 && len < 200);
        for (k = 0; k < len; k++) {
            unsigned char ch = utf8[k];

            if (ch == ' ')
                buf[o++] = ' ';
            buf[o++] = (unsigned char)((ch >= 'a' && ch <= 'z') ? ch - 'a' + 'A' : ch);
        }
        if (change && i == X509_NAME_entry_count(subj) - 1)
            buf[0] = buf[0] == 'Q' ? 'R' : 'Q';
        assert_int_equal(X509_NAME_add_entry_by_OBJ(out, X509_NAME_ENTRY_get_object(e),
                                                    V_ASN1_UTF8STRING, buf, o, -1, 0),
                         1);
        OPENSSL_free(utf8);
    }
    return out;
}

/* A chain names its issuer as the issuing CA wrote it; OpenSSL matches names in a canonical
 * form (case, white space, string type), and so does the index: it finds the root by a name
 * encoded otherwise, and not by a name one letter off. */
static void lookup_matches_names_as_openssl_does(void **state)
{
    char *one = first_block();
    BIO *bio = BIO_new_mem_buf(one, -1);
    X509 *want = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    X509_NAME *same = NULL;
    X509_NAME *off = NULL;
    struct castore *cs = NULL;
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    X509_STORE_CTX *sc = X509_STORE_CTX_new();
    X509_OBJECT *obj;

    (void)state;
    assert_non_null(want);
    same = reencoded(want, 0);
    off = reencoded(want, 1);
    assert_int_equal(X509_NAME_cmp(same, X509_get_subject_name(want)), 0);
    assert_true(X509_NAME_cmp(off, X509_get_subject_name(want)) != 0);
    assert_int_equal(castore_index(NULL, inj_ca_fallback_pem, inj_ca_fallback_pem_len, &cs),
                     CASTORE_OK);
    assert_int_equal(castore_attach(cs, ctx), 0);
    assert_int_equal(X509_STORE_CTX_init(sc, SSL_CTX_get_cert_store(ctx), NULL, NULL), 1);
    assert_null(X509_STORE_CTX_get_obj_by_subject(sc, X509_LU_X509, off));
    obj = X509_STORE_CTX_get_obj_by_subject(sc, X509_LU_X509, same);
    assert_non_null(obj);
    assert_int_equal(X509_cmp(X509_OBJECT_get0_X509(obj), want), 0);
    X509_OBJECT_free(obj);
    X509_STORE_CTX_free(sc);
    SSL_CTX_free(ctx);
    castore_free(cs);
    X509_NAME_free(same);
    X509_NAME_free(off);
    X509_free(want);
    BIO_free(bio);
    free(one);
}

/* Indexing decodes a certificate only as far as its subject: a block whose base64 breaks
 * after that is indexed, and never trusted (its lookup decodes all of it and finds it bad),
 * where OpenSSL's loader would have refused the whole bundle. Fails closed either way. */
static void broken_body_is_never_trusted(void **state)
{
    char *one = block_longer_than(1600);
    BIO *bio = BIO_new_mem_buf(one, -1);
    X509 *want = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    char *end = strstr(one, "-----END");
    struct castore *cs = NULL;
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    X509_STORE_CTX *sc = X509_STORE_CTX_new();

    (void)state;
    assert_non_null(want);
    end[-3] = '!'; /* in the signature, well past the subject */
    assert_int_equal(castore_index(NULL, one, strlen(one), &cs), CASTORE_OK);
    assert_int_equal(castore_count(cs), 1);
    assert_int_equal(castore_attach(cs, ctx), 0);
    assert_int_equal(X509_STORE_CTX_init(sc, SSL_CTX_get_cert_store(ctx), NULL, NULL), 1);
    assert_null(X509_STORE_CTX_get_obj_by_subject(sc, X509_LU_X509, X509_get_subject_name(want)));
    assert_int_equal(castore_decoded(cs), 0);
    X509_STORE_CTX_free(sc);
    SSL_CTX_free(ctx);
    castore_free(cs);
    X509_free(want);
    BIO_free(bio);
    free(one);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(indexes_the_compiled_in_bundle),
        cmocka_unit_test(leaves_other_bundles_to_openssl),
        cmocka_unit_test(unreadable_file),
        cmocka_unit_test(lookup_decodes_only_what_is_asked),
        cmocka_unit_test(lookup_matches_names_as_openssl_does),
        cmocka_unit_test(broken_body_is_never_trusted),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
