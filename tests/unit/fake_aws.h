/* fake_aws.h: a canned AWS endpoint under the engine's transport seam (aws.h aws_transport_fn,
 * sm_ctx.transport): every call is logged (operation from X-Amz-Target, secret ids, version,
 * region) and answered by a handler; fake_sm_answer is a small Secrets Manager over a table of
 * secrets (GetSecretValue, DescribeSecret, BatchGetSecretValue); and stderr captured, for what
 * the calls logged. Include after unit.h. */
#ifndef INJ_FAKE_AWS_H
#define INJ_FAKE_AWS_H

#include <cjson/cJSON.h>

#include "http.h"
#include "sm.h"

#define FAKE_MAX_CALLS 64
#define FAKE_MAX_SECRETS 8

/* One call the fake saw. */
struct fake_call {
    char action[40];  /* "GetSecretValue", from "X-Amz-Target: secretsmanager.GetSecretValue" */
    char ids[2048];   /* SecretId, or a batch's SecretIdList (GetParameters' Names) joined by "," */
    char version[64]; /* the VersionStage or VersionId asked for, "" when none */
    char region[32];  /* from https://secretsmanager.REGION.amazonaws.com */
};

/* A secret of fake_sm_answer's table. */
struct fake_secret {
    const char *id;             /* its name: SecretId and Name */
    const char *version;        /* the version id carrying AWSCURRENT */
    const char *value;          /* its SecretString */
    const char *prev_version;   /* the version id carrying AWSPREVIOUS, NULL: none */
    const char *prev_value;     /* ... and its SecretString */
    const char *error;          /* not NULL: every read of it answers this AWS error code */
    const char *describe_error; /* not NULL: DescribeSecret answers this AWS error code */
};

struct fake_aws;

/* Answers one call: action is the operation, in the parsed request body (may be NULL). */
typedef void (*fake_handler_fn)(struct fake_aws *fa, const struct http_req *req, const char *action,
                                const cJSON *in, struct http_resp *resp);

struct fake_aws {
    fake_handler_fn handle; /* NULL: fake_sm_answer */
    void *arg;              /* the handler's own state */
    struct fake_secret secrets[FAKE_MAX_SECRETS];
    size_t nsecrets;
    const char *batch_error; /* not NULL: BatchGetSecretValue as a whole answers this code */
    struct fake_call calls[FAKE_MAX_CALLS];
    size_t ncalls; /* may exceed FAKE_MAX_CALLS; only the first are logged */
};

/* The answer: status and body (body up to the batch call's cap). */
static inline void fake_answer(struct http_resp *resp, long status, const char *body)
{
    resp->status = status;
    resp->body.max = SM_MAX_BATCH_RESPONSE;
    assert_int_equal(sbuf_append(&resp->body, body, strlen(body)), SBUF_OK);
}

/* An AWS JSON error answer: HTTP 400 with {"__type": code, "message": ...}. */
static inline void fake_answer_error(struct http_resp *resp, const char *code)
{
    char body[256];

    (void)snprintf(body, sizeof(body), "{\"__type\":\"%s\",\"message\":\"canned %s\"}", code, code);
    fake_answer(resp, 400, body);
}

/* The operation of req: what follows "X-Amz-Target: secretsmanager." or
 * "X-Amz-Target: AmazonSSM." ("" when absent). */
static inline const char *fake_action(const struct http_req *req)
{
    static const char prefix[] = "X-Amz-Target: secretsmanager.";
    static const char ssm[] = "X-Amz-Target: AmazonSSM.";
    size_t i;

    for (i = 0; req->headers && req->headers[i]; i++) {
        if (!strncmp(req->headers[i], prefix, sizeof(prefix) - 1))
            return req->headers[i] + sizeof(prefix) - 1;
        if (!strncmp(req->headers[i], ssm, sizeof(ssm) - 1))
            return req->headers[i] + sizeof(ssm) - 1;
    }
    return "";
}

/* "https://secretsmanager.REGION.amazonaws.com" (or ssm.REGION...) -> REGION */
static inline void fake_url_region(const char *url, char *out, size_t n)
{
    const char *p = strchr(url, '.');
    const char *q = p ? strchr(p + 1, '.') : NULL;

    assert_non_null(q);
    (void)snprintf(out, n, "%.*s", (int)(q - p - 1), p + 1);
}

static inline const char *fake_str(const cJSON *o, const char *name)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, name);

    return cJSON_IsString(s) ? s->valuestring : NULL;
}

static inline void fake_log(struct fake_aws *fa, const struct http_req *req, const char *action,
                            const cJSON *in)
{
    struct fake_call *c;
    const cJSON *list;
    const cJSON *id;
    const char *v;
    size_t off = 0;

    if (fa->ncalls++ >= FAKE_MAX_CALLS)
        return;
    c = &fa->calls[fa->ncalls - 1];
    memset(c, 0, sizeof(*c));
    (void)snprintf(c->action, sizeof(c->action), "%s", action);
    fake_url_region(req->url, c->region, sizeof(c->region));
    v = fake_str(in, "VersionId") ? fake_str(in, "VersionId") : fake_str(in, "VersionStage");
    (void)snprintf(c->version, sizeof(c->version), "%s", v ? v : "");
    if (fake_str(in, "SecretId")) {
        (void)snprintf(c->ids, sizeof(c->ids), "%s", fake_str(in, "SecretId"));
        return;
    }
    /* A batch's SecretIdList, or GetParameters' Names. */
    list = cJSON_GetObjectItemCaseSensitive(in, "SecretIdList");
    if (!list)
        list = cJSON_GetObjectItemCaseSensitive(in, "Names");
    cJSON_ArrayForEach(id, list)
    {
        int w = snprintf(c->ids + off, sizeof(c->ids) - off, "%s%s", off ? "," : "",
                         cJSON_IsString(id) ? id->valuestring : "?");
        assert_true(w > 0 && (size_t)w < sizeof(c->ids) - off);
        off += (size_t)w;
    }
}

/* Calls of action seen so far (every call when action is NULL). */
static inline size_t fake_count(const struct fake_aws *fa, const char *action)
{
    size_t n = 0;
    size_t i;

    assert_true(fa->ncalls <= FAKE_MAX_CALLS);
    for (i = 0; i < fa->ncalls; i++)
        n += !action || !strcmp(fa->calls[i].action, action);
    return n;
}

/* Calls of action for exactly ids (a batch's list joined by ",") and version ("" none). */
static inline size_t fake_count_for(const struct fake_aws *fa, const char *action, const char *ids,
                                    const char *version)
{
    size_t n = 0;
    size_t i;

    assert_true(fa->ncalls <= FAKE_MAX_CALLS);
    for (i = 0; i < fa->ncalls; i++)
        n += !strcmp(fa->calls[i].action, action) && !strcmp(fa->calls[i].ids, ids) &&
             !strcmp(fa->calls[i].version, version);
    return n;
}

static inline void fake_forget_calls(struct fake_aws *fa)
{
    memset(fa->calls, 0, sizeof(fa->calls));
    fa->ncalls = 0;
}

/* Adds a secret to the table (AWSCURRENT only; set the other fields on the result). */
static inline struct fake_secret *fake_add(struct fake_aws *fa, const char *id, const char *version,
                                           const char *value)
{
    struct fake_secret *s;

    assert_true(fa->nsecrets < FAKE_MAX_SECRETS);
    s = &fa->secrets[fa->nsecrets++];
    memset(s, 0, sizeof(*s));
    s->id = id;
    s->version = version;
    s->value = value;
    return s;
}

static inline struct fake_secret *fake_find(struct fake_aws *fa, const char *id)
{
    size_t i;

    for (i = 0; id && i < fa->nsecrets; i++)
        if (!strcmp(fa->secrets[i].id, id))
            return &fa->secrets[i];
    return NULL;
}

/* A GetSecretValue answer (a SecretValues element of the batch's) for s at version vid; its
 * ARN is arn:aws:secretsmanager:eu-central-1:111122223333:secret:ID-Ab12Cd. */
static inline cJSON *fake_secret_json(const struct fake_secret *s, const char *vid,
                                      const char *value, const char *stage)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *stages;
    char arn[200];

    (void)snprintf(arn, sizeof(arn),
                   "arn:aws:secretsmanager:eu-central-1:111122223333:secret:%s-Ab12Cd", s->id);
    assert_non_null(cJSON_AddStringToObject(o, "ARN", arn));
    assert_non_null(cJSON_AddStringToObject(o, "Name", s->id));
    assert_non_null(cJSON_AddStringToObject(o, "VersionId", vid));
    assert_non_null(cJSON_AddStringToObject(o, "SecretString", value));
    stages = cJSON_AddArrayToObject(o, "VersionStages");
    assert_non_null(stages);
    assert_true(cJSON_AddItemToArray(stages, cJSON_CreateString(stage)));
    return o;
}

/* GetSecretValue for in's SecretId at its VersionStage / VersionId (AWSCURRENT by default). */
static inline cJSON *fake_sm_get(struct fake_aws *fa, const cJSON *in, const char **code)
{
    const struct fake_secret *s = fake_find(fa, fake_str(in, "SecretId"));
    const char *stage = fake_str(in, "VersionStage");
    const char *vid = fake_str(in, "VersionId");

    *code = "ResourceNotFoundException";
    if (!s)
        return NULL;
    if (s->error) {
        *code = s->error;
        return NULL;
    }
    if ((!stage || !strcmp(stage, "AWSCURRENT")) && (!vid || !strcmp(vid, s->version)))
        return fake_secret_json(s, s->version, s->value, "AWSCURRENT");
    if (s->prev_version && (!stage || !strcmp(stage, "AWSPREVIOUS")) &&
        (!vid || !strcmp(vid, s->prev_version)))
        return fake_secret_json(s, s->prev_version, s->prev_value, "AWSPREVIOUS");
    return NULL;
}

/* DescribeSecret: the ARN and VersionIdsToStages (no value). */
static inline cJSON *fake_sm_describe(struct fake_aws *fa, const cJSON *in, const char **code)
{
    const struct fake_secret *s = fake_find(fa, fake_str(in, "SecretId"));
    cJSON *o;
    cJSON *map;
    cJSON *stages;

    *code = "ResourceNotFoundException";
    if (!s)
        return NULL;
    if (s->describe_error) {
        *code = s->describe_error;
        return NULL;
    }
    o = fake_secret_json(s, s->version, "", "AWSCURRENT");
    cJSON_DeleteItemFromObjectCaseSensitive(o, "SecretString");
    cJSON_DeleteItemFromObjectCaseSensitive(o, "VersionId");
    cJSON_DeleteItemFromObjectCaseSensitive(o, "VersionStages");
    map = cJSON_AddObjectToObject(o, "VersionIdsToStages");
    stages = cJSON_AddArrayToObject(map, s->version);
    assert_true(cJSON_AddItemToArray(stages, cJSON_CreateString("AWSCURRENT")));
    if (s->prev_version) {
        stages = cJSON_AddArrayToObject(map, s->prev_version);
        assert_true(cJSON_AddItemToArray(stages, cJSON_CreateString("AWSPREVIOUS")));
    }
    return o;
}

/* BatchGetSecretValue: SecretValues for the secrets it has, Errors for the others. */
static inline cJSON *fake_sm_batch(struct fake_aws *fa, const cJSON *in)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *vals = cJSON_AddArrayToObject(o, "SecretValues");
    cJSON *errs = cJSON_AddArrayToObject(o, "Errors");
    const cJSON *id;

    cJSON_ArrayForEach(id, cJSON_GetObjectItemCaseSensitive(in, "SecretIdList"))
    {
        cJSON *q = cJSON_CreateObject();
        const char *code = NULL;
        cJSON *v;

        assert_non_null(cJSON_AddStringToObject(q, "SecretId", id->valuestring));
        v = fake_sm_get(fa, q, &code);
        if (v) {
            assert_true(cJSON_AddItemToArray(vals, v));
        } else {
            cJSON *e = cJSON_CreateObject();

            assert_non_null(cJSON_AddStringToObject(e, "SecretId", id->valuestring));
            assert_non_null(cJSON_AddStringToObject(e, "ErrorCode", code));
            assert_non_null(cJSON_AddStringToObject(e, "Message", "canned item error"));
            assert_true(cJSON_AddItemToArray(errs, e));
        }
        cJSON_Delete(q);
    }
    return o;
}

/* The Secrets Manager over fa->secrets. */
static inline void fake_sm_answer(struct fake_aws *fa, const struct http_req *req,
                                  const char *action, const cJSON *in, struct http_resp *resp)
{
    const char *code = "UnknownOperationException";
    cJSON *out = NULL;
    char *text;

    (void)req;
    if (!strcmp(action, "GetSecretValue"))
        out = fake_sm_get(fa, in, &code);
    else if (!strcmp(action, "DescribeSecret"))
        out = fake_sm_describe(fa, in, &code);
    else if (!strcmp(action, "BatchGetSecretValue") && fa->batch_error)
        code = fa->batch_error;
    else if (!strcmp(action, "BatchGetSecretValue"))
        out = fake_sm_batch(fa, in);
    if (!out) {
        fake_answer_error(resp, code);
        return;
    }
    text = cJSON_PrintUnformatted(out);
    assert_non_null(text);
    fake_answer(resp, 200, text);
    cJSON_free(text);
    cJSON_Delete(out);
}

/* The transport: logs and answers every call (fa is transport_arg). */
static inline enum inj_rc fake_transport(void *arg, struct http_call *calls, size_t n, size_t conns)
{
    struct fake_aws *fa = arg;
    size_t i;

    assert_true(conns >= 1);
    for (i = 0; i < n; i++) {
        const struct http_req *req = calls[i].req;
        cJSON *in = cJSON_ParseWithLength(req->body, req->body_len);
        const char *action = fake_action(req);

        assert_non_null(req->sigv4);
        fake_log(fa, req, action, in);
        if (fa->handle)
            fa->handle(fa, req, action, in, calls[i].resp);
        else
            fake_sm_answer(fa, req, action, in, calls[i].resp);
        calls[i].rc = INJ_OK;
        cJSON_Delete(in);
    }
    return INJ_OK;
}

/* stderr (where log.h writes) captured into a temp file, to check what a call logged. */
struct fake_stderr {
    FILE *f;
    int saved;
};

static inline void fake_stderr_start(struct fake_stderr *c)
{
    c->f = tmpfile();
    assert_non_null(c->f);
    (void)fflush(stderr);
    c->saved = dup(2);
    assert_true(c->saved >= 0);
    assert_int_equal(dup2(fileno(c->f), 2), 2);
}

/* Ends the capture: what was written to stderr meanwhile (malloc'd, NUL-terminated). */
static inline char *fake_stderr_end(struct fake_stderr *c)
{
    long len;
    char *text;

    (void)fflush(stderr);
    assert_int_equal(dup2(c->saved, 2), 2);
    (void)close(c->saved);
    assert_int_equal(fseek(c->f, 0, SEEK_END), 0);
    len = ftell(c->f);
    assert_true(len >= 0);
    rewind(c->f);
    text = calloc((size_t)len + 1, 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)len, c->f), (size_t)len);
    (void)fclose(c->f);
    return text;
}

/* Points ctx at fa: no network, eu-central-1, one attempt, per mode. */
static inline void fake_sm_ctx(struct sm_ctx *ctx, struct fake_aws *fa, const struct creds *creds,
                               enum sm_fetch_mode mode)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->creds = creds;
    ctx->region = "eu-central-1";
    ctx->max_attempts = 1;
    ctx->fetch_mode = mode;
    ctx->transport = fake_transport;
    ctx->transport_arg = fa;
    /* The log reads the region from the default endpoint's host. */
    unsetenv("AWS_ENDPOINT_URL");
    unsetenv("AWS_ENDPOINT_URL_SECRETS_MANAGER");
}

#endif
