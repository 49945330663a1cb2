/* fetch.h: the fetch strategy: which secrets go through BatchGetSecretValue (up to 20 a
 * call, one connection) and which through GetSecretValue (version-pinned ones, and the
 * fallbacks when the batch call is denied or throttled, several connections at once). */
#ifndef INJ_FETCH_H
#define INJ_FETCH_H

#include <stddef.h>

#include "err.h"
#include "ref.h"
#include "sm.h"

/* One secret (version) to fetch, and its outcome: resolve.c plans them, fetch_all fills
 * them. */
struct fetched {
    const struct ref *ref; /* borrowed from the first entry that uses it */
    struct sm_secret secret;
    enum inj_rc rc;       /* INJ_OK when secret is valid */
    struct sm_fail *fail; /* owned (sm_fail_free): the error when rc says a failure; NULL only
                             when that could not be allocated (sm_fail_msg: out of memory) */
    struct ref_regions failover; /* replicas to read when ref's region is down: the failover
                                    regions of every entry using this fetch, in order */
    int failover_off;            /* an entry using it said failover_regions: [] */
    int region_down;             /* rc says the region is down (struct sm_item) */
    enum aws_kind kind;          /* the error answer's kind (AWS_K_NONE: not an error answer) */
    long long deadline_ms;       /* fetch.c: this secret's deadline in the current pass */
    size_t role;                 /* the entries' role (struct entry): 0: the base credentials;
                                    fetched with ctx->creds all the same (roles.c groups) */
};

/* Fetches every f[i].ref (deduplicated by the caller) per ctx->fetch_mode, filling f[i].rc,
 * f[i].secret and f[i].fail (both owned by f[i]). *api_calls counts the calls made (not retries).
 * Failures are per secret; nothing here stops at the first one. A secret whose region is
 * down is then read from its failover regions (f[i].failover) in order, until one answers;
 * with a deadline, each region gets an even share of the time left. */
void fetch_all(const struct sm_ctx *ctx, struct fetched *f, size_t n, size_t *api_calls);

#endif
