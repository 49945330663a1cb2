/* resolve.c: the fetch plan (one call per distinct secret version) and value extraction. */
#include "resolve.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fetch.h"
#include "jx.h"
#include "log.h"
#include "tmpl.h"

void resolve_free(struct resolve_set *s)
{
    size_t i;

    for (i = 0; i < s->nf; i++) {
        sm_secret_free(&s->f[i].secret);
        sm_fail_free(&s->f[i].fail);
    }
    for (i = 0; s->r && i < s->nr; i++) {
        sbuf_wipe_free(&s->r[i].value);
        expand_vars_free(s->r[i].vars, s->r[i].nvars);
        free(s->r[i].src);
    }
    free(s->f);
    free(s->r);
    memset(s, 0, sizeof(*s));
}

/* The planned fetches by ref_fetch_key: open addressing, at most half full, so a config of
 * 10,000 entries plans in linear time. Only for resolve_plan; holds ids, never values. */
struct resolve_index {
    size_t *slot; /* 1 + index into out->f; 0: empty */
    char **key;   /* per planned fetch, its ref_fetch_key */
    size_t cap;   /* a power of two */
};

static uint64_t resolve_hash(const char *s)
{
    uint64_t h = 14695981039346656037ull; /* FNV-1a */

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

static int resolve_index_init(struct resolve_index *ix, size_t nrefs)
{
    ix->cap = 16;
    while (ix->cap < nrefs * 2)
        ix->cap *= 2;
    ix->slot = calloc(ix->cap, sizeof(*ix->slot));
    ix->key = calloc(nrefs ? nrefs : 1, sizeof(*ix->key));
    return ix->slot && ix->key ? 0 : -1;
}

static void resolve_index_free(struct resolve_index *ix, size_t nf)
{
    size_t i;

    for (i = 0; ix->key && i < nf; i++)
        free(ix->key[i]);
    free(ix->key);
    free(ix->slot);
    memset(ix, 0, sizeof(*ix));
}

/* The planned fetch for ref, added when it is new (out->f has room for every ref). Entries
 * that share it pool their failover regions, up to REF_MAX_FAILOVER, first listed first; an
 * entry's explicit `failover_regions: []` turns failover off for the secret. NULL: out of
 * memory. */
static struct fetched *resolve_fetch_for(struct resolve_set *out, struct resolve_index *ix,
                                         const struct ref *ref, const struct config *cfg,
                                         const struct entry *e)
{
    const struct ref_regions *failover = config_failover(cfg, e);
    struct fetched *f = NULL;
    char *key = ref_fetch_key(ref);
    size_t j;

    if (!key)
        return NULL;
    /* The same fetch under another role (roles.c) is a fetch of its own. */
    for (j = (size_t)resolve_hash(key) & (ix->cap - 1); ix->slot[j]; j = (j + 1) & (ix->cap - 1))
        if (!strcmp(ix->key[ix->slot[j] - 1], key) && out->f[ix->slot[j] - 1].role == e->role) {
            f = &out->f[ix->slot[j] - 1];
            break;
        }
    if (!f) {
        ix->key[out->nf] = key;
        key = NULL;
        ix->slot[j] = out->nf + 1;
        f = &out->f[out->nf++];
        f->ref = ref;
        f->role = e->role;
        f->rc = INJ_E_SOFTWARE;
    }
    free(key);
    if (e->has_failover && !e->failover.n) {
        f->failover_off = 1;
        f->failover.n = 0;
    }
    /* A parameter has no replica, and a read by name prefix or tags is never failed over:
     * failover regions would only shrink its share of the deadline (fetch.c gives each region
     * to try an even share). */
    for (j = 0; !f->failover_off && ref->service != REF_SSM && !ref->path && j < failover->n; j++)
        (void)ref_regions_add(&f->failover, failover->v[j]); /* a full list keeps the first 4 */
    return f;
}

enum inj_rc resolve_plan(const struct config *cfg, struct resolve_set *out, struct inj_err *err)
{
    struct resolve_index ix;
    enum inj_rc rc = INJ_E_NOMEM;
    size_t i;
    size_t k;
    size_t nrefs = 0;

    memset(out, 0, sizeof(*out));
    memset(&ix, 0, sizeof(ix));
    if (!cfg->n)
        return INJ_OK;
    for (i = 0; i < cfg->n; i++)
        nrefs += 1 + (cfg->entries[i].tmpl ? tmpl_nsources(cfg->entries[i].tmpl) : 0);
    out->f = calloc(nrefs, sizeof(*out->f));
    out->r = calloc(cfg->n, sizeof(*out->r));
    if (!out->f || !out->r || resolve_index_init(&ix, nrefs) != 0)
        goto out;
    for (i = 0; i < cfg->n; i++) {
        const struct entry *e = &cfg->entries[i];
        struct resolved *r = &out->r[i];

        r->e = e;
        r->f = resolve_fetch_for(out, &ix, &e->ref, cfg, e);
        r->value.max = SM_MAX_SECRET * 2;
        out->nr++;
        if (!r->f)
            goto out;
        if (e->tmpl && tmpl_nsources(e->tmpl)) {
            r->src = calloc(tmpl_nsources(e->tmpl), sizeof(*r->src));
            if (!r->src)
                goto out;
            for (k = 0; k < tmpl_nsources(e->tmpl); k++) {
                r->src[k] = resolve_fetch_for(out, &ix, tmpl_source(e->tmpl, k), cfg, e);
                if (!r->src[k])
                    goto out;
            }
        }
    }
    rc = INJ_OK;
out:
    resolve_index_free(&ix, out->nf);
    if (rc != INJ_OK) {
        resolve_free(out);
        return inj_err_set(err, rc, "out of memory");
    }
    return INJ_OK;
}

static const char *resolve_kind(const struct entry *e)
{
    return e->kind == ENTRY_ENV ? "env" : "file";
}

/* Extraction messages start with the entry name; this makes them read "env NAME: ..." like
 * the fetch failures ("env NAME: <secret>: ..."), so every entry error has one shape. */
static void resolve_prefix_kind(const struct entry *e, struct inj_err *err)
{
    char old[sizeof(err->msg)];

    memcpy(old, err->msg, sizeof(old));
    old[sizeof(old) - 1] = '\0';
    if (snprintf(err->msg, sizeof(err->msg), "%s %s", resolve_kind(e), old) < 0)
        err->msg[0] = '\0';
}

static void resolve_input(const struct fetched *f, struct tmpl_input *in)
{
    in->p = f->secret.value.p;
    in->len = f->secret.value.len;
    in->arn = f->secret.arn;
    in->version_id = f->secret.version_id;
}

/* Renders a template entry's value from its own secret and the ones it names. */
static enum inj_rc resolve_render(struct resolved *r, struct inj_err *err)
{
    const struct entry *e = r->e;
    size_t n = tmpl_nsources(e->tmpl);
    struct tmpl_input dot;
    struct tmpl_input *src = NULL;
    enum inj_rc rc;
    size_t k;

    if (n) {
        src = calloc(n, sizeof(*src));
        if (!src)
            return inj_err_set(err, INJ_E_NOMEM, "out of memory");
    }
    resolve_input(r->f, &dot);
    for (k = 0; r->src && k < n; k++)
        resolve_input(r->src[k], &src[k]);
    rc = tmpl_render(e->tmpl, &dot, src, &r->value, err);
    if (rc != INJ_OK)
        inj_err_prefix(err, "%s", e->name);
    free(src); /* pointers only */
    return rc;
}

/* encoding: base64, applied to a finished value (name for messages). */
static enum inj_rc resolve_encode_one(const char *name, struct sbuf *value, struct inj_err *err)
{
    struct sbuf enc = SBUF_INIT(SM_MAX_SECRET * 3);
    enum inj_rc rc;

    rc = tmpl_base64(value->p ? value->p : (const unsigned char *)"", value->len, &enc);
    if (rc != INJ_OK) {
        sbuf_wipe_free(&enc);
        if (rc == INJ_E_DATA)
            return inj_err_set(err, rc, "%s: value too large to base64-encode", name);
        return inj_err_set(err, INJ_E_NOMEM, "out of memory");
    }
    sbuf_wipe_free(value);
    *value = enc;
    return INJ_OK;
}

static enum inj_rc resolve_encode(struct resolved *r, struct inj_err *err)
{
    enum inj_rc rc = INJ_OK;
    size_t i;

    if (!r->e->encoding_base64)
        return INJ_OK;
    if (!r->e->expand)
        return resolve_encode_one(r->e->name, &r->value, err);
    for (i = 0; rc == INJ_OK && i < r->nvars; i++)
        rc = resolve_encode_one(r->vars[i].name, &r->vars[i].value, err);
    return rc;
}

/* expand: true: the variables of the entry, from its secret's top-level keys. */
static enum inj_rc resolve_expand(struct resolved *r, struct inj_err *err)
{
    const struct sm_secret *s = &r->f->secret;
    enum inj_rc rc;

    rc = expand_json(r->e, s->arn, s->value.p, s->value.len, &r->vars, &r->nvars, err);
    if (rc != INJ_OK)
        inj_err_prefix(err, "%s", r->e->name);
    return rc;
}

/* The value before encoding: a template, a key or pointer, or the whole secret. */
static enum inj_rc resolve_extract_raw(struct resolved *r, struct inj_err *err)
{
    const struct entry *e = r->e;
    const struct sm_secret *s = &r->f->secret;
    const char *what = e->ref.json_key ? e->ref.json_key : e->pointer;
    char keys[256];
    struct jx_dup dup;
    enum jx_rc jr;

    if (e->tmpl)
        return resolve_render(r, err);
    if (e->expand)
        return resolve_expand(r, err);
    if (!e->ref.json_key && !e->pointer) {
        if (sbuf_append(&r->value, s->value.p ? s->value.p : (const unsigned char *)"",
                        s->value.len) != SBUF_OK)
            return inj_err_set(err, INJ_E_NOMEM, "out of memory");
        return INJ_OK;
    }
    memset(&dup, 0, sizeof(dup));
    jr = jx_extract(s->value.p, s->value.len, e->ref.json_key, e->pointer, &r->value, &dup);
    switch (jr) {
    case JX_OK:
        return INJ_OK;
    case JX_NOT_JSON:
        return inj_err_set(err, INJ_E_DATA,
                           "%s: secret %s is not JSON, but %s \"%s\" was asked; drop the key to "
                           "use the whole secret",
                           e->name, s->arn, e->ref.json_key ? "key" : "pointer", what);
    case JX_NOT_OBJECT:
        return inj_err_set(err, INJ_E_DATA,
                           "%s: secret %s is JSON but not an object, so it has no key \"%s\"",
                           e->name, s->arn, what);
    case JX_MISSING:
        jx_list_keys(s->value.p, s->value.len, keys, sizeof(keys));
        return inj_err_set(err, INJ_E_MISSING,
                           "%s: %s \"%s\" not found in secret %s (version %s); its keys are: %s",
                           e->name, e->ref.json_key ? "key" : "pointer", what, s->arn,
                           s->version_id, keys[0] ? keys : "(none)");
    case JX_NUL:
        return inj_err_set(err, INJ_E_DATA,
                           "%s: secret %s holds a NUL character (\\u0000), which cannot be passed "
                           "on",
                           e->name, s->arn);
    case JX_INEXACT:
        return inj_err_set(err, INJ_E_DATA,
                           "%s: %s \"%s\" in secret %s holds a number too large to pass on "
                           "exactly (beyond 2^53, or out of range); store it in the secret as a "
                           "JSON string (\"12345678901234567890\")",
                           e->name, e->ref.json_key ? "key" : "pointer", what, s->arn);
    case JX_DUPLICATE:
        return inj_err_set(err, INJ_E_DATA,
                           "%s: secret %s has the key \"%s\" twice in %s%s; a secret with "
                           "duplicate keys is ambiguous (Python, Go and JS take the last, others "
                           "the first): keep one",
                           e->name, s->arn, dup.key, dup.at[0] ? "the object at " : "its top level",
                           dup.at);
    case JX_TOOBIG:
        return inj_err_set(err, INJ_E_DATA, "%s: value too large", e->name);
    case JX_NOMEM:
    default:
        return inj_err_set(err, INJ_E_NOMEM, "out of memory");
    }
}

/* Extracts one entry's value from its fetched secret. */
enum inj_rc resolve_extract(struct resolved *r, struct inj_err *err)
{
    enum inj_rc rc = resolve_extract_raw(r, err);

    if (rc == INJ_OK)
        rc = resolve_encode(r, err);
    return rc;
}

/* One failing entry, before it is reported. */
struct resolve_fail {
    enum inj_rc rc;
    const struct resolved *r;
    const struct fetched *f; /* the failed fetch when its cause may be shared, else NULL */
    struct inj_err e;        /* the entry's own line */
    int done;
};

/* Entries listed in one cause's line; the rest are counted. */
#define RESOLVE_LIST_MAX 10

static int resolve_same_cause(const struct resolve_fail *a, const struct resolve_fail *b)
{
    return a->f && b->f && a->rc == b->rc && a->f->kind == b->f->kind &&
           !strcmp(sm_fail_why(a->f->fail), sm_fail_why(b->f->fail));
}

/* Reports fails[0..n): entries that failed for the same cause (same kind and cause apart
 * from the secret's name) in one line that lists them, the others one line each. */
static void resolve_report(struct resolve_fail *fails, size_t n)
{
    char line[2048];
    const char **names = calloc(n ? n : 1, sizeof(*names));
    const char **ids = calloc(n ? n : 1, sizeof(*ids));
    struct log_fields lf;
    size_t i;
    size_t j;

    for (i = 0; i < n; i++) {
        size_t same = 1;
        size_t listed = 0;
        size_t off;
        const char *sel;
        int w;

        if (fails[i].done)
            continue;
        for (j = i + 1; j < n; j++)
            same += !fails[j].done && resolve_same_cause(&fails[i], &fails[j]);
        if (same == 1) {
            log_err(LOG_LVL_ERROR, &fails[i].e);
            continue;
        }
        memset(&lf, 0, sizeof(lf));
        w = snprintf(line, sizeof(line), "%zu entries failed: %s: ", same,
                     sm_fail_why(fails[i].f->fail));
        off = w < 0 ? 0 : (size_t)w < sizeof(line) ? (size_t)w : sizeof(line) - 1;
        for (j = i; j < n; j++) {
            if (fails[j].done || (j != i && !resolve_same_cause(&fails[i], &fails[j])))
                continue;
            fails[j].done = 1;
            /* Every entry's own line, with what AWS said about its secret, for -v. */
            log_err(LOG_LVL_DEBUG, &fails[j].e);
            /* JSON logs list every entry, not only the first RESOLVE_LIST_MAX. */
            if (names && ids) {
                names[lf.nentries] = fails[j].r->e->name;
                ids[lf.nentries++] = fails[j].f->ref->secret_id;
            }
            if (listed == RESOLVE_LIST_MAX || off >= sizeof(line) - 1)
                continue;
            /* An SSM parameter's selector is part of what was not found. */
            sel = fails[j].f->ref->selector;
            /* A read by tags alone has no name: the entry alone. */
            if (!fails[j].f->ref->secret_id[0])
                w = snprintf(line + off, sizeof(line) - off, "%s%s %.100s", listed ? ", " : "",
                             resolve_kind(fails[j].r->e), fails[j].r->e->name);
            else
                w = snprintf(line + off, sizeof(line) - off, "%s%s %.100s (%.200s%s%.100s)",
                             listed ? ", " : "", resolve_kind(fails[j].r->e), fails[j].r->e->name,
                             fails[j].f->ref->secret_id, sel ? ":" : "", sel ? sel : "");
            off = w < 0 ? off : off + (size_t)w < sizeof(line) ? off + (size_t)w : sizeof(line) - 1;
            listed++;
        }
        if (listed < same && off < sizeof(line) - 1)
            (void)snprintf(line + off, sizeof(line) - off, " and %zu more", same - listed);
        lf.code = fails[i].rc;
        lf.action = sm_fail_action(fails[i].f->fail);
        lf.entries = names;
        lf.secrets = ids;
        lf.nsecrets = lf.nentries;
        log_at(LOG_LVL_ERROR, &lf, "%s", line);
    }
    free(names);
    free(ids);
}

/* One env variable the set would set: its name and what sets it. */
struct resolve_name {
    const char *name;
    const struct resolved *r;
    const char *key; /* the expanded key, NULL for a plain entry */
};

static int resolve_name_cmp(const void *a, const void *b)
{
    const struct resolve_name *x = a;
    const struct resolve_name *y = b;
    int c = strcmp(x->name, y->name);

    if (c)
        return c;
    return x->r < y->r ? -1 : x->r > y->r; /* stable: config order */
}

static void resolve_name_source(const struct resolve_name *n, char *out, size_t size)
{
    int w;

    if (n->key)
        w = snprintf(out, size, "key \"%.64s\" of env %.100s (expand)", n->key, n->r->e->name);
    else
        w = snprintf(out, size, "env %.100s", n->r->e->name);
    if (w < 0)
        out[0] = '\0';
}

enum inj_rc resolve_check_names(const struct resolve_set *s, struct inj_err *err)
{
    struct resolve_name *v = NULL;
    size_t n = 0;
    size_t cap = 0;
    size_t i;
    size_t k;
    size_t bad = 0;
    char list[400] = "";
    size_t off = 0;

    for (i = 0; i < s->nr; i++) {
        const struct resolved *r = &s->r[i];

        if (r->e->kind == ENTRY_ENV && !r->skipped)
            cap += r->e->expand ? r->nvars : 1;
    }
    if (!cap)
        return INJ_OK;
    v = calloc(cap, sizeof(*v));
    if (!v)
        return inj_err_set(err, INJ_E_NOMEM, "out of memory");
    for (i = 0; i < s->nr; i++) {
        const struct resolved *r = &s->r[i];

        if (r->e->kind != ENTRY_ENV || r->skipped)
            continue;
        if (!r->e->expand) {
            v[n++] = (struct resolve_name){r->e->name, r, NULL};
            continue;
        }
        for (k = 0; k < r->nvars; k++)
            v[n++] = (struct resolve_name){r->vars[k].name, r, r->vars[k].key};
    }
    qsort(v, n, sizeof(*v), resolve_name_cmp);
    for (i = 0; i + 1 < n; i = k) {
        char a[200];
        char b[200];
        int w;

        for (k = i + 1; k < n && !strcmp(v[i].name, v[k].name); k++)
            ;
        if (k == i + 1)
            continue;
        bad++;
        resolve_name_source(&v[i], a, sizeof(a));
        resolve_name_source(&v[i + 1], b, sizeof(b));
        if (off + 4 >= sizeof(list))
            continue;
        w = snprintf(list + off, sizeof(list) - off, "%s%.80s (%s and %s%s)", off ? "; " : "",
                     v[i].name, a, b, k - i > 2 ? " and more" : "");
        off = w < 0 ? off : off + (size_t)w < sizeof(list) ? off + (size_t)w : sizeof(list) - 1;
    }
    free(v);
    if (!bad)
        return INJ_OK;
    return inj_err_set(err, INJ_E_CONFIG,
                       "%zu variable name%s set twice: %s; nothing was written and the command "
                       "was not started: drop one, or give the expansion a prefix or except",
                       bad, bad == 1 ? "" : "s", list);
}

enum inj_rc resolve_all(const struct config *cfg, const struct sm_ctx *ctx, struct resolve_set *out,
                        struct inj_err *err)
{
    return resolve_all_with(cfg, ctx, NULL, NULL, out, err);
}

enum inj_rc resolve_all_with(const struct config *cfg, const struct sm_ctx *ctx,
                             resolve_fetch_fn fetch, void *fetch_arg, struct resolve_set *out,
                             struct inj_err *err)
{
    struct resolve_fail *fails = NULL;
    enum inj_rc rc;
    size_t failed = 0;
    size_t i;

    rc = resolve_plan(cfg, out, err);
    if (rc != INJ_OK)
        return rc;
    /* Batched, concurrent or one by one: fetch.c decides (config `fetch:`, --fetch). */
    if (fetch)
        fetch(fetch_arg, ctx, out->f, out->nf, &out->api_calls);
    else
        fetch_all(ctx, out->f, out->nf, &out->api_calls);
    fails = calloc(out->nr ? out->nr : 1, sizeof(*fails));
    if (!fails)
        return inj_err_set(err, INJ_E_NOMEM, "out of memory");
    for (i = 0; i < out->nr; i++) {
        struct resolved *r = &out->r[i];
        struct resolve_fail *fl = &fails[failed];
        const struct fetched *failed_fetch;
        size_t k;

        memset(fl, 0, sizeof(*fl));
        failed_fetch = r->f->rc != INJ_OK ? r->f : NULL;
        for (k = 0; !failed_fetch && r->src && k < tmpl_nsources(r->e->tmpl); k++)
            if (r->src[k]->rc != INJ_OK)
                failed_fetch = r->src[k];
        if (failed_fetch) {
            rc = failed_fetch->rc;
            inj_err_set(&fl->e, rc, "%s", sm_fail_msg(failed_fetch->fail));
            inj_err_prefix(&fl->e, "%s %s", resolve_kind(r->e), r->e->name);
            /* A read by tags alone has no name ("" prefix): no "secret" field. */
            fl->e.secret = failed_fetch->ref->secret_id[0] ? failed_fetch->ref->secret_id : NULL;
            fl->e.action = sm_fail_action(failed_fetch->fail);
            if (sm_fail_why(failed_fetch->fail)[0])
                fl->f = failed_fetch;
        } else {
            rc = resolve_extract(r, &fl->e);
            if (rc != INJ_OK) {
                resolve_prefix_kind(r->e, &fl->e);
                fl->e.secret = r->f->secret.arn;
            }
        }
        fl->e.entry = r->e->name;
        if (rc == INJ_OK)
            continue;
        sbuf_wipe_free(&r->value);
        if (rc == INJ_E_MISSING && r->e->optional) {
            struct log_fields lw;

            memset(&lw, 0, sizeof(lw));
            lw.code = rc;
            lw.entry = fl->e.entry;
            lw.secret = fl->e.secret;
            log_at(LOG_LVL_WARN, &lw, "%s (optional: skipped)", fl->e.msg);
            r->skipped = 1;
            continue;
        }
        fl->rc = rc;
        fl->r = r;
        failed++;
    }
    resolve_report(fails, failed);
    if (failed)
        rc = inj_err_set(err, fails[0].rc,
                         "%zu of %zu entr%s failed; nothing was written and the command was not "
                         "started",
                         failed, out->nr, out->nr == 1 ? "y" : "ies");
    else /* every value is known: each variable has one source (expansions included) */
        rc = resolve_check_names(out, err);
    free(fails);
    return rc;
}
