/* ref.c: parsing and validating secret references (same semantics as ECS valueFrom and
 * CodeBuild's secrets-manager env form). */
#include "ref.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sbuf.h"

#define REF_MAX_FIELDS 10
#define REF_STR2(x) #x
#define REF_STR(x) REF_STR2(x)

static int ref_streq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

/* The stage a fetch asks for: none and no version id is AWSCURRENT, as in ref_same_fetch. */
static const char *ref_fetch_stage(const struct ref *a)
{
    return !a->version_stage && !a->version_id ? "AWSCURRENT" : a->version_stage;
}

static int ref_same_tags(const struct ref *a, const struct ref *b)
{
    size_t i;

    if (a->ntags != b->ntags)
        return 0;
    for (i = 0; i < a->ntags; i++)
        if (strcmp(a->tags[i].key, b->tags[i].key) != 0 ||
            strcmp(a->tags[i].value, b->tags[i].value) != 0)
            return 0;
    return 1;
}

/* A path's part of its fetch key: "path/R/MAX", then each tag as /LEN:KEY=LEN:VALUE (no tag
 * text can make two of them equal). malloc'd; NULL: out of memory. */
static char *ref_path_key(const struct ref *a)
{
    size_t len = 64;
    size_t off;
    char *key;
    size_t i;
    int w;

    for (i = 0; i < a->ntags; i++)
        len += strlen(a->tags[i].key) + strlen(a->tags[i].value) + 48;
    key = malloc(len);
    if (!key)
        return NULL;
    w = snprintf(key, len, "path/%d/%zu", a->recursive, a->path_max);
    if (w < 0 || (size_t)w >= len)
        goto fail;
    off = (size_t)w;
    for (i = 0; i < a->ntags; i++) {
        w = snprintf(key + off, len - off, "/%zu:%s=%zu:%s", strlen(a->tags[i].key), a->tags[i].key,
                     strlen(a->tags[i].value), a->tags[i].value);
        if (w < 0 || (size_t)w >= len - off)
            goto fail;
        off += (size_t)w;
    }
    return key;
fail:
    free(key);
    return NULL;
}

int ref_same_fetch(const struct ref *a, const struct ref *b)
{
    /* No stage and no version id means AWSCURRENT: the same fetch as an explicit AWSCURRENT. */
    const char *sa = ref_fetch_stage(a);
    const char *sb = ref_fetch_stage(b);

    return a->service == b->service && ref_streq(a->secret_id, b->secret_id) && ref_streq(sa, sb) &&
           ref_streq(a->version_id, b->version_id) && ref_streq(a->selector, b->selector) &&
           a->path == b->path &&
           (!a->path ||
            (a->recursive == b->recursive && a->path_max == b->path_max && ref_same_tags(a, b)));
}

char *ref_fetch_key(const struct ref *a)
{
    char *path = NULL;
    const char *f[6] = {a->service == REF_SSM ? "ssm" : "sm",
                        a->secret_id,
                        ref_fetch_stage(a),
                        a->version_id,
                        a->selector,
                        NULL};
    size_t len = 1;
    size_t off = 0;
    char *key;
    size_t i;
    int w;

    if (a->path) {
        path = ref_path_key(a);
        if (!path)
            return NULL;
        f[5] = path;
    }
    /* Each field as LEN:TEXT, or '-' when absent: no text can make two keys collide. */
    for (i = 0; i < 6; i++)
        len += f[i] ? strlen(f[i]) + 24 : 1;
    key = malloc(len);
    if (!key)
        goto out;
    for (i = 0; i < 6; i++) {
        w = f[i] ? snprintf(key + off, len - off, "%zu:%s", strlen(f[i]), f[i])
                 : snprintf(key + off, len - off, "-");
        if (w < 0 || (size_t)w >= len - off) {
            free(key);
            key = NULL;
            goto out;
        }
        off += (size_t)w;
    }
out:
    free(path);
    return key;
}

/* Secret names: 1-512 of ASCII letters, digits, /_+=.@- (AWS), plus '!' which RDS uses
 * for the secrets it manages ("rds!db-..."). */
int ref_valid_name(const char *s)
{
    size_t n = strlen(s);
    const char *p;

    if (n == 0 || n > 512)
        return 0;
    for (p = s; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
            continue;
        if (!strchr("/_+=.@-!", ch))
            return 0;
    }
    return 1;
}

int ref_valid_stage(const char *s)
{
    size_t n = strlen(s);
    const char *p;

    if (n == 0 || n > 256)
        return 0;
    for (p = s; *p; p++)
        if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
            return 0;
    return 1;
}

/* VersionId: 32-64 characters (the service uses UUIDs). */
int ref_valid_version_id(const char *s)
{
    size_t n = strlen(s);
    const char *p;

    if (n < 32 || n > 64)
        return 0;
    for (p = s; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-'))
            return 0;
    }
    return 1;
}

/* Regions look like "eu-central-1", "us-gov-west-1", "cn-north-1", "us-isob-east-1". */
int ref_valid_region(const char *s)
{
    size_t n = strlen(s);
    size_t i;
    int dashes = 0;

    if (n < 4 || n > 31)
        return 0;
    if (!(s[0] >= 'a' && s[0] <= 'z') || !(s[n - 1] >= '0' && s[n - 1] <= '9'))
        return 0;
    for (i = 0; i < n; i++) {
        char ch = s[i];
        if (ch == '-') {
            if (i == 0 || s[i - 1] == '-')
                return 0;
            dashes++;
        } else if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'))) {
            return 0;
        }
    }
    return dashes >= 2;
}

/* Partitions other than "aws", by region prefix (longest prefixes first where they
 * overlap), with their endpoints' DNS suffixes: the one table for ARNs, the services' and
 * STS's endpoints and IAM conditions. dualstack: the dual-stack suffix, NULL where the
 * partition has none. Debian's botocore (partitions.json) for aws, aws-cn, aws-us-gov,
 * aws-iso, aws-iso-b; current botocore for the partitions Debian's does not know. */
static const struct {
    const char *prefix;
    const char *partition;
    const char *suffix;
    const char *dualstack;
} ref_partitions[] = {
    {"cn-", "aws-cn", "amazonaws.com.cn", "api.amazonwebservices.com.cn"},
    {"us-gov-", "aws-us-gov", "amazonaws.com", "api.aws"},
    {"us-isob-", "aws-iso-b", "sc2s.sgov.gov", NULL},
    {"us-isof-", "aws-iso-f", "csp.hci.ic.gov", "api.aws.hci.ic.gov"},
    {"us-iso-", "aws-iso", "c2s.ic.gov", NULL},
    {"eu-isoe-", "aws-iso-e", "cloud.adc-e.uk", "api.cloud-aws.adc-e.uk"},
    {"eusc-", "aws-eusc", "amazonaws.eu", "api.amazonwebservices.eu"},
};
#define REF_NPARTITIONS (sizeof(ref_partitions) / sizeof(ref_partitions[0]))

static size_t ref_partition_index(const char *region)
{
    size_t i;

    for (i = 0; i < REF_NPARTITIONS; i++)
        if (!strncmp(region, ref_partitions[i].prefix, strlen(ref_partitions[i].prefix)))
            return i;
    return REF_NPARTITIONS;
}

const char *ref_region_partition(const char *region)
{
    size_t i = ref_partition_index(region);

    return i < REF_NPARTITIONS ? ref_partitions[i].partition : "aws";
}

const char *ref_region_dns_suffix(const char *region)
{
    size_t i = ref_partition_index(region);

    return i < REF_NPARTITIONS ? ref_partitions[i].suffix : "amazonaws.com";
}

const char *ref_region_dualstack_suffix(const char *region)
{
    size_t i = ref_partition_index(region);

    return i < REF_NPARTITIONS ? ref_partitions[i].dualstack : "api.aws";
}

/* botocore's rule sets for SSM and STS: in aws-us-gov their FIPS endpoint (without
 * dual-stack) is the plain host, which is FIPS 140 validated there. */
static int ref_gov_fips_plain(const char *host_prefix)
{
    return !strcmp(host_prefix, "ssm") || !strcmp(host_prefix, "sts");
}

enum inj_rc ref_endpoint_host(const char *host_prefix, const char *region,
                              const struct ref_endpoint_opts *o, char *buf, size_t n,
                              struct inj_err *err)
{
    const char *suffix = ref_region_dns_suffix(region);
    const char *dash = "";
    int w;

    if (o && o->dualstack) {
        suffix = ref_region_dualstack_suffix(region);
        if (!suffix)
            return inj_err_set(err, INJ_E_USAGE,
                               "%s: partition %s has no dual-stack endpoints; unset "
                               "AWS_USE_DUALSTACK_ENDPOINT (or use_dualstack_endpoint in the "
                               "profile), or set an endpoint URL",
                               region, ref_region_partition(region));
    }
    if (o && o->fips &&
        !(!o->dualstack && !strcmp(ref_region_partition(region), "aws-us-gov") &&
          ref_gov_fips_plain(host_prefix)))
        dash = "-fips";
    w = snprintf(buf, n, "%s%s.%s.%s", host_prefix, dash, region, suffix);
    if (w < 0 || (size_t)w >= n)
        return inj_err_set(err, INJ_E_USAGE, "endpoint host name too long");
    return INJ_OK;
}

static int ref_known_partition(const char *p)
{
    size_t i;

    if (!strcmp(p, "aws"))
        return 1;
    for (i = 0; i < REF_NPARTITIONS; i++)
        if (!strcmp(p, ref_partitions[i].partition))
            return 1;
    return 0;
}

void ref_free(struct ref *r)
{
    size_t i;

    free(r->secret_id);
    free(r->selector);
    free(r->json_key);
    free(r->version_stage);
    free(r->version_id);
    for (i = 0; i < r->ntags; i++) {
        free(r->tags[i].key);
        free(r->tags[i].value);
    }
    free(r->tags);
    memset(r, 0, sizeof(*r));
}

int ref_regions_add(struct ref_regions *l, const char *region)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        if (!strcmp(l->v[i], region))
            return 0;
    if (l->n == REF_MAX_FAILOVER || strlen(region) >= sizeof(l->v[0]))
        return -1;
    memcpy(l->v[l->n++], region, strlen(region) + 1);
    return 0;
}

/* Why region cannot join the failover list l, or NULL. */
const char *ref_regions_why(const struct ref_regions *l, const char *region)
{
    size_t i;

    if (!ref_valid_region(region))
        return "is not an AWS region name";
    for (i = 0; i < l->n; i++)
        if (!strcmp(l->v[i], region))
            return "is listed twice";
    if (l->n == REF_MAX_FAILOVER)
        return "is one region too many (at most " REF_STR(REF_MAX_FAILOVER) ")";
    return NULL;
}

enum inj_rc ref_regions_parse(const char *list, struct ref_regions *out, struct inj_err *err)
{
    char region[64];
    const char *p = list;
    const char *why;
    size_t len;

    memset(out, 0, sizeof(*out));
    while (*p) {
        len = strcspn(p, ",");
        if (len == 0 || len >= sizeof(region))
            return inj_err_set(err, INJ_E_USAGE,
                               "--failover-regions %s: expected regions separated by commas "
                               "(eu-west-1,us-east-1)",
                               list);
        memcpy(region, p, len);
        region[len] = '\0';
        why = ref_regions_why(out, region);
        if (why)
            return inj_err_set(err, INJ_E_USAGE, "--failover-regions: \"%s\" %s", region, why);
        (void)ref_regions_add(out, region);
        p += len;
        if (*p == ',' && !*++p)
            return inj_err_set(err, INJ_E_USAGE, "--failover-regions %s: trailing comma", list);
    }
    return INJ_OK;
}

const char *ref_replica_skip(const char *primary, const char *region)
{
    if (!primary || !*primary)
        return NULL;
    if (!strcmp(region, primary))
        return "own";
    if (strcmp(ref_region_partition(region), ref_region_partition(primary)) != 0)
        return "partition";
    return NULL;
}

static enum inj_rc ref_dup_opt(char **dst, const char *src)
{
    *dst = NULL;
    if (!src)
        return INJ_OK;
    *dst = xstrdup(src);
    return *dst ? INJ_OK : INJ_E_NOMEM;
}

enum inj_rc ref_replica(const struct ref *src, const char *region, struct ref *out,
                        struct inj_err *err)
{
    const char *p = src->secret_id;
    size_t head = 0;
    const char *tail = src->secret_id;
    size_t len;
    int i;

    memset(out, 0, sizeof(*out));
    if (!ref_valid_region(region) || strlen(region) >= sizeof(out->region))
        return inj_err_set(err, INJ_E_CONFIG, "\"%s\" is not a region", region);
    if (src->is_arn) {
        /* arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME: swap the fourth field. */
        for (i = 0; i < 3 && p; i++) {
            p = strchr(p, ':');
            if (p)
                p++;
        }
        tail = p ? strchr(p, ':') : NULL;
        if (!tail)
            return inj_err_set(err, INJ_E_SOFTWARE, "%s: not an ARN", src->secret_id);
        head = (size_t)(p - src->secret_id);
    }
    len = head + (src->is_arn ? strlen(region) : 0) + strlen(tail);
    out->secret_id = malloc(len + 1);
    if (!out->secret_id)
        goto nomem;
    memcpy(out->secret_id, src->secret_id, head);
    (void)snprintf(out->secret_id + head, len + 1 - head, "%s%s", src->is_arn ? region : "", tail);
    if (ref_dup_opt(&out->json_key, src->json_key) != INJ_OK ||
        ref_dup_opt(&out->version_stage, src->version_stage) != INJ_OK ||
        ref_dup_opt(&out->version_id, src->version_id) != INJ_OK)
        goto nomem;
    memcpy(out->region, region, strlen(region) + 1);
    memcpy(out->partition, src->partition, sizeof(out->partition));
    memcpy(out->account, src->account, sizeof(out->account));
    out->is_arn = src->is_arn;
    out->service = src->service;
    if (ref_dup_opt(&out->selector, src->selector) != INJ_OK)
        goto nomem;
    return INJ_OK;
nomem:
    ref_free(out);
    return inj_err_set(err, INJ_E_NOMEM, "out of memory");
}

/* Splits at ':' in place; returns the number of fields, or -1 when there are too many. */
static int ref_split(char *s, char **f, int max)
{
    int n = 0;
    char *p = s;

    for (;;) {
        char *c;
        if (n == max)
            return -1;
        f[n++] = p;
        c = strchr(p, ':');
        if (!c)
            break;
        *c = '\0';
        p = c + 1;
    }
    return n;
}

static enum inj_rc ref_set_opt(char **dst, const char *v, struct inj_err *err)
{
    if (!*v)
        return INJ_OK; /* an empty field means "default", as in ECS valueFrom */
    *dst = xstrdup(v);
    if (!*dst)
        return inj_err_set(err, INJ_E_NOMEM, "out of memory");
    return INJ_OK;
}

static enum inj_rc ref_check_arn_head(char **f, const char *service, struct ref *r,
                                      struct inj_err *err);

static enum inj_rc ref_check_arn(char **f, struct ref *r, struct inj_err *err)
{
    if (ref_check_arn_head(f, "secretsmanager", r, err) != INJ_OK)
        return INJ_E_CONFIG;
    if (strcmp(f[5], "secret") != 0)
        return inj_err_set(err, INJ_E_CONFIG,
                           "bad ARN: resource type is \"%s\", expected \"secret:NAME\"", f[5]);
    if (!ref_valid_name(f[6]))
        return inj_err_set(err, INJ_E_CONFIG, "bad ARN: \"%s\" is not a valid secret name", f[6]);
    r->is_arn = 1;
    return INJ_OK;
}

/* SSM parameter names (AWS Systems Manager User Guide, "Creating Systems Manager parameters":
 * naming constraints). */
#define REF_SSM_NAME_MAX 2048
#define REF_SSM_LEVELS_MAX 15
#define REF_SSM_PASSTHROUGH "/aws/reference/secretsmanager/"
/* A long reference is quoted cut short, so that the reason still fits the message. */
#define REF_MORE(s) (strlen(s) > 160 ? "..." : "")

static int ref_ssm_char(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '.' || ch == '-';
}

/* Starts with aws or ssm in any case (the names and labels SSM reserves). */
static int ref_ssm_reserved(const char *s)
{
    return !strncasecmp(s, "aws", 3) || !strncasecmp(s, "ssm", 3);
}

const char *ref_ssm_name_why(const char *s)
{
    size_t n = strlen(s);
    size_t levels = 0;
    const char *p;

    if (n == 0)
        return "is empty";
    if (n > REF_SSM_NAME_MAX)
        return "is longer than 2048 characters";
    /* SSM's pass-through to Secrets Manager: what follows is a secret's name or ARN. */
    if (!strncmp(s, REF_SSM_PASSTHROUGH, strlen(REF_SSM_PASSTHROUGH)))
        return ref_valid_name(s + strlen(REF_SSM_PASSTHROUGH))
                   ? NULL
                   : "does not end in a valid Secrets Manager secret name";
    for (p = s; *p; p++) {
        if (*p == '/') {
            levels++;
            if (p[1] == '/' || !p[1])
                return "has an empty level ('//' or a trailing '/')";
        } else if (!ref_ssm_char((unsigned char)*p)) {
            return "holds a character other than letters, digits and _.-/";
        }
    }
    if (levels && s[0] != '/')
        return "has levels but does not start with '/' (hierarchical names are fully "
               "qualified: /prod/db/password)";
    if (levels > REF_SSM_LEVELS_MAX)
        return "has more than 15 levels";
    if (!strncmp(s, "/aws/service/", 13))
        return NULL; /* AWS's public parameters */
    if (ref_ssm_reserved(s + (s[0] == '/')))
        return "starts with aws or ssm, which SSM reserves";
    return NULL;
}

const char *ref_ssm_selector_why(const char *s)
{
    size_t n = strlen(s);
    const char *p;

    if (n == 0)
        return "is empty";
    if (s[0] >= '0' && s[0] <= '9') {
        if (s[0] == '0' || n > 19)
            return "is not a version number (1 to 19 digits, no leading 0) nor a label";
        for (p = s; *p; p++)
            if (*p < '0' || *p > '9')
                return "starts with a digit but is not a version number (labels cannot start "
                       "with a digit)";
        return NULL;
    }
    if (n > 100)
        return "is a label longer than 100 characters";
    for (p = s; *p; p++)
        if (!ref_ssm_char((unsigned char)*p))
            return "is a label with a character other than letters, digits and _.-";
    if (ref_ssm_reserved(s))
        return "is a label starting with aws or ssm, which SSM reserves";
    return NULL;
}

char *ref_ssm_wire(const struct ref *r)
{
    size_t a = strlen(r->secret_id);
    size_t b = r->selector ? strlen(r->selector) + 1 : 0;
    char *out = malloc(a + b + 1);

    if (!out)
        return NULL;
    memcpy(out, r->secret_id, a + 1);
    if (r->selector) {
        out[a] = ':';
        memcpy(out + a + 1, r->selector, b);
    }
    return out;
}

/* The ARN's common fields (partition, region, account): f[0..4], f[2] being service. */
static enum inj_rc ref_check_arn_head(char **f, const char *service, struct ref *r,
                                      struct inj_err *err)
{
    size_t i;

    if (!ref_known_partition(f[1]))
        return inj_err_set(err, INJ_E_CONFIG,
                           "bad ARN: unknown partition \"%s\" (expected aws, aws-cn, "
                           "aws-us-gov or another AWS partition)",
                           f[1]);
    if (strcmp(f[2], service) != 0)
        return inj_err_set(err, INJ_E_CONFIG,
                           "bad ARN: service is \"%s\", not secretsmanager (a secret) nor ssm "
                           "(a parameter)",
                           f[2]);
    if (!ref_valid_region(f[3]))
        return inj_err_set(err, INJ_E_CONFIG, "bad ARN: \"%s\" is not a region", f[3]);
    if (strcmp(ref_region_partition(f[3]), f[1]) != 0)
        return inj_err_set(err, INJ_E_CONFIG,
                           "bad ARN: region %s is not in partition %s (it belongs to %s)", f[3],
                           f[1], ref_region_partition(f[3]));
    if (strlen(f[4]) != 12)
        return inj_err_set(err, INJ_E_CONFIG,
                           "bad ARN: account \"%s\" is not a 12-digit account id", f[4]);
    for (i = 0; i < 12; i++)
        if (f[4][i] < '0' || f[4][i] > '9')
            return inj_err_set(err, INJ_E_CONFIG,
                               "bad ARN: account \"%s\" is not a 12-digit account id", f[4]);
    (void)snprintf(r->partition, sizeof(r->partition), "%s", f[1]);
    (void)snprintf(r->region, sizeof(r->region), "%s", f[3]);
    (void)snprintf(r->account, sizeof(r->account), "%s", f[4]);
    return INJ_OK;
}

/* An SSM parameter: name (the name, or the whole ARN when is_arn) and an optional selector,
 * both checked as SSM would. f[0..n) are s split at ':'. */
static enum inj_rc ref_parse_ssm(const char *s, char **f, int n, struct ref *out,
                                 struct inj_err *err)
{
    const char *name;
    const char *why;
    const char *sel = NULL;
    int base;

    out->service = REF_SSM;
    if (!strcmp(f[0], "arn")) {
        if (n < 6 || n > 8 || strncmp(f[5], "parameter/", 10) != 0)
            return inj_err_set(err, INJ_E_CONFIG,
                               "bad SSM ARN \"%.160s%s\": expected "
                               "arn:PARTITION:ssm:REGION:ACCOUNT:parameter/NAME[:VERSION|:LABEL]",
                               s, REF_MORE(s));
        if (n == 8)
            return inj_err_set(err, INJ_E_CONFIG,
                               "\"%.160s%s\": too many ':' fields (a parameter takes one selector, "
                               ":VERSION or :LABEL; use \"key\" for a JSON key)",
                               s, REF_MORE(s));
        if (ref_check_arn_head(f, "ssm", out, err) != INJ_OK)
            return INJ_E_CONFIG;
        /* parameter/prod/db/pw is /prod/db/pw, parameter/flat is flat. */
        name = f[5] + 10;
        if (name[0] == '/')
            return inj_err_set(err, INJ_E_CONFIG,
                               "bad SSM ARN \"%.160s%s\": \"parameter//\": the ARN of /a/b is "
                               "...:parameter/a/b (one slash)",
                               s, REF_MORE(s));
        if (strchr(name, '/')) {
            char full[REF_SSM_NAME_MAX + 2];
            int w = snprintf(full, sizeof(full), "/%s", name);

            why = w < 0 || (size_t)w >= sizeof(full) ? "is longer than 2048 characters"
                                                     : ref_ssm_name_why(full);
        } else {
            why = ref_ssm_name_why(name);
        }
        if (why)
            return inj_err_set(err, INJ_E_CONFIG, "bad SSM ARN \"%.160s%s\": the parameter name %s",
                               s, REF_MORE(s), why);
        out->is_arn = 1;
        base = 6;
    } else {
        if (n < 2 || !*f[1])
            return inj_err_set(err, INJ_E_CONFIG,
                               "\"%.160s%s\": expected ssm:NAME[:VERSION|:LABEL] (ssm:/prod/db/pw)",
                               s, REF_MORE(s));
        if (n > 3)
            return inj_err_set(err, INJ_E_CONFIG,
                               "\"%.160s%s\": too many ':' fields (ssm:NAME[:VERSION|:LABEL]; use "
                               "\"key\" for a JSON key)",
                               s, REF_MORE(s));
        why = ref_ssm_name_why(f[1]);
        if (why)
            return inj_err_set(err, INJ_E_CONFIG, "\"%.160s%s\": the parameter name %s", s,
                               REF_MORE(s), why);
        base = 2;
    }
    if (n > base) {
        sel = f[base];
        why = ref_ssm_selector_why(sel);
        if (why)
            return inj_err_set(err, INJ_E_CONFIG, "\"%.160s%s\": the selector \"%.120s\" %s", s,
                               REF_MORE(s), sel, why);
    }
    /* The id: the ARN as written (its first base fields), or the bare name. */
    if (base == 6)
        out->secret_id = xmemdup(s, (size_t)(f[5] - f[0]) + strlen(f[5]));
    else
        out->secret_id = xstrdup(f[1]);
    if (!out->secret_id || (sel && !(out->selector = xstrdup(sel))))
        return inj_err_set(err, INJ_E_NOMEM, "out of memory");
    return INJ_OK;
}

static int ref_is_ssm(char **f, int n)
{
    return (n >= 2 && !strcmp(f[0], "ssm")) ||
           (n >= 3 && !strcmp(f[0], "arn") && !strcmp(f[2], "ssm"));
}

enum inj_rc ref_parse(const char *s, struct ref *out, struct inj_err *err)
{
    enum inj_rc rc = INJ_E_NOMEM;
    char *copy = NULL;
    char *f[REF_MAX_FIELDS];
    int n;
    int base; /* number of fields that make up the id */
    size_t idlen;

    memset(out, 0, sizeof(*out));
    if (!*s) {
        rc = inj_err_set(err, INJ_E_CONFIG, "empty secret reference");
        goto out;
    }
    copy = xstrdup(s);
    if (!copy) {
        inj_err_set(err, rc, "out of memory");
        goto out;
    }
    n = ref_split(copy, f, REF_MAX_FIELDS);
    if (n > 0 && ref_is_ssm(f, n)) {
        rc = ref_parse_ssm(s, f, n, out, err);
        goto out;
    }
    if (!strcmp(f[0], "arn")) {
        if (n < 0) {
            rc = inj_err_set(err, INJ_E_CONFIG,
                             "\"%s\" has too many ':' fields (ARN[:json-key[:version-stage"
                             "[:version-id]]])",
                             s);
            goto out;
        }
        if (n < 7) {
            rc = inj_err_set(err, INJ_E_CONFIG,
                             "bad ARN \"%s\": expected "
                             "arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME",
                             s);
            goto out;
        }
        rc = ref_check_arn(f, out, err);
        if (rc != INJ_OK)
            goto out;
        base = 7;
    } else {
        if (n < 0 || n > 4) {
            rc = inj_err_set(err, INJ_E_CONFIG,
                             "\"%s\" has too many ':' fields (secret-id[:json-key"
                             "[:version-stage[:version-id]]])",
                             s);
            goto out;
        }
        if (!ref_valid_name(f[0])) {
            rc = inj_err_set(err, INJ_E_CONFIG,
                             "\"%s\" is not a valid secret name or ARN (names use letters, "
                             "digits and /_+=.@-)",
                             f[0]);
            goto out;
        }
        base = 1;
    }
    /* The id is the first `base` fields joined again with ':'. */
    idlen = (size_t)(f[base - 1] - copy) + strlen(f[base - 1]);
    out->secret_id = xmemdup(s, idlen);
    if (!out->secret_id) {
        rc = inj_err_set(err, INJ_E_NOMEM, "out of memory");
        goto out;
    }
    rc = INJ_OK;
    if (n > base)
        rc = ref_set_opt(&out->json_key, f[base], err);
    if (rc == INJ_OK && n > base + 1)
        rc = ref_set_opt(&out->version_stage, f[base + 1], err);
    if (rc == INJ_OK && n > base + 2)
        rc = ref_set_opt(&out->version_id, f[base + 2], err);
    if (rc != INJ_OK)
        goto out;
    if (out->version_stage && !ref_valid_stage(out->version_stage)) {
        rc = inj_err_set(err, INJ_E_CONFIG, "\"%s\": bad version stage \"%s\"", s,
                         out->version_stage);
        goto out;
    }
    if (out->version_id && !ref_valid_version_id(out->version_id)) {
        rc = inj_err_set(err, INJ_E_CONFIG,
                         "\"%s\": bad version id \"%s\" (expected 32-64 letters, digits or '-', "
                         "e.g. a UUID)",
                         s, out->version_id);
        goto out;
    }
out:
    free(copy);
    if (rc != INJ_OK)
        ref_free(out);
    return rc;
}
