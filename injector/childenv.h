/* childenv.h: the command's environment beyond the config's entries. Env-reference mode
 * (--from-env): variables whose value is a Secrets Manager reference become entries, so their
 * value is replaced by the secret. Least privilege (--pristine, child_env.drop_aws_credentials):
 * which variables the command does not inherit. */
#ifndef INJ_CHILDENV_H
#define INJ_CHILDENV_H

#include <stddef.h>

#include "config.h"
#include "err.h"
#include "ref.h"

/* 1 when value is meant as a reference: "sm://...", "arn:PARTITION:secretsmanager:...",
 * "ssm:..." or "arn:PARTITION:ssm:REGION:ACCOUNT:parameter/...". Such a value is replaced or
 * refused (fail closed), never passed on. A bare parameter name cannot be told from any other
 * value: it needs "ssm:". */
int childenv_is_ref(const char *value);

/* Parses a reference: the ECS compact form ARN[:json-key[:version-stage[:version-id]]], or
 *   sm://ID[?version_stage=STAGE|?version_id=ID][#KEY|#/JSON/POINTER]
 * (ID: a name or full ARN; both query parameters may be given, joined with '&'). *ref and
 * *pointer (NULL: none) are owned by the caller. err says what is wrong with value. */
enum inj_rc childenv_parse_ref(const char *value, struct ref *ref, char **pointer,
                               struct inj_err *err);

/* Appends an env entry (overwrite: true) to cfg for every variable in envp whose value is a
 * reference, except names the config already has as env entries (the config decides those).
 * *added counts them. A variable that looks like a reference but does not parse, or a
 * loader/shell variable (PATH, LD_*, ...) holding one, is INJ_E_CONFIG naming the variable.
 * cfg->entries may move: call before resolve_plan. */
enum inj_rc childenv_add_refs(struct config *cfg, char *const *envp, size_t *added,
                              struct inj_err *err);

/* For "NAME=value" (or a bare NAME): the length of NAME when --pristine drops it (AWS
 * credential sources: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
 * AWS_CONTAINER_*, AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN, profiles and their files; and
 * INJECTOR_*), else 0. */
size_t childenv_dropped(const char *kv);

#endif
