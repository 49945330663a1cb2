/* fuzz_config_parse.c: the YAML config parser (config_parse) and the fetch plan built from
 * what it accepts. Shaped like cJSON's fuzzing/cjson_read_fuzzer.c. */
#include <string.h>

#include "config.h"
#include "fuzz.h"
#include "jx.h"
#include "log.h"
#include "resolve.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_set_level(LOG_LVL_QUIET);
    jx_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct config cfg;
    struct resolve_set set;
    struct inj_err err;
    size_t i;

    if (size > CONFIG_MAX_BYTES)
        return 0;
    memset(&err, 0, sizeof(err));
    if (config_parse("fuzz.yaml", data, size, &cfg, &err) != INJ_OK) {
        FUZZ_ASSERT(err.code != INJ_OK && err.msg[0]);
        return 0;
    }
    FUZZ_ASSERT(cfg.version == 1);
    for (i = 0; i < cfg.n; i++) {
        const struct entry *e = &cfg.entries[i];
        FUZZ_ASSERT(e->name && e->ref.secret_id && e->ref.secret_id[0]);
        if (e->kind == ENTRY_ENV)
            FUZZ_ASSERT(config_env_name_valid(e->name));
        else
            FUZZ_ASSERT(e->name[0] == '/' && !strstr(e->name, "/../") && !(e->mode & 0002));
    }
    if (resolve_plan(&cfg, &set, &err) == INJ_OK) {
        FUZZ_ASSERT(set.nr == cfg.n && set.nf <= cfg.n);
        resolve_free(&set);
    }
    config_free(&cfg);
    return 0;
}
