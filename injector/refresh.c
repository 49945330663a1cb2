/* refresh.c: re-checking secrets for --supervise: version checks, re-fetching what moved,
 * rewriting files and env entries whose value changed. A cycle either applies completely or
 * leaves the values in force; it never stops the command. */
#include "refresh.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "mono.h"
#include "ssm.h"
#include "tmpl.h"

/* Signals wait while a cycle runs (supervise.h), so a cycle is kept short: one attempt per
 * call (the supervisor retries with its own backoff) and a budget for all calls. */
#define REFRESH_ATTEMPT_MS 5000L
#define REFRESH_BUDGET_MS 10000LL
/* Connections for a cycle's GetParameters calls (run at once, as fetch.c's). */
#define REFRESH_CONNS 4
/* Credentials are re-obtained this long before they expire. */
#define REFRESH_CREDS_MARGIN_S 300

const char *refresh_stage_version(const struct sm_meta *m, const char *stage)
{
    size_t slen = strlen(stage);
    size_t i;

    for (i = 0; i < m->n; i++) {
        const char *p = m->v[i].stages;

        while (*p) {
            size_t len = strcspn(p, ",");
            if (len == slen && !strncmp(p, stage, len))
                return m->v[i].version_id;
            p += len;
            if (*p == ',')
                p++;
        }
    }
    return NULL;
}

int refresh_needs_fetch(const struct sm_meta *m, const char *stage, const char *have_vid)
{
    const char *vid = refresh_stage_version(m, stage);

    return !vid || !have_vid || strcmp(vid, have_vid) != 0;
}

int refresh_value_differs(const struct resolved *a, const struct resolved *b)
{
    if (a->skipped != b->skipped)
        return 1;
    if (a->skipped)
        return 0;
    if (a->e && a->e->expand) {
        size_t i;

        if (a->nvars != b->nvars)
            return 1;
        for (i = 0; i < a->nvars; i++)
            if (strcmp(a->vars[i].name, b->vars[i].name) != 0 ||
                a->vars[i].value.len != b->vars[i].value.len ||
                (a->vars[i].value.len &&
                 memcmp(a->vars[i].value.p, b->vars[i].value.p, a->vars[i].value.len) != 0))
                return 1;
        return 0;
    }
    return a->value.len != b->value.len ||
           (a->value.len && memcmp(a->value.p, b->value.p, a->value.len) != 0);
}

static const char *refresh_kind(const struct entry *e)
{
    return e->kind == ENTRY_ENV ? "env" : "file";
}

enum inj_rc refresh_init(struct refresh *r, struct inj_err *err)
{
    r->nf = r->set->nf;
    r->no_describe = calloc(r->nf ? r->nf : 1, 1);
    if (!r->no_describe)
        return inj_err_set(err, INJ_E_NOMEM, "out of memory");
    r->sm.creds = r->creds;
    r->sm.max_attempts = 1;
    /* A throttled check is not retried within the cycle: the next cycle is its retry, and the
     * values in force stay meanwhile. */
    if (r->sm.retry)
        r->retry = *r->sm.retry;
    r->retry.max_attempts = 1;
    r->retry.throttle_bounded = 1;
    r->sm.retry = &r->retry;
    r->sm.timeout_ms = REFRESH_ATTEMPT_MS;
    r->sm.deadline_ms = 0;
    return INJ_OK;
}

void refresh_free(struct refresh *r)
{
    free(r->no_describe);
    r->no_describe = NULL;
    r->nf = 0;
}

/* Before the first call of a cycle: fresh credentials when the current ones are about to
 * expire or were just refused. */
static enum inj_rc refresh_creds(struct refresh *r, struct inj_err *err)
{
    struct creds fresh;
    enum inj_rc rc;
    time_t now = time(NULL);

    if (r->roles)
        r->roles->cctx.deadline_ms = r->cctx.deadline_ms;
    if (!r->creds_stale &&
        !(r->creds->expiration && r->creds->expiration - now < REFRESH_CREDS_MARGIN_S)) {
        /* Roles whose assumed credentials near their end (or were never had). */
        roles_assume(r->roles, r->set->f, r->set->nf, REFRESH_CREDS_MARGIN_S, 0);
        return INJ_OK;
    }
    memset(&fresh, 0, sizeof(fresh));
    rc = creds_resolve(&r->cctx, &fresh, err);
    if (rc != INJ_OK) {
        inj_err_prefix(err, "re-obtaining credentials");
        return rc;
    }
    creds_free(r->creds);
    *r->creds = fresh; /* ownership moves to *r->creds */
    memset(&fresh, 0, sizeof(fresh));
    r->creds_stale = 0;
    log_info("credentials re-obtained from %s", r->creds->source);
    /* New base credentials (perhaps after a refusal): every role is assumed again with them. */
    roles_assume(r->roles, r->set->f, r->set->nf, REFRESH_CREDS_MARGIN_S, 1);
    return INJ_OK;
}

/* The fetches whose check reads the parameter again: SSM, neither a version id nor a version
 * number (a label or the latest can move). */
static int refresh_ssm_moves(const struct ref *ref)
{
    if (ref->service != REF_SSM || ref->version_id || ref->path)
        return 0; /* a path is read on its own (refresh_check: GetParametersByPath) */
    return !(ref->selector && ref->selector[0] >= '0' && ref->selector[0] <= '9');
}

/* The credentials fetch f is checked with: the base ones, or its role's (NULL when that
 * role could not be assumed: refresh_check says why). */
static const struct creds *refresh_creds_for(const struct refresh *r, const struct fetched *f)
{
    return r->roles ? roles_creds_for(r->roles, f) : r->creds;
}

/* Every SSM parameter a cycle reads again, before the checks: one ssm_get_parameters per
 * set of credentials (10 a call, the calls at once) instead of one call per parameter in
 * turn. items[0..nf) is indexed like the fetches; an item not read keeps ref NULL. */
static void refresh_ssm_prefetch(struct refresh *r, struct sm_item *items)
{
    const struct fetched *f = r->set->f;
    struct sm_item *group = NULL;
    size_t *idx = NULL;
    unsigned char *done = NULL;
    size_t nf = r->set->nf;
    size_t i;
    size_t j;
    size_t k;

    group = calloc(nf ? nf : 1, sizeof(*group));
    idx = calloc(nf ? nf : 1, sizeof(*idx));
    done = calloc(nf ? nf : 1, 1);
    if (!group || !idx || !done)
        goto out; /* each check then says so (refresh_check) */
    for (i = 0; i < nf; i++) {
        const struct creds *c = refresh_creds_for(r, &f[i]);
        struct sm_ctx sm = r->sm;
        size_t n = 0;

        if (done[i] || !refresh_ssm_moves(f[i].ref) || !c)
            continue;
        for (j = i; j < nf; j++)
            if (!done[j] && refresh_ssm_moves(f[j].ref) && refresh_creds_for(r, &f[j]) == c) {
                done[j] = 1;
                memset(&group[n], 0, sizeof(group[n]));
                group[n].ref = f[j].ref;
                idx[n++] = j;
            }
        sm.creds = c;
        ssm_get_parameters(&sm, group, n, REFRESH_CONNS, NULL);
        for (k = 0; k < n; k++)
            items[idx[k]] = group[k]; /* ownership moves to items */
    }
out:
    free(group);
    free(idx);
    free(done);
}

/* Whether fetch i moved: DescribeSecret first, GetSecretValue when needed (or when
 * DescribeSecret is denied); a parameter's answer is read already (ssm, from
 * refresh_ssm_prefetch; taken over). On a new version *out holds it and *got is 1. */
static enum inj_rc refresh_check(struct refresh *r, size_t i, struct sm_item *ssm,
                                 struct sm_secret *out, int *got, struct inj_err *err)
{
    const struct fetched *f = &r->set->f[i];
    const struct ref *ref = f->ref;
    const char *stage = ref->version_stage ? ref->version_stage : "AWSCURRENT";
    const char *have = f->rc == INJ_OK ? f->secret.version_id : NULL;
    struct sm_ctx sm = r->sm;
    enum inj_rc rc;

    *got = 0;
    if (ref->version_id)
        return INJ_OK; /* a version is immutable */
    if (r->roles) {
        /* An entry's role: its own assumed credentials (roles.h). */
        const struct inj_err *why = roles_error(r->roles, f);

        sm.creds = roles_creds_for(r->roles, f);
        if (!sm.creds)
            return inj_err_set(err, why && why->code ? why->code : INJ_E_NOPERM, "%s: %s",
                               ref->secret_id, why ? why->msg : "no credentials for its role");
    }
    if (ref->service == REF_SSM || ref->path) {
        /* A parameter's version number, too; a label or the latest can move. SSM has no
         * cheaper metadata call that GetParameters' permission covers: it was read again. A
         * path (or Secrets Manager secrets by name prefix or tags) is read again whole. */
        if (ref->path)
            stage = "path";
        else if (!refresh_ssm_moves(ref))
            return INJ_OK;
        else
            stage = ref->selector ? ref->selector : "latest";
    } else if (!r->no_describe[i]) {
        struct sm_meta m;
        int need;

        rc = sm_describe_secret(&sm, ref, &m, err);
        if (rc == INJ_OK) {
            need = refresh_needs_fetch(&m, stage, have);
            sm_meta_free(&m);
            if (!need)
                return INJ_OK;
        } else if (m.denied) {
            r->no_describe[i] = 1;
            log_info("%s: DescribeSecret is not allowed; checking for new versions with "
                     "GetSecretValue from now on (secretsmanager:DescribeSecret is cheaper)",
                     ref->secret_id);
        } else if (rc == INJ_E_MISSING && !have) {
            return INJ_OK; /* an optional secret that still does not exist */
        } else {
            return rc;
        }
    }
    if (ref->path) {
        struct sm_item it;

        /* Every page again: parameters come and go. */
        memset(&it, 0, sizeof(it));
        it.ref = ref;
        ssm_get_paths(&sm, &it, 1, 1, NULL);
        *out = it.secret; /* ownership moves (empty on failure) */
        rc = it.rc;
        if (rc != INJ_OK && it.fail)
            *err = it.fail->err;
        else if (rc != INJ_OK)
            rc = inj_err_set(err, INJ_E_NOMEM, "out of memory");
        sm_fail_free(&it.fail);
    } else if (ref->service == REF_SSM) {
        if (!ssm->ref)
            return inj_err_set(err, INJ_E_NOMEM, "out of memory");
        *out = ssm->secret; /* ownership moves (empty on failure) */
        memset(&ssm->secret, 0, sizeof(ssm->secret));
        rc = ssm->rc;
        if (rc != INJ_OK && ssm->fail)
            *err = ssm->fail->err;
        else if (rc != INJ_OK)
            rc = inj_err_set(err, INJ_E_NOMEM, "out of memory");
    } else {
        rc = sm_get_secret_value(&sm, ref, out, err);
    }
    if (rc == INJ_E_MISSING && !have)
        return INJ_OK;
    if (rc != INJ_OK)
        return rc;
    if (have && !strcmp(out->version_id, have) && out->value.len == f->secret.value.len &&
        (!out->value.len || !memcmp(out->value.p, f->secret.value.p, out->value.len))) {
        sm_secret_free(out);
        return INJ_OK;
    }
    *got = 1;
    log_info("%s: new version %s (%s)", out->arn, out->version_id, stage);
    return INJ_OK;
}

/* The first fetch an entry depends on that failed, or NULL. */
static const struct fetched *refresh_failed_fetch(const struct resolved *r)
{
    size_t k;

    if (r->f && r->f->rc != INJ_OK)
        return r->f;
    for (k = 0; r->src && r->e->tmpl && k < tmpl_nsources(r->e->tmpl); k++)
        if (r->src[k]->rc != INJ_OK)
            return r->src[k];
    return NULL;
}

/* Extracts entry j of the new set; an optional entry whose key vanished keeps its old value,
 * one skipped at start (its secret or key missing) stays skipped. */
static enum inj_rc refresh_extract(const struct resolved *old, struct resolved *nr,
                                   struct inj_err *err)
{
    const struct fetched *bad = refresh_failed_fetch(nr);
    struct inj_err e1;
    struct log_fields lf;
    enum inj_rc rc;

    memset(&e1, 0, sizeof(e1));
    memset(&lf, 0, sizeof(lf));
    if (bad)
        rc = inj_err_set(&e1, bad->rc, "%s", sm_fail_msg(bad->fail));
    else
        rc = resolve_extract(nr, &e1);
    if (rc == INJ_OK)
        return INJ_OK;
    sbuf_wipe_free(&nr->value);
    if (rc == INJ_E_MISSING && nr->e->optional && old->skipped) {
        nr->skipped = 1; /* skipped at start, whatever its kind: it stays skipped */
        return INJ_OK;
    }
    /* An expand entry whose secret vanished has no previous set of variables to keep. */
    if (rc != INJ_E_MISSING || !nr->e->optional || nr->e->expand) {
        (void)inj_err_set(err, rc, "%s %s: %s", refresh_kind(nr->e), nr->e->name, e1.msg);
        err->entry = nr->e->name;
        err->secret = bad && bad->ref->secret_id[0] ? bad->ref->secret_id : NULL;
        err->action = bad ? sm_fail_action(bad->fail) : NULL;
        return rc;
    }
    inj_err_prefix(&e1, "%s %s", refresh_kind(nr->e), nr->e->name);
    e1.entry = nr->e->name;
    lf.code = e1.code;
    lf.entry = e1.entry;
    log_at(LOG_LVL_WARN, &lf, "%s; keeping the previous value", e1.msg);
    if (sbuf_append(&nr->value, old->value.p ? old->value.p : (const unsigned char *)"",
                    old->value.len) != SBUF_OK)
        return inj_err_set(err, INJ_E_NOMEM, "out of memory");
    return INJ_OK;
}

static int refresh_has_var(const struct resolved *r, const char *name)
{
    size_t i;

    for (i = 0; !r->skipped && i < r->nvars; i++)
        if (!strcmp(r->vars[i].name, name))
            return 1;
    return 0;
}

/* Whether name is a variable of the values in force: ours to replace. */
static int refresh_name_ours(const struct resolve_set *set, const char *name)
{
    size_t j;

    for (j = 0; j < set->nr; j++) {
        const struct resolved *v = &set->r[j];

        if (v->skipped || v->e->kind != ENTRY_ENV)
            continue;
        if (v->e->expand ? refresh_has_var(v, name) : !strcmp(v->e->name, name))
            return 1;
    }
    return 0;
}

/* Whether NAME=... is in env (as sink_env_set finds it). */
static int refresh_env_has(const struct sink_env *env, const char *name)
{
    char *const *p = sink_env_envp(env);
    size_t len = strlen(name);

    for (; p && *p; p++)
        if (!strncmp(*p, name, len) && (*p)[len] == '=')
            return 1;
    return 0;
}

/* A variable that is new at this refresh (a new key of an expand entry, an entry skipped at
 * start) and already in the environment without being ours needs its entry's overwrite:
 * true, as at start; checked before anything is applied. */
static enum inj_rc refresh_check_new_names(const struct refresh *r, const struct resolve_set *nset,
                                           const unsigned char *differs, struct inj_err *err)
{
    size_t j;
    size_t k;

    for (j = 0; j < nset->nr; j++) {
        const struct resolved *v = &nset->r[j];
        size_t n = v->e->expand ? v->nvars : 1;

        if (!differs[j] || v->skipped || v->e->kind != ENTRY_ENV || v->e->overwrite)
            continue;
        for (k = 0; k < n; k++) {
            const char *name = v->e->expand ? v->vars[k].name : v->e->name;

            if (refresh_name_ours(r->set, name) || !refresh_env_has(r->env, name))
                continue;
            if (v->e->expand)
                (void)inj_err_set(err, INJ_E_CONFIG,
                                  "env %s (key \"%.64s\" of env %s): %s is already set in the "
                                  "environment; unset it or add \"overwrite: true\" to the entry",
                                  name, v->vars[k].key, v->e->name, name);
            else
                (void)inj_err_set(err, INJ_E_CONFIG,
                                  "env %s: %s is already set in the environment; unset it or add "
                                  "\"overwrite: true\" to the entry",
                                  name, name);
            err->entry = v->e->name;
            return INJ_E_CONFIG;
        }
    }
    return INJ_OK;
}

/* Appends name to list (size n), ", " between, "..." once full. */
static void refresh_list_add(char *list, size_t n, const char *name)
{
    size_t len = strlen(list);
    int w;

    if (len + 4 >= n || (len >= 3 && !strcmp(list + len - 3, "...")))
        return;
    w = snprintf(list + len, n - len, "%s%s", len ? ", " : "", name);
    if (w < 0 || (size_t)w >= n - len)
        memcpy(list + n - 4, "...", 4);
}

/* An expand (or path) entry's variables after its secret changed: removed keys leave the
 * environment, new ones join it. A removed key's variable stays when another entry sets it in
 * the new set (the union: one entry's key may move to another in one cycle, in either order;
 * resolve_check_names refused the cycle if two entries set it). A running command's
 * environment cannot change: when the set of variables changed, say that the command sees it
 * once it restarts. */
static enum inj_rc refresh_apply_expanded(struct refresh *r, const struct resolve_set *nset,
                                          const struct resolved *old, const struct resolved *v,
                                          struct inj_err *err)
{
    char added[300] = "";
    char removed[300] = "";
    enum inj_rc rc;
    size_t k;

    for (k = 0; !old->skipped && k < old->nvars; k++)
        if (!refresh_has_var(v, old->vars[k].name)) {
            refresh_list_add(removed, sizeof(removed), old->vars[k].name);
            if (!refresh_name_ours(nset, old->vars[k].name))
                sink_env_unset(r->env, old->vars[k].name);
        }
    for (k = 0; k < v->nvars; k++) {
        const struct expand_var *x = &v->vars[k];

        if (!refresh_has_var(old, x->name))
            refresh_list_add(added, sizeof(added), x->name);
        /* Ours already (here or in another entry): replaced; a new name: the entry's
         * overwrite, as at start (refresh_check_new_names refused the cycle otherwise). */
        rc = sink_env_set(r->env, x->name, x->value.p ? x->value.p : (const unsigned char *)"",
                          x->value.len, refresh_name_ours(r->set, x->name) || v->e->overwrite, err);
        if (rc != INJ_OK) {
            inj_err_prefix(err, "env %s (key \"%.64s\" of env %s)", x->name, x->key, v->e->name);
            return rc;
        }
    }
    if (added[0] || removed[0])
        log_warn("env %s: the secret's keys changed (variables added: %s; removed: %s); a "
                 "running command's environment cannot change: it gets the new set when it "
                 "restarts (on_change: restart), not with a signal",
                 v->e->name, added[0] ? added : "none", removed[0] ? removed : "none");
    return INJ_OK;
}

/* Files first (all staged, then renamed), then env: a failure before the renames changes
 * nothing; after them, the next cycle sees the same new versions and applies them again. */
static enum inj_rc refresh_apply(struct refresh *r, const struct resolve_set *nset,
                                 const unsigned char *differs, struct inj_err *err)
{
    struct sink_files fs;
    enum inj_rc rc = INJ_OK;
    size_t j;

    memset(&fs, 0, sizeof(fs));
    fs.anchors = r->files;
    fs.chown = r->chown;
    fs.uid = r->uid;
    fs.gid = r->gid;
    for (j = 0; j < nset->nr; j++) {
        const struct resolved *v = &nset->r[j];

        if (!differs[j] || v->skipped)
            continue;
        if (v->e->kind == ENTRY_ENV && v->value.len && memchr(v->value.p, '\0', v->value.len)) {
            rc = inj_err_set(err, INJ_E_DATA,
                             "env %s: the new value contains a NUL byte, which an environment "
                             "variable cannot hold",
                             v->e->name);
            goto out;
        }
        if (v->e->kind != ENTRY_FILE)
            continue;
        rc =
            sink_file_stage(&fs, v->e->name, v->e->mode, v->e->allow_disk,
                            v->value.p ? v->value.p : (const unsigned char *)"", v->value.len, err);
        if (rc != INJ_OK) {
            inj_err_prefix(err, "file %s", v->e->name);
            goto out;
        }
    }
    rc = sink_files_commit(&fs, err);
    if (rc != INJ_OK)
        goto out;
    for (j = 0; j < nset->nr; j++) {
        const struct resolved *v = &nset->r[j];

        if (!differs[j] || v->skipped || v->e->kind != ENTRY_ENV)
            continue;
        if (v->e->expand) {
            rc = refresh_apply_expanded(r, nset, &r->set->r[j], v, err);
            if (rc != INJ_OK)
                goto out;
            continue;
        }
        /* Ours since the start; one skipped then: the entry's overwrite. */
        rc = sink_env_set(r->env, v->e->name, v->value.p ? v->value.p : (const unsigned char *)"",
                          v->value.len, refresh_name_ours(r->set, v->e->name) || v->e->overwrite,
                          err);
        if (rc != INJ_OK) {
            inj_err_prefix(err, "env %s", v->e->name);
            goto out;
        }
    }
out:
    if (rc != INJ_OK)
        sink_files_discard(&fs);
    sink_files_free(&fs);
    return rc;
}

enum inj_rc refresh_run(struct refresh *r, int *changed, struct inj_err *err)
{
    struct resolve_set *set = r->set;
    struct resolve_set nset;
    struct sm_secret *fresh = NULL;
    struct sm_item *ssm = NULL;
    unsigned char *moved = NULL;
    unsigned char *differs = NULL;
    enum inj_rc rc;
    size_t nfresh = 0;
    size_t ndiff = 0;
    size_t i;

    *changed = 0;
    memset(&nset, 0, sizeof(nset));
    r->cycles++;
    if (set->nf != r->nf)
        return inj_err_set(err, INJ_E_SOFTWARE, "refresh: the fetch plan changed");
    /* One budget for the cycle: re-obtaining credentials included. */
    r->sm.deadline_ms = mono_ms() + REFRESH_BUDGET_MS;
    r->cctx.deadline_ms = r->sm.deadline_ms;
    rc = refresh_creds(r, err);
    if (rc != INJ_OK)
        return rc;
    fresh = calloc(set->nf ? set->nf : 1, sizeof(*fresh));
    ssm = calloc(set->nf ? set->nf : 1, sizeof(*ssm));
    if (!fresh || !ssm) {
        rc = inj_err_set(err, INJ_E_NOMEM, "out of memory");
        goto out;
    }
    refresh_ssm_prefetch(r, ssm);
    for (i = 0; i < set->nf; i++) {
        int got = 0;

        rc = refresh_check(r, i, &ssm[i], &fresh[i], &got, err);
        if (rc != INJ_OK)
            goto out;
        nfresh += (size_t)got;
    }
    log_debug("refresh %lu: %zu fetch(es) checked, %zu new version(s)", r->cycles, set->nf, nfresh);
    if (!nfresh)
        goto out;

    /* A new plan (same config, so the same order) takes the new versions and, moved over
     * for now, the unchanged ones; every entry is extracted again from it. */
    rc = resolve_plan(r->cfg, &nset, err);
    if (rc != INJ_OK)
        goto out;
    moved = calloc(set->nf ? set->nf : 1, 1);
    differs = calloc(set->nr ? set->nr : 1, 1);
    if (!moved || !differs) {
        rc = inj_err_set(err, INJ_E_NOMEM, "out of memory");
        goto out;
    }
    if (nset.nf != set->nf || nset.nr != set->nr) {
        rc = inj_err_set(err, INJ_E_SOFTWARE, "refresh: the fetch plan changed");
        goto out;
    }
    for (i = 0; i < nset.nf; i++) {
        struct fetched *nf = &nset.f[i];
        struct fetched *of = &set->f[i];

        if (!ref_same_fetch(nf->ref, of->ref)) {
            rc = inj_err_set(err, INJ_E_SOFTWARE, "refresh: the fetch plan changed");
            goto out;
        }
        if (fresh[i].version_id) {
            nf->secret = fresh[i];
            memset(&fresh[i], 0, sizeof(fresh[i]));
            nf->rc = INJ_OK;
        } else {
            nf->secret = of->secret;
            memset(&of->secret, 0, sizeof(of->secret));
            nf->rc = of->rc;
            nf->fail = of->fail; /* Transfer ownership. */
            of->fail = NULL;
            moved[i] = 1;
        }
    }
    for (i = 0; i < nset.nr; i++) {
        rc = refresh_extract(&set->r[i], &nset.r[i], err);
        if (rc != INJ_OK)
            goto out;
        differs[i] = (unsigned char)refresh_value_differs(&set->r[i], &nset.r[i]);
        ndiff += differs[i];
    }
    rc = resolve_check_names(&nset, err); /* a new key may collide: keep the old values */
    if (rc != INJ_OK)
        goto out;
    rc = refresh_check_new_names(r, &nset, differs, err); /* or be an inherited variable */
    if (rc != INJ_OK)
        goto out;
    rc = refresh_apply(r, &nset, differs, err);
    if (rc != INJ_OK)
        goto out;
    for (i = 0; i < nset.nr; i++)
        if (differs[i])
            log_info("%s %s updated (%zu bytes)", refresh_kind(nset.r[i].e), nset.r[i].e->name,
                     nset.r[i].value.len);
    if (!ndiff)
        log_info("new secret version(s), but no value used here changed: nothing to do");
    /* The new set is the one in force; the old one keeps only what was replaced. */
    memset(moved, 0, set->nf ? set->nf : 1);
    resolve_free(set);
    *set = nset;
    memset(&nset, 0, sizeof(nset));
    *changed = ndiff > 0;
out:
    /* On failure the unchanged secrets go back where they came from. */
    for (i = 0; moved && i < set->nf && i < nset.nf; i++)
        if (moved[i]) {
            set->f[i].secret = nset.f[i].secret;
            memset(&nset.f[i].secret, 0, sizeof(nset.f[i].secret));
            set->f[i].fail = nset.f[i].fail;
            nset.f[i].fail = NULL;
        }
    resolve_free(&nset);
    for (i = 0; fresh && i < r->nf; i++)
        sm_secret_free(&fresh[i]);
    for (i = 0; ssm && i < r->nf; i++) {
        sm_secret_free(&ssm[i].secret);
        sm_fail_free(&ssm[i].fail);
    }
    free(fresh);
    free(ssm);
    free(moved);
    free(differs);
    return rc;
}

enum supervise_refresh_rc refresh_hook(void *ctx)
{
    struct refresh *r = ctx;
    struct inj_err e;
    enum inj_rc rc;
    int changed = 0;

    memset(&e, 0, sizeof(e));
    rc = refresh_run(r, &changed, &e);
    if (rc != INJ_OK) {
        if (rc == INJ_E_NOPERM)
            r->creds_stale = 1;
        inj_err_prefix(&e, "refresh");
        log_err(LOG_LVL_WARN, &e);
        return SUPERVISE_FAILED;
    }
    return changed ? SUPERVISE_CHANGED : SUPERVISE_SAME;
}

char **refresh_hook_envp(void *ctx)
{
    struct refresh *r = ctx;

    return sink_env_envp(r->env);
}

/* The command runs: the replaced files kept to undo a failed start are not needed any more. */
void refresh_hook_started(void *ctx)
{
    struct refresh *r = ctx;

    if (r->files)
        sink_files_release_old(r->files);
}
