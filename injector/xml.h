/* xml.h: a tiny, bounded text extractor for AWS Query-protocol answers (STS). Not an XML
 * parser: it finds an element by name and returns its text. No DTDs, no entity expansion. */
#ifndef INJ_XML_H
#define INJ_XML_H

#include <stddef.h>

enum xml_rc {
    XML_OK = 0,
    XML_MISSING, /* no such element */
    XML_BAD,     /* malformed where we looked, or the element holds markup, not text */
    XML_TOOBIG,  /* the text is longer than the caller's max */
    XML_NOMEM,
};

/* Finds the first element named `tag` (exact, case-sensitive, no namespace prefix) in
 * doc[0..len) and sets *inner / *inner_len to its content, between the start and the matching
 * end tag. A DOCTYPE anywhere before it is XML_BAD: AWS never sends one. */
enum xml_rc xml_element(const char *doc, size_t len, const char *tag, const char **inner,
                        size_t *inner_len);

/* The text of the first element `tag` in doc[0..len), with the five predefined entities and
 * character references decoded, into *out (owned, NUL-terminated; it may be a secret: free
 * it with wipe_free_str). Text with a NUL, markup or CDATA inside is XML_BAD; decoded text
 * longer than max is XML_TOOBIG. On failure *out is NULL. */
enum xml_rc xml_text(const char *doc, size_t len, const char *tag, size_t max, char **out);

#endif
