/* fuzz.h: shared bits of the libFuzzer harnesses (tests/fuzz/fuzz_<target>.c). */
#ifndef INJ_FUZZ_H
#define INJ_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A NUL-terminated copy of data (the parsers under test take C strings); NULL on OOM. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);

    if (!s)
        return NULL;
    if (size)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* Checks an invariant; a failure is a crash the fuzzer reports with its input. */
#define FUZZ_ASSERT(cond)     \
    do {                      \
        if (!(cond))          \
            __builtin_trap(); \
    } while (0)

#endif
