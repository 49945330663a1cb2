/* fuzz_creds_json.c: credential JSON from credential_process, the container endpoint and
 * IMDS (creds_parse_json). Input: one byte choosing the kind, then the document. */
#include <string.h>

#include "creds_int.h"
#include "fuzz.h"
#include "jx.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    jx_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct creds c;
    struct creds_try t;
    enum creds_json_kind kind;

    if (size < 1 || size > CREDS_MAX_JSON)
        return 0;
    kind = (enum creds_json_kind)(data[0] % 3);
    memset(&c, 0, sizeof(c));
    memset(&t, 0, sizeof(t));
    if (creds_parse_json(data + 1, size - 1, kind, (time_t)1700000000, "fuzz", "fuzz input", &c,
                         &t) == CREDS_OK) {
        FUZZ_ASSERT(c.access_key_id && c.access_key_id[0]);
        FUZZ_ASSERT(c.secret_access_key && c.secret_access_key[0]);
        FUZZ_ASSERT(!c.expiration || c.expiration > (time_t)1700000000);
    }
    creds_free(&c);
    return 0;
}
