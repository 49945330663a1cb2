/* refresh.h: supervise mode's secret refresh. Each cycle checks every fetch cheaply
 * (DescribeSecret's VersionIdsToStages; GetSecretValue where DescribeSecret is denied),
 * fetches only the versions that moved, re-extracts every entry, then rewrites the files whose
 * value differs (atomically, owner kept) and updates the env variables for the next start.
 * All or nothing: a cycle that fails anywhere keeps the values in force. */
#ifndef INJ_REFRESH_H
#define INJ_REFRESH_H

#include <stddef.h>
#include <sys/types.h>

#include "config.h"
#include "creds.h"
#include "err.h"
#include "resolve.h"
#include "roles.h"
#include "sink.h"
#include "sm.h"
#include "supervise.h"

struct refresh {
    /* Set by the caller before refresh_init; all borrowed. */
    const struct config *cfg;
    struct resolve_set *set;  /* the values in force (resolve_all's); replaced on a change */
    struct sink_env *env;     /* the command's environment; updated on a change */
    struct sink_files *files; /* the files written at start: a rewrite goes into the
                                   directory inode validated then (sink.h anchors) */
    struct creds *creds;      /* re-resolved in place when near expiration */
    struct creds_ctx cctx;    /* for re-resolving */
    struct roles *roles;      /* per-entry roles (NULL: none): re-assumed near expiration */
    struct sm_ctx sm;         /* copied; refresh_init points .creds at creds, sets timeouts */
    struct aws_retry retry;   /* refresh_init's: sm's mode, one attempt, throttles too */
    int chown;                /* --user: rewritten files (and new directories) get uid:gid */
    uid_t uid;
    gid_t gid;
    /* Private. */
    unsigned char *no_describe; /* per fetch: DescribeSecret denied, check with GetSecretValue */
    size_t nf;
    int creds_stale; /* re-resolve before the next call (after an auth failure) */
    unsigned long cycles;
};

enum inj_rc refresh_init(struct refresh *r, struct inj_err *err);
void refresh_free(struct refresh *r);

/* One cycle. *changed is 1 when a value the command sees differs: its files are rewritten
 * and env updated by then. A new version whose values are all unchanged is recorded, and
 * *changed stays 0. On failure the previous values stay in force. */
enum inj_rc refresh_run(struct refresh *r, int *changed, struct inj_err *err);

/* The struct supervise_hooks functions; ctx is a struct refresh. */
enum supervise_refresh_rc refresh_hook(void *ctx);
char **refresh_hook_envp(void *ctx);
void refresh_hook_started(void *ctx);

/* Pure pieces (unit-tested). The version id that carries stage in m, or NULL. */
const char *refresh_stage_version(const struct sm_meta *m, const char *stage);
/* 1 when the version carrying stage is not have_vid (NULL: nothing fetched yet), or when no
 * version carries stage: either way GetSecretValue must look. */
int refresh_needs_fetch(const struct sm_meta *m, const char *stage, const char *have_vid);
/* 1 when what the command sees of an entry differs between a and b. */
int refresh_value_differs(const struct resolved *a, const struct resolved *b);

#endif
