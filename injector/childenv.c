/* childenv.c: env-reference mode (--from-env) and the variables --pristine drops. */
#include "childenv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jx.h"
#include "sbuf.h"

/* Credential sources the AWS SDKs read (docs/credentials.md), and the profile selection that
 * points at them. Region, endpoint and CA variables stay: they grant nothing. */
static const char *const childenv_drop_names[] = {
    "AWS_ACCESS_KEY_ID",   "AWS_SECRET_ACCESS_KEY",       "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",  "AWS_CREDENTIAL_EXPIRATION",   "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",        "AWS_ROLE_SESSION_NAME",       "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE",
};
static const char *const childenv_drop_prefixes[] = {"AWS_CONTAINER_", "INJECTOR_"};

size_t childenv_dropped(const char *kv)
{
    size_t len = strcspn(kv, "=");
    size_t i;

    for (i = 0; i < sizeof(childenv_drop_names) / sizeof(childenv_drop_names[0]); i++)
        if (strlen(childenv_drop_names[i]) == len && !memcmp(kv, childenv_drop_names[i], len))
            return len;
    for (i = 0; i < sizeof(childenv_drop_prefixes) / sizeof(childenv_drop_prefixes[0]); i++)
        if (!strncmp(kv, childenv_drop_prefixes[i], strlen(childenv_drop_prefixes[i])) &&
            len > strlen(childenv_drop_prefixes[i]))
            return len;
    return 0;
}

int childenv_is_ref(const char *value)
{
    const char *p;

    if (!strncmp(value, "sm://", 5) || !strncmp(value, "ssm:", 4))
        return 1;
    if (strncmp(value, "arn:", 4) != 0)
        return 0;
    /* arn:PARTITION:secretsmanager: with any partition: a wrong one is an error, not a
     * value to pass on. */
    p = strchr(value + 4, ':');
    if (p && !strncmp(p + 1, "secretsmanager:", 15))
        return 1;
    /* arn:PARTITION:ssm:REGION:ACCOUNT:parameter/...: a parameter, however malformed the
     * fields between; other SSM resources (documents, ...) are no references. */
    if (!p || strncmp(p + 1, "ssm:", 4) != 0)
        return 0;
    p = strchr(p + 5, ':');            /* after REGION */
    p = p ? strchr(p + 1, ':') : NULL; /* after ACCOUNT */
    return p && !strncmp(p + 1, "parameter/", 10);
}

/* One query parameter of an sm:// reference. */
static enum inj_rc childenv_query(const char *param, struct ref *ref, const char *value,
                                  struct inj_err *err)
{
    const char *eq = strchr(param, '=');
    char **dst;
    int valid;

    if (!eq)
        return inj_err_set(err, INJ_E_CONFIG,
                           "\"%s\": expected ?version_stage=STAGE or ?version_id=ID", value);
    if ((size_t)(eq - param) == 13 && !strncmp(param, "version_stage", 13)) {
        dst = &ref->version_stage;
        valid = ref_valid_stage(eq + 1);
    } else if ((size_t)(eq - param) == 10 && !strncmp(param, "version_id", 10)) {
        dst = &ref->version_id;
        valid = ref_valid_version_id(eq + 1);
    } else {
        return inj_err_set(err, INJ_E_CONFIG,
                           "\"%s\": unknown parameter \"%.*s\" (known: version_stage, "
                           "version_id)",
                           value, (int)(eq - param), param);
    }
    if (*dst || !valid)
        return inj_err_set(err, INJ_E_CONFIG, "\"%s\": %.*s given twice or invalid", value,
                           (int)(eq - param), param);
    *dst = xstrdup(eq + 1);
    if (!*dst)
        return inj_err_set(err, INJ_E_NOMEM, "out of memory");
    return INJ_OK;
}

static enum inj_rc childenv_parse_sm(const char *value, struct ref *ref, char **pointer,
                                     struct inj_err *err)
{
    enum inj_rc rc = INJ_E_NOMEM;
    char *copy = xstrdup(value + 5);
    char *frag;
    char *query;
    char *param;
    char *save = NULL;

    if (!copy)
        return inj_err_set(err, rc, "out of memory");
    /* Secret names and ARNs never hold '#' or '?', so the first of each splits. */
    frag = strchr(copy, '#');
    if (frag)
        *frag++ = '\0';
    query = strchr(copy, '?');
    if (query)
        *query++ = '\0';
    if (!*copy) {
        rc = inj_err_set(err, INJ_E_CONFIG, "\"%s\": no secret name after sm://", value);
        goto out;
    }
    rc = ref_parse(copy, ref, err);
    if (rc != INJ_OK)
        goto out;
    if (ref->service != REF_SM) {
        rc = inj_err_set(err, INJ_E_CONFIG,
                         "\"%s\": sm:// names a Secrets Manager secret; a parameter is written "
                         "ssm:NAME",
                         value);
        goto out;
    }
    if (ref->json_key || ref->version_stage || ref->version_id) {
        rc = inj_err_set(err, INJ_E_CONFIG,
                         "\"%s\": in sm:// write the key after '#' and the version as "
                         "?version_stage=... (not with ':')",
                         value);
        goto out;
    }
    for (param = query ? strtok_r(query, "&", &save) : NULL; param;
         param = strtok_r(NULL, "&", &save)) {
        rc = childenv_query(param, ref, value, err);
        if (rc != INJ_OK)
            goto out;
    }
    if (frag) {
        if (!*frag) {
            rc = inj_err_set(err, INJ_E_CONFIG, "\"%s\": empty key after '#'", value);
            goto out;
        }
        if (frag[0] == '/') {
            if (!jx_pointer_valid(frag)) {
                rc = inj_err_set(err, INJ_E_CONFIG,
                                 "\"%s\": \"%s\" is not a JSON pointer (~0 for ~, ~1 for /)", value,
                                 frag);
                goto out;
            }
            *pointer = xstrdup(frag);
            if (!*pointer) {
                rc = inj_err_set(err, INJ_E_NOMEM, "out of memory");
                goto out;
            }
        } else {
            ref->json_key = xstrdup(frag);
            if (!ref->json_key) {
                rc = inj_err_set(err, INJ_E_NOMEM, "out of memory");
                goto out;
            }
        }
    }
    rc = INJ_OK;
out:
    free(copy);
    if (rc != INJ_OK) {
        ref_free(ref);
        free(*pointer);
        *pointer = NULL;
    }
    return rc;
}

enum inj_rc childenv_parse_ref(const char *value, struct ref *ref, char **pointer,
                               struct inj_err *err)
{
    memset(ref, 0, sizeof(*ref));
    *pointer = NULL;
    if (!strncmp(value, "sm://", 5))
        return childenv_parse_sm(value, ref, pointer, err);
    return ref_parse(value, ref, err);
}

static int childenv_in_config(const struct config *cfg, const char *name, size_t len)
{
    size_t i;

    for (i = 0; i < cfg->n; i++)
        if (cfg->entries[i].kind == ENTRY_ENV && strlen(cfg->entries[i].name) == len &&
            !memcmp(cfg->entries[i].name, name, len))
            return 1;
    return 0;
}

enum inj_rc childenv_add_refs(struct config *cfg, char *const *envp, size_t *added,
                              struct inj_err *err)
{
    enum inj_rc rc;
    size_t i;

    *added = 0;
    for (i = 0; envp && envp[i]; i++) {
        const char *kv = envp[i];
        const char *eq = strchr(kv, '=');
        size_t nlen;
        struct entry e;
        struct entry *grown;

        if (!eq || !childenv_is_ref(eq + 1))
            continue;
        nlen = (size_t)(eq - kv);
        if (childenv_in_config(cfg, kv, nlen))
            continue;
        memset(&e, 0, sizeof(e));
        e.kind = ENTRY_ENV;
        e.overwrite = 1;
        e.mode = 0400;
        e.name = xmemdup(kv, nlen);
        if (!e.name)
            return inj_err_set(err, INJ_E_NOMEM, "out of memory");
        rc = INJ_E_CONFIG;
        if (!config_env_name_valid(e.name)) {
            inj_err_set(err, rc, "--from-env: \"%s\" is not a valid variable name", e.name);
            goto fail;
        }
        if (config_env_name_reserved(e.name)) {
            inj_err_set(err, rc,
                        "--from-env: %s holds a secret reference, but loader/shell variables "
                        "are never set from a secret",
                        e.name);
            goto fail;
        }
        rc = childenv_parse_ref(eq + 1, &e.ref, &e.pointer, err);
        if (rc != INJ_OK) {
            inj_err_prefix(err, "--from-env: %s", e.name);
            goto fail;
        }
        if (e.ref.json_key && e.pointer) {
            rc = inj_err_set(err, INJ_E_CONFIG, "--from-env: %s: key and pointer both given",
                             e.name);
            goto fail;
        }
        grown = realloc(cfg->entries, (cfg->n + 1) * sizeof(*grown));
        if (!grown) {
            rc = inj_err_set(err, INJ_E_NOMEM, "out of memory");
            goto fail;
        }
        cfg->entries = grown;
        cfg->entries[cfg->n++] = e;
        (*added)++;
        continue;
    fail:
        ref_free(&e.ref);
        free(e.pointer);
        free(e.name);
        return rc;
    }
    return INJ_OK;
}
