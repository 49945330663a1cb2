/* parse.h: small value parsers shared by config, cli and supervise: no state, no errors
 * beyond "invalid" (callers say what was expected). */
#ifndef INJ_PARSE_H
#define INJ_PARSE_H

#define PARSE_MAX_DURATION_MS (30LL * 24 * 3600 * 1000)

/* Parses a duration: one or more <digits><unit> with units ms, s, m, h, d ("50ms", "5m",
 * "1h30m"); at most 30 days. Returns 0 with *ms set, -1 when invalid (*ms untouched). */
int parse_duration(const char *s, long long *ms);

/* Parses a signal name ("SIGHUP" or "HUP"; the signals an app may take as "reload" or
 * "stop"). Returns the number, or -1. */
int parse_signal(const char *s);

/* supervise.on_change: parsed by config, acted on by supervise. */
enum supervise_on_change {
    SUPERVISE_ON_CHANGE_SIGNAL = 0, /* send on_change_signal to the child (default) */
    SUPERVISE_ON_CHANGE_RESTART,    /* stop the child (SIGTERM, then SIGKILL), start it again */
    SUPERVISE_ON_CHANGE_NONE,       /* files only */
};

#endif
