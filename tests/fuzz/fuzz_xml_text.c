/* fuzz_xml_text.c: the bounded XML text extractor for STS answers (xml_text, xml_element). */
#include <string.h>

#include "fuzz.h"
#include "sbuf.h"
#include "xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const tags[] = {
        "AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration", "Code", "Message"};
    const char *inner = NULL;
    size_t inner_len = 0;
    char *text = NULL;
    size_t i;

    if (size > 64u * 1024u)
        return 0;
    for (i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
        if (xml_element((const char *)data, size, tags[i], &inner, &inner_len) == XML_OK)
            FUZZ_ASSERT(inner >= (const char *)data &&
                        inner + inner_len <= (const char *)data + size);
        if (xml_text((const char *)data, size, tags[i], 4096, &text) == XML_OK) {
            FUZZ_ASSERT(text && strlen(text) <= 4096);
            wipe_free_str(text);
        } else {
            FUZZ_ASSERT(!text);
        }
        text = NULL;
    }
    return 0;
}
