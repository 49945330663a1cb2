/* fuzz_sm_filter_parse.c: a filtered BatchGetSecretValue page (sm_parse_filter_page), as a read
 * by name prefix and a read by tags alone take it: a 200 body from the network. */
#include <cjson/cJSON.h>
#include <string.h>

#include "creds.h"
#include "fuzz.h"
#include "fuzz_answer.h"
#include "http.h"
#include "jx.h"
#include "sm.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    jx_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const prefixes[2] = {"prod/app/", ""};
    struct creds creds;
    struct sm_ctx ctx;
    struct http_resp resp;
    size_t i;

    if (fuzz_answer(&creds, &ctx, &resp, data, size, SM_MAX_BATCH_RESPONSE) != 0)
        return 0;
    for (i = 0; i < 2; i++) {
        struct sm_filter_page pg;
        struct inj_err err;
        struct ref r;
        const cJSON *it;
        enum inj_rc rc;

        memset(&r, 0, sizeof(r));
        r.secret_id = (char *)(uintptr_t)prefixes[i];
        r.path = 1;
        memset(&pg, 0, sizeof(pg));
        pg.ctx = &ctx;
        pg.region = "eu-central-1";
        pg.ref = &r;
        pg.label = "secrets fuzz";
        pg.acc = cJSON_CreateArray();
        if (!pg.acc)
            break;
        /* The second read keeps a retry list, as ssm.c's reads by prefix do. */
        pg.retry = i ? cJSON_CreateArray() : NULL;
        memset(&err, 0, sizeof(err));
        rc = sm_parse_filter_page(&pg, &resp, &err);
        cJSON_ArrayForEach(it, pg.retry)
        {
            FUZZ_ASSERT(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(it, "a")));
        }
        if (rc == INJ_OK) {
            FUZZ_ASSERT(cJSON_GetArraySize(pg.acc) <= SM_FILTER_PAGE);
            FUZZ_ASSERT(!pg.next || (pg.next[0] && strlen(pg.next) <= 4096));
            cJSON_ArrayForEach(it, pg.acc)
            {
                const char *k = cJSON_GetObjectItemCaseSensitive(it, "k")->valuestring;
                const char *s = cJSON_GetObjectItemCaseSensitive(it, "s")->valuestring;

                FUZZ_ASSERT(k[0] && !strncmp(s, prefixes[i], strlen(prefixes[i])));
                FUZZ_ASSERT(strlen(cJSON_GetObjectItemCaseSensitive(it, "v")->valuestring) <=
                            SM_MAX_SECRET);
            }
        } else {
            FUZZ_ASSERT(err.msg[0] && !pg.next);
        }
        free(pg.next);
        cJSON_Delete(pg.acc);
        cJSON_Delete(pg.retry);
    }
    http_resp_free(&resp);
    return 0;
}
