/* fuzz_ref_parse.c: secret references and ARNs (ref_parse) and the validators it shares
 * with the config parser. */
#include <string.h>

#include "fuzz.h"
#include "ref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ref r;
    struct inj_err err;
    char *s;

    if (size > 4096)
        return 0;
    s = fuzz_cstr(data, size);
    if (!s)
        return 0;
    memset(&err, 0, sizeof(err));
    if (ref_parse(s, &r, &err) == INJ_OK) {
        FUZZ_ASSERT(r.secret_id && r.secret_id[0]);
        FUZZ_ASSERT(!r.version_stage || ref_valid_stage(r.version_stage));
        FUZZ_ASSERT(!r.version_id || ref_valid_version_id(r.version_id));
        FUZZ_ASSERT(!r.json_key || r.json_key[0]);
        FUZZ_ASSERT(ref_same_fetch(&r, &r));
        if (r.is_arn) {
            FUZZ_ASSERT(ref_valid_region(r.region));
            FUZZ_ASSERT(!strcmp(ref_region_partition(r.region), r.partition));
            FUZZ_ASSERT(strlen(r.account) == 12);
        }
        /* An SSM parameter: a valid name (or an ARN), a valid selector, nothing else. */
        if (r.service == REF_SSM) {
            FUZZ_ASSERT(r.is_arn || !ref_ssm_name_why(r.secret_id));
            FUZZ_ASSERT(!r.selector || !ref_ssm_selector_why(r.selector));
            FUZZ_ASSERT(!r.json_key && !r.version_stage && !r.version_id);
        } else {
            FUZZ_ASSERT(!r.selector);
        }
        ref_free(&r);
    } else {
        FUZZ_ASSERT(err.msg[0]);
        FUZZ_ASSERT(!r.secret_id && !r.json_key && !r.version_stage && !r.version_id &&
                    !r.selector);
    }
    (void)ref_valid_name(s);
    (void)ref_ssm_name_why(s);
    (void)ref_ssm_selector_why(s);
    if (ref_valid_region(s))
        (void)ref_region_partition(s);
    free(s);
    return 0;
}
