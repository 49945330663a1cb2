/* policy.c: the IAM policy a config needs, from the config alone. Resources, keys and
 * conditions are collected as sets, sorted, and printed in one fixed layout, so the same
 * config always gives the same bytes (manifests/iam-policy.json is compared with it). */
#include "policy.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"
#include "sbuf.h"
#include "tmpl.h"

#define POLICY_MAX_BYTES (1024u * 1024u)

/* A sorted-on-demand set of strings. */
struct pol_set {
    char **v;
    size_t n;
    size_t cap;
};

/* The secrets a read by tags may return: GetSecretValue on res, only on secrets that carry
 * every tag of ref (the read keeps only exact matches of ListSecrets' prefix filters; IAM
 * checks the same). */
struct pol_tagged {
    char *res;             /* owned: arn:...:secret:PREFIX* */
    const struct ref *ref; /* borrowed from the config: its tags */
};

struct pol {
    const struct policy_opts *opts;
    enum sm_fetch_mode fetch; /* opts->fetch, else the config's fetch:, else auto */
    struct pol_set secrets;   /* GetSecretValue resources */
    struct pol_set primaries; /* the same without replicas: DescribeSecret resources */
    struct pol_set batchable; /* "REGION RESOURCE" of AWSCURRENT fetches: what a batch can do */
    struct pol_set keys;      /* kms key ARN patterns */
    struct pol_set via;       /* kms:ViaService values */
    struct pol_set params;    /* ssm:GetParameters resources */
    struct pol_set paths;     /* ssm:GetParametersByPath resources: each path, its wildcard */
    struct pol_set pkeys;     /* kms key ARN patterns of the parameters' regions */
    struct pol_set pvia;      /* their kms:ViaService values (ssm.REGION.SUFFIX) */
    int describe;             /* supervise.refresh: versions are checked with DescribeSecret */
    int filters;              /* secrets read by name prefix or tags: ListSecrets, the batch call */
    struct pol_tagged *tagged; /* reads by tags: GetSecretValue under a ResourceTag condition */
    size_t ntagged;
    struct pol_set assume; /* role ARNs the credentials assume (per-entry roles) */
};

static void pol_set_free(struct pol_set *s)
{
    size_t i;

    for (i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof(*s));
}

static int pol_set_has(const struct pol_set *s, const char *str)
{
    size_t i;

    for (i = 0; i < s->n; i++)
        if (!strcmp(s->v[i], str))
            return 1;
    return 0;
}

/* Adds a copy of str unless present. 0, or -1 when out of memory. */
static int pol_set_add(struct pol_set *s, const char *str)
{
    char *copy;

    if (pol_set_has(s, str))
        return 0;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        char **v;

        if (cap > SIZE_MAX / sizeof(*v))
            return -1;
        v = realloc(s->v, cap * sizeof(*v)); /* pointers to ARNs, nothing secret */
        if (!v)
            return -1;
        s->v = v;
        s->cap = cap;
    }
    copy = xstrdup(str);
    if (!copy)
        return -1;
    s->v[s->n++] = copy;
    return 0;
}

static int pol_strcmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void pol_set_sort(struct pol_set *s)
{
    if (s->n > 1)
        qsort(s->v, s->n, sizeof(*s->v), pol_strcmp);
}

/* A full ARN ends in the 6 random characters the service appends to the name ("-Ab12Cd").
 * Anything else is a partial ARN. A partial ARN whose name itself ends in "-" and six letters
 * or digits is taken for a full one, as Secrets Manager itself does when it resolves it. */
static int pol_has_suffix(const char *name)
{
    size_t n = strlen(name);
    size_t i;

    if (n < 8 || name[n - 7] != '-')
        return 0;
    for (i = n - 6; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            return 0;
    }
    return 1;
}

static int pol_account_valid(const char *a)
{
    size_t i;

    if (!strcmp(a, "*"))
        return 1;
    if (strlen(a) != 12)
        return 0;
    for (i = 0; i < 12; i++)
        if (a[i] < '0' || a[i] > '9')
            return 0;
    return 1;
}

/* Adds kms:Decrypt on the keys of account in region, through service there (kms:ViaService
 * is "SERVICE.REGION.<the partition's DNS suffix>": secretsmanager.cn-north-1.amazonaws.com.cn
 * in China; AWS KMS Developer Guide, "kms:ViaService"). */
static enum inj_rc pol_add_kms(struct pol_set *keys, struct pol_set *via, const char *service,
                               const char *part, const char *region, const char *account,
                               const char *what, struct inj_err *err)
{
    char buf[300];
    int n;

    n = snprintf(buf, sizeof(buf), "arn:%s:kms:%s:%s:key/*", part, region, account);
    if (n < 0 || (size_t)n >= sizeof(buf))
        return inj_err_set(err, INJ_E_CONFIG, "%s: key ARN too long", what);
    if (pol_set_add(keys, buf) != 0)
        return inj_err_set(err, INJ_E_NOMEM, "out of memory");
    n = snprintf(buf, sizeof(buf), "%s.%s.%s", service, region, ref_region_dns_suffix(region));
    if (n < 0 || (size_t)n >= sizeof(buf))
        return inj_err_set(err, INJ_E_CONFIG, "%s: region too long", what);
    if (pol_set_add(via, buf) != 0)
        return inj_err_set(err, INJ_E_NOMEM, "out of memory");
    return INJ_OK;
}

/* Adds what one reference needs. what names the entry for messages ("env PGUSER"). */
static enum inj_rc pol_add_ref(struct pol *p, const struct ref *ref, int replica, const char *what,
                               struct inj_err *err)
{
    const char *part;
    const char *region;
    const char *account;
    const char *stage = ref->version_stage;
    char res[1024];
    char buf[1100];
    int n;

    if (ref->is_arn) {
        const char *name = strstr(ref->secret_id, ":secret:");

        if (!name)
            return inj_err_set(err, INJ_E_SOFTWARE, "%s: ARN without \":secret:\"", what);
        part = ref->partition;
        region = ref->region;
        account = ref->account;
        n = snprintf(res, sizeof(res), "%s%s", ref->secret_id,
                     pol_has_suffix(name + 8) ? "" : "-??????");
    } else {
        region = ref->region[0] ? ref->region : p->opts->region;
        if (!region || !*region)
            return inj_err_set(err, INJ_E_USAGE,
                               "%s: \"%s\" is a secret name, and its ARN needs a region: give "
                               "--region or set region: in the config",
                               what, ref->secret_id);
        part = ref_region_partition(region);
        account = p->opts->account ? p->opts->account : "*";
        n = snprintf(res, sizeof(res), "arn:%s:secretsmanager:%s:%s:secret:%s-??????", part, region,
                     account, ref->secret_id);
    }
    if (n < 0 || (size_t)n >= sizeof(res))
        return inj_err_set(err, INJ_E_CONFIG, "%s: secret reference too long", what);
    if (pol_set_add(&p->secrets, res) != 0 || (!replica && pol_set_add(&p->primaries, res) != 0))
        return inj_err_set(err, INJ_E_NOMEM, "out of memory");
    /* BatchGetSecretValue takes no version stage or id: only AWSCURRENT fetches batch. */
    if (!ref->version_id && (!stage || !strcmp(stage, "AWSCURRENT"))) {
        n = snprintf(buf, sizeof(buf), "%s ", region);
        if (n < 0 || (size_t)n >= sizeof(buf) || strlen(res) >= sizeof(buf) - (size_t)n)
            return inj_err_set(err, INJ_E_CONFIG, "%s: secret reference too long", what);
        memcpy(buf + n, res, strlen(res) + 1);
        if (pol_set_add(&p->batchable, buf) != 0)
            return inj_err_set(err, INJ_E_NOMEM, "out of memory");
    }
    return pol_add_kms(&p->keys, &p->via, "secretsmanager", part, region, account, what, err);
}

/* Adds what a read by name prefix or tags needs: GetSecretValue on every name under the prefix
 * (for tags, under the tags' ResourceTag condition), BatchGetSecretValue and ListSecrets (no
 * resource-level permissions: "*"), kms:Decrypt via Secrets Manager in the region. */
static enum inj_rc pol_add_filter(struct pol *p, const struct ref *ref, const char *what,
                                  struct inj_err *err)
{
    const char *region = p->opts->region;
    const char *account = p->opts->account ? p->opts->account : "*";
    struct pol_tagged *grown;
    char res[1024];
    size_t i;
    int n;

    if (!region || !*region)
        return inj_err_set(err, INJ_E_USAGE,
                           "%s: secrets read by name prefix or tags need a region for their "
                           "ARNs: give --region or set region: in the config",
                           what);
    n = snprintf(res, sizeof(res), "arn:%s:secretsmanager:%s:%s:secret:%s*",
                 ref_region_partition(region), region, account, ref->secret_id);
    if (n < 0 || (size_t)n >= sizeof(res))
        return inj_err_set(err, INJ_E_CONFIG, "%s: name prefix too long", what);
    p->filters = 1;
    if (!ref->ntags) {
        if (pol_set_add(&p->secrets, res) != 0)
            return inj_err_set(err, INJ_E_NOMEM, "out of memory");
    } else {
        for (i = 0; i < p->ntagged; i++)
            if (!strcmp(p->tagged[i].res, res) && ref_same_fetch(p->tagged[i].ref, ref))
                break;
        if (i == p->ntagged) {
            grown = realloc(p->tagged, (p->ntagged + 1) * sizeof(*grown)); /* ARNs only */
            if (!grown)
                return inj_err_set(err, INJ_E_NOMEM, "out of memory");
            p->tagged = grown;
            p->tagged[p->ntagged].ref = ref;
            p->tagged[p->ntagged].res = xstrdup(res);
            if (!p->tagged[p->ntagged].res)
                return inj_err_set(err, INJ_E_NOMEM, "out of memory");
            p->ntagged++;
        }
    }
    return pol_add_kms(&p->keys, &p->via, "secretsmanager", ref_region_partition(region), region,
                       account, what, err);
}

/* Adds what one SSM parameter needs: ssm:GetParameters on its ARN, and kms:Decrypt via SSM on
 * its region's keys, since whether it is a SecureString under a customer managed key cannot
 * be known offline. A pass-through (/aws/reference/secretsmanager/NAME) also needs the secret
 * itself (SSM reads it with the caller's rights). */
static enum inj_rc pol_add_param(struct pol *p, const struct ref *ref, const char *what,
                                 struct inj_err *err)
{
    static const char pass[] = "/aws/reference/secretsmanager/";
    const char *part;
    const char *region;
    const char *account;
    char res[2200];
    enum inj_rc rc;
    int n;

    if (ref->is_arn) {
        part = ref->partition;
        region = ref->region;
        account = ref->account;
        n = snprintf(res, sizeof(res), "%s", ref->secret_id);
    } else {
        region = p->opts->region;
        if (!region || !*region)
            return inj_err_set(err, INJ_E_USAGE,
                               "%s: \"ssm:%s\" is a parameter name, and its ARN needs a region: "
                               "give --region or set region: in the config",
                               what, ref->secret_id);
        part = ref_region_partition(region);
        account = p->opts->account ? p->opts->account : "*";
        /* The ARN of /prod/db/pw is ...:parameter/prod/db/pw: one slash. */
        n = snprintf(res, sizeof(res), "arn:%s:ssm:%s:%s:parameter/%s", part, region, account,
                     ref->secret_id + (ref->secret_id[0] == '/'));
    }
    if (n < 0 || (size_t)n >= sizeof(res) - 2)
        return inj_err_set(err, INJ_E_CONFIG, "%s: parameter reference too long", what);
    if (pol_set_add(ref->path ? &p->paths : &p->params, res) != 0)
        return inj_err_set(err, INJ_E_NOMEM, "out of memory");
    /* A path: the path itself and what is below it (recursive reads, and the parameters). */
    if (ref->path) {
        memcpy(res + n, "/*", 3);
        if (pol_set_add(&p->paths, res) != 0)
            return inj_err_set(err, INJ_E_NOMEM, "out of memory");
    }
    rc = pol_add_kms(&p->pkeys, &p->pvia, "ssm", part, region, account, what, err);
    if (rc != INJ_OK)
        return rc;
    {
        const char *name = ref->is_arn ? strstr(ref->secret_id, ":parameter/") : NULL;
        struct ref secret;

        name = name ? name + 10 : ref->secret_id;
        if (strncmp(name, pass, sizeof(pass) - 1) != 0)
            return INJ_OK;
        memset(&secret, 0, sizeof(secret));
        rc = ref_parse(name + sizeof(pass) - 1, &secret, err);
        if (rc == INJ_OK && !secret.is_arn)
            (void)snprintf(secret.region, sizeof(secret.region), "%s", region);
        if (rc == INJ_OK)
            rc = pol_add_ref(p, &secret, 0, what, err);
        ref_free(&secret);
        return rc;
    }
}

/* 1 when key names one account and the set also has the same pattern with account "*",
 * which covers it. */
static int pol_key_covered(const struct pol_set *keys, const char *key)
{
    const char *p = key;
    const char *acct;
    const char *end;
    char star[256];
    int i;
    int n;

    for (i = 0; i < 4; i++) {
        p = strchr(p, ':');
        if (!p)
            return 0;
        p++;
    }
    acct = p;
    end = strchr(acct, ':');
    if (!end || (end - acct == 1 && *acct == '*'))
        return 0;
    n = snprintf(star, sizeof(star), "%.*s*%s", (int)(acct - key), key, end);
    if (n < 0 || (size_t)n >= sizeof(star))
        return 0;
    return pol_set_has(keys, star);
}

/* Whether fetch.c would call BatchGetSecretValue for this config (fetch_all's rules). */
static int pol_uses_batch(const struct pol *p)
{
    size_t i;
    size_t j;

    if (p->fetch == SM_FETCH_SINGLE)
        return 0;
    if (p->fetch == SM_FETCH_BATCH)
        return p->batchable.n > 0;
    /* auto: a secret alone in its region is fetched with GetSecretValue. */
    for (i = 0; i < p->batchable.n; i++) {
        size_t rlen = (size_t)(strchr(p->batchable.v[i], ' ') - p->batchable.v[i]);

        for (j = i + 1; j < p->batchable.n; j++)
            if (!strncmp(p->batchable.v[i], p->batchable.v[j], rlen + 1))
                return 1;
    }
    return 0;
}

static cJSON *pol_strings(const struct pol_set *s, const struct pol_set *skip_covered)
{
    cJSON *a = cJSON_CreateArray();
    size_t i;

    if (!a)
        return NULL;
    for (i = 0; i < s->n; i++) {
        cJSON *str;

        if (skip_covered && pol_key_covered(skip_covered, s->v[i]))
            continue;
        str = cJSON_CreateString(s->v[i]);
        if (!str || !cJSON_AddItemToArray(a, str)) {
            cJSON_Delete(str);
            cJSON_Delete(a);
            return NULL;
        }
    }
    return a;
}

/* One Allow statement; resource (an array or a string) and cond (may be NULL) are taken
 * over even on failure. */
static int pol_statement(cJSON *stmts, const char *sid, const char *action, cJSON *resource,
                         cJSON *cond)
{
    cJSON *s = cJSON_CreateObject();

    if (!s || !resource || !cJSON_AddItemToArray(stmts, s)) {
        cJSON_Delete(s);
        cJSON_Delete(resource);
        cJSON_Delete(cond);
        return -1;
    }
    if (!cJSON_AddStringToObject(s, "Sid", sid) || !cJSON_AddStringToObject(s, "Effect", "Allow") ||
        !cJSON_AddStringToObject(s, "Action", action) ||
        !cJSON_AddItemToObject(s, "Resource", resource)) {
        cJSON_Delete(resource);
        cJSON_Delete(cond);
        return -1;
    }
    if (cond && !cJSON_AddItemToObject(s, "Condition", cond)) {
        cJSON_Delete(cond);
        return -1;
    }
    return 0;
}

/* kms:Decrypt on keys, only through the services in via (kms:ViaService). */
static int pol_decrypt(cJSON *stmts, const char *sid, const struct pol_set *keys,
                       const struct pol_set *via_set)
{
    cJSON *cond = cJSON_CreateObject();
    cJSON *eq = cond ? cJSON_AddObjectToObject(cond, "StringEquals") : NULL;
    cJSON *via = eq ? pol_strings(via_set, NULL) : NULL;

    if (!via || !cJSON_AddItemToObject(eq, "kms:ViaService", via)) {
        cJSON_Delete(via);
        cJSON_Delete(cond);
        return -1;
    }
    return pol_statement(stmts, sid, "kms:Decrypt", pol_strings(keys, keys), cond);
}

static int pol_secret_statements(const struct pol *p, cJSON *stmts);

static cJSON *pol_document(const struct pol *p)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON *stmts;

    if (!doc || !cJSON_AddStringToObject(doc, "Version", "2012-10-17"))
        goto fail;
    stmts = cJSON_AddArrayToObject(doc, "Statement");
    if (!stmts)
        goto fail;
    /* Per-entry roles (roles.c): the base credentials assume each one. */
    if (p->assume.n && pol_statement(stmts, "AssumeEntryRoles", "sts:AssumeRole",
                                     pol_strings(&p->assume, NULL), NULL) != 0)
        goto fail;
    if ((p->secrets.n || p->ntagged) && pol_secret_statements(p, stmts) != 0)
        goto fail;
    /* SSM: a parameter's type is not known offline, so kms:Decrypt is always granted (via
     * SSM only) in case it is a SecureString under a customer managed key. */
    if (p->params.n && pol_statement(stmts, "ReadParameters", "ssm:GetParameters",
                                     pol_strings(&p->params, NULL), NULL) != 0)
        goto fail;
    if (p->paths.n && pol_statement(stmts, "ReadParameterPaths", "ssm:GetParametersByPath",
                                    pol_strings(&p->paths, NULL), NULL) != 0)
        goto fail;
    if ((p->params.n || p->paths.n) &&
        pol_decrypt(stmts, "DecryptParametersViaSSM", &p->pkeys, &p->pvia) != 0)
        goto fail;
    return doc;
fail:
    cJSON_Delete(doc);
    return NULL;
}

/* The Secrets Manager statements. 0, or -1 when out of memory. */
static int pol_secret_statements(const struct pol *p, cJSON *stmts)
{
    size_t i;
    size_t k;

    if (p->secrets.n && pol_statement(stmts, "ReadSecrets", "secretsmanager:GetSecretValue",
                                      pol_strings(&p->secrets, NULL), NULL) != 0)
        return -1;
    /* Reads by tags: each tag exactly (StringEquals on secretsmanager:ResourceTag/KEY), as
     * the read matches them (ssm.c, sm.c sm_parse_list_page). */
    for (i = 0; i < p->ntagged; i++) {
        cJSON *cond = cJSON_CreateObject();
        cJSON *eq = cond ? cJSON_AddObjectToObject(cond, "StringEquals") : NULL;
        char sid[40];
        char key[200];

        for (k = 0; eq && k < p->tagged[i].ref->ntags; k++) {
            (void)snprintf(key, sizeof(key), "secretsmanager:ResourceTag/%s",
                           p->tagged[i].ref->tags[k].key);
            if (!cJSON_AddStringToObject(eq, key, p->tagged[i].ref->tags[k].value))
                eq = NULL;
        }
        if (!eq) {
            cJSON_Delete(cond);
            return -1;
        }
        (void)snprintf(sid, sizeof(sid), "ReadSecretsByTag%zu", i + 1);
        if (pol_statement(stmts, sid, "secretsmanager:GetSecretValue",
                          cJSON_CreateString(p->tagged[i].res), cond) != 0)
            return -1;
    }
    /* supervise.refresh checks for new versions with DescribeSecret (docs/supervise.md), in
     * each secret's own region only. */
    /* A read by name prefix or tags is checked by reading it again: no DescribeSecret. */
    if (p->describe && p->primaries.n &&
        pol_statement(stmts, "CheckSecretVersions", "secretsmanager:DescribeSecret",
                      pol_strings(&p->primaries, NULL), NULL) != 0)
        return -1;
    /* "BatchGetSecretValue: no resource types" (Service Authorization Reference): Resource
     * must be "*". It grants no secret by itself: the service checks GetSecretValue on each
     * secret in the batch (API reference, "Required permissions"). */
    if ((pol_uses_batch(p) || p->filters) &&
        pol_statement(stmts, "BatchReadSecrets", "secretsmanager:BatchGetSecretValue",
                      cJSON_CreateString("*"), NULL) != 0)
        return -1;
    /* BatchGetSecretValue with Filters also needs ListSecrets (API reference, "Required
     * permissions"), and a read by tags calls it; it has no resource-level permissions: "*". */
    if (p->filters && pol_statement(stmts, "ListSecretsForFilters", "secretsmanager:ListSecrets",
                                    cJSON_CreateString("*"), NULL) != 0)
        return -1;
    return pol_decrypt(stmts, "DecryptSecretsViaSecretsManager", &p->keys, &p->via);
}

static int pol_indent(struct sbuf *b, int depth)
{
    int i;

    if (sbuf_append_str(b, "\n") != SBUF_OK)
        return -1;
    for (i = 0; i < depth; i++)
        if (sbuf_append_str(b, "  ") != SBUF_OK)
            return -1;
    return 0;
}

static int pol_quoted(struct sbuf *b, const char *s)
{
    cJSON *str = cJSON_CreateString(s);
    char *text = str ? cJSON_PrintUnformatted(str) : NULL;
    int rc = -1;

    if (text && sbuf_append_str(b, text) == SBUF_OK)
        rc = 0;
    cJSON_free(text);
    cJSON_Delete(str);
    return rc;
}

/* Python's json.dumps(indent=2) layout: reviewers diff the manifest with their own tools. */
static int pol_print(const cJSON *n, int depth, struct sbuf *b)
{
    const cJSON *c;
    int obj = cJSON_IsObject(n);

    if (cJSON_IsString(n))
        return pol_quoted(b, n->valuestring);
    if (!obj && !cJSON_IsArray(n))
        return -1;
    if (!n->child)
        return sbuf_append_str(b, obj ? "{}" : "[]") == SBUF_OK ? 0 : -1;
    if (sbuf_append_str(b, obj ? "{" : "[") != SBUF_OK)
        return -1;
    for (c = n->child; c; c = c->next) {
        if (pol_indent(b, depth + 1) != 0)
            return -1;
        if (obj && (pol_quoted(b, c->string) != 0 || sbuf_append_str(b, ": ") != SBUF_OK))
            return -1;
        if (pol_print(c, depth + 1, b) != 0)
            return -1;
        if (c->next && sbuf_append_str(b, ",") != SBUF_OK)
            return -1;
    }
    if (pol_indent(b, depth) != 0)
        return -1;
    return sbuf_append_str(b, obj ? "}" : "]") == SBUF_OK ? 0 : -1;
}

/* What ref needs, and the same for its replicas in each failover region. */
static enum inj_rc pol_add_ref_replicas(struct pol *p, const struct ref *ref,
                                        const struct ref_regions *failover, const char *what,
                                        struct inj_err *err)
{
    const char *primary = ref->is_arn ? ref->region : p->opts->region;
    enum inj_rc rc = pol_add_ref(p, ref, 0, what, err);
    struct ref replica;
    size_t i;

    for (i = 0; rc == INJ_OK && i < failover->n; i++) {
        const char *region = failover->v[i];

        /* fetch.c skips the same ones: the region itself, and other partitions. */
        if (ref_replica_skip(primary, region))
            continue;
        rc = ref_replica(ref, region, &replica, err);
        if (rc == INJ_OK)
            rc = pol_add_ref(p, &replica, 1, what, err);
        ref_free(&replica);
    }
    return rc;
}

/* What the entries read with role (0: the base credentials) need; the base credentials also
 * assume every role an entry uses. */
static enum inj_rc pol_collect(struct pol *p, const struct config *cfg, size_t role,
                               struct inj_err *err)
{
    enum inj_rc rc;
    size_t i;
    size_t j;
    char what[300];

    for (i = 0; i < cfg->n; i++) {
        const struct entry *e = &cfg->entries[i];
        const struct config_role *cr = config_role_of(cfg, e);

        if (!role && cr && pol_set_add(&p->assume, cr->role_arn) != 0)
            return inj_err_set(err, INJ_E_NOMEM, "out of memory");
        if (e->role != role)
            continue;
        (void)snprintf(what, sizeof(what), "%s %s", e->kind == ENTRY_ENV ? "env" : "file", e->name);
        if (e->ref.path && e->ref.service == REF_SM) {
            rc = pol_add_filter(p, &e->ref, what, err);
            if (rc != INJ_OK)
                return rc;
        } else if (e->ref.secret_id && e->ref.service == REF_SSM) {
            rc = pol_add_param(p, &e->ref, what, err);
            if (rc != INJ_OK)
                return rc;
        } else if (e->ref.secret_id) {
            rc = pol_add_ref_replicas(p, &e->ref, config_failover(cfg, e), what, err);
            if (rc != INJ_OK)
                return rc;
        }
        for (j = 0; e->tmpl && j < tmpl_nsources(e->tmpl); j++) {
            if (tmpl_source(e->tmpl, j)->service == REF_SSM)
                rc = pol_add_param(p, tmpl_source(e->tmpl, j), what, err);
            else
                rc = pol_add_ref_replicas(p, tmpl_source(e->tmpl, j), config_failover(cfg, e), what,
                                          err);
            if (rc != INJ_OK)
                return rc;
        }
    }
    if (!p->secrets.n && !p->ntagged && !p->params.n && !p->paths.n && !p->assume.n && !role)
        return inj_err_set(err, INJ_E_CONFIG, "%s names no secret: nothing to allow",
                           cfg->path ? cfg->path : "the config");
    pol_set_sort(&p->assume);
    pol_set_sort(&p->secrets);
    pol_set_sort(&p->primaries);
    pol_set_sort(&p->keys);
    pol_set_sort(&p->via);
    pol_set_sort(&p->params);
    pol_set_sort(&p->paths);
    pol_set_sort(&p->pkeys);
    pol_set_sort(&p->pvia);
    return INJ_OK;
}

static void pol_free(struct pol *p)
{
    size_t i;

    pol_set_free(&p->secrets);
    pol_set_free(&p->primaries);
    pol_set_free(&p->batchable);
    pol_set_free(&p->keys);
    pol_set_free(&p->via);
    pol_set_free(&p->params);
    pol_set_free(&p->paths);
    pol_set_free(&p->pkeys);
    pol_set_free(&p->pvia);
    pol_set_free(&p->assume);
    for (i = 0; i < p->ntagged; i++)
        free(p->tagged[i].res);
    free(p->tagged);
}

/* The policy document of the credentials that read role's entries (0: the base ones). */
static enum inj_rc pol_doc_for(const struct config *cfg, const struct policy_opts *opts,
                               size_t role, cJSON **doc, struct inj_err *err)
{
    enum inj_rc rc;
    struct pol p;

    *doc = NULL;
    memset(&p, 0, sizeof(p));
    p.opts = opts;
    p.fetch = opts->fetch != SM_FETCH_UNSET ? opts->fetch : cfg->fetch;
    p.describe = cfg->supervise.refresh_ms > 0 || cfg->supervise.refresh_signal;
    rc = pol_collect(&p, cfg, role, err);
    if (rc == INJ_OK) {
        *doc = pol_document(&p);
        if (!*doc)
            rc = inj_err_set(err, INJ_E_NOMEM, "out of memory");
    }
    pol_free(&p);
    return rc;
}

/* With per-entry roles: {"BaseCredentials": policy, "Roles": {NAME: {"RoleArn": ARN,
 * "Policy": policy}}}, the roles in config order, those no entry uses left out. */
static enum inj_rc pol_doc_roles(const struct config *cfg, const struct policy_opts *opts,
                                 cJSON **out, struct inj_err *err)
{
    cJSON *top = cJSON_CreateObject();
    cJSON *roles = NULL;
    cJSON *doc = NULL;
    enum inj_rc rc = INJ_E_NOMEM;
    size_t k;
    size_t i;

    *out = NULL;
    if (!top)
        return inj_err_set(err, rc, "out of memory");
    rc = pol_doc_for(cfg, opts, 0, &doc, err);
    if (rc != INJ_OK)
        goto out;
    if (!cJSON_AddItemToObject(top, "BaseCredentials", doc)) {
        cJSON_Delete(doc);
        rc = inj_err_set(err, INJ_E_NOMEM, "out of memory");
        goto out;
    }
    roles = cJSON_AddObjectToObject(top, "Roles");
    if (!roles) {
        rc = inj_err_set(err, INJ_E_NOMEM, "out of memory");
        goto out;
    }
    for (k = 1; k <= cfg->nroles; k++) {
        struct policy_opts ropts = *opts;
        const char *arn = cfg->roles[k - 1].role_arn;
        const char *acct = strstr(arn, ":iam::");
        char account[16];
        cJSON *one;
        int used = 0;

        for (i = 0; i < cfg->n && !used; i++)
            used = cfg->entries[i].role == k;
        if (!used)
            continue;
        /* A name read with the role is a secret of the role's account. */
        if (acct && strlen(acct + 6) > 12 && acct[6 + 12] == ':') {
            memcpy(account, acct + 6, 12);
            account[12] = '\0';
            if (pol_account_valid(account))
                ropts.account = account;
        }
        rc = pol_doc_for(cfg, &ropts, k, &doc, err);
        if (rc != INJ_OK)
            goto out;
        one = cJSON_AddObjectToObject(roles, cfg->roles[k - 1].name);
        if (!one || !cJSON_AddStringToObject(one, "RoleArn", cfg->roles[k - 1].role_arn) ||
            !cJSON_AddItemToObject(one, "Policy", doc)) {
            cJSON_Delete(doc);
            rc = inj_err_set(err, INJ_E_NOMEM, "out of memory");
            goto out;
        }
    }
    *out = top;
    top = NULL;
    rc = INJ_OK;
out:
    cJSON_Delete(top);
    return rc;
}

enum inj_rc policy_build(const struct config *cfg, const struct policy_opts *opts, char **out,
                         struct inj_err *err)
{
    enum inj_rc rc = INJ_E_NOMEM;
    struct sbuf b = SBUF_INIT(POLICY_MAX_BYTES);
    cJSON *doc = NULL;
    size_t i;
    int roles = 0;

    *out = NULL;
    if (opts->region && *opts->region && !ref_valid_region(opts->region)) {
        rc = inj_err_set(err, INJ_E_USAGE, "region \"%s\" is not a region (e.g. eu-central-1)",
                         opts->region);
        goto out;
    }
    if (opts->account && !pol_account_valid(opts->account)) {
        rc = inj_err_set(err, INJ_E_USAGE, "--account %s: expected a 12-digit account id, or \"*\"",
                         opts->account);
        goto out;
    }
    for (i = 0; i < cfg->n; i++)
        roles |= cfg->entries[i].role != 0;
    rc = roles ? pol_doc_roles(cfg, opts, &doc, err) : pol_doc_for(cfg, opts, 0, &doc, err);
    if (rc != INJ_OK)
        goto out;
    rc = INJ_E_NOMEM;
    if (pol_print(doc, 0, &b) != 0 || sbuf_append_str(&b, "\n") != SBUF_OK) {
        inj_err_set(err, rc, "out of memory");
        goto out;
    }
    *out = (char *)b.p;
    b.p = NULL;
    rc = INJ_OK;
out:
    cJSON_Delete(doc);
    free(b.p);
    return rc;
}
