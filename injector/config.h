/* config.h: the YAML config (version 1): which secrets go into which env variables and files.
 * Parsing is strict: unknown keys, wrong types, duplicates, aliases and invalid names are
 * errors that carry file:line:column. */
#ifndef INJ_CONFIG_H
#define INJ_CONFIG_H

#include <stddef.h>

#include "err.h"
#include "ref.h"

#define CONFIG_MAX_BYTES (1024u * 1024u)

enum entry_kind { ENTRY_ENV, ENTRY_FILE };

struct entry {
    enum entry_kind kind;
    char *name;           /* env variable name, or absolute file path */
    struct ref ref;       /* secret id, json key, version stage / id */
    char *pointer;        /* RFC 6901 pointer, NULL: none (then ref.json_key or whole secret) */
    int optional;         /* missing secret or key: warn and skip */
    int overwrite;        /* env: replace an existing variable */
    int allow_reserved;   /* env: allow PATH, LD_* and other loader/shell variables */
    unsigned int mode;    /* files: permission bits, default 0400 */
    unsigned long line;   /* where the entry's name is, 1-based */
    unsigned long col;
};

struct config {
    int version;
    char *path;           /* as given, for messages */
    char *region;         /* NULL: not set */
    struct entry *entries;
    size_t n;
};

/* Reads and parses path. INJ_E_NOINPUT when it cannot be read, INJ_E_CONFIG when invalid. */
enum inj_rc config_load(const char *path, struct config *out, struct inj_err *err);

/* Parses buf[0..len) (name is used in messages). */
enum inj_rc config_parse(const char *name, const unsigned char *buf, size_t len,
                         struct config *out, struct inj_err *err);

void config_free(struct config *c);

/* 1 when name matches [A-Za-z_][A-Za-z0-9_]* (at most 255 bytes). */
int config_env_name_valid(const char *name);
/* 1 when a secret may not set name without allow_reserved (PATH, LD_*, ...). */
int config_env_name_reserved(const char *name);

#endif
