/* ref.h: secret references: a name, a full or partial ARN, and the ECS/CodeBuild compact
 * forms "ARN[:json-key[:version-stage[:version-id]]]" / "id:json-key:version-stage:version-id". */
#ifndef INJ_REF_H
#define INJ_REF_H

#include "err.h"

struct ref {
    char *secret_id;     /* name, full ARN or partial ARN; owned */
    char *json_key;      /* NULL: none */
    char *version_stage; /* NULL: AWSCURRENT (the service default) */
    char *version_id;    /* NULL: none */
    char region[32];     /* from a full ARN, "" otherwise */
    char partition[16];  /* from a full ARN, "" otherwise */
    char account[16];    /* from a full ARN, "" otherwise */
    int is_arn;
};

/* Parses s (the compact form; a plain id is the degenerate case) into *out (owned; ref_free).
 * On failure err says what is wrong with s (the caller prefixes the entry name). */
enum inj_rc ref_parse(const char *s, struct ref *out, struct inj_err *err);
void ref_free(struct ref *r);

/* Validators shared with the config parser; each returns 1 when valid. */
int ref_valid_name(const char *s);
int ref_valid_stage(const char *s);
int ref_valid_version_id(const char *s);
int ref_valid_region(const char *s);

/* The partition a region belongs to: "aws", "aws-cn", "aws-us-gov", ... */
const char *ref_region_partition(const char *region);

/* 1 when two references name the same fetch (same secret id, stage and version id). */
int ref_same_fetch(const struct ref *a, const struct ref *b);

#endif
