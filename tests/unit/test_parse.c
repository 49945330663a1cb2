/* test_parse.c: the duration and signal-name parsers (parse.c). */
#include "unit.h"

#include <signal.h>

#include "parse.h"

/* ---- durations ---- */

static void duration_valid(void **state)
{
    static const struct {
        const char *s;
        long long ms;
    } ok[] = {
        {"50ms", 50},      {"1s", 1000},          {"5m", 300000},   {"2h", 7200000},
        {"1d", 86400000},  {"1h30m", 5400000},    {"1m30s", 90000}, {"0s", 0},
        {"1s500ms", 1500}, {"30d", 2592000000LL}, {"007s", 7000},   {"720h", 2592000000LL},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        long long ms = -1;
        assert_int_equal(parse_duration(ok[i].s, &ms), 0);
        assert_int_equal(ms, ok[i].ms);
    }
}

static void duration_invalid(void **state)
{
    static const char *const bad[] = {
        "",
        "5",
        "m",
        "5x",
        "-5m",
        "5M",
        " 5m",
        "5m ",
        "1.5s",
        "31d",
        "30d1ms",
        "5mm",
        "99999999999999999999s",
        "1h 30m",
        "+1s",
        "5sec",
        "s5",
        "0x10s",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        long long ms = 42;
        if (parse_duration(bad[i], &ms) != -1)
            fail_msg("\"%s\" parsed as %lld", bad[i], ms);
        assert_int_equal(ms, 42); /* untouched on failure */
    }
    assert_int_equal(parse_duration(NULL, NULL), -1);
}

static void signal_names(void **state)
{
    (void)state;
    assert_int_equal(parse_signal("HUP"), SIGHUP);
    assert_int_equal(parse_signal("SIGHUP"), SIGHUP);
    assert_int_equal(parse_signal("SIGUSR1"), SIGUSR1);
    assert_int_equal(parse_signal("USR2"), SIGUSR2);
    assert_int_equal(parse_signal("SIGTERM"), SIGTERM);
    assert_int_equal(parse_signal("WINCH"), SIGWINCH);
    assert_int_equal(parse_signal("SIGKILL"), -1); /* cannot be a reload signal */
    assert_int_equal(parse_signal("SIGSTOP"), -1);
    assert_int_equal(parse_signal("hup"), -1);
    assert_int_equal(parse_signal("SIG"), -1);
    assert_int_equal(parse_signal("1"), -1);
    assert_int_equal(parse_signal(""), -1);
    assert_int_equal(parse_signal(NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(duration_valid),
        cmocka_unit_test(duration_invalid),
        cmocka_unit_test(signal_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
