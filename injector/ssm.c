/* ssm.c: SSM Parameter Store on the one AWS engine (aws.c): the service row, the
 * GetParameters row, its request body and response parser. Retries, signing and errors: the
 * engine's and awserr.c's. */
#include "ssm.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "jx.h"
#include "log.h"

const struct aws_service ssm_service = {
    "SSM Parameter Store",
    "ssm",
    "ssm",
    "AWS_ENDPOINT_URL_SSM",
    "AmazonSSM",
    &aws_json_1_1,
    "the parameter name or ARN, its version or label and the region",
    NULL,
};

static char *ssm_get_body(const void *in);
static enum inj_rc ssm_parse_op(const struct http_resp *resp, const char *id, void *out,
                                struct inj_err *err);

/* GetParameters needs ssm:GetParameters on each parameter (and kms:Decrypt on the key of a
 * SecureString under a customer managed key). */
static const struct aws_op ssm_get_op = {"GetParameters", "ssm:GetParameters", SSM_MAX_RESPONSE,
                                         ssm_get_body,    ssm_parse_op,        1};

/* {"Names": [NAME-OR-ARN[:SELECTOR], ...], "WithDecryption": true}: always decrypted, since a
 * SecureString read without it is ciphertext, useless to the app. NULL when out of memory. */
static char *ssm_get_body(const void *in)
{
    const struct ssm_batch *b = in;
    cJSON *req = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(req, "Names");
    char *body = NULL;
    size_t i;

    if (!list || !cJSON_AddBoolToObject(req, "WithDecryption", 1))
        goto out;
    for (i = 0; i < b->n; i++) {
        char *wire = ref_ssm_wire(b->items[i]->ref);
        cJSON *s = wire ? cJSON_CreateString(wire) : NULL;

        free(wire);
        if (!s || !cJSON_AddItemToArray(list, s)) {
            cJSON_Delete(s);
            goto out;
        }
    }
    body = cJSON_PrintUnformatted(req);
out:
    cJSON_Delete(req);
    return body;
}

/* The whole answer is unusable: every item gets the same complaint under its own name. */
static enum inj_rc ssm_fail_all(struct sm_item *const *items, size_t n, enum inj_rc rc,
                                const char *what)
{
    size_t i;

    for (i = 0; i < n; i++)
        items[i]->rc =
            inj_err_set(sm_fail_err(&items[i]->fail), rc, "%s: %s", items[i]->ref->secret_id, what);
    return rc;
}

/* Does an answered parameter (name, arn, its Selector or NULL, version) belong to ref? By
 * name or ARN (a shared parameter is asked for, and answered, by ARN), and by selector: none
 * asked, none answered; asked, answered as ":SEL" (or a version asked and answered). */
static int ssm_match(const struct ref *ref, const char *name, const char *arn, const char *sel,
                     const char *version)
{
    if (strcmp(ref->secret_id, name) != 0 && (!arn || strcmp(ref->secret_id, arn) != 0))
        return 0;
    if (sel && sel[0] == ':')
        sel++;
    if (!ref->selector)
        return !sel || !*sel;
    if (sel && *sel)
        return !strcmp(ref->selector, sel);
    return !strcmp(ref->selector, version);
}

static char *ssm_dup_str(const cJSON *root, const char *name, const char *dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, name);

    return xstrdup(cJSON_IsString(v) ? v->valuestring : dflt);
}

/* One parameter's fields into out (owned: sm_secret_free even on failure). */
static enum inj_rc ssm_parse_one(const cJSON *p, int has_nul, const char *id, struct sm_secret *out,
                                 struct inj_err *err)
{
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(p, "Value");
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(p, "Version");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(p, "Type");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(p, "Name");
    char vbuf[24];

    vbuf[0] = '\0';
    if (cJSON_IsNumber(ver)) {
        if (ver->valuedouble < 0 || ver->valuedouble > 9007199254740992.0 ||
            floor(ver->valuedouble) != ver->valuedouble)
            return inj_err_set(err, INJ_E_UNAVAILABLE,
                               "%s: GetParameters answered a Version that is not a version number",
                               id);
        (void)snprintf(vbuf, sizeof(vbuf), "%.0f", ver->valuedouble);
    }
    out->name = xstrdup(cJSON_IsString(name) ? name->valuestring : id);
    out->arn = ssm_dup_str(p, "ARN", out->name ? out->name : id);
    out->version_id = xstrdup(vbuf);
    if (!out->name || !out->arn || !out->version_id)
        return inj_err_set(err, INJ_E_NOMEM, "out of memory");
    if (cJSON_IsString(type))
        (void)snprintf(out->type, sizeof(out->type), "%s", type->valuestring);
    {
        const cJSON *sel = cJSON_GetObjectItemCaseSensitive(p, "Selector");
        if (cJSON_IsString(sel))
            (void)snprintf(out->stages, sizeof(out->stages), "%s",
                           sel->valuestring + (sel->valuestring[0] == ':'));
    }
    if (!cJSON_IsString(value))
        return inj_err_set(err, INJ_E_UNAVAILABLE, "%s: GetParameters answered it without a Value",
                           id);
    if (has_nul)
        return inj_err_set(err, INJ_E_DATA,
                           "%s: the parameter's value contains a NUL character, which no "
                           "environment variable or text file can carry",
                           id);
    out->value.max = SSM_MAX_VALUE;
    switch (sbuf_append_str(&out->value, value->valuestring)) {
    case SBUF_OK:
        return INJ_OK;
    case SBUF_TOOBIG:
        return inj_err_set(err, INJ_E_DATA, "%s: parameter value larger than %u bytes", id,
                           SSM_MAX_VALUE);
    case SBUF_NOMEM:
    default:
        return inj_err_set(err, INJ_E_NOMEM, "out of memory");
    }
}

enum inj_rc ssm_parse_parameters(const struct sm_ctx *ctx, const char *region,
                                 const struct http_resp *resp, struct sm_item *const *items,
                                 size_t n)
{
    enum inj_rc rc = INJ_E_UNAVAILABLE;
    unsigned char nul[SSM_BATCH_MAX * 2] = {0};
    unsigned char done[SSM_BATCH_MAX];
    struct inj_err e;
    struct aws_ctx a;
    cJSON *root = NULL;
    const cJSON *params;
    const cJSON *invalid;
    const cJSON *it;
    size_t nval = 0;
    size_t k = 0;
    size_t nnul;
    size_t i;

    memset(done, 0, sizeof(done));
    sm_aws_ctx(ctx, &a);
    if (n > SSM_BATCH_MAX)
        return ssm_fail_all(items, n, INJ_E_SOFTWARE, "internal error: batch too large");
    for (i = 0; i < n; i++) {
        memset(&items[i]->secret, 0, sizeof(items[i]->secret));
        items[i]->rc = INJ_E_SOFTWARE;
        items[i]->kind = AWS_K_NONE;
        items[i]->region_down = 0;
        sm_fail_free(&items[i]->fail);
    }
    if (!resp->body.p || !jx_utf8_valid(resp->body.p, resp->body.len))
        return ssm_fail_all(items, n, rc, "SSM response is not valid UTF-8 JSON");
    root = cJSON_ParseWithLength((const char *)resp->body.p, resp->body.len);
    params = cJSON_GetObjectItemCaseSensitive(root, "Parameters");
    invalid = cJSON_GetObjectItemCaseSensitive(root, "InvalidParameters");
    if (!cJSON_IsObject(root) || (params && !cJSON_IsArray(params)) ||
        (invalid && !cJSON_IsArray(invalid))) {
        rc = ssm_fail_all(items, n, rc,
                          "SSM response is not a GetParameters answer (truncated or not from "
                          "SSM; check AWS_ENDPOINT_URL_SSM and proxies)");
        goto out;
    }
    /* cJSON cuts a string at an escaped NUL: which Value holds one is read from the text. */
    cJSON_ArrayForEach(it, params)
    {
        if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(it, "Value")))
            nval++;
    }
    nnul = jx_member_nul(resp->body.p, resp->body.len, "Value", nul, sizeof(nul));
    if (nnul != nval || nnul > sizeof(nul)) {
        rc = ssm_fail_all(items, n, rc, "SSM response has duplicate or malformed Value members");
        goto out;
    }
    cJSON_ArrayForEach(it, params)
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(it, "Name");
        const cJSON *arn = cJSON_GetObjectItemCaseSensitive(it, "ARN");
        const cJSON *sel = cJSON_GetObjectItemCaseSensitive(it, "Selector");
        const cJSON *ver = cJSON_GetObjectItemCaseSensitive(it, "Version");
        char vbuf[24] = "";
        int has_nul = 0;

        if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(it, "Value")))
            has_nul = nul[k++];
        if (!cJSON_IsString(name))
            continue;
        if (cJSON_IsNumber(ver) && ver->valuedouble >= 0 && ver->valuedouble < 1e19)
            (void)snprintf(vbuf, sizeof(vbuf), "%.0f", ver->valuedouble);
        for (i = 0; i < n; i++) {
            if (done[i] || !ssm_match(items[i]->ref, name->valuestring,
                                      cJSON_IsString(arn) ? arn->valuestring : NULL,
                                      cJSON_IsString(sel) ? sel->valuestring : NULL, vbuf))
                continue;
            items[i]->rc = sm_fail_keep(
                &items[i]->fail,
                ssm_parse_one(it, has_nul, items[i]->ref->secret_id, &items[i]->secret, &e), &e);
            done[i] = 1;
        }
    }
    cJSON_ArrayForEach(it, invalid)
    {
        struct aws_fault f;

        if (!cJSON_IsString(it))
            continue;
        aws_fault_set(&f, 400, "ParameterNotFound", NULL);
        for (i = 0; i < n; i++) {
            char *wire;
            int same;

            if (done[i])
                continue;
            wire = ref_ssm_wire(items[i]->ref);
            if (!wire) {
                items[i]->rc =
                    inj_err_set(sm_fail_err(&items[i]->fail), INJ_E_NOMEM, "out of memory");
                done[i] = 1;
                continue;
            }
            same = !strcmp(wire, it->valuestring);
            if (same) {
                items[i]->rc = aws_fault_error(&a, &ssm_service, &ssm_get_op, region, &f, 1, wire,
                                               sm_fail_err(&items[i]->fail),
                                               sm_fail_cause(&items[i]->fail), AWS_CAUSE_MAX);
                items[i]->kind = f.kind;
                done[i] = 1;
            }
            free(wire);
        }
    }
    for (i = 0; i < n; i++)
        if (!done[i])
            items[i]->rc = inj_err_set(sm_fail_err(&items[i]->fail), INJ_E_UNAVAILABLE,
                                       "%s: GetParameters in %s answered neither its value nor "
                                       "InvalidParameters for it",
                                       items[i]->ref->secret_id, region);
    rc = INJ_OK;
out:
    for (i = 0; i < n; i++)
        if (items[i]->rc != INJ_OK)
            sm_secret_free(&items[i]->secret);
    cJSON_Delete(root);
    return rc;
}

/* Each item gets its own outcome; err is unused. */
static enum inj_rc ssm_parse_op(const struct http_resp *resp, const char *id, void *out,
                                struct inj_err *err)
{
    struct ssm_batch *b = out;

    (void)id;
    (void)err;
    return ssm_parse_parameters(b->ctx, b->region, resp, b->items, b->n);
}

static int ssm_same_region(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return !strcmp(a, b);
}

void ssm_plan_free(struct ssm_plan *p)
{
    free(p->b);
    p->b = NULL;
    p->n = 0;
}

enum inj_rc ssm_plan_make(const struct sm_ctx *ctx, struct sm_item *items, size_t n,
                          struct ssm_plan *p)
{
    unsigned char *taken = NULL;
    size_t i;
    size_t j;

    memset(p, 0, sizeof(*p));
    for (i = 0; i < n; i++) {
        memset(&items[i].secret, 0, sizeof(items[i].secret));
        items[i].rc = INJ_E_SOFTWARE;
        items[i].kind = AWS_K_NONE;
        items[i].region_down = 0;
        sm_fail_free(&items[i].fail);
    }
    if (!n)
        return INJ_OK;
    taken = calloc(n, 1);
    p->b = calloc(n, sizeof(*p->b)); /* at most one batch per item */
    if (!taken || !p->b) {
        free(taken);
        ssm_plan_free(p);
        for (i = 0; i < n; i++)
            items[i].rc = inj_err_set(sm_fail_err(&items[i].fail), INJ_E_NOMEM, "out of memory");
        return INJ_E_NOMEM;
    }
    for (i = 0; i < n; i++) {
        struct ssm_batch *b;
        const char *region;

        if (taken[i])
            continue;
        b = &p->b[p->n++];
        region = sm_region_for(ctx, items[i].ref);
        b->ctx = ctx;
        b->region = region;
        for (j = i; j < n && b->n < SSM_BATCH_MAX; j++) {
            if (taken[j] || !ssm_same_region(region, sm_region_for(ctx, items[j].ref)))
                continue;
            taken[j] = 1;
            b->items[b->n++] = &items[j];
        }
        (void)snprintf(b->label, sizeof(b->label), "%.120s%s", items[i].ref->secret_id,
                       b->n > 1 ? " and the rest of its batch" : "");
    }
    free(taken);
    return INJ_OK;
}

void ssm_plan_calls(const struct aws_ctx *a, struct ssm_plan *p, struct aws_call *calls)
{
    size_t i;
    size_t k;

    for (i = 0; i < p->n; i++) {
        struct ssm_batch *b = &p->b[i];
        /* One request for all: the latest of their deadlines (none when one has none). */
        long long deadline = 0;

        for (k = 0; k < b->n; k++) {
            long long d = b->items[k]->deadline_ms ? b->items[k]->deadline_ms : a->deadline_ms;

            if (!d) {
                deadline = 0;
                break;
            }
            if (d > deadline)
                deadline = d;
        }
        memset(&calls[i], 0, sizeof(calls[i]));
        aws_call_init(&calls[i], a, &ssm_service, &ssm_get_op, b->region, b->label, b, deadline);
    }
}

void ssm_plan_finish(const struct aws_ctx *a, struct ssm_plan *p, struct aws_call *calls)
{
    size_t i;
    size_t k;

    for (i = 0; i < p->n; i++) {
        struct ssm_batch *b = &p->b[i];

        if (calls[i].end == AWS_OK) {
            (void)aws_call_parse(&calls[i], b->label, b, NULL);
        } else {
            for (k = 0; k < b->n; k++) {
                struct sm_item *it = b->items[k];
                char *wire = ref_ssm_wire(it->ref);

                it->rc =
                    aws_call_error(a, &calls[i], wire ? wire : it->ref->secret_id,
                                   sm_fail_err(&it->fail), sm_fail_cause(&it->fail), AWS_CAUSE_MAX);
                it->kind = calls[i].end == AWS_FAULT ? calls[i].fault.kind : AWS_K_NONE;
                it->region_down = aws_call_region_down(&calls[i]);
                free(wire);
            }
        }
        for (k = 0; k < b->n; k++)
            if (b->items[k]->rc != INJ_OK)
                sm_secret_free(&b->items[k]->secret);
        aws_call_free(&calls[i]);
    }
}

void ssm_get_parameters(const struct sm_ctx *ctx, struct sm_item *items, size_t n, size_t conns,
                        size_t *api_calls)
{
    struct ssm_plan p;
    struct aws_call *calls = NULL;
    struct aws_ctx a;
    size_t i;

    jx_init();
    sm_aws_ctx(ctx, &a);
    if (ssm_plan_make(ctx, items, n, &p) != INJ_OK || !p.n)
        return;
    calls = calloc(p.n, sizeof(*calls));
    if (!calls) {
        for (i = 0; i < n; i++)
            items[i].rc = inj_err_set(sm_fail_err(&items[i].fail), INJ_E_NOMEM, "out of memory");
        ssm_plan_free(&p);
        return;
    }
    ssm_plan_calls(&a, &p, calls);
    aws_run(&a, calls, p.n, conns);
    ssm_plan_finish(&a, &p, calls);
    if (api_calls)
        *api_calls += p.n;
    free(calls);
    ssm_plan_free(&p);
}

/* ---- GetParametersByPath -------------------------------------------------------------- */

static char *ssm_path_body(const void *in);
static enum inj_rc ssm_path_parse_op(const struct http_resp *resp, const char *id, void *out,
                                     struct inj_err *err);

/* GetParametersByPath needs ssm:GetParametersByPath on the path's own ARN and (for a
 * recursive read) below it, and kms:Decrypt for SecureStrings under a customer managed key. */
static const struct aws_op ssm_path_op = {
    "GetParametersByPath", "ssm:GetParametersByPath", SSM_PATH_PAGE *SM_MAX_RESPONSE,
    ssm_path_body,         ssm_path_parse_op,         1};

/* One path being read: its pages so far. A Secrets Manager read by name prefix or tags
 * (a REF_SM item) is read the same way, a page at a time, with sm.h's sm_filter_op. */
/* Empty pages (a NextToken, no value) a read may take beyond max + 1: AWS sends some while it
 * filters a large account. */
#define SSM_PATH_EMPTY_PAGES 100
/* ListSecrets pages a read by tags may take beyond max + 1: AWS matches tag keys and values as
 * prefixes, so a page may hold 100 secrets and not one exact match ({env: prod} lists every
 * env=production secret). 1,000 pages: 100,000 listed secrets. */
#define SSM_LIST_MISS_PAGES 1000

struct ssm_path {
    struct sm_item *item; /* borrowed */
    const char *region;
    const char *path; /* the parameter name of the path (inside item->ref->secret_id) */
    char *token;      /* the next page's NextToken (owned); NULL: the first page, or done */
    char *sent;       /* the NextToken the last page was asked with (owned); NULL: none */
    cJSON *acc;       /* the values read so far: [{"k", "v", "n"[, "s"]}, ...] */
    size_t pages;
    int done;
    int sm;         /* a Secrets Manager read (smp) */
    int tagged;     /* sm with tags: ListSecrets pages, then the matches by ARN */
    int listed_all; /* every page listed (read); listed's secrets are to be read by id */
    cJSON *listed;  /* tagged: the exact matches, [{"s": NAME, "a": ARN}]; a read by prefix
                       alone: its retry list once the pages are read */
    cJSON *retry;   /* sm, no tags: the secrets the pages' Errors said to try again (smp.retry) */
    size_t batch0;  /* tagged: its first BatchGetSecretValue call, and how many */
    size_t nbatch;
    struct sm_filter_page smp; /* sm: the page's input and output */
    char label[400];           /* sm: the read in messages ("secrets prod/app/... tagged k=v") */
    const char *name;          /* the read in messages and calls: label, or the path's secret_id */
};

const char *ssm_path_key(const char *path, const char *name)
{
    size_t n = strlen(path);

    if (!n || strncmp(name, path, n) != 0)
        return NULL;
    if (path[n - 1] != '/') {
        if (name[n] != '/')
            return NULL;
        n++;
    }
    return name[n] ? name + n : NULL;
}

/* The parameter name of a path reference: "/prod/app" of ssm:/prod/app or of
 * arn:...:parameter/prod/app. */
static const char *ssm_path_name(const struct ref *ref)
{
    const char *p = ref->is_arn ? strstr(ref->secret_id, ":parameter/") : NULL;

    return p ? p + 10 : ref->secret_id;
}

/* {"Path": P, "Recursive": R, "WithDecryption": true, "MaxResults": 10[, "NextToken": T]}. */
static char *ssm_path_body(const void *in)
{
    const struct ssm_path *sp = in;
    cJSON *req = cJSON_CreateObject();
    char *body = NULL;

    if (!cJSON_AddStringToObject(req, "Path", sp->path) ||
        !cJSON_AddBoolToObject(req, "Recursive", sp->item->ref->recursive) ||
        !cJSON_AddBoolToObject(req, "WithDecryption", 1) ||
        !cJSON_AddNumberToObject(req, "MaxResults", SSM_PATH_PAGE) ||
        (sp->token && !cJSON_AddStringToObject(req, "NextToken", sp->token)))
        goto out;
    body = cJSON_PrintUnformatted(req);
out:
    cJSON_Delete(req);
    return body;
}

enum inj_rc ssm_parse_path_page(const struct ref *ref, const char *path,
                                const struct http_resp *resp, cJSON *acc, char **token,
                                struct inj_err *err)
{
    enum inj_rc rc = INJ_E_UNAVAILABLE;
    unsigned char nul[SSM_PATH_PAGE * 2] = {0};
    cJSON *root = NULL;
    const cJSON *params;
    const cJSON *next;
    const cJSON *it;
    size_t nval = 0;
    size_t k = 0;

    *token = NULL;
    if (!resp->body.p || !jx_utf8_valid(resp->body.p, resp->body.len))
        return inj_err_set(err, rc, "%s: SSM response is not valid UTF-8 JSON", ref->secret_id);
    root = cJSON_ParseWithLength((const char *)resp->body.p, resp->body.len);
    params = cJSON_GetObjectItemCaseSensitive(root, "Parameters");
    next = cJSON_GetObjectItemCaseSensitive(root, "NextToken");
    if (!cJSON_IsObject(root) || (params && !cJSON_IsArray(params)) || !jx_token_valid(next)) {
        rc = inj_err_set(err, rc,
                         "%s: SSM response is not a GetParametersByPath answer (truncated or not "
                         "from SSM; check AWS_ENDPOINT_URL_SSM and proxies)",
                         ref->secret_id);
        goto out;
    }
    cJSON_ArrayForEach(it, params)
    {
        if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(it, "Value")))
            nval++;
    }
    if (nval > SSM_PATH_PAGE ||
        jx_member_nul(resp->body.p, resp->body.len, "Value", nul, sizeof(nul)) != nval) {
        rc = inj_err_set(err, rc,
                         "%s: SSM response has more than %d, duplicate or malformed Value members",
                         ref->secret_id, SSM_PATH_PAGE);
        goto out;
    }
    cJSON_ArrayForEach(it, params)
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(it, "Name");
        const cJSON *value = cJSON_GetObjectItemCaseSensitive(it, "Value");
        const cJSON *ver = cJSON_GetObjectItemCaseSensitive(it, "Version");
        const char *key;
        cJSON *one;
        char vbuf[24] = "";

        if (!cJSON_IsString(name) || !cJSON_IsString(value)) {
            rc = inj_err_set(err, rc,
                             "%s: GetParametersByPath answered a parameter without a "
                             "Name or Value",
                             ref->secret_id);
            goto out;
        }
        key = ssm_path_key(path, name->valuestring);
        if (!key || (!ref->recursive && strchr(key, '/'))) {
            rc = inj_err_set(err, rc,
                             "%s: GetParametersByPath answered the parameter %.200s, which is not "
                             "%s the path",
                             ref->secret_id, name->valuestring,
                             ref->recursive ? "under" : "directly under");
            goto out;
        }
        if (nul[k++]) {
            rc = inj_err_set(err, INJ_E_DATA,
                             "%s: the parameter %.200s holds a NUL character, which no "
                             "environment variable can carry",
                             ref->secret_id, name->valuestring);
            goto out;
        }
        if (strlen(value->valuestring) > SSM_MAX_VALUE) {
            rc = inj_err_set(err, INJ_E_DATA, "%s: the parameter %.200s is larger than %u bytes",
                             ref->secret_id, name->valuestring, SSM_MAX_VALUE);
            goto out;
        }
        if (cJSON_IsNumber(ver) && ver->valuedouble >= 0 && ver->valuedouble < 1e19)
            (void)snprintf(vbuf, sizeof(vbuf), "%.0f", ver->valuedouble);
        one = cJSON_CreateObject();
        if (!one || !cJSON_AddItemToArray(acc, one)) {
            cJSON_Delete(one);
            rc = inj_err_set(err, INJ_E_NOMEM, "out of memory");
            goto out;
        }
        if (!cJSON_AddStringToObject(one, "k", key) ||
            !cJSON_AddStringToObject(one, "v", value->valuestring) ||
            !cJSON_AddStringToObject(one, "n", vbuf)) {
            rc = inj_err_set(err, INJ_E_NOMEM, "out of memory");
            goto out;
        }
    }
    if (jx_token_dup(next, token) != 0) {
        rc = inj_err_set(err, INJ_E_NOMEM, "out of memory");
        goto out;
    }
    rc = INJ_OK;
out:
    cJSON_Delete(root);
    return rc;
}

static enum inj_rc ssm_path_parse_op(const struct http_resp *resp, const char *id, void *out,
                                     struct inj_err *err)
{
    struct ssm_path *sp = out;

    (void)id;
    free(sp->sent);
    sp->sent = sp->token;
    sp->token = NULL;
    return ssm_parse_path_page(sp->item->ref, sp->path, resp, sp->acc, &sp->token, err);
}

/* "secrets PREFIX*", "secrets tagged K=V,K2=V2" or both, for messages and as the read's name. */
static void ssm_sm_label(const struct ref *ref, char *buf, size_t n)
{
    size_t off;
    size_t i;
    int w;

    w = snprintf(buf, n, "secrets%s%.200s%s", ref->secret_id[0] ? " " : "", ref->secret_id,
                 ref->secret_id[0] ? "*" : "");
    off = w < 0 ? 0 : (size_t)w;
    for (i = 0; i < ref->ntags && off < n; i++) {
        w = snprintf(buf + off, n - off, "%s%.60s=%.60s", i ? "," : " tagged ", ref->tags[i].key,
                     ref->tags[i].value);
        if (w < 0)
            break;
        off += (size_t)w;
    }
}

static int ssm_path_cmp(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a;
    const cJSON *y = *(const cJSON *const *)b;

    return strcmp(cJSON_GetObjectItemCaseSensitive(x, "k")->valuestring,
                  cJSON_GetObjectItemCaseSensitive(y, "k")->valuestring);
}

/* The gathered parameters into item->secret: {KEY: VALUE, ...} in key order, the path as its
 * name and ARN, a digest of keys and versions as its version. */
static enum inj_rc ssm_path_finish(struct ssm_path *sp)
{
    struct sm_item *it = sp->item;
    size_t n = (size_t)cJSON_GetArraySize(sp->acc);
    const cJSON **v = calloc(n ? n : 1, sizeof(*v));
    cJSON *obj = cJSON_CreateObject();
    unsigned long long h = 14695981039346656037ull; /* FNV-1a over keys and versions */
    char *text = NULL;
    char vbuf[40];
    char label[sizeof(sp->label)];
    const cJSON *p;
    size_t i = 0;
    size_t m;
    enum inj_rc rc = INJ_E_NOMEM;

    if (!v || !obj)
        goto out;
    cJSON_ArrayForEach(p, sp->acc) v[i++] = p;
    qsort(v, n, sizeof(*v), ssm_path_cmp);
    /* One secret read twice is one: a page's Errors had it read again by id, and a later page
     * (an endpoint paging by offset) gave it too. */
    for (i = 0, m = 0; sp->sm && i < n; i++) {
        if (m && ssm_path_cmp(&v[m - 1], &v[i]) == 0 &&
            !strcmp(cJSON_GetObjectItemCaseSensitive(v[m - 1], "s")->valuestring,
                    cJSON_GetObjectItemCaseSensitive(v[i], "s")->valuestring))
            continue;
        v[m++] = v[i];
    }
    if (sp->sm)
        n = m;
    /* Two secret names can leave one key ("prod/app/db" and "prod/appdb" under "prod/app"). */
    for (i = 1; sp->sm && i < n; i++) {
        if (ssm_path_cmp(&v[i - 1], &v[i]) != 0)
            continue;
        (void)inj_err_set(sm_fail_err(&it->fail), INJ_E_CONFIG,
                          "%s: the secrets %.200s and %.200s both have the key \"%.200s\" below "
                          "the prefix; end the prefix with '/' or rename one",
                          sp->label, cJSON_GetObjectItemCaseSensitive(v[i - 1], "s")->valuestring,
                          cJSON_GetObjectItemCaseSensitive(v[i], "s")->valuestring,
                          cJSON_GetObjectItemCaseSensitive(v[i], "k")->valuestring);
        free(v);
        cJSON_Delete(obj);
        return it->rc = INJ_E_CONFIG;
    }
    for (i = 0; i < n; i++) {
        const char *k = cJSON_GetObjectItemCaseSensitive(v[i], "k")->valuestring;
        const char *ver = cJSON_GetObjectItemCaseSensitive(v[i], "n")->valuestring;
        const char *s;

        if (!cJSON_AddStringToObject(obj, k,
                                     cJSON_GetObjectItemCaseSensitive(v[i], "v")->valuestring))
            goto out;
        for (s = k;; s++) {
            h ^= (unsigned char)*s;
            h *= 1099511628211ull;
            if (!*s)
                break;
        }
        for (s = ver;; s++) {
            h ^= (unsigned char)*s;
            h *= 1099511628211ull;
            if (!*s)
                break;
        }
    }
    text = cJSON_PrintUnformatted(obj);
    (void)snprintf(vbuf, sizeof(vbuf), "%zu-%016llx", n, h);
    if (sp->sm)
        (void)snprintf(label, sizeof(label), "%s", sp->label);
    else
        (void)snprintf(label, sizeof(label), "path %.200s/", sp->path);
    it->secret.name = xstrdup(label);
    it->secret.arn = xstrdup(label);
    it->secret.version_id = xstrdup(vbuf);
    (void)snprintf(it->secret.type, sizeof(it->secret.type), "%s", "path");
    it->secret.value.max = (size_t)-1;
    if (!text || !it->secret.name || !it->secret.arn || !it->secret.version_id ||
        sbuf_append_str(&it->secret.value, text) != SBUF_OK)
        goto out;
    rc = INJ_OK;
out:
    cJSON_free(text); /* jx_init's hooks wipe every cJSON allocation */
    cJSON_Delete(obj);
    free(v);
    if (rc != INJ_OK) {
        sm_secret_free(&it->secret);
        return it->rc = inj_err_set(sm_fail_err(&it->fail), rc, "out of memory");
    }
    return it->rc = INJ_OK;
}

/* A refused filtered read: its fix names both actions it needs. */
static void ssm_sm_denied(char *msg, size_t n)
{
    size_t len = strlen(msg);
    const char *why = "; reading secrets by name prefix or tags needs both "
                      "secretsmanager:ListSecrets and secretsmanager:BatchGetSecretValue (Resource "
                      "\"*\": run injector policy)";

    /* The fix must survive whatever AWS's message took. */
    if (strlen(why) >= n)
        return;
    if (len + strlen(why) >= n)
        len = n - strlen(why) - 1;
    memcpy(msg + len, why, strlen(why) + 1);
}

/* A read whose answer has another page: fails it (INJ_E_UNAVAILABLE) when the service
 * answered the very NextToken it was sent, or when more pages came than max allows (each page
 * with a value counts towards max, so at most max + 1 of them, plus SSM_PATH_EMPTY_PAGES
 * empty ones, which AWS may send while it filters; a read by tags: SSM_LIST_MISS_PAGES
 * ListSecrets pages without a match): a server whose pages never end costs a bounded number
 * of calls, not calls until the deadline. */
static enum inj_rc ssm_path_pages_check(struct ssm_path *s)
{
    if (s->sent && !strcmp(s->sent, s->token))
        return inj_err_set(sm_fail_err(&s->item->fail), INJ_E_UNAVAILABLE,
                           "%s: page %zu of the answer gave back the NextToken it was asked with: "
                           "its pages would never end; stopped (an endpoint or proxy fault)",
                           s->name, s->pages);
    if (s->tagged && s->pages > s->item->ref->path_max + SSM_LIST_MISS_PAGES)
        return inj_err_set(sm_fail_err(&s->item->fail), INJ_E_UNAVAILABLE,
                           "%s: %zu ListSecrets pages read and the listing has not ended "
                           "(AWS matches tag keys and values as prefixes, and only exact "
                           "matches count towards max: %zu); stopped: narrow the read with a "
                           "name prefix (from:) or more specific tags",
                           s->name, s->pages, s->item->ref->path_max);
    if (!s->tagged && s->pages > s->item->ref->path_max + SSM_PATH_EMPTY_PAGES)
        return inj_err_set(sm_fail_err(&s->item->fail), INJ_E_UNAVAILABLE,
                           "%s: %zu pages read and the answer has not ended, more than max: %zu "
                           "allows; stopped (an endpoint or proxy fault)",
                           s->name, s->pages, s->item->ref->path_max);
    return INJ_OK;
}

/* A read with tags whose match m could not be read: the read fails with m's error, which
 * names the secret's ARN. call: the whole BatchGetSecretValue call failed (its cause is kept,
 * to group the reads that failed alike); else the answer's Errors named m, or it lacked m (a
 * secret deleted or refused since it was listed). */
static enum inj_rc ssm_sm_match_failed(struct ssm_path *s, const struct sm_item *m, int call)
{
    struct sm_item *it = s->item;
    struct inj_err *err = sm_fail_err(&it->fail);

    if (!m->fail)
        return it->rc = inj_err_set(err, INJ_E_NOMEM, "out of memory");
    *err = m->fail->err;
    if (call) {
        inj_err_prefix(err, "%s", s->label);
        (void)snprintf(sm_fail_cause(&it->fail), AWS_CAUSE_MAX, "%s", m->fail->cause);
    } else {
        inj_err_prefix(err, "%s: a secret it matched could not be read", s->label);
    }
    it->kind = m->kind;
    it->region_down = m->region_down;
    if (call && (it->kind == AWS_K_DENIED || it->kind == AWS_K_REFUSED)) {
        ssm_sm_denied(sm_fail_err(&it->fail)->msg, sizeof(it->fail->err.msg));
        if (sm_fail_cause(&it->fail)[0])
            ssm_sm_denied(sm_fail_cause(&it->fail), AWS_CAUSE_MAX);
    }
    return it->rc = m->rc;
}

/* Secrets a BatchGetSecretValue answer could not give (a per-secret throttle or internal
 * error, or none at all: deleted since listed) get their own GetSecretValue, with its own
 * retries, as fetch.c gives a batch by ids under fetch: auto; what that ends with replaces the
 * batch's error. Out of memory, they keep the batch's. */
static void ssm_sm_read_singly(const struct sm_ctx *ctx, struct sm_batch *b, size_t nb,
                               size_t conns, size_t *api_calls)
{
    struct sm_item *one = NULL;
    struct sm_item **from = NULL;
    size_t m = 0;
    size_t x;
    size_t j;

    for (x = 0; x < nb; x++)
        for (j = 0; j < b[x].n && b[x].rc == INJ_OK; j++)
            m += b[x].items[j].rc == INJ_E_TEMPFAIL || b[x].items[j].rc == INJ_E_UNAVAILABLE;
    if (!m)
        return;
    one = calloc(m, sizeof(*one));
    from = calloc(m, sizeof(*from));
    if (!one || !from)
        goto out;
    m = 0;
    for (x = 0; x < nb; x++) {
        for (j = 0; j < b[x].n && b[x].rc == INJ_OK; j++) {
            struct sm_item *it = &b[x].items[j];

            if (it->rc != INJ_E_TEMPFAIL && it->rc != INJ_E_UNAVAILABLE)
                continue;
            log_info("%s; trying GetSecretValue", sm_fail_msg(it->fail));
            from[m] = it;
            one[m].ref = it->ref;
            one[m].deadline_ms = it->deadline_ms;
            m++;
        }
    }
    sm_get_secret_values(ctx, one, m, conns);
    if (api_calls)
        *api_calls += m;
    for (j = 0; j < m; j++) {
        sm_secret_free(&from[j]->secret);
        sm_fail_free(&from[j]->fail);
        *from[j] = one[j]; /* Transfer ownership. */
    }
out:
    free(one);
    free(from);
}

/* The reads that listed every page (with tags: their exact matches; by prefix alone: the
 * secrets its pages' Errors said to try again), read by ARN or id with
 * BatchGetSecretValue SecretIdList (sm.h's batch calls: SM_BATCH_MAX a call, every call of
 * every read at once over conns connections), each value into its read's acc as a filtered
 * page's would go, then the read finished; or the read fails with the first match it could
 * not read. *api_calls grows by the calls. */
static void ssm_sm_read_listed(const struct sm_ctx *ctx, struct ssm_path *sp, size_t n,
                               size_t conns, size_t *api_calls)
{
    struct ref *refs = NULL;
    struct sm_item *items = NULL;
    struct sm_batch *b = NULL;
    size_t total = 0;
    size_t nb = 0;
    size_t k = 0;
    size_t i;
    size_t j;

    for (i = 0; i < n; i++) {
        size_t m = sp[i].listed_all ? (size_t)cJSON_GetArraySize(sp[i].listed) : 0;

        total += m;
        nb += (m + SM_BATCH_MAX - 1) / SM_BATCH_MAX;
    }
    if (total) {
        refs = calloc(total, sizeof(*refs));
        items = calloc(total, sizeof(*items));
        b = calloc(nb, sizeof(*b));
    }
    if (total && (!refs || !items || !b)) {
        for (i = 0; i < n; i++)
            if (sp[i].listed_all)
                sp[i].item->rc =
                    inj_err_set(sm_fail_err(&sp[i].item->fail), INJ_E_NOMEM, "out of memory");
        goto out;
    }
    nb = 0;
    for (i = 0; i < n; i++) {
        const cJSON *e;
        size_t start = k;

        if (!sp[i].listed_all)
            continue;
        cJSON_ArrayForEach(e, sp[i].listed)
        {
            if (k >= total)
                break;
            /* Borrowed: listed outlives the calls. */
            refs[k].secret_id = cJSON_GetObjectItemCaseSensitive(e, "a")->valuestring;
            memcpy(refs[k].region, sp[i].item->ref->region, sizeof(refs[k].region));
            items[k].ref = &refs[k];
            items[k].deadline_ms = sp[i].item->deadline_ms;
            k++;
        }
        sp[i].batch0 = nb;
        for (j = start; j < k; j += SM_BATCH_MAX) {
            b[nb].items = &items[j];
            b[nb].n = k - j < SM_BATCH_MAX ? k - j : SM_BATCH_MAX;
            nb++;
        }
        sp[i].nbatch = nb - sp[i].batch0;
    }
    if (nb) {
        sm_batch_get_secret_values(ctx, b, nb, conns, 0);
        if (api_calls)
            *api_calls += nb;
        if (ctx->fetch_mode == SM_FETCH_UNSET || ctx->fetch_mode == SM_FETCH_AUTO)
            ssm_sm_read_singly(ctx, b, nb, conns, api_calls);
    }
    for (i = 0; i < n; i++) {
        enum inj_rc rc = INJ_OK;
        size_t x;

        if (!sp[i].listed_all)
            continue;
        for (x = sp[i].batch0; x < sp[i].batch0 + sp[i].nbatch && x < nb && rc == INJ_OK; x++) {
            if (b[x].rc != INJ_OK) {
                rc = ssm_sm_match_failed(&sp[i], &b[x].items[0], 1);
                break;
            }
            for (j = 0; j < b[x].n && rc == INJ_OK; j++) {
                struct inj_err e;

                if (b[x].items[j].rc != INJ_OK)
                    rc = ssm_sm_match_failed(&sp[i], &b[x].items[j], 0);
                else
                    rc = sp[i].item->rc =
                        sm_fail_keep(&sp[i].item->fail,
                                     sm_filter_keep(&sp[i].smp, &b[x].items[j].secret, &e), &e);
            }
        }
        if (rc == INJ_OK)
            (void)ssm_path_finish(&sp[i]);
    }
out:
    for (j = 0; items && j < total; j++) {
        sm_secret_free(&items[j].secret);
        sm_fail_free(&items[j].fail);
    }
    free(refs);
    free(items);
    free(b);
}

void ssm_get_paths(const struct sm_ctx *ctx, struct sm_item *items, size_t n, size_t conns,
                   size_t *api_calls)
{
    struct ssm_path *sp = NULL;
    struct aws_call *calls = NULL;
    size_t *idx = NULL;
    struct inj_err e;
    struct aws_ctx a;
    size_t left = n;
    size_t i;

    if (!n)
        return;
    jx_init();
    sm_aws_ctx(ctx, &a);
    sp = calloc(n, sizeof(*sp));
    calls = calloc(n, sizeof(*calls));
    idx = calloc(n, sizeof(*idx));
    for (i = 0; i < n; i++) {
        memset(&items[i].secret, 0, sizeof(items[i].secret));
        items[i].rc = INJ_E_SOFTWARE;
        items[i].kind = AWS_K_NONE;
        items[i].region_down = 0;
        sm_fail_free(&items[i].fail);
        if (!sp || !calls || !idx || !(sp[i].acc = cJSON_CreateArray())) {
            items[i].rc = inj_err_set(sm_fail_err(&items[i].fail), INJ_E_NOMEM, "out of memory");
            continue;
        }
        sp[i].item = &items[i];
        sp[i].region = sm_region_for(ctx, items[i].ref);
        sp[i].path = ssm_path_name(items[i].ref);
        sp[i].name = items[i].ref->secret_id;
        if (items[i].ref->service == REF_SM) {
            sp[i].sm = 1;
            ssm_sm_label(items[i].ref, sp[i].label, sizeof(sp[i].label));
            sp[i].name = sp[i].label;
            sp[i].smp.ctx = ctx;
            sp[i].smp.region = sp[i].region;
            sp[i].smp.ref = items[i].ref;
            sp[i].smp.label = sp[i].label;
            sp[i].smp.acc = sp[i].acc;
            if (items[i].ref->ntags) {
                sp[i].tagged = 1;
                sp[i].listed = cJSON_CreateArray();
                sp[i].smp.listed = sp[i].listed;
            } else {
                sp[i].retry = cJSON_CreateArray();
                sp[i].smp.retry = sp[i].retry;
            }
            if (!sp[i].listed && !sp[i].retry) {
                items[i].rc =
                    inj_err_set(sm_fail_err(&items[i].fail), INJ_E_NOMEM, "out of memory");
                cJSON_Delete(sp[i].acc);
                sp[i].acc = NULL;
                sp[i].smp.acc = NULL;
            }
        }
    }
    if (!sp || !calls || !idx)
        goto out;
    /* Rounds: the next page of every path still being read, all at once. */
    while (left) {
        size_t nc = 0;

        for (i = 0; i < n; i++) {
            if (sp[i].done || !sp[i].acc)
                continue;
            if (sp[i].pages && !sp[i].token) {
                sp[i].done = 1;
                left--;
                if (sp[i].retry && cJSON_GetArraySize(sp[i].retry) > 0) {
                    sp[i].listed = sp[i].retry; /* Transfer ownership: read by id below. */
                    sp[i].retry = sp[i].smp.retry = NULL;
                }
                if (sp[i].listed)
                    sp[i].listed_all = 1; /* read by ARN (or id) below */
                else
                    (void)ssm_path_finish(&sp[i]);
                continue;
            }
            memset(&calls[nc], 0, sizeof(calls[nc]));
            sp[i].smp.token = sp[i].token;
            aws_call_init(&calls[nc], &a, sp[i].sm ? &sm_service : &ssm_service,
                          sp[i].tagged ? &sm_list_op
                          : sp[i].sm   ? &sm_filter_op
                                       : &ssm_path_op,
                          sp[i].region, sp[i].name,
                          sp[i].sm ? (const void *)&sp[i].smp : (const void *)&sp[i],
                          items[i].deadline_ms ? items[i].deadline_ms : a.deadline_ms);
            idx[nc++] = i;
        }
        if (!nc)
            break;
        aws_run(&a, calls, nc, conns);
        if (api_calls)
            *api_calls += nc;
        for (i = 0; i < nc; i++) {
            struct ssm_path *s = &sp[idx[i]];
            struct sm_item *it = s->item;
            enum inj_rc rc;
            int nmatch;

            s->pages++;
            if (calls[i].end == AWS_OK && s->sm) {
                rc = sm_fail_keep(&it->fail, aws_call_parse(&calls[i], s->label, &s->smp, &e), &e);
                free(s->sent);
                s->sent = s->token;
                s->token = s->smp.next; /* Transfer ownership. */
                s->smp.next = NULL;
                /* A read with tags counts its exact matches, before any value is read; one
                 * by prefix, the values read and those to be read again. */
                nmatch = cJSON_GetArraySize(s->tagged ? s->listed : s->acc) +
                         cJSON_GetArraySize(s->retry);
                if (rc == INJ_OK && (size_t)nmatch > it->ref->path_max)
                    rc = inj_err_set(sm_fail_err(&it->fail), INJ_E_CONFIG,
                                     "%s: at least %d secrets match, more than max: %zu; raise "
                                     "max, or give a narrower prefix or tags",
                                     s->label, nmatch, it->ref->path_max);
            } else if (calls[i].end == AWS_OK) {
                rc = sm_fail_keep(&it->fail, aws_call_parse(&calls[i], it->ref->secret_id, s, &e),
                                  &e);
                if (rc == INJ_OK && (size_t)cJSON_GetArraySize(s->acc) > it->ref->path_max)
                    rc = inj_err_set(sm_fail_err(&it->fail), INJ_E_CONFIG,
                                     "%s: the path holds at least %d parameters, more than "
                                     "max: %zu; raise max, or name a narrower path",
                                     it->ref->secret_id, cJSON_GetArraySize(s->acc),
                                     it->ref->path_max);
            } else {
                rc = aws_call_error(&a, &calls[i], s->name, sm_fail_err(&it->fail),
                                    sm_fail_cause(&it->fail), AWS_CAUSE_MAX);
                it->kind = calls[i].end == AWS_FAULT ? calls[i].fault.kind : AWS_K_NONE;
                it->region_down = aws_call_region_down(&calls[i]);
                /* AWS asks for ListSecrets too when BatchGetSecretValue is given Filters. */
                if (s->sm && (it->kind == AWS_K_DENIED || it->kind == AWS_K_REFUSED)) {
                    /* In the entry's line, and in the cause that groups entries failing
                     * alike. */
                    ssm_sm_denied(sm_fail_err(&it->fail)->msg, sizeof(it->fail->err.msg));
                    if (sm_fail_cause(&it->fail)[0])
                        ssm_sm_denied(sm_fail_cause(&it->fail), AWS_CAUSE_MAX);
                }
            }
            if (rc == INJ_OK && s->token)
                rc = ssm_path_pages_check(s);
            aws_call_free(&calls[i]);
            if (rc != INJ_OK) {
                it->rc = rc;
                s->done = 1;
                left--;
            }
        }
    }
    ssm_sm_read_listed(ctx, sp, n, conns, api_calls);
out:
    for (i = 0; sp && i < n; i++) {
        free(sp[i].token);
        free(sp[i].sent);
        free(sp[i].smp.next);
        cJSON_Delete(sp[i].acc);
        cJSON_Delete(sp[i].listed);
        cJSON_Delete(sp[i].retry);
    }
    free(sp);
    free(calls);
    free(idx);
}
