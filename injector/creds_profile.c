/* creds_profile.c: the shared config and credentials files (~/.aws/config, ~/.aws/credentials):
 * the INI parser, and a profile's credentials: static keys, credential_process, or role_arn
 * with source_profile / credential_source / web_identity_token_file. Resolution follows
 * botocore (credentials.py): the two files merge per profile, the credentials file winning. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "creds_int.h"
#include "log.h"
#include "rfile.h"

#define PROF_MAX_CHAIN 8 /* source_profile hops; botocore has no limit, only loop detection */

/* --- INI --- */

static int ini_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static enum inj_rc ini_add_sec(struct creds_ini *ini, size_t *cap, const struct creds_ini_sec *s)
{
    struct creds_ini_sec *n;

    if (ini->nsec == *cap || !ini->sec) {
        /* Only pointers and offsets: realloc leaves no secret behind. */
        size_t ncap = *cap ? *cap * 2 : 8;

        n = realloc(ini->sec, ncap * sizeof(*n));
        if (!n)
            return INJ_E_NOMEM;
        ini->sec = n;
        *cap = ncap;
    }
    ini->sec[ini->nsec++] = *s;
    return INJ_OK;
}

static enum inj_rc ini_add_kv(struct creds_ini *ini, size_t *cap, const struct creds_ini_kv *kv)
{
    struct creds_ini_kv *n;

    if (ini->nkv == *cap || !ini->kv) {
        size_t ncap = *cap ? *cap * 2 : 32;

        n = realloc(ini->kv, ncap * sizeof(*n));
        if (!n)
            return INJ_E_NOMEM;
        ini->kv = n;
        *cap = ncap;
    }
    ini->kv[ini->nkv++] = *kv;
    return INJ_OK;
}

/* [default] and [profile NAME] in the config file (NAME may be "quoted"); every section in
 * the credentials file. Other config sections (sso-session, services, plugins) are not
 * profiles. */
static void ini_name_section(char *raw, int config_file, struct creds_ini_sec *s)
{
    size_t n;
    char *name;

    s->name = raw;
    s->is_profile = 1;
    if (!config_file || !strcmp(raw, "default"))
        return;
    s->is_profile = 0;
    if (strncmp(raw, "profile", 7) != 0 || !ini_space(raw[7]))
        return;
    name = creds_trim(raw + 8);
    n = strlen(name);
    if (n >= 2 && name[0] == '"' && name[n - 1] == '"') {
        name[n - 1] = '\0';
        name++;
    } else if (strpbrk(name, " \t")) {
        return; /* botocore's shlex split would see three words: not a profile */
    }
    if (!*name)
        return;
    s->name = name;
    s->is_profile = 1;
    s->prefixed = 1;
}

static enum inj_rc ini_line(struct creds_ini *ini, char *p, unsigned long line, int config_file,
                            size_t *seccap, size_t *kvcap, size_t *last_indent, struct inj_err *err)
{
    struct creds_ini_sec sec;
    struct creds_ini_kv kv;
    struct creds_ini_sec *cur = ini->nsec ? &ini->sec[ini->nsec - 1] : NULL;
    size_t len = strlen(p);
    size_t indent;
    char *s = p;
    char *delim;
    size_t i;

    while (len > 0 && (ini_space(p[len - 1])))
        p[--len] = '\0';
    while (*s == ' ' || *s == '\t')
        s++;
    indent = (size_t)(s - p);
    if (!*s || *s == '#' || *s == ';')
        return INJ_OK;
    /* ConfigParser: a line indented deeper than the setting above continues it (botocore
     * reads `s3 =` followed by indented lines as a nested section). */
    if (indent > 0 && cur && cur->n > 0 && indent > *last_indent) {
        ini->kv[ini->nkv - 1].continued = 1;
        return INJ_OK;
    }
    if (*s == '[') {
        if (p[len - 1] != ']')
            return inj_err_set(err, INJ_E_CONFIG, "line %lu: a [section] line must end with ]",
                               line);
        p[len - 1] = '\0';
        memset(&sec, 0, sizeof(sec));
        ini_name_section(creds_trim(s + 1), config_file, &sec);
        if (!*sec.name)
            return inj_err_set(err, INJ_E_CONFIG, "line %lu: empty section name", line);
        sec.first = ini->nkv;
        sec.line = line;
        for (i = 0; sec.is_profile && ini->sec && i < ini->nsec; i++)
            if (ini->sec[i].is_profile && ini->sec[i].prefixed == sec.prefixed &&
                !strcmp(ini->sec[i].name, sec.name))
                return inj_err_set(err, INJ_E_CONFIG,
                                   "line %lu: profile \"%s\" defined again (first on line %lu)",
                                   line, sec.name, ini->sec[i].line);
        return ini_add_sec(ini, seccap, &sec) == INJ_OK
                   ? INJ_OK
                   : inj_err_set(err, INJ_E_NOMEM, "out of memory");
    }
    if (!cur)
        return inj_err_set(err, INJ_E_CONFIG, "line %lu: a setting before any [section]", line);
    delim = strpbrk(s, "=:");
    if (!delim)
        return inj_err_set(err, INJ_E_CONFIG,
                           "line %lu: expected `name = value`, a [section] or a # comment", line);
    *delim = '\0';
    memset(&kv, 0, sizeof(kv));
    kv.key = creds_trim(s);
    kv.value = creds_trim(delim + 1);
    kv.line = line;
    if (!*kv.key)
        return inj_err_set(err, INJ_E_CONFIG, "line %lu: no name before the '='", line);
    for (s = (char *)kv.key; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
    for (i = cur->first; i < cur->first + cur->n; i++)
        if (!strcmp(ini->kv[i].key, kv.key))
            return inj_err_set(err, INJ_E_CONFIG, "line %lu: %s set again (first on line %lu)",
                               line, kv.key, ini->kv[i].line);
    if (ini_add_kv(ini, kvcap, &kv) != INJ_OK)
        return inj_err_set(err, INJ_E_NOMEM, "out of memory");
    cur->n++;
    *last_indent = indent;
    return INJ_OK;
}

enum inj_rc creds_ini_parse(const char *data, size_t len, int config_file, struct creds_ini *out,
                            struct inj_err *err)
{
    enum inj_rc rc = INJ_E_NOMEM;
    size_t seccap = 0;
    size_t kvcap = 0;
    size_t last_indent = 0;
    unsigned long line = 0;
    char *p;
    char *end;
    char *nl;

    memset(out, 0, sizeof(*out));
    if (memchr(data, '\0', len)) {
        rc = inj_err_set(err, INJ_E_CONFIG, "contains a NUL byte (not a text file)");
        goto fail;
    }
    out->buf = xmemdup(data, len);
    if (!out->buf) {
        inj_err_set(err, rc, "out of memory");
        goto fail;
    }
    out->buf_len = len + 1;
    p = out->buf;
    end = out->buf + len;
    if (len >= 3 && !memcmp(p, "\xef\xbb\xbf", 3))
        p += 3; /* a UTF-8 BOM from a Windows editor */
    while (p < end) {
        nl = memchr(p, '\n', (size_t)(end - p));
        if (nl)
            *nl = '\0';
        line++;
        rc = ini_line(out, p, line, config_file, &seccap, &kvcap, &last_indent, err);
        if (rc != INJ_OK)
            goto fail;
        p = nl ? nl + 1 : end;
    }
    return INJ_OK;
fail:
    creds_ini_free(out);
    return rc;
}

const struct creds_ini_sec *creds_ini_profile(const struct creds_ini *ini, const char *name)
{
    const struct creds_ini_sec *plain = NULL;
    size_t i;

    for (i = 0; i < ini->nsec; i++) {
        if (!ini->sec[i].is_profile || strcmp(ini->sec[i].name, name) != 0)
            continue;
        /* botocore: [profile default] wins over [default]. */
        if (ini->sec[i].prefixed)
            return &ini->sec[i];
        if (!plain)
            plain = &ini->sec[i];
    }
    return plain;
}

const char *creds_ini_get(const struct creds_ini *ini, const struct creds_ini_sec *s,
                          const char *key)
{
    size_t i;

    if (!s)
        return NULL;
    for (i = s->first; i < s->first + s->n; i++) {
        if (strcmp(ini->kv[i].key, key) != 0)
            continue;
        if (ini->kv[i].continued || !*ini->kv[i].value)
            return NULL;
        return ini->kv[i].value;
    }
    return NULL;
}

void creds_ini_free(struct creds_ini *ini)
{
    wipe_free(ini->buf, ini->buf_len);
    free(ini->sec);
    free(ini->kv);
    memset(ini, 0, sizeof(*ini));
}

/* --- the two files --- */

struct prof {
    const struct creds_ctx *ctx;
    struct creds_ini cred;
    struct creds_ini conf;
    int have_cred;
    int have_conf;
    char cred_path[1024];
    char conf_path[1024];
    const char *name;  /* the active profile */
    int name_explicit; /* from AWS_PROFILE / AWS_DEFAULT_PROFILE */
};

/* The file's path: the variable (with ~ expanded, as botocore's expanduser does), else
 * $HOME/.aws/leaf. "" when neither is known. */
static void prof_path(const struct creds_ctx *ctx, const char *var, const char *leaf, char *buf,
                      size_t n)
{
    const char *v = creds_getenv(ctx, var);
    const char *home = creds_getenv(ctx, "HOME");
    int w;

    if (v && (v[0] != '~' || (v[1] != '/' && v[1] != '\0')))
        w = snprintf(buf, n, "%s", v);
    else if (v && home)
        w = snprintf(buf, n, "%s%s", home, v + 1);
    else if (!v && home)
        w = snprintf(buf, n, "%s/.aws/%s", home, leaf);
    else
        w = -1;
    if (w < 0 || (size_t)w >= n)
        buf[0] = '\0';
}

static enum creds_status prof_load_one(const char *path, int config_file, struct creds_ini *ini,
                                       int *have, struct creds_try *t)
{
    struct sbuf b = SBUF_INIT(CREDS_MAX_PROFILE_FILE);
    struct inj_err e;
    enum inj_rc rc;
    int en = 0;

    *have = 0;
    if (!path[0])
        return CREDS_OK;
    memset(&e, 0, sizeof(e));
    rc = rfile_read(config_file ? "shared config file" : "shared credentials file", path,
                    CREDS_MAX_PROFILE_FILE, RFILE_WIPE, &b, &en, &e);
    if (en == ENOENT || en == ENOTDIR)
        return CREDS_OK;
    if (rc == INJ_E_NOMEM)
        return creds_nomem(t);
    if (rc != INJ_OK)
        return creds_fail(t, "%s", e.msg);
    memset(&e, 0, sizeof(e));
    rc = creds_ini_parse((const char *)b.p, b.len, config_file, ini, &e);
    sbuf_wipe_free(&b);
    if (rc == INJ_E_NOMEM)
        return creds_nomem(t);
    if (rc != INJ_OK)
        return creds_fail_code(t, rc, "%s: %s", path, e.msg);
    *have = 1;
    return CREDS_OK;
}

static enum creds_status prof_load(const struct creds_ctx *ctx, struct prof *p, struct creds_try *t)
{
    enum creds_status st;

    memset(p, 0, sizeof(*p));
    p->ctx = ctx;
    p->name = creds_getenv(ctx, "AWS_PROFILE");
    if (!p->name)
        p->name = creds_getenv(ctx, "AWS_DEFAULT_PROFILE"); /* botocore's older name */
    p->name_explicit = p->name != NULL;
    if (!p->name)
        p->name = "default";
    prof_path(ctx, "AWS_SHARED_CREDENTIALS_FILE", "credentials", p->cred_path,
              sizeof(p->cred_path));
    prof_path(ctx, "AWS_CONFIG_FILE", "config", p->conf_path, sizeof(p->conf_path));
    st = prof_load_one(p->cred_path, 0, &p->cred, &p->have_cred, t);
    if (st == CREDS_OK)
        st = prof_load_one(p->conf_path, 1, &p->conf, &p->have_conf, t);
    return st;
}

static void prof_free(struct prof *p)
{
    creds_ini_free(&p->cred);
    creds_ini_free(&p->conf);
}

static const struct creds_ini_sec *prof_sec_cred(const struct prof *p, const char *name)
{
    return p->have_cred ? creds_ini_profile(&p->cred, name) : NULL;
}

static const struct creds_ini_sec *prof_sec_conf(const struct prof *p, const char *name)
{
    return p->have_conf ? creds_ini_profile(&p->conf, name) : NULL;
}

static int prof_exists(const struct prof *p, const char *name)
{
    return prof_sec_cred(p, name) || prof_sec_conf(p, name);
}

/* A setting of a profile: the credentials file first, then the config file. */
static const char *prof_get(const struct prof *p, const char *name, const char *key)
{
    const char *v = creds_ini_get(&p->cred, prof_sec_cred(p, name), key);

    return v ? v : creds_ini_get(&p->conf, prof_sec_conf(p, name), key);
}

static int prof_has_static(const struct creds_ini *ini, const struct creds_ini_sec *s)
{
    return creds_ini_get(ini, s, "aws_access_key_id") ||
           creds_ini_get(ini, s, "aws_secret_access_key");
}

static enum creds_status prof_static(const char *name, const struct creds_ini *ini,
                                     const struct creds_ini_sec *s, const char *path,
                                     struct creds *out, struct creds_try *t)
{
    const char *id = creds_ini_get(ini, s, "aws_access_key_id");
    const char *secret = creds_ini_get(ini, s, "aws_secret_access_key");
    const char *token = creds_ini_get(ini, s, "aws_session_token");
    char source[64];
    char what[160];

    if (!token)
        token = creds_ini_get(ini, s, "aws_security_token"); /* boto2's name */
    (void)snprintf(what, sizeof(what), "%s [%s]", path, name);
    if (!id || !secret)
        return creds_fail(t, "%s has %s but not %s (line %lu)", what,
                          id ? "aws_access_key_id" : "aws_secret_access_key",
                          id ? "aws_secret_access_key" : "aws_access_key_id", s->line);
    (void)snprintf(source, sizeof(source), "profile %s", name);
    return creds_set(out, id, secret, token, 0, time(NULL), source, what, t);
}

/* A profile's own credentials, without role_arn: static keys in the credentials file,
 * credential_process, static keys in the config file (botocore's provider order). */
static enum creds_status prof_plain(const struct prof *p, const char *name, struct creds *out,
                                    struct creds_try *t)
{
    const struct creds_ini_sec *sc = prof_sec_cred(p, name);
    const struct creds_ini_sec *sf = prof_sec_conf(p, name);
    const char *proc;
    char source[64];

    if (sc && prof_has_static(&p->cred, sc))
        return prof_static(name, &p->cred, sc, p->cred_path, out, t);
    proc = prof_get(p, name, "credential_process");
    if (proc) {
        (void)snprintf(source, sizeof(source), "profile %s (credential_process)", name);
        return creds_process_get(p->ctx, proc, source, out, t);
    }
    if (sf && prof_has_static(&p->conf, sf))
        return prof_static(name, &p->conf, sf, p->conf_path, out, t);
    if (prof_get(p, name, "sso_session") || prof_get(p, name, "sso_start_url") ||
        prof_get(p, name, "sso_account_id"))
        return creds_fail(t,
                          "profile \"%s\" uses IAM Identity Center (SSO), which injector "
                          "does not support (it needs a browser login and a token cache); "
                          "run `aws configure export-credentials --profile %s --format "
                          "env` and pass the result as environment variables",
                          name, name);
    if (prof_get(p, name, "login_session"))
        return creds_fail(t,
                          "profile \"%s\" uses an `aws login` session, which injector does "
                          "not support; run `aws configure export-credentials --profile %s "
                          "--format env` and pass the result as environment variables",
                          name, name);
    if (prof_get(p, name, "web_identity_token_file"))
        return creds_fail(t, "profile \"%s\" has web_identity_token_file but no role_arn", name);
    return creds_skip(t,
                      "no credentials in profile \"%s\" (no aws_access_key_id, "
                      "credential_process or role_arn)",
                      name);
}

/* Moves a nested outcome into t with a prefix, keeping NOMEM. */
static enum creds_status prof_wrap(struct creds_try *t, const struct creds_try *sub,
                                   enum creds_status st, const char *prefix)
{
    if (sub->why.code == INJ_E_NOMEM)
        return creds_nomem(t);
    if (st == CREDS_NOT_HERE)
        return creds_fail(t, "%s: no credentials: %s", prefix, sub->why.msg);
    return creds_fail(t, "%s: %s", prefix, sub->why.msg);
}

static enum creds_status prof_resolve(const struct prof *p, const char *name, const char **visited,
                                      size_t depth, struct creds *out, struct creds_try *t);

/* The credentials role_arn is assumed with: credential_source or source_profile. */
static enum creds_status prof_source(const struct prof *p, const char *name, const char **visited,
                                     size_t depth, struct creds *src, struct creds_try *t)
{
    const char *sp = prof_get(p, name, "source_profile");
    const char *cs = prof_get(p, name, "credential_source");
    enum creds_status st;
    struct creds_try sub;
    char prefix[160];
    size_t i;

    memset(&sub, 0, sizeof(sub));
    if (cs) {
        (void)snprintf(prefix, sizeof(prefix), "credential_source %s", cs);
        if (!strcmp(cs, "Environment"))
            st = creds_env_get(p->ctx, src, &sub);
        else if (!strcmp(cs, "Ec2InstanceMetadata"))
            st = creds_imds_get(p->ctx, src, &sub);
        else if (!strcmp(cs, "EcsContainer"))
            st = creds_ecs_get(p->ctx, src, &sub);
        else
            return creds_fail(t,
                              "profile \"%s\": credential_source %.64s: expected "
                              "Environment, Ec2InstanceMetadata or EcsContainer",
                              name, cs);
        return st == CREDS_OK ? CREDS_OK : prof_wrap(t, &sub, st, prefix);
    }
    (void)snprintf(prefix, sizeof(prefix), "source_profile \"%s\"", sp);
    if (!prof_exists(p, sp))
        return creds_fail(t, "profile \"%s\": source_profile \"%s\" not found in %s or %s", name,
                          sp, p->cred_path, p->conf_path);
    /* A profile may name itself as its source: its own static keys assume its role. */
    if (!strcmp(sp, name)) {
        if (!prof_has_static(&p->cred, prof_sec_cred(p, sp)) &&
            !prof_has_static(&p->conf, prof_sec_conf(p, sp)))
            return creds_fail(t, "profile \"%s\" is its own source_profile but has no keys", name);
        st = prof_plain(p, sp, src, &sub);
        return st == CREDS_OK ? CREDS_OK : prof_wrap(t, &sub, st, prefix);
    }
    for (i = 0; i <= depth; i++)
        if (!strcmp(visited[i], sp))
            return creds_fail(t, "source_profile loop: profile \"%s\" comes back to \"%s\"", name,
                              sp);
    if (depth + 1 >= PROF_MAX_CHAIN)
        return creds_fail(t, "more than %d source_profile hops", PROF_MAX_CHAIN);
    visited[depth + 1] = sp;
    /* botocore: a source profile with keys, or without a role, gives its own credentials;
     * otherwise its role is assumed first (role chaining). */
    if (prof_has_static(&p->cred, prof_sec_cred(p, sp)) ||
        prof_has_static(&p->conf, prof_sec_conf(p, sp)) || !prof_get(p, sp, "role_arn"))
        st = prof_plain(p, sp, src, &sub);
    else
        st = prof_resolve(p, sp, visited, depth + 1, src, &sub);
    return st == CREDS_OK ? CREDS_OK : prof_wrap(t, &sub, st, prefix);
}

static enum creds_status prof_resolve(const struct prof *p, const char *name, const char **visited,
                                      size_t depth, struct creds *out, struct creds_try *t)
{
    struct creds_role r;
    struct creds src;
    enum creds_status st;
    const char *dur;
    const char *wit;
    char source[64];
    char *end = NULL;

    memset(&r, 0, sizeof(r));
    memset(&src, 0, sizeof(src));
    r.role_arn = prof_get(p, name, "role_arn");
    if (!r.role_arn)
        return prof_plain(p, name, out, t);
    r.session_name = prof_get(p, name, "role_session_name");
    r.external_id = prof_get(p, name, "external_id");
    dur = prof_get(p, name, "duration_seconds");
    if (dur) {
        errno = 0;
        r.duration_s = strtol(dur, &end, 10);
        if (errno || *end || r.duration_s < 900 || r.duration_s > 43200)
            return creds_fail(t,
                              "profile \"%s\": duration_seconds %.20s: expected 900 to "
                              "43200",
                              name, dur);
    }
    if (prof_get(p, name, "mfa_serial"))
        return creds_fail(t,
                          "profile \"%s\" has mfa_serial: assuming the role needs an MFA "
                          "code typed in, and injector runs unattended; use "
                          "credential_process or export temporary credentials",
                          name);
    (void)snprintf(source, sizeof(source), "profile %s (role)", name);
    wit = prof_get(p, name, "web_identity_token_file");
    if (prof_get(p, name, "source_profile") && prof_get(p, name, "credential_source"))
        return creds_fail(t,
                          "profile \"%s\" has both source_profile and credential_source; "
                          "keep one",
                          name);
    if (!prof_get(p, name, "source_profile") && !prof_get(p, name, "credential_source")) {
        if (wit)
            return creds_sts_web_identity(p->ctx, &r, wit, source, out, t);
        return creds_fail(t,
                          "profile \"%s\" has role_arn but no source_profile, "
                          "credential_source or web_identity_token_file",
                          name);
    }
    st = prof_source(p, name, visited, depth, &src, t);
    if (st != CREDS_OK)
        return st;
    st = creds_sts_assume_role(p->ctx, &r, &src, source, out, t);
    creds_free(&src);
    return st;
}

enum creds_status creds_profile_get(const struct creds_ctx *ctx, struct creds *out,
                                    struct creds_try *t)
{
    const char *visited[PROF_MAX_CHAIN];
    enum creds_status st;
    struct prof p;

    st = prof_load(ctx, &p, t);
    (void)snprintf(t->label, sizeof(t->label), "profile \"%.64s\"", p.name);
    if (st != CREDS_OK)
        goto out;
    if (!p.cred_path[0] && !p.conf_path[0]) {
        st = creds_skip(t, "HOME, AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE not set");
        goto out;
    }
    if (!p.have_cred && !p.have_conf) {
        /* botocore: ProfileNotFound when a named profile is asked for. */
        if (p.name_explicit)
            st = creds_fail(t, "AWS_PROFILE names it, but neither %s nor %s exists", p.cred_path,
                            p.conf_path);
        else
            st = creds_skip(t, "no %s or %s", p.cred_path, p.conf_path);
        goto out;
    }
    if (!prof_exists(&p, p.name)) {
        if (p.name_explicit)
            st = creds_fail(t, "AWS_PROFILE names it, but it is in neither %s nor %s", p.cred_path,
                            p.conf_path);
        else
            st = creds_skip(t, "no [default] section in %s or %s", p.cred_path, p.conf_path);
        goto out;
    }
    visited[0] = p.name;
    st = prof_resolve(&p, p.name, visited, 0, out, t);
out:
    prof_free(&p);
    return st;
}

void creds_profile_region(const struct creds_ctx *ctx, char *buf, size_t n)
{
    struct creds_try t;
    struct prof p;
    const char *v;
    int w;

    buf[0] = '\0';
    memset(&t, 0, sizeof(t));
    if (prof_load(ctx, &p, &t) == CREDS_OK) {
        v = prof_get(&p, p.name, "region");
        if (v) {
            w = snprintf(buf, n, "%s", v);
            if (w < 0 || (size_t)w >= n)
                buf[0] = '\0';
        }
    }
    prof_free(&p);
}

/* One boolean endpoint setting: the variable when set (any value: "true", any case, is on),
 * else the active profile's key. */
static int creds_endpoint_bool(const struct creds_ctx *ctx, const struct prof *p, int loaded,
                               const char *var, const char *key)
{
    const char *v = creds_getenv(ctx, var);

    if (!v && loaded)
        v = prof_get(p, p->name, key);
    return v && !strcasecmp(v, "true");
}

void creds_endpoint_opts(const struct creds_ctx *ctx, int *fips, int *dualstack)
{
    struct creds_try t;
    struct prof p;
    int loaded;

    memset(&t, 0, sizeof(t));
    loaded = prof_load(ctx, &p, &t) == CREDS_OK;
    *fips = creds_endpoint_bool(ctx, &p, loaded, "AWS_USE_FIPS_ENDPOINT", "use_fips_endpoint");
    *dualstack = creds_endpoint_bool(ctx, &p, loaded, "AWS_USE_DUALSTACK_ENDPOINT",
                                     "use_dualstack_endpoint");
    prof_free(&p);
}
