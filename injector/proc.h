/* proc.h: replacing injector with the command: PATH search, execve, no shell. */
#ifndef INJ_PROC_H
#define INJ_PROC_H

#include "err.h"

/* Executes argv[0] (searched in PATH when it has no '/') with envp. Returns only on
 * failure: INJ_E_NOTFOUND (127) or INJ_E_NOEXEC (126), err naming the command. */
enum inj_rc proc_exec(char *const argv[], char *const envp[], struct inj_err *err);

#endif
