/* roles.h: per-entry roles: the entries that name a role (config roles: / role_arn) are
 * fetched with credentials from STS AssumeRole made with the base credentials, once per role;
 * the others with the base credentials. A layer around fetch_all: one fetch_all per role. */
#ifndef INJ_ROLES_H
#define INJ_ROLES_H

#include <stddef.h>

#include "config.h"
#include "creds.h"
#include "err.h"
#include "fetch.h"
#include "sm.h"

struct roles {
    /* Set by the caller before roles_init; borrowed. */
    const struct config *cfg;
    const struct creds *base; /* the base credentials: every AssumeRole is signed with them */
    struct creds_ctx cctx;    /* for STS (endpoint, deadline) */
    /* Private: per cfg->roles[i]. */
    struct creds *creds; /* assumed; access_key_id NULL: not (successfully) yet */
    struct inj_err *err; /* the last AssumeRole's failure, code INJ_OK: none */
    char (*source)[64];  /* "role NAME" */
    char session[65];    /* the default session name: injector-<hostname or pid> */
    size_t assumed;      /* AssumeRole calls made (not retries) */
};

/* Allocates the per-role state for r->cfg (nothing when it has no roles). */
enum inj_rc roles_init(struct roles *r, struct inj_err *err);
/* Wipes every assumed key. */
void roles_free(struct roles *r);

/* The default RoleSessionName: "injector-" and the host name, cut to STS's 64 characters of
 * [\w+=,.@-] (other characters become '-'); "injector-<pid>" without a usable host name. */
void roles_session_name(char *buf, size_t n);

/* Assumes each role that fetches f[0..n) use (f[i].role) and that has no credentials yet, or
 * whose credentials expire within margin_s seconds (0: only missing ones), or all of them when
 * force (the base credentials changed). A failure is kept per role (roles_error). */
void roles_assume(struct roles *r, const struct fetched *f, size_t n, long margin_s, int force);

/* The credentials fetch f uses: the base ones, its role's, or NULL when its role could not
 * be assumed (then roles_error says why). */
const struct creds *roles_creds_for(const struct roles *r, const struct fetched *f);
/* Why f's role has no credentials, NULL when it has them (or f has no role). */
const struct inj_err *roles_error(const struct roles *r, const struct fetched *f);

/* fetch_all for f[0..n), grouped by role: the base group with ctx as given, each role's group
 * with its assumed credentials (assumed first when missing), one fetch_all per group in
 * turn. A role that cannot be assumed fails each of its fetches with the reason. r may be
 * NULL (no roles): plain fetch_all. Matches resolve_fetch_fn (resolve.h). */
void roles_fetch_all(void *r, const struct sm_ctx *ctx, struct fetched *f, size_t n,
                     size_t *api_calls);

#endif
