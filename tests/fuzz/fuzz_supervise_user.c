/* fuzz_supervise_user.c: --user resolution without NSS (ident_parse over
 * /etc/passwd and /etc/group contents), the duration parser of refresh:/--refresh and the
 * signal names (parse.c).
 * Input: SPEC \0 PASSWD \0 GROUP (missing parts are empty). */
#include <string.h>

#include "fuzz.h"
#include "ident.h"
#include "parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ident_user u;
    struct inj_err err;
    const char *pw = "";
    const char *gr = "";
    char *buf;
    char *nul;
    long long ms = -1;

    if (size > 16384)
        return 0;
    buf = fuzz_cstr(data, size);
    if (!buf)
        return 0;
    nul = memchr(buf, '\0', size);
    if (nul && (size_t)(nul - buf) < size) {
        pw = nul + 1;
        nul = memchr(pw, '\0', size - (size_t)(pw - buf));
        if (nul && (size_t)(nul - buf) < size)
            gr = nul + 1;
    }
    memset(&err, 0, sizeof(err));
    if (ident_parse(buf, pw, strlen(pw), gr, strlen(gr), &u, &err) == INJ_OK) {
        FUZZ_ASSERT(u.set == 1);
        FUZZ_ASSERT(u.uid != (uid_t)-1 && u.gid != (gid_t)-1);
    } else {
        FUZZ_ASSERT(u.set == 0 && err.code == INJ_E_USAGE && err.msg[0]);
    }
    if (parse_duration(buf, &ms) == 0)
        FUZZ_ASSERT(ms >= 0 && ms <= 30LL * 24 * 3600 * 1000);
    (void)parse_signal(buf);
    free(buf);
    return 0;
}
