/* cli.c: command-line parsing (getopt_long, stops at the command or "--"). */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

void cli_usage(FILE *f)
{
    fputs("usage: injector [-c FILE] [options] [--] COMMAND [ARG...]\n"
          "       injector check -c FILE\n"
          "       injector version\n"
          "\n"
          "Fetches the secrets named in FILE from AWS Secrets Manager, puts them into\n"
          "environment variables and files, then executes COMMAND in its place.\n"
          "\n"
          "options:\n"
          "  -c, --config FILE   config file (YAML, version 1)\n"
          "      --region REGION AWS region for secret names (default: config, AWS_REGION,\n"
          "                      AWS_DEFAULT_REGION; a full ARN's own region always wins)\n"
          "      --dry-run       fetch everything and print what would be set (names, ARNs,\n"
          "                      versions, byte lengths; never values), then exit\n"
          "      --timeout SECS  give up fetching after SECS seconds (whole run, retries\n"
          "                      included; default: no overall limit, 10 s per request)\n"
          "  -v, --verbose       more messages on stderr (repeat for debug)\n"
          "  -q, --quiet         errors only\n"
          "  -h, --help          this text\n"
          "  -V, --version       print the version\n"
          "\n"
          "environment:\n"
          "  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN  credentials\n"
          "  AWS_REGION, AWS_DEFAULT_REGION                 region\n"
          "  AWS_ENDPOINT_URL_SECRETS_MANAGER, AWS_ENDPOINT_URL  endpoint (https only)\n"
          "  AWS_CA_BUNDLE, SSL_CERT_FILE                   CA bundle for TLS\n"
          "  AWS_MAX_ATTEMPTS, AWS_RETRY_MODE               retries (standard: 3 attempts)\n"
          "  HTTPS_PROXY, NO_PROXY                          proxy\n"
          "  INJECTOR_LOG_LEVEL                             quiet|error|warn|info|debug\n"
          "\n"
          "exit codes: 0 ok, 64 usage, 65 bad or missing data, 66 config not found,\n"
          "  69 service unavailable/network/TLS, 70 internal, 71 out of memory, 74 file I/O,\n"
          "  75 throttled/timed out, 77 access denied/bad credentials, 78 invalid config,\n"
          "  126 command not executable, 127 command not found; otherwise the command's own.\n",
          f);
}

enum inj_rc cli_parse(int argc, char **argv, struct cli *out, struct inj_err *err)
{
    enum { OPT_REGION = 256, OPT_DRY_RUN, OPT_TIMEOUT };
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"region", required_argument, NULL, OPT_REGION},
        {"dry-run", no_argument, NULL, OPT_DRY_RUN},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"verbose", no_argument, NULL, 'v'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int c;

    memset(out, 0, sizeof(*out));
    out->cmd = CLI_RUN;
    if (argc > 1 && !strcmp(argv[1], "check")) {
        out->cmd = CLI_CHECK;
        argv++;
        argc--;
    } else if (argc > 1 && !strcmp(argv[1], "version")) {
        out->cmd = CLI_VERSION;
        return argc > 2 ? inj_err_set(err, INJ_E_USAGE, "version takes no arguments") : INJ_OK;
    } else if (argc > 1 && !strcmp(argv[1], "help")) {
        out->cmd = CLI_HELP;
        return INJ_OK;
    }
    opterr = 0;
    optind = 1;
    /* '+': stop at the first non-option, so the command's own options are left alone. */
    while ((c = getopt_long(argc, argv, "+:c:vqhV", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            out->config = optarg;
            break;
        case OPT_REGION:
            out->region = optarg;
            break;
        case OPT_DRY_RUN:
            out->dry_run = 1;
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
            return inj_err_set(err, INJ_E_USAGE, "option %s needs an argument",
                               argv[optind - 1]);
        case '?':
        default:
            return inj_err_set(err, INJ_E_USAGE, "unknown option %s (see injector --help)",
                               argv[optind - 1]);
        }
    }
    if (optind < argc)
        out->argv = &argv[optind];
    if (!out->config)
        return inj_err_set(err, INJ_E_USAGE, "no config: give -c FILE (see injector --help)");
    if (out->cmd == CLI_CHECK) {
        if (out->argv)
            return inj_err_set(err, INJ_E_USAGE, "check takes no command");
        return INJ_OK;
    }
    if (!out->argv && !out->dry_run)
        return inj_err_set(err, INJ_E_USAGE,
                           "no command to run: injector -c FILE -- COMMAND [ARG...]");
    if (out->argv && out->dry_run)
        return inj_err_set(err, INJ_E_USAGE, "--dry-run runs no command; drop the command");
    return INJ_OK;
}
