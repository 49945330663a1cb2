/* jx.h: the one reader of a secret's JSON: parse (strictly), step by key or RFC 6901 pointer,
 * emit a value. tmpl and resolve both go through it. cJSON's allocations are wiped on free (jx
 * installs the hooks), since they hold values. */
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
    JX_NUL,       /* the JSON holds an escaped NUL (\u0000), which cJSON would truncate */
    JX_INEXACT,   /* the value holds a number a double cannot carry exactly */
    JX_DUPLICATE, /* an object in the JSON holds a key twice: struct jx_dup names it */
};

/* A key found twice in one object, as messages name it: the key and the RFC 6901 pointer of
 * the object holding it ("" at the top). Bytes other than printable ASCII read '?', and both
 * are cut to fit (ending "..."). Key names are not secret; no value ever lands here. */
#define JX_DUP_KEY 64
#define JX_DUP_AT 128
struct jx_dup {
    char key[JX_DUP_KEY];
    char at[JX_DUP_AT];
};

struct cJSON;

/* Installs the wiping allocator into cJSON; idempotent. */
void jx_init(void);

/* Parses json[0..len) into *root (owned: cJSON_Delete, which wipes). Refuses, with *root NULL:
 * JX_NOT_JSON for what is not exactly one JSON value in UTF-8 (a raw NUL, invalid UTF-8, bytes
 * other than whitespace after it); JX_NUL for a \u0000 escape; JX_DUPLICATE when any object,
 * at any depth, holds a key twice (consumers disagree on which one wins: Python, Go and JS
 * take the last, cJSON the first), naming it in *dup (may be NULL); JX_NOMEM. */
enum jx_rc jx_parse(const unsigned char *json, size_t len, struct cJSON **root, struct jx_dup *dup);

/* One step down from node: an object's member named tok (case-sensitive), or an array's
 * element at the index tok (RFC 6901: "0" or digits without a leading zero). NULL when there
 * is none or node is a scalar. */
struct cJSON *jx_step(struct cJSON *node, const char *tok);

/* The value at the RFC 6901 pointer below node ("" is node itself). NULL when the pointer
 * names nothing or is not a valid pointer. */
struct cJSON *jx_at(struct cJSON *node, const char *pointer);

/* Appends v to out: a string raw, anything else (number, boolean, null, object, array) as
 * compact JSON text, and then sets *json (may be NULL) to 1. Numbers come out exactly or not
 * at all: v's numbers are rewritten in place as their text, JX_INEXACT for one a double
 * cannot carry (infinite, or 2^53 and beyond in magnitude, where the source may have had more
 * digits, e.g. IDs). JX_TOOBIG past out's max, JX_NOMEM. */
enum jx_rc jx_emit(struct cJSON *v, struct sbuf *out, int *json);

/* Extracts from json[0..len) the value at `key` (top-level) or `pointer` (RFC 6901), at most
 * one of them non-NULL; with neither, fails with JX_MISSING. jx_parse, then jx_step or jx_at,
 * then jx_emit: the errors are theirs (JX_NOT_OBJECT for a key asked of a non-object). dup
 * (may be NULL) names a duplicated key on JX_DUPLICATE. */
enum jx_rc jx_extract(const unsigned char *json, size_t len, const char *key, const char *pointer,
                      struct sbuf *out, struct jx_dup *dup);

/* Writes the member names of the object obj (names only, never values) into buf as
 * "a, b, c", non-printable bytes as '?', truncated to fit; "" when not an object. */
void jx_keys(const struct cJSON *obj, char *buf, size_t n);

/* jx_keys of the top level of the JSON text json[0..len). For "key missing" messages. */
void jx_list_keys(const unsigned char *json, size_t len, char *buf, size_t n);

/* 1 when p is a syntactically valid JSON pointer ("" or "/..." with ~0 ~1 escapes only). */
int jx_pointer_valid(const char *p);

/* 1 when the JSON text s[0..n) holds the escape \u0000 (after an even run of backslashes, so
 * an escape and not a literal backslash followed by "u0000"): cJSON would cut a string there. */
int jx_has_escaped_nul(const unsigned char *s, size_t n);

/* Finds, in order, every string value of a member named member ("SecretString", "Value") in
 * the JSON text p[0..len) and records in nul[k] whether the k-th holds an escaped NUL
 * (\u0000): cJSON would cut the value there, so such a value is refused, and this says which
 * one. Returns how many were found (nul holds the first max). */
size_t jx_member_nul(const unsigned char *p, size_t len, const char *member, unsigned char *nul,
                     size_t max);

/* 1 when s[0..n) is valid UTF-8 (no overlongs, no surrogates). */
int jx_utf8_valid(const unsigned char *s, size_t n);

/* A paginated AWS answer's NextToken member (next: NULL when absent). jx_token_valid: 1 when
 * it is absent, null, or a string of 1 to JX_TOKEN_MAX characters. jx_token_dup: that string
 * copied into *out (NULL when absent or null); -1 when out of memory. */
#define JX_TOKEN_MAX 4096
int jx_token_valid(const struct cJSON *next);
int jx_token_dup(const struct cJSON *next, char **out);

#endif
