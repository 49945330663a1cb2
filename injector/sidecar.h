/* sidecar.h: --sidecar mode's own pieces: what a config may hold in it, and readiness: the
 * ready file written once every file is in place (removed on exit), and the probe
 * (`injector check --ready`) that an ECS health check or a Kubernetes probe runs. The loop
 * itself (refresh, hooks, SIGTERM as PID 1) is supervise.c's, without a command. */
#ifndef INJ_SIDECAR_H
#define INJ_SIDECAR_H

#include <stddef.h>

#include "config.h"
#include "err.h"

#define SIDECAR_READY_NAME ".injector-ready"

/* INJ_E_CONFIG unless c fits sidecar mode: at least one files entry, no env entry (there is
 * no process to give a variable to), supervise.on_change not signal/restart (there is no
 * command to signal or restart; another container's process cannot be signalled). */
enum inj_rc sidecar_config_check(const struct config *c, struct inj_err *err);

/* The ready file's path into buf: sidecar.ready_file, else SIDECAR_READY_NAME in the
 * directory of the first files entry. INJ_E_CONFIG when there is none, or it is too long. */
enum inj_rc sidecar_ready_path(const struct config *c, char *buf, size_t size, struct inj_err *err);

/* Writes the ready file atomically (a temp file in its directory, mode 0444, fsynced, renamed
 * into place). The directory must exist. INJ_E_IO with the reason otherwise. */
enum inj_rc sidecar_ready_write(const char *path, struct inj_err *err);

/* Removes it; a missing file is fine. Returns 0, or -1 with errno. */
int sidecar_ready_remove(const char *path);

/* The probe: INJ_OK when the ready file exists (a regular file) and every files entry exists
 * as a regular file with the entry's mode (an optional entry may be missing: its secret or
 * key may not exist). Else INJ_E_UNAVAILABLE and err says what is missing or wrong. Reads no
 * file's content. *nfiles (may be NULL) counts the files found. */
enum inj_rc sidecar_ready_check(const struct config *c, const char *ready, size_t *nfiles,
                                struct inj_err *err);

#endif
