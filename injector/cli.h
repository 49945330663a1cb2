/* cli.h: the command line. */
#ifndef INJ_CLI_H
#define INJ_CLI_H

#include <stdio.h>

#include "err.h"

enum cli_cmd { CLI_RUN, CLI_CHECK, CLI_VERSION, CLI_HELP };

struct cli {
    enum cli_cmd cmd;
    const char *config;   /* -c FILE */
    const char *region;   /* --region */
    int dry_run;
    long timeout_ms;      /* --timeout: overall deadline for fetching; 0: none */
    int verbosity;        /* -v count minus -q count */
    char **argv;          /* the command, NULL-terminated; NULL when none */
};

/* Parses argv (borrowed). INJ_E_USAGE with err set on a bad command line. */
enum inj_rc cli_parse(int argc, char **argv, struct cli *out, struct inj_err *err);

/* The --help text. */
void cli_usage(FILE *f);

#endif
