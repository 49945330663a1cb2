/* fuzz_creds_ini.c: the shared credentials/config file parser (creds_ini_parse) and the
 * credential_process command splitter (creds_split_command). Input: one byte choosing what
 * (bit 1 set: split a command; else bit 0: 0 credentials file, 1 config file), then the text. */
#include <string.h>

#include "creds_int.h"
#include "fuzz.h"

static int fuzz_split(const uint8_t *data, size_t size)
{
    struct inj_err err;
    char **argv = NULL;
    char *cmd = fuzz_cstr(data, size);
    size_t i;

    if (!cmd)
        return 0;
    memset(&err, 0, sizeof(err));
    if (creds_split_command(cmd, &argv, &err) == INJ_OK) {
        FUZZ_ASSERT(argv && argv[0]);
        for (i = 0; argv[i]; i++)
            FUZZ_ASSERT(strlen(argv[i]) <= size);
        creds_argv_free(argv);
    } else {
        FUZZ_ASSERT(!argv && err.msg[0]);
    }
    free(cmd);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct creds_ini ini;
    struct inj_err err;
    const struct creds_ini_sec *s;
    size_t i;

    if (size < 1 || size > CREDS_MAX_PROFILE_FILE)
        return 0;
    memset(&err, 0, sizeof(err));
    if (data[0] & 2)
        return fuzz_split(data + 1, size - 1);
    if (creds_ini_parse((const char *)data + 1, size - 1, data[0] & 1, &ini, &err) != INJ_OK) {
        FUZZ_ASSERT(err.msg[0]);
        FUZZ_ASSERT(!ini.buf && !ini.sec && !ini.kv);
        return 0;
    }
    for (i = 0; i < ini.nsec; i++) {
        FUZZ_ASSERT(ini.sec[i].name);
        FUZZ_ASSERT(ini.sec[i].first + ini.sec[i].n <= ini.nkv);
        s = creds_ini_profile(&ini, ini.sec[i].name);
        (void)creds_ini_get(&ini, s, "aws_access_key_id");
    }
    s = creds_ini_profile(&ini, "default");
    (void)creds_ini_get(&ini, s, "region");
    creds_ini_free(&ini);
    return 0;
}
