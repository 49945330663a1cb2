/* fetch.c: the fetch strategy. Quotas decide it: BatchGetSecretValue allows 100 requests/s per
 * region and account (not adjustable), GetSecretValue 10,000/s, both shared by every task. So
 * the batch call is used where it saves round trips (2+ AWSCURRENT secrets in a region), a
 * few calls at once on as many connections (one when one call is enough), and at its first
 * throttle or denial the rest goes through GetSecretValue, a few connections at once. */
#include "fetch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "log.h"
#include "mono.h"
#include "ref.h"
#include "sm.h"
#include "ssm.h"

/* Connections for GetSecretValue fan-out: enough to overlap round trips, few enough that a
 * fleet starting at once does not multiply handshakes. */
#define FETCH_CONNS 4
/* Batch calls sent at once, one connection each: 100 secrets (5 calls) take one round trip.
 * A throttle or denial stops the batches after these, not the ones already sent. */
#define FETCH_BATCH_CONNS 5
/* GetParameters calls sent at once, one connection each. A call takes 10 names, so 100
 * parameters are 10 calls: on 4 connections 3 rounds (2.3x N=1 in the realistic bench), on 5
 * two, on 10 one. A round costs the service's own time (15 ms in the bench, about a start at
 * N=1 without the handshake), so only one round can keep N=100 within 1.5x N=1; the price is
 * 10 handshakes instead of 5 and about 75 KB of memory per extra connection while they run
 * (max RSS, static, N=100 parameters: 3.5 -> 3.8 MiB). Measured, bench/results.md. */
#define FETCH_SSM_CONNS 10

/* BatchGetSecretValue returns only AWSCURRENT versions. */
static int fetch_is_current(const struct ref *r)
{
    return !r->version_id && (!r->version_stage || !strcmp(r->version_stage, "AWSCURRENT"));
}

static int fetch_same_region(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return !strcmp(a, b);
}

/* Moves an item's outcome into its entry. */
static void fetch_take(struct fetched *f, struct sm_item *it)
{
    f->rc = it->rc;
    f->region_down = it->rc != INJ_OK && it->region_down;
    if (it->rc == INJ_OK) {
        f->secret = it->secret; /* Transfer ownership. */
        memset(&it->secret, 0, sizeof(it->secret));
        log_debug("fetched %s (version %s, %zu bytes)", f->secret.arn, f->secret.version_id,
                  f->secret.value.len);
        sm_fail_free(&it->fail);
        return;
    }
    sm_fail_free(&f->fail);
    f->fail = it->fail; /* Transfer ownership. */
    it->fail = NULL;
    /* Without its error (out of memory), the failure is that. */
    if (!f->fail)
        f->rc = INJ_E_NOMEM;
    f->kind = it->kind;
    sm_secret_free(&it->secret);
}

static void fetch_log_fallback(enum sm_batch_fail why, const char *region, size_t n,
                               const struct sm_fail *fail)
{
    switch (why) {
    case SM_BATCH_DENIED:
        log_info("BatchGetSecretValue in %s was denied; fetching %zu secret(s) with "
                 "GetSecretValue instead (allow secretsmanager:BatchGetSecretValue to save calls)",
                 region, n);
        break;
    case SM_BATCH_THROTTLED:
        log_info("BatchGetSecretValue in %s was throttled; fetching %zu secret(s) with "
                 "GetSecretValue instead, sparing the batch quota",
                 region, n);
        break;
    case SM_BATCH_UNSUPPORTED:
    case SM_BATCH_FAILED:
    default:
        log_info("BatchGetSecretValue in %s was refused (%s); fetching %zu secret(s) with "
                 "GetSecretValue instead",
                 region, sm_fail_msg(fail), n);
        break;
    }
}

/* Connections for one fetch_run: FETCH_CONNS, or one per GetParameters call up to
 * FETCH_SSM_CONNS (aws_run opens no more connections than there are calls). */
static size_t fetch_run_conns(size_t nssm_calls)
{
    if (nssm_calls > FETCH_SSM_CONNS)
        return FETCH_SSM_CONNS;
    return nssm_calls > FETCH_CONNS ? nssm_calls : FETCH_CONNS;
}

/* The calls that need no order among them, in one run of the engine over several
 * connections: GetSecretValue for f[single[0..nsingle)] and GetParameters (10 a call) for the
 * SSM parameters f[ssm[0..nssm)], so a config that reads both services waits for one round
 * trip, not one per service. */
static void fetch_run(const struct sm_ctx *ctx, struct fetched *f, const size_t *single,
                      size_t nsingle, const size_t *ssm, size_t nssm, size_t *api_calls)
{
    struct sm_item *items = calloc(nsingle + nssm, sizeof(*items));
    struct aws_call *calls = NULL;
    struct ssm_plan plan;
    struct aws_ctx a;
    size_t j;

    memset(&plan, 0, sizeof(plan));
    if (!items) {
        for (j = 0; j < nsingle; j++)
            f[single[j]].rc =
                inj_err_set(sm_fail_err(&f[single[j]].fail), INJ_E_NOMEM, "out of memory");
        for (j = 0; j < nssm; j++)
            f[ssm[j]].rc = inj_err_set(sm_fail_err(&f[ssm[j]].fail), INJ_E_NOMEM, "out of memory");
        return;
    }
    sm_aws_ctx(ctx, &a);
    for (j = 0; j < nsingle + nssm; j++) {
        const struct fetched *src = &f[j < nsingle ? single[j] : ssm[j - nsingle]];

        items[j].ref = src->ref;
        items[j].deadline_ms = src->deadline_ms;
    }
    if (ssm_plan_make(ctx, items + nsingle, nssm, &plan) == INJ_OK)
        calls = calloc(nsingle + plan.n ? nsingle + plan.n : 1, sizeof(*calls));
    if (!calls) {
        for (j = 0; j < nsingle + nssm; j++)
            items[j].rc = inj_err_set(sm_fail_err(&items[j].fail), INJ_E_NOMEM, "out of memory");
    } else {
        sm_get_calls(ctx, &a, items, nsingle, calls);
        ssm_plan_calls(&a, &plan, calls + nsingle);
        aws_run(&a, calls, nsingle + plan.n, fetch_run_conns(plan.n));
        sm_get_finish(&a, items, nsingle, calls);
        ssm_plan_finish(&a, &plan, calls + nsingle);
        *api_calls += nsingle + plan.n;
    }
    for (j = 0; j < nsingle + nssm; j++)
        fetch_take(&f[j < nsingle ? single[j] : ssm[j - nsingle]], &items[j]);
    ssm_plan_free(&plan);
    free(calls);
    free(items);
}

/* GetParametersByPath, every page, for the SSM paths f[paths[0..npaths)], and for the Secrets
 * Manager reads among them filtered BatchGetSecretValue, every page (by name prefix), or
 * ListSecrets, every page, then BatchGetSecretValue by ARN of the exact matches (with tags);
 * ssm_get_paths reads them all. The batch call's fallback to GetSecretValue does not apply to
 * these. */
static void fetch_paths(const struct sm_ctx *ctx, struct fetched *f, const size_t *paths,
                        size_t npaths, size_t *api_calls)
{
    struct sm_item *items = calloc(npaths, sizeof(*items));
    size_t j;

    for (j = 0; items && j < npaths; j++) {
        items[j].ref = f[paths[j]].ref;
        items[j].deadline_ms = f[paths[j]].deadline_ms;
    }
    if (items)
        ssm_get_paths(ctx, items, npaths, FETCH_CONNS, api_calls);
    for (j = 0; j < npaths; j++) {
        if (items)
            fetch_take(&f[paths[j]], &items[j]);
        else
            f[paths[j]].rc =
                inj_err_set(sm_fail_err(&f[paths[j]].fail), INJ_E_NOMEM, "out of memory");
    }
    free(items);
}

/* One pass over f[0..n): batches where they save calls, GetSecretValue for the rest, and
 * GetParameters for SSM parameters; each within its own f[i].deadline_ms. */
static void fetch_pass(const struct sm_ctx *ctx, struct fetched *f, size_t n, size_t *api_calls)
{
    enum sm_fetch_mode mode = ctx->fetch_mode == SM_FETCH_UNSET ? SM_FETCH_AUTO : ctx->fetch_mode;
    struct sm_item *items = NULL;
    unsigned char *batched = NULL; /* 1: still to go through the batch call */
    size_t *single = NULL;         /* entries for GetSecretValue */
    size_t *idx = NULL;            /* items[k] is f[idx[k]]'s, while batching */
    size_t nsingle = 0;
    size_t *ssm = NULL; /* SSM parameters */
    size_t nssm = 0;
    size_t *paths = NULL; /* SSM paths (GetParametersByPath) */
    size_t npaths = 0;
    int batching = 1;
    size_t i;
    size_t j;
    size_t k;

    if (!n)
        return;
    items = calloc(n, sizeof(*items));
    batched = calloc(n, sizeof(*batched));
    single = calloc(n, sizeof(*single));
    ssm = calloc(n, sizeof(*ssm));
    idx = calloc(n, sizeof(*idx));
    paths = calloc(n, sizeof(*paths));
    if (!items || !batched || !single || !ssm || !idx || !paths) {
        for (i = 0; i < n; i++)
            f[i].rc = inj_err_set(sm_fail_err(&f[i].fail), INJ_E_NOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < n; i++)
        batched[i] = mode != SM_FETCH_SINGLE && f[i].ref->service == REF_SM && !f[i].ref->path &&
                     fetch_is_current(f[i].ref);
    if (mode == SM_FETCH_AUTO) {
        /* Alone in its region, a secret costs one call either way; GetSecretValue has the
         * larger quota. */
        for (i = 0; i < n; i++) {
            const char *r = sm_region_for(ctx, f[i].ref);
            size_t same = 0;

            for (j = 0; j < n && batched[i]; j++)
                if (batched[j] && fetch_same_region(r, sm_region_for(ctx, f[j].ref)))
                    same++;
            if (same < 2)
                batched[i] = 0;
        }
    }
    for (i = 0; i < n; i++) {
        if (f[i].ref->path) /* an SSM path, or Secrets Manager secrets by prefix or tags */
            paths[npaths++] = i;
        else if (f[i].ref->service == REF_SSM)
            ssm[nssm++] = i;
        else if (!batched[i])
            single[nsingle++] = i;
    }

    for (i = 0; i < n;) {
        struct sm_batch b[FETCH_BATCH_CONNS];
        size_t nb = 0;
        size_t used = 0; /* items[0..used) hold this round's batches */
        size_t left = 0;

        /* This round: up to FETCH_BATCH_CONNS batches, each of one region, in list order. */
        for (; i < n && nb < FETCH_BATCH_CONNS; i++) {
            const char *region;

            if (!batched[i])
                continue;
            region = sm_region_for(ctx, f[i].ref);
            b[nb].items = &items[used];
            b[nb].n = 0;
            for (j = i; j < n && b[nb].n < SM_BATCH_MAX; j++) {
                if (!batched[j] || !fetch_same_region(region, sm_region_for(ctx, f[j].ref)))
                    continue;
                batched[j] = 0;
                idx[used] = j;
                memset(&items[used], 0, sizeof(items[used]));
                items[used].ref = f[j].ref;
                items[used].deadline_ms = f[j].deadline_ms;
                used++;
                b[nb].n++;
            }
            nb++;
        }
        if (!nb)
            break;
        if (!batching) {
            for (j = 0; j < used; j++)
                single[nsingle++] = idx[j];
            continue;
        }
        sm_batch_get_secret_values(ctx, b, nb, FETCH_BATCH_CONNS, mode == SM_FETCH_AUTO);
        *api_calls += nb;
        /* What moves to GetSecretValue if a call of this round was refused: those calls'
         * secrets and every one not sent yet. */
        for (j = i; j < n; j++)
            left += batched[j];
        for (k = 0; k < nb; k++)
            if (b[k].rc != INJ_OK && mode == SM_FETCH_AUTO && b[k].why != SM_BATCH_FAILED)
                left += b[k].n;
        for (k = 0, used = 0; k < nb; used += b[k].n, k++) {
            const size_t *bi = &idx[used];
            size_t m;

            if (b[k].rc != INJ_OK && mode == SM_FETCH_AUTO && b[k].why != SM_BATCH_FAILED) {
                /* Once per pass: the batches not sent yet go the same way without asking. */
                if (batching)
                    fetch_log_fallback(b[k].why,
                                       sm_region_for(ctx, b[k].items[0].ref)
                                           ? sm_region_for(ctx, b[k].items[0].ref)
                                           : "(no region)",
                                       left, b[k].items[0].fail);
                batching = 0;
                for (m = 0; m < b[k].n; m++) {
                    sm_secret_free(&b[k].items[m].secret);
                    sm_fail_free(&b[k].items[m].fail);
                    single[nsingle++] = bi[m];
                }
                continue;
            }
            for (m = 0; m < b[k].n; m++) {
                /* A secret the batch answer could not give (a per-secret throttle or internal
                 * error, or none at all) gets its own GetSecretValue, with its own retries. */
                if (b[k].rc == INJ_OK && mode == SM_FETCH_AUTO &&
                    (b[k].items[m].rc == INJ_E_TEMPFAIL || b[k].items[m].rc == INJ_E_UNAVAILABLE)) {
                    log_info("%s; trying GetSecretValue", sm_fail_msg(b[k].items[m].fail));
                    sm_secret_free(&b[k].items[m].secret);
                    sm_fail_free(&b[k].items[m].fail);
                    single[nsingle++] = bi[m];
                    continue;
                }
                fetch_take(&f[bi[m]], &b[k].items[m]);
            }
        }
    }

    if (nsingle || nssm)
        fetch_run(ctx, f, single, nsingle, ssm, nssm, api_calls);
    if (npaths)
        fetch_paths(ctx, f, paths, npaths, api_calls);
out:
    free(paths);
    free(items);
    free(batched);
    free(single);
    free(ssm);
    free(idx);
}

/* With --timeout, what is left of it is shared evenly by the regions still to try, so that a
 * primary region that hangs leaves time for its replicas. */
static long long fetch_share(const struct sm_ctx *ctx, size_t regions_left)
{
    long long now;
    long long left;

    if (!ctx->deadline_ms || regions_left <= 1)
        return ctx->deadline_ms;
    now = mono_ms();
    left = ctx->deadline_ms - now;
    if (left <= 0)
        return ctx->deadline_ms;
    return now + left / (long long)regions_left;
}

/* Whether f is read from its replica in failover region number round, and which region. */
static const char *fetch_replica_region(const struct sm_ctx *ctx, const struct fetched *f,
                                        size_t round)
{
    const char *primary = sm_region_for(ctx, f->ref);
    const char *region;
    const char *skip;

    /* SSM parameters have no replicas; a read by name prefix or tags is not failed over. */
    if (f->rc == INJ_OK || !f->region_down || round >= f->failover.n ||
        f->ref->service == REF_SSM || f->ref->path)
        return NULL;
    region = f->failover.v[round];
    skip = ref_replica_skip(primary, region);
    if (skip && !strcmp(skip, "partition"))
        log_warn("%s: failover region %s is not in %s's partition; skipped", f->ref->secret_id,
                 region, primary);
    return skip ? NULL : region; /* "own": the region that just failed */
}

/* The replica's failure (its message why) joins the primary's in f->fail; f->rc stays the
 * primary's. */
static void fetch_add_failure(struct fetched *f, const char *region, const char *why)
{
    char msg[sizeof(f->fail->err.msg)];
    struct inj_err *err;
    int n;

    /* Each region's reason, cut short enough that four still fit after the primary's. */
    n = snprintf(msg, sizeof(msg), "%s; replica in %s: %.160s", sm_fail_msg(f->fail), region, why);
    if (n < 0)
        return;
    err = sm_fail_err(&f->fail);
    memcpy(err->msg, msg, sizeof(msg));
    sm_fail_cause(&f->fail)[0] = '\0'; /* the regions' reasons together are this secret's own */
}

/* Round `round` of failover: each secret whose region was down (and every replica tried so
 * far failed) is read from its next failover region, all of them in one pass. */
static void fetch_failover(const struct sm_ctx *ctx, struct fetched *f, size_t n, size_t round,
                           size_t *api_calls)
{
    struct fetched *rf = calloc(n, sizeof(*rf));
    struct ref *refs = calloc(n, sizeof(*refs));
    size_t *idx = calloc(n, sizeof(*idx));
    size_t m = 0;
    size_t i;
    size_t k;

    if (!rf || !refs || !idx) {
        log_error("out of memory; no failover");
        goto out;
    }
    for (i = 0; i < n; i++) {
        const char *region = fetch_replica_region(ctx, &f[i], round);
        struct inj_err err;

        if (!region)
            continue;
        if (ref_replica(f[i].ref, region, &refs[m], &err) != INJ_OK) {
            fetch_add_failure(&f[i], region, err.msg);
            continue;
        }
        log_warn("%s; trying its replica in %s", sm_fail_msg(f[i].fail), region);
        rf[m].ref = &refs[m];
        rf[m].rc = INJ_E_SOFTWARE;
        /* This region and the ones after it in the secret's own list share what is left. */
        rf[m].deadline_ms = fetch_share(ctx, f[i].failover.n - round);
        idx[m++] = i;
    }
    if (!m)
        goto out;
    fetch_pass(ctx, rf, m, api_calls);
    for (k = 0; k < m; k++) {
        struct fetched *o = &f[idx[k]];

        if (rf[k].rc != INJ_OK) {
            fetch_add_failure(o, refs[k].region, sm_fail_msg(rf[k].fail));
            continue;
        }
        log_warn("%s: read from its replica in %s (version %s): %s was down", o->ref->secret_id,
                 refs[k].region, rf[k].secret.version_id,
                 sm_region_for(ctx, o->ref) ? sm_region_for(ctx, o->ref) : "its region");
        o->secret = rf[k].secret; /* Transfer ownership. */
        memset(&rf[k].secret, 0, sizeof(rf[k].secret));
        o->rc = INJ_OK;
        o->region_down = 0;
        sm_fail_free(&o->fail);
    }
out:
    for (k = 0; rf && k < m; k++) {
        sm_secret_free(&rf[k].secret);
        sm_fail_free(&rf[k].fail);
    }
    for (k = 0; refs && k < m; k++)
        ref_free(&refs[k]);
    free(rf);
    free(refs);
    free(idx);
}

/* With --timeout spent, the secrets still down say that their replicas were not tried. */
static int fetch_out_of_time(const struct sm_ctx *ctx, struct fetched *f, size_t n, size_t round)
{
    struct inj_err note;
    size_t i;

    if (!ctx->deadline_ms || mono_ms() < ctx->deadline_ms)
        return 0;
    inj_err_set(&note, INJ_E_TEMPFAIL, "not tried, the --timeout deadline passed");
    for (i = 0; i < n; i++)
        if (fetch_replica_region(ctx, &f[i], round))
            fetch_add_failure(&f[i], f[i].failover.v[round], note.msg);
    return 1;
}

void fetch_all(const struct sm_ctx *ctx, struct fetched *f, size_t n, size_t *api_calls)
{
    size_t rounds = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        if (f[i].failover.n > rounds)
            rounds = f[i].failover.n;
        /* A secret with replicas leaves its replicas their share of --timeout. */
        f[i].deadline_ms = fetch_share(ctx, f[i].failover.n + 1);
    }
    fetch_pass(ctx, f, n, api_calls);
    for (i = 0; i < rounds && !fetch_out_of_time(ctx, f, n, i); i++)
        fetch_failover(ctx, f, n, i, api_calls);
}
