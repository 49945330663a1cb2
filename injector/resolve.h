/* resolve.h: from config entries to values: deduplicate (secret, version) fetches, fetch
 * each once, extract each entry's value. Every failing entry is reported (log_error);
 * optional entries whose secret or key is missing are skipped with a warning. */
#ifndef INJ_RESOLVE_H
#define INJ_RESOLVE_H

#include <stddef.h>

#include "config.h"
#include "err.h"
#include "expand.h"
#include "fetch.h"
#include "sbuf.h"

struct resolved {
    const struct entry *e;      /* borrowed */
    const struct fetched *f;    /* borrowed from the set, NULL when skipped */
    const struct fetched **src; /* template entries: the fetch of each `secret "ID"` in it
                                   (array owned, elements borrowed), NULL otherwise */
    struct sbuf value;          /* the entry's value (wiped on free); empty with expand */
    struct expand_var *vars;    /* expand: true: the variables (owned, expand.h), in the
                                   secret's key order; NULL otherwise */
    size_t nvars;
    int skipped;
};

struct resolve_set {
    struct fetched *f;
    size_t nf;
    struct resolved *r;
    size_t nr;
    size_t api_calls;
};

/* Plans the fetches only (no network): fills out->f / out->r with the deduplicated refs,
 * including the secrets that templates name with `secret "ID"`. */
enum inj_rc resolve_plan(const struct config *cfg, struct resolve_set *out, struct inj_err *err);

/* Plans, fetches and extracts (expand: true entries into their variables). On failure err
 * summarises ("2 of 5 entries failed") after each failing entry was logged; the first
 * failure's code is returned. When all succeed, resolve_check_names has the last word. */
enum inj_rc resolve_all(const struct config *cfg, const struct sm_ctx *ctx, struct resolve_set *out,
                        struct inj_err *err);

/* What fetches the planned secrets in place of fetch_all: a layer around it (roles.c
 * fetches each role's secrets with that role's credentials). */
typedef void (*resolve_fetch_fn)(void *arg, const struct sm_ctx *ctx, struct fetched *f, size_t n,
                                 size_t *api_calls);

/* resolve_all with fetch(fetch_arg, ...) in place of fetch_all (NULL: fetch_all). */
enum inj_rc resolve_all_with(const struct config *cfg, const struct sm_ctx *ctx,
                             resolve_fetch_fn fetch, void *fetch_arg, struct resolve_set *out,
                             struct inj_err *err);

/* One entry's value (key, pointer or template, then encoding) from fetches that succeeded,
 * appended to r->value (empty before). Used again by refresh.c when a secret changed. */
enum inj_rc resolve_extract(struct resolved *r, struct inj_err *err);

/* Every env variable the set would set (entries and expansions, skipped ones left out) has
 * one source: else INJ_E_CONFIG listing each name set twice and by what. Run before anything
 * is written, and again on each refresh (keys may appear). */
enum inj_rc resolve_check_names(const struct resolve_set *s, struct inj_err *err);

void resolve_free(struct resolve_set *s);

#endif
