/* convert.c: ECS `secrets` and CodeBuild `env.secrets-manager` / `env.parameter-store` to an
 * injector config. References are carried over as they are (injector's compact form is
 * ECS's and CodeBuild's); a bare parameter name becomes ssm:NAME. */
#include "convert.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "config.h"

#define CONVERT_MAX_VARS 10000

/* One variable: its name and the injector reference it gets (both owned). */
struct cv_var {
    char *name;
    char *ref;
};

struct cv {
    struct cv_var *v;
    size_t n;
    size_t cap;
    struct inj_err *err;
};

static void cv_free(struct cv *c)
{
    size_t i;

    for (i = 0; i < c->n; i++) {
        free(c->v[i].name);
        free(c->v[i].ref);
    }
    free(c->v);
}

/* References are ASCII (ARNs, secret and parameter names): anything else is refused, so the
 * YAML printed is always valid UTF-8 without control characters. */
static int cv_has_ctl(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
            return 1;
    return 0;
}

/* Adds NAME -> ref; ssm_bare: ref is a parameter name as ECS or CodeBuild takes it (bare, or
 * an ARN): a bare one becomes ssm:NAME. what names the source in messages. */
static enum inj_rc cv_add(struct cv *c, const char *what, const char *name, const char *ref,
                          int ssm_bare)
{
    size_t i;
    size_t len;
    char *r;

    if (!config_env_name_valid(name))
        return inj_err_set(c->err, INJ_E_DATA,
                           "%s: \"%.100s\" is not a valid environment variable name "
                           "([A-Za-z_][A-Za-z0-9_]*)",
                           what, name);
    if (!*ref || cv_has_ctl(ref) || strlen(ref) > 4096)
        return inj_err_set(c->err, INJ_E_DATA,
                           "%s: %s: the reference is empty, too long or "
                           "holds a byte other than printable ASCII",
                           what, name);
    for (i = 0; i < c->n; i++)
        if (!strcmp(c->v[i].name, name))
            return inj_err_set(c->err, INJ_E_DATA, "%s: %s is set twice", what, name);
    if (c->n == CONVERT_MAX_VARS)
        return inj_err_set(c->err, INJ_E_DATA, "%s: more than %d variables", what,
                           CONVERT_MAX_VARS);
    if (!ssm_bare && strncmp(ref, "arn:", 4) != 0 && strncmp(ref, "ssm:", 4) == 0)
        return inj_err_set(c->err, INJ_E_DATA,
                           "%s: %s: \"ssm:...\" is not a Secrets Manager reference", what, name);
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        struct cv_var *g = realloc(c->v, cap * sizeof(*g));

        if (!g)
            return inj_err_set(c->err, INJ_E_NOMEM, "out of memory");
        c->v = g;
        c->cap = cap;
    }
    len = strlen(ref);
    r = malloc(len + 5);
    if (!r)
        return inj_err_set(c->err, INJ_E_NOMEM, "out of memory");
    if (ssm_bare && strncmp(ref, "arn:", 4) != 0) {
        memcpy(r, "ssm:", 4);
        memcpy(r + 4, ref, len + 1);
    } else {
        memcpy(r, ref, len + 1);
    }
    c->v[c->n].ref = r;
    c->v[c->n].name = xstrdup(name);
    if (!c->v[c->n].name) {
        free(r);
        return inj_err_set(c->err, INJ_E_NOMEM, "out of memory");
    }
    c->n++;
    return INJ_OK;
}

static enum inj_rc cv_puts(struct sbuf *out, const char *s, struct inj_err *err)
{
    if (sbuf_append(out, s, strlen(s)) != SBUF_OK)
        return inj_err_set(err, INJ_E_NOMEM, "out of memory");
    return INJ_OK;
}

/* A YAML double-quoted scalar ("..." with \" and \\); no control characters get here. */
static enum inj_rc cv_quoted(struct sbuf *out, const char *s, struct inj_err *err)
{
    enum inj_rc rc = cv_puts(out, "\"", err);

    for (; rc == INJ_OK && *s; s++) {
        char one[3] = {'\\', *s, 0};

        rc = cv_puts(out, (*s == '"' || *s == '\\') ? one : one + 1, err);
    }
    return rc == INJ_OK ? cv_puts(out, "\"", err) : rc;
}

/* s as comment text: printable ASCII, the rest '?' (a newline would end the comment). */
static enum inj_rc cv_comment(struct sbuf *out, const char *s, struct inj_err *err)
{
    char line[600];
    size_t i;

    for (i = 0; s[i] && i + 1 < sizeof(line); i++)
        line[i] = ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f) ? '?' : s[i];
    line[i] = '\0';
    return cv_puts(out, line, err);
}

/* The config itself: version, env entries (loader/shell names with allow_reserved). */
static enum inj_rc cv_emit(const struct cv *c, struct sbuf *out, struct inj_err *err)
{
    enum inj_rc rc = cv_puts(out, "version: 1\nenv:\n", err);
    size_t i;

    for (i = 0; rc == INJ_OK && i < c->n; i++) {
        int reserved = config_env_name_reserved(c->v[i].name);

        rc = cv_puts(out, "  ", err);
        if (rc == INJ_OK)
            rc = cv_puts(out, c->v[i].name, err);
        if (rc == INJ_OK)
            rc = cv_puts(out, reserved ? ": { from: " : ": ", err);
        if (rc == INJ_OK)
            rc = cv_quoted(out, c->v[i].ref, err);
        if (rc == INJ_OK)
            rc = cv_puts(out, reserved ? ", allow_reserved: true }\n" : "\n", err);
    }
    return rc;
}

/* ---- ECS ------------------------------------------------------------------------------ */

static const cJSON *cv_ecs_secrets(const cJSON *ctr)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(ctr, "secrets");

    return cJSON_IsArray(s) && cJSON_GetArraySize(s) > 0 ? s : NULL;
}

/* The container to convert: the one named, else the only one with secrets. */
static enum inj_rc cv_ecs_pick(const char *name, const cJSON *defs, const char *container,
                               const cJSON **out, struct inj_err *err)
{
    const cJSON *ctr;
    char names[300] = "";
    size_t with = 0;
    size_t off = 0;

    *out = NULL;
    cJSON_ArrayForEach(ctr, defs)
    {
        const cJSON *cn = cJSON_GetObjectItemCaseSensitive(ctr, "name");
        const char *n = cJSON_IsString(cn) ? cn->valuestring : "";

        if (container) {
            if (!strcmp(n, container))
                *out = ctr;
            continue;
        }
        if (!cv_ecs_secrets(ctr))
            continue;
        with++;
        *out = ctr;
        if (off < sizeof(names) - 1) {
            int w = snprintf(names + off, sizeof(names) - off, "%s%.60s", off ? ", " : "", n);
            off = w < 0                             ? off
                  : off + (size_t)w < sizeof(names) ? off + (size_t)w
                                                    : sizeof(names) - 1;
        }
    }
    if (container && !*out)
        return inj_err_set(err, INJ_E_USAGE, "%s: no container named \"%.100s\"", name, container);
    if (container && !cv_ecs_secrets(*out))
        return inj_err_set(err, INJ_E_DATA, "%s: container \"%.100s\" has no secrets", name,
                           container);
    if (container)
        return INJ_OK;
    if (!with)
        return inj_err_set(err, INJ_E_DATA,
                           "%s: no container has a \"secrets\" array: nothing to convert", name);
    if (with > 1)
        return inj_err_set(err, INJ_E_USAGE,
                           "%s: %zu containers have secrets (%s): pick one with --container NAME",
                           name, with, names);
    return INJ_OK;
}

/* A JSON array of strings: the injector entry point followed by `rest` (may be NULL). */
static char *cv_ecs_array(const char *const *head, size_t nhead, const cJSON *rest)
{
    cJSON *a = cJSON_CreateArray();
    const cJSON *it;
    char *s = NULL;
    size_t i;

    if (!a)
        return NULL;
    for (i = 0; i < nhead; i++)
        if (!cJSON_AddItemToArray(a, cJSON_CreateString(head[i])))
            goto out;
    cJSON_ArrayForEach(it, rest)
    {
        if (!cJSON_IsString(it) || !cJSON_AddItemToArray(a, cJSON_CreateString(it->valuestring)))
            goto out;
    }
    s = cJSON_PrintUnformatted(a);
out:
    cJSON_Delete(a);
    return s;
}

static int cv_all_strings(const cJSON *a)
{
    const cJSON *it;

    cJSON_ArrayForEach(it, a)
    {
        if (!cJSON_IsString(it))
            return 0;
    }
    return 1;
}

static enum inj_rc cv_ecs_header(const char *name, const cJSON *td, const cJSON *ctr,
                                 struct sbuf *out, struct inj_err *err)
{
    static const char *const entry[] = {"/injector", "-c", "/etc/injector.yaml", "--"};
    const cJSON *fam = cJSON_GetObjectItemCaseSensitive(td, "family");
    const cJSON *cn = cJSON_GetObjectItemCaseSensitive(ctr, "name");
    const cJSON *ep = cJSON_GetObjectItemCaseSensitive(ctr, "entryPoint");
    const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(ctr, "command");
    char *eps = NULL;
    char *cmds = NULL;
    char line[1200];
    enum inj_rc rc = INJ_E_NOMEM;
    int w;

    if (!cJSON_IsArray(ep))
        ep = NULL;
    if (!cJSON_IsArray(cmd))
        cmd = NULL;
    if (!cv_all_strings(ep) || !cv_all_strings(cmd))
        return inj_err_set(err, INJ_E_DATA, "%s: entryPoint and command must be lists of strings",
                           name);
    eps = cv_ecs_array(entry, sizeof(entry) / sizeof(entry[0]), NULL);
    /* The command is what ran before: the old entry point followed by the old command. */
    if (ep || cmd) {
        cJSON *both = cJSON_CreateArray();
        const cJSON *it;

        if (!both)
            goto out;
        int ok = 1;

        cJSON_ArrayForEach(it, ep)
        {
            ok = ok && cJSON_AddItemToArray(both, cJSON_Duplicate(it, 0));
        }
        cJSON_ArrayForEach(it, cmd)
        {
            ok = ok && cJSON_AddItemToArray(both, cJSON_Duplicate(it, 0));
        }
        cmds = ok ? cv_ecs_array(NULL, 0, both) : NULL;
        cJSON_Delete(both);
    }
    if (!eps || ((ep || cmd) && !cmds))
        goto out;
    w = snprintf(line, sizeof(line),
                 "# injector convert: ECS task definition %.200s, family \"%.100s\", container "
                 "\"%.100s\".",
                 name, cJSON_IsString(fam) ? fam->valuestring : "?",
                 cJSON_IsString(cn) ? cn->valuestring : "?");
    if (w < 0)
        goto out;
    rc = cv_comment(out, line, err);
    if (rc == INJ_OK)
        rc = cv_puts(out,
                     "\n# In the container definition: remove \"secrets\" (injector fetches them "
                     "with the task\n# role: give it `injector policy -c` of this file), put "
                     "this file at /etc/injector.yaml\n# (or its text into INJECTOR_CONFIG_YAML "
                     "and drop -c) and set:\n#   \"entryPoint\": ",
                     err);
    if (rc == INJ_OK)
        rc = cv_puts(out, eps, err);
    if (rc == INJ_OK && cmds) {
        rc = cv_puts(out, ",\n#   \"command\": ", err);
        if (rc == INJ_OK)
            rc = cv_comment(out, cmds, err);
        if (rc == INJ_OK && !ep)
            rc = cv_puts(out,
                         "\n# (the image's own ENTRYPOINT, which the task definition does not "
                         "show, goes first in \"command\")",
                         err);
    } else if (rc == INJ_OK) {
        rc = cv_puts(out,
                     ",\n#   \"command\": the image's ENTRYPOINT and CMD (the task definition "
                     "sets neither)",
                     err);
    }
    if (rc == INJ_OK)
        rc = cv_puts(out, "\n", err);
out:
    if (rc == INJ_E_NOMEM)
        inj_err_set(err, rc, "out of memory");
    cJSON_free(eps);
    cJSON_free(cmds);
    return rc;
}

static enum inj_rc cv_ecs(const char *name, cJSON *root, const char *container, struct sbuf *out,
                          struct inj_err *err)
{
    const cJSON *td = root;
    const cJSON *defs;
    const cJSON *ctr = NULL;
    const cJSON *sec;
    struct cv c;
    enum inj_rc rc;
    char what[300];

    memset(&c, 0, sizeof(c));
    c.err = err;
    if (cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(root, "taskDefinition")))
        td = cJSON_GetObjectItemCaseSensitive(root, "taskDefinition");
    defs = cJSON_GetObjectItemCaseSensitive(td, "containerDefinitions");
    if (!cJSON_IsArray(defs))
        return inj_err_set(err, INJ_E_DATA,
                           "%s: JSON without \"containerDefinitions\": not an ECS task "
                           "definition",
                           name);
    rc = cv_ecs_pick(name, defs, container, &ctr, err);
    if (rc != INJ_OK)
        return rc;
    cJSON_ArrayForEach(sec, cv_ecs_secrets(ctr))
    {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(sec, "name");
        const cJSON *vf = cJSON_GetObjectItemCaseSensitive(sec, "valueFrom");

        if (!cJSON_IsString(n) || !cJSON_IsString(vf)) {
            rc = inj_err_set(err, INJ_E_DATA,
                             "%s: a secret without a string \"name\" and \"valueFrom\"", name);
            break;
        }
        (void)snprintf(what, sizeof(what), "%.200s: secrets", name);
        /* ECS: an ARN of either service as it is; anything else is a parameter's name. */
        if (!strncmp(vf->valuestring, "arn:", 4)) {
            const char *svc = strchr(vf->valuestring + 4, ':');

            if (!svc ||
                (strncmp(svc, ":secretsmanager:", 16) != 0 && strncmp(svc, ":ssm:", 5) != 0)) {
                rc = inj_err_set(err, INJ_E_DATA,
                                 "%s: %s: valueFrom is an ARN of neither Secrets Manager nor SSM",
                                 what, n->valuestring);
                break;
            }
        }
        rc = cv_add(&c, what, n->valuestring, vf->valuestring, 1);
        if (rc != INJ_OK)
            break;
    }
    if (rc == INJ_OK)
        rc = cv_ecs_header(name, td, ctr, out, err);
    if (rc == INJ_OK)
        rc = cv_emit(&c, out, err);
    cv_free(&c);
    return rc;
}

/* ---- CodeBuild ------------------------------------------------------------------------ */

static yaml_node_t *cv_yaml_get(yaml_document_t *d, yaml_node_t *map, const char *key)
{
    yaml_node_pair_t *p;

    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(d, p->key);

        if (k && k->type == YAML_SCALAR_NODE && !strcmp((const char *)k->data.scalar.value, key))
            return yaml_document_get_node(d, p->value);
    }
    return NULL;
}

/* env.secrets-manager (ssm 0) or env.parameter-store (ssm 1): NAME: reference. */
static enum inj_rc cv_cb_section(struct cv *c, yaml_document_t *d, yaml_node_t *env,
                                 const char *key, int ssm, const char *name)
{
    yaml_node_t *m = cv_yaml_get(d, env, key);
    yaml_node_pair_t *p;
    char what[300];
    enum inj_rc rc = INJ_OK;

    if (!m)
        return INJ_OK;
    (void)snprintf(what, sizeof(what), "%.200s: env.%s", name, key);
    if (m->type != YAML_MAPPING_NODE)
        return inj_err_set(c->err, INJ_E_DATA, "%s is not a mapping", what);
    for (p = m->data.mapping.pairs.start; rc == INJ_OK && p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(d, p->key);
        yaml_node_t *v = yaml_document_get_node(d, p->value);

        if (!k || !v || k->type != YAML_SCALAR_NODE || v->type != YAML_SCALAR_NODE ||
            strlen((const char *)k->data.scalar.value) != k->data.scalar.length ||
            strlen((const char *)v->data.scalar.value) != v->data.scalar.length)
            return inj_err_set(c->err, INJ_E_DATA, "%s: expected NAME: reference pairs", what);
        rc = cv_add(c, what, (const char *)k->data.scalar.value, (const char *)v->data.scalar.value,
                    ssm);
    }
    return rc;
}

static enum inj_rc cv_codebuild(const char *name, const unsigned char *buf, size_t len,
                                struct sbuf *out, struct inj_err *err)
{
    yaml_parser_t ps;
    yaml_document_t d;
    yaml_node_t *env;
    struct cv c;
    enum inj_rc rc;
    char line[400];

    memset(&c, 0, sizeof(c));
    c.err = err;
    if (!yaml_parser_initialize(&ps))
        return inj_err_set(err, INJ_E_NOMEM, "out of memory");
    yaml_parser_set_input_string(&ps, buf, len);
    if (!yaml_parser_load(&ps, &d)) {
        rc = inj_err_set(err, INJ_E_DATA, "%s:%lu:%lu: not YAML: %s", name,
                         (unsigned long)ps.problem_mark.line + 1,
                         (unsigned long)ps.problem_mark.column + 1,
                         ps.problem ? ps.problem : "parse error");
        yaml_parser_delete(&ps);
        return rc;
    }
    env = cv_yaml_get(&d, yaml_document_get_root_node(&d), "env");
    rc = cv_cb_section(&c, &d, env, "secrets-manager", 0, name);
    if (rc == INJ_OK)
        rc = cv_cb_section(&c, &d, env, "parameter-store", 1, name);
    if (rc == INJ_OK && !c.n)
        rc = inj_err_set(err, INJ_E_DATA,
                         "%s: no env.secrets-manager or env.parameter-store: nothing to convert",
                         name);
    if (rc == INJ_OK) {
        int w =
            snprintf(line, sizeof(line), "# injector convert: CodeBuild buildspec %.200s.", name);
        rc = w < 0 ? inj_err_set(err, INJ_E_SOFTWARE, "snprintf") : cv_comment(out, line, err);
    }
    if (rc == INJ_OK)
        rc = cv_puts(out,
                     "\n# In the buildspec: remove env.secrets-manager and env.parameter-store "
                     "(the service\n# role needs `injector policy -c` of this file) and run "
                     "the commands that need\n# the values under injector: `injector -c "
                     "injector.yaml -- ./migrate.sh`, or for\n# every later command: eval "
                     "\"$(injector export -c injector.yaml --format shell)\"\n",
                     err);
    if (rc == INJ_OK)
        rc = cv_emit(&c, out, err);
    cv_free(&c);
    yaml_document_delete(&d);
    yaml_parser_delete(&ps);
    return rc;
}

enum inj_rc convert_text(const char *name, const unsigned char *buf, size_t len,
                         const char *container, struct sbuf *out, struct inj_err *err)
{
    size_t i = 0;
    cJSON *root;
    enum inj_rc rc;

    while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' || buf[i] == '\r'))
        i++;
    if (i < len && buf[i] == '{') {
        root = cJSON_ParseWithLength((const char *)buf, len);
        if (!root)
            return inj_err_set(err, INJ_E_DATA, "%s: starts like JSON but is not valid JSON", name);
        rc = cv_ecs(name, root, container, out, err);
        cJSON_Delete(root);
        return rc;
    }
    if (container)
        return inj_err_set(err, INJ_E_USAGE, "--container is for an ECS task definition (JSON)");
    return cv_codebuild(name, buf, len, out, err);
}
