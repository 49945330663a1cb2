/* fuzz_convert.c: `injector convert`'s readers (an ECS task definition with cJSON, a
 * buildspec with libyaml) and the config they print. The first byte picks --container. */
#include <string.h>

#include "config.h"
#include "convert.h"
#include "fuzz.h"
#include "jx.h"
#include "log.h"
#include "sbuf.h"

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
    struct sbuf out = SBUF_INIT(4u * CONFIG_MAX_BYTES);
    struct config cfg;
    struct inj_err err;
    const char *container = NULL;
    size_t i;

    if (size < 1 || size > CONFIG_MAX_BYTES)
        return 0;
    if (data[0] == 'C')
        container = "app";
    memset(&err, 0, sizeof(err));
    if (convert_text("fuzz", data + 1, size - 1, container, &out, &err) != INJ_OK) {
        FUZZ_ASSERT(err.code != INJ_OK && err.msg[0]);
        sbuf_wipe_free(&out);
        return 0;
    }
    /* A config text: lines of printable characters, starting with the comments. */
    FUZZ_ASSERT(out.len > 0 && out.p[0] == '#');
    for (i = 0; i < out.len; i++)
        FUZZ_ASSERT(out.p[i] == '\n' || (out.p[i] >= 0x20 && out.p[i] != 0x7f));
    memset(&err, 0, sizeof(err));
    if (config_parse("converted", out.p, out.len, &cfg, &err) == INJ_OK) {
        FUZZ_ASSERT(cfg.n > 0);
        config_free(&cfg);
    } else {
        /* A reference ECS or CodeBuild takes and injector refuses: main.c says so. */
        FUZZ_ASSERT(err.code != INJ_OK && err.msg[0]);
    }
    sbuf_wipe_free(&out);
    return 0;
}
