/* ref.h: secret references: a name, a full or partial ARN, and the ECS/CodeBuild compact
 * forms "ARN[:json-key[:version-stage[:version-id]]]" / "id:json-key:version-stage:version-id". */
#ifndef INJ_REF_H
#define INJ_REF_H

#include <stddef.h>

#include "err.h"

struct ref {
    char *secret_id;     /* name, full ARN or partial ARN; owned */
    char *json_key;      /* NULL: none */
    char *version_stage; /* NULL: AWSCURRENT (the service default) */
    char *version_id;    /* NULL: none */
    char region[32];     /* from a full ARN (or set by ref_replica), "" otherwise */
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
/* The DNS suffix of a region's endpoints: "amazonaws.com", "amazonaws.com.cn", ... */
const char *ref_region_dns_suffix(const char *region);

/* Regions that hold replicas of a secret (failover_regions), in the order they are tried. */
#define REF_MAX_FAILOVER 4
struct ref_regions {
    char v[REF_MAX_FAILOVER][32];
    size_t n;
};

/* Adds region unless present; -1 when the list is full. */
int ref_regions_add(struct ref_regions *l, const char *region);
/* Why region cannot join l ("is listed twice", ...), or NULL when it can. */
const char *ref_regions_why(const struct ref_regions *l, const char *region);
/* Parses "eu-west-1,us-east-1" (--failover-regions) into *out: valid, distinct regions, at
 * most REF_MAX_FAILOVER; "" is the empty list. */
enum inj_rc ref_regions_parse(const char *list, struct ref_regions *out, struct inj_err *err);

/* Why a secret in region primary has no replica to read in region, or NULL when it may:
 * "own" (region is primary itself) or "partition" (another partition). NULL primary: NULL. */
const char *ref_replica_skip(const char *primary, const char *region);

/* The same secret in another region, for reading its replica there: a full or partial ARN
 * gets region in place of its own; a name keeps its id and carries region (sm_region_for
 * uses it). out is owned (ref_free). */
enum inj_rc ref_replica(const struct ref *src, const char *region, struct ref *out,
                        struct inj_err *err);

/* 1 when two references name the same fetch (same secret id, stage and version id). */
int ref_same_fetch(const struct ref *a, const struct ref *b);

/* What identifies a's fetch as one string (malloc'd; NULL: out of memory): two references
 * have equal keys exactly when ref_same_fetch says they are the same fetch, so a hash of the
 * key can stand for the comparison (resolve.c's dedup). Holds no value, only the id. */
char *ref_fetch_key(const struct ref *a);

#endif
