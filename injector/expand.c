/* expand.c: `expand: true`: a JSON secret's top-level keys as variables, named by one rule,
 * every bad name reported at once. Messages carry key and variable names, never values. */
#include "expand.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "jx.h"
#include "sm.h"

int expand_name(const char *prefix, const char *key, char *out, size_t n)
{
    size_t plen = strlen(prefix);
    size_t klen = strlen(key);
    size_t lead;
    size_t i;
    size_t o;

    if (!plen && !klen)
        return 0;
    lead = plen ? (prefix[0] >= '0' && prefix[0] <= '9') : (key[0] >= '0' && key[0] <= '9');
    if (klen > n || plen > n - klen || lead + plen + klen >= n)
        return 0;
    o = 0;
    if (lead)
        out[o++] = '_';
    memcpy(out + o, prefix, plen);
    o += plen;
    for (i = 0; i < klen; i++) {
        unsigned char c = (unsigned char)key[i];

        if (c >= 'a' && c <= 'z')
            c = (unsigned char)(c - 'a' + 'A');
        else if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
            c = '_';
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return 1;
}

void expand_vars_free(struct expand_var *vars, size_t n)
{
    size_t i;

    for (i = 0; vars && i < n; i++) {
        free(vars[i].name);
        free(vars[i].key);
        sbuf_wipe_free(&vars[i].value);
    }
    free(vars);
}

static int expand_listed(char *const *list, size_t n, const char *key)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (!strcmp(list[i], key))
            return 1;
    return 0;
}

/* Appends piece to the list buf (size n), ", " between items, "..." once it is full. */
static void expand_note(char *buf, size_t n, const char *piece)
{
    size_t len = strlen(buf);
    int w;

    if (len + 4 >= n || (len >= 3 && !strcmp(buf + len - 3, "...")))
        return;
    w = snprintf(buf + len, n - len, "%s%s", len ? ", " : "", piece);
    if (w < 0 || (size_t)w >= n - len)
        memcpy(buf + n - 4, "...", 4);
}

/* The key as a message shows it: printable ASCII, the rest '?', cut to 64 bytes. */
static void expand_show(const char *key, char *out, size_t n)
{
    size_t i;

    for (i = 0; key[i] && i + 1 < n; i++)
        out[i] = (key[i] >= 0x20 && key[i] < 0x7f && key[i] != '"') ? key[i] : '?';
    out[i] = '\0';
}

static enum inj_rc expand_parse_err(enum jx_rc jr, const struct jx_dup *dup, const char *what,
                                    struct inj_err *err)
{
    switch (jr) {
    case JX_NOT_JSON:
    case JX_NUL:
        return inj_err_set(err, INJ_E_DATA,
                           "expand: secret %s is not a JSON object (valid UTF-8 JSON, no "
                           "\\u0000); expand needs {\"KEY\": value, ...}",
                           what);
    case JX_DUPLICATE:
        return inj_err_set(err, INJ_E_DATA,
                           "expand: secret %s has the key \"%s\" twice in %s%s; a secret with "
                           "duplicate keys is ambiguous: keep one",
                           what, dup->key, dup->at[0] ? "the object at " : "its top level",
                           dup->at);
    case JX_NOMEM:
    default:
        return inj_err_set(err, INJ_E_NOMEM, "out of memory");
    }
}

enum inj_rc expand_json(const struct entry *e, const char *what, const unsigned char *json,
                        size_t len, struct expand_var **vars, size_t *n, struct inj_err *err)
{
    enum inj_rc rc = INJ_E_NOMEM;
    cJSON *root = NULL;
    cJSON *it;
    struct jx_dup dup;
    struct expand_var *v = NULL;
    size_t nv = 0;
    size_t cap = 0;
    size_t i;
    size_t j;
    char bad[400] = "";
    char twice[400] = "";
    char missing[400] = "";
    char name[256];
    char shown[65];
    char piece[320];
    enum jx_rc jr;

    *vars = NULL;
    *n = 0;
    memset(&dup, 0, sizeof(dup));
    jx_init();
    jr = jx_parse(json ? json : (const unsigned char *)"", len, &root, &dup);
    if (jr != JX_OK)
        return expand_parse_err(jr, &dup, what, err);
    if (!cJSON_IsObject(root)) {
        rc = inj_err_set(err, INJ_E_DATA,
                         "expand: secret %s is JSON but not an object; expand needs "
                         "{\"KEY\": value, ...}",
                         what);
        goto out;
    }
    cJSON_ArrayForEach(it, root) cap++;
    v = calloc(cap ? cap : 1, sizeof(*v));
    if (!v)
        goto out;
    for (i = 0; i < e->nonly; i++)
        if (!cJSON_GetObjectItemCaseSensitive(root, e->only[i])) {
            expand_show(e->only[i], shown, sizeof(shown));
            (void)snprintf(piece, sizeof(piece), "\"%s\"", shown);
            expand_note(missing, sizeof(missing), piece);
        }
    cJSON_ArrayForEach(it, root)
    {
        const char *key = it->string ? it->string : "";
        int json_out = 0;

        if (e->nonly && !expand_listed(e->only, e->nonly, key))
            continue;
        if (expand_listed(e->except, e->nexcept, key))
            continue;
        expand_show(key, shown, sizeof(shown));
        if (!expand_name(e->prefix ? e->prefix : "", key, name, sizeof(name)) ||
            !config_env_name_valid(name)) {
            (void)snprintf(piece, sizeof(piece), "\"%s\" (no valid name)", shown);
            expand_note(bad, sizeof(bad), piece);
            continue;
        }
        if (!e->allow_reserved && config_env_name_reserved(name)) {
            (void)snprintf(piece, sizeof(piece), "\"%s\" -> %.80s (a loader/shell variable)", shown,
                           name);
            expand_note(bad, sizeof(bad), piece);
            continue;
        }
        for (j = 0; j < nv; j++)
            if (!strcmp(v[j].name, name))
                break;
        if (j < nv) {
            char other[65];

            expand_show(v[j].key, other, sizeof(other));
            (void)snprintf(piece, sizeof(piece), "\"%s\" and \"%s\" -> %.80s", other, shown, name);
            expand_note(twice, sizeof(twice), piece);
            continue;
        }
        v[nv].name = xstrdup(name);
        v[nv].key = xstrdup(key);
        v[nv].value = (struct sbuf)SBUF_INIT(SM_MAX_SECRET * 2);
        nv++;
        if (!v[nv - 1].name || !v[nv - 1].key)
            goto out;
        jr = jx_emit(it, &v[nv - 1].value, &json_out);
        if (jr == JX_INEXACT) {
            rc = inj_err_set(err, INJ_E_DATA,
                             "expand: key \"%s\" in secret %s holds a number too large to pass "
                             "on exactly (beyond 2^53); store it as a JSON string",
                             shown, what);
            goto out;
        }
        if (jr == JX_TOOBIG) {
            rc = inj_err_set(err, INJ_E_DATA, "expand: key \"%s\": value too large", shown);
            goto out;
        }
        if (jr != JX_OK)
            goto out;
    }
    if (missing[0]) {
        rc = inj_err_set(err, INJ_E_MISSING, "expand: secret %s has no key %s (listed in only)",
                         what, missing);
        goto out;
    }
    if (bad[0] || twice[0]) {
        rc = inj_err_set(err, INJ_E_CONFIG,
                         "expand: secret %s: %s%s%s%s%s; rename the keys in the secret, or leave "
                         "them out with except",
                         what, bad[0] ? "keys without a usable variable name: " : "", bad,
                         bad[0] && twice[0] ? "; " : "",
                         twice[0] ? "keys that map to one name: " : "", twice);
        goto out;
    }
    rc = INJ_OK;
out:
    if (rc == INJ_E_NOMEM)
        inj_err_set(err, INJ_E_NOMEM, "out of memory");
    cJSON_Delete(root);
    if (rc != INJ_OK) {
        expand_vars_free(v, nv);
        return rc;
    }
    *vars = v;
    *n = nv;
    return INJ_OK;
}
