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
#include "rfile.h"
#include "sbuf.h"
#include "parse.h"
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
    "PATH", "IFS", "ENV", "BASH_ENV", "SHELLOPTS", "BASHOPTS", "PS4", "CDPATH", "GLOBIGNORE",
    "GCONV_PATH", "HOSTALIASES", "LOCALDOMAIN", "RES_OPTIONS", "NLSPATH", "LOCPATH",
    "MALLOC_CHECK_", "MALLOC_TRACE", "PYTHONPATH", "PYTHONSTARTUP", "PERL5LIB", "PERL5OPT",
    "RUBYLIB", "RUBYOPT", "NODE_OPTIONS", "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "PROMPT_COMMAND",
    /* glibc's loader reads GLIBC_TUNABLES (CVE-2023-4911); the rest choose where an
     * interpreter loads code from, or a shell's start-up files. */
    "GLIBC_TUNABLES", "PYTHONHOME", "PYTHONUSERBASE", "PERLLIB", "NODE_PATH", "ZDOTDIR",
    "JDK_JAVA_OPTIONS", "CLASSPATH",
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

void config_free(struct config *c)
{
    size_t i;

    for (i = 0; i < c->n; i++) {
        free(c->entries[i].name);
        free(c->entries[i].pointer);
        tmpl_free(c->entries[i].tmpl);
        ref_free(&c->entries[i].ref);
    }
    free(c->entries);
    free(c->region);
    free(c->path);
    for (i = 0; c->supervise.on_change_exec && c->supervise.on_change_exec[i]; i++)
        free(c->supervise.on_change_exec[i]);
    free(c->supervise.on_change_exec);
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
        cfg_errf(p, n, INJ_E_CONFIG, "YAML aliases (*name) are not supported; write the value "
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

static enum inj_rc cfg_bool(struct cfg_parse *p, const yaml_node_t *n, const char *what, int *out)
{
    const char *v = cfg_scalar(p, n, what);

    if (!v)
        return INJ_E_CONFIG;
    if (!strcmp(v, "true")) {
        *out = 1;
        return INJ_OK;
    }
    if (!strcmp(v, "false")) {
        *out = 0;
        return INJ_OK;
    }
    return cfg_errf(p, n, INJ_E_CONFIG, "%s must be true or false, not \"%s\"", what, v);
}

static enum inj_rc cfg_strdup(struct cfg_parse *p, const yaml_node_t *n, const char *what,
                              char **out)
{
    const char *v = cfg_scalar(p, n, what);

    if (!v)
        return INJ_E_CONFIG;
    if (*out)
        return cfg_errf(p, n, INJ_E_CONFIG, "%s given twice", what);
    *out = xstrdup(v);
    if (!*out)
        return inj_err_set(p->err, INJ_E_NOMEM, "out of memory");
    return INJ_OK;
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
    if (n->type != YAML_SEQUENCE_NODE)
        return cfg_errf(p, n, INJ_E_CONFIG,
                        "%s%sfailover_regions must be a list of regions ([eu-west-1]), not %s",
                        who ? who : "", who ? ": " : "", cfg_kind(n));
    for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
        yaml_node_t *v = cfg_node(p, *it, n);
        const char *s = v ? cfg_scalar(p, v, "failover_regions") : NULL;

        if (!s)
            return INJ_E_CONFIG;
        why = ref_regions_why(out, s);
        if (why)
            return cfg_errf(p, v, INJ_E_CONFIG, "%s%sfailover_regions: \"%s\" %s",
                            who ? who : "", who ? ": " : "", s, why);
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

        for (i = 0; r->is_arn && i < l->n; i++)
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

static enum inj_rc cfg_mode(struct cfg_parse *p, const yaml_node_t *n, unsigned int *out)
{
    const char *v = cfg_scalar(p, n, "mode");
    char *end = NULL;
    unsigned long m;

    if (!v)
        return INJ_E_CONFIG;
    errno = 0;
    m = strtoul(v, &end, 8);
    if (errno || !*v || *end || m > 0777)
        return cfg_errf(p, n, INJ_E_CONFIG,
                        "mode must be octal permission bits like \"0400\" (no setuid/sticky), "
                        "not \"%s\"",
                        v);
    if (m & 0002)
        return cfg_errf(p, n, INJ_E_CONFIG, "mode %s makes a secret world-writable", v);
    if (!(m & 0400))
        return cfg_errf(p, n, INJ_E_CONFIG, "mode %s does not let the owner read the file", v);
    *out = (unsigned int)m;
    return INJ_OK;
}

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

/* encoding: raw (the default) or base64. */
static enum inj_rc cfg_encoding(struct cfg_parse *p, const yaml_node_t *n, struct entry *e)
{
    const char *v = cfg_scalar(p, n, "encoding");

    if (!v)
        return INJ_E_CONFIG;
    if (strcmp(v, "raw") != 0 && strcmp(v, "base64") != 0)
        return cfg_errf(p, n, INJ_E_CONFIG, "%s: encoding must be raw or base64, not \"%s\"",
                        e->name, v);
    e->encoding_base64 = !strcmp(v, "base64");
    return INJ_OK;
}

/* Compiles the entry's template (syntax, filters and `secret "ID"` references are checked
 * here, so `injector check` reports them). Without "from", the template's first secret
 * becomes the entry's reference (*from), and `.field` has nothing to read. */
static enum inj_rc cfg_template(struct cfg_parse *p, const yaml_node_t *n, struct entry *e,
                                const char *text, char **from)
{
    enum inj_rc rc;

    rc = tmpl_parse(text, &e->tmpl, p->err);
    if (rc != INJ_OK)
        return cfg_errf(p, n, rc, "%s: %s", e->name, p->err->msg);
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
    *from = xstrdup(tmpl_source_text(e->tmpl, 0));
    if (!*from)
        return inj_err_set(p->err, INJ_E_NOMEM, "out of memory");
    return INJ_OK;
}

/* Applies the fields of one entry's mapping (or its compact string) to e. */
static enum inj_rc cfg_entry(struct cfg_parse *p, const yaml_node_t *key, const yaml_node_t *val,
                             struct entry *e)
{
    enum inj_rc rc;
    const char *what = e->kind == ENTRY_ENV ? "env" : "files";
    const yaml_node_t *from_node = NULL;
    char *from = NULL;
    char *key_field = NULL;
    char *stage = NULL;
    char *vid = NULL;
    char *tmpl_text = NULL;
    const yaml_node_t *tmpl_node = NULL;
    const yaml_node_t *failover_node = NULL;
    yaml_node_pair_t *pair;

    e->line = key->start_mark.line + 1;
    e->col = key->start_mark.column + 1;
    e->mode = 0400;
    if (val->type == YAML_SCALAR_NODE) {
        from_node = val;
        rc = cfg_strdup(p, val, "from", &from);
        if (rc != INJ_OK)
            goto out;
    } else if (val->type == YAML_MAPPING_NODE) {
        rc = cfg_check_dups(p, val);
        if (rc != INJ_OK)
            goto out;
        for (pair = val->data.mapping.pairs.start; pair < val->data.mapping.pairs.top; pair++) {
            yaml_node_t *k = cfg_node(p, pair->key, val);
            yaml_node_t *v = k ? cfg_node(p, pair->value, k) : NULL;
            const char *kn;

            rc = INJ_E_CONFIG;
            if (!v)
                goto out;
            kn = (const char *)k->data.scalar.value;
            if (!strcmp(kn, "from")) {
                from_node = v;
                rc = cfg_strdup(p, v, "from", &from);
            } else if (!strcmp(kn, "key")) {
                rc = cfg_strdup(p, v, "key", &key_field);
                if (rc == INJ_OK && !*key_field)
                    rc = cfg_errf(p, v, INJ_E_CONFIG, "%s: key is empty", e->name);
            } else if (!strcmp(kn, "pointer")) {
                rc = cfg_strdup(p, v, "pointer", &e->pointer);
                if (rc == INJ_OK && !jx_pointer_valid(e->pointer))
                    rc = cfg_errf(p, v, INJ_E_CONFIG,
                                  "%s: pointer \"%s\" is not an RFC 6901 JSON pointer (\"/a/b\", "
                                  "~0 for ~, ~1 for /)",
                                  e->name, e->pointer);
            } else if (!strcmp(kn, "version_stage")) {
                rc = cfg_strdup(p, v, "version_stage", &stage);
            } else if (!strcmp(kn, "version_id")) {
                rc = cfg_strdup(p, v, "version_id", &vid);
            } else if (!strcmp(kn, "optional")) {
                rc = cfg_bool(p, v, "optional", &e->optional);
            } else if (!strcmp(kn, "template")) {
                tmpl_node = v;
                rc = cfg_strdup(p, v, "template", &tmpl_text);
            } else if (!strcmp(kn, "encoding")) {
                rc = cfg_encoding(p, v, e);
            } else if (!strcmp(kn, "failover_regions")) {
                failover_node = v;
                e->has_failover = 1;
                rc = cfg_failover(p, v, e->name, &e->failover);
            } else if (!strcmp(kn, "overwrite") && e->kind == ENTRY_ENV) {
                rc = cfg_bool(p, v, "overwrite", &e->overwrite);
            } else if (!strcmp(kn, "allow_reserved") && e->kind == ENTRY_ENV) {
                rc = cfg_bool(p, v, "allow_reserved", &e->allow_reserved);
            } else if (!strcmp(kn, "mode") && e->kind == ENTRY_FILE) {
                rc = cfg_mode(p, v, &e->mode);
            } else if (!strcmp(kn, "allow_disk") && e->kind == ENTRY_FILE) {
                rc = cfg_bool(p, v, "allow_disk", &e->allow_disk);
            } else {
                rc = cfg_errf(p, k, INJ_E_CONFIG,
                              "%s: unknown key \"%s\" in a %s entry (known: from, key, pointer, "
                              "version_stage, version_id, optional, template, encoding, "
                              "failover_regions, %s)",
                              e->name, kn, what,
                              e->kind == ENTRY_ENV ? "overwrite, allow_reserved"
                                                   : "mode, allow_disk");
            }
            if (rc != INJ_OK)
                goto out;
        }
    } else {
        rc = cfg_errf(p, val, INJ_E_CONFIG,
                      "%s: expected a secret reference or a mapping with \"from\", not %s",
                      e->name, cfg_kind(val));
        goto out;
    }
    if (tmpl_text) {
        if (!from && (stage || vid)) {
            rc = cfg_errf(p, val, INJ_E_CONFIG,
                          "%s: version_stage/version_id need \"from\"; inside a template write "
                          "secret \"ID::STAGE\"",
                          e->name);
            goto out;
        }
        if (!from_node)
            from_node = tmpl_node;
        rc = cfg_template(p, tmpl_node, e, tmpl_text, &from);
        if (rc != INJ_OK)
            goto out;
    }
    if (!from) {
        rc = cfg_errf(p, val, INJ_E_CONFIG, "%s: missing \"from\" (the secret name or ARN)",
                      e->name);
        goto out;
    }
    rc = ref_parse(from, &e->ref, p->err);
    if (rc != INJ_OK) {
        cfg_errf(p, from_node, rc, "%s: %s", e->name, p->err->msg);
        goto out;
    }
    rc = INJ_E_CONFIG;
    if (key_field && e->ref.json_key) {
        cfg_errf(p, from_node, rc, "%s: json key given both in \"from\" and in \"key\"", e->name);
        goto out;
    }
    if (key_field) {
        e->ref.json_key = key_field;
        key_field = NULL;
    }
    if (e->tmpl && (e->pointer || e->ref.json_key)) {
        cfg_errf(p, val, rc,
                 "%s: a template reads its own fields: write {{ .key }} in it instead of "
                 "\"key\"/\"pointer\"",
                 e->name);
        goto out;
    }
    if (e->pointer && e->ref.json_key) {
        cfg_errf(p, val, rc, "%s: give either \"key\" or \"pointer\", not both", e->name);
        goto out;
    }
    if (stage) {
        if (e->ref.version_stage || !ref_valid_stage(stage)) {
            cfg_errf(p, val, rc, "%s: version_stage given twice or invalid", e->name);
            goto out;
        }
        e->ref.version_stage = stage;
        stage = NULL;
    }
    if (vid) {
        if (e->ref.version_id || !ref_valid_version_id(vid)) {
            cfg_errf(p, val, rc,
                     "%s: version_id given twice or invalid (expected 32-64 letters, digits or "
                     "'-', e.g. a UUID)",
                     e->name);
            goto out;
        }
        e->ref.version_id = vid;
        vid = NULL;
    }
    if (failover_node) {
        rc = cfg_failover_partition(p, failover_node, e, &e->failover);
        if (rc != INJ_OK)
            goto out;
    }
    rc = INJ_OK;
out:
    free(tmpl_text);
    free(from);
    free(key_field);
    free(stage);
    free(vid);
    return rc;
}

static enum inj_rc cfg_section(struct cfg_parse *p, const yaml_node_t *map, enum entry_kind kind)
{
    enum inj_rc rc;
    yaml_node_pair_t *pair;
    size_t count;
    struct entry *grown;
    const char *what = kind == ENTRY_ENV ? "env" : "files";

    if (map->type != YAML_MAPPING_NODE)
        return cfg_errf(p, map, INJ_E_CONFIG, "\"%s\" must be a mapping of %s to secrets, not %s",
                        what, kind == ENTRY_ENV ? "variable names" : "file paths", cfg_kind(map));
    count = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
    if (count > 10000)
        return cfg_errf(p, map, INJ_E_CONFIG, "too many entries in \"%s\"", what);
    /* One env and one files section: a repeated key here is the only duplicate entry. */
    rc = cfg_check_dups(p, map);
    if (rc != INJ_OK)
        return rc;
    /* realloc(p, 0) may free p and return NULL: an empty section must not get there. */
    if (count == 0)
        return INJ_OK;
    grown = realloc(p->cfg->entries, (p->cfg->n + count) * sizeof(*grown));
    if (!grown)
        return inj_err_set(p->err, INJ_E_NOMEM, "out of memory");
    p->cfg->entries = grown;
    for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
        yaml_node_t *k = cfg_node(p, pair->key, map);
        yaml_node_t *v = k ? cfg_node(p, pair->value, k) : NULL;
        struct entry *e = &p->cfg->entries[p->cfg->n];
        const char *name;

        if (!v)
            return INJ_E_CONFIG;
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
        if (kind == ENTRY_ENV && !e->allow_reserved && config_env_name_reserved(name))
            return cfg_errf(p, k, INJ_E_CONFIG,
                            "%s: refusing to set a loader/shell variable from a secret; add "
                            "\"allow_reserved: true\" to the entry if you mean it",
                            name);
    }
    return INJ_OK;
}

/* child_env: what the command's environment keeps of injector's own. */
static enum inj_rc cfg_child_env(struct cfg_parse *p, const yaml_node_t *map)
{
    enum inj_rc rc;
    yaml_node_pair_t *pair;

    if (map->type != YAML_MAPPING_NODE)
        return cfg_errf(p, map, INJ_E_CONFIG, "\"child_env\" must be a mapping, not %s",
                        cfg_kind(map));
    rc = cfg_check_dups(p, map);
    if (rc != INJ_OK)
        return rc;
    for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
        yaml_node_t *k = cfg_node(p, pair->key, map);
        yaml_node_t *v = k ? cfg_node(p, pair->value, k) : NULL;
        const char *kn;

        if (!v)
            return INJ_E_CONFIG;
        kn = (const char *)k->data.scalar.value;
        if (strcmp(kn, "drop_aws_credentials") != 0)
            return cfg_errf(p, k, INJ_E_CONFIG,
                            "unknown key \"%s\" in child_env (known: drop_aws_credentials)", kn);
        rc = cfg_bool(p, v, "drop_aws_credentials", &p->cfg->drop_aws_credentials);
        if (rc != INJ_OK)
            return rc;
    }
    return INJ_OK;
}

static enum inj_rc cfg_duration(struct cfg_parse *p, const yaml_node_t *n, const char *what,
                                long long min_ms, long long *out)
{
    const char *v = cfg_scalar(p, n, what);

    if (!v)
        return INJ_E_CONFIG;
    if (parse_duration(v, out) != 0)
        return cfg_errf(p, n, INJ_E_CONFIG,
                        "%s: \"%s\" is not a duration like 50ms, 30s, 5m or 1h30m (at most 30d)",
                        what, v);
    if (*out < min_ms)
        return cfg_errf(p, n, INJ_E_CONFIG, "%s: must be more than 0", what);
    return INJ_OK;
}

/* A command as a list: [cmd, arg...]; no shell. */
static enum inj_rc cfg_argv(struct cfg_parse *p, const yaml_node_t *n, const char *what,
                            char ***out)
{
    yaml_node_item_t *it;
    size_t count;
    size_t i = 0;

    if (n->type != YAML_SEQUENCE_NODE)
        return cfg_errf(p, n, INJ_E_CONFIG, "%s must be a list [command, arg...], not %s", what,
                        cfg_kind(n));
    count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (count == 0 || count > 256)
        return cfg_errf(p, n, INJ_E_CONFIG, "%s must list a command and at most 255 arguments",
                        what);
    *out = calloc(count + 1, sizeof(**out));
    if (!*out)
        return inj_err_set(p->err, INJ_E_NOMEM, "out of memory");
    for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
        yaml_node_t *v = cfg_node(p, *it, n);
        const char *s = v ? cfg_scalar(p, v, what) : NULL;

        if (!s)
            return INJ_E_CONFIG;
        if (i == 0 && !*s)
            return cfg_errf(p, v, INJ_E_CONFIG, "%s: the command is empty", what);
        (*out)[i] = xstrdup(s);
        if (!(*out)[i])
            return inj_err_set(p->err, INJ_E_NOMEM, "out of memory");
        i++;
    }
    return INJ_OK;
}

/* supervise: true|false, or a mapping of its settings (docs/supervise.md). */
static enum inj_rc cfg_supervise(struct cfg_parse *p, const yaml_node_t *node)
{
    struct config_supervise *s = &p->cfg->supervise;
    enum inj_rc rc = INJ_OK;
    yaml_node_pair_t *pair;

    if (node->type == YAML_SCALAR_NODE)
        return cfg_bool(p, node, "supervise", &s->enabled);
    if (node->type != YAML_MAPPING_NODE)
        return cfg_errf(p, node, INJ_E_CONFIG,
                        "\"supervise\" must be true, false or a mapping, not %s", cfg_kind(node));
    rc = cfg_check_dups(p, node);
    if (rc != INJ_OK)
        return rc;
    s->enabled = 1;
    for (pair = node->data.mapping.pairs.start; pair < node->data.mapping.pairs.top; pair++) {
        yaml_node_t *k = cfg_node(p, pair->key, node);
        yaml_node_t *v = k ? cfg_node(p, pair->value, k) : NULL;
        const char *kn;
        const char *sv;

        if (!v)
            return INJ_E_CONFIG;
        kn = (const char *)k->data.scalar.value;
        if (!strcmp(kn, "refresh")) {
            rc = cfg_duration(p, v, kn, 1, &s->refresh_ms);
        } else if (!strcmp(kn, "restart_timeout")) {
            rc = cfg_duration(p, v, kn, 1, &s->restart_timeout_ms);
        } else if (!strcmp(kn, "restart_delay")) {
            rc = cfg_duration(p, v, kn, 0, &s->restart_delay_ms);
        } else if (!strcmp(kn, "pgroup")) {
            rc = cfg_bool(p, v, kn, &s->pgroup);
        } else if (!strcmp(kn, "on_change_exec")) {
            rc = cfg_argv(p, v, kn, &s->on_change_exec);
        } else if (!strcmp(kn, "on_change")) {
            sv = cfg_scalar(p, v, kn);
            if (!sv)
                return INJ_E_CONFIG;
            if (!strcmp(sv, "signal"))
                s->on_change = SUPERVISE_ON_CHANGE_SIGNAL;
            else if (!strcmp(sv, "restart"))
                s->on_change = SUPERVISE_ON_CHANGE_RESTART;
            else if (!strcmp(sv, "none"))
                s->on_change = SUPERVISE_ON_CHANGE_NONE;
            else
                rc = cfg_errf(p, v, INJ_E_CONFIG,
                              "on_change: \"%s\" is not signal, restart or none", sv);
        } else if (!strcmp(kn, "on_change_signal")) {
            sv = cfg_scalar(p, v, kn);
            if (!sv)
                return INJ_E_CONFIG;
            s->on_change_signal = parse_signal(sv);
            if (s->on_change_signal < 0)
                rc = cfg_errf(p, v, INJ_E_CONFIG,
                              "on_change_signal: \"%s\" is not one of HUP, INT, QUIT, TERM, USR1, "
                              "USR2, WINCH, ALRM, CONT, URG (SIG prefix optional)",
                              sv);
        } else {
            rc = cfg_errf(p, k, INJ_E_CONFIG,
                          "unknown key \"%s\" in supervise (known: refresh, on_change, "
                          "on_change_signal, on_change_exec, restart_timeout, restart_delay, "
                          "pgroup)",
                          kn);
        }
        if (rc != INJ_OK)
            return rc;
    }
    return INJ_OK;
}

static enum inj_rc cfg_root(struct cfg_parse *p, const yaml_node_t *root)
{
    enum inj_rc rc;
    yaml_node_pair_t *pair;
    const yaml_node_t *version_node = NULL;
    const yaml_node_t *failover_node = NULL;
    size_t i;

    if (root->type != YAML_MAPPING_NODE)
        return cfg_errf(p, root, INJ_E_CONFIG, "the config must be a mapping, not %s",
                        cfg_kind(root));
    rc = cfg_check_dups(p, root);
    if (rc != INJ_OK)
        return rc;
    for (pair = root->data.mapping.pairs.start; pair < root->data.mapping.pairs.top; pair++) {
        yaml_node_t *k = cfg_node(p, pair->key, root);
        yaml_node_t *v = k ? cfg_node(p, pair->value, k) : NULL;
        const char *kn;

        if (!v)
            return INJ_E_CONFIG;
        kn = (const char *)k->data.scalar.value;
        if (!strcmp(kn, "version")) {
            const char *s = cfg_scalar(p, v, "version");
            if (!s)
                return INJ_E_CONFIG;
            if (strcmp(s, "1") != 0)
                return cfg_errf(p, v, INJ_E_CONFIG,
                                "unsupported config version \"%s\" (this injector reads version "
                                "1)",
                                s);
            p->cfg->version = 1;
            version_node = v;
        } else if (!strcmp(kn, "region")) {
            rc = cfg_strdup(p, v, "region", &p->cfg->region);
            if (rc != INJ_OK)
                return rc;
            if (!ref_valid_region(p->cfg->region))
                return cfg_errf(p, v, INJ_E_CONFIG, "\"%s\" is not an AWS region name",
                                p->cfg->region);
        } else if (!strcmp(kn, "failover_regions")) {
            rc = cfg_failover(p, v, NULL, &p->cfg->failover);
            if (rc != INJ_OK)
                return rc;
            failover_node = v;
        } else if (!strcmp(kn, "fetch")) {
            const char *s = cfg_scalar(p, v, "fetch");
            if (!s)
                return INJ_E_CONFIG;
            p->cfg->fetch = sm_fetch_mode_parse(s);
            if (p->cfg->fetch == SM_FETCH_UNSET)
                return cfg_errf(p, v, INJ_E_CONFIG,
                                "fetch must be auto, batch or single, not \"%s\"", s);
        } else if (!strcmp(kn, "env")) {
            rc = cfg_section(p, v, ENTRY_ENV);
            if (rc != INJ_OK)
                return rc;
        } else if (!strcmp(kn, "files")) {
            rc = cfg_section(p, v, ENTRY_FILE);
            if (rc != INJ_OK)
                return rc;
        } else if (!strcmp(kn, "child_env")) {
            rc = cfg_child_env(p, v);
            if (rc != INJ_OK)
                return rc;
        } else if (!strcmp(kn, "supervise")) {
            rc = cfg_supervise(p, v);
            if (rc != INJ_OK)
                return rc;
        } else {
            return cfg_errf(p, k, INJ_E_CONFIG,
                            "unknown top-level key \"%s\" (known: version, region, "
                            "failover_regions, fetch, env, files, child_env, supervise)",
                            kn);
        }
    }
    if (!version_node)
        return cfg_errf(p, root, INJ_E_CONFIG, "missing \"version: 1\"");
    for (i = 0; failover_node && i < p->cfg->n; i++) {
        if (p->cfg->entries[i].has_failover)
            continue;
        rc = cfg_failover_partition(p, failover_node, &p->cfg->entries[i], &p->cfg->failover);
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

/* The loaded document resolves an alias to its anchor's node and forgets where the alias was,
 * so aliases are looked for in the event stream first, to point at the "*name" itself. Syntax
 * errors are left to the loader, which reports them. */
static enum inj_rc cfg_refuse_aliases(const char *name, const unsigned char *buf, size_t len,
                                      struct inj_err *err)
{
    enum inj_rc rc = INJ_OK;
    yaml_parser_t ps;
    yaml_event_t ev;
    int done = 0;
    int depth = 0;

    if (!yaml_parser_initialize(&ps))
        return inj_err_set(err, INJ_E_NOMEM, "out of memory");
    yaml_parser_set_input_string(&ps, buf, len);
    while (!done && yaml_parser_parse(&ps, &ev)) {
        if (ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT)
            depth++;
        else if (ev.type == YAML_SEQUENCE_END_EVENT || ev.type == YAML_MAPPING_END_EVENT)
            depth--;
        if (ev.type == YAML_ALIAS_EVENT)
            rc = inj_err_set(err, INJ_E_CONFIG,
                             "%s:%lu:%lu: YAML aliases (*name) are not supported; write the "
                             "value out",
                             name, (unsigned long)ev.start_mark.line + 1,
                             (unsigned long)ev.start_mark.column + 1);
        /* libyaml's scanner rescans every open flow level per token (quadratic: 100000
         * "[" took minutes) and its loader recurses: stop deep nesting here, in one pass. */
        else if (depth > CONFIG_MAX_DEPTH)
            rc = inj_err_set(err, INJ_E_CONFIG,
                             "%s:%lu:%lu: nested deeper than %d levels; a config needs 4",
                             name, (unsigned long)ev.start_mark.line + 1,
                             (unsigned long)ev.start_mark.column + 1, CONFIG_MAX_DEPTH);
        done = rc != INJ_OK || ev.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&ps);
    return rc;
}

enum inj_rc config_parse(const char *name, const unsigned char *buf, size_t len,
                         struct config *out, struct inj_err *err)
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
    rc = cfg_refuse_aliases(name, buf, len, err);
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
                         "%s: more than one YAML document (\"---\"); put everything in one",
                         name);
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
