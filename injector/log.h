/* log.h: leveled logging to stderr, as text or one JSON object a line. Never pass a secret
 * value; fmt is never input. */
#ifndef INJ_LOG_H
#define INJ_LOG_H

#include <stddef.h>

#include "err.h"

enum log_level { LOG_LVL_QUIET = -1, LOG_LVL_ERROR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* 0 is "not chosen" (a config without log_format). */
enum log_format { LOG_FMT_TEXT = 1, LOG_FMT_JSON = 2 };

/* The level is process state (like tini's verbosity); set once from -v/-q/INJECTOR_LOG_LEVEL. */
void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
/* Parses "error|warn|info|debug|quiet"; returns -2 when unknown. */
int log_level_parse(const char *s);

/* The format is process state too: text ("injector: error: MSG") until INJECTOR_LOG_FORMAT or
 * the config's log_format says json. */
void log_set_format(enum log_format f);
enum log_format log_get_format(void);
/* Parses "text|json"; returns 0 when unknown. */
int log_format_parse(const char *s);

/* What a line is about, for the JSON format (text lines carry it in the message already).
 * Every pointer is borrowed and may be NULL; a list (entries/secrets) is written as a JSON
 * array, for one line naming several entries. code 0 (INJ_OK): none. */
struct log_fields {
    const char *entry;          /* the entry's name (variable or file path) */
    const char *const *entries; /* or several, nentries of them */
    size_t nentries;
    const char *secret; /* the secret's ARN or name as configured */
    const char *const *secrets;
    size_t nsecrets;
    const char *action; /* the IAM action to grant */
    enum inj_rc code;   /* written as "code" (its name) and "exit_code" */
};

void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A line with fields f (may be NULL). */
void log_at(enum log_level lvl, const struct log_fields *f, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* e->msg at lvl, with e's code, entry, secret and action as fields. */
void log_err(enum log_level lvl, const struct inj_err *e);

#endif
