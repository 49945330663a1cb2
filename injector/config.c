/* config.c: strict YAML config parsing with libyaml's document API. Every error carries
 * file:line:column; nothing here touches the network or a secret. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "jx.h"
#include "log.h"
#include "parse.h"
#include "rfile.h"
#include "sbuf.h"
#include "tmpl.h"

struct cfg_parse {
    const char *name;
    yaml_document_t *doc;
    unsigned char *seen; /* per node: visited once (a second visit means an alias) */
    size_t nnodes;
    struct config *cfg;
    struct inj_err *err;
};

static const char *const reserved_env[] = {
    "PATH",
    "IFS",
    "ENV",
    "BASH_ENV",
    "SHELLOPTS",
    "BASHOPTS",
    "PS4",
    "CDPATH",
    "GLOBIGNORE",
    "GCONV_PATH",
    "HOSTALIASES",
    "LOCALDOMAIN",
    "RES_OPTIONS",
    "NLSPATH",
    "LOCPATH",
    "MALLOC_CHECK_",
    "MALLOC_TRACE",
    "PYTHONPATH",
    "PYTHONSTARTUP",
    "PERL5LIB",
    "PERL5OPT",
    "RUBYLIB",
    "RUBYOPT",
    "NODE_OPTIONS",
    "JAVA_TOOL_OPTIONS",
    "_JAVA_OPTIONS",
    "PROMPT_COMMAND",
    /* glibc's loader reads GLIBC_TUNABLES (CVE-2023-4911); the rest choose where an
     * interpreter loads code from, or a shell's start-up files. */
    "GLIBC_TUNABLES",
    "PYTHONHOME",
    "PYTHONUSERBASE",
    "PERLLIB",
    "NODE_PATH",
    "ZDOTDIR",
    "JDK_JAVA_OPTIONS",
    "CLASSPATH",
};

int config_env_name_valid(const char *name)
{
    const char *p = name;

    if (!*p || strlen(p) > 255)
        return 0;
    if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || *p == '_'))
        return 0;
    for (p++; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '_'))
            return 0;
    return 1;
}

int config_env_name_reserved(const char *name)
{
    size_t i;

    if (!strncmp(name, "LD_", 3) || !strncmp(name, "DYLD_", 5) || !strncmp(name, "BASH_FUNC_", 10))
        return 1;
    for (i = 0; i < sizeof(reserved_env) / sizeof(reserved_env[0]); i++)
        if (!strcmp(name, reserved_env[i]))
            return 1;
    return 0;
}

static void cfg_strv_free(char **v, size_t n)
{
    size_t i;

    for (i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

void config_free(struct config *c)
{
    size_t i;

    for (i = 0; i < c->n; i++) {
        free(c->entries[i].name);
        free(c->entries[i].pointer);
        tmpl_free(c->entries[i].tmpl);
        ref_free(&c->entries[i].ref);
        free(c->entries[i].prefix);
        cfg_strv_free(c->entries[i].only, c->entries[i].nonly);
        cfg_strv_free(c->entries[i].except, c->entries[i].nexcept);
    }
    for (i = 0; i < c->n; i++)
        free(c->entries[i].role_name);
    free(c->entries);
    for (i = 0; i < c->nroles; i++) {
        free(c->roles[i].name);
        free(c->roles[i].role_arn);
        free(c->roles[i].external_id);
        free(c->roles[i].session_name);
    }
    free(c->roles);
    free(c->region);
    free(c->path);
    for (i = 0; c->supervise.on_change_exec && c->supervise.on_change_exec[i]; i++)
        free(c->supervise.on_change_exec[i]);
    free(c->supervise.on_change_exec);
    free(c->sidecar.ready_file);
    memset(c, 0, sizeof(*c));
}

static enum inj_rc cfg_errf(struct cfg_parse *p, const yaml_node_t *node, enum inj_rc code,
                            const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static enum inj_rc cfg_errf(struct cfg_parse *p, const yaml_node_t *node, enum inj_rc code,
                            const char *fmt, ...)
{
    char msg[768];
    va_list ap;

    va_start(ap, fmt);
    (void)vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (node)
        return inj_err_set(p->err, code, "%s:%lu:%lu: %s", p->name,
                           (unsigned long)node->start_mark.line + 1,
                           (unsigned long)node->start_mark.column + 1, msg);
    return inj_err_set(p->err, code, "%s: %s", p->name, msg);
}

/* Returns the node, refusing a second visit: libyaml resolves an alias to the node it names,
 * so a node seen twice came through an alias. We refuse aliases: a config never needs them,
 * and refusing them rules out alias bombs. */
static yaml_node_t *cfg_node(struct cfg_parse *p, int id, const yaml_node_t *ctx_node)
{
    yaml_node_t *n = yaml_document_get_node(p->doc, id);

    if (!n || id < 1 || (size_t)id > p->nnodes) {
        cfg_errf(p, ctx_node, INJ_E_CONFIG, "malformed document");
        return NULL;
    }
    if (p->seen[id - 1]) {
        cfg_errf(p, n, INJ_E_CONFIG,
                 "YAML aliases (*name) are not supported; write the value "
                 "out");
        return NULL;
    }
    p->seen[id - 1] = 1;
    return n;
}

static const char *cfg_kind(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_SCALAR_NODE:
        return "a scalar";
    case YAML_SEQUENCE_NODE:
        return "a list";
    case YAML_MAPPING_NODE:
        return "a mapping";
    case YAML_NO_NODE:
    default:
        return "nothing";
    }
}

/* The scalar's text, or NULL (error set) when n is not a scalar. Borrowed from the doc. */
static const char *cfg_scalar(struct cfg_parse *p, const yaml_node_t *n, const char *what)
{
    const char *v;

    if (n->type != YAML_SCALAR_NODE) {
        cfg_errf(p, n, INJ_E_CONFIG, "%s must be a string, not %s", what, cfg_kind(n));
        return NULL;
    }
    v = (const char *)n->data.scalar.value;
    if (strlen(v) != n->data.scalar.length) {
        cfg_errf(p, n, INJ_E_CONFIG, "%s contains a NUL character", what);
        return NULL;
    }
    return v;
}

/* s: the text of n, already checked by cfg_scalar. */
static enum inj_rc cfg_bool(struct cfg_parse *p, const yaml_node_t *n, const char *s,
                            const char *what, int *out)
{
    if (!strcmp(s, "true")) {
        *out = 1;
        return INJ_OK;
    }
    if (!strcmp(s, "false")) {
        *out = 0;
        return INJ_OK;
    }
    return cfg_errf(p, n, INJ_E_CONFIG, "%s must be true or false, not \"%s\"", what, s);
}

/* The text of a scalar the walker has checked, NULL for a key that was not given. */
static const char *cfg_text(const yaml_node_t *n)
{
    return n ? (const char *)n->data.scalar.value : NULL;
}

const struct ref_regions *config_failover(const struct config *c, const struct entry *e)
{
    return e->has_failover ? &e->failover : &c->failover;
}

/* failover_regions: [REGION, ...] (an empty list is allowed: no failover). who: the entry's
 * name, NULL at the top level. */
static enum inj_rc cfg_failover(struct cfg_parse *p, const yaml_node_t *n, const char *who,
                                struct ref_regions *out)
{
    yaml_node_item_t *it;
    const char *why;

    memset(out, 0, sizeof(*out));
    for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
        yaml_node_t *v = cfg_node(p, *it, n);
        const char *s = v ? cfg_scalar(p, v, "failover_regions") : NULL;

        if (!s)
            return INJ_E_CONFIG;
        why = ref_regions_why(out, s);
        if (why)
            return cfg_errf(p, v, INJ_E_CONFIG, "%s%sfailover_regions: \"%s\" %s", who ? who : "",
                            who ? ": " : "", s, why);
        (void)ref_regions_add(out, s);
    }
    return INJ_OK;
}

const char *config_failover_misfit(const struct entry *e, const struct ref_regions *l,
                                   const char **partition)
{
    size_t i;
    size_t k;
    size_t nsrc = e->tmpl ? tmpl_nsources(e->tmpl) : 0;

    for (k = 0; k <= nsrc; k++) {
        const struct ref *r = k == 0 ? &e->ref : tmpl_source(e->tmpl, k - 1);

        /* A parameter (SSM) has no replica: the failover list does not apply to it. */
        for (i = 0; r->is_arn && r->service != REF_SSM && i < l->n; i++)
            if (strcmp(ref_region_partition(l->v[i]), r->partition) != 0) {
                *partition = r->partition;
                return l->v[i];
            }
    }
    return NULL;
}

/* A replica of an ARN's secret lives in the ARN's partition: failover into another one
 * would need other credentials and another account. */
static enum inj_rc cfg_failover_partition(struct cfg_parse *p, const yaml_node_t *n,
                                          const struct entry *e, const struct ref_regions *l)
{
    const char *part = NULL;
    const char *region = config_failover_misfit(e, l, &part);

    if (region)
        return cfg_errf(p, n, INJ_E_CONFIG,
                        "%s: failover_regions: %s is in partition %s, the secret's ARN in "
                        "%s; a replica stays in its partition",
                        e->name, region, ref_region_partition(region), part);
    return INJ_OK;
}

/* Checks the mapping for duplicate keys (libyaml keeps them all). */
struct cfg_key {
    const char *s;
    size_t i;
};

static int cfg_key_cmp(const void *a, const void *b)
{
    const struct cfg_key *x = a;
    const struct cfg_key *y = b;
    int c = strcmp(x->s, y->s);

    if (c)
        return c;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* Refuses a mapping whose keys are not strings or repeat: the repeat earliest in the file is
 * named, with the line of its first occurrence. Sorted, not pairwise: a 10000-entry section
 * must not cost 50 million comparisons before its size is refused. */
static enum inj_rc cfg_check_dups(struct cfg_parse *p, const yaml_node_t *map)
{
    size_t n = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
    const yaml_node_pair_t *pairs = map->data.mapping.pairs.start;
    const yaml_node_t *ka;
    const yaml_node_t *kb;
    struct cfg_key *keys;
    size_t first = 0;
    size_t dup = SIZE_MAX;
    size_t dup_first = 0;
    size_t i;

    keys = calloc(n ? n : 1, sizeof(*keys));
    if (!keys)
        return inj_err_set(p->err, INJ_E_NOMEM, "out of memory");
    for (i = 0; i < n; i++) {
        ka = yaml_document_get_node(p->doc, pairs[i].key);
        if (!ka || ka->type != YAML_SCALAR_NODE) {
            free(keys);
            return cfg_errf(p, ka ? ka : map, INJ_E_CONFIG, "mapping keys must be strings");
        }
        keys[i].s = (const char *)ka->data.scalar.value;
        keys[i].i = i;
    }
    qsort(keys, n, sizeof(*keys), cfg_key_cmp);
    for (i = 1; i < n; i++) {
        if (strcmp(keys[i].s, keys[first].s) != 0) {
            first = i;
            continue;
        }
        if (keys[i].i < dup) {
            dup = keys[i].i;
            dup_first = keys[first].i;
        }
    }
    free(keys);
    if (dup == SIZE_MAX)
        return INJ_OK;
    ka = yaml_document_get_node(p->doc, pairs[dup].key);
    kb = yaml_document_get_node(p->doc, pairs[dup_first].key);
    return cfg_errf(p, ka, INJ_E_CONFIG, "duplicate key \"%s\" (first at line %lu)",
                    (const char *)ka->data.scalar.value, (unsigned long)kb->start_mark.line + 1);
}

/* The one mapping walker: refuses keys that are not strings or repeat, then calls fn for each
 * key and value in file order until one fails. */
static enum inj_rc cfg_map_each(struct cfg_parse *p, const yaml_node_t *map,
                                enum inj_rc (*fn)(struct cfg_parse *p, const yaml_node_t *k,
                                                  const yaml_node_t *v, void *ctx),
                                void *ctx)
{
    const yaml_node_pair_t *pair;
    enum inj_rc rc = cfg_check_dups(p, map);

    for (pair = map->data.mapping.pairs.start; rc == INJ_OK && pair < map->data.mapping.pairs.top;
         pair++) {
        yaml_node_t *k = cfg_node(p, pair->key, map);
        yaml_node_t *v = k ? cfg_node(p, pair->value, k) : NULL;

        rc = v ? fn(p, k, v, ctx) : INJ_E_CONFIG;
    }
    return rc;
}

struct cfg_arg;

/* One key of a section (a mapping with fixed keys): the kind of node it takes and what sets it.
 * Sections are tables of these; what concerns two keys at once is checked after the walk. */
struct cfg_field {
    const char *key;
    const char *must; /* a list or mapping: "KEY must be ..." when the kind is wrong */
    size_t off;       /* cfg_set_bool, cfg_set_duration: where in the object */
    long long arg;    /* cfg_set_duration: the least value (ms); cfg_root_entries: kind */
    /* NULL: nothing to set, the walker only records the value (struct cfg_walk). */
    enum inj_rc (*set)(struct cfg_parse *p, const struct cfg_arg *a);
    yaml_node_type_t type; /* YAML_NO_NODE: any kind, the handler checks */
    unsigned int only;     /* 0: known in every section using the table; else a mask bit */
};

/* What a handler gets. */
struct cfg_arg {
    const struct cfg_field *f;
    const yaml_node_t *v; /* the value */
    const char *s;        /* its text when f->type is YAML_SCALAR_NODE, else NULL */
    void *obj;            /* what the section sets */
};

struct cfg_section {
    const struct cfg_field *fields;
    size_t n;
    unsigned int mask; /* fields whose `only` is outside it are unknown here */
    const char *adj;   /* unknown-key message: "unknown top-level key" */
    const char *where; /* unknown-key message: "unknown key \"x\" in supervise" */
};

struct cfg_walk {
    const struct cfg_section *sec;
    const char *who;         /* the entry's name, NULL outside entries */
    void *obj;               /* what the handlers set */
    const yaml_node_t **got; /* NULL, or got[i]: the value of fields[i], NULL when not given */
};

#define CFG_ONLY_ENV (1u << ENTRY_ENV)
#define CFG_ONLY_FILE (1u << ENTRY_FILE)
#define CFG_FIELDS(t) (t), sizeof(t) / sizeof((t)[0])

static int cfg_field_known(const struct cfg_section *sec, const struct cfg_field *f)
{
    return !f->only || (f->only & sec->mask);
}

static enum inj_rc cfg_unknown_key(struct cfg_parse *p, const yaml_node_t *k,
                                   const struct cfg_walk *w)
{
    char known[512] = "";
    size_t len = 0;
    size_t i;

    for (i = 0; i < w->sec->n; i++) {
        const struct cfg_field *f = &w->sec->fields[i];
        int n;

        if (!cfg_field_known(w->sec, f))
            continue;
        n = snprintf(known + len, sizeof(known) - len, "%s%s", len ? ", " : "", f->key);
        if (n < 0 || (size_t)n >= sizeof(known) - len)
            break;
        len += (size_t)n;
    }
    return cfg_errf(p, k, INJ_E_CONFIG, "%s%sunknown %skey \"%s\"%s (known: %s)",
                    w->who ? w->who : "", w->who ? ": " : "", w->sec->adj,
                    (const char *)k->data.scalar.value, w->sec->where, known);
}

/* One key of a section: find its field, check the value's kind, record it, set it. */
static enum inj_rc cfg_field_pair(struct cfg_parse *p, const yaml_node_t *k, const yaml_node_t *v,
                                  void *ctx)
{
    const struct cfg_walk *w = ctx;
    const struct cfg_field *f = NULL;
    struct cfg_arg a;
    const char *kn = (const char *)k->data.scalar.value;
    const char *s = NULL;
    size_t i;

    for (i = 0; i < w->sec->n; i++) {
        if (cfg_field_known(w->sec, &w->sec->fields[i]) && !strcmp(kn, w->sec->fields[i].key)) {
            f = &w->sec->fields[i];
            break;
        }
    }
    if (!f)
        return cfg_unknown_key(p, k, w);
    if (f->type == YAML_SCALAR_NODE) {
        s = cfg_scalar(p, v, f->key);
        if (!s)
            return INJ_E_CONFIG;
    } else if (f->type != YAML_NO_NODE && v->type != f->type) {
        return cfg_errf(p, v, INJ_E_CONFIG, "%s%s%s, not %s", w->who ? w->who : "",
                        w->who ? ": " : "", f->must, cfg_kind(v));
    }
    if (w->got)
        w->got[i] = v;
    a = (struct cfg_arg){f, v, s, w->obj};
    return f->set ? f->set(p, &a) : INJ_OK;
}

/* Walks the section `map` (a mapping) with the handlers of sec, setting obj. */
static enum inj_rc cfg_walk(struct cfg_parse *p, const yaml_node_t *map,
                            const struct cfg_section *sec, const char *who, void *obj,
                            const yaml_node_t **got)
{
    struct cfg_walk w = {sec, who, obj, got};

    return cfg_map_each(p, map, cfg_field_pair, &w);
}

static enum inj_rc cfg_set_bool(struct cfg_parse *p, const struct cfg_arg *a)
{
    return cfg_bool(p, a->v, a->s, a->f->key, (int *)(void *)((char *)a->obj + a->f->off));
}

static enum inj_rc cfg_set_duration(struct cfg_parse *p, const struct cfg_arg *a)
{
    long long *out = (long long *)(void *)((char *)a->obj + a->f->off);

    if (parse_duration(a->s, out) != 0)
        return cfg_errf(p, a->v, INJ_E_CONFIG,
                        "%s: \"%s\" is not a duration like 50ms, 30s, 5m or 1h30m (at most 30d)",
                        a->f->key, a->s);
    if (*out < a->f->arg)
        return cfg_errf(p, a->v, INJ_E_CONFIG, "%s: must be more than 0", a->f->key);
    return INJ_OK;
}

/* ---- entries -------------------------------------------------------------------------- */

static enum inj_rc cfg_entry_key(struct cfg_parse *p, const struct cfg_arg *a)
{
    const struct entry *e = a->obj;

    if (!*a->s)
        return cfg_errf(p, a->v, INJ_E_CONFIG, "%s: key is empty", e->name);
    return INJ_OK;
}

static enum inj_rc cfg_entry_pointer(struct cfg_parse *p, const struct cfg_arg *a)
{
    struct entry *e = a->obj;

    if (!jx_pointer_valid(a->s))
        return cfg_errf(p, a->v, INJ_E_CONFIG,
                        "%s: pointer \"%s\" is not an RFC 6901 JSON pointer (\"/a/b\", ~0 for ~, "
                        "~1 for /)",
                        e->name, a->s);
    e->pointer = xstrdup(a->s);
    if (!e->pointer)
        return inj_err_set(p->err, INJ_E_NOMEM, "out of memory");
    return INJ_OK;
}

/* encoding: raw (the default) or base64. */
static enum inj_rc cfg_entry_encoding(struct cfg_parse *p, const struct cfg_arg *a)
{
    struct entry *e = a->obj;

    if (strcmp(a->s, "raw") != 0 && strcmp(a->s, "base64") != 0)
        return cfg_errf(p, a->v, INJ_E_CONFIG, "%s: encoding must be raw or base64, not \"%s\"",
                        e->name, a->s);
    e->encoding_base64 = !strcmp(a->s, "base64");
    return INJ_OK;
}

/* expand: prefix: [A-Za-z_][A-Za-z0-9_]* (names are checked whole once the keys are known). */
static enum inj_rc cfg_entry_prefix(struct cfg_parse *p, const struct cfg_arg *a)
{
    struct entry *e = a->obj;

    if (!config_env_name_valid(a->s))
        return cfg_errf(p, a->v, INJ_E_CONFIG,
                        "%s: prefix \"%s\" must start a valid variable name "
                        "([A-Za-z_][A-Za-z0-9_]*)",
                        e->name, a->s);
    e->prefix = xstrdup(a->s);
    if (!e->prefix)
        return inj_err_set(p->err, INJ_E_NOMEM, "out of memory");
    return INJ_OK;
}

/* expand: only / except: a list of JSON keys (strings, "" too, none twice). */
static enum inj_rc cfg_entry_keys(struct cfg_parse *p, const struct cfg_arg *a)
{
    struct entry *e = a->obj;
    int is_only = !strcmp(a->f->key, "only");
    char ***out = is_only ? &e->only : &e->except;
    size_t *nout = is_only ? &e->nonly : &e->nexcept;
    size_t n = (size_t)(a->v->data.sequence.items.top - a->v->data.sequence.items.start);
    size_t i;
    size_t j;

    if (!n)
        return cfg_errf(p, a->v, INJ_E_CONFIG, "%s: %s is an empty list", e->name, a->f->key);
    if (n > 10000)
        return cfg_errf(p, a->v, INJ_E_CONFIG, "%s: %s: too many keys", e->name, a->f->key);
    *out = calloc(n, sizeof(**out));
    if (!*out)
        return inj_err_set(p->err, INJ_E_NOMEM, "out of memory");
    for (i = 0; i < n; i++) {
        yaml_node_t *item = cfg_node(p, a->v->data.sequence.items.start[i], a->v);
        const char *s = item ? cfg_scalar(p, item, a->f->key) : NULL;

        if (!s)
            return INJ_E_CONFIG;
        for (j = 0; j < *nout; j++)
            if (!strcmp((*out)[j], s))
                return cfg_errf(p, item, INJ_E_CONFIG, "%s: %s: key \"%s\" listed twice", e->name,
                                a->f->key, s);
        (*out)[*nout] = xstrdup(s);
        if (!(*out)[*nout])
            return inj_err_set(p->err, INJ_E_NOMEM, "out of memory");
        (*nout)++;
    }
    return INJ_OK;
}

/* path: max: how many parameters the path may hold, 1 to CONFIG_PATH_MAX. */
static enum inj_rc cfg_entry_max(struct cfg_parse *p, const struct cfg_arg *a)
{
    struct entry *e = a->obj;
    char *end = NULL;
    unsigned long m;

    errno = 0;
    m = a->s[0] >= '0' && a->s[0] <= '9' ? strtoul(a->s, &end, 10) : 0;
    if (errno || !end || *end || m < 1 || m > CONFIG_PATH_MAX)
        return cfg_errf(p, a->v, INJ_E_CONFIG,
                        "%s: max must be a whole number from 1 to %u, not \"%.40s\"", e->name,
                        CONFIG_PATH_MAX, a->s);
    e->max = (size_t)m;
    return INJ_OK;
}

static enum inj_rc cfg_entry_failover(struct cfg_parse *p, const struct cfg_arg *a)
{
    struct entry *e = a->obj;

    e->has_failover = 1;
    return cfg_failover(p, a->v, e->name, &e->failover);
}

static enum inj_rc cfg_entry_mode(struct cfg_parse *p, const struct cfg_arg *a)
{
    struct entry *e = a->obj;
    char *end = NULL;
    unsigned long m;

    errno = 0;
    m = strtoul(a->s, &end, 8);
    if (errno || !*a->s || *end || m > 0777)
        return cfg_errf(p, a->v, INJ_E_CONFIG,
                        "mode must be octal permission bits like \"0400\" (no setuid/sticky), "
                        "not \"%s\"",
                        a->s);
    if (m & 0002)
        return cfg_errf(p, a->v, INJ_E_CONFIG, "mode %s makes a secret world-writable", a->s);
    if (!(m & 0400))
        return cfg_errf(p, a->v, INJ_E_CONFIG, "mode %s does not let the owner read the file",
                        a->s);
    e->mode = (unsigned int)m;
    return INJ_OK;
}

/* role: NAME or role_arn: ARN: kept as written, tied to cfg->roles once every key is read
 * (cfg_roles_link). */
static enum inj_rc cfg_entry_role(struct cfg_parse *p, const struct cfg_arg *a)
{
    struct entry *e = a->obj;
    int is_arn = !strcmp(a->f->key, "role_arn");

    if (e->role_name)
        return cfg_errf(p, a->v, INJ_E_CONFIG, "%s: give either \"role\" or \"role_arn\", not both",
                        e->name);
    if (is_arn && !config_role_arn_valid(a->s))
        return cfg_errf(p, a->v, INJ_E_CONFIG,
                        "%s: role_arn \"%.100s\" is not an IAM role ARN "
                        "(arn:aws:iam::123456789012:role/NAME)",
                        e->name, a->s);
    if (!is_arn && !*a->s)
        return cfg_errf(p, a->v, INJ_E_CONFIG, "%s: role is empty", e->name);
    e->role_name = xstrdup(a->s);
    if (!e->role_name)
        return inj_err_set(p->err, INJ_E_NOMEM, "out of memory");
    e->role_inline = is_arn;
    e->role_line = a->v->start_mark.line + 1;
    e->role_col = a->v->start_mark.column + 1;
    return INJ_OK;
}

/* The keys of an entry's mapping, in the order the unknown-key message lists them. from, key,
 * version_stage, version_id and template are only recorded: cfg_entry reads them together. */
enum {
    EF_FROM,
    EF_KEY,
    EF_POINTER,
    EF_STAGE,
    EF_VID,
    EF_OPTIONAL,
    EF_TEMPLATE,
    EF_TEMPLATE_FILE,
    EF_ENCODING,
    EF_FAILOVER,
    EF_OVERWRITE,
    EF_RESERVED,
    EF_MODE,
    EF_DISK,
    EF_ROLE,
    EF_ROLE_ARN,
    EF_EXPAND,
    EF_PREFIX,
    EF_ONLY,
    EF_EXCEPT,
    EF_PATH,
    EF_RECURSIVE,
    EF_MAX,
    EF_TAGS,
    EF_N
};

static const struct cfg_field entry_fields[EF_N] = {
    [EF_FROM] = {.key = "from", .type = YAML_SCALAR_NODE},
    [EF_KEY] = {.key = "key", .type = YAML_SCALAR_NODE, .set = cfg_entry_key},
    [EF_POINTER] = {.key = "pointer", .type = YAML_SCALAR_NODE, .set = cfg_entry_pointer},
    [EF_STAGE] = {.key = "version_stage", .type = YAML_SCALAR_NODE},
    [EF_VID] = {.key = "version_id", .type = YAML_SCALAR_NODE},
    [EF_OPTIONAL] = {.key = "optional",
                     .type = YAML_SCALAR_NODE,
                     .off = offsetof(struct entry, optional),
                     .set = cfg_set_bool},
    [EF_TEMPLATE] = {.key = "template", .type = YAML_SCALAR_NODE},
    [EF_TEMPLATE_FILE] = {.key = "template_file", .type = YAML_SCALAR_NODE, .only = CFG_ONLY_FILE},
    [EF_ENCODING] = {.key = "encoding", .type = YAML_SCALAR_NODE, .set = cfg_entry_encoding},
    [EF_FAILOVER] = {.key = "failover_regions",
                     .type = YAML_SEQUENCE_NODE,
                     .must = "failover_regions must be a list of regions ([eu-west-1])",
                     .set = cfg_entry_failover},
    [EF_OVERWRITE] = {.key = "overwrite",
                      .type = YAML_SCALAR_NODE,
                      .only = CFG_ONLY_ENV,
                      .off = offsetof(struct entry, overwrite),
                      .set = cfg_set_bool},
    [EF_RESERVED] = {.key = "allow_reserved",
                     .type = YAML_SCALAR_NODE,
                     .only = CFG_ONLY_ENV,
                     .off = offsetof(struct entry, allow_reserved),
                     .set = cfg_set_bool},
    [EF_MODE] = {.key = "mode",
                 .type = YAML_SCALAR_NODE,
                 .only = CFG_ONLY_FILE,
                 .set = cfg_entry_mode},
    [EF_DISK] = {.key = "allow_disk",
                 .type = YAML_SCALAR_NODE,
                 .only = CFG_ONLY_FILE,
                 .off = offsetof(struct entry, allow_disk),
                 .set = cfg_set_bool},
    [EF_ROLE] = {.key = "role", .type = YAML_SCALAR_NODE, .set = cfg_entry_role},
    [EF_ROLE_ARN] = {.key = "role_arn", .type = YAML_SCALAR_NODE, .set = cfg_entry_role},
    [EF_EXPAND] = {.key = "expand",
                   .type = YAML_SCALAR_NODE,
                   .only = CFG_ONLY_ENV,
                   .off = offsetof(struct entry, expand),
                   .set = cfg_set_bool},
    [EF_PREFIX] = {.key = "prefix",
                   .type = YAML_SCALAR_NODE,
                   .only = CFG_ONLY_ENV,
                   .set = cfg_entry_prefix},
    [EF_ONLY] = {.key = "only",
                 .type = YAML_SEQUENCE_NODE,
                 .must = "only must be a list of keys ([user, password])",
                 .only = CFG_ONLY_ENV,
                 .set = cfg_entry_keys},
    [EF_EXCEPT] = {.key = "except",
                   .type = YAML_SEQUENCE_NODE,
                   .must = "except must be a list of keys ([user, password])",
                   .only = CFG_ONLY_ENV,
                   .set = cfg_entry_keys},
    [EF_PATH] = {.key = "path",
                 .type = YAML_SCALAR_NODE,
                 .only = CFG_ONLY_ENV,
                 .off = offsetof(struct entry, path),
                 .set = cfg_set_bool},
    [EF_RECURSIVE] = {.key = "recursive",
                      .type = YAML_SCALAR_NODE,
                      .only = CFG_ONLY_ENV,
                      .off = offsetof(struct entry, recursive),
                      .set = cfg_set_bool},
    [EF_MAX] = {.key = "max", .type = YAML_SCALAR_NODE, .only = CFG_ONLY_ENV, .set = cfg_entry_max},
    [EF_TAGS] = {.key = "tags",
                 .type = YAML_MAPPING_NODE,
                 .must = "tags must be a mapping of tag keys to values ({team: api})",
                 .only = CFG_ONLY_ENV},
};

static const struct cfg_section env_entry_section = {CFG_FIELDS(entry_fields), CFG_ONLY_ENV, "",
                                                     " in an env entry"};
static const struct cfg_section file_entry_section = {CFG_FIELDS(entry_fields), CFG_ONLY_FILE, "",
                                                      " in a files entry"};

static int cfg_path_valid(const char *path)
{
    const char *p = path;

    if (path[0] != '/' || strlen(path) >= 4096 || path[strlen(path) - 1] == '/')
        return 0;
    while (*p) {
        size_t len;
        while (*p == '/')
            p++;
        len = strcspn(p, "/");
        if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
            return 0;
        if (len == 0 && *p)
            return 0;
        p += len;
    }
    return !strstr(path, "//");
}

/* Compiles the entry's template (syntax, filters and `secret "ID"` references are checked
 * here, so `injector check` reports them). Without "from", the template's first secret
 * becomes the entry's reference (*from, borrowed from e->tmpl), and `.field` has nothing to
 * read. */
static enum inj_rc cfg_template(struct cfg_parse *p, const yaml_node_t *n, const char *text,
                                const char *file, struct entry *e, const char **from)
{
    enum inj_rc rc;

    rc = tmpl_parse(text, &e->tmpl, p->err);
    if (rc != INJ_OK)
        return cfg_errf(p, n, rc, "%s: %s%s%s", e->name, file ? file : "", file ? ": " : "",
                        p->err->msg);
    if (*from)
        return INJ_OK;
    if (tmpl_uses_dot(e->tmpl))
        return cfg_errf(p, n, INJ_E_CONFIG,
                        "%s: the template reads .fields but the entry has no \"from\"; add "
                        "\"from\", or name the secret: {{ secret \"ID\" .field }}",
                        e->name);
    if (!tmpl_nsources(e->tmpl))
        return cfg_errf(p, n, INJ_E_CONFIG,
                        "%s: the template uses no secret; add \"from\" or {{ secret \"ID\" }}",
                        e->name);
    *from = tmpl_source_text(e->tmpl, 0);
    return INJ_OK;
}

/* template_file: PATH, absolute or relative to the config file's directory (to the working
 * directory for INJECTOR_CONFIG_YAML), read whole into *text (owned, NUL-terminated) and
 * the path it was read from into *used (owned). */
static enum inj_rc cfg_template_file(struct cfg_parse *p, const yaml_node_t *n,
                                     const struct entry *e, struct sbuf *text, char **used)
{
    const char *path = cfg_text(n);
    const char *slash = strrchr(p->name, '/');
    size_t dlen = slash ? (size_t)(slash - p->name) + 1 : 0;
    enum inj_rc rc;

    if (!*path)
        return cfg_errf(p, n, INJ_E_CONFIG, "%s: template_file is empty", e->name);
    if (path[0] == '/' || !dlen) {
        *used = xstrdup(path);
    } else {
        size_t plen = strlen(path);

        *used = malloc(dlen + plen + 1);
        if (*used) {
            memcpy(*used, p->name, dlen);
            memcpy(*used + dlen, path, plen + 1);
        }
    }
    if (!*used)
        return inj_err_set(p->err, INJ_E_NOMEM, "out of memory");
    rc = rfile_read("template_file", *used, CONFIG_MAX_BYTES, 0, text, NULL, p->err);
    if (rc != INJ_OK)
        return cfg_errf(p, n, rc == INJ_E_NOMEM ? rc : INJ_E_CONFIG, "%s: %s", e->name,
                        p->err->msg);
    if (memchr(text->p, '\0', text->len))
        return cfg_errf(p, n, INJ_E_CONFIG, "%s: template_file %s holds a NUL byte", e->name,
                        *used);
    return INJ_OK;
}

/* *out = a copy of s (NULL: leaves *out alone). */
static enum inj_rc cfg_dup(struct cfg_parse *p, const char *s, char **out)
{
    if (!s)
        return INJ_OK;
    *out = xstrdup(s);
    if (!*out)
        return inj_err_set(p->err, INJ_E_NOMEM, "out of memory");
    return INJ_OK;
}

/* from: into e->ref. With path: true a trailing '/' is allowed ("ssm:/prod/app/" is the path
 * /prod/app). */
static enum inj_rc cfg_path_ref(struct cfg_parse *p, const yaml_node_t *from_node, const char *from,
                                struct entry *e)
{
    size_t len = strlen(from);
    char *trimmed = NULL;
    enum inj_rc rc;

    /* A Secrets Manager name prefix (not ssm:, not an ARN) is taken as written: "prod/app"
     * also matches "prod/application" (AWS's prefix match), "prod/app/" does not. */
    if (e->path && strncmp(from, "ssm:", 4) != 0 && strncmp(from, "arn:", 4) != 0) {
        if (strchr(from, ':') || !ref_valid_name(from))
            return cfg_errf(p, from_node, INJ_E_CONFIG,
                            "%s: with path: true, \"from\" is a Secrets Manager name prefix "
                            "(prod/app/: 1-512 of letters, digits and /_+=.@-!), not \"%.100s\" "
                            "(no ARN, no ':' fields)",
                            e->name, from);
        /* AWS reads a leading '!' in a filter as "not": "!zzz" would match every other
         * secret. */
        if (from[0] == '!')
            return cfg_errf(p, from_node, INJ_E_CONFIG,
                            "%s: with path: true, \"from\" is a name prefix and cannot start "
                            "with '!' (\"%.100s\": AWS's filter would read it as every secret "
                            "whose name does not start with the rest)",
                            e->name, from);
        memset(&e->ref, 0, sizeof(e->ref));
        e->ref.service = REF_SM;
        e->ref.secret_id = xstrdup(from);
        return e->ref.secret_id ? INJ_OK : inj_err_set(p->err, INJ_E_NOMEM, "out of memory");
    }
    if (e->path && len > 1 && from[len - 1] == '/' && from[len - 2] != '/' &&
        from[len - 2] != ':') {
        trimmed = xstrdup(from);
        if (!trimmed)
            return inj_err_set(p->err, INJ_E_NOMEM, "out of memory");
        trimmed[len - 1] = '\0';
    }
    rc = ref_parse(trimmed ? trimmed : from, &e->ref, p->err);
    free(trimmed);
    if (rc != INJ_OK)
        return cfg_errf(p, from_node, rc, "%s: %s%s", e->name, p->err->msg,
                        !e->path && len && from[len - 1] == '/'
                            ? " (to read every parameter under a path, add path: true and max: N)"
                            : "");
    return INJ_OK;
}

/* A tag key or value as ListSecrets' filter values take it (the API's pattern
 * ^[a-zA-Z0-9 :_@/+=.-]*$; a leading '!' would negate). NULL when valid, else why not. */
static const char *cfg_tag_why(const char *s, size_t max)
{
    const char *c;

    if (!*s)
        return "is empty";
    if (strlen(s) > max)
        return "is too long";
    for (c = s; *c; c++) {
        unsigned char ch = (unsigned char)*c;

        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              strchr(" :_@/+=.-", ch)))
            return "holds a character outside letters, digits and space :_@/+=.-";
    }
    return NULL;
}

/* tags: {KEY: VALUE, ...} into e->ref.tags: 1 to REF_MAX_TAGS pairs, as the filters take them
 * (a key at most 128 characters, a value at most 256). */
static enum inj_rc cfg_tags(struct cfg_parse *p, const yaml_node_t *map, struct entry *e)
{
    size_t n = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
    const yaml_node_pair_t *pair;
    enum inj_rc rc;

    if (!n || n > REF_MAX_TAGS)
        return cfg_errf(p, map, INJ_E_CONFIG,
                        "%s: tags takes 1 to %d pairs (ListSecrets takes 10 filters: the name "
                        "and a key and a value filter per tag), not %zu",
                        e->name, REF_MAX_TAGS, n);
    rc = cfg_check_dups(p, map);
    if (rc != INJ_OK)
        return rc;
    e->ref.tags = calloc(n, sizeof(*e->ref.tags));
    if (!e->ref.tags)
        return inj_err_set(p->err, INJ_E_NOMEM, "out of memory");
    for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
        yaml_node_t *k = cfg_node(p, pair->key, map);
        yaml_node_t *v = k ? cfg_node(p, pair->value, k) : NULL;
        const char *ks = k ? cfg_scalar(p, k, "a tag key") : NULL;
        const char *vs = ks && v ? cfg_scalar(p, v, "a tag value") : NULL;
        const char *why;

        if (!vs)
            return INJ_E_CONFIG;
        why = cfg_tag_why(ks, 128);
        if (why)
            return cfg_errf(p, k, INJ_E_CONFIG, "%s: tag key \"%.60s\" %s", e->name, ks, why);
        why = cfg_tag_why(vs, 256);
        if (why)
            return cfg_errf(p, v, INJ_E_CONFIG, "%s: tag %s: the value \"%.60s\" %s", e->name, ks,
                            vs, why);
        e->ref.tags[e->ref.ntags].key = xstrdup(ks);
        e->ref.tags[e->ref.ntags].value = xstrdup(vs);
        e->ref.ntags++;
        if (!e->ref.tags[e->ref.ntags - 1].key || !e->ref.tags[e->ref.ntags - 1].value)
            return inj_err_set(p->err, INJ_E_NOMEM, "out of memory");
    }
    return INJ_OK;
}

/* path: true on a Secrets Manager name prefix (or tags alone): no ARN, version, recursive or
 * failover; then as an SSM path (cfg_path_entry). */
static enum inj_rc cfg_sm_path_entry(struct cfg_parse *p, const yaml_node_t *const *got,
                                     struct entry *e)
{
    if (e->ref.is_arn)
        return cfg_errf(p, got[EF_FROM], INJ_E_CONFIG,
                        "%s: path: true reads secrets by name prefix: write the prefix "
                        "(from: prod/app/), not an ARN",
                        e->name);
    if (e->ref.version_stage || e->ref.version_id)
        return cfg_errf(p, got[EF_STAGE] ? got[EF_STAGE] : got[EF_VID], INJ_E_CONFIG,
                        "%s: a read by name prefix or tags takes no version_stage/version_id "
                        "(BatchGetSecretValue reads AWSCURRENT)",
                        e->name);
    if (got[EF_RECURSIVE])
        return cfg_errf(p, got[EF_RECURSIVE], INJ_E_CONFIG,
                        "%s: recursive is for SSM paths: a Secrets Manager name prefix matches "
                        "every name that starts with it",
                        e->name);
    if (got[EF_FAILOVER])
        return cfg_errf(p, got[EF_FAILOVER], INJ_E_CONFIG,
                        "%s: failover_regions: a read by name prefix or tags is not failed over "
                        "(its secrets are read in their own region only)",
                        e->name);
    return got[EF_TAGS] ? cfg_tags(p, got[EF_TAGS], e) : INJ_OK;
}

/* path: true, recursive and max together: an SSM path of a hierarchy (no selector, no key,
 * pointer or template), max required; then the entry expands like expand: true. */
static enum inj_rc cfg_path_entry(struct cfg_parse *p, const yaml_node_t *val,
                                  const yaml_node_t *const *got, struct entry *e)
{
    const char *name;

    enum inj_rc rc;

    if (!e->path) {
        if (got[EF_RECURSIVE] || got[EF_MAX] || got[EF_TAGS])
            return cfg_errf(p,
                            got[EF_RECURSIVE] ? got[EF_RECURSIVE]
                            : got[EF_MAX]     ? got[EF_MAX]
                                              : got[EF_TAGS],
                            INJ_E_CONFIG, "%s: recursive/max/tags go with \"path: true\"", e->name);
        return INJ_OK;
    }
    if (e->ref.service == REF_SM) {
        rc = cfg_sm_path_entry(p, got, e);
        if (rc != INJ_OK)
            return rc;
        goto common;
    }
    if (got[EF_TAGS])
        return cfg_errf(p, got[EF_TAGS], INJ_E_CONFIG,
                        "%s: tags select Secrets Manager secrets; an SSM path takes none", e->name);
    name = e->ref.is_arn ? strstr(e->ref.secret_id, ":parameter/") : NULL;
    name = name ? name + 10 : e->ref.secret_id;
    if (name[0] != '/' || !strncmp(name, "/aws/reference/", 15))
        return cfg_errf(p, got[EF_PATH], INJ_E_CONFIG,
                        "%s: path: true needs a hierarchical path (ssm:/prod/app/), not \"%.100s\"",
                        e->name, name);
    if (e->ref.selector)
        return cfg_errf(p, got[EF_PATH], INJ_E_CONFIG,
                        "%s: a path has no version or label (GetParametersByPath reads the latest "
                        "of each parameter): drop \":%.40s\"",
                        e->name, e->ref.selector);
common:
    if (got[EF_EXPAND])
        return cfg_errf(p, got[EF_EXPAND], INJ_E_CONFIG,
                        "%s: path: true expands by itself: drop \"expand\"", e->name);
    if (e->tmpl || e->pointer || e->ref.json_key)
        return cfg_errf(p, got[EF_PATH], INJ_E_CONFIG,
                        "%s: path: true sets one variable per parameter or secret: drop \"key\", "
                        "\"pointer\" or \"template\"",
                        e->name);
    if (!e->max)
        return cfg_errf(p, val, INJ_E_CONFIG,
                        "%s: path: true needs max: N, the most %s the path may hold (so a typo "
                        "cannot pull a whole account's %s into the app)",
                        e->name, e->ref.service == REF_SM ? "secrets" : "parameters",
                        e->ref.service == REF_SM ? "secrets" : "parameters");
    e->expand = 1;
    e->ref.path = 1;
    e->ref.recursive = e->recursive;
    e->ref.path_max = e->max;
    return INJ_OK;
}

/* One entry: its mapping (or compact string) walked into e, then what concerns several keys:
 * the reference from "from" or the template, and key/pointer/version against it. */
static enum inj_rc cfg_entry(struct cfg_parse *p, const yaml_node_t *key, const yaml_node_t *val,
                             struct entry *e)
{
    const yaml_node_t *got[EF_N] = {NULL};
    const yaml_node_t *from_node;
    const char *from;
    const char *key_field;
    const char *stage;
    const char *vid;
    enum inj_rc rc;

    e->line = key->start_mark.line + 1;
    e->col = key->start_mark.column + 1;
    e->mode = 0400;
    if (val->type == YAML_SCALAR_NODE) {
        if (!cfg_scalar(p, val, "from"))
            return INJ_E_CONFIG;
        got[EF_FROM] = val;
    } else if (val->type == YAML_MAPPING_NODE) {
        rc = cfg_walk(p, val, e->kind == ENTRY_ENV ? &env_entry_section : &file_entry_section,
                      e->name, e, got);
        if (rc != INJ_OK)
            return rc;
    } else {
        return cfg_errf(p, val, INJ_E_CONFIG,
                        "%s: expected a secret reference or a mapping with \"from\", not %s",
                        e->name, cfg_kind(val));
    }
    from_node = got[EF_FROM];
    from = cfg_text(from_node);
    key_field = cfg_text(got[EF_KEY]);
    stage = cfg_text(got[EF_STAGE]);
    vid = cfg_text(got[EF_VID]);
    if (got[EF_TEMPLATE] && got[EF_TEMPLATE_FILE])
        return cfg_errf(p, got[EF_TEMPLATE_FILE], INJ_E_CONFIG,
                        "%s: give either \"template\" or \"template_file\", not both", e->name);
    if (got[EF_TEMPLATE] || got[EF_TEMPLATE_FILE]) {
        const yaml_node_t *tn = got[EF_TEMPLATE] ? got[EF_TEMPLATE] : got[EF_TEMPLATE_FILE];
        struct sbuf text = SBUF_INIT(CONFIG_MAX_BYTES + 1);
        char *used = NULL;

        if (!from && (stage || vid))
            return cfg_errf(p, val, INJ_E_CONFIG,
                            "%s: version_stage/version_id need \"from\"; inside a template "
                            "write secret \"ID::STAGE\"",
                            e->name);
        if (!from_node)
            from_node = tn;
        rc = got[EF_TEMPLATE_FILE] ? cfg_template_file(p, tn, e, &text, &used) : INJ_OK;
        if (rc == INJ_OK)
            rc = cfg_template(p, tn, used ? (const char *)text.p : cfg_text(tn), used, e, &from);
        sbuf_wipe_free(&text);
        free(used);
        if (rc != INJ_OK)
            return rc;
    }
    if (!from && got[EF_TAGS] && e->path) {
        /* Secrets Manager secrets by their tags alone: the name prefix is empty. */
        e->ref.secret_id = xstrdup("");
        if (!e->ref.secret_id)
            return inj_err_set(p->err, INJ_E_NOMEM, "out of memory");
    } else if (!from) {
        return cfg_errf(p, val, INJ_E_CONFIG, "%s: missing \"from\" (the secret name or ARN)",
                        e->name);
    } else {
        rc = cfg_path_ref(p, from_node, from, e);
        if (rc != INJ_OK)
            return rc;
    }
    if (e->ref.service == REF_SSM && (stage || vid))
        return cfg_errf(p, val, INJ_E_CONFIG,
                        "%s: version_stage/version_id are Secrets Manager's; a parameter's "
                        "version or label follows its name (ssm:NAME:3, ssm:NAME:LABEL)",
                        e->name);
    if (key_field && e->ref.json_key)
        return cfg_errf(p, from_node, INJ_E_CONFIG,
                        "%s: json key given both in \"from\" and in \"key\"", e->name);
    rc = cfg_dup(p, key_field, &e->ref.json_key);
    if (rc != INJ_OK)
        return rc;
    if (e->tmpl && (e->pointer || e->ref.json_key))
        return cfg_errf(p, val, INJ_E_CONFIG,
                        "%s: a template reads its own fields: write {{ .key }} in it instead of "
                        "\"key\"/\"pointer\"",
                        e->name);
    if (e->pointer && e->ref.json_key)
        return cfg_errf(p, val, INJ_E_CONFIG, "%s: give either \"key\" or \"pointer\", not both",
                        e->name);
    if (stage && (e->ref.version_stage || !ref_valid_stage(stage)))
        return cfg_errf(p, val, INJ_E_CONFIG, "%s: version_stage given twice or invalid", e->name);
    rc = cfg_dup(p, stage, &e->ref.version_stage);
    if (rc != INJ_OK)
        return rc;
    if (vid && (e->ref.version_id || !ref_valid_version_id(vid)))
        return cfg_errf(p, val, INJ_E_CONFIG,
                        "%s: version_id given twice or invalid (expected 32-64 letters, digits "
                        "or '-', e.g. a UUID)",
                        e->name);
    rc = cfg_dup(p, vid, &e->ref.version_id);
    if (rc != INJ_OK)
        return rc;
    rc = cfg_path_entry(p, val, got, e);
    if (rc != INJ_OK)
        return rc;
    if (!e->expand && (got[EF_PREFIX] || got[EF_ONLY] || got[EF_EXCEPT]))
        return cfg_errf(p,
                        got[EF_PREFIX] ? got[EF_PREFIX]
                        : got[EF_ONLY] ? got[EF_ONLY]
                                       : got[EF_EXCEPT],
                        INJ_E_CONFIG, "%s: prefix/only/except go with \"expand: true\"", e->name);
    if (e->expand && (e->tmpl || e->pointer || e->ref.json_key))
        return cfg_errf(p, got[EF_EXPAND], INJ_E_CONFIG,
                        "%s: expand reads every top-level key itself: drop \"key\", "
                        "\"pointer\" or \"template\" (use only: [KEY, ...] to pick keys)",
                        e->name);
    if (got[EF_FAILOVER] && e->ref.service == REF_SSM)
        return cfg_errf(p, got[EF_FAILOVER], INJ_E_CONFIG,
                        "%s: failover_regions: an SSM parameter has no replicas to fail over to",
                        e->name);
    if (got[EF_FAILOVER])
        return cfg_failover_partition(p, got[EF_FAILOVER], e, &e->failover);
    return INJ_OK;
}

/* One key of env or files: a name or path, and its entry. */
static enum inj_rc cfg_section_pair(struct cfg_parse *p, const yaml_node_t *k, const yaml_node_t *v,
                                    void *ctx)
{
    enum entry_kind kind = *(const enum entry_kind *)ctx;
    struct entry *e = &p->cfg->entries[p->cfg->n];
    const char *name;
    enum inj_rc rc;

    name = cfg_scalar(p, k, kind == ENTRY_ENV ? "a variable name" : "a file path");
    if (!name)
        return INJ_E_CONFIG;
    if (kind == ENTRY_ENV && !config_env_name_valid(name))
        return cfg_errf(p, k, INJ_E_CONFIG,
                        "\"%s\" is not a valid environment variable name "
                        "([A-Za-z_][A-Za-z0-9_]*)",
                        name);
    if (kind == ENTRY_FILE && !cfg_path_valid(name))
        return cfg_errf(p, k, INJ_E_CONFIG,
                        "\"%s\" is not an absolute, normalised file path (no \"..\", \".\", "
                        "\"//\" or trailing \"/\")",
                        name);
    memset(e, 0, sizeof(*e));
    e->kind = kind;
    e->name = xstrdup(name);
    if (!e->name)
        return inj_err_set(p->err, INJ_E_NOMEM, "out of memory");
    p->cfg->n++; /* owned by the config from here on, freed with it on error */
    rc = cfg_entry(p, k, v, e);
    if (rc != INJ_OK)
        return rc;
    if (kind == ENTRY_ENV && !e->expand && !e->allow_reserved && config_env_name_reserved(name))
        return cfg_errf(p, k, INJ_E_CONFIG,
                        "%s: refusing to set a loader/shell variable from a secret; add "
                        "\"allow_reserved: true\" to the entry if you mean it",
                        name);
    return INJ_OK;
}

/* env: or files: (f->arg is the entry kind), a mapping of names to entries. */
static enum inj_rc cfg_root_entries(struct cfg_parse *p, const struct cfg_arg *a)
{
    enum entry_kind kind = a->f->arg == ENTRY_ENV ? ENTRY_ENV : ENTRY_FILE;
    size_t count = (size_t)(a->v->data.mapping.pairs.top - a->v->data.mapping.pairs.start);
    struct entry *grown;

    if (count > 10000)
        return cfg_errf(p, a->v, INJ_E_CONFIG, "too many entries in \"%s\"", a->f->key);
    /* realloc(p, 0) may free p and return NULL: an empty section must not get there. */
    if (count > 0) {
        grown = realloc(p->cfg->entries, (p->cfg->n + count) * sizeof(*grown));
        if (!grown)
            return inj_err_set(p->err, INJ_E_NOMEM, "out of memory");
        p->cfg->entries = grown;
    }
    /* One env and one files section: a repeated key here is the only duplicate entry. */
    return cfg_map_each(p, a->v, cfg_section_pair, &kind);
}

/* ---- child_env: what the command's environment keeps of injector's own ---------------- */

static const struct cfg_field child_env_fields[] = {
    {.key = "drop_aws_credentials",
     .type = YAML_SCALAR_NODE,
     .off = offsetof(struct config, drop_aws_credentials),
     .set = cfg_set_bool},
};

static const struct cfg_section child_env_section = {CFG_FIELDS(child_env_fields), 0, "",
                                                     " in child_env"};

static enum inj_rc cfg_root_child_env(struct cfg_parse *p, const struct cfg_arg *a)
{
    return cfg_walk(p, a->v, &child_env_section, NULL, a->obj, NULL);
}

/* ---- supervise: true|false, or a mapping of its settings (docs/supervise.md) ----------- */

/* A command as a list: [cmd, arg...]; no shell. */
static enum inj_rc cfg_sv_exec(struct cfg_parse *p, const struct cfg_arg *a)
{
    struct config_supervise *sv = a->obj;
    yaml_node_item_t *it;
    size_t count = (size_t)(a->v->data.sequence.items.top - a->v->data.sequence.items.start);
    size_t i = 0;

    if (count == 0 || count > 256)
        return cfg_errf(p, a->v, INJ_E_CONFIG, "%s must list a command and at most 255 arguments",
                        a->f->key);
    sv->on_change_exec = calloc(count + 1, sizeof(*sv->on_change_exec));
    if (!sv->on_change_exec)
        return inj_err_set(p->err, INJ_E_NOMEM, "out of memory");
    for (it = a->v->data.sequence.items.start; it < a->v->data.sequence.items.top; it++) {
        yaml_node_t *v = cfg_node(p, *it, a->v);
        const char *arg = v ? cfg_scalar(p, v, a->f->key) : NULL;

        if (!arg)
            return INJ_E_CONFIG;
        if (i == 0 && !*arg)
            return cfg_errf(p, v, INJ_E_CONFIG, "%s: the command is empty", a->f->key);
        sv->on_change_exec[i] = xstrdup(arg);
        if (!sv->on_change_exec[i])
            return inj_err_set(p->err, INJ_E_NOMEM, "out of memory");
        i++;
    }
    return INJ_OK;
}

static enum inj_rc cfg_sv_on_change(struct cfg_parse *p, const struct cfg_arg *a)
{
    struct config_supervise *sv = a->obj;

    if (!strcmp(a->s, "signal"))
        sv->on_change = SUPERVISE_ON_CHANGE_SIGNAL;
    else if (!strcmp(a->s, "restart"))
        sv->on_change = SUPERVISE_ON_CHANGE_RESTART;
    else if (!strcmp(a->s, "none"))
        sv->on_change = SUPERVISE_ON_CHANGE_NONE;
    else
        return cfg_errf(p, a->v, INJ_E_CONFIG, "on_change: \"%s\" is not signal, restart or none",
                        a->s);
    sv->on_change_given = 1;
    return INJ_OK;
}

static enum inj_rc cfg_sv_signal(struct cfg_parse *p, const struct cfg_arg *a)
{
    struct config_supervise *sv = a->obj;

    sv->on_change_signal = parse_signal(a->s);
    if (sv->on_change_signal < 0)
        return cfg_errf(p, a->v, INJ_E_CONFIG,
                        "on_change_signal: \"%s\" is not one of HUP, INT, QUIT, TERM, USR1, USR2, "
                        "WINCH, ALRM, CONT, URG (SIG prefix optional)",
                        a->s);
    return INJ_OK;
}

/* The signal injector keeps and answers with a refresh now. TERM and INT stop injector (and
 * the app), so they cannot also mean "refresh". */
static enum inj_rc cfg_sv_refresh_signal(struct cfg_parse *p, const struct cfg_arg *a)
{
    struct config_supervise *sv = a->obj;

    sv->refresh_signal = parse_signal(a->s);
    if (sv->refresh_signal == SIGTERM || sv->refresh_signal == SIGINT)
        return cfg_errf(p, a->v, INJ_E_CONFIG,
                        "refresh_signal: %s stops injector and the app; pick another signal "
                        "(HUP, USR1, USR2, ...)",
                        a->s);
    if (sv->refresh_signal < 0)
        return cfg_errf(p, a->v, INJ_E_CONFIG,
                        "refresh_signal: \"%s\" is not one of HUP, QUIT, USR1, USR2, WINCH, ALRM, "
                        "CONT, URG (SIG prefix optional)",
                        a->s);
    return INJ_OK;
}

static const struct cfg_field supervise_fields[] = {
    {.key = "refresh",
     .type = YAML_SCALAR_NODE,
     .off = offsetof(struct config_supervise, refresh_ms),
     .arg = 1,
     .set = cfg_set_duration},
    {.key = "on_change", .type = YAML_SCALAR_NODE, .set = cfg_sv_on_change},
    {.key = "on_change_signal", .type = YAML_SCALAR_NODE, .set = cfg_sv_signal},
    {.key = "on_change_exec",
     .type = YAML_SEQUENCE_NODE,
     .must = "on_change_exec must be a list [command, arg...]",
     .set = cfg_sv_exec},
    {.key = "restart_timeout",
     .type = YAML_SCALAR_NODE,
     .off = offsetof(struct config_supervise, restart_timeout_ms),
     .arg = 1,
     .set = cfg_set_duration},
    {.key = "restart_delay",
     .type = YAML_SCALAR_NODE,
     .off = offsetof(struct config_supervise, restart_delay_ms),
     .arg = 0,
     .set = cfg_set_duration},
    {.key = "pgroup",
     .type = YAML_SCALAR_NODE,
     .off = offsetof(struct config_supervise, pgroup),
     .set = cfg_set_bool},
    {.key = "refresh_signal", .type = YAML_SCALAR_NODE, .set = cfg_sv_refresh_signal},
};

static const struct cfg_section supervise_section = {CFG_FIELDS(supervise_fields), 0, "",
                                                     " in supervise"};

static enum inj_rc cfg_root_supervise(struct cfg_parse *p, const struct cfg_arg *a)
{
    struct config_supervise *sv = &((struct config *)a->obj)->supervise;
    const char *s;

    if (a->v->type == YAML_SCALAR_NODE) {
        s = cfg_scalar(p, a->v, a->f->key);
        return s ? cfg_bool(p, a->v, s, a->f->key, &sv->enabled) : INJ_E_CONFIG;
    }
    if (a->v->type != YAML_MAPPING_NODE)
        return cfg_errf(p, a->v, INJ_E_CONFIG,
                        "\"supervise\" must be true, false or a mapping, not %s", cfg_kind(a->v));
    sv->enabled = 1;
    return cfg_walk(p, a->v, &supervise_section, NULL, sv, NULL);
}

/* ---- sidecar: settings of --sidecar (docs/supervise.md) --------------------------------- */

static enum inj_rc cfg_sc_ready_file(struct cfg_parse *p, const struct cfg_arg *a)
{
    struct config_sidecar *sc = a->obj;

    if (!cfg_path_valid(a->s))
        return cfg_errf(p, a->v, INJ_E_CONFIG,
                        "ready_file: \"%s\" is not an absolute, normalised file path (no \"..\", "
                        "\".\", \"//\" or trailing \"/\")",
                        a->s);
    return cfg_dup(p, a->s, &sc->ready_file);
}

static const struct cfg_field sidecar_fields[] = {
    {.key = "ready_file", .type = YAML_SCALAR_NODE, .set = cfg_sc_ready_file},
};

static const struct cfg_section sidecar_section = {CFG_FIELDS(sidecar_fields), 0, "",
                                                   " in sidecar"};

static enum inj_rc cfg_root_sidecar(struct cfg_parse *p, const struct cfg_arg *a)
{
    return cfg_walk(p, a->v, &sidecar_section, NULL, &((struct config *)a->obj)->sidecar, NULL);
}

/* ---- roles: NAME: {role_arn, external_id, session_name, duration} ----------------------- */

const struct config_role *config_role_of(const struct config *c, const struct entry *e)
{
    return e->role && e->role <= c->nroles ? &c->roles[e->role - 1] : NULL;
}

int config_role_arn_valid(const char *s)
{
    const char *p;
    size_t n = strlen(s);
    int colons = 0;

    if (n < 20 || n > 2048 || strncmp(s, "arn:", 4) != 0)
        return 0;
    for (p = s; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return 0;
    /* arn:PARTITION:iam::ACCOUNT:role/PATH/NAME */
    for (p = s; *p && colons < 5; p++)
        colons += *p == ':';
    return colons == 5 && strstr(s, ":iam::") && !strncmp(p, "role/", 5) && p[5];
}

/* STS's RoleSessionName: [\w+=,.@-]{2,64}. */
static int cfg_session_name_valid(const char *s)
{
    size_t n = strlen(s);
    const char *q;

    if (n < 2 || n > 64)
        return 0;
    for (q = s; *q; q++)
        if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
              strchr("_+=,.@-", *q)))
            return 0;
    return 1;
}

/* STS's ExternalId: [\w+=,.@:/-]{2,1224}. */
static int cfg_external_id_valid(const char *s)
{
    size_t n = strlen(s);
    const char *q;

    if (n < 2 || n > 1224)
        return 0;
    for (q = s; *q; q++)
        if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
              strchr("_+=,.@:/-", *q)))
            return 0;
    return 1;
}

static enum inj_rc cfg_role_arn(struct cfg_parse *p, const struct cfg_arg *a)
{
    struct config_role *r = a->obj;

    if (!config_role_arn_valid(a->s))
        return cfg_errf(p, a->v, INJ_E_CONFIG,
                        "role %s: role_arn \"%.100s\" is not an IAM role ARN "
                        "(arn:aws:iam::123456789012:role/NAME)",
                        r->name, a->s);
    return cfg_dup(p, a->s, &r->role_arn);
}

static enum inj_rc cfg_role_external_id(struct cfg_parse *p, const struct cfg_arg *a)
{
    struct config_role *r = a->obj;

    if (!cfg_external_id_valid(a->s))
        return cfg_errf(p, a->v, INJ_E_CONFIG,
                        "role %s: external_id must be 2 to 1224 of A-Z a-z 0-9 _+=,.@:/-", r->name);
    return cfg_dup(p, a->s, &r->external_id);
}

static enum inj_rc cfg_role_session(struct cfg_parse *p, const struct cfg_arg *a)
{
    struct config_role *r = a->obj;

    if (!cfg_session_name_valid(a->s))
        return cfg_errf(p, a->v, INJ_E_CONFIG,
                        "role %s: session_name \"%.64s\" must be 2 to 64 of A-Z a-z 0-9 _+=,.@-",
                        r->name, a->s);
    return cfg_dup(p, a->s, &r->session_name);
}

static enum inj_rc cfg_role_duration(struct cfg_parse *p, const struct cfg_arg *a)
{
    struct config_role *r = a->obj;
    long long ms = 0;

    if (parse_duration(a->s, &ms) != 0 || ms % 1000 || ms < 900000LL || ms > 43200000LL)
        return cfg_errf(p, a->v, INJ_E_CONFIG,
                        "role %s: duration \"%s\" must be whole seconds from 15m (900s) to 12h "
                        "(43200s), like 1h",
                        r->name, a->s);
    r->duration_s = (long)(ms / 1000);
    return INJ_OK;
}

static const struct cfg_field role_fields[] = {
    {.key = "role_arn", .type = YAML_SCALAR_NODE, .set = cfg_role_arn},
    {.key = "external_id", .type = YAML_SCALAR_NODE, .set = cfg_role_external_id},
    {.key = "session_name", .type = YAML_SCALAR_NODE, .set = cfg_role_session},
    {.key = "duration", .type = YAML_SCALAR_NODE, .set = cfg_role_duration},
};

static const struct cfg_section role_section = {CFG_FIELDS(role_fields), 0, "", " in a role"};

/* Role names: what entries write after role:. */
static int cfg_role_name_valid(const char *s)
{
    size_t n = strlen(s);
    const char *q;

    if (n < 1 || n > 64)
        return 0;
    for (q = s; *q; q++)
        if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
              strchr("_.-", *q)))
            return 0;
    return 1;
}

static enum inj_rc cfg_role_pair(struct cfg_parse *p, const yaml_node_t *k, const yaml_node_t *v,
                                 void *ctx)
{
    struct config_role *r = &p->cfg->roles[p->cfg->nroles];
    const char *name = cfg_scalar(p, k, "a role name");
    enum inj_rc rc;

    (void)ctx;
    if (!name)
        return INJ_E_CONFIG;
    if (!cfg_role_name_valid(name))
        return cfg_errf(p, k, INJ_E_CONFIG, "role name \"%.64s\": 1 to 64 of A-Z a-z 0-9 _.-",
                        name);
    if (v->type != YAML_MAPPING_NODE)
        return cfg_errf(p, v, INJ_E_CONFIG,
                        "role %s: expected a mapping with role_arn (and external_id, "
                        "session_name, duration), not %s",
                        name, cfg_kind(v));
    memset(r, 0, sizeof(*r));
    r->line = k->start_mark.line + 1;
    r->name = xstrdup(name);
    if (!r->name)
        return inj_err_set(p->err, INJ_E_NOMEM, "out of memory");
    p->cfg->nroles++; /* owned by the config from here on */
    rc = cfg_walk(p, v, &role_section, NULL, r, NULL);
    if (rc == INJ_OK && !r->role_arn)
        rc = cfg_errf(p, v, INJ_E_CONFIG, "role %s: missing role_arn", name);
    return rc;
}

/* Room for the named roles and one inline role per entry. */
static enum inj_rc cfg_roles_room(struct cfg_parse *p, size_t more)
{
    struct config_role *grown;
    size_t have = p->cfg->nroles;

    if (!more)
        return INJ_OK;
    grown = realloc(p->cfg->roles, (have + more) * sizeof(*grown));
    if (!grown)
        return inj_err_set(p->err, INJ_E_NOMEM, "out of memory");
    p->cfg->roles = grown;
    return INJ_OK;
}

static enum inj_rc cfg_root_roles(struct cfg_parse *p, const struct cfg_arg *a)
{
    size_t count = (size_t)(a->v->data.mapping.pairs.top - a->v->data.mapping.pairs.start);
    enum inj_rc rc;

    if (count > 100)
        return cfg_errf(p, a->v, INJ_E_CONFIG, "too many roles (at most 100)");
    rc = cfg_roles_room(p, count);
    if (rc != INJ_OK)
        return rc;
    return cfg_map_each(p, a->v, cfg_role_pair, NULL);
}

/* Ties each entry's role / role_arn to cfg->roles: a name must be defined under roles; an
 * inline role_arn becomes a role of its own, one per distinct ARN. */
static enum inj_rc cfg_roles_link(struct cfg_parse *p)
{
    struct config *c = p->cfg;
    size_t named = c->nroles;
    enum inj_rc rc;
    size_t i;
    size_t j;

    rc = cfg_roles_room(p, c->n);
    if (rc != INJ_OK)
        return rc;
    for (i = 0; i < c->n; i++) {
        struct entry *e = &c->entries[i];

        if (!e->role_name)
            continue;
        for (j = e->role_inline ? named : 0; j < (e->role_inline ? c->nroles : named); j++)
            if (!strcmp(e->role_inline ? c->roles[j].role_arn : c->roles[j].name, e->role_name))
                break;
        if (j < c->nroles && (e->role_inline ? j >= named : j < named)) {
            e->role = j + 1;
            continue;
        }
        if (!e->role_inline)
            return inj_err_set(p->err, INJ_E_CONFIG,
                               "%s:%lu:%lu: %s: role \"%.64s\" is not defined under roles:",
                               p->name, e->role_line, e->role_col, e->name, e->role_name);
        memset(&c->roles[c->nroles], 0, sizeof(c->roles[0]));
        c->roles[c->nroles].is_inline = 1;
        c->roles[c->nroles].line = e->role_line;
        c->nroles++;
        rc = cfg_dup(p, e->role_name, &c->roles[c->nroles - 1].name);
        if (rc == INJ_OK)
            rc = cfg_dup(p, e->role_name, &c->roles[c->nroles - 1].role_arn);
        if (rc != INJ_OK)
            return rc;
        e->role = c->nroles;
    }
    return INJ_OK;
}

/* ---- the top level --------------------------------------------------------------------- */

static enum inj_rc cfg_root_version(struct cfg_parse *p, const struct cfg_arg *a)
{
    if (strcmp(a->s, "1") != 0)
        return cfg_errf(p, a->v, INJ_E_CONFIG,
                        "unsupported config version \"%s\" (this injector reads version 1)", a->s);
    ((struct config *)a->obj)->version = 1;
    return INJ_OK;
}

static enum inj_rc cfg_root_region(struct cfg_parse *p, const struct cfg_arg *a)
{
    if (!ref_valid_region(a->s))
        return cfg_errf(p, a->v, INJ_E_CONFIG, "\"%s\" is not an AWS region name", a->s);
    return cfg_dup(p, a->s, &((struct config *)a->obj)->region);
}

static enum inj_rc cfg_root_failover(struct cfg_parse *p, const struct cfg_arg *a)
{
    return cfg_failover(p, a->v, NULL, &((struct config *)a->obj)->failover);
}

static enum inj_rc cfg_root_fetch(struct cfg_parse *p, const struct cfg_arg *a)
{
    struct config *c = a->obj;

    c->fetch = sm_fetch_mode_parse(a->s);
    if (c->fetch == SM_FETCH_UNSET)
        return cfg_errf(p, a->v, INJ_E_CONFIG, "fetch must be auto, batch or single, not \"%s\"",
                        a->s);
    return INJ_OK;
}

static enum inj_rc cfg_root_log_format(struct cfg_parse *p, const struct cfg_arg *a)
{
    struct config *c = a->obj;

    c->log_format = log_format_parse(a->s);
    if (!c->log_format)
        return cfg_errf(p, a->v, INJ_E_CONFIG, "log_format must be text or json, not \"%s\"", a->s);
    return INJ_OK;
}

/* timeout: the start deadline, as --timeout (at most an hour). */
static enum inj_rc cfg_root_timeout(struct cfg_parse *p, const struct cfg_arg *a)
{
    long long *out = &((struct config *)a->obj)->timeout_ms;

    if (parse_duration(a->s, out) != 0 || *out < 1 || *out > 3600000LL)
        return cfg_errf(p, a->v, INJ_E_CONFIG,
                        "timeout: \"%s\" is not a duration like 500ms, 30s or 2m, more than 0 and "
                        "at most 1h",
                        a->s);
    return INJ_OK;
}

enum {
    TF_VERSION,
    TF_REGION,
    TF_FAILOVER,
    TF_FETCH,
    TF_LOG_FORMAT,
    TF_TIMEOUT,
    TF_ENV,
    TF_FILES,
    TF_CHILD_ENV,
    TF_SUPERVISE,
    TF_SIDECAR,
    TF_ROLES,
    TF_N
};

static const struct cfg_field root_fields[TF_N] = {
    [TF_VERSION] = {.key = "version", .type = YAML_SCALAR_NODE, .set = cfg_root_version},
    [TF_REGION] = {.key = "region", .type = YAML_SCALAR_NODE, .set = cfg_root_region},
    [TF_FAILOVER] = {.key = "failover_regions",
                     .type = YAML_SEQUENCE_NODE,
                     .must = "failover_regions must be a list of regions ([eu-west-1])",
                     .set = cfg_root_failover},
    [TF_FETCH] = {.key = "fetch", .type = YAML_SCALAR_NODE, .set = cfg_root_fetch},
    [TF_LOG_FORMAT] = {.key = "log_format", .type = YAML_SCALAR_NODE, .set = cfg_root_log_format},
    [TF_TIMEOUT] = {.key = "timeout", .type = YAML_SCALAR_NODE, .set = cfg_root_timeout},
    [TF_ENV] = {.key = "env",
                .type = YAML_MAPPING_NODE,
                .must = "\"env\" must be a mapping of variable names to secrets",
                .arg = ENTRY_ENV,
                .set = cfg_root_entries},
    [TF_FILES] = {.key = "files",
                  .type = YAML_MAPPING_NODE,
                  .must = "\"files\" must be a mapping of file paths to secrets",
                  .arg = ENTRY_FILE,
                  .set = cfg_root_entries},
    [TF_CHILD_ENV] = {.key = "child_env",
                      .type = YAML_MAPPING_NODE,
                      .must = "\"child_env\" must be a mapping",
                      .set = cfg_root_child_env},
    [TF_SUPERVISE] = {.key = "supervise", .type = YAML_NO_NODE, .set = cfg_root_supervise},
    [TF_SIDECAR] = {.key = "sidecar",
                    .type = YAML_MAPPING_NODE,
                    .must = "\"sidecar\" must be a mapping (ready_file: PATH)",
                    .set = cfg_root_sidecar},
    [TF_ROLES] = {.key = "roles",
                  .type = YAML_MAPPING_NODE,
                  .must = "\"roles\" must be a mapping of role names to {role_arn, ...}",
                  .set = cfg_root_roles},
};

static const struct cfg_section root_section = {CFG_FIELDS(root_fields), 0, "top-level ", ""};

static enum inj_rc cfg_root(struct cfg_parse *p, const yaml_node_t *root)
{
    const yaml_node_t *got[TF_N] = {NULL};
    enum inj_rc rc;
    size_t i;

    if (root->type != YAML_MAPPING_NODE)
        return cfg_errf(p, root, INJ_E_CONFIG, "the config must be a mapping, not %s",
                        cfg_kind(root));
    rc = cfg_walk(p, root, &root_section, NULL, p->cfg, got);
    if (rc != INJ_OK)
        return rc;
    if (!got[TF_VERSION])
        return cfg_errf(p, root, INJ_E_CONFIG, "missing \"version: 1\"");
    rc = cfg_roles_link(p);
    if (rc != INJ_OK)
        return rc;
    for (i = 0; got[TF_FAILOVER] && i < p->cfg->n; i++) {
        if (p->cfg->entries[i].has_failover)
            continue;
        rc = cfg_failover_partition(p, got[TF_FAILOVER], &p->cfg->entries[i], &p->cfg->failover);
        if (rc != INJ_OK)
            return rc;
    }
    return INJ_OK;
}

/* A YAML syntax or encoding error with its position. libyaml reports encoding errors (bad
 * UTF-8, control characters) as a byte offset, not a mark: turn that into line:column, counting
 * characters as libyaml's marks do. */
static enum inj_rc cfg_yaml_error(const char *name, const yaml_parser_t *ps,
                                  const unsigned char *buf, size_t len, struct inj_err *err)
{
    unsigned long line = (unsigned long)ps->problem_mark.line + 1;
    unsigned long col = (unsigned long)ps->problem_mark.column + 1;
    size_t i = 0;

    if (ps->error == YAML_READER_ERROR) {
        line = 1;
        col = 1;
        if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3))
            i = 3; /* the BOM is not a column */
        for (; i < ps->problem_offset && i < len; i++) {
            if (buf[i] == '\n') {
                line++;
                col = 1;
            } else if ((buf[i] & 0xc0) != 0x80) {
                col++;
            }
        }
    }
    return inj_err_set(err, INJ_E_CONFIG, "%s:%lu:%lu: YAML syntax error: %s%s%s", name, line, col,
                       ps->problem ? ps->problem : "unknown", ps->context ? " " : "",
                       ps->context ? ps->context : "");
}

/* The explicit tag of a node event, NULL when it has none (a "!" alone counts as one). */
static const yaml_char_t *cfg_event_tag(const yaml_event_t *ev)
{
    if (ev->type == YAML_SCALAR_EVENT)
        return ev->data.scalar.tag;
    if (ev->type == YAML_SEQUENCE_START_EVENT)
        return ev->data.sequence_start.tag;
    if (ev->type == YAML_MAPPING_START_EVENT)
        return ev->data.mapping_start.tag;
    return NULL;
}

/* The tag as it was most likely written ("tag:yaml.org,2002:binary" as "!!binary"), cut to
 * printable ASCII for the message. */
static void cfg_tag_text(const yaml_char_t *tag, char *out, size_t size)
{
    static const char core[] = "tag:yaml.org,2002:";
    const char *t = (const char *)tag;
    size_t n = 0;

    if (!strncmp(t, core, sizeof(core) - 1)) {
        t += sizeof(core) - 1;
        out[n++] = '!';
        out[n++] = '!';
    }
    for (; *t && n + 4 < size; t++)
        out[n++] = *t > ' ' && *t < 0x7f && *t != '"' ? *t : '?';
    if (*t) {
        out[n++] = '.';
        out[n++] = '.';
        out[n++] = '.';
    }
    out[n] = '\0';
}

/* What the loaded document cannot tell, looked for in the event stream first. The document
 * resolves an alias to its anchor's node and forgets where the alias was, and keeps a tag
 * without saying whether it was written or implied; both are refused here, pointing at the
 * "*name" or the tag itself. A tag is refused whatever it is (!!binary, !!python/object:...,
 * !custom, "!", and the core schema's own !!str, !!int, !!map...): the config reads every
 * value as plain text, so a tag could only be ignored, and a strict config ignores nothing.
 * Syntax errors are left to the loader, which reports them. */
static enum inj_rc cfg_scan_events(const char *name, const unsigned char *buf, size_t len,
                                   struct inj_err *err)
{
    enum inj_rc rc = INJ_OK;
    yaml_parser_t ps;
    yaml_event_t ev;
    const yaml_char_t *tag;
    char text[72];
    int done = 0;
    int depth = 0;

    if (!yaml_parser_initialize(&ps))
        return inj_err_set(err, INJ_E_NOMEM, "out of memory");
    yaml_parser_set_input_string(&ps, buf, len);
    while (!done && yaml_parser_parse(&ps, &ev)) {
        unsigned long line = (unsigned long)ev.start_mark.line + 1;
        unsigned long col = (unsigned long)ev.start_mark.column + 1;

        if (ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT)
            depth++;
        else if (ev.type == YAML_SEQUENCE_END_EVENT || ev.type == YAML_MAPPING_END_EVENT)
            depth--;
        tag = cfg_event_tag(&ev);
        if (ev.type == YAML_ALIAS_EVENT) {
            rc = inj_err_set(err, INJ_E_CONFIG,
                             "%s:%lu:%lu: YAML aliases (*name) are not supported; write the "
                             "value out",
                             name, line, col);
        } else if (tag) {
            cfg_tag_text(tag, text, sizeof(text));
            rc = inj_err_set(err, INJ_E_CONFIG,
                             "%s:%lu:%lu: YAML tag \"%s\" is not supported; the config takes "
                             "plain values: remove the tag",
                             name, line, col, text);
        } else if (depth > CONFIG_MAX_DEPTH) {
            /* libyaml's scanner rescans every open flow level per token (quadratic: 100000
             * "[" took minutes) and its loader recurses: stop deep nesting here, in one pass. */
            rc = inj_err_set(err, INJ_E_CONFIG,
                             "%s:%lu:%lu: nested deeper than %d levels; a config needs 4", name,
                             line, col, CONFIG_MAX_DEPTH);
        }
        done = rc != INJ_OK || ev.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&ps);
    return rc;
}

enum inj_rc config_parse(const char *name, const unsigned char *buf, size_t len, struct config *out,
                         struct inj_err *err)
{
    enum inj_rc rc = INJ_E_CONFIG;
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_document_t extra;
    int have_parser = 0;
    int have_doc = 0;
    yaml_node_t *root;
    struct cfg_parse p;

    memset(out, 0, sizeof(*out));
    out->supervise.on_change_signal = SIGHUP;
    out->supervise.restart_timeout_ms = 10000;
    out->supervise.restart_delay_ms = 1000;
    memset(&p, 0, sizeof(p));
    p.name = name;
    p.cfg = out;
    p.err = err;
    p.doc = &doc;
    out->path = xstrdup(name);
    if (!out->path) {
        rc = inj_err_set(err, INJ_E_NOMEM, "out of memory");
        goto out;
    }
    if (!yaml_parser_initialize(&parser)) {
        rc = inj_err_set(err, INJ_E_NOMEM, "out of memory");
        goto out;
    }
    have_parser = 1;
    rc = cfg_scan_events(name, buf, len, err);
    if (rc != INJ_OK)
        goto out;
    yaml_parser_set_input_string(&parser, buf, len);
    if (!yaml_parser_load(&parser, &doc)) {
        rc = cfg_yaml_error(name, &parser, buf, len, err);
        goto out;
    }
    have_doc = 1;
    root = yaml_document_get_root_node(&doc);
    if (!root) {
        rc = inj_err_set(err, INJ_E_CONFIG, "%s: the config is empty (expected \"version: 1\")",
                         name);
        goto out;
    }
    p.nnodes = (size_t)(doc.nodes.top - doc.nodes.start);
    p.seen = calloc(p.nnodes ? p.nnodes : 1, 1);
    if (!p.seen) {
        rc = inj_err_set(err, INJ_E_NOMEM, "out of memory");
        goto out;
    }
    p.seen[0] = 1;
    rc = cfg_root(&p, root);
    if (rc != INJ_OK)
        goto out;
    /* A second document would be silently ignored otherwise. */
    if (!yaml_parser_load(&parser, &extra)) {
        rc = cfg_yaml_error(name, &parser, buf, len, err);
        goto out;
    }
    if (yaml_document_get_root_node(&extra)) {
        yaml_document_delete(&extra);
        rc = inj_err_set(err, INJ_E_CONFIG,
                         "%s: more than one YAML document (\"---\"); put everything in one", name);
        goto out;
    }
    yaml_document_delete(&extra);
    rc = INJ_OK;
out:
    free(p.seen);
    if (have_doc)
        yaml_document_delete(&doc);
    if (have_parser)
        yaml_parser_delete(&parser);
    if (rc != INJ_OK)
        config_free(out);
    return rc;
}

enum inj_rc config_load(const char *path, struct config *out, struct inj_err *err)
{
    struct sbuf buf = SBUF_INIT(CONFIG_MAX_BYTES);
    enum inj_rc rc;
    int sys = 0;

    memset(out, 0, sizeof(*out));
    /* Symlinks are fine here: Kubernetes mounts ConfigMaps through them. */
    rc = rfile_read("config", path, CONFIG_MAX_BYTES, 0, &buf, &sys, err);
    if (rc == INJ_OK)
        rc = config_parse(path, buf.p, buf.len, out, err);
    else if (sys == EFBIG && err)
        err->code = rc = INJ_E_CONFIG;
    sbuf_wipe_free(&buf);
    return rc;
}
