/* fuzz_answer.h: the setting the answer parsers' harnesses share (fuzz_sm_batch_parse,
 * fuzz_sm_filter_parse, fuzz_ssm_parse): credentials and a context in eu-central-1, and the
 * fuzzer's bytes as a 200 answer's body of at most max bytes. */
#ifndef INJ_FUZZ_ANSWER_H
#define INJ_FUZZ_ANSWER_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "creds.h"
#include "http.h"
#include "sbuf.h"
#include "sm.h"

/* Fills *creds, *ctx and *resp; 0, or -1 when data is larger than max or out of memory
 * (nothing to free then). The caller frees resp->body (sbuf_wipe_free). */
static inline int fuzz_answer(struct creds *creds, struct sm_ctx *ctx, struct http_resp *resp,
                              const uint8_t *data, size_t size, size_t max)
{
    if (size > max)
        return -1;
    memset(creds, 0, sizeof(*creds));
    memcpy(creds->source, "fuzz", 5);
    memset(ctx, 0, sizeof(*ctx));
    ctx->creds = creds;
    ctx->region = "eu-central-1";
    memset(resp, 0, sizeof(*resp));
    resp->status = 200;
    resp->body.max = max;
    return sbuf_append(&resp->body, data, size) == SBUF_OK ? 0 : -1;
}

#endif
