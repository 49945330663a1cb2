/* fuzz_ssm_parse.c: the GetParameters answer parser (ssm_parse_parameters): a 200 body from
 * the network, spread over six asked-for parameters (names, an ARN, selectors). */
#include <string.h>

#include "creds.h"
#include "fuzz.h"
#include "fuzz_answer.h"
#include "http.h"
#include "jx.h"
#include "ssm.h"

#define NIDS 6

static const struct {
    const char *id;
    const char *selector;
} ids[NIDS] = {
    {"/prod/db/password", NULL},
    {"/prod/db/password", "1"},
    {"/prod/db/password", "live"},
    {"arn:aws:ssm:eu-central-1:444455556666:parameter/shared/db/password", NULL},
    {"flat", NULL},
    {"/nope/missing", NULL},
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
    struct sm_item *pi[NIDS];
    enum inj_rc rc;
    size_t i;

    if (fuzz_answer(&creds, &ctx, &resp, data, size, SSM_MAX_RESPONSE) != 0)
        return 0;
    for (i = 0; i < NIDS; i++) {
        memset(&refs[i], 0, sizeof(refs[i]));
        refs[i].service = REF_SSM;
        refs[i].secret_id = (char *)(uintptr_t)ids[i].id;
        refs[i].selector = (char *)(uintptr_t)ids[i].selector;
        refs[i].is_arn = !strncmp(ids[i].id, "arn:", 4);
        memset(&items[i], 0, sizeof(items[i]));
        items[i].ref = &refs[i];
        pi[i] = &items[i];
    }
    rc = ssm_parse_parameters(&ctx, "eu-central-1", &resp, pi, NIDS);
    for (i = 0; i < NIDS; i++) {
        const struct sm_secret *s = &items[i].secret;

        if (items[i].rc == INJ_OK) {
            FUZZ_ASSERT(rc == INJ_OK);
            FUZZ_ASSERT(s->arn && s->name && s->version_id);
            FUZZ_ASSERT(s->value.len <= SSM_MAX_VALUE);
            FUZZ_ASSERT(!s->value.len || !memchr(s->value.p, '\0', s->value.len));
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
