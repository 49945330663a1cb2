/* resolve.c: the fetch plan (one call per distinct secret version) and value extraction. */
#include "resolve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jx.h"
#include "log.h"

void resolve_free(struct resolve_set *s)
{
    size_t i;

    for (i = 0; i < s->nf; i++)
        sm_secret_free(&s->f[i].secret);
    for (i = 0; i < s->nr; i++)
        sbuf_wipe_free(&s->r[i].value);
    free(s->f);
    free(s->r);
    memset(s, 0, sizeof(*s));
}

enum inj_rc resolve_plan(const struct config *cfg, struct resolve_set *out, struct inj_err *err)
{
    size_t i;
    size_t j;

    memset(out, 0, sizeof(*out));
    if (!cfg->n)
        return INJ_OK;
    out->f = calloc(cfg->n, sizeof(*out->f));
    out->r = calloc(cfg->n, sizeof(*out->r));
    if (!out->f || !out->r) {
        resolve_free(out);
        return inj_err_set(err, INJ_E_NOMEM, "out of memory");
    }
    for (i = 0; i < cfg->n; i++) {
        const struct entry *e = &cfg->entries[i];
        for (j = 0; j < out->nf; j++)
            if (ref_same_fetch(out->f[j].ref, &e->ref))
                break;
        if (j == out->nf) {
            out->f[j].ref = &e->ref;
            out->f[j].rc = INJ_E_SOFTWARE;
            out->nf++;
        }
        out->r[i].e = e;
        out->r[i].f = &out->f[j];
        out->r[i].value.max = SM_MAX_SECRET * 2;
        out->nr++;
    }
    return INJ_OK;
}

static const char *resolve_kind(const struct entry *e)
{
    return e->kind == ENTRY_ENV ? "env" : "file";
}

/* Extracts one entry's value from its fetched secret. */
static enum inj_rc resolve_extract(struct resolved *r, struct inj_err *err)
{
    const struct entry *e = r->e;
    const struct sm_secret *s = &r->f->secret;
    const char *what = e->ref.json_key ? e->ref.json_key : e->pointer;
    char keys[256];
    enum jx_rc jr;

    if (!e->ref.json_key && !e->pointer) {
        if (sbuf_append(&r->value, s->value.p ? s->value.p : (const unsigned char *)"",
                        s->value.len) != SBUF_OK)
            return inj_err_set(err, INJ_E_NOMEM, "out of memory");
        return INJ_OK;
    }
    jr = jx_extract(s->value.p, s->value.len, e->ref.json_key, e->pointer, &r->value);
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
    case JX_TOOBIG:
        return inj_err_set(err, INJ_E_DATA, "%s: value too large", e->name);
    case JX_NOMEM:
    default:
        return inj_err_set(err, INJ_E_NOMEM, "out of memory");
    }
}

enum inj_rc resolve_all(const struct config *cfg, const struct sm_ctx *ctx,
                        struct resolve_set *out, struct inj_err *err)
{
    enum inj_rc rc;
    enum inj_rc first = INJ_OK;
    size_t failed = 0;
    size_t i;

    rc = resolve_plan(cfg, out, err);
    if (rc != INJ_OK)
        return rc;
    for (i = 0; i < out->nf; i++) {
        struct fetched *f = &out->f[i];
        f->rc = sm_get_secret_value(ctx, f->ref, &f->secret, &f->err);
        out->api_calls++;
        if (f->rc == INJ_OK)
            log_debug("fetched %s (version %s, %zu bytes)", f->secret.arn, f->secret.version_id,
                      f->secret.value.len);
    }
    for (i = 0; i < out->nr; i++) {
        struct resolved *r = &out->r[i];
        struct inj_err e1;

        memset(&e1, 0, sizeof(e1));
        if (r->f->rc != INJ_OK) {
            rc = r->f->rc;
            inj_err_set(&e1, rc, "%s", r->f->err.msg);
            inj_err_prefix(&e1, "%s %s", resolve_kind(r->e), r->e->name);
        } else {
            rc = resolve_extract(r, &e1);
            if (rc != INJ_OK)
                inj_err_prefix(&e1, "%s", resolve_kind(r->e));
        }
        if (rc == INJ_OK)
            continue;
        sbuf_wipe_free(&r->value);
        if (rc == INJ_E_MISSING && r->e->optional) {
            log_warn("%s (optional: skipped)", e1.msg);
            r->skipped = 1;
            continue;
        }
        log_error("%s", e1.msg);
        if (!failed)
            first = rc;
        failed++;
    }
    if (failed)
        return inj_err_set(err, first, "%zu of %zu entr%s failed; nothing was written and the "
                                       "command was not started",
                           failed, out->nr, out->nr == 1 ? "y" : "ies");
    return INJ_OK;
}
