/* main.c: injector's coordinator: config -> credentials -> Secrets Manager -> values ->
 * env/files -> exec. The only place that prints an error and chooses the exit code. */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <yaml.h>

#include "cli.h"
#include "config.h"
#include "creds.h"
#include "err.h"
#include "http.h"
#include "jx.h"
#include "log.h"
#include "proc.h"
#include "resolve.h"
#include "sink.h"
#include "sm.h"

extern char **environ;

struct run {
    struct cli cli;
    struct config cfg;
    struct http *http;
    struct creds creds;
    struct resolve_set set;
    struct sink_env env;
    struct sink_files files;
    struct rlimit core_saved;
    int core_saved_ok;
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

/* The app gets the core limit it would have had without us. */
static void main_unharden(const struct run *r)
{
    if (r->core_saved_ok)
        (void)setrlimit(RLIMIT_CORE, &r->core_saved);
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

static const char *main_region(const struct run *r)
{
    const char *v;

    if (r->cli.region && *r->cli.region)
        return r->cli.region;
    if (r->cfg.region)
        return r->cfg.region;
    v = getenv("AWS_REGION");
    if (v && *v)
        return v;
    v = getenv("AWS_DEFAULT_REGION");
    if (v && *v)
        return v;
    return NULL;
}

static int main_version(void)
{
    struct http *h = NULL;
    struct inj_err err;
    int major;
    int minor;
    int patch;

    yaml_get_version(&major, &minor, &patch);
    printf("injector %s\n", INJ_VERSION);
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
            printf("%s %s: skipped (optional, %s not found)\n", kind, e->name,
                   e->ref.secret_id);
            continue;
        }
        printf("%s %s: %s version %s [%s] %zu bytes\n", kind, e->name, r->f->secret.arn,
               r->f->secret.version_id, r->f->secret.stages, r->value.len);
    }
    (void)fflush(stdout);
}

/* Puts every value where it goes: env into r->env, files staged then committed. */
static enum inj_rc main_deliver(struct run *r, struct inj_err *err)
{
    enum inj_rc rc;
    size_t i;
    size_t nenv = 0;

    rc = sink_env_init(&r->env, environ, err);
    if (rc != INJ_OK)
        return rc;
    for (i = 0; i < r->set.nr; i++) {
        const struct resolved *v = &r->set.r[i];
        const struct entry *e = v->e;

        if (v->skipped)
            continue;
        if (e->kind == ENTRY_ENV) {
            rc = sink_env_set(&r->env, e->name, v->value.p, v->value.len, e->overwrite, err);
            nenv++;
        } else {
            rc = sink_file_stage(&r->files, e->name, e->mode, v->value.p, v->value.len, err);
        }
        if (rc != INJ_OK) {
            inj_err_prefix(err, "%s %s", e->kind == ENTRY_ENV ? "env" : "file", e->name);
            return rc;
        }
        log_info("%s %s <- %s (%zu bytes)", e->kind == ENTRY_ENV ? "env" : "file", e->name,
                 v->f->secret.arn, v->value.len);
    }
    rc = sink_files_commit(&r->files, err);
    if (rc != INJ_OK)
        return rc;
    log_info("%zu variable(s) and %zu file(s) in place", nenv, r->files.n);
    return INJ_OK;
}

static enum inj_rc main_run(struct run *r, struct inj_err *err)
{
    enum inj_rc rc;
    struct creds_ctx cctx;
    struct sm_ctx sctx;

    rc = config_load(r->cli.config, &r->cfg, err);
    if (rc != INJ_OK)
        return rc;
    if (r->cli.cmd == CLI_CHECK) {
        rc = resolve_plan(&r->cfg, &r->set, err);
        if (rc != INJ_OK)
            return rc;
        printf("%s: OK (%zu entries, %zu secret fetch%s)\n", r->cli.config, r->cfg.n, r->set.nf,
               r->set.nf == 1 ? "" : "es");
        return INJ_OK;
    }
    rc = http_new(&r->http, err);
    if (rc != INJ_OK)
        return rc;
    memset(&cctx, 0, sizeof(cctx));
    cctx.http = r->http;
    cctx.region = main_region(r);
    rc = creds_resolve(&cctx, &r->creds, err);
    if (rc != INJ_OK)
        return rc;
    log_debug("credentials from %s", r->creds.source);
    memset(&sctx, 0, sizeof(sctx));
    sctx.http = r->http;
    sctx.creds = &r->creds;
    sctx.region = main_region(r);
    if (r->cli.timeout_ms)
        sctx.deadline_ms = sm_now_ms() + r->cli.timeout_ms;
    rc = sm_retry_config(&sctx, err);
    if (rc != INJ_OK)
        return rc;
    rc = resolve_all(&r->cfg, &sctx, &r->set, err);
    log_debug("%zu API call(s), %ld connection(s)", r->set.api_calls, http_connects(r->http));
    if (rc != INJ_OK)
        return rc;
    if (r->cli.dry_run) {
        main_print_dry_run(&r->set);
        return INJ_OK;
    }
    rc = main_deliver(r, err);
    if (rc != INJ_OK) {
        sink_files_abort(&r->files);
        return rc;
    }
    /* The secrets are in env and files now; drop every other copy before exec. */
    resolve_free(&r->set);
    creds_free(&r->creds);
    http_free(r->http);
    r->http = NULL;
    main_unharden(r);
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

    memset(&r, 0, sizeof(r));
    memset(&err, 0, sizeof(err));
    main_harden(&r);
    rc = cli_parse(argc, argv, &r.cli, &err);
    main_log_level(&r.cli);
    if (rc != INJ_OK) {
        log_error("%s", err.msg);
        return inj_rc_exit(rc);
    }
    if (r.cli.cmd == CLI_HELP) {
        cli_usage(stdout);
        return 0;
    }
    /* No openssl.cnf: OPENSSL_CONF must not be able to change TLS policy under us. */
    (void)OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        log_error("cannot initialise libcurl");
        return inj_rc_exit(INJ_E_SOFTWARE);
    }
    jx_init();
    if (r.cli.cmd == CLI_VERSION) {
        rc = (enum inj_rc)main_version();
    } else {
        rc = main_run(&r, &err);
        if (rc != INJ_OK)
            log_error("%s", err.msg);
    }
    resolve_free(&r.set);
    sink_env_free(&r.env);
    sink_files_free(&r.files);
    creds_free(&r.creds);
    http_free(r.http);
    config_free(&r.cfg);
    curl_global_cleanup();
    return inj_rc_exit(rc);
}
