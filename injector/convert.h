/* convert.h: `injector convert FILE`: the secrets of an ECS task definition (a container's
 * `secrets` array) or of a CodeBuild buildspec (`env.secrets-manager`,
 * `env.parameter-store`) as the equivalent injector config. Offline; reads no secret. */
#ifndef INJ_CONVERT_H
#define INJ_CONVERT_H

#include <stddef.h>

#include "err.h"
#include "sbuf.h"

/* Converts buf[0..len) (name: the input's name, for messages and the header comment): JSON
 * (an ECS task definition, or describe-task-definition's {"taskDefinition": ...}) or YAML (a
 * buildspec). container picks an ECS container by name; NULL: the only one with secrets.
 * Appends the config, with comments on what to change (ECS: the entryPoint and command), to
 * out. INJ_E_DATA for an input that is neither or has nothing to convert, INJ_E_USAGE for a
 * container that is not there or several to choose from, INJ_E_NOMEM. */
enum inj_rc convert_text(const char *name, const unsigned char *buf, size_t len,
                         const char *container, struct sbuf *out, struct inj_err *err);

#endif
