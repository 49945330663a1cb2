/* main.c: injector's coordinator: config -> credentials -> Secrets Manager -> values ->
 * env/files -> exec. The only place that prints an error and chooses the exit code. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>
#include <yaml.h>

#include "childenv.h"
#include "cli.h"
#include "config.h"
#include "convert.h"
#include "creds.h"
#include "doc.h"
#include "err.h"
#include "export.h"
#include "http.h"
#include "ident.h"
#include "jx.h"
#include "log.h"
#include "mono.h"
#include "policy.h"
#include "proc.h"
#include "rfile.h"
#include "refresh.h"
#include "resolve.h"
#include "sidecar.h"
#include "roles.h"
#include "sink.h"
#include "sm.h"
#include "ssm.h"
#include "wipemem.h"
#include "supervise.h"

extern char **environ;

/* The start deadline without --timeout or the config's timeout (docs/throttling.md). */
#define MAIN_DEFAULT_TIMEOUT_MS 60000LL

struct run {
    struct cli cli;
    struct config cfg;
    struct http *http;
    struct creds creds;
    struct roles roles; /* per-entry roles' assumed credentials */
    struct resolve_set set;
    struct sink_env env;
    struct sink_files files;
    struct rlimit core_saved;
    int core_saved_ok;
    struct sigaction chld_saved; /* SIGCHLD as inherited; the app gets it back */
    int chld_saved_ok;
    long long deadline_ms;  /* --timeout: the end of the whole run's fetching */
    struct aws_retry retry; /* AWS_RETRY_MODE, AWS_MAX_ATTEMPTS; adaptive mode's limiter */
    const char *region;     /* main_region's answer, worked out once */
    int region_done;
    char region_buf[64];    /* a region from the profile or IMDS */
    struct ident_user user; /* --user */
    struct refresh refresh; /* --supervise with a refresh interval */
    int exit_code;          /* the supervised command's, when have_exit_code */
    int have_exit_code;
    char ready[4096]; /* --sidecar: the ready file; "" until written */
};

/* Before any secret is in memory: no core dumps, no ptrace by other users' tools. */
static void main_harden(struct run *r)
{
    struct rlimit zero;

    (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    r->core_saved_ok = getrlimit(RLIMIT_CORE, &r->core_saved) == 0;
    /* Only the soft limit: a lowered hard limit could not be given back to the app. */
    zero.rlim_cur = 0;
    zero.rlim_max = r->core_saved_ok ? r->core_saved.rlim_max : 0;
    (void)setrlimit(RLIMIT_CORE, &zero);
}

/* An inherited SIGCHLD = SIG_IGN makes the kernel reap our children (credential_process)
 * before we can read their status: use the default while we run, as SDKs' runtimes do. */
static void main_sigchld_default(struct run *r)
{
    struct sigaction dfl;

    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    (void)sigemptyset(&dfl.sa_mask);
    r->chld_saved_ok = sigaction(SIGCHLD, &dfl, &r->chld_saved) == 0;
}

/* The app gets the core limit it would have had without us. */
static void main_unharden(const struct run *r)
{
    if (r->core_saved_ok)
        (void)setrlimit(RLIMIT_CORE, &r->core_saved);
    if (r->chld_saved_ok)
        (void)sigaction(SIGCHLD, &r->chld_saved, NULL);
}

/* INJECTOR_LOG_FORMAT, before the first line: it beats the config's log_format (the
 * deployment's choice over the image's), and the lines before the config is read follow it. */
static void main_log_format(void)
{
    const char *v = getenv("INJECTOR_LOG_FORMAT");
    int f = v && *v ? log_format_parse(v) : 0;

    if (f)
        log_set_format((enum log_format)f);
    else if (v && *v)
        log_warn("INJECTOR_LOG_FORMAT=%s is not text|json; the config's log_format, else text", v);
}

static void main_log_level(const struct cli *cli)
{
    const char *v = getenv("INJECTOR_LOG_LEVEL");
    int lvl = LOG_LVL_WARN;

    if (v && *v) {
        int p = log_level_parse(v);
        if (p == -2)
            log_warn("INJECTOR_LOG_LEVEL=%s is not quiet|error|warn|info|debug; using warn", v);
        else
            lvl = p;
    }
    lvl += cli->verbosity;
    if (lvl < LOG_LVL_QUIET)
        lvl = LOG_LVL_QUIET;
    if (lvl > LOG_LVL_DEBUG)
        lvl = LOG_LVL_DEBUG;
    log_set_level((enum log_level)lvl);
}

/* The region chain (issue 4): --region, config, AWS_REGION, AWS_DEFAULT_REGION, then the
 * profile's region and the IMDS placement region (creds_region_fallback). A full ARN's own
 * region beats all of them for that secret (sm_region_for), so IMDS is only asked when an
 * entry is not a full ARN: on a laptop it costs up to 2 s. Worked out once; needs r->http. */
static const char *main_region(struct run *r)
{
    struct creds_ctx cctx;
    const char *v;
    size_t i;

    if (r->region_done)
        return r->region;
    r->region_done = 1;
    v = r->cli.region;
    if (!v || !*v)
        v = r->cfg.region;
    if (!v || !*v)
        v = getenv("AWS_REGION");
    if (!v || !*v)
        v = getenv("AWS_DEFAULT_REGION");
    if (v && *v) {
        r->region = v;
        return v;
    }
    memset(&cctx, 0, sizeof(cctx));
    cctx.http = r->http;
    cctx.deadline_ms = r->deadline_ms;
    for (i = 0; i < r->cfg.n; i++)
        if (!r->cfg.entries[i].ref.is_arn || !r->cfg.entries[i].ref.region[0])
            cctx.imds_region = 1;
    if (creds_region_fallback(&cctx, r->region_buf, sizeof(r->region_buf)) == INJ_OK &&
        r->region_buf[0])
        r->region = r->region_buf;
    return r->region;
}

/* `injector version` names the instruction set this binary was compiled for and how it was
 * linked: mk/static.mk defines INJ_STATIC. */
#if defined(__x86_64__)
#define INJ_ARCH "x86_64"
#elif defined(__aarch64__)
#define INJ_ARCH "aarch64"
#else
#define INJ_ARCH "unknown-arch"
#endif
#ifdef INJ_STATIC
#define INJ_LINKAGE "static"
#else
#define INJ_LINKAGE "dynamic"
#endif

static int main_version(void)
{
    struct http *h = NULL;
    struct inj_err err;
    int major;
    int minor;
    int patch;

    yaml_get_version(&major, &minor, &patch);
    printf("injector %s (%s, %s)\n", INJ_VERSION, INJ_ARCH, INJ_LINKAGE);
    printf("libcurl %s\n", curl_version_info(CURLVERSION_NOW)->version);
    printf("openssl %s\n", OpenSSL_version(OPENSSL_VERSION_STRING));
    printf("libyaml %d.%d.%d\n", major, minor, patch);
    printf("cjson %s\n", cJSON_Version());
    memset(&err, 0, sizeof(err));
    if (http_new(&h, &err) == INJ_OK)
        printf("ca %s\n", http_ca_source(h));
    else
        printf("ca error: %s\n", err.msg);
    http_free(h);
    return 0;
}

static void main_print_dry_run(const struct resolve_set *set)
{
    size_t i;

    for (i = 0; i < set->nr; i++) {
        const struct resolved *r = &set->r[i];
        const struct entry *e = r->e;
        const char *kind = e->kind == ENTRY_ENV ? "env" : "file";

        if (r->skipped) {
            printf("%s %s: skipped (optional, %s not found)\n", kind, e->name, e->ref.secret_id);
            continue;
        }
        if (e->expand) {
            size_t k;

            printf("%s %s: %s version %s expands to %zu variable(s)\n", kind, e->name,
                   r->f->ref->service == REF_SSM ? r->f->secret.name : r->f->secret.arn,
                   r->f->secret.version_id, r->nvars);
            for (k = 0; k < r->nvars; k++)
                printf("env %s: key \"%s\" of %s %zu bytes\n", r->vars[k].name, r->vars[k].key,
                       e->name, r->vars[k].value.len);
            continue;
        }
        if (r->f->ref->service == REF_SSM)
            printf("%s %s: parameter %s (%s) version %s%s%s %zu bytes\n", kind, e->name,
                   r->f->secret.name, r->f->secret.type[0] ? r->f->secret.type : "?",
                   r->f->secret.version_id, r->f->secret.stages[0] ? " selector " : "",
                   r->f->secret.stages, r->value.len);
        else
            printf("%s %s: %s version %s [%s] %zu bytes\n", kind, e->name, r->f->secret.arn,
                   r->f->secret.version_id, r->f->secret.stages, r->value.len);
    }
    (void)fflush(stdout);
}

/* --pristine / child_env.drop_aws_credentials: the command does not inherit the credential
 * sources injector used, nor INJECTOR_*. Entries set afterwards still apply. */
static enum inj_rc main_pristine(struct sink_env *env, struct inj_err *err)
{
    size_t i = 0;
    size_t dropped = 0;

    while (i < env->n) {
        size_t len = childenv_dropped(env->vars[i]);
        char *name;

        if (!len) {
            i++;
            continue;
        }
        name = xmemdup(env->vars[i], len);
        if (!name)
            return inj_err_set(err, INJ_E_NOMEM, "out of memory");
        sink_env_unset(env, name); /* the first NAME= is this one: it moves the rest down */
        log_debug("not passed on: %s", name);
        free(name);
        dropped++;
    }
    log_info("%zu credential/INJECTOR_* variable(s) not passed on", dropped);
    return INJ_OK;
}

/* An expand entry's variables into r->env. */
static enum inj_rc main_deliver_expanded(struct run *r, const struct resolved *v, int check_only,
                                         struct inj_err *err)
{
    enum inj_rc rc;
    size_t k;

    for (k = 0; k < v->nvars; k++) {
        const struct expand_var *x = &v->vars[k];

        rc = sink_env_set(&r->env, x->name, x->value.p, x->value.len, v->e->overwrite, err);
        if (rc != INJ_OK) {
            inj_err_prefix(err, "env %s (key \"%.64s\" of env %s)", x->name, x->key, v->e->name);
            return rc;
        }
        if (!check_only)
            log_info("env %s <- %s key \"%.64s\" (%zu bytes)", x->name, v->f->secret.arn, x->key,
                     x->value.len);
    }
    return INJ_OK;
}

/* Puts every value where it goes: env into r->env, files staged then committed. With
 * check_only (--dry-run) files are only checked, so that a dry run fails where the real run
 * would, having written nothing. */
static enum inj_rc main_deliver(struct run *r, int check_only, struct inj_err *err)
{
    enum inj_rc rc;
    size_t i;
    size_t nenv = 0;

    rc = sink_env_init(&r->env, environ, err);
    if (rc != INJ_OK)
        return rc;
    if (r->cli.pristine || r->cfg.drop_aws_credentials) {
        rc = main_pristine(&r->env, err);
        if (rc != INJ_OK)
            return rc;
    }
    for (i = 0; i < r->set.nr; i++) {
        const struct resolved *v = &r->set.r[i];
        const struct entry *e = v->e;

        if (v->skipped)
            continue;
        if (e->expand) {
            rc = main_deliver_expanded(r, v, check_only, err);
            if (rc != INJ_OK)
                return rc;
            nenv += v->nvars;
            continue;
        }
        if (e->kind == ENTRY_ENV) {
            rc = sink_env_set(&r->env, e->name, v->value.p, v->value.len, e->overwrite, err);
            nenv++;
        } else if (check_only) {
            rc = sink_file_check(&r->files, e->name, e->allow_disk, err);
        } else {
            rc = sink_file_stage(&r->files, e->name, e->mode, e->allow_disk, v->value.p,
                                 v->value.len, err);
        }
        if (rc != INJ_OK) {
            inj_err_prefix(err, "%s %s", e->kind == ENTRY_ENV ? "env" : "file", e->name);
            err->entry = e->name;
            return rc;
        }
        if (check_only)
            continue;
        log_info("%s %s <- %s (%zu bytes)", e->kind == ENTRY_ENV ? "env" : "file", e->name,
                 v->f->secret.arn, v->value.len);
    }
    if (check_only)
        return INJ_OK;
    rc = sink_files_commit(&r->files, err);
    if (rc != INJ_OK)
        return rc;
    log_info("%zu variable(s) and %zu file(s) in place", nenv, r->files.n);
    return INJ_OK;
}

/* `injector policy`: offline, so the region chain stops before the profile and IMDS. */
static enum inj_rc main_policy(const struct run *r, struct inj_err *err)
{
    struct policy_opts o;
    char *text = NULL;
    enum inj_rc rc;

    memset(&o, 0, sizeof(o));
    o.region = r->cli.region;
    if (!o.region || !*o.region)
        o.region = r->cfg.region;
    if (!o.region || !*o.region)
        o.region = getenv("AWS_REGION");
    if (!o.region || !*o.region)
        o.region = getenv("AWS_DEFAULT_REGION");
    o.account = r->cli.account;
    o.fetch = r->cli.fetch != SM_FETCH_UNSET ? r->cli.fetch : r->cfg.fetch;
    rc = policy_build(&r->cfg, &o, &text, err);
    if (rc != INJ_OK)
        return rc;
    if (fputs(text, stdout) == EOF || fflush(stdout) == EOF)
        rc = inj_err_set(err, INJ_E_IO, "cannot write the policy to stdout");
    free(text);
    return rc;
}

/* The endpoint variants (FIPS, dual-stack) every service call uses, read once. */
static void main_endpoint_opts(void)
{
    struct creds_ctx cctx;
    int fips = 0;
    int dualstack = 0;

    memset(&cctx, 0, sizeof(cctx));
    creds_endpoint_opts(&cctx, &fips, &dualstack);
    aws_set_endpoint_opts(fips, dualstack);
    if (fips || dualstack)
        log_debug("endpoints:%s%s", fips ? " FIPS" : "", dualstack ? " dual-stack" : "");
}

/* The services whose endpoints check -v lists (STS aside). */
static const struct aws_service *const main_services[] = {&sm_service, &ssm_service};

/* check -v: the endpoints a run would reach, offline, one "endpoint SIGNING-NAME REGION: URL"
 * line each: Secrets Manager in the region (the chain before the profile and IMDS), in each
 * full ARN's region and in the failover regions, and STS. A variant a partition does not
 * have fails the check. */
static enum inj_rc main_check_endpoints(const struct run *r, struct inj_err *err)
{
    struct ref_regions seen;
    struct creds_ctx cctx;
    const char *region = r->cli.region;
    char url[512];
    enum inj_rc rc;
    size_t i;
    size_t k;

    memset(&seen, 0, sizeof(seen));
    if (!region || !*region)
        region = r->cfg.region;
    if (!region || !*region)
        region = getenv("AWS_REGION");
    if (!region || !*region)
        region = getenv("AWS_DEFAULT_REGION");
    if (region && *region)
        (void)ref_regions_add(&seen, region);
    for (i = 0; i < r->cfg.n; i++) {
        const struct entry *e = &r->cfg.entries[i];
        const struct ref_regions *fo = config_failover(&r->cfg, e);

        if (e->ref.region[0])
            (void)ref_regions_add(&seen, e->ref.region);
        for (k = 0; k < fo->n; k++)
            (void)ref_regions_add(&seen, fo->v[k]);
    }
    for (k = 0; k < r->cfg.failover.n; k++)
        (void)ref_regions_add(&seen, r->cfg.failover.v[k]);
    for (i = 0; i < seen.n; i++) {
        for (k = 0; k < sizeof(main_services) / sizeof(main_services[0]); k++) {
            rc = aws_endpoint_url(main_services[k], seen.v[i], url, sizeof(url), err);
            if (rc != INJ_OK)
                return rc;
            log_info("endpoint %s %s: %s", main_services[k]->signing_name, seen.v[i], url);
        }
    }
    memset(&cctx, 0, sizeof(cctx));
    cctx.region = region;
    rc = creds_sts_url(&cctx, url, sizeof(url), err);
    if (rc != INJ_OK)
        return rc;
    log_info("endpoint sts %s: %s", region && *region ? region : "(no region)", url);
    return INJ_OK;
}

/* The config: -c FILE, else INJECTOR_CONFIG (a path), else INJECTOR_CONFIG_YAML (the YAML
 * itself: an ECS task definition can carry it), else, with --from-env, none. Then --from-env
 * adds the environment's references as entries. */
static enum inj_rc main_config(struct run *r, struct inj_err *err)
{
    const char *path = r->cli.config;
    const char *yaml = getenv("INJECTOR_CONFIG_YAML");
    enum inj_rc rc;
    size_t added = 0;

    if (!path) {
        path = getenv("INJECTOR_CONFIG");
        if (path && !*path)
            path = NULL;
        if (path && yaml && *yaml)
            return inj_err_set(err, INJ_E_USAGE,
                               "both INJECTOR_CONFIG and INJECTOR_CONFIG_YAML are set; set one");
    }
    if (path) {
        rc = config_load(path, &r->cfg, err);
    } else if (yaml && *yaml) {
        if (strlen(yaml) > CONFIG_MAX_BYTES)
            return inj_err_set(err, INJ_E_CONFIG, "INJECTOR_CONFIG_YAML: larger than %u bytes",
                               CONFIG_MAX_BYTES);
        rc = config_parse("INJECTOR_CONFIG_YAML", (const unsigned char *)yaml, strlen(yaml),
                          &r->cfg, err);
    } else if (r->cli.from_env) {
        r->cfg.version = 1;
        r->cfg.path = xstrdup("--from-env");
        rc = r->cfg.path ? INJ_OK : inj_err_set(err, INJ_E_NOMEM, "out of memory");
    } else {
        return inj_err_set(err, INJ_E_USAGE,
                           "no config: give -c FILE, set INJECTOR_CONFIG or INJECTOR_CONFIG_YAML, "
                           "or use --from-env (see injector --help)");
    }
    if (rc == INJ_OK && r->cli.has_failover) {
        size_t i;

        r->cfg.failover = r->cli.failover;
        for (i = 0; i < r->cfg.n; i++) {
            const struct entry *e = &r->cfg.entries[i];
            const char *part = NULL;
            const char *region =
                e->has_failover ? NULL : config_failover_misfit(e, &r->cfg.failover, &part);

            if (region)
                return inj_err_set(err, INJ_E_USAGE,
                                   "--failover-regions: %s is in partition %s, but %s reads a "
                                   "secret by an ARN in %s; a replica stays in its partition",
                                   region, ref_region_partition(region), e->name, part);
        }
    }
    if (rc == INJ_OK && r->cfg.log_format) {
        const char *v = getenv("INJECTOR_LOG_FORMAT");

        if (!v || !log_format_parse(v))
            log_set_format((enum log_format)r->cfg.log_format);
    }
    if (rc != INJ_OK || !r->cli.from_env)
        return rc;
    rc = childenv_add_refs(&r->cfg, environ, &added, err);
    if (rc != INJ_OK)
        return rc;
    if (!added)
        log_warn("--from-env: no environment variable holds a secret reference "
                 "(arn:aws:secretsmanager:... or sm://...)");
    log_info("--from-env: %zu variable(s) hold secret references", added);
    return INJ_OK;
}

/* `injector export`: the env entries' values to stdout, quoted for --format. Files entries are
 * not exported. The whole output is rendered before anything is written. */
static enum inj_rc main_export(struct run *r, struct inj_err *err)
{
    enum inj_rc rc = INJ_E_NOMEM;
    struct export_var *vars = NULL;
    struct sbuf out = SBUF_INIT(64u * 1024u * 1024u);
    struct sbuf masks = SBUF_INIT(64u * 1024u * 1024u);
    const char *genv = getenv("GITHUB_ENV"); /* main_run checked it for --mask */
    size_t n = 0;
    size_t cap = 1;
    size_t i;
    size_t k;

    for (i = 0; i < r->set.nr; i++)
        cap += r->set.r[i].e->expand ? r->set.r[i].nvars : 1;
    vars = calloc(cap, sizeof(*vars));
    if (!vars)
        return inj_err_set(err, rc, "out of memory");
    for (i = 0; i < r->set.nr; i++) {
        const struct resolved *v = &r->set.r[i];

        if (v->skipped)
            continue;
        if (v->e->kind != ENTRY_ENV) {
            log_warn("file %s: not exported (export prints env entries only)", v->e->name);
            continue;
        }
        for (k = 0; v->e->expand && k < v->nvars; k++) {
            vars[n].name = v->vars[k].name;
            vars[n].value = v->vars[k].value.p ? v->vars[k].value.p : (const unsigned char *)"";
            vars[n].len = v->vars[k].value.len;
            n++;
        }
        if (v->e->expand)
            continue;
        vars[n].name = v->e->name;
        vars[n].value = v->value.p ? v->value.p : (const unsigned char *)"";
        vars[n].len = v->value.len;
        n++;
    }
    rc = export_render((enum export_format)export_format_parse(r->cli.format), vars, n, &out, err);
    if (rc == INJ_OK && r->cli.mask) {
        /* The masks first, on stdout, where the runner reads commands; the values go to
         * $GITHUB_ENV, read after the step, so no later line can show them unmasked. */
        rc = export_render_masks(vars, n, &masks, err);
        if (rc == INJ_OK)
            rc = export_write(STDOUT_FILENO, masks.p, masks.len, err);
        if (rc == INJ_OK)
            rc = export_append_file(genv ? genv : "", out.p, out.len, err);
    } else if (rc == INJ_OK) {
        rc = export_write(STDOUT_FILENO, out.p, out.len, err);
    }
    if (rc == INJ_OK)
        log_info("exported %zu variable(s) as %s", n, r->cli.format);
    sbuf_wipe_free(&out);   /* holds every value */
    sbuf_wipe_free(&masks); /* so does this */
    free(vars);
    return rc;
}

/* --sidecar: every file is in place; supervise_run calls this with every signal blocked. */
static enum inj_rc main_sidecar_ready(void *rctx, struct inj_err *err)
{
    struct run *r = rctx;
    char path[sizeof(r->ready)];
    enum inj_rc rc;

    rc = sidecar_ready_path(&r->cfg, path, sizeof(path), err);
    if (rc == INJ_OK)
        rc = sidecar_ready_write(path, err);
    if (rc != INJ_OK)
        return rc;
    memcpy(r->ready, path, sizeof(r->ready));
    log_info("ready: %zu file(s) in place, %s written", r->files.n, r->ready);
    return INJ_OK;
}

/* `injector check --ready`: the sidecar's probe (an ECS health check, a Kubernetes probe). */
static enum inj_rc main_check_ready(const struct run *r, struct inj_err *err)
{
    char path[4096];
    size_t n = 0;
    enum inj_rc rc;

    rc = sidecar_config_check(&r->cfg, err);
    if (rc == INJ_OK)
        rc = sidecar_ready_path(&r->cfg, path, sizeof(path), err);
    if (rc == INJ_OK)
        rc = sidecar_ready_check(&r->cfg, path, &n, err);
    if (rc != INJ_OK)
        return rc;
    printf("%s: ready (%zu file%s)\n", path, n, n == 1 ? "" : "s");
    return INJ_OK;
}

/* --supervise: injector stays the command's parent (supervise.c); with a refresh interval
 * the fetch state stays too, for refresh.c. */
static enum inj_rc main_supervise(struct run *r, const struct creds_ctx *cctx,
                                  const struct sm_ctx *sctx, struct inj_err *err)
{
    const struct config_supervise *cs = &r->cfg.supervise;
    struct supervise_opts o;
    struct supervise_hooks h;
    enum inj_rc rc;

    memset(&o, 0, sizeof(o));
    memset(&h, 0, sizeof(h));
    o.argv = r->cli.sidecar ? NULL : r->cli.argv;
    o.pgroup = r->cli.pgroup || cs->pgroup;
    o.refresh_ms = r->cli.refresh_ms ? r->cli.refresh_ms : cs->refresh_ms;
    o.refresh_signal = cs->refresh_signal;
    /* Sidecar: no command to signal or restart (sidecar_config_check refused them). */
    o.on_change =
        r->cli.sidecar ? SUPERVISE_ON_CHANGE_NONE : (enum supervise_on_change)cs->on_change;
    o.on_change_signal = cs->on_change_signal;
    o.on_change_exec = cs->on_change_exec;
    o.restart_timeout_ms = cs->restart_timeout_ms;
    o.restart_delay_ms = cs->restart_delay_ms;
    o.user = r->user;
    o.core = r->core_saved_ok ? &r->core_saved : NULL;
    r->refresh.env = &r->env;
    r->refresh.files = &r->files;
    h.ctx = &r->refresh;
    h.envp = refresh_hook_envp;
    h.started = refresh_hook_started;
    if (r->cli.sidecar) {
        h.ready = main_sidecar_ready;
        h.rctx = r;
    }
    if (o.refresh_ms > 0 || o.refresh_signal) {
        r->refresh.cfg = &r->cfg;
        r->refresh.set = &r->set;
        r->refresh.creds = &r->creds;
        r->refresh.roles = r->cfg.nroles ? &r->roles : NULL;
        r->refresh.cctx = *cctx;
        r->refresh.sm = *sctx;
        r->refresh.chown = r->files.chown;
        r->refresh.uid = r->files.uid;
        r->refresh.gid = r->files.gid;
        rc = refresh_init(&r->refresh, err);
        if (rc != INJ_OK) {
            sink_files_abort(&r->files);
            return rc;
        }
        h.refresh = refresh_hook;
    } else {
        /* Nothing is fetched again: drop every copy but the command's environment. */
        resolve_free(&r->set);
        roles_free(&r->roles);
        creds_free(&r->creds);
        http_free(r->http);
        r->http = NULL;
    }
    /* supervise_run saves the disposition it finds for the app: let it find the inherited one. */
    if (r->chld_saved_ok)
        (void)sigaction(SIGCHLD, &r->chld_saved, NULL);
    rc = supervise_run(&o, &h, &r->exit_code, err);
    if (r->ready[0] && sidecar_ready_remove(r->ready) != 0)
        log_warn("ready file %s: cannot remove it: %s", r->ready, strerror(errno));
    if (rc != INJ_OK) {
        /* The command never ran (or the sidecar never got ready): undo the files, as plain
         * mode does. */
        sink_files_abort(&r->files);
        return rc;
    }
    r->have_exit_code = 1;
    return INJ_OK;
}

/* `injector convert FILE`: offline. The output is parsed as a config before it is printed,
 * so what convert prints always passes `injector check`. */
static enum inj_rc main_convert(const struct cli *cli, struct inj_err *err)
{
    struct sbuf in = SBUF_INIT(CONFIG_MAX_BYTES);
    struct sbuf out = SBUF_INIT(4u * CONFIG_MAX_BYTES);
    struct config cfg;
    enum inj_rc rc;

    memset(&cfg, 0, sizeof(cfg));
    rc = rfile_read("convert input", cli->input, CONFIG_MAX_BYTES, 0, &in, NULL, err);
    if (rc == INJ_OK)
        rc = convert_text(cli->input, in.p, in.len, cli->container, &out, err);
    if (rc == INJ_OK) {
        struct inj_err why;

        memset(&why, 0, sizeof(why));
        rc = config_parse("converted config", out.p, out.len, &cfg, &why);
        if (rc != INJ_OK) /* a reference ECS or CodeBuild takes that injector does not */
            rc = inj_err_set(err, INJ_E_DATA, "%s: the result is not a valid config: %s",
                             cli->input, why.msg);
    }
    if (rc == INJ_OK && (fwrite(out.p, 1, out.len, stdout) != out.len || fflush(stdout) == EOF))
        rc = inj_err_set(err, INJ_E_IO, "cannot write the config to stdout");
    if (rc == INJ_OK)
        log_info("%s: %zu variable(s) converted; check the result with injector check", cli->input,
                 cfg.n);
    config_free(&cfg);
    sbuf_wipe_free(&in);
    sbuf_wipe_free(&out);
    return rc;
}

static enum inj_rc main_run(struct run *r, struct inj_err *err)
{
    enum inj_rc rc;
    struct creds_ctx cctx;
    struct sm_ctx sctx;
    const char *github_env = getenv("GITHUB_ENV");

    if (r->cli.cmd == CLI_EXPORT && !r->cli.force && isatty(STDOUT_FILENO))
        return inj_err_set(err, INJ_E_USAGE,
                           "export: stdout is a terminal; refusing to print secrets on it "
                           "(redirect stdout, or add --force)");
    if (r->cli.cmd == CLI_EXPORT && r->cli.mask && (!github_env || !*github_env))
        return inj_err_set(err, INJ_E_USAGE,
                           "export --mask: GITHUB_ENV is not set; --mask appends the variables "
                           "to the file it names (run it in a GitHub Actions step)");
    rc = main_config(r, err);
    if (rc != INJ_OK)
        return rc;
    if (r->cli.cmd == CLI_POLICY)
        return main_policy(r, err);
    if (r->cli.cmd == CLI_CHECK && r->cli.ready)
        return main_check_ready(r, err);
    if (r->cli.sidecar) {
        char path[sizeof(r->ready)];

        rc = sidecar_config_check(&r->cfg, err);
        if (rc == INJ_OK)
            rc = sidecar_ready_path(&r->cfg, path, sizeof(path), err);
        if (rc != INJ_OK)
            return rc;
        /* A ready file left by an earlier run (a container restarted on a kept volume) must
         * not announce files that this run has not written yet. */
        if (sidecar_ready_remove(path) != 0)
            return inj_err_set(err, INJ_E_IO, "ready file %s: cannot remove the old one: %s", path,
                               strerror(errno));
    }
    main_endpoint_opts();
    if (r->cli.cmd == CLI_CHECK) {
        rc = resolve_plan(&r->cfg, &r->set, err);
        if (rc == INJ_OK)
            rc = main_check_endpoints(r, err);
        if (rc != INJ_OK)
            return rc;
        printf("%s: OK (%zu entries, %zu secret fetch%s)\n", r->cfg.path, r->cfg.n, r->set.nf,
               r->set.nf == 1 ? "" : "es");
        return INJ_OK;
    }
    if (r->cli.user) {
        /* Before any fetch: a user that does not resolve is a usage error. */
        rc = ident_resolve(r->cli.user, &r->user, err);
        if (rc != INJ_OK)
            return rc;
        r->files.chown = 1;
        r->files.uid = r->user.uid;
        r->files.gid = r->user.gid;
    }
    rc = http_new(&r->http, err);
    if (rc != INJ_OK)
        return rc;
    /* The start deadline (--timeout, the config's timeout, 60 s) covers the whole run: region
     * lookup, credentials, then the fetches; throttled calls are retried until it. */
    r->deadline_ms = mono_ms() + (r->cli.timeout_ms   ? r->cli.timeout_ms
                                  : r->cfg.timeout_ms ? r->cfg.timeout_ms
                                                      : MAIN_DEFAULT_TIMEOUT_MS);
    memset(&cctx, 0, sizeof(cctx));
    cctx.http = r->http;
    cctx.region = main_region(r);
    cctx.deadline_ms = r->deadline_ms;
    rc = creds_resolve(&cctx, &r->creds, err);
    if (rc != INJ_OK)
        return rc;
    log_debug("credentials from %s", r->creds.source);
    memset(&sctx, 0, sizeof(sctx));
    sctx.http = r->http;
    sctx.creds = &r->creds;
    sctx.region = main_region(r);
    sctx.fetch_mode = r->cli.fetch != SM_FETCH_UNSET ? r->cli.fetch : r->cfg.fetch;
    sctx.deadline_ms = r->deadline_ms;
    rc = aws_retry_init(&r->retry, err);
    if (rc != INJ_OK)
        return rc;
    r->roles.cfg = &r->cfg;
    r->roles.base = &r->creds;
    r->roles.cctx = cctx;
    rc = roles_init(&r->roles, err);
    if (rc != INJ_OK)
        return rc;
    sctx.max_attempts = r->retry.max_attempts;
    sctx.retry = &r->retry;
    rc = resolve_all_with(&r->cfg, &sctx, roles_fetch_all, &r->roles, &r->set, err);
    log_debug("%zu API call(s), %ld connection(s)", r->set.api_calls, http_connects(r->http));
    if (rc != INJ_OK)
        return rc;
    if (r->cli.cmd == CLI_EXPORT)
        return main_export(r, err);
    if (r->cli.dry_run) {
        rc = main_deliver(r, 1, err);
        if (rc == INJ_OK)
            main_print_dry_run(&r->set);
        return rc;
    }
    rc = main_deliver(r, 0, err);
    if (rc != INJ_OK) {
        sink_files_abort(&r->files);
        return rc;
    }
    if (r->cli.supervise || r->cfg.supervise.enabled || r->cli.sidecar)
        return main_supervise(r, &cctx, &sctx, err);
    /* The secrets are in env and files now; drop every other copy before exec. */
    resolve_free(&r->set);
    roles_free(&r->roles);
    creds_free(&r->creds);
    http_free(r->http);
    r->http = NULL;
    main_unharden(r);
    rc = ident_drop(&r->user, err);
    if (rc == INJ_OK)
        rc = proc_exec(r->cli.argv, sink_env_envp(&r->env), err);
    /* Only reached when exec failed: the command never started, so undo the files. */
    sink_files_abort(&r->files);
    return rc;
}

int main(int argc, char **argv)
{
    struct run r;
    struct inj_err err;
    enum inj_rc rc;

    /* First: OpenSSL's heap (keys, decrypted records) is wiped on free from here on. */
    (void)wipemem_install_openssl();
    memset(&r, 0, sizeof(r));
    memset(&err, 0, sizeof(err));
    main_harden(&r);
    main_sigchld_default(&r);
    rc = cli_parse(argc, argv, &r.cli, &err);
    main_log_format();
    main_log_level(&r.cli);
    if (rc != INJ_OK) {
        log_err(LOG_LVL_ERROR, &err);
        return inj_rc_exit(rc);
    }
    if (r.cli.cmd == CLI_HELP) {
        if (r.cli.help_topic)
            (void)fputs(inj_doc_config, stdout); /* docs/config.md, compiled in */
        else
            cli_usage(stdout);
        return 0;
    }
    /* No openssl.cnf: OPENSSL_CONF must not be able to change TLS policy under us. */
    (void)OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL);
    /* libcurl's copies of the secret key, tokens and request headers: wiped on free too. */
    if (wipemem_curl_global_init(&err) != INJ_OK) {
        log_err(LOG_LVL_ERROR, &err);
        return inj_rc_exit(INJ_E_SOFTWARE);
    }
    jx_init();
    if (r.cli.cmd == CLI_VERSION) {
        rc = (enum inj_rc)main_version();
    } else if (r.cli.cmd == CLI_CONVERT) {
        rc = main_convert(&r.cli, &err);
        if (rc != INJ_OK)
            log_error("%s", err.msg);
    } else {
        rc = main_run(&r, &err);
        if (rc != INJ_OK)
            log_err(LOG_LVL_ERROR, &err);
    }
    resolve_free(&r.set);
    sink_env_free(&r.env);
    sink_files_free(&r.files);
    roles_free(&r.roles);
    creds_free(&r.creds);
    http_free(r.http);
    refresh_free(&r.refresh);
    config_free(&r.cfg);
    curl_global_cleanup();
    return r.have_exit_code ? r.exit_code : inj_rc_exit(rc);
}
