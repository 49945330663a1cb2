/* cli.c: command-line parsing (getopt_long, stops at the command or "--"). */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "parse.h"

void cli_usage(FILE *f)
{
    (void)fputs(
        "usage: injector [-c FILE] [options] [--] COMMAND [ARG...]\n"
        "       injector --sidecar [-c FILE] [options]\n"
        "       injector check [-c FILE] [--from-env] [--ready]\n"
        "       injector export [-c FILE] [--from-env] --format FORMAT [--force]\n"
        "                      [--mask]\n"
        "       injector policy -c FILE [--region REGION] [--account ID]\n"
        "                      [--failover-regions LIST]\n"
        "       injector convert [--container NAME] FILE\n"
        "       injector help [config]\n"
        "       injector version\n"
        "\n"
        "Fetches the secrets named in FILE from AWS Secrets Manager (and SSM Parameter\n"
        "Store parameters: ssm:NAME; every parameter under a path, or every secret\n"
        "with a name prefix or tags, with path: true),\n"
        "puts them into environment variables and files, then executes COMMAND in its\n"
        "place.\n"
        "Without -c: INJECTOR_CONFIG (a path), else INJECTOR_CONFIG_YAML (the YAML).\n"
        "`export` prints the env entries for a shell, a .env file, JSON or $GITHUB_ENV.\n"
        "`check -v` also prints the endpoints a run would reach.\n"
        "`convert` prints the config equivalent to an ECS task definition's secrets (and\n"
        "the entryPoint to use) or a CodeBuild buildspec's env.secrets-manager and\n"
        "env.parameter-store.\n"
        "\n"
        "options:\n"
        "  -c, --config FILE   config file (YAML, version 1; see: injector help config)\n"
        "      --from-env      also replace variables whose value is a secret reference\n"
        "                      (arn:aws:secretsmanager:... or sm://NAME#KEY) or an SSM\n"
        "                      parameter (arn:aws:ssm:...:parameter/NAME or ssm:NAME,\n"
        "                      each with :VERSION or :LABEL); -c optional\n"
        "      --pristine      COMMAND does not inherit AWS credential variables\n"
        "                      (AWS_ACCESS_KEY_ID, AWS_CONTAINER_*, ...) or INJECTOR_*\n"
        "      --region REGION AWS region for secret names (default: config, AWS_REGION,\n"
        "                      AWS_DEFAULT_REGION; a full ARN's own region always wins)\n"
        "      --failover-regions LIST  regions holding replicas of the secrets\n"
        "                      (eu-west-1,us-east-1): read there, in order, when a secret's\n"
        "                      region is unreachable, times out or answers 5xx; replaces\n"
        "                      the config's failover_regions (entries' own lists win)\n"
        "      --account ID    policy: the account of secret names and partial ARNs\n"
        "                      (default: *, any account)\n"
        "      --dry-run       fetch everything, check every target as the real run\n"
        "                      would, print what would be set (names, ARNs, versions,\n"
        "                      byte lengths; never values); write and run nothing\n"
        "      --timeout SECS  the start deadline: give up after SECS seconds, credentials\n"
        "                      and every fetch included; throttled calls are retried\n"
        "                      until it (default: the config's timeout, else 60; 10 s\n"
        "                      per request)\n"
        "      --fetch MODE    auto (default: BatchGetSecretValue for 2+ secrets, falling\n"
        "                      back to GetSecretValue when denied or throttled), batch or\n"
        "                      single (GetSecretValue only); overrides the config's fetch:\n"
        "      --container NAME  convert: the ECS container whose secrets to convert\n"
        "                      (default: the only one that has secrets)\n"
        "      --format FORMAT export: shell, dotenv, json or github\n"
        "      --force         export: print even when stdout is a terminal\n"
        "      --mask          export --format github: print ::add-mask::LINE for every\n"
        "                      line of every value on stdout (the runner masks them in\n"
        "                      the log) and append the variables to the file $GITHUB_ENV\n"
        "                      names (no redirect needed)\n"
        "      --supervise     stay as COMMAND's parent, as tini does: forward signals,\n"
        "                      reap zombies, exit with its status (docs/supervise.md)\n"
        "      --pgroup        --supervise, with signals to COMMAND's process group\n"
        "      --refresh DURATION  --supervise, re-checking the secrets every\n"
        "                      DURATION (50ms, 30s, 5m, 1h30m; +-10% jitter); a change\n"
        "                      rewrites files, then supervise.on_change (config) runs\n"
        "      --user USER[:GROUP]  run COMMAND as USER (/etc/passwd name or uid; no\n"
        "                      NSS); files become USER's, injector keeps root for them\n"
        "      --sidecar       no COMMAND: write the files entries (env entries are an\n"
        "                      error), keep them fresh (supervise: settings), write a\n"
        "                      ready file once all are in place, exit 0 on SIGTERM\n"
        "      --ready         check: the sidecar's readiness probe: exit 0 when its\n"
        "                      ready file and every files entry (with its mode) exist\n"
        "  -v, --verbose       more messages on stderr (repeat for debug)\n"
        "  -q, --quiet         errors only\n"
        "  -h, --help          this text\n"
        "  -V, --version       print the version\n"
        "\n"
        "environment:\n"
        "  credentials: the first source that has them wins; a source that is set up\n"
        "  but fails stops the search (docs/credentials.md):\n"
        "  1 AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,     static keys\n"
        "    AWS_SESSION_TOKEN, AWS_CREDENTIAL_EXPIRATION\n"
        "  2 AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN,\n"
        "    AWS_ROLE_SESSION_NAME                        web identity via STS (EKS IRSA)\n"
        "  3 AWS_PROFILE (AWS_DEFAULT_PROFILE), AWS_SHARED_CREDENTIALS_FILE,\n"
        "    AWS_CONFIG_FILE, HOME                        profile: keys, role_arn,\n"
        "                                                 credential_process (no SSO)\n"
        "    INJECTOR_CREDENTIAL_PROCESS_TIMEOUT          its limit in s (default 60)\n"
        "  4 AWS_CONTAINER_CREDENTIALS_RELATIVE_URI,\n"
        "    AWS_CONTAINER_CREDENTIALS_FULL_URI,          container: ECS, CodeBuild,\n"
        "    AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE]     EKS Pod Identity\n"
        "  5 AWS_EC2_METADATA_DISABLED,\n"
        "    AWS_EC2_METADATA_SERVICE_ENDPOINT[_MODE],    EC2 instance metadata, IMDSv2\n"
        "    AWS_METADATA_SERVICE_TIMEOUT,                only (1 s timeout, 2 attempts)\n"
        "    AWS_METADATA_SERVICE_NUM_ATTEMPTS\n"
        "  AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL         STS endpoint (https only)\n"
        "  AWS_IGNORE_CONFIGURED_ENDPOINT_URLS            true: ignore AWS_ENDPOINT_URL*\n"
        "  AWS_REGION, AWS_DEFAULT_REGION                 region, after --region and the\n"
        "                                                 config; then the profile's\n"
        "                                                 region, then IMDS placement\n"
        "  AWS_ENDPOINT_URL_SECRETS_MANAGER, AWS_ENDPOINT_URL  endpoint (https only)\n"
        "  AWS_ENDPOINT_URL_SSM                           SSM Parameter Store endpoint\n"
        "  AWS_USE_FIPS_ENDPOINT, AWS_USE_DUALSTACK_ENDPOINT  true: FIPS / dual-stack\n"
        "                                                 endpoints, as the SDKs (or the\n"
        "                                                 profile's use_fips_endpoint,\n"
        "                                                 use_dualstack_endpoint); an\n"
        "                                                 endpoint URL still wins\n"
        "  AWS_CA_BUNDLE, SSL_CERT_FILE                   CA bundle for TLS\n"
        "  SSL_CERT_DIR                                   hashed CA directory (default:\n"
        "                                                 /etc/ssl/certs when hashed)\n"
        "  AWS_MAX_ATTEMPTS, AWS_RETRY_MODE               retries (standard: 3 attempts;\n"
        "                                                 throttles: until the deadline)\n"
        "  HTTPS_PROXY, NO_PROXY                          proxy\n"
        "  INJECTOR_LOG_LEVEL                             quiet|error|warn|info|debug\n"
        "  INJECTOR_LOG_FORMAT                            text (default) or json: one\n"
        "                                                 JSON object a line (beats the\n"
        "                                                 config's log_format)\n"
        "  INJECTOR_CONFIG, INJECTOR_CONFIG_YAML          config when -c is not given\n"
        "\n"
        "exit codes: 0 ok, 64 usage, 65 bad or missing data, 66 config not found,\n"
        "  69 service unavailable/network/TLS, 70 internal, 71 out of memory, 74 file I/O,\n"
        "  75 throttled/timed out, 77 access denied/bad credentials, 78 invalid config,\n"
        "  126 command not executable, 127 command not found; otherwise the command's own.\n",
        f);
}

enum inj_rc cli_parse(int argc, char **argv, struct cli *out, struct inj_err *err)
{
    enum {
        OPT_REGION = 256,
        OPT_DRY_RUN,
        OPT_TIMEOUT,
        OPT_ACCOUNT,
        OPT_FROM_ENV,
        OPT_PRISTINE,
        OPT_FORMAT,
        OPT_FORCE,
        OPT_MASK,
        OPT_FETCH,
        OPT_SUPERVISE,
        OPT_PGROUP,
        OPT_REFRESH,
        OPT_USER,
        OPT_FAILOVER,
        OPT_SIDECAR,
        OPT_READY,
        OPT_CONTAINER
    };
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"region", required_argument, NULL, OPT_REGION},
        {"failover-regions", required_argument, NULL, OPT_FAILOVER},
        {"account", required_argument, NULL, OPT_ACCOUNT},
        {"dry-run", no_argument, NULL, OPT_DRY_RUN},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"from-env", no_argument, NULL, OPT_FROM_ENV},
        {"pristine", no_argument, NULL, OPT_PRISTINE},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"force", no_argument, NULL, OPT_FORCE},
        {"mask", no_argument, NULL, OPT_MASK},
        {"fetch", required_argument, NULL, OPT_FETCH},
        {"supervise", no_argument, NULL, OPT_SUPERVISE},
        {"pgroup", no_argument, NULL, OPT_PGROUP},
        {"refresh", required_argument, NULL, OPT_REFRESH},
        {"user", required_argument, NULL, OPT_USER},
        {"sidecar", no_argument, NULL, OPT_SIDECAR},
        {"ready", no_argument, NULL, OPT_READY},
        {"container", required_argument, NULL, OPT_CONTAINER},
        {"verbose", no_argument, NULL, 'v'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int c;

    memset(out, 0, sizeof(*out));
    out->cmd = CLI_RUN;
    if (argc > 1 && (!strcmp(argv[1], "check") || !strcmp(argv[1], "export"))) {
        out->cmd = !strcmp(argv[1], "check") ? CLI_CHECK : CLI_EXPORT;
        argv++;
        argc--;
    } else if (argc > 1 && !strcmp(argv[1], "convert")) {
        out->cmd = CLI_CONVERT;
        argv++;
        argc--;
    } else if (argc > 1 && !strcmp(argv[1], "policy")) {
        out->cmd = CLI_POLICY;
        argv++;
        argc--;
    } else if (argc > 1 && !strcmp(argv[1], "version")) {
        out->cmd = CLI_VERSION;
        return argc > 2 ? inj_err_set(err, INJ_E_USAGE, "version takes no arguments") : INJ_OK;
    } else if (argc > 1 && !strcmp(argv[1], "help")) {
        out->cmd = CLI_HELP;
        if (argc > 3 || (argc == 3 && strcmp(argv[2], "config") != 0))
            return inj_err_set(err, INJ_E_USAGE, "help topics: config (injector help config)");
        out->help_topic = argc == 3 ? argv[2] : NULL;
        return INJ_OK;
    }
    opterr = 0;
    /* 0, not 1: a full reset (glibc and musl), or a cluster left half-read by an earlier call
     * ("-hv" stops at h) would be carried into this one. */
    optind = 0;
    /* '+': stop at the first non-option, so the command's own options are left alone. */
    while ((c = getopt_long(argc, argv, "+:c:vqhV", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            out->config = optarg;
            break;
        case OPT_REGION:
            out->region = optarg;
            break;
        case OPT_FAILOVER:
            if (ref_regions_parse(optarg, &out->failover, err) != INJ_OK)
                return INJ_E_USAGE;
            out->has_failover = 1;
            break;
        case OPT_ACCOUNT:
            out->account = optarg;
            break;
        case OPT_DRY_RUN:
            out->dry_run = 1;
            break;
        case OPT_FROM_ENV:
            out->from_env = 1;
            break;
        case OPT_PRISTINE:
            out->pristine = 1;
            break;
        case OPT_FORMAT:
            if (export_format_parse(optarg) < 0)
                return inj_err_set(err, INJ_E_USAGE,
                                   "--format %s: expected shell, dotenv, json or github", optarg);
            out->format = optarg;
            break;
        case OPT_FORCE:
            out->force = 1;
            break;
        case OPT_MASK:
            out->mask = 1;
            break;
        case OPT_FETCH:
            out->fetch = sm_fetch_mode_parse(optarg);
            if (out->fetch == SM_FETCH_UNSET)
                return inj_err_set(err, INJ_E_USAGE, "--fetch %s: expected auto, batch or single",
                                   optarg);
            break;
        case OPT_TIMEOUT: {
            char *end = NULL;
            double secs;
            errno = 0;
            secs = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(secs > 0.0) || secs > 3600.0)
                return inj_err_set(err, INJ_E_USAGE,
                                   "--timeout %s: expected seconds, more than 0 and at most 3600",
                                   optarg);
            out->timeout_ms = (long)(secs * 1000.0);
            if (out->timeout_ms < 1)
                out->timeout_ms = 1;
            break;
        }
        case OPT_SUPERVISE:
            out->supervise = 1;
            break;
        case OPT_PGROUP:
            out->supervise = 1;
            out->pgroup = 1;
            break;
        case OPT_REFRESH:
            if (parse_duration(optarg, &out->refresh_ms) != 0 || out->refresh_ms < 1)
                return inj_err_set(err, INJ_E_USAGE,
                                   "--refresh %s: expected a duration like 50ms, 30s, 5m or "
                                   "1h30m, more than 0 and at most 30d",
                                   optarg);
            out->supervise = 1;
            break;
        case OPT_USER:
            out->user = optarg;
            break;
        case OPT_SIDECAR:
            out->sidecar = 1;
            break;
        case OPT_READY:
            out->ready = 1;
            break;
        case OPT_CONTAINER:
            out->container = optarg;
            break;
        case 'v':
            out->verbosity++;
            break;
        case 'q':
            out->verbosity--;
            break;
        case 'h':
            out->cmd = CLI_HELP;
            return INJ_OK;
        case 'V':
            out->cmd = CLI_VERSION;
            return INJ_OK;
        case ':':
            return inj_err_set(err, INJ_E_USAGE, "option %s needs an argument", argv[optind - 1]);
        case '?':
        default:
            /* In a cluster ("-xv") optind may not have moved on yet: name the letter. */
            if (optopt > 0 && optopt < 128 && strncmp(argv[optind - 1], "--", 2) != 0)
                return inj_err_set(err, INJ_E_USAGE, "unknown option -%c (see injector --help)",
                                   optopt);
            return inj_err_set(err, INJ_E_USAGE, "unknown option %s (see injector --help)",
                               argv[optind - 1]);
        }
    }
    if (optind < argc)
        out->argv = &argv[optind];
    if (out->ready && out->cmd != CLI_CHECK)
        return inj_err_set(err, INJ_E_USAGE,
                           "--ready is an option of injector check (the sidecar's probe)");
    if (out->sidecar) {
        if (out->cmd != CLI_RUN)
            return inj_err_set(err, INJ_E_USAGE,
                               "--sidecar is a way to run, not an option of "
                               "check, export or policy");
        if (out->argv)
            return inj_err_set(err, INJ_E_USAGE,
                               "--sidecar runs no command; drop %s (or drop --sidecar)",
                               out->argv[0]);
        if (out->pgroup || out->dry_run || out->from_env || out->pristine)
            return inj_err_set(err, INJ_E_USAGE,
                               "--sidecar writes files only: no --pgroup, --dry-run, --from-env "
                               "or --pristine");
        return INJ_OK;
    }
    if ((out->supervise || out->user) && (out->cmd != CLI_RUN || out->dry_run))
        return inj_err_set(err, INJ_E_USAGE,
                           "--supervise, --pgroup, --refresh and --user go with a command to run");
    /* No -c is fine here: main.c falls back to INJECTOR_CONFIG, INJECTOR_CONFIG_YAML or
     * --from-env alone. */
    if ((out->format || out->force) && out->cmd != CLI_EXPORT)
        return inj_err_set(err, INJ_E_USAGE, "--format and --force belong to injector export");
    if (out->mask && out->cmd != CLI_EXPORT)
        return inj_err_set(err, INJ_E_USAGE, "--mask belongs to injector export");
    if (out->cmd == CLI_EXPORT) {
        if (out->argv)
            return inj_err_set(err, INJ_E_USAGE, "export takes no command");
        if (!out->format)
            return inj_err_set(err, INJ_E_USAGE,
                               "export needs --format shell, dotenv, json or github");
        if (out->dry_run || out->pristine)
            return inj_err_set(err, INJ_E_USAGE, "export takes neither --dry-run nor --pristine");
        if (out->mask && strcmp(out->format, "github") != 0)
            return inj_err_set(err, INJ_E_USAGE,
                               "--mask goes with --format github (GitHub Actions' ::add-mask::)");
        return INJ_OK;
    }
    if (out->container && out->cmd != CLI_CONVERT)
        return inj_err_set(err, INJ_E_USAGE, "--container is an option of injector convert");
    if (out->cmd == CLI_CONVERT) {
        if (!out->argv || out->argv[1] || out->config || out->dry_run || out->from_env ||
            out->pristine || out->has_failover || out->region || out->fetch != SM_FETCH_UNSET ||
            out->timeout_ms)
            return inj_err_set(err, INJ_E_USAGE,
                               "usage: injector convert [--container NAME] FILE (an ECS task "
                               "definition or a CodeBuild buildspec; no other option)");
        out->input = out->argv[0];
        out->argv = NULL;
        return INJ_OK;
    }
    if (out->account && out->cmd != CLI_POLICY)
        return inj_err_set(err, INJ_E_USAGE, "--account is an option of injector policy");
    if (out->cmd == CLI_POLICY) {
        if (out->argv || out->dry_run)
            return inj_err_set(err, INJ_E_USAGE, "policy takes no command and no --dry-run");
        return INJ_OK;
    }
    if (out->cmd == CLI_CHECK) {
        if (out->argv)
            return inj_err_set(err, INJ_E_USAGE, "check takes no command");
        if (out->ready && out->from_env)
            return inj_err_set(err, INJ_E_USAGE,
                               "check --ready looks at a sidecar's files; --from-env sets "
                               "variables");
        return INJ_OK;
    }
    if (!out->argv && !out->dry_run)
        return inj_err_set(err, INJ_E_USAGE,
                           "no command to run: injector -c FILE -- COMMAND [ARG...]");
    if (out->argv && out->dry_run)
        return inj_err_set(err, INJ_E_USAGE, "--dry-run runs no command; drop the command");
    return INJ_OK;
}
