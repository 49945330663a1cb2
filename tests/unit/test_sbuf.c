/* test_sbuf.c: bounded secret buffers: the max, growth, NUL termination, wiping. */
#include "unit.h"

#include "sbuf.h"

static void empty_append_terminates(void **state)
{
    struct sbuf b = SBUF_INIT(0);

    (void)state;
    assert_int_equal(sbuf_append(&b, "", 0), SBUF_OK);
    assert_non_null(b.p);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.p[0], 0);
    sbuf_wipe_free(&b);
    assert_null(b.p);
}

static void append_and_terminate(void **state)
{
    struct sbuf b = SBUF_INIT(64);

    (void)state;
    assert_int_equal(sbuf_append_str(&b, "abc"), SBUF_OK);
    assert_int_equal(sbuf_append(&b, "d\0e", 3), SBUF_OK);
    assert_int_equal(b.len, 6);
    assert_memory_equal(b.p, "abcd\0e", 7);
    assert_int_equal(b.p[b.len], 0);
    assert_true(b.cap > b.len);
    sbuf_wipe_free(&b);
}

/* Exactly max fits; one byte more is TOOBIG and leaves the buffer as it was. */
static void max_is_inclusive(void **state)
{
    struct sbuf b = SBUF_INIT(8);

    (void)state;
    assert_int_equal(sbuf_append(&b, "12345678", 8), SBUF_OK);
    assert_int_equal(sbuf_append(&b, "9", 1), SBUF_TOOBIG);
    assert_int_equal(b.len, 8);
    assert_string_equal((char *)b.p, "12345678");
    assert_int_equal(sbuf_append(&b, "", 0), SBUF_OK);
    sbuf_wipe_free(&b);
}

static void oversize_first_append(void **state)
{
    struct sbuf b = SBUF_INIT(4);

    (void)state;
    assert_int_equal(sbuf_append(&b, "12345", 5), SBUF_TOOBIG);
    assert_null(b.p);
    assert_int_equal(b.len, 0);
    sbuf_wipe_free(&b);
}

/* A length that would overflow size_t is TOOBIG, not a wrap-around (no max set). */
static void overflow_is_toobig(void **state)
{
    struct sbuf b = SBUF_INIT(0);

    (void)state;
    assert_int_equal(sbuf_append(&b, "ab", 2), SBUF_OK);
    assert_int_equal(sbuf_append(&b, "x", SIZE_MAX), SBUF_TOOBIG);
    assert_int_equal(sbuf_append(&b, "x", SIZE_MAX - 2), SBUF_TOOBIG);
    assert_int_equal(b.len, 2);
    sbuf_wipe_free(&b);
}

/* Many small appends: content survives every reallocation. */
static void growth_keeps_content(void **state)
{
    struct sbuf b = SBUF_INIT(100000);
    size_t i;

    (void)state;
    for (i = 0; i < 10000; i++) {
        unsigned char c = (unsigned char)('a' + i % 26);
        assert_int_equal(sbuf_append(&b, &c, 1), SBUF_OK);
    }
    assert_int_equal(b.len, 10000);
    assert_true(b.cap >= 10001);
    for (i = 0; i < 10000; i++)
        assert_int_equal(b.p[i], 'a' + i % 26);
    assert_int_equal(b.p[10000], 0);
    /* One big append past the current capacity. */
    {
        char *big = malloc(50000);
        assert_non_null(big);
        memset(big, 'Z', 50000);
        assert_int_equal(sbuf_append(&b, big, 50000), SBUF_OK);
        free(big);
    }
    assert_int_equal(b.len, 60000);
    assert_int_equal(b.p[59999], 'Z');
    assert_int_equal(b.p[60000], 0);
    sbuf_wipe_free(&b);
}

/* wipe: zeroes the whole allocation, keeps it, len 0; the buffer is reusable. */
static void wipe_zeroes_and_keeps(void **state)
{
    struct sbuf b = SBUF_INIT(0);
    unsigned char *p;
    size_t cap;
    size_t i;

    (void)state;
    assert_int_equal(sbuf_append_str(&b, "s3cr3t-canary"), SBUF_OK);
    p = b.p;
    cap = b.cap;
    sbuf_wipe(&b);
    assert_ptr_equal(b.p, p);
    assert_int_equal(b.cap, cap);
    assert_int_equal(b.len, 0);
    for (i = 0; i < cap; i++)
        assert_int_equal(b.p[i], 0);
    assert_int_equal(sbuf_append_str(&b, "again"), SBUF_OK);
    assert_string_equal((char *)b.p, "again");
    sbuf_wipe_free(&b);
}

static void wipe_free_is_reusable_and_keeps_max(void **state)
{
    struct sbuf b = SBUF_INIT(5);

    (void)state;
    sbuf_wipe(&b); /* on an empty buffer: fine */
    assert_int_equal(sbuf_append_str(&b, "abc"), SBUF_OK);
    sbuf_wipe_free(&b);
    assert_null(b.p);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    assert_int_equal(b.max, 5);
    assert_int_equal(sbuf_append_str(&b, "123456"), SBUF_TOOBIG);
    assert_int_equal(sbuf_append_str(&b, "12345"), SBUF_OK);
    sbuf_wipe_free(&b);
    sbuf_wipe_free(&b); /* twice: fine */
}

static void dup_helpers(void **state)
{
    char *s;

    (void)state;
    s = xstrdup("hello");
    assert_string_equal(s, "hello");
    wipe_free_str(s);
    s = xmemdup("a\0b", 3);
    assert_memory_equal(s, "a\0b", 3);
    assert_int_equal(s[3], 0);
    wipe_free(s, 3);
    s = xmemdup(NULL, 0);
    assert_non_null(s);
    assert_int_equal(s[0], 0);
    free(s);
    assert_null(xmemdup("x", SIZE_MAX));
    wipe_free(NULL, 10);
    wipe_free_str(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_append_terminates),
        cmocka_unit_test(append_and_terminate),
        cmocka_unit_test(max_is_inclusive),
        cmocka_unit_test(oversize_first_append),
        cmocka_unit_test(overflow_is_toobig),
        cmocka_unit_test(growth_keeps_content),
        cmocka_unit_test(wipe_zeroes_and_keeps),
        cmocka_unit_test(wipe_free_is_reusable_and_keeps_max),
        cmocka_unit_test(dup_helpers),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
