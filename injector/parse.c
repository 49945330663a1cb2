/* parse.c: the small value parsers shared by the config, the command line and supervise
 * mode: durations ("1h30m") and signal names ("SIGHUP"). */
#include "parse.h"

#include <signal.h>
#include <string.h>

int parse_duration(const char *s, long long *ms)
{
    static const struct {
        const char *unit;
        long long ms;
    } units[] = {
        {"ms", 1LL}, {"s", 1000LL}, {"m", 60000LL}, {"h", 3600000LL}, {"d", 86400000LL},
    };
    long long total = 0;
    const char *p = s;

    if (!s || !*s)
        return -1;
    while (*p) {
        const char *digits = p;
        long long v = 0;
        size_t ulen = 0;
        size_t i;

        while (*p >= '0' && *p <= '9') {
            long long d = *p - '0';
            if (v > (PARSE_MAX_DURATION_MS - d) / 10)
                return -1;
            v = v * 10 + d;
            p++;
        }
        if (p == digits)
            return -1;
        while (p[ulen] >= 'a' && p[ulen] <= 'z')
            ulen++;
        for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
            if (strlen(units[i].unit) == ulen && !strncmp(p, units[i].unit, ulen))
                break;
        if (i == sizeof(units) / sizeof(units[0]))
            return -1;
        if (v > (PARSE_MAX_DURATION_MS - total) / units[i].ms)
            return -1;
        total += v * units[i].ms;
        p += ulen;
    }
    *ms = total;
    return 0;
}

int parse_signal(const char *s)
{
    static const struct {
        const char *name;
        int sig;
    } sigs[] = {
        {"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT},   {"USR1", SIGUSR1},
        {"USR2", SIGUSR2}, {"TERM", SIGTERM}, {"WINCH", SIGWINCH}, {"ALRM", SIGALRM},
        {"CONT", SIGCONT}, {"URG", SIGURG},
    };
    size_t i;

    if (!s)
        return -1;
    if (!strncmp(s, "SIG", 3))
        s += 3;
    for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        if (!strcmp(s, sigs[i].name))
            return sigs[i].sig;
    return -1;
}
