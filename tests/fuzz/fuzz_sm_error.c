/* fuzz_sm_error.c: the error answer reader (awserr.c `aws_parse_fault`) and its wording: any
 * status, any x-amzn-ErrorType header, any body (JSON, XML, HTML, binary). Input: two bytes of
 * status, the header up to the first '\n', then the body. */
#include <stdio.h>
#include <string.h>

#include "awserr.h"
#include "fuzz.h"
#include "http.h"
#include "jx.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    jx_init();
    return 0;
}

static int printable(const char *s)
{
    for (; *s; s++)
        if (*s < 0x20 || *s >= 0x7f)
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct aws_wording w = {"Secrets Manager",
                            "secretsmanager:GetSecretValue",
                            "GetSecretValue",
                            "secretsmanager",
                            "eu-west-1",
                            "amazonaws.com",
                            "env",
                            2,
                            "the name",
                            "why",
                            0};
    struct http_resp resp;
    struct aws_fault f;
    char cause[640];
    const uint8_t *nl;
    size_t hlen;
    enum inj_rc rc;

    if (size < 2 || size > (1u << 20))
        return 0;
    memset(&resp, 0, sizeof(resp));
    resp.status = 100 + (long)((data[0] << 8 | data[1]) % 500);
    data += 2;
    size -= 2;
    nl = memchr(data, '\n', size);
    hlen = nl ? (size_t)(nl - data) : 0;
    if (hlen >= sizeof(resp.amzn_error_type))
        hlen = sizeof(resp.amzn_error_type) - 1;
    memcpy(resp.amzn_error_type, data, hlen);
    resp.amzn_error_type[hlen] = '\0';
    if (nl) {
        size -= (size_t)(nl - data) + 1;
        data = nl + 1;
    }
    resp.body.max = 1u << 20;
    if (sbuf_append(&resp.body, data, size) != SBUF_OK)
        return 0;
    aws_parse_fault(&resp, NULL, &f);
    /* One normalised triple: a bare code (no namespace, no suffix), printable text. */
    FUZZ_ASSERT(f.status == resp.status);
    FUZZ_ASSERT(!strchr(f.code, '#') && !strchr(f.code, ':'));
    FUZZ_ASSERT(printable(f.code) && printable(f.msg));
    FUZZ_ASSERT(f.kind > AWS_K_NONE && f.kind <= AWS_K_UNEXPECTED);
    /* The status decides what has no code the table knows. */
    if (aws_code_kind(f.code) == AWS_K_UNEXPECTED) {
        if (f.status >= 500)
            FUZZ_ASSERT(f.kind == AWS_K_TRANSIENT);
        else if (f.status == 401 || f.status == 403)
            FUZZ_ASSERT(f.kind == AWS_K_REFUSED);
        else if (f.status == 429)
            FUZZ_ASSERT(f.kind == AWS_K_THROTTLED);
    }
    rc = aws_fault_cause(&f, &w, cause, sizeof(cause));
    FUZZ_ASSERT(rc != INJ_OK && cause[0] && printable(cause));
    http_resp_free(&resp);
    return 0;
}
