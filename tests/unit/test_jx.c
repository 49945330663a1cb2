/* test_jx.c: extracting values from a secret's JSON: top-level keys, RFC 6901 pointers,
 * non-string values as compact JSON, refusals (not JSON, not an object, missing, escaped NUL,
 * trailing garbage, duplicate keys), jx_parse/jx_step/jx_at/jx_emit on their own, the UTF-8
 * validator and the key list for messages. */
#include "unit.h"

#include <cjson/cJSON.h>

#include "jx.h"
#include "sbuf.h"

#define S(lit) (const unsigned char *)(lit), (sizeof(lit) - 1)

static const char doc[] =
    "{\"user\":\"admin\",\"password\":\"p@ss:w/rd\",\"port\":5432,\"ratio\":1.5,"
    "\"neg\":-7,\"on\":true,\"off\":false,\"none\":null,"
    "\"obj\":{\"a\":1,\"b\":[1,2,{\"c\":\"d\"}],\"e\":\"q\\\"uote\"},"
    "\"arr\":[\"zero\",\"one\",{\"x\":\"deep\"}],"
    "\"a/b\":\"slash\",\"m~n\":\"tilde\",\"\":\"empty-key\",\"0\":\"zero-key\","
    "\"esc\":\"a\\\"b\\\\c\\nd\\u00e9\\ud83d\\ude00\"}";

/* Extracts (key or pointer) from doc, expecting JX_OK and exactly want. */
static void want_value(const char *key, const char *pointer, const char *want)
{
    struct sbuf out = SBUF_INIT(4096);
    enum jx_rc rc = jx_extract((const unsigned char *)doc, strlen(doc), key, pointer, &out, NULL);

    if (rc != JX_OK)
        fail_msg("key %s pointer %s: rc %d", key ? key : "-", pointer ? pointer : "-", (int)rc);
    assert_int_equal(out.len, strlen(want));
    assert_memory_equal(out.p, want, out.len);
    sbuf_wipe_free(&out);
}

static enum jx_rc extract_rc(const unsigned char *json, size_t len, const char *key,
                             const char *pointer)
{
    struct sbuf out = SBUF_INIT(4096);
    enum jx_rc rc = jx_extract(json, len, key, pointer, &out, NULL);

    if (rc != JX_OK)
        assert_int_equal(out.len, 0);
    sbuf_wipe_free(&out);
    return rc;
}

static void key_strings_are_raw(void **state)
{
    (void)state;
    want_value("user", NULL, "admin");
    want_value("password", NULL, "p@ss:w/rd");
    want_value("esc", NULL, "a\"b\\c\nd\xc3\xa9\xf0\x9f\x98\x80");
    want_value("a/b", NULL, "slash");
    want_value("", NULL, "empty-key");
}

static void key_is_case_sensitive_and_missing(void **state)
{
    (void)state;
    assert_int_equal(extract_rc(S(doc), "Password", NULL), JX_MISSING);
    assert_int_equal(extract_rc(S(doc), "nope", NULL), JX_MISSING);
    /* A key is top-level only: "obj/a" is a key name, not a path. */
    assert_int_equal(extract_rc(S(doc), "a", NULL), JX_MISSING);
    assert_int_equal(extract_rc(S(doc), "obj/a", NULL), JX_MISSING);
    /* Neither key nor pointer. */
    assert_int_equal(extract_rc(S(doc), NULL, NULL), JX_MISSING);
}

static void non_strings_are_compact_json(void **state)
{
    (void)state;
    want_value("port", NULL, "5432");
    want_value("ratio", NULL, "1.5");
    want_value("neg", NULL, "-7");
    want_value("on", NULL, "true");
    want_value("off", NULL, "false");
    want_value("none", NULL, "null");
    want_value("obj", NULL, "{\"a\":1,\"b\":[1,2,{\"c\":\"d\"}],\"e\":\"q\\\"uote\"}");
    want_value("arr", NULL, "[\"zero\",\"one\",{\"x\":\"deep\"}]");
}

/* A number cJSON's double would round (an integer beyond 2^53, an overflow) is refused, not
 * printed altered; the largest exact integers and ordinary decimals pass. */
static void inexact_numbers_refused(void **state)
{
    struct sbuf out = SBUF_INIT(4096);

    (void)state;
    assert_int_equal(extract_rc(S("{\"id\":9007199254740993}"), "id", NULL), JX_INEXACT);
    assert_int_equal(extract_rc(S("{\"id\":12345678901234567890}"), "id", NULL), JX_INEXACT);
    assert_int_equal(extract_rc(S("{\"id\":-9007199254740993}"), "id", NULL), JX_INEXACT);
    assert_int_equal(extract_rc(S("{\"x\":1e400}"), "x", NULL), JX_INEXACT);
    /* Nested inside the value asked for, too. */
    assert_int_equal(extract_rc(S("{\"o\":{\"a\":[1,{\"b\":9007199254740993}]}}"), "o", NULL),
                     JX_INEXACT);
    assert_int_equal(extract_rc(S("{\"o\":[9007199254740993]}"), NULL, "/o"), JX_INEXACT);
    /* Elsewhere in the secret it does not matter. */
    assert_int_equal(extract_rc(S("{\"id\":9007199254740993,\"u\":\"x\"}"), "u", NULL), JX_OK);
    /* 2^53 - 1 and decimals come through as written. */
    assert_int_equal(jx_extract(S("{\"n\":9007199254740991}"), "n", NULL, &out, NULL), JX_OK);
    assert_string_equal((const char *)out.p, "9007199254740991");
    sbuf_wipe_free(&out);
    assert_int_equal(jx_extract(S("{\"n\":[0.1,-2.5,1e-7]}"), "n", NULL, &out, NULL), JX_OK);
    assert_string_equal((const char *)out.p, "[0.1,-2.5,1e-07]");
    sbuf_wipe_free(&out);
    /* cJSON's own printer would give 1.23456789012346e+15 (close is equal enough for it). */
    assert_int_equal(jx_extract(S("{\"id\":1234567890123456}"), "id", NULL, &out, NULL), JX_OK);
    assert_string_equal((const char *)out.p, "1234567890123456");
    sbuf_wipe_free(&out);
    assert_int_equal(jx_extract(S("{\"o\":{\"id\":4294967297,\"f\":0.12345678901234567}}"), "o",
                                NULL, &out, NULL),
                     JX_OK);
    assert_string_equal((const char *)out.p, "{\"id\":4294967297,\"f\":0.12345678901234566}");
    sbuf_wipe_free(&out);
}

static void pointers(void **state)
{
    (void)state;
    want_value(NULL, "/user", "admin");
    want_value(NULL, "/obj/a", "1");
    want_value(NULL, "/obj/b", "[1,2,{\"c\":\"d\"}]");
    want_value(NULL, "/obj/b/2/c", "d");
    want_value(NULL, "/obj/e", "q\"uote");
    want_value(NULL, "/arr/0", "zero");
    want_value(NULL, "/arr/1", "one");
    want_value(NULL, "/arr/2/x", "deep");
    want_value(NULL, "/a~1b", "slash");
    want_value(NULL, "/m~0n", "tilde");
    want_value(NULL, "/", "empty-key");
    /* "0" on an object is a key, not an index. */
    want_value(NULL, "/0", "zero-key");
}

/* "~01" is "~1" (decode ~0 first, once), not "/". */
static void pointer_escape_order(void **state)
{
    static const char j[] = "{\"~1\":\"tilde-one\",\"/\":\"slash\"}";
    struct sbuf out = SBUF_INIT(64);

    (void)state;
    assert_int_equal(jx_extract(S(j), NULL, "/~01", &out, NULL), JX_OK);
    assert_string_equal((char *)out.p, "tilde-one");
    sbuf_wipe_free(&out);
    assert_int_equal(jx_extract(S(j), NULL, "/~1", &out, NULL), JX_OK);
    assert_string_equal((char *)out.p, "slash");
    sbuf_wipe_free(&out);
}

/* "" is the whole document, rendered compact. */
static void empty_pointer_is_whole_document(void **state)
{
    static const char j[] = " { \"a\" : [ 1 , true ] , \"b\" : \"x\" } \n";
    struct sbuf out = SBUF_INIT(64);

    (void)state;
    assert_int_equal(jx_extract(S(j), NULL, "", &out, NULL), JX_OK);
    assert_string_equal((char *)out.p, "{\"a\":[1,true],\"b\":\"x\"}");
    sbuf_wipe_free(&out);
    /* A whole document that is a string is the raw string. */
    assert_int_equal(jx_extract(S("\"just a string\""), NULL, "", &out, NULL), JX_OK);
    assert_string_equal((char *)out.p, "just a string");
    sbuf_wipe_free(&out);
}

static void pointer_misses(void **state)
{
    (void)state;
    assert_int_equal(extract_rc(S(doc), NULL, "/arr/01"), JX_MISSING); /* leading zero */
    assert_int_equal(extract_rc(S(doc), NULL, "/arr/00"), JX_MISSING);
    assert_int_equal(extract_rc(S(doc), NULL, "/arr/3"), JX_MISSING); /* out of range */
    assert_int_equal(extract_rc(S(doc), NULL, "/arr/-"), JX_MISSING); /* past the end */
    assert_int_equal(extract_rc(S(doc), NULL, "/arr/-1"), JX_MISSING);
    assert_int_equal(extract_rc(S(doc), NULL, "/arr/+1"), JX_MISSING);
    assert_int_equal(extract_rc(S(doc), NULL, "/arr/1x"), JX_MISSING);
    assert_int_equal(extract_rc(S(doc), NULL, "/arr/"), JX_MISSING);
    assert_int_equal(extract_rc(S(doc), NULL, "/arr/99999999999999999999"), JX_MISSING);
    assert_int_equal(extract_rc(S(doc), NULL, "/user/0"), JX_MISSING); /* into a string */
    assert_int_equal(extract_rc(S(doc), NULL, "/port/x"), JX_MISSING); /* into a number */
    assert_int_equal(extract_rc(S(doc), NULL, "/none/x"), JX_MISSING);
    assert_int_equal(extract_rc(S(doc), NULL, "/obj/nope"), JX_MISSING);
    assert_int_equal(extract_rc(S(doc), NULL, "/User"), JX_MISSING);
    assert_int_equal(extract_rc(S(doc), NULL, "/a/b"), JX_MISSING); /* "a/b" needs ~1 */
}

/* Invalid pointers name nothing (and must not read past the string). */
static void invalid_pointers(void **state)
{
    (void)state;
    assert_int_equal(extract_rc(S(doc), NULL, "/m~"), JX_MISSING);
    assert_int_equal(extract_rc(S(doc), NULL, "/m~2n"), JX_MISSING);
    assert_int_equal(extract_rc(S(doc), NULL, "/~"), JX_MISSING);
    assert_int_equal(extract_rc(S(doc), NULL, "user"), JX_MISSING);
    assert_false(jx_pointer_valid("user"));
    assert_false(jx_pointer_valid("/a~"));
    assert_false(jx_pointer_valid("/a~2"));
    assert_false(jx_pointer_valid("/~/"));
    assert_true(jx_pointer_valid(""));
    assert_true(jx_pointer_valid("/"));
    assert_true(jx_pointer_valid("//"));
    assert_true(jx_pointer_valid("/a~0b~1c/0"));
}

/* A pointer token longer than any key we could hold is "missing", not an overflow. */
static void long_pointer_token(void **state)
{
    char *ptr = malloc(5000);
    size_t i;

    (void)state;
    assert_non_null(ptr);
    ptr[0] = '/';
    for (i = 1; i < 4999; i++)
        ptr[i] = 'k';
    ptr[4999] = '\0';
    assert_int_equal(extract_rc(S(doc), NULL, ptr), JX_MISSING);
    free(ptr);
}

static void not_json(void **state)
{
    static const char *const bad[] = {
        "",          " ",    "plain text",     "{",          "{\"a\":1", "{'a':1}", "{\"a\":}",
        "{\"a\" 1}", "[1,2", "\"unterminated", "{\"a\":1,}", "nul"};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        enum jx_rc rc = extract_rc((const unsigned char *)bad[i], strlen(bad[i]), "a", NULL);
        if (rc != JX_NOT_JSON)
            fail_msg("\"%s\": rc %d, want JX_NOT_JSON", bad[i], (int)rc);
    }
    /* The length bounds the parse: the text is valid only in full. */
    assert_int_equal(extract_rc((const unsigned char *)"{\"a\":1}", 6, "a", NULL), JX_NOT_JSON);
}

static void trailing_garbage(void **state)
{
    (void)state;
    assert_int_equal(extract_rc(S("{\"a\":\"1\"}x"), "a", NULL), JX_NOT_JSON);
    assert_int_equal(extract_rc(S("{\"a\":\"1\"}{\"b\":2}"), "a", NULL), JX_NOT_JSON);
    assert_int_equal(extract_rc(S("{\"a\":\"1\"} ,"), "a", NULL), JX_NOT_JSON);
    assert_int_equal(extract_rc(S("\"x\" \"y\""), NULL, ""), JX_NOT_JSON);
    /* Whitespace after the value is fine. */
    assert_int_equal(extract_rc(S("{\"a\":\"1\"} \t\r\n"), "a", NULL), JX_OK);
    assert_int_equal(extract_rc(S("\n {\"a\":\"1\"}"), "a", NULL), JX_OK);
}

/* Raw NUL bytes are not JSON whitespace, and never part of a value. */
static void raw_nul_refused(void **state)
{
    enum jx_rc rc;

    (void)state;
    assert_int_equal(extract_rc(S("{\"a\":\"1\"}\0"), "a", NULL), JX_NOT_JSON);
    assert_int_equal(extract_rc(S("{\"a\":\"1\"}\0\0"), "a", NULL), JX_NOT_JSON);
    /* Inside a string it would silently cut the value at the NUL. */
    rc = extract_rc(S("{\"a\":\"sec\0ret\"}"), "a", NULL);
    assert_true(rc == JX_NOT_JSON || rc == JX_NUL);
}

static void not_object(void **state)
{
    (void)state;
    assert_int_equal(extract_rc(S("[1,2]"), "a", NULL), JX_NOT_OBJECT);
    assert_int_equal(extract_rc(S("\"str\""), "a", NULL), JX_NOT_OBJECT);
    assert_int_equal(extract_rc(S("42"), "a", NULL), JX_NOT_OBJECT);
    assert_int_equal(extract_rc(S("null"), "a", NULL), JX_NOT_OBJECT);
    assert_int_equal(extract_rc(S("true"), "a", NULL), JX_NOT_OBJECT);
    /* A pointer may start at an array. */
    assert_int_equal(extract_rc(S("[\"x\",\"y\"]"), NULL, "/1"), JX_OK);
    assert_int_equal(extract_rc(S("[\"x\",\"y\"]"), NULL, "/a"), JX_MISSING);
}

/* cJSON would cut a string at \u0000: refused, wherever it is. */
static void escaped_nul(void **state)
{
    (void)state;
    assert_int_equal(extract_rc(S("{\"a\":\"x\\u0000y\"}"), "a", NULL), JX_NUL);
    assert_int_equal(extract_rc(S("{\"a\":\"\\u0000\"}"), "a", NULL), JX_NUL);
    assert_int_equal(extract_rc(S("{\"a\":\"ok\",\"b\":\"x\\u0000\"}"), "a", NULL), JX_NUL);
    assert_int_equal(extract_rc(S("{\"a\\u0000\":\"v\"}"), "a", NULL), JX_NUL);
    /* An escaped backslash, then the escape: still a NUL. */
    assert_int_equal(extract_rc(S("{\"a\":\"\\\\\\u0000\"}"), "a", NULL), JX_NUL);
    /* An escaped backslash followed by the letters u0000 is not a NUL. */
    {
        struct sbuf out = SBUF_INIT(64);
        assert_int_equal(jx_extract(S("{\"a\":\"x\\\\u0000\"}"), "a", NULL, &out, NULL), JX_OK);
        assert_string_equal((char *)out.p, "x\\u0000");
        sbuf_wipe_free(&out);
    }
    /* Other control escapes are fine. */
    assert_int_equal(extract_rc(S("{\"a\":\"\\u0001\\t\"}"), "a", NULL), JX_OK);
}

static void oversize_value(void **state)
{
    struct sbuf out = SBUF_INIT(4);

    (void)state;
    assert_int_equal(jx_extract(S("{\"a\":\"12345\"}"), "a", NULL, &out, NULL), JX_TOOBIG);
    sbuf_wipe_free(&out);
    assert_int_equal(jx_extract(S("{\"a\":123456}"), "a", NULL, &out, NULL), JX_TOOBIG);
    sbuf_wipe_free(&out);
    assert_int_equal(jx_extract(S("{\"a\":\"1234\"}"), "a", NULL, &out, NULL), JX_OK);
    assert_string_equal((char *)out.p, "1234");
    sbuf_wipe_free(&out);
}

static void empty_string_value(void **state)
{
    struct sbuf out = SBUF_INIT(4);

    (void)state;
    assert_int_equal(jx_extract(S("{\"a\":\"\"}"), "a", NULL, &out, NULL), JX_OK);
    assert_int_equal(out.len, 0);
    sbuf_wipe_free(&out);
}

/* Deep nesting is refused by the parser's limit, not a stack overflow. */
static void deep_nesting(void **state)
{
    size_t depth = 100000;
    unsigned char *j = malloc(depth * 2);
    size_t i;

    (void)state;
    assert_non_null(j);
    for (i = 0; i < depth; i++) {
        j[i] = '[';
        j[depth * 2 - 1 - i] = ']';
    }
    assert_int_equal(extract_rc(j, depth * 2, NULL, ""), JX_NOT_JSON);
    free(j);
}

static void utf8_valid(void **state)
{
    static const char *const good[] = {
        "",
        "plain ascii",
        "\xc3\xa9",         /* U+00E9 */
        "\xc2\x80",         /* U+0080, smallest 2-byte */
        "\xdf\xbf",         /* U+07FF */
        "\xe0\xa0\x80",     /* U+0800, smallest 3-byte */
        "\xe2\x82\xac",     /* U+20AC */
        "\xed\x9f\xbf",     /* U+D7FF, below the surrogates */
        "\xee\x80\x80",     /* U+E000, above them */
        "\xef\xbf\xbf",     /* U+FFFF */
        "\xf0\x90\x80\x80", /* U+10000, smallest 4-byte */
        "\xf0\x9f\x98\x80", /* U+1F600 */
        "\xf4\x8f\xbf\xbf", /* U+10FFFF, the last */
        "a\xc3\xa9z\xe2\x82\xac!",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (!jx_utf8_valid((const unsigned char *)good[i], strlen(good[i])))
            fail_msg("valid UTF-8 #%zu rejected", i);
    /* NUL is a valid character; the length, not a terminator, bounds the input. */
    assert_true(jx_utf8_valid((const unsigned char *)"a\0b", 3));
    assert_true(jx_utf8_valid((const unsigned char *)"\xc3\xa9", 0));
}

static void utf8_invalid(void **state)
{
    static const char *const bad[] = {
        "\x80", /* lone continuation */
        "\xbf",
        "a\x80z",
        "\xc0\x80",                 /* overlong NUL */
        "\xc1\xbf",                 /* overlong U+007F */
        "\xe0\x80\x80",             /* overlong 3-byte */
        "\xe0\x9f\xbf",             /* overlong U+07FF */
        "\xf0\x80\x80\x80",         /* overlong 4-byte */
        "\xf0\x8f\xbf\xbf",         /* overlong U+FFFF */
        "\xed\xa0\x80",             /* U+D800 surrogate */
        "\xed\xbf\xbf",             /* U+DFFF surrogate */
        "\xed\xa0\xbd\xed\xb8\x80", /* CESU-8 pair */
        "\xf4\x90\x80\x80",         /* U+110000 */
        "\xf5\x80\x80\x80",
        "\xf8\x88\x80\x80\x80", /* 5-byte form */
        "\xfe",
        "\xff",
        "\xc3", /* truncated */
        "\xe2\x82",
        "\xf0\x9f\x98",
        "ok\xf0\x9f",
        "\xc3\x28", /* bad continuation */
        "\xe2\x28\xac",
        "\xe2\x82\x28",
        "\xf0\x9f\x28\x80",
        "\xf0\x9f\x98\xc3",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (jx_utf8_valid((const unsigned char *)bad[i], strlen(bad[i])))
            fail_msg("invalid UTF-8 #%zu accepted", i);
    /* A valid sequence cut by the length. */
    assert_false(jx_utf8_valid((const unsigned char *)"\xe2\x82\xac", 2));
    assert_false(jx_utf8_valid((const unsigned char *)"\xf0\x9f\x98\x80", 3));
}

/* Extracts expecting JX_DUPLICATE; checks the key and where it was found, and that out stays
 * empty. */
static void want_dup(const char *json, const char *key, const char *pointer, const char *dkey,
                     const char *dat)
{
    struct sbuf out = SBUF_INIT(4096);
    struct jx_dup dup;
    enum jx_rc rc;

    memset(&dup, 0, sizeof(dup));
    rc = jx_extract((const unsigned char *)json, strlen(json), key, pointer, &out, &dup);
    if (rc != JX_DUPLICATE)
        fail_msg("%s (%s): rc %d, want JX_DUPLICATE", json, key ? key : pointer, (int)rc);
    assert_int_equal(out.len, 0);
    assert_string_equal(dup.key, dkey);
    assert_string_equal(dup.at, dat);
    assert_not_contains(dup.key, "SECRET");
    assert_not_contains(dup.at, "SECRET");
    sbuf_wipe_free(&out);
}

/* A repeated key is refused wherever it stands: the lookup's own key, an object on the
 * pointer's way, one beside it, inside an extracted object, in an array of objects. */
static void duplicate_keys(void **state)
{
    (void)state;
    want_dup("{\"password\":\"a-SECRET1\",\"password\":\"b-SECRET2\"}", "password", NULL,
             "password", "");
    want_dup("{\"password\":\"a-SECRET1\",\"password\":\"b-SECRET2\"}", NULL, "/password",
             "password", "");
    /* nested, on the way */
    want_dup("{\"db\":{\"u\":\"SECRET1\",\"u\":\"SECRET2\"}}", NULL, "/db/u", "u", "/db");
    want_dup("{\"db\":{\"u\":\"SECRET1\"},\"db\":{\"u\":\"SECRET2\"}}", NULL, "/db/u", "db", "");
    /* off the way: the whole document is checked */
    want_dup("{\"a\":\"x\",\"b\":{\"c\":\"SECRET1\",\"c\":\"SECRET2\"}}", "a", NULL, "c", "/b");
    want_dup("{\"a\":\"x\",\"z\":1,\"z\":2}", NULL, "/a", "z", "");
    /* in a value extracted whole */
    want_dup("{\"o\":{\"k\":\"SECRET1\",\"k\":\"SECRET2\"}}", "o", NULL, "k", "/o");
    want_dup("{\"o\":{\"k\":\"SECRET1\",\"k\":\"SECRET2\"}}", NULL, "", "k", "/o");
    /* arrays of objects */
    want_dup("{\"list\":[{\"x\":1},{\"y\":\"SECRET1\",\"y\":\"SECRET2\"}]}", NULL, "/list/0/x", "y",
             "/list/1");
    want_dup("[[{\"a\":1,\"b\":2,\"a\":3}]]", NULL, "/0/0/b", "a", "/0/0");
    /* the path is written as a pointer: ~ and / escaped */
    want_dup("{\"a/b\":{\"m~n\":{\"k\":1,\"k\":2}}}", NULL, "/x", "k", "/a~1b/m~0n");
    /* the first of several objects with duplicates: outer ones first */
    want_dup("{\"in\":{\"q\":1,\"q\":2},\"out\":1,\"out\":2}", "in", NULL, "out", "");
    /* an escape that decodes to the same name is the same key */
    want_dup("{\"k\":1,\"\\u006b\":2}", "k", NULL, "k", "");
}

static void duplicate_key_names_are_cleaned(void **state)
{
    char json[512];
    char want[JX_DUP_KEY];

    (void)state;
    /* control characters and non-ASCII bytes read '?' (\u00e9 is two bytes in UTF-8) */
    want_dup("{\"p\\u0001\\u001b[31m\":1,\"p\\u0001\\u001b[31m\":2}", "x", NULL, "p??[31m", "");
    want_dup("{\"\\u00e9\":{\"\\n\":1,\"\\n\":2}}", "x", NULL, "?", "/??");
    /* a long name is cut, and says so */
    memset(want, 'k', sizeof(want));
    (void)snprintf(
        json, sizeof(json), "{\"%.200s\":1,\"%.200s\":2}",
        "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
        "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk",
        "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
        "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk");
    memcpy(want + sizeof(want) - 4, "...", 4);
    want_dup(json, "x", NULL, want, "");
}

/* The same name in different objects, or differing only in case, is no duplicate; nor is a
 * large object of distinct names. */
static void distinct_keys_are_fine(void **state)
{
    struct sbuf big = SBUF_INIT(0);
    struct sbuf out = SBUF_INIT(64);
    char k[32];
    int i;

    (void)state;
    assert_int_equal(extract_rc(S("{\"a\":{\"k\":1},\"b\":{\"k\":2},\"k\":3}"), "k", NULL), JX_OK);
    assert_int_equal(extract_rc(S("{\"k\":1,\"K\":2}"), "K", NULL), JX_OK);
    assert_int_equal(extract_rc(S("[{\"k\":1},{\"k\":2}]"), NULL, "/1/k"), JX_OK);
    assert_int_equal(sbuf_append_str(&big, "{"), SBUF_OK);
    for (i = 0; i < 5000; i++) {
        (void)snprintf(k, sizeof(k), "%s\"k%d\":%d", i ? "," : "", 4999 - i, i);
        assert_int_equal(sbuf_append_str(&big, k), SBUF_OK);
    }
    assert_int_equal(sbuf_append_str(&big, "}"), SBUF_OK);
    assert_int_equal(jx_extract(big.p, big.len, "k0", NULL, &out, NULL), JX_OK);
    assert_string_equal((const char *)out.p, "4999");
    sbuf_wipe_free(&out);
    big.p[big.len - 1] = ',';
    assert_int_equal(sbuf_append_str(&big, "\"k77\":0}"), SBUF_OK);
    assert_int_equal(jx_extract(big.p, big.len, "k0", NULL, &out, NULL), JX_DUPLICATE);
    sbuf_wipe_free(&out);
    sbuf_wipe_free(&big);
}

/* The pieces jx_extract is made of, as tmpl uses them. */
static void parse_step_emit(void **state)
{
    struct cJSON *root = NULL;
    struct cJSON *v;
    struct sbuf out = SBUF_INIT(4096);
    struct jx_dup dup;
    int json = 0;
    char keys[64];

    (void)state;
    assert_int_equal(jx_parse(S("{\"a\":\"\xff\"}"), &root, NULL), JX_NOT_JSON); /* not UTF-8 */
    assert_null(root);
    assert_int_equal(jx_parse(S("{\"a\":1,\"a\":2}"), &root, NULL), JX_DUPLICATE); /* no dup */
    assert_null(root);
    assert_int_equal(jx_parse(S("{\"a\":1,\"a\":2}"), &root, &dup), JX_DUPLICATE);
    assert_string_equal(dup.key, "a");
    assert_int_equal(jx_parse(S("{\"o\":{\"l\":[1,\"two\",{\"t\":true}]}}"), &root, NULL), JX_OK);
    assert_non_null(root);
    v = jx_step(jx_step(jx_step(root, "o"), "l"), "1");
    assert_int_equal(jx_emit(v, &out, &json), JX_OK);
    assert_string_equal((const char *)out.p, "two");
    assert_int_equal(json, 0);
    sbuf_wipe_free(&out);
    assert_null(jx_step(v, "0"));                  /* into a string */
    assert_null(jx_step(jx_step(root, "o"), "L")); /* case-sensitive */
    assert_null(jx_step(jx_step(jx_step(root, "o"), "l"), "01"));
    assert_null(jx_at(root, "o/l")); /* not a pointer */
    v = jx_at(root, "/o/l/2");
    assert_int_equal(jx_emit(v, &out, &json), JX_OK);
    assert_string_equal((const char *)out.p, "{\"t\":true}");
    assert_int_equal(json, 1);
    sbuf_wipe_free(&out);
    assert_true(jx_at(root, "") == root);
    jx_keys(root, keys, sizeof(keys));
    assert_string_equal(keys, "o");
    jx_keys(jx_at(root, "/o/l"), keys, sizeof(keys));
    assert_string_equal(keys, "");
    cJSON_Delete(root);
}

static void list_keys(void **state)
{
    char buf[64];

    (void)state;
    jx_list_keys(S("{\"username\":\"u-canary\",\"password\":\"p-canary\"}"), buf, sizeof(buf));
    assert_string_equal(buf, "username, password");
    assert_not_contains(buf, "canary");
    jx_list_keys(S("{}"), buf, sizeof(buf));
    assert_string_equal(buf, "");
    jx_list_keys(S("[\"a\",\"b\"]"), buf, sizeof(buf));
    assert_string_equal(buf, "");
    jx_list_keys(S("not json"), buf, sizeof(buf));
    assert_string_equal(buf, "");
    jx_list_keys(S(""), buf, sizeof(buf));
    assert_string_equal(buf, "");
    /* names reach messages: control characters and non-ASCII bytes read '?' */
    jx_list_keys(S("{\"a\\u001bb\":1,\"\\u00e9\":2}"), buf, sizeof(buf));
    assert_string_equal(buf, "a?b, ??");
}

/* Truncation drops whole keys; the buffer stays terminated. */
static void list_keys_truncates(void **state)
{
    char buf[64];

    (void)state;
    jx_list_keys(S("{\"username\":1,\"password\":2}"), buf, 12);
    assert_string_equal(buf, "username");
    jx_list_keys(S("{\"username\":1,\"password\":2}"), buf, 9);
    assert_string_equal(buf, "username");
    jx_list_keys(S("{\"username\":1,\"password\":2}"), buf, 8);
    assert_string_equal(buf, "");
    jx_list_keys(S("{\"a\":1}"), buf, 1);
    assert_string_equal(buf, "");
    buf[0] = 'X';
    jx_list_keys(S("{\"a\":1}"), buf, 0);
    assert_int_equal(buf[0], 'X');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(key_strings_are_raw),
        cmocka_unit_test(key_is_case_sensitive_and_missing),
        cmocka_unit_test(non_strings_are_compact_json),
        cmocka_unit_test(inexact_numbers_refused),
        cmocka_unit_test(pointers),
        cmocka_unit_test(pointer_escape_order),
        cmocka_unit_test(empty_pointer_is_whole_document),
        cmocka_unit_test(pointer_misses),
        cmocka_unit_test(invalid_pointers),
        cmocka_unit_test(long_pointer_token),
        cmocka_unit_test(not_json),
        cmocka_unit_test(trailing_garbage),
        cmocka_unit_test(raw_nul_refused),
        cmocka_unit_test(not_object),
        cmocka_unit_test(escaped_nul),
        cmocka_unit_test(oversize_value),
        cmocka_unit_test(empty_string_value),
        cmocka_unit_test(deep_nesting),
        cmocka_unit_test(utf8_valid),
        cmocka_unit_test(utf8_invalid),
        cmocka_unit_test(duplicate_keys),
        cmocka_unit_test(duplicate_key_names_are_cleaned),
        cmocka_unit_test(distinct_keys_are_fine),
        cmocka_unit_test(parse_step_emit),
        cmocka_unit_test(list_keys),
        cmocka_unit_test(list_keys_truncates),
    };

    jx_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
