/* ref.h: secret references: a name, a full or partial ARN, and the ECS/CodeBuild compact
 * forms "ARN[:json-key[:version-stage[:version-id]]]" / "id:json-key:version-stage:version-id";
 * and SSM Parameter Store parameters: "arn:PARTITION:ssm:REGION:ACCOUNT:parameter/NAME" or
 * "ssm:NAME", either followed by an optional selector ":VERSION" or ":LABEL". */
#ifndef INJ_REF_H
#define INJ_REF_H

#include <stddef.h>

#include "err.h"

/* Which service holds what a reference names. */
enum ref_service { REF_SM = 0, REF_SSM };

/* A tag filter of a Secrets Manager read by name prefix or tags (config `tags:`). */
struct ref_tag {
    char *key;   /* owned */
    char *value; /* owned */
};

/* BatchGetSecretValue takes at most 10 Filters: the name prefix and a tag-key and a tag-value
 * filter per tag. */
#define REF_MAX_TAGS 4

struct ref {
    enum ref_service service;
    char *secret_id;     /* name, full ARN or partial ARN; owned. SSM: the parameter's name
                            ("/prod/db/pw", "flat") or its full ARN, without the selector */
    char *selector;      /* SSM only: the version ("3") or label after the name; NULL: latest */
    char *json_key;      /* NULL: none */
    char *version_stage; /* NULL: AWSCURRENT (the service default) */
    char *version_id;    /* NULL: none */
    char region[32];     /* from a full ARN (or set by ref_replica), "" otherwise */
    char partition[16];  /* from a full ARN, "" otherwise */
    char account[16];    /* from a full ARN, "" otherwise */
    int is_arn;
    /* Set by the config (`path: true`). SSM: secret_id is a path, read with
     * GetParametersByPath (ssm.h), every parameter under it at most path_max of them. Secrets
     * Manager: secret_id is a name prefix ("" with tags alone), read with BatchGetSecretValue
     * Filters (sm.h), every secret whose name starts with it and that carries tags. */
    int path;
    int recursive; /* SSM path: the whole tree below it, not only its direct children */
    size_t path_max;
    struct ref_tag *tags; /* Secrets Manager path: tags[0..ntags) (owned); NULL: none */
    size_t ntags;
};

/* Parses s (the compact form; a plain id is the degenerate case) into *out (owned; ref_free).
 * "ssm:NAME[:SELECTOR]" and "arn:...:ssm:...:parameter/NAME[:SELECTOR]" are SSM parameters
 * (service REF_SSM; no json key, stage or version id: `key`/`pointer` apply to the value).
 * "ssm:" is unambiguous: a Secrets Manager name cannot hold ':', so "ssm:x" could only have
 * meant the secret "ssm" with the JSON key "x", which the mapping form still reaches
 * ({from: ssm, key: x}). On failure err says what is wrong with s (the caller prefixes the
 * entry name). */
enum inj_rc ref_parse(const char *s, struct ref *out, struct inj_err *err);
void ref_free(struct ref *r);

/* Validators shared with the config parser; each returns 1 when valid. */
int ref_valid_name(const char *s);
int ref_valid_stage(const char *s);
int ref_valid_version_id(const char *s);
int ref_valid_region(const char *s);
/* An SSM parameter name as SSM takes it: NULL when valid, else what is wrong ("has 16 levels
 * (at most 15)", ...). 1-2048 characters of a-zA-Z0-9_.-/, a hierarchical name starts with
 * '/' and has at most 15 levels, no name starts with aws or ssm (any case) except SSM's own
 * /aws/reference/secretsmanager/SECRET and /aws/service/... public parameters. */
const char *ref_ssm_name_why(const char *s);
/* An SSM selector: a version (1-19 digits, not 0) or a label (1-100 of a-zA-Z0-9_.-, not
 * starting with a digit, aws or ssm). NULL when valid, else what is wrong. */
const char *ref_ssm_selector_why(const char *s);
/* What GetParameters is sent for r: its name or ARN, then ":SELECTOR" when it has one. out
 * is malloc'd (NULL: no memory). */
char *ref_ssm_wire(const struct ref *r);

/* The partition a region belongs to: "aws", "aws-cn", "aws-us-gov", ... */
const char *ref_region_partition(const char *region);
/* The DNS suffix of a region's endpoints: "amazonaws.com", "amazonaws.com.cn", ... */
const char *ref_region_dns_suffix(const char *region);
/* Its dual-stack endpoints' suffix ("api.aws", ...), NULL when the partition has none. */
const char *ref_region_dualstack_suffix(const char *region);

/* Endpoint variants, as the SDKs' AWS_USE_FIPS_ENDPOINT and AWS_USE_DUALSTACK_ENDPOINT. */
struct ref_endpoint_opts {
    int fips;
    int dualstack;
};

/* The host (no scheme) of service host_prefix ("secretsmanager", "ssm", "sts") in region
 * with the variants in o (NULL: none), as botocore's endpoint rule sets give it:
 * PREFIX[-fips].REGION.<suffix or dual-stack suffix>, except that SSM's and STS's FIPS
 * endpoints in aws-us-gov are their plain hosts. INJ_E_USAGE when the partition has no
 * such endpoint (dual-stack in aws-iso, aws-iso-b). */
enum inj_rc ref_endpoint_host(const char *host_prefix, const char *region,
                              const struct ref_endpoint_opts *o, char *buf, size_t n,
                              struct inj_err *err);

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

/* 1 when two references name the same fetch (same service, secret id, stage and version id,
 * or SSM selector; a path with its recursive, max and tags, in order). */
int ref_same_fetch(const struct ref *a, const struct ref *b);

/* What identifies a's fetch as one string (malloc'd; NULL: out of memory): two references
 * have equal keys exactly when ref_same_fetch says they are the same fetch, so a hash of the
 * key can stand for the comparison (resolve.c's dedup). Holds no value, only the id. */
char *ref_fetch_key(const struct ref *a);

#endif
