/* cli.h: the command line. */
#ifndef INJ_CLI_H
#define INJ_CLI_H

#include <stdio.h>

#include "err.h"
#include "ref.h"
#include "sm.h"

enum cli_cmd { CLI_RUN, CLI_CHECK, CLI_VERSION, CLI_HELP, CLI_POLICY, CLI_EXPORT, CLI_CONVERT };

struct cli {
    enum cli_cmd cmd;
    const char *config;     /* -c FILE; NULL: INJECTOR_CONFIG / INJECTOR_CONFIG_YAML (main.c) */
    int from_env;           /* --from-env: resolve variables holding secret references */
    int pristine;           /* --pristine: drop AWS credential and INJECTOR_* variables */
    const char *format;     /* export --format: shell, dotenv, json, github */
    int force;              /* export --force: print to a terminal too */
    int mask;               /* export --mask (github): ::add-mask:: on stdout, values to
                               the file $GITHUB_ENV names */
    const char *help_topic; /* `help TOPIC`: "config", or NULL */
    const char *region;     /* --region */
    struct ref_regions failover; /* --failover-regions: replaces the config's list */
    int has_failover;
    const char *account;   /* policy --account */
    const char *container; /* convert --container NAME: the ECS container to convert */
    const char *input;     /* convert FILE */
    int dry_run;
    long timeout_ms;          /* --timeout: overall deadline for fetching; 0: none */
    enum sm_fetch_mode fetch; /* --fetch; SM_FETCH_UNSET: not given (the config decides) */
    int verbosity;            /* -v count minus -q count */
    int supervise;            /* --supervise (also implied by --pgroup and --refresh) */
    int pgroup;               /* --pgroup: signals go to the command's process group */
    long long refresh_ms;     /* --refresh DURATION; 0: the config decides */
    const char *user;         /* --user USER[:GROUP]: the command runs as this user */
    int sidecar;              /* --sidecar: no command; keep the files fresh until SIGTERM */
    int ready;                /* check --ready: the sidecar's readiness probe */
    char **argv;              /* the command, NULL-terminated; NULL when none */
};

/* Parses argv (borrowed). INJ_E_USAGE with err set on a bad command line. */
enum inj_rc cli_parse(int argc, char **argv, struct cli *out, struct inj_err *err);

/* The --help text. */
void cli_usage(FILE *f);

#endif
