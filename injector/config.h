/* config.h: the YAML config (version 1): which secrets go into which env variables and files.
 * Parsing is strict: unknown keys, wrong types, duplicates, aliases and invalid names are
 * errors that carry file:line:column. */
#ifndef INJ_CONFIG_H
#define INJ_CONFIG_H

#include <stddef.h>

#include "err.h"
#include "ref.h"
#include "sm.h"

struct tmpl;

#define CONFIG_MAX_BYTES (1024u * 1024u)
#define CONFIG_MAX_DEPTH 32   /* mappings/sequences nested in each other */
#define CONFIG_PATH_MAX 1000u /* the largest max: of a path entry */

enum entry_kind { ENTRY_ENV, ENTRY_FILE };

struct entry {
    enum entry_kind kind;
    char *name;          /* env variable name, or absolute file path */
    struct ref ref;      /* secret id, json key, version stage / id */
    char *pointer;       /* RFC 6901 pointer, NULL: none (then ref.json_key or whole secret) */
    int optional;        /* missing secret or key: warn and skip */
    int overwrite;       /* env: replace an existing variable */
    int allow_reserved;  /* env: allow PATH, LD_* and other loader/shell variables */
    unsigned int mode;   /* files: permission bits, default 0400 */
    int allow_disk;      /* files: allow a filesystem other than tmpfs/ramfs */
    struct tmpl *tmpl;   /* template: compiled (tmpl.h), NULL: none. Without "from" the ref
                             above is the template's first `secret "ID"` */
    int encoding_base64; /* encoding: base64: the value is base64-encoded (binary into env) */
    struct ref_regions failover; /* failover_regions: replaces the config's; valid when
                                    has_failover (an empty list turns failover off) */
    int has_failover;
    size_t role;     /* 0: the base credentials; else cfg->roles[role - 1] (role: NAME, or
                            the entry's own role_arn) */
    char *role_name; /* as written (role: NAME or role_arn: ARN), for messages; NULL: none */
    unsigned long role_line; /* where role / role_arn is */
    unsigned long role_col;
    int role_inline; /* role_name is an inline role_arn */
    int expand;      /* env: expand: true: every top-level key of the JSON becomes a
                            variable (expand.h); name is then only the entry's label */
    char *prefix;    /* expand: prefix: put before each name, NULL: none */
    char **only;     /* expand: only: these keys (nonly of them), NULL: all */
    size_t nonly;
    char **except; /* expand: except: not these keys */
    size_t nexcept;
    int path;           /* env: path: true: every SSM parameter under the path `from` names
                      (ref.path; expand is then set too: the same names, prefix, only, except) */
    int recursive;      /* path: recursive: true: the whole tree below it */
    size_t max;         /* path: max: N (required): more parameters under it is an error */
    unsigned long line; /* where the entry's name is, 1-based */
    unsigned long col;
};

/* supervise: true, or a mapping of these (docs/supervise.md). config_parse fills in the
 * defaults, so the values are complete whether or not the key is there. */
struct config_supervise {
    int enabled;                  /* supervise mode asked for by the config */
    int pgroup;                   /* pgroup: signals go to the command's process group */
    long long refresh_ms;         /* refresh: DURATION; 0: no refresh */
    int on_change;                /* enum supervise_on_change: signal (default), restart, none */
    int on_change_signal;         /* on_change_signal: default SIGHUP */
    char **on_change_exec;        /* on_change_exec: [cmd, args...], NULL-terminated; NULL: none */
    long long restart_timeout_ms; /* restart_timeout: SIGTERM to SIGKILL; default 10 s */
    long long restart_delay_ms;   /* restart_delay: changes within it restart once; default 1 s */
    int refresh_signal;           /* refresh_signal: kept by injector, answered with a refresh
                                     now; 0 (default): none, every signal is forwarded */
    int on_change_given;          /* on_change was written (sidecar mode refuses signal/restart) */
};

/* sidecar: settings of --sidecar mode (docs/supervise.md). */
struct config_sidecar {
    char *ready_file; /* ready_file: absolute path; NULL: .injector-ready next to the first file */
};

/* A role to fetch entries with: roles: NAME: {role_arn, external_id, session_name, duration},
 * or an entry's own role_arn (one role per distinct ARN, named by it). */
struct config_role {
    char *name; /* the key under roles, or the ARN of an inline role */
    char *role_arn;
    char *external_id;  /* NULL: none */
    char *session_name; /* NULL: injector's default (policy/roles.c) */
    long duration_s;    /* 900 to 43200; 0: STS's default (1 h) */
    int is_inline;      /* from an entry's role_arn */
    unsigned long line;
};

struct config {
    int version;
    char *path;                  /* as given, for messages */
    char *region;                /* NULL: not set */
    enum sm_fetch_mode fetch;    /* fetch: auto|batch|single; SM_FETCH_UNSET: not given */
    long long timeout_ms;        /* timeout: the start deadline (--timeout); 0: not given */
    struct ref_regions failover; /* failover_regions: where replicas are read when a secret's
                                    region is down; entries may replace it */
    struct entry *entries;
    size_t n;
    int drop_aws_credentials; /* child_env: { drop_aws_credentials: true } (= --pristine) */
    struct config_supervise supervise;
    struct config_sidecar sidecar;
    int log_format;            /* log_format: text|json (enum log_format); 0: not given */
    struct config_role *roles; /* roles: and the entries' inline role_arn, in that order */
    size_t nroles;
};

/* Reads and parses path. INJ_E_NOINPUT when it cannot be read, INJ_E_CONFIG when invalid. */
enum inj_rc config_load(const char *path, struct config *out, struct inj_err *err);

/* Parses buf[0..len) (name is used in messages). */
enum inj_rc config_parse(const char *name, const unsigned char *buf, size_t len, struct config *out,
                         struct inj_err *err);

void config_free(struct config *c);

/* The failover regions of an entry: its own list, else the config's. */
const struct ref_regions *config_failover(const struct config *c, const struct entry *e);

/* The first region of l outside the partition of a full ARN that e reads (its `from` or a
 * template's `secret "ARN"`), that ARN's partition in *partition; NULL when all fit. */
const char *config_failover_misfit(const struct entry *e, const struct ref_regions *l,
                                   const char **partition);

/* The role an entry is fetched with, NULL: the base credentials. */
const struct config_role *config_role_of(const struct config *c, const struct entry *e);
/* 1 when s looks like an IAM role ARN (arn:PARTITION:iam::ACCOUNT:role/NAME). */
int config_role_arn_valid(const char *s);

/* 1 when name matches [A-Za-z_][A-Za-z0-9_]* (at most 255 bytes). */
int config_env_name_valid(const char *name);
/* 1 when a secret may not set name without allow_reserved (PATH, LD_*, ...). */
int config_env_name_reserved(const char *name);

#endif
