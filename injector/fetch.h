/* fetch.h: the fetch strategy: which secrets go through BatchGetSecretValue (up to 20 a
 * call, one connection) and which through GetSecretValue (version-pinned ones, and the
 * fallbacks when the batch call is denied or throttled, several connections at once). */
#ifndef INJ_FETCH_H
#define INJ_FETCH_H

#include <stddef.h>

struct sm_ctx;
struct fetched;

/* Fetches every f[i].ref (deduplicated by the caller) per ctx->fetch_mode, filling f[i].rc,
 * f[i].secret (owned by f[i]) and f[i].err. *api_calls counts the calls made (not retries).
 * Failures are per secret; nothing here stops at the first one. A secret whose region is
 * down is then read from its failover regions (f[i].failover) in order, until one answers;
 * with a deadline, each region gets an even share of the time left. */
void fetch_all(const struct sm_ctx *ctx, struct fetched *f, size_t n, size_t *api_calls);

#endif
