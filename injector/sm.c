/* sm.c: Secrets Manager on the one AWS engine (aws.c): the service row, one row per
 * operation, request bodies and response parsers. Retries, signing and errors: the engine's
 * and awserr.c's. */
#include "sm.h"

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "jx.h"
#include "log.h"

const struct aws_service sm_service = {
    "Secrets Manager",
    "secretsmanager",
    "secretsmanager",
    "AWS_ENDPOINT_URL_SECRETS_MANAGER",
    "secretsmanager",
    &aws_json_1_1,
    "the name or ARN, the version stage/id and the region",
    "is the secret scheduled for deletion?",
};

/* What BatchGetSecretValue is given and fills. */
struct sm_batch_io {
    const struct sm_ctx *ctx;
    const char *region;
    struct sm_item *items;
    size_t n;
    char label[160]; /* the call's id in log lines: each batch its own */
};

/* Each operation's request body (from a struct ref, or a struct sm_batch_io) and parser (into
 * a struct sm_secret, a struct sm_meta, or the batch's items). */
static char *sm_get_body(const void *in);
static char *sm_describe_body(const void *in);
static char *sm_batch_body(const void *in);
static enum inj_rc sm_parse_get_op(const struct http_resp *resp, const char *id, void *out,
                                   struct inj_err *err);
static enum inj_rc sm_parse_meta_op(const struct http_resp *resp, const char *id, void *out,
                                    struct inj_err *err);
static enum inj_rc sm_parse_batch_op(const struct http_resp *resp, const char *id, void *out,
                                     struct inj_err *err);
static char *sm_filter_body(const void *in);
static enum inj_rc sm_parse_filter_op(const struct http_resp *resp, const char *id, void *out,
                                      struct inj_err *err);
static char *sm_list_body(const void *in);
static enum inj_rc sm_parse_list_op(const struct http_resp *resp, const char *id, void *out,
                                    struct inj_err *err);

/* The operations: name, IAM action, answer size cap, request body, response parser, whether
 * it returns values. */
enum sm_opid { SM_GET, SM_DESCRIBE, SM_BATCH };
static const struct aws_op sm_ops[] = {
    [SM_GET] = {"GetSecretValue", "secretsmanager:GetSecretValue", SM_MAX_RESPONSE, sm_get_body,
                sm_parse_get_op, 1},
    [SM_DESCRIBE] = {"DescribeSecret", "secretsmanager:DescribeSecret", SM_MAX_RESPONSE,
                     sm_describe_body, sm_parse_meta_op, 0},
    [SM_BATCH] = {"BatchGetSecretValue", "secretsmanager:BatchGetSecretValue",
                  SM_MAX_BATCH_RESPONSE, sm_batch_body, sm_parse_batch_op, 1},
};

/* A filtered read: BatchGetSecretValue with Filters (AWS also checks ListSecrets). */
const struct aws_op sm_filter_op = {"BatchGetSecretValue", "secretsmanager:BatchGetSecretValue",
                                    SM_MAX_BATCH_RESPONSE, sm_filter_body,
                                    sm_parse_filter_op,    1};

/* A read with tags lists its secrets to match the tags exactly (metadata, no value). */
const struct aws_op sm_list_op = {"ListSecrets",        "secretsmanager:ListSecrets",
                                  SM_MAX_LIST_RESPONSE, sm_list_body,
                                  sm_parse_list_op,     0};

void sm_secret_free(struct sm_secret *s)
{
    free(s->arn);
    free(s->name);
    free(s->version_id);
    sbuf_wipe_free(&s->value);
    memset(s, 0, sizeof(*s));
}

/* Written when a failure's own error cannot be allocated; never read. */
static struct sm_fail sm_fail_scratch;

static struct sm_fail *sm_fail_get(struct sm_fail **slot)
{
    if (!*slot)
        *slot = calloc(1, sizeof(**slot));
    return *slot ? *slot : &sm_fail_scratch;
}

struct inj_err *sm_fail_err(struct sm_fail **slot)
{
    return &sm_fail_get(slot)->err;
}

char *sm_fail_cause(struct sm_fail **slot)
{
    return sm_fail_get(slot)->cause;
}

enum inj_rc sm_fail_keep(struct sm_fail **slot, enum inj_rc rc, const struct inj_err *e)
{
    if (rc != INJ_OK)
        *sm_fail_err(slot) = *e;
    return rc;
}

const char *sm_fail_msg(const struct sm_fail *f)
{
    return f ? f->err.msg : "out of memory";
}

const char *sm_fail_why(const struct sm_fail *f)
{
    return f ? f->cause : "";
}

const char *sm_fail_action(const struct sm_fail *f)
{
    return f ? f->err.action : NULL;
}

void sm_fail_free(struct sm_fail **slot)
{
    free(*slot);
    *slot = NULL;
}

void sm_aws_ctx(const struct sm_ctx *ctx, struct aws_ctx *a)
{
    memset(a, 0, sizeof(*a));
    a->http = ctx->http;
    a->creds = ctx->creds;
    a->max_attempts = ctx->max_attempts;
    a->retry = ctx->retry;
    a->timeout_ms = ctx->timeout_ms;
    a->deadline_ms = ctx->deadline_ms;
    a->transport = ctx->transport;
    a->transport_arg = ctx->transport_arg;
}

const char *sm_region_for(const struct sm_ctx *ctx, const struct ref *ref)
{
    if (ref->region[0])
        return ref->region;
    return ctx->region;
}

static char *sm_dup_field(const cJSON *root, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, name);

    return cJSON_IsString(v) ? xstrdup(v->valuestring) : xstrdup("");
}

/* The strings of a JSON array of staging labels, comma-separated (cut at whole labels). */
static void sm_join_stages(const cJSON *arr, char *out, size_t n)
{
    const cJSON *it;
    size_t off = 0;

    out[0] = '\0';
    cJSON_ArrayForEach(it, arr)
    {
        int w;

        if (!cJSON_IsString(it))
            continue;
        w = snprintf(out + off, n - off, "%s%s", off ? "," : "", it->valuestring);
        if (w < 0 || (size_t)w >= n - off) {
            out[off] = '\0';
            break;
        }
        off += (size_t)w;
    }
}

/* SecretBinary arrives base64-encoded in the JSON. */
static enum inj_rc sm_decode_binary(const char *b64, struct sbuf *out)
{
    size_t len = strlen(b64);
    unsigned char *tmp = NULL;
    int n;
    size_t pad = 0;
    enum inj_rc rc = INJ_E_DATA;

    if (len % 4 != 0 || len > (size_t)SM_MAX_RESPONSE)
        return INJ_E_DATA;
    if (len == 0)
        return sbuf_append(out, "", 0) == SBUF_OK ? INJ_OK : INJ_E_NOMEM;
    tmp = malloc(len / 4 * 3 + 1);
    if (!tmp)
        return INJ_E_NOMEM;
    n = EVP_DecodeBlock(tmp, (const unsigned char *)b64, (int)len);
    if (n < 0)
        goto out;
    if (b64[len - 1] == '=')
        pad++;
    if (b64[len - 2] == '=')
        pad++;
    if ((size_t)n < pad)
        goto out;
    switch (sbuf_append(out, tmp, (size_t)n - pad)) {
    case SBUF_OK:
        rc = INJ_OK;
        break;
    case SBUF_NOMEM:
        rc = INJ_E_NOMEM;
        break;
    case SBUF_TOOBIG:
    default:
        rc = INJ_E_DATA;
        break;
    }
out:
    wipe_free(tmp, len / 4 * 3 + 1);
    return rc;
}

/* One secret's fields from a GetSecretValue answer or a BatchGetSecretValue SecretValues
 * entry. has_nul: the SecretString text holds an escaped NUL, which cJSON cut short. */
static enum inj_rc sm_parse_secret(const cJSON *root, int has_nul, const char *id,
                                   struct sm_secret *out, struct inj_err *err)
{
    enum inj_rc rc = INJ_E_UNAVAILABLE;
    const cJSON *s;
    const cJSON *b;

    out->arn = sm_dup_field(root, "ARN");
    out->name = sm_dup_field(root, "Name");
    out->version_id = sm_dup_field(root, "VersionId");
    if (!out->arn || !out->name || !out->version_id) {
        rc = inj_err_set(err, INJ_E_NOMEM, "out of memory");
        goto out;
    }
    sm_join_stages(cJSON_GetObjectItemCaseSensitive(root, "VersionStages"), out->stages,
                   sizeof(out->stages));
    out->value.max = SM_MAX_SECRET;
    s = cJSON_GetObjectItemCaseSensitive(root, "SecretString");
    b = cJSON_GetObjectItemCaseSensitive(root, "SecretBinary");
    if (cJSON_IsString(s)) {
        /* cJSON would truncate at an escaped NUL; a value with NUL is refused outright. */
        if (has_nul) {
            rc = inj_err_set(err, INJ_E_DATA,
                             "%s: SecretString contains a NUL character, which no environment "
                             "variable or text file can carry",
                             id);
            goto out;
        }
        switch (sbuf_append_str(&out->value, s->valuestring)) {
        case SBUF_OK:
            break;
        case SBUF_TOOBIG:
            rc = inj_err_set(err, INJ_E_DATA, "%s: secret value larger than %u bytes", id,
                             SM_MAX_SECRET);
            goto out;
        case SBUF_NOMEM:
        default:
            rc = inj_err_set(err, INJ_E_NOMEM, "out of memory");
            goto out;
        }
    } else if (cJSON_IsString(b)) {
        rc = sm_decode_binary(b->valuestring, &out->value);
        if (rc != INJ_OK) {
            if (rc == INJ_E_NOMEM)
                inj_err_set(err, rc, "out of memory");
            else
                inj_err_set(err, rc, "%s: SecretBinary is not valid base64 or too large", id);
            goto out;
        }
        out->binary = 1;
    } else {
        inj_err_set(err, rc, "%s: response has neither SecretString nor SecretBinary", id);
        goto out;
    }
    rc = INJ_OK;
out:
    return rc;
}

enum inj_rc sm_parse_value(const struct http_resp *resp, const char *id, struct sm_secret *out,
                           struct inj_err *err)
{
    enum inj_rc rc = INJ_E_UNAVAILABLE;
    cJSON *root = NULL;

    if (!resp->body.p || !jx_utf8_valid(resp->body.p, resp->body.len)) {
        inj_err_set(err, rc, "%s: Secrets Manager response is not valid UTF-8 JSON", id);
        goto out;
    }
    root = cJSON_ParseWithLength((const char *)resp->body.p, resp->body.len);
    if (!cJSON_IsObject(root)) {
        inj_err_set(err, rc,
                    "%s: Secrets Manager response is not a JSON object (truncated or not from "
                    "Secrets Manager; check AWS_ENDPOINT_URL and proxies)",
                    id);
        goto out;
    }
    /* Not memmem("\\u0000"): that also matches "\\\\u0000", a literal backslash in a value. */
    rc = sm_parse_secret(root, jx_has_escaped_nul(resp->body.p, resp->body.len), id, out, err);
out:
    cJSON_Delete(root);
    return rc;
}

/* {"SecretId": ...} for ref, with its version id and stage when versioned; NULL when out of
 * memory. */
static char *sm_id_body(const struct ref *ref, int versioned)
{
    cJSON *req = cJSON_CreateObject();
    char *body = NULL;

    if (!req || !cJSON_AddStringToObject(req, "SecretId", ref->secret_id))
        goto out;
    if (versioned && ref->version_id && !cJSON_AddStringToObject(req, "VersionId", ref->version_id))
        goto out;
    if (versioned && ref->version_stage &&
        !cJSON_AddStringToObject(req, "VersionStage", ref->version_stage))
        goto out;
    body = cJSON_PrintUnformatted(req);
out:
    cJSON_Delete(req);
    return body;
}

/* The GetSecretValue request body for a struct ref. */
static char *sm_get_body(const void *in)
{
    return sm_id_body(in, 1);
}

/* The DescribeSecret request body for a struct ref (any version: it lists them all). */
static char *sm_describe_body(const void *in)
{
    return sm_id_body(in, 0);
}

/* The BatchGetSecretValue request body for a struct sm_batch_io's items; NULL when out of
 * memory. */
static char *sm_batch_body(const void *in)
{
    const struct sm_item *items = ((const struct sm_batch_io *)in)->items;
    size_t n = ((const struct sm_batch_io *)in)->n;
    cJSON *req = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(req, "SecretIdList");
    char *body = NULL;
    size_t i;

    for (i = 0; list && i < n; i++) {
        cJSON *s = cJSON_CreateString(items[i].ref->secret_id);
        if (!s || !cJSON_AddItemToArray(list, s)) {
            cJSON_Delete(s);
            goto out;
        }
    }
    if (list)
        body = cJSON_PrintUnformatted(req);
out:
    cJSON_Delete(req);
    return body;
}

/* One call of operation op for ref, run by the engine (n = 1), its answer parsed into out;
 * otherwise err names ref's secret and the fix. *c is freed by the caller. */
static enum inj_rc sm_call_one(const struct sm_ctx *ctx, enum sm_opid op, const struct ref *ref,
                               void *out, struct aws_call *c, struct inj_err *err)
{
    struct aws_ctx a;

    jx_init();
    sm_aws_ctx(ctx, &a);
    memset(c, 0, sizeof(*c));
    aws_call_init(c, &a, &sm_service, &sm_ops[op], sm_region_for(ctx, ref), ref->secret_id, ref,
                  ctx->deadline_ms);
    aws_run(&a, c, 1, 1);
    if (c->end == AWS_OK)
        return aws_call_parse(c, ref->secret_id, out, err);
    return aws_call_error(&a, c, ref->secret_id, err, NULL, 0);
}

enum inj_rc sm_get_secret_value(const struct sm_ctx *ctx, const struct ref *ref,
                                struct sm_secret *out, struct inj_err *err)
{
    struct aws_call c;
    enum inj_rc rc;

    jx_init();
    memset(out, 0, sizeof(*out));
    rc = sm_call_one(ctx, SM_GET, ref, out, &c, err);
    aws_call_free(&c);
    if (rc != INJ_OK)
        sm_secret_free(out);
    return rc;
}

void sm_meta_free(struct sm_meta *m)
{
    size_t i;

    for (i = 0; i < m->n; i++)
        free(m->v[i].version_id);
    free(m->v);
    free(m->arn);
    memset(m, 0, sizeof(*m));
}

/* VersionIdsToStages: { "version-id": ["AWSCURRENT", ...], ... } */
static enum inj_rc sm_parse_meta(const struct http_resp *resp, const char *id, struct sm_meta *out,
                                 struct inj_err *err)
{
    enum inj_rc rc = INJ_E_UNAVAILABLE;
    cJSON *root = NULL;
    const cJSON *map;
    const cJSON *ver;
    int count;

    if (!resp->body.p || !jx_utf8_valid(resp->body.p, resp->body.len)) {
        inj_err_set(err, rc, "%s: DescribeSecret response is not valid UTF-8 JSON", id);
        goto out;
    }
    root = cJSON_ParseWithLength((const char *)resp->body.p, resp->body.len);
    map = root ? cJSON_GetObjectItemCaseSensitive(root, "VersionIdsToStages") : NULL;
    if (!cJSON_IsObject(root) || (map && !cJSON_IsObject(map))) {
        inj_err_set(err, rc, "%s: DescribeSecret response is not the expected JSON object", id);
        goto out;
    }
    out->arn = sm_dup_field(root, "ARN");
    count = map ? cJSON_GetArraySize(map) : 0;
    if (count > 10000) {
        inj_err_set(err, rc, "%s: DescribeSecret lists too many versions", id);
        goto out;
    }
    out->v = calloc(count > 0 ? (size_t)count : 1, sizeof(*out->v));
    if (!out->arn || !out->v) {
        rc = inj_err_set(err, INJ_E_NOMEM, "out of memory");
        goto out;
    }
    cJSON_ArrayForEach(ver, map)
    {
        struct sm_version_stages *v = &out->v[out->n];

        if (out->n >= (size_t)count || !ver->string || !cJSON_IsArray(ver))
            continue;
        v->version_id = xstrdup(ver->string);
        if (!v->version_id) {
            rc = inj_err_set(err, INJ_E_NOMEM, "out of memory");
            goto out;
        }
        out->n++;
        sm_join_stages(ver, v->stages, sizeof(v->stages));
    }
    rc = INJ_OK;
out:
    cJSON_Delete(root);
    return rc;
}

enum inj_rc sm_describe_secret(const struct sm_ctx *ctx, const struct ref *ref, struct sm_meta *out,
                               struct inj_err *err)
{
    struct aws_call c;
    enum inj_rc rc;

    jx_init();
    memset(out, 0, sizeof(*out));
    rc = sm_call_one(ctx, SM_DESCRIBE, ref, out, &c, err);
    if (rc != INJ_OK) {
        sm_meta_free(out);
        /* The caller then checks with GetSecretValue instead. */
        out->denied = c.end == AWS_FAULT && aws_kind_refused(c.fault.kind);
    }
    aws_call_free(&c);
    return rc;
}

/* Many secrets at once: BatchGetSecretValue (up to SM_BATCH_MAX a call) and GetSecretValue
 * over several connections, all on the engine's one retry loop. */

enum sm_fetch_mode sm_fetch_mode_parse(const char *s)
{
    if (!strcmp(s, "auto"))
        return SM_FETCH_AUTO;
    if (!strcmp(s, "batch"))
        return SM_FETCH_BATCH;
    if (!strcmp(s, "single"))
        return SM_FETCH_SINGLE;
    return SM_FETCH_UNSET;
}

const char *sm_fetch_mode_name(enum sm_fetch_mode m)
{
    switch (m) {
    case SM_FETCH_BATCH:
        return "batch";
    case SM_FETCH_SINGLE:
        return "single";
    case SM_FETCH_AUTO:
    case SM_FETCH_UNSET:
    default:
        return "auto";
    }
}

/* Moves call c's outcome (not a 200) into item it, worded for its secret. */
static void sm_item_fail(const struct aws_ctx *a, const struct aws_call *c, struct sm_item *it)
{
    it->rc = aws_call_error(a, c, it->ref->secret_id, sm_fail_err(&it->fail),
                            sm_fail_cause(&it->fail), AWS_CAUSE_MAX);
    it->kind = c->end == AWS_FAULT ? c->fault.kind : AWS_K_NONE;
    it->region_down = aws_call_region_down(c);
}

static void sm_items_reset(struct sm_item *items, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        memset(&items[i].secret, 0, sizeof(items[i].secret));
        items[i].rc = INJ_E_SOFTWARE;
        items[i].region_down = 0;
        items[i].kind = AWS_K_NONE;
        sm_fail_free(&items[i].fail);
    }
}

void sm_get_calls(const struct sm_ctx *ctx, const struct aws_ctx *a, struct sm_item *items,
                  size_t n, struct aws_call *calls)
{
    size_t i;

    sm_items_reset(items, n);
    for (i = 0; i < n; i++)
        aws_call_init(&calls[i], a, &sm_service, &sm_ops[SM_GET], sm_region_for(ctx, items[i].ref),
                      items[i].ref->secret_id, items[i].ref,
                      items[i].deadline_ms ? items[i].deadline_ms : ctx->deadline_ms);
}

void sm_get_finish(const struct aws_ctx *a, struct sm_item *items, size_t n, struct aws_call *calls)
{
    struct inj_err e;
    size_t i;

    for (i = 0; i < n; i++) {
        if (calls[i].end == AWS_OK)
            items[i].rc = sm_fail_keep(
                &items[i].fail,
                aws_call_parse(&calls[i], items[i].ref->secret_id, &items[i].secret, &e), &e);
        else
            sm_item_fail(a, &calls[i], &items[i]);
        if (items[i].rc != INJ_OK)
            sm_secret_free(&items[i].secret);
        aws_call_free(&calls[i]);
    }
}

void sm_get_secret_values(const struct sm_ctx *ctx, struct sm_item *items, size_t n, size_t conns)
{
    struct aws_call *calls = NULL;
    struct aws_ctx a;
    size_t i;

    jx_init();
    sm_aws_ctx(ctx, &a);
    sm_items_reset(items, n);
    calls = calloc(n ? n : 1, sizeof(*calls));
    if (!calls) {
        for (i = 0; i < n; i++)
            items[i].rc = inj_err_set(sm_fail_err(&items[i].fail), INJ_E_NOMEM, "out of memory");
        return;
    }
    sm_get_calls(ctx, &a, items, n, calls);
    aws_run(&a, calls, n, conns);
    sm_get_finish(&a, items, n, calls);
    free(calls);
}

/* Does a batch answer for (arn, name) belong to the requested id? exact: the id is its ARN or
 * name; else the id is its partial ARN (the ARN without its "-" and six random characters).
 * Exact matches are taken first: the full ARN of prod/a ends like the partial ARN of a secret
 * named prod/a-Zz99Yy. */
static int sm_batch_match(const char *id, const char *arn, const char *name, int exact)
{
    size_t n = strlen(id);

    if (exact)
        return !strcmp(id, arn) || !strcmp(id, name);
    return !strncmp(id, "arn:", 4) && !strncmp(arn, id, n) && arn[n] == '-' && strlen(arn + n) == 7;
}

/* The whole answer is unusable: every secret gets the same complaint under its own id. */
static enum inj_rc sm_batch_fail_all(struct sm_item *items, size_t n, enum inj_rc rc,
                                     const char *what)
{
    size_t i;

    for (i = 0; i < n; i++)
        items[i].rc =
            inj_err_set(sm_fail_err(&items[i].fail), rc, "%s: %s", items[i].ref->secret_id, what);
    return rc;
}

/* Spreads a BatchGetSecretValue answer over the items: SecretValues by ARN or name, Errors
 * by SecretId, each error worded as GetSecretValue's would be (the batch call needs
 * secretsmanager:GetSecretValue on every secret, and its per-secret errors are those). */
enum inj_rc sm_parse_batch(const struct sm_ctx *ctx, const char *region,
                           const struct http_resp *resp, struct sm_item *items, size_t n)
{
    enum inj_rc rc = INJ_E_UNAVAILABLE;
    unsigned char nul[SM_BATCH_MAX * 2] = {0};
    unsigned char done[SM_BATCH_MAX];
    struct inj_err e;
    struct aws_ctx a;
    cJSON *root = NULL;
    const cJSON *vals;
    const cJSON *errs;
    const cJSON *it;
    size_t nstr = 0;
    size_t k = 0;
    size_t nnul;
    size_t i;
    int exact;

    memset(done, 0, sizeof(done));
    sm_aws_ctx(ctx, &a);
    if (n > SM_BATCH_MAX)
        return sm_batch_fail_all(items, n, INJ_E_SOFTWARE, "internal error: batch too large");
    sm_items_reset(items, n);
    if (!resp->body.p || !jx_utf8_valid(resp->body.p, resp->body.len))
        return sm_batch_fail_all(items, n, rc, "Secrets Manager response is not valid UTF-8 JSON");
    root = cJSON_ParseWithLength((const char *)resp->body.p, resp->body.len);
    vals = cJSON_GetObjectItemCaseSensitive(root, "SecretValues");
    errs = cJSON_GetObjectItemCaseSensitive(root, "Errors");
    if (!cJSON_IsObject(root) || (vals && !cJSON_IsArray(vals)) || (errs && !cJSON_IsArray(errs))) {
        rc = sm_batch_fail_all(items, n, rc,
                               "Secrets Manager response is not a BatchGetSecretValue answer "
                               "(truncated or not from Secrets Manager; check AWS_ENDPOINT_URL "
                               "and proxies)");
        goto out;
    }
    cJSON_ArrayForEach(it, vals)
    {
        if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(it, "SecretString")))
            nstr++;
    }
    nnul = jx_member_nul(resp->body.p, resp->body.len, "SecretString", nul, sizeof(nul));
    if (nnul != nstr || nnul > sizeof(nul)) {
        rc = sm_batch_fail_all(items, n, rc,
                               "Secrets Manager response has duplicate or malformed SecretString "
                               "members");
        goto out;
    }
    for (exact = 1; exact >= 0; exact--) {
        k = 0;
        cJSON_ArrayForEach(it, vals)
        {
            const cJSON *arn = cJSON_GetObjectItemCaseSensitive(it, "ARN");
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(it, "Name");
            int has_nul = 0;

            if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(it, "SecretString")))
                has_nul = nul[k++];
            if (!cJSON_IsString(arn) || !cJSON_IsString(name))
                continue;
            for (i = 0; i < n; i++) {
                if (done[i] || !sm_batch_match(items[i].ref->secret_id, arn->valuestring,
                                               name->valuestring, exact))
                    continue;
                items[i].rc = sm_fail_keep(
                    &items[i].fail,
                    sm_parse_secret(it, has_nul, items[i].ref->secret_id, &items[i].secret, &e),
                    &e);
                done[i] = 1;
            }
        }
    }
    cJSON_ArrayForEach(it, errs)
    {
        const cJSON *sid = cJSON_GetObjectItemCaseSensitive(it, "SecretId");
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(it, "ErrorCode");
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(it, "Message");
        struct aws_fault f;
        const char *keys[2];
        struct aws_known known;

        if (!cJSON_IsString(sid))
            continue;
        aws_ctx_known(&a, keys, &known);
        aws_fault_set_known(&f, 400, cJSON_IsString(code) ? code->valuestring : "(no error code)",
                            cJSON_IsString(msg) ? msg->valuestring : NULL, &known);
        f.server_date = resp->server_date;
        for (i = 0; i < n; i++) {
            if (done[i] || strcmp(items[i].ref->secret_id, sid->valuestring) != 0)
                continue;
            items[i].rc = aws_fault_error(&a, &sm_service, &sm_ops[SM_GET], region, &f, 1,
                                          items[i].ref->secret_id, sm_fail_err(&items[i].fail),
                                          sm_fail_cause(&items[i].fail), AWS_CAUSE_MAX);
            items[i].kind = f.kind;
            done[i] = 1;
        }
    }
    for (i = 0; i < n; i++)
        if (!done[i])
            items[i].rc = inj_err_set(sm_fail_err(&items[i].fail), INJ_E_UNAVAILABLE,
                                      "%s: BatchGetSecretValue in %s answered neither its value "
                                      "nor an error for it",
                                      items[i].ref->secret_id, region);
    rc = INJ_OK;
out:
    for (i = 0; i < n; i++)
        if (items[i].rc != INJ_OK)
            sm_secret_free(&items[i].secret);
    cJSON_Delete(root);
    return rc;
}

/* What GetSecretValue may do instead of a failed batch call: it follows from the kind. */
static enum sm_batch_fail sm_batch_why(const struct aws_call *c)
{
    if (c->end != AWS_FAULT)
        return SM_BATCH_FAILED;
    if (aws_kind_refused(c->fault.kind))
        return SM_BATCH_DENIED;
    if (aws_kind_throttle(c->fault.kind))
        return SM_BATCH_THROTTLED;
    /* An endpoint that does not know the action (an older emulator, a filtering proxy), or
     * that refuses the list: GetSecretValue may still work, and names the culprit. */
    if (aws_kind_unsupported(c->fault.kind))
        return SM_BATCH_UNSUPPORTED;
    return SM_BATCH_FAILED;
}

/* The latest of items' deadlines (0, none, when one has none): one request serves them all. */
static long long sm_batch_deadline(const struct sm_ctx *ctx, const struct sm_item *items, size_t n)
{
    long long deadline = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        long long d = items[i].deadline_ms ? items[i].deadline_ms : ctx->deadline_ms;

        if (!d)
            return 0;
        if (d > deadline)
            deadline = d;
    }
    return deadline;
}

void sm_batch_get_secret_values(const struct sm_ctx *ctx, struct sm_batch *b, size_t nb,
                                size_t conns, int spare_quota)
{
    struct aws_call *calls = NULL;
    struct sm_batch_io *io = NULL;
    struct aws_ctx a;
    size_t k;
    size_t i;

    jx_init();
    sm_aws_ctx(ctx, &a);
    calls = calloc(nb ? nb : 1, sizeof(*calls));
    io = calloc(nb ? nb : 1, sizeof(*io));
    for (k = 0; k < nb; k++) {
        b[k].why = SM_BATCH_FAILED;
        sm_items_reset(b[k].items, b[k].n);
        if (!calls || !io)
            b[k].rc = sm_batch_fail_all(b[k].items, b[k].n, INJ_E_NOMEM, "out of memory");
        else if (!b[k].n || b[k].n > SM_BATCH_MAX)
            b[k].rc = sm_batch_fail_all(b[k].items, b[k].n, INJ_E_SOFTWARE,
                                        "internal error: bad batch size");
        else
            b[k].rc = INJ_OK;
    }
    if (!calls || !io)
        goto out;
    for (k = 0; k < nb; k++) {
        if (b[k].rc != INJ_OK) {
            calls[k].end = AWS_SETUP; /* not run */
            continue;
        }
        (void)snprintf(io[k].label, sizeof(io[k].label), "%s%s", b[k].items[0].ref->secret_id,
                       b[k].n > 1 ? " and the rest of its batch" : "");
        io[k].ctx = ctx;
        io[k].region = sm_region_for(ctx, b[k].items[0].ref);
        io[k].items = b[k].items;
        io[k].n = b[k].n;
        aws_call_init(&calls[k], &a, &sm_service, &sm_ops[SM_BATCH], io[k].region, io[k].label,
                      &io[k], sm_batch_deadline(ctx, b[k].items, b[k].n));
        calls[k].spare_throttle = spare_quota;
    }
    /* Every batch at once, each on its own connection (a few at most). */
    aws_run(&a, calls, nb, conns);
    for (k = 0; k < nb; k++) {
        if (b[k].rc != INJ_OK)
            continue;
        if (calls[k].end == AWS_OK) {
            b[k].rc = aws_call_parse(&calls[k], io[k].label, &io[k], NULL);
        } else {
            b[k].why = sm_batch_why(&calls[k]);
            for (i = 0; i < b[k].n; i++)
                sm_item_fail(&a, &calls[k], &b[k].items[i]);
            b[k].rc = b[k].items[0].rc;
        }
        for (i = 0; i < b[k].n; i++)
            if (b[k].items[i].rc != INJ_OK)
                sm_secret_free(&b[k].items[i].secret);
        aws_call_free(&calls[k]);
    }
out:
    free(calls);
    free(io);
}

enum inj_rc sm_batch_get_secret_value(const struct sm_ctx *ctx, struct sm_item *items, size_t n,
                                      int spare_quota, enum sm_batch_fail *why)
{
    struct sm_batch b;

    b.items = items;
    b.n = n;
    sm_batch_get_secret_values(ctx, &b, 1, 1, spare_quota);
    *why = b.why;
    return b.rc;
}

static enum inj_rc sm_parse_get_op(const struct http_resp *resp, const char *id, void *out,
                                   struct inj_err *err)
{
    return sm_parse_value(resp, id, out, err);
}

static enum inj_rc sm_parse_meta_op(const struct http_resp *resp, const char *id, void *out,
                                    struct inj_err *err)
{
    return sm_parse_meta(resp, id, out, err);
}

/* Each item gets its own outcome; err is unused. */
static enum inj_rc sm_parse_batch_op(const struct http_resp *resp, const char *id, void *out,
                                     struct inj_err *err)
{
    struct sm_batch_io *io = out;

    (void)id;
    (void)err;
    return sm_parse_batch(io->ctx, io->region, resp, io->items, io->n);
}

/* ---- Secrets by name prefix or tags ------------------------------------------------------ */

const char *sm_filter_key(const char *prefix, const char *name)
{
    size_t n = strlen(prefix);

    if (strncmp(name, prefix, n) != 0)
        return NULL;
    name += n;
    while (n && *name == '/')
        name++;
    return *name ? name : NULL;
}

/* {"Key": key, "Values": [value]} appended to filters; 0, or -1 when out of memory. */
static int sm_filter_add(cJSON *filters, const char *key, const char *value)
{
    cJSON *f = cJSON_CreateObject();
    cJSON *vals = f ? cJSON_AddArrayToObject(f, "Values") : NULL;
    cJSON *v = cJSON_CreateString(value);

    if (!f || !vals || !v || !cJSON_AddStringToObject(f, "Key", key) ||
        !cJSON_AddItemToArray(vals, v)) {
        cJSON_Delete(v);
        cJSON_Delete(f);
        return -1;
    }
    if (!cJSON_AddItemToArray(filters, f)) {
        cJSON_Delete(f);
        return -1;
    }
    return 0;
}

/* {"Filters": [...], "MaxResults": max[, "NextToken": T]}. Each tag is a tag-key and a
 * tag-value filter: AWS matches both as prefixes, independently of each other. NULL when out
 * of memory. */
static cJSON *sm_filter_req(const struct sm_filter_page *pg, int max)
{
    cJSON *req = cJSON_CreateObject();
    cJSON *filters = req ? cJSON_AddArrayToObject(req, "Filters") : NULL;
    size_t i;

    if (!filters)
        goto fail;
    if (pg->ref->secret_id[0] && sm_filter_add(filters, "name", pg->ref->secret_id) != 0)
        goto fail;
    for (i = 0; i < pg->ref->ntags; i++)
        if (sm_filter_add(filters, "tag-key", pg->ref->tags[i].key) != 0 ||
            sm_filter_add(filters, "tag-value", pg->ref->tags[i].value) != 0)
            goto fail;
    if (!cJSON_AddNumberToObject(req, "MaxResults", max) ||
        (pg->token && !cJSON_AddStringToObject(req, "NextToken", pg->token)))
        goto fail;
    return req;
fail:
    cJSON_Delete(req);
    return NULL;
}

/* BatchGetSecretValue: the filters, 20 a page. */
static char *sm_filter_body(const void *in)
{
    cJSON *req = sm_filter_req(in, SM_FILTER_PAGE);
    char *body = req ? cJSON_PrintUnformatted(req) : NULL;

    cJSON_Delete(req);
    return body;
}

/* ListSecrets: the filters, 100 a page, without the secrets scheduled for deletion (which
 * BatchGetSecretValue could not read). */
static char *sm_list_body(const void *in)
{
    cJSON *req = sm_filter_req(in, SM_LIST_PAGE);
    char *body = NULL;

    if (req && cJSON_AddBoolToObject(req, "IncludePlannedDeletion", 0))
        body = cJSON_PrintUnformatted(req);
    cJSON_Delete(req);
    return body;
}

/* The key of a secret a filtered read's answer (of action) named, or the read's failure: a
 * secret named as the prefix itself has no key (a config fix), a name that does not start
 * with the prefix is not used. */
static enum inj_rc sm_filter_name_key(const struct sm_filter_page *pg, const char *action,
                                      const char *name, const char **key, struct inj_err *err)
{
    const char *prefix = pg->ref->secret_id;

    *key = sm_filter_key(prefix, name);
    if (*key)
        return INJ_OK;
    if (prefix[0] && !strncmp(name, prefix, strlen(prefix))) {
        /* "prod/app" beside "prod/app/db": a secret named as the prefix has no key. */
        int slash = prefix[strlen(prefix) - 1] == '/';

        return inj_err_set(err, INJ_E_CONFIG,
                           "%s: the secret %.200s is named as the prefix itself, so it has no key "
                           "below it; %s%.200s%s",
                           pg->label, name, slash ? "" : "end the prefix with '/' (",
                           slash ? "" : prefix,
                           slash ? "rename it, or read it with an entry of its own"
                                 : "/) to read only the secrets under it");
    }
    return inj_err_set(err, INJ_E_UNAVAILABLE,
                       "%s: %s answered the secret %.200s, whose name %s; not used", pg->label,
                       action, name, prefix[0] ? "does not start with the prefix" : "is empty");
}

/* Whether listed ([{"s": NAME, "a": ARN}], or a retry list [{"a": SECRETID}]) holds arn. */
static int sm_listed_has(const cJSON *listed, const char *arn)
{
    const cJSON *one;

    cJSON_ArrayForEach(one, listed)
    {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(one, "a");

        if (cJSON_IsString(a) && !strcmp(a->valuestring, arn))
            return 1;
    }
    return 0;
}

/* Adds {"a": id} to retry (struct sm_filter_page). 0, or -1 out of memory. */
static int sm_retry_add(cJSON *retry, const char *id)
{
    cJSON *one = cJSON_CreateObject();

    if (!one || !cJSON_AddStringToObject(one, "a", id) || !cJSON_AddItemToArray(retry, one)) {
        cJSON_Delete(one);
        return -1;
    }
    return 0;
}

/* sec, whose name has the key key, into pg->acc: {"k", "v", "n", "s"}. */
static enum inj_rc sm_filter_put(const struct sm_filter_page *pg, const char *key,
                                 const struct sm_secret *sec, struct inj_err *err)
{
    cJSON *one = NULL;

    if (sec->binary && (memchr(sec->value.p, '\0', sec->value.len) ||
                        !jx_utf8_valid(sec->value.p, sec->value.len)))
        return inj_err_set(
            err, INJ_E_DATA,
            "%s: the secret %.200s is a SecretBinary that is not UTF-8 text without "
            "NUL bytes, which no variable of a prefix read can hold (read it with its "
            "own entry and encoding: base64)",
            pg->label, sec->name);
    one = cJSON_CreateObject();
    if (!one || !cJSON_AddItemToArray(pg->acc, one)) {
        cJSON_Delete(one);
        return inj_err_set(err, INJ_E_NOMEM, "out of memory");
    }
    if (!cJSON_AddStringToObject(one, "k", key) ||
        !cJSON_AddStringToObject(one, "v", sec->value.p ? (const char *)sec->value.p : "") ||
        !cJSON_AddStringToObject(one, "n", sec->version_id) ||
        !cJSON_AddStringToObject(one, "s", sec->name))
        return inj_err_set(err, INJ_E_NOMEM, "out of memory");
    return INJ_OK;
}

enum inj_rc sm_filter_keep(const struct sm_filter_page *pg, const struct sm_secret *sec,
                           struct inj_err *err)
{
    const char *key;
    enum inj_rc rc;

    rc = sm_filter_name_key(pg, "BatchGetSecretValue", sec->name, &key, err);
    return rc == INJ_OK ? sm_filter_put(pg, key, sec, err) : rc;
}

/* One SecretValues item into acc: {"k", "v", "n", "s"}. */
static enum inj_rc sm_filter_take(const struct sm_filter_page *pg, const cJSON *it, int has_nul,
                                  struct inj_err *err)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(it, "Name");
    struct sm_secret sec;
    const char *key;
    enum inj_rc rc;

    memset(&sec, 0, sizeof(sec));
    if (!cJSON_IsString(name) || !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(it, "ARN")) ||
        !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(it, "VersionId")))
        return inj_err_set(err, INJ_E_UNAVAILABLE,
                           "%s: BatchGetSecretValue answered a secret without a Name, "
                           "ARN or VersionId",
                           pg->label);
    /* The name first: a secret outside the prefix is refused before its value is looked at. */
    rc = sm_filter_name_key(pg, "BatchGetSecretValue", name->valuestring, &key, err);
    if (rc != INJ_OK)
        return rc;
    rc = sm_parse_secret(it, has_nul, name->valuestring, &sec, err);
    if (rc != INJ_OK)
        inj_err_prefix(err, "%s", pg->label);
    else
        rc = sm_filter_put(pg, key, &sec, err);
    sm_secret_free(&sec);
    return rc;
}

enum inj_rc sm_parse_filter_page(struct sm_filter_page *pg, const struct http_resp *resp,
                                 struct inj_err *err)
{
    enum inj_rc rc = INJ_E_UNAVAILABLE;
    unsigned char nul[SM_FILTER_PAGE * 2] = {0};
    cJSON *root = NULL;
    const cJSON *vals;
    const cJSON *errs;
    const cJSON *next;
    const cJSON *it;
    size_t nstr = 0;
    size_t nval = 0;
    size_t k = 0;

    free(pg->next);
    pg->next = NULL;
    if (!resp->body.p || !jx_utf8_valid(resp->body.p, resp->body.len))
        return inj_err_set(err, rc, "%s: Secrets Manager response is not valid UTF-8 JSON",
                           pg->label);
    root = cJSON_ParseWithLength((const char *)resp->body.p, resp->body.len);
    vals = cJSON_GetObjectItemCaseSensitive(root, "SecretValues");
    errs = cJSON_GetObjectItemCaseSensitive(root, "Errors");
    next = cJSON_GetObjectItemCaseSensitive(root, "NextToken");
    if (!cJSON_IsObject(root) || (vals && !cJSON_IsArray(vals)) || (errs && !cJSON_IsArray(errs)) ||
        !jx_token_valid(next)) {
        rc = inj_err_set(err, rc,
                         "%s: Secrets Manager response is not a BatchGetSecretValue answer "
                         "(truncated or not from Secrets Manager; check AWS_ENDPOINT_URL and "
                         "proxies)",
                         pg->label);
        goto out;
    }
    cJSON_ArrayForEach(it, errs)
    {
        const cJSON *sid = cJSON_GetObjectItemCaseSensitive(it, "SecretId");
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(it, "ErrorCode");
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(it, "Message");
        struct aws_ctx a;
        struct aws_fault f;
        const char *keys[2];
        struct aws_known known;

        /* A secret under the prefix that the role may not read fails the entry (reads with
         * tags list first and read their exact matches by ARN: sm_parse_batch words those). */
        sm_aws_ctx(pg->ctx, &a);
        aws_ctx_known(&a, keys, &known);
        aws_fault_set_known(&f, 400, cJSON_IsString(code) ? code->valuestring : "(no error code)",
                            cJSON_IsString(msg) ? msg->valuestring : NULL, &known);
        f.server_date = resp->server_date;
        rc = aws_fault_error(&a, &sm_service, &sm_ops[SM_GET], pg->region, &f, 1,
                             cJSON_IsString(sid) ? sid->valuestring : "(a secret)", err, NULL, 0);
        /* A throttle or an internal error on one secret is worth another try: by its id,
         * once the pages are read (ssm.c), as fetch.c gives a batch by ids. */
        if (pg->retry && cJSON_IsString(sid) &&
            (f.kind == AWS_K_THROTTLED || f.kind == AWS_K_TRANSIENT)) {
            log_info("%s: %s; reading it again by its id", pg->label, err->msg);
            if (!sm_listed_has(pg->retry, sid->valuestring) &&
                sm_retry_add(pg->retry, sid->valuestring) != 0) {
                rc = inj_err_set(err, INJ_E_NOMEM, "out of memory");
                goto out;
            }
            continue;
        }
        inj_err_prefix(err, "%s: a secret it matched could not be read", pg->label);
        goto out;
    }
    rc = INJ_E_UNAVAILABLE; /* What a malformed page below fails with. */
    cJSON_ArrayForEach(it, vals)
    {
        nval++;
        if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(it, "SecretString")))
            nstr++;
    }
    if (nval > SM_FILTER_PAGE ||
        jx_member_nul(resp->body.p, resp->body.len, "SecretString", nul, sizeof(nul)) != nstr) {
        rc = inj_err_set(err, rc,
                         "%s: Secrets Manager response has more than %d, duplicate or malformed "
                         "SecretString members",
                         pg->label, SM_FILTER_PAGE);
        goto out;
    }
    cJSON_ArrayForEach(it, vals)
    {
        int has_nul = 0;

        if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(it, "SecretString")))
            has_nul = nul[k++];
        rc = sm_filter_take(pg, it, has_nul, err);
        if (rc != INJ_OK)
            goto out;
    }
    if (jx_token_dup(next, &pg->next) != 0) {
        rc = inj_err_set(err, INJ_E_NOMEM, "out of memory");
        goto out;
    }
    rc = INJ_OK;
out:
    cJSON_Delete(root);
    return rc;
}

static enum inj_rc sm_parse_filter_op(const struct http_resp *resp, const char *id, void *out,
                                      struct inj_err *err)
{
    (void)id;
    return sm_parse_filter_page(out, resp, err);
}

/* Does a ListSecrets item's Tags ([{"Key": K, "Value": V}, ...]) carry every tag of ref, key
 * and value equal? */
static int sm_tags_match(const struct ref *ref, const cJSON *tags)
{
    size_t i;

    for (i = 0; i < ref->ntags; i++) {
        const cJSON *t;
        int found = 0;

        cJSON_ArrayForEach(t, tags)
        {
            const cJSON *k = cJSON_GetObjectItemCaseSensitive(t, "Key");
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(t, "Value");

            if (cJSON_IsString(k) && cJSON_IsString(v) &&
                !strcmp(k->valuestring, ref->tags[i].key) &&
                !strcmp(v->valuestring, ref->tags[i].value)) {
                found = 1;
                break;
            }
        }
        if (!found)
            return 0;
    }
    return 1;
}

enum inj_rc sm_parse_list_page(struct sm_filter_page *pg, const struct http_resp *resp,
                               struct inj_err *err)
{
    enum inj_rc rc = INJ_E_UNAVAILABLE;
    cJSON *root = NULL;
    const cJSON *list;
    const cJSON *next;
    const cJSON *it;

    free(pg->next);
    pg->next = NULL;
    if (!resp->body.p || !jx_utf8_valid(resp->body.p, resp->body.len))
        return inj_err_set(err, rc, "%s: Secrets Manager response is not valid UTF-8 JSON",
                           pg->label);
    root = cJSON_ParseWithLength((const char *)resp->body.p, resp->body.len);
    list = cJSON_GetObjectItemCaseSensitive(root, "SecretList");
    next = cJSON_GetObjectItemCaseSensitive(root, "NextToken");
    if (!cJSON_IsObject(root) || (list && !cJSON_IsArray(list)) ||
        cJSON_GetArraySize(list) > SM_LIST_PAGE || !jx_token_valid(next)) {
        rc = inj_err_set(err, rc,
                         "%s: Secrets Manager response is not a ListSecrets answer of at most %d "
                         "secrets (truncated or not from Secrets Manager; check AWS_ENDPOINT_URL "
                         "and proxies)",
                         pg->label, SM_LIST_PAGE);
        goto out;
    }
    cJSON_ArrayForEach(it, list)
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(it, "Name");
        const cJSON *arn = cJSON_GetObjectItemCaseSensitive(it, "ARN");
        const cJSON *tags = cJSON_GetObjectItemCaseSensitive(it, "Tags");
        const char *key;
        cJSON *one;

        if (!cJSON_IsString(name) || !cJSON_IsString(arn) || !arn->valuestring[0] ||
            (tags && !cJSON_IsArray(tags) && !cJSON_IsNull(tags))) {
            rc = inj_err_set(err, INJ_E_UNAVAILABLE,
                             "%s: ListSecrets answered a secret without a Name or ARN, or with "
                             "Tags that are not a list",
                             pg->label);
            goto out;
        }
        /* AWS's tag-key and tag-value filters match prefixes, each on its own: {team: api}
         * also lists team=apiary and {owner: api, team: web}. Only exact pairs count. */
        if (!sm_tags_match(pg->ref, tags))
            continue;
        rc = sm_filter_name_key(pg, "ListSecrets", name->valuestring, &key, err);
        if (rc != INJ_OK)
            goto out;
        /* A secret listed again (an endpoint that pages by offset while secrets are created)
         * is one match, counted and read once. */
        if (sm_listed_has(pg->listed, arn->valuestring))
            continue;
        one = cJSON_CreateObject();
        if (!one || !cJSON_AddItemToArray(pg->listed, one)) {
            cJSON_Delete(one);
            rc = inj_err_set(err, INJ_E_NOMEM, "out of memory");
            goto out;
        }
        if (!cJSON_AddStringToObject(one, "s", name->valuestring) ||
            !cJSON_AddStringToObject(one, "a", arn->valuestring)) {
            rc = inj_err_set(err, INJ_E_NOMEM, "out of memory");
            goto out;
        }
    }
    if (jx_token_dup(next, &pg->next) != 0) {
        rc = inj_err_set(err, INJ_E_NOMEM, "out of memory");
        goto out;
    }
    rc = INJ_OK;
out:
    cJSON_Delete(root);
    return rc;
}

static enum inj_rc sm_parse_list_op(const struct http_resp *resp, const char *id, void *out,
                                    struct inj_err *err)
{
    (void)id;
    return sm_parse_list_page(out, resp, err);
}
