/* fuzz_sm_parse.c: the GetSecretValue response parser (sm_parse_value): a 200 body from
 * the network, with SecretString or base64 SecretBinary. */
#include <string.h>

#include "fuzz.h"
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
    struct http_resp resp;
    struct sm_secret sec;
    struct inj_err err;

    if (size > SM_MAX_RESPONSE)
        return 0;
    memset(&resp, 0, sizeof(resp));
    memset(&err, 0, sizeof(err));
    resp.status = 200;
    resp.body.max = SM_MAX_RESPONSE;
    if (sbuf_append(&resp.body, data, size) != SBUF_OK)
        return 0;
    memset(&sec, 0, sizeof(sec));
    if (sm_parse_value(&resp, "fuzz", &sec, &err) == INJ_OK) {
        FUZZ_ASSERT(sec.value.len <= SM_MAX_SECRET);
        FUZZ_ASSERT(sec.arn && sec.name && sec.version_id);
        FUZZ_ASSERT(strlen(sec.stages) < sizeof(sec.stages));
        FUZZ_ASSERT(sec.binary || !memchr(sec.value.p, '\0', sec.value.len));
    } else {
        FUZZ_ASSERT(err.msg[0]);
    }
    sm_secret_free(&sec);
    http_resp_free(&resp);
    return 0;
}
