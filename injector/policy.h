/* policy.h: `injector policy`: the least-privilege IAM policy a config needs, worked out
 * offline (no network, no credentials) and printed as deterministic JSON. */
#ifndef INJ_POLICY_H
#define INJ_POLICY_H

#include "config.h"
#include "err.h"
#include "sm.h"

struct policy_opts {
    const char *region;       /* region for names and partial ARNs; NULL: none known */
    const char *account;      /* account for names and partial ARNs; NULL: "*" (any account) */
    enum sm_fetch_mode fetch; /* --fetch; SM_FETCH_UNSET: the config's fetch:, else auto */
};

/* The policy for every secret cfg reads (entries and the secrets their templates name), as
 * JSON text laid out like Python's json.dumps(indent=2) plus a newline; *out is owned by the
 * caller (free). Statements: secretsmanager:GetSecretValue on exactly those secrets (a full
 * ARN as written; a name or partial ARN as
 * arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME-??????), and their replicas in
 * each of the entry's failover regions;
 * secretsmanager:BatchGetSecretValue on "*" when fetch.c would call it (auto: two or more
 * AWSCURRENT secrets in one region; batch: any AWSCURRENT secret; single: never). The action
 * has no resource type, and each secret in a batch is still checked against GetSecretValue;
 * kms:Decrypt on the secrets' regions' keys, only via Secrets Manager
 * (kms:ViaService).
 * With per-entry roles (config roles:, role_arn) the output is {"BaseCredentials": the
 * policy of the base credentials (their own entries', plus sts:AssumeRole on every role an
 * entry uses), "Roles": {NAME: {"RoleArn": ARN, "Policy": the policy of that role's
 * entries, names and partial ARNs in the role's account}}}. INJ_E_USAGE when a name needs a region and none is known, or the account
 * is not 12 digits or "*"; INJ_E_CONFIG when the config names no secret. */
enum inj_rc policy_build(const struct config *cfg, const struct policy_opts *opts, char **out,
                         struct inj_err *err);

#endif
