/* fuzz_sm_list_parse.c: a ListSecrets page (sm_parse_list_page), as a read by tags takes it
 * (with a name prefix, and by tags alone): a 200 body from the network. Only the secrets that
 * carry every tag exactly, under the prefix, are kept; a failure says why and keeps no token. */
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

/* Does the page's item named name carry team=api and env=prod? (The harness's own check.) */
static int fuzz_has_tags(const cJSON *root, const char *name)
{
    const cJSON *it;

    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(root, "SecretList"))
    {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(it, "Name");
        const cJSON *t;
        int team = 0;
        int env = 0;

        if (!cJSON_IsString(n) || strcmp(n->valuestring, name) != 0)
            continue;
        cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(it, "Tags"))
        {
            const cJSON *k = cJSON_GetObjectItemCaseSensitive(t, "Key");
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(t, "Value");

            if (!cJSON_IsString(k) || !cJSON_IsString(v))
                continue;
            team |= !strcmp(k->valuestring, "team") && !strcmp(v->valuestring, "api");
            env |= !strcmp(k->valuestring, "env") && !strcmp(v->valuestring, "prod");
        }
        if (team && env)
            return 1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const prefixes[2] = {"prod/app/", ""};
    struct ref_tag tags[2] = {{(char *)(uintptr_t) "team", (char *)(uintptr_t) "api"},
                              {(char *)(uintptr_t) "env", (char *)(uintptr_t) "prod"}};
    struct creds creds;
    struct sm_ctx ctx;
    struct http_resp resp;
    cJSON *root;
    size_t i;

    if (fuzz_answer(&creds, &ctx, &resp, data, size, SM_MAX_LIST_RESPONSE) != 0)
        return 0;
    root = cJSON_ParseWithLength((const char *)resp.body.p, resp.body.len);
    for (i = 0; i < 2; i++) {
        struct sm_filter_page pg;
        struct inj_err err;
        struct ref r;
        const cJSON *it;
        enum inj_rc rc;

        memset(&r, 0, sizeof(r));
        r.secret_id = (char *)(uintptr_t)prefixes[i];
        r.path = 1;
        r.tags = tags;
        r.ntags = 2;
        memset(&pg, 0, sizeof(pg));
        pg.ctx = &ctx;
        pg.region = "eu-central-1";
        pg.ref = &r;
        pg.label = "secrets fuzz";
        pg.acc = cJSON_CreateArray();
        pg.listed = cJSON_CreateArray();
        if (!pg.acc || !pg.listed) {
            cJSON_Delete(pg.acc);
            cJSON_Delete(pg.listed);
            break;
        }
        memset(&err, 0, sizeof(err));
        rc = sm_parse_list_page(&pg, &resp, &err);
        FUZZ_ASSERT(cJSON_GetArraySize(pg.acc) == 0); /* metadata only */
        if (rc == INJ_OK) {
            FUZZ_ASSERT(cJSON_GetArraySize(pg.listed) <= SM_LIST_PAGE);
            FUZZ_ASSERT(!pg.next || (pg.next[0] && strlen(pg.next) <= 4096));
            cJSON_ArrayForEach(it, pg.listed)
            {
                const char *s = cJSON_GetObjectItemCaseSensitive(it, "s")->valuestring;

                FUZZ_ASSERT(cJSON_GetObjectItemCaseSensitive(it, "a")->valuestring[0]);
                FUZZ_ASSERT(sm_filter_key(prefixes[i], s) != NULL);
                FUZZ_ASSERT(fuzz_has_tags(root, s));
            }
        } else {
            FUZZ_ASSERT(err.msg[0] && !pg.next);
        }
        free(pg.next);
        cJSON_Delete(pg.acc);
        cJSON_Delete(pg.listed);
    }
    cJSON_Delete(root);
    http_resp_free(&resp);
    return 0;
}
