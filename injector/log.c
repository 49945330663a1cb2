/* log.c: leveled messages to stderr, prefixed "injector: <level>: ". stdout belongs to the app. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static enum log_level log_level = LOG_LVL_WARN;

void log_set_level(enum log_level lvl)
{
    log_level = lvl;
}

enum log_level log_get_level(void)
{
    return log_level;
}

int log_level_parse(const char *s)
{
    if (!strcmp(s, "quiet"))
        return LOG_LVL_QUIET;
    if (!strcmp(s, "error"))
        return LOG_LVL_ERROR;
    if (!strcmp(s, "warn"))
        return LOG_LVL_WARN;
    if (!strcmp(s, "info"))
        return LOG_LVL_INFO;
    if (!strcmp(s, "debug"))
        return LOG_LVL_DEBUG;
    return -2;
}

static void log_v(enum log_level lvl, const char *tag, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void log_v(enum log_level lvl, const char *tag, const char *fmt, va_list ap)
{
    char line[1536];
    int n;
    int m;

    if (lvl > log_level)
        return;
    /* One write per line so lines from several processes do not interleave. */
    n = snprintf(line, sizeof(line), "injector: %s: ", tag);
    if (n < 0 || (size_t)n >= sizeof(line))
        return;
    m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    if (m < 0)
        return;
    if ((size_t)n + (size_t)m >= sizeof(line) - 1)
        m = (int)(sizeof(line) - (size_t)n - 2);
    line[n + m] = '\n';
    (void)fwrite(line, 1, (size_t)n + (size_t)m + 1, stderr);
    (void)fflush(stderr);
}

#define LOG_FN(name, lvl, tag)      \
    void name(const char *fmt, ...) \
    {                               \
        va_list ap;                 \
        va_start(ap, fmt);          \
        log_v(lvl, tag, fmt, ap);   \
        va_end(ap);                 \
    }

LOG_FN(log_error, LOG_LVL_ERROR, "error")
LOG_FN(log_warn, LOG_LVL_WARN, "warning")
LOG_FN(log_info, LOG_LVL_INFO, "info")
LOG_FN(log_debug, LOG_LVL_DEBUG, "debug")
