/* jx.h: extracting a value from a secret's JSON: a top-level key or an RFC 6901 pointer.
 * cJSON's allocations are wiped on free (jx installs the hooks), since they hold values. */
#ifndef INJ_JX_H
#define INJ_JX_H

#include <stddef.h>

#include "sbuf.h"

enum jx_rc {
    JX_OK = 0,
    JX_NOT_JSON,   /* the secret is not JSON text */
    JX_NOT_OBJECT, /* a key was asked but the JSON is not an object */
    JX_MISSING,    /* the key or pointer names nothing */
    JX_NOMEM,
    JX_TOOBIG,
    JX_NUL,        /* the JSON holds an escaped NUL (\u0000), which cJSON would truncate */
    JX_INEXACT,    /* the value holds a number a double cannot carry exactly */
};

struct cJSON;

/* Installs the wiping allocator into cJSON; idempotent. */
void jx_init(void);

/* Extracts from json[0..len) the value at `key` (top-level) or `pointer` (RFC 6901), at most
 * one of them non-NULL; with neither, fails with JX_MISSING. Strings are copied raw; other
 * values (numbers, booleans, null, objects, arrays) as compact JSON text (JX_INEXACT when a
 * number in it cannot be carried exactly: jx_numbers_text). */
enum jx_rc jx_extract(const unsigned char *json, size_t len, const char *key, const char *pointer,
                      struct sbuf *out);

/* Turns every number in v (and below it) into raw JSON text that reads back as the same
 * value, so that cJSON_Print* gives it exactly: integers as integers, other numbers in the
 * shortest form that round-trips. JX_INEXACT for a number a double cannot carry (infinite,
 * or 2^53 and beyond in magnitude, where the source may have had more digits, e.g. IDs):
 * refused rather than passed on altered. */
enum jx_rc jx_numbers_text(struct cJSON *v);

/* Writes the top-level keys of a JSON object (names only, never values) into buf as
 * "a, b, c", truncated to fit; "" when not an object. For "key missing" messages. */
void jx_list_keys(const unsigned char *json, size_t len, char *buf, size_t n);

/* 1 when p is a syntactically valid JSON pointer ("" or "/..." with ~0 ~1 escapes only). */
int jx_pointer_valid(const char *p);

/* 1 when the JSON text s[0..n) holds the escape \u0000 (after an even run of backslashes, so
 * an escape and not a literal backslash followed by "u0000"): cJSON would cut a string there. */
int jx_has_escaped_nul(const unsigned char *s, size_t n);

/* 1 when s[0..n) is valid UTF-8 (no overlongs, no surrogates). */
int jx_utf8_valid(const unsigned char *s, size_t n);

#endif
