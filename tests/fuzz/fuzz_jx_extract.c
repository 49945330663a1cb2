/* fuzz_jx_extract.c: JSON value extraction (jx_extract) by key and by RFC 6901 pointer, and
 * the duplicate-key report. Input: one mode byte (0: key, 1: pointer, 2: neither), the
 * selector up to the first NUL, then the JSON text (the secret). */
#include <string.h>

#include "fuzz.h"
#include "jx.h"
#include "sbuf.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    jx_init();
    return 0;
}

/* A name for messages: printable ASCII only, terminated within its buffer. */
static int printable(const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);
    size_t i;

    if (n >= cap)
        return 0;
    for (i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sbuf out = SBUF_INIT(128u * 1024u);
    struct jx_dup dup;
    const uint8_t *nul;
    char *sel;
    const unsigned char *json;
    size_t jlen;
    int mode;
    enum jx_rc rc;
    char keys[256];

    if (size < 2 || size > 256u * 1024u)
        return 0;
    mode = data[0] % 3;
    nul = memchr(data + 1, '\0', size - 1);
    if (!nul)
        return 0;
    sel = fuzz_cstr(data + 1, (size_t)(nul - (data + 1)));
    if (!sel)
        return 0;
    json = nul + 1;
    jlen = size - (size_t)(json - data);
    memset(&dup, 0, sizeof(dup));
    rc = jx_extract(json, jlen, mode == 0 ? sel : NULL, mode == 1 ? sel : NULL, &out, &dup);
    if (rc == JX_OK) {
        FUZZ_ASSERT(out.p && out.p[out.len] == '\0');
        FUZZ_ASSERT(mode != 1 || jx_pointer_valid(sel));
    } else {
        FUZZ_ASSERT(mode != 2 || rc == JX_MISSING);
        FUZZ_ASSERT(out.len == 0);
    }
    if (rc == JX_DUPLICATE)
        FUZZ_ASSERT(printable(dup.key, sizeof(dup.key)) && printable(dup.at, sizeof(dup.at)));
    jx_list_keys(json, jlen, keys, sizeof(keys));
    FUZZ_ASSERT(printable(keys, sizeof(keys)));
    (void)jx_utf8_valid(json, jlen);
    sbuf_wipe_free(&out);
    free(sel);
    return 0;
}
