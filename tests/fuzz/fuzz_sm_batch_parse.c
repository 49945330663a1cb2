/* fuzz_sm_batch_parse.c: the BatchGetSecretValue answer parser (sm_parse_batch): a 200 body
 * from the network, spread over five asked-for ids (names, a full ARN, a partial ARN). */
#include <string.h>

#include "creds.h"
#include "fuzz.h"
#include "fuzz_answer.h"
#include "http.h"
#include "jx.h"
#include "sm.h"

#define NIDS 5

static const char *const ids[NIDS] = {
    "dev/fcj/momentum",
    "arn:aws:secretsmanager:eu-central-1:111122223333:secret:api-Xy12Zz",
    "arn:aws:secretsmanager:eu-central-1:111122223333:secret:plain/text",
    "bin/blob",
    "does/not/exist",
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    jx_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct creds creds;
    struct sm_ctx ctx;
    struct http_resp resp;
    struct ref refs[NIDS];
    struct sm_item items[NIDS];
    enum inj_rc rc;
    size_t i;

    if (fuzz_answer(&creds, &ctx, &resp, data, size, SM_MAX_BATCH_RESPONSE) != 0)
        return 0;
    for (i = 0; i < NIDS; i++) {
        memset(&refs[i], 0, sizeof(refs[i]));
        refs[i].secret_id = (char *)(uintptr_t)ids[i];
        memset(&items[i], 0, sizeof(items[i]));
        items[i].ref = &refs[i];
    }
    rc = sm_parse_batch(&ctx, "eu-central-1", &resp, items, NIDS);
    for (i = 0; i < NIDS; i++) {
        const struct sm_secret *s = &items[i].secret;

        if (items[i].rc == INJ_OK) {
            FUZZ_ASSERT(rc == INJ_OK);
            FUZZ_ASSERT(s->arn && s->name && s->version_id);
            FUZZ_ASSERT(s->value.len <= SM_MAX_SECRET);
            FUZZ_ASSERT(s->binary || !s->value.len || !memchr(s->value.p, '\0', s->value.len));
        } else {
            FUZZ_ASSERT(items[i].fail && items[i].fail->err.msg[0]);
            FUZZ_ASSERT(!s->value.p && !s->arn);
        }
        sm_secret_free(&items[i].secret);
        sm_fail_free(&items[i].fail);
    }
    http_resp_free(&resp);
    return 0;
}
