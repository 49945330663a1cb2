/* expand.h: an env entry with `expand: true`: every top-level key of a JSON secret becomes a
 * variable. The name rule and the checks on names (never values) live here. */
#ifndef INJ_EXPAND_H
#define INJ_EXPAND_H

#include <stddef.h>

#include "err.h"
#include "sbuf.h"

struct entry;

/* One variable of an expansion: its name (owned) and value (owned, wiped on free). */
struct expand_var {
    char *name;
    char *key; /* the secret's key it came from (owned; a key name, not a value) */
    struct sbuf value;
};

/* The name rule: prefix (as given) + the key upper-cased, each byte outside [A-Z0-9_] turned
 * into '_'; a name that then starts with a digit gets a leading '_'. Writes it into out (n
 * bytes); 0 when it does not fit or would be empty. */
int expand_name(const char *prefix, const char *key, char *out, size_t n);

/* Expands the JSON object json[0..len) as e asks (prefix, only, except) into *vars / *n
 * (owned: expand_vars_free), in the secret's key order. Values follow `key`'s rules (strings
 * raw, anything else as compact JSON). Refuses, naming every offender and never a value:
 * INJ_E_DATA when the secret is not a JSON object (or not JSON, or has a duplicate key or
 * an inexact number); INJ_E_MISSING when a key of `only` is not in it; INJ_E_CONFIG when
 * keys map to invalid or reserved names (reserved: unless e->allow_reserved) or several keys
 * to one name. `what` names the secret in messages. */
enum inj_rc expand_json(const struct entry *e, const char *what, const unsigned char *json,
                        size_t len, struct expand_var **vars, size_t *n, struct inj_err *err);

void expand_vars_free(struct expand_var *vars, size_t n);

#endif
