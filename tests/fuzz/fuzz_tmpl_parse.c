/* fuzz_tmpl_parse.c: the value template parser (tmpl_parse), and rendering what parses
 * against a secret. Input: the template up to the first NUL, then the secret (every
 * `secret "ID"` reads the same one); without a NUL, the secret is empty. */
#include <string.h>

#include "fuzz.h"
#include "jx.h"
#include "tmpl.h"

#define FUZZ_MAX_SOURCES 64 /* TMPL_MAX_SOURCES */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    jx_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tmpl *t = NULL;
    struct inj_err err;
    struct tmpl_input in;
    struct tmpl_input srcs[FUZZ_MAX_SOURCES];
    struct sbuf out = SBUF_INIT(TMPL_MAX_VALUE);
    const uint8_t *nul;
    char *s;
    size_t tlen;
    size_t i;
    enum inj_rc rc;

    if (size > 16u * 1024u)
        return 0;
    nul = memchr(data, '\0', size);
    tlen = nul ? (size_t)(nul - data) : size;
    s = fuzz_cstr(data, tlen);
    if (!s)
        return 0;
    memset(&err, 0, sizeof(err));
    memset(&in, 0, sizeof(in));
    in.p = nul ? nul + 1 : (const unsigned char *)"";
    in.len = nul ? size - tlen - 1 : 0;
    in.arn = "arn:aws:secretsmanager:eu-central-1:111122223333:secret:fuzz-AbCdEf";
    if (tmpl_parse(s, &t, &err) == INJ_OK) {
        FUZZ_ASSERT(t);
        (void)tmpl_uses_dot(t);
        FUZZ_ASSERT(tmpl_nsources(t) <= FUZZ_MAX_SOURCES);
        for (i = 0; i < tmpl_nsources(t); i++) {
            FUZZ_ASSERT(tmpl_source(t, i) && tmpl_source_text(t, i));
            srcs[i] = in;
        }
        rc = tmpl_render(t, &in, srcs, &out, &err);
        FUZZ_ASSERT(rc == INJ_OK || err.msg[0]);
        FUZZ_ASSERT(rc == INJ_OK || rc == INJ_E_DATA || rc == INJ_E_MISSING || rc == INJ_E_NOMEM);
        tmpl_free(t);
    } else {
        FUZZ_ASSERT(err.msg[0]);
    }
    sbuf_wipe_free(&out);
    free(s);
    return 0;
}
