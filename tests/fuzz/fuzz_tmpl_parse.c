/* fuzz_tmpl_parse.c: the value template parser (tmpl_parse). */
#include <string.h>

#include "fuzz.h"
#include "tmpl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tmpl *t = NULL;
    struct inj_err err;
    char *s;
    size_t i;

    if (size > 16u * 1024u)
        return 0;
    s = fuzz_cstr(data, size);
    if (!s)
        return 0;
    memset(&err, 0, sizeof(err));
    if (tmpl_parse(s, &t, &err) == INJ_OK) {
        FUZZ_ASSERT(t);
        (void)tmpl_uses_dot(t);
        for (i = 0; i < tmpl_nsources(t); i++)
            FUZZ_ASSERT(tmpl_source(t, i) && tmpl_source_text(t, i));
        tmpl_free(t);
    } else {
        FUZZ_ASSERT(err.msg[0]);
    }
    free(s);
    return 0;
}
