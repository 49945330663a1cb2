/* log.c: leveled messages to stderr, prefixed "injector: <level>: ", or with
 * INJECTOR_LOG_FORMAT=json one JSON object a line (time, level, msg, and what the line is
 * about). stdout belongs to the app. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* A message as formatted; the JSON line around it may be up to six times as long (\u00XX). */
#define LOG_MSG_MAX 1536
#define LOG_JSON_MAX (8 * LOG_MSG_MAX)
/* Kept free for what closes a line: "]}\n". */
#define LOG_JSON_TAIL 8

static enum log_level log_level = LOG_LVL_WARN;
static enum log_format log_format = LOG_FMT_TEXT;

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

void log_set_format(enum log_format f)
{
    log_format = f;
}

enum log_format log_get_format(void)
{
    return log_format;
}

int log_format_parse(const char *s)
{
    if (!strcmp(s, "text"))
        return LOG_FMT_TEXT;
    if (!strcmp(s, "json"))
        return LOG_FMT_JSON;
    return 0;
}

/* One JSON line being built; never longer than LOG_JSON_MAX, always closable. */
struct lj {
    char p[LOG_JSON_MAX];
    size_t len;
};

#define LJ_BODY (LOG_JSON_MAX - LOG_JSON_TAIL)

/* Structure: only when it fits in the body (the caller checked), or the tail. */
static void lj_raw(struct lj *j, const char *s)
{
    size_t n = strlen(s);

    if (j->len + n > sizeof(j->p))
        return;
    memcpy(j->p + j->len, s, n);
    j->len += n;
}

/* Length of the valid UTF-8 sequence at s[0..n) (RFC 3629: no overlongs, no surrogates,
 * nothing past U+10FFFF), or 0. */
static size_t lj_utf8_len(const unsigned char *s, size_t n)
{
    size_t len;
    size_t i;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        len = 2;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        len = 3;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        len = 4;
    else
        return 0;
    if (n < len)
        return 0;
    for (i = 1; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
        (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
        return 0;
    return len;
}

/* s[0..n) as a JSON string: quotes, backslashes and control characters escaped, valid UTF-8
 * kept, any other byte (server text, a file name) written U+FFFD. Cut short to fit. */
static void lj_str(struct lj *j, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    char esc[8];
    size_t i = 0;

    lj_raw(j, "\"");
    while (i < n) {
        const char *piece = esc;
        size_t plen = 2;
        size_t take = 1;
        unsigned char c = u[i];

        esc[0] = '\\';
        if (c == '"' || c == '\\') {
            esc[1] = (char)c;
        } else if (c == '\n') {
            esc[1] = 'n';
        } else if (c == '\r') {
            esc[1] = 'r';
        } else if (c == '\t') {
            esc[1] = 't';
        } else if (c < 0x20 || c == 0x7f) {
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            plen = 6;
        } else {
            take = lj_utf8_len(u + i, n - i);
            piece = take ? s + i : "\\ufffd";
            plen = take ? take : 6;
            take = take ? take : 1;
        }
        if (j->len + plen + 1 > LJ_BODY)
            break;
        memcpy(j->p + j->len, piece, plen);
        j->len += plen;
        i += take;
    }
    lj_raw(j, "\"");
}

/* ,"key":"value" when there is room for at least the key and an empty string. */
static void lj_field(struct lj *j, const char *key, const char *v)
{
    if (!v || j->len + strlen(key) + 6 > LJ_BODY)
        return;
    lj_raw(j, ",\"");
    lj_raw(j, key);
    lj_raw(j, "\":");
    lj_str(j, v, strlen(v));
}

/* ,"key":["a","b"]: as many elements as fit. */
static void lj_list(struct lj *j, const char *key, const char *const *v, size_t n)
{
    size_t i;

    if (!v || !n || j->len + strlen(key) + 6 > LJ_BODY)
        return;
    lj_raw(j, ",\"");
    lj_raw(j, key);
    lj_raw(j, "\":[");
    for (i = 0; i < n && j->len + 4 <= LJ_BODY; i++) {
        if (i)
            lj_raw(j, ",");
        lj_str(j, v[i] ? v[i] : "", v[i] ? strlen(v[i]) : 0);
    }
    lj_raw(j, "]");
}

static const char *log_level_name(enum log_level lvl)
{
    switch (lvl) {
    case LOG_LVL_ERROR:
        return "error";
    case LOG_LVL_WARN:
        return "warn";
    case LOG_LVL_INFO:
        return "info";
    case LOG_LVL_DEBUG:
        return "debug";
    case LOG_LVL_QUIET:
    default:
        return "error";
    }
}

/* RFC 3339, UTC, milliseconds: 2026-01-02T03:04:05.678Z. */
static void log_time(char *out, size_t n)
{
    struct timespec ts;
    struct tm tm;
    char day[24];
    int ms;

    if (clock_gettime(CLOCK_REALTIME, &ts) != 0 || !gmtime_r(&ts.tv_sec, &tm) ||
        strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
        (void)snprintf(out, n, "1970-01-01T00:00:00.000Z");
        return;
    }
    ms = (int)((ts.tv_nsec / 1000000L) % 1000L);
    (void)snprintf(out, n, "%.19s.%03dZ", day, ms);
}

static void log_json(enum log_level lvl, const struct log_fields *f, const char *msg, size_t len)
{
    static struct lj j; /* 12 KiB: off the stack of whoever logs */
    char t[32];
    char num[16];

    j.len = 0;
    log_time(t, sizeof(t));
    lj_raw(&j, "{\"time\":\"");
    lj_raw(&j, t);
    lj_raw(&j, "\",\"level\":\"");
    lj_raw(&j, log_level_name(lvl));
    lj_raw(&j, "\",\"msg\":");
    lj_str(&j, msg, len);
    if (f && f->code != INJ_OK) {
        lj_field(&j, "code", inj_rc_name(f->code));
        (void)snprintf(num, sizeof(num), "%d", inj_rc_exit(f->code));
        if (j.len + 20 <= LJ_BODY) {
            lj_raw(&j, ",\"exit_code\":");
            lj_raw(&j, num);
        }
    }
    if (f && f->entries)
        lj_list(&j, "entry", f->entries, f->nentries);
    else if (f)
        lj_field(&j, "entry", f->entry);
    if (f && f->secrets)
        lj_list(&j, "secret", f->secrets, f->nsecrets);
    else if (f)
        lj_field(&j, "secret", f->secret);
    if (f)
        lj_field(&j, "action", f->action);
    lj_raw(&j, "}\n");
    (void)fwrite(j.p, 1, j.len, stderr);
    (void)fflush(stderr);
}

static void log_v(enum log_level lvl, const struct log_fields *f, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void log_v(enum log_level lvl, const struct log_fields *f, const char *fmt, va_list ap)
{
    char line[LOG_MSG_MAX];
    int n;
    int m;

    if (lvl > log_level)
        return;
    /* One write per line so lines from several processes do not interleave. */
    n = log_format == LOG_FMT_JSON
            ? 0
            : snprintf(line, sizeof(line),
                       "injector: %s: ", lvl == LOG_LVL_WARN ? "warning" : log_level_name(lvl));
    if (n < 0 || (size_t)n >= sizeof(line))
        return;
    m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    if (m < 0)
        return;
    if ((size_t)n + (size_t)m >= sizeof(line) - 1)
        m = (int)(sizeof(line) - (size_t)n - 2);
    if (log_format == LOG_FMT_JSON) {
        log_json(lvl, f, line, (size_t)m);
        return;
    }
    line[n + m] = '\n';
    (void)fwrite(line, 1, (size_t)n + (size_t)m + 1, stderr);
    (void)fflush(stderr);
}

#define LOG_FN(name, lvl)           \
    void name(const char *fmt, ...) \
    {                               \
        va_list ap;                 \
        va_start(ap, fmt);          \
        log_v(lvl, NULL, fmt, ap);  \
        va_end(ap);                 \
    }

LOG_FN(log_error, LOG_LVL_ERROR)
LOG_FN(log_warn, LOG_LVL_WARN)
LOG_FN(log_info, LOG_LVL_INFO)
LOG_FN(log_debug, LOG_LVL_DEBUG)

void log_at(enum log_level lvl, const struct log_fields *f, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_v(lvl, f, fmt, ap);
    va_end(ap);
}

void log_err(enum log_level lvl, const struct inj_err *e)
{
    struct log_fields f;

    memset(&f, 0, sizeof(f));
    f.code = e->code;
    f.entry = e->entry;
    f.secret = e->secret;
    f.action = e->action;
    log_at(lvl, &f, "%s", e->msg);
}
