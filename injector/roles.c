/* roles.c: per-entry roles: AssumeRole once per role with the base credentials, and each
 * role's fetches in a fetch_all of their own with its credentials. */
#include "roles.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

enum inj_rc roles_init(struct roles *r, struct inj_err *err)
{
    size_t n = r->cfg ? r->cfg->nroles : 0;

    r->creds = NULL;
    r->err = NULL;
    r->source = NULL;
    r->assumed = 0;
    roles_session_name(r->session, sizeof(r->session));
    if (!n)
        return INJ_OK;
    r->creds = calloc(n, sizeof(*r->creds));
    r->err = calloc(n, sizeof(*r->err));
    r->source = calloc(n, sizeof(*r->source));
    if (!r->creds || !r->err || !r->source) {
        roles_free(r);
        return inj_err_set(err, INJ_E_NOMEM, "out of memory");
    }
    return INJ_OK;
}

void roles_free(struct roles *r)
{
    size_t i;

    for (i = 0; r->creds && r->cfg && i < r->cfg->nroles; i++)
        creds_free(&r->creds[i]);
    free(r->creds);
    free(r->err);
    free(r->source);
    r->creds = NULL;
    r->err = NULL;
    r->source = NULL;
}

void roles_session_name(char *buf, size_t n)
{
    char host[256];
    size_t len;
    size_t i;
    int w;

    memset(host, 0, sizeof(host));
    if (gethostname(host, sizeof(host) - 1) != 0)
        host[0] = '\0';
    w = snprintf(buf, n, "injector-%s", host);
    if (!host[0] || w < 0)
        (void)snprintf(buf, n, "injector-%ld", (long)getpid());
    len = strlen(buf);
    if (len > 64)
        buf[len = 64] = '\0';
    for (i = 0; i < len; i++) {
        char c = buf[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("_+=,.@-", c)))
            buf[i] = '-';
    }
}

static const struct config_role *roles_role(const struct roles *r, size_t role)
{
    return r && r->cfg && role && role <= r->cfg->nroles ? &r->cfg->roles[role - 1] : NULL;
}

/* One AssumeRole for role number k (0-based). */
static void roles_assume_one(struct roles *r, size_t k)
{
    const struct config_role *cr = &r->cfg->roles[k];
    struct creds_assume a;
    struct creds fresh;
    struct inj_err e;
    enum inj_rc rc;

    memset(&a, 0, sizeof(a));
    memset(&fresh, 0, sizeof(fresh));
    memset(&e, 0, sizeof(e));
    (void)snprintf(r->source[k], sizeof(r->source[k]), "role %.58s", cr->name);
    a.role_arn = cr->role_arn;
    a.external_id = cr->external_id;
    a.session_name = cr->session_name ? cr->session_name : r->session;
    a.duration_s = cr->duration_s;
    a.source = r->source[k];
    r->assumed++;
    rc = creds_assume_role(&r->cctx, r->base, &a, &fresh, &e);
    if (rc != INJ_OK) {
        /* Keys assumed earlier stay until they expire: a refresh can still use them. */
        /* An inline role's name is its ARN, which the STS message names already. */
        if (cr->is_inline)
            inj_err_set(&r->err[k], rc, "%s", e.msg);
        else
            inj_err_set(&r->err[k], rc, "role %s: %s", cr->name, e.msg);
        return;
    }
    creds_free(&r->creds[k]);
    r->creds[k] = fresh; /* ownership moves to r->creds[k] */
    memset(&fresh, 0, sizeof(fresh));
    memset(&r->err[k], 0, sizeof(r->err[k]));
    log_info("role %s: credentials from STS AssumeRole %s", cr->name, cr->role_arn);
}

void roles_assume(struct roles *r, const struct fetched *f, size_t n, long margin_s, int force)
{
    time_t now = time(NULL);
    size_t k;
    size_t i;

    if (!r || !r->cfg || !r->creds)
        return;
    for (k = 0; k < r->cfg->nroles; k++) {
        const struct creds *c = &r->creds[k];
        int used = 0;

        for (i = 0; i < n && !used; i++)
            used = f[i].role == k + 1;
        if (!used)
            continue;
        if (!force && c->access_key_id &&
            !(margin_s && c->expiration && c->expiration - now < margin_s))
            continue;
        roles_assume_one(r, k);
    }
}

const struct creds *roles_creds_for(const struct roles *r, const struct fetched *f)
{
    if (!f->role)
        return r ? r->base : NULL;
    if (!roles_role(r, f->role) || !r->creds[f->role - 1].access_key_id)
        return NULL;
    return &r->creds[f->role - 1];
}

const struct inj_err *roles_error(const struct roles *r, const struct fetched *f)
{
    if (!f->role || roles_creds_for(r, f))
        return NULL;
    if (!roles_role(r, f->role))
        return NULL;
    return &r->err[f->role - 1];
}

/* fetch_all over the fetches of group `role` (moved into a block of their own and back). */
static void roles_fetch_group(const struct roles *r, const struct sm_ctx *ctx, struct fetched *f,
                              size_t n, size_t role, size_t *api_calls)
{
    struct fetched *g = NULL;
    struct sm_ctx gctx = *ctx;
    const struct inj_err *why;
    struct inj_err *e;
    size_t k = 0;
    size_t calls = 0;
    size_t i;

    for (i = 0; i < n; i++)
        k += f[i].role == role;
    if (!k)
        return;
    gctx.creds = role ? &r->creds[role - 1] : ctx->creds;
    if (role && !r->creds[role - 1].access_key_id) {
        why = &r->err[role - 1];
        for (i = 0; i < n; i++) {
            if (f[i].role != role)
                continue;
            f[i].rc = why->code ? why->code : INJ_E_NOPERM;
            e = sm_fail_err(&f[i].fail);
            inj_err_set(e, f[i].rc, "%s: %s", f[i].ref->secret_id, why->msg);
            /* What to grant, for JSON logs: the role could not be assumed. */
            if (f[i].rc == INJ_E_NOPERM)
                e->action = "sts:AssumeRole";
            /* One cause for every entry of the role: reported in one line (resolve.c). */
            f[i].kind = AWS_K_NONE;
            (void)snprintf(sm_fail_cause(&f[i].fail), AWS_CAUSE_MAX, "%.600s", why->msg);
        }
        return;
    }
    g = calloc(k, sizeof(*g));
    if (!g) {
        for (i = 0; i < n; i++)
            if (f[i].role == role)
                f[i].rc = inj_err_set(sm_fail_err(&f[i].fail), INJ_E_NOMEM, "out of memory");
        return;
    }
    for (i = 0, k = 0; i < n; i++)
        if (f[i].role == role)
            g[k++] = f[i]; /* moved: the secret is owned by g[] until it moves back */
    fetch_all(&gctx, g, k, &calls);
    for (i = 0, k = 0; i < n; i++)
        if (f[i].role == role)
            f[i] = g[k++];
    free(g); /* nothing left in it: every secret moved back */
    *api_calls += calls;
}

void roles_fetch_all(void *arg, const struct sm_ctx *ctx, struct fetched *f, size_t n,
                     size_t *api_calls)
{
    struct roles *r = arg;
    size_t role;
    size_t i;
    int any = 0;

    for (i = 0; i < n && !any; i++)
        any = f[i].role != 0;
    if (!r || !r->cfg || !r->creds || !any) {
        fetch_all(ctx, f, n, api_calls);
        return;
    }
    roles_assume(r, f, n, 0, 0);
    for (role = 0; role <= r->cfg->nroles; role++)
        roles_fetch_group(r, ctx, f, n, role, api_calls);
}
