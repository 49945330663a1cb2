/* ident.c: --user: "user[:group]" resolved from /etc/passwd and /etc/group read directly
 * (no NSS), and the privilege drop for the child. */
#include "ident.h"

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rfile.h"
#include "sbuf.h"

#define IDENT_FILE_MAX (8u * 1024u * 1024u)
#define IDENT_ID_MAX 4294967294LL /* (uid_t)-1 means "unchanged" to setresuid */

/* A decimal id of exactly len bytes, or -1. */
static long long ident_num(const char *s, size_t len)
{
    long long v = 0;
    size_t i;

    if (len == 0 || len > 10)
        return -1;
    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v > IDENT_ID_MAX ? -1 : v;
}

/* Looks up an /etc/passwd-style line (name:pw:uid:gid:...) or, with is_passwd 0, an
 * /etc/group-style one (name:pw:gid:...), by name or (name NULL) by id. Comments, NIS
 * "+"/"-" lines and malformed lines are skipped. Returns 1 when found. */
static int ident_find(const char *buf, size_t len, int is_passwd, const char *name, long long id,
                      long long *out_id, long long *out_gid)
{
    const char *p = buf;
    const char *end = buf ? buf + len : NULL;

    while (p && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *f[4];
        size_t fl[4];
        size_t nf = 0;
        const char *q = p;
        long long a;
        long long b;

        while (nf < 4) {
            const char *c = memchr(q, ':', (size_t)(le - q));
            f[nf] = q;
            fl[nf] = (size_t)((c ? c : le) - q);
            nf++;
            if (!c)
                break;
            q = c + 1;
        }
        p = nl ? nl + 1 : end;
        if (nf < (is_passwd ? 4u : 3u) || fl[0] == 0 || f[0][0] == '#' || f[0][0] == '+' ||
            f[0][0] == '-')
            continue;
        a = ident_num(f[2], fl[2]);
        b = is_passwd ? ident_num(f[3], fl[3]) : a;
        if (a < 0 || b < 0)
            continue;
        if (name ? (strlen(name) == fl[0] && !memcmp(name, f[0], fl[0])) : a == id) {
            *out_id = a;
            *out_gid = b;
            return 1;
        }
    }
    return 0;
}

enum inj_rc ident_parse(const char *spec, const char *passwd, size_t passwd_len, const char *group,
                        size_t group_len, struct ident_user *out, struct inj_err *err)
{
    char user[256];
    const char *colon = strchr(spec, ':');
    const char *grp = colon ? colon + 1 : NULL;
    size_t ulen = colon ? (size_t)(colon - spec) : strlen(spec);
    long long uid = -1;
    long long gid = -1;
    long long ignored;

    memset(out, 0, sizeof(*out));
    if (ulen == 0 || ulen >= sizeof(user) || (grp && (!*grp || strlen(grp) >= sizeof(user))))
        return inj_err_set(err, INJ_E_USAGE,
                           "--user %s: expected USER[:GROUP], names or numeric ids", spec);
    memcpy(user, spec, ulen);
    user[ulen] = '\0';
    if (user[0] >= '0' && user[0] <= '9') {
        uid = ident_num(user, ulen);
        if (uid < 0)
            return inj_err_set(err, INJ_E_USAGE, "--user %s: \"%s\" is not a valid uid", spec,
                               user);
        if (!ident_find(passwd, passwd_len, 1, NULL, uid, &ignored, &gid))
            gid = -1;
    } else if (!ident_find(passwd, passwd_len, 1, user, 0, &uid, &gid)) {
        return inj_err_set(err, INJ_E_USAGE,
                           "--user %s: no user \"%s\" in /etc/passwd (names are looked up there "
                           "only, not through NSS); use a numeric uid:gid",
                           spec, user);
    }
    if (grp && grp[0] >= '0' && grp[0] <= '9') {
        gid = ident_num(grp, strlen(grp));
        if (gid < 0)
            return inj_err_set(err, INJ_E_USAGE, "--user %s: \"%s\" is not a valid gid", spec, grp);
    } else if (grp && !ident_find(group, group_len, 0, grp, 0, &gid, &ignored)) {
        return inj_err_set(err, INJ_E_USAGE, "--user %s: no group \"%s\" in /etc/group", spec, grp);
    }
    if (gid < 0)
        return inj_err_set(err, INJ_E_USAGE,
                           "--user %s: uid %lld has no /etc/passwd entry to take a group from; "
                           "give one (uid:gid)",
                           spec, uid);
    out->set = 1;
    out->uid = (uid_t)uid;
    out->gid = (gid_t)gid;
    return INJ_OK;
}

/* Reads a small system file through rfile; a missing one reads as empty (scratch images
 * have none). A partial /etc/passwd could resolve --user to the wrong account: any other
 * failure is an error. */
static enum inj_rc ident_read_file(const char *path, struct sbuf *out, struct inj_err *err)
{
    enum inj_rc rc;
    int sys = 0;

    rc = rfile_read("--user: system file", path, IDENT_FILE_MAX, 0, out, &sys, err);
    if (rc != INJ_OK && sys == ENOENT) {
        memset(err, 0, sizeof(*err));
        return INJ_OK;
    }
    return rc;
}

enum inj_rc ident_resolve_files(const char *spec, const char *passwd_path, const char *group_path,
                                struct ident_user *out, struct inj_err *err)
{
    struct sbuf pw = SBUF_INIT(IDENT_FILE_MAX);
    struct sbuf gr = SBUF_INIT(IDENT_FILE_MAX);
    enum inj_rc rc;

    memset(out, 0, sizeof(*out));
    rc = ident_read_file(passwd_path, &pw, err);
    if (rc == INJ_OK)
        rc = ident_read_file(group_path, &gr, err);
    if (rc == INJ_OK)
        rc = ident_parse(spec, (const char *)pw.p, pw.len, (const char *)gr.p, gr.len, out, err);
    sbuf_wipe_free(&pw);
    sbuf_wipe_free(&gr);
    if (rc != INJ_OK)
        return rc;
    if (geteuid() != 0 && (out->uid != geteuid() || out->gid != getegid()))
        return inj_err_set(err, INJ_E_USAGE,
                           "--user %s: switching to uid %lu gid %lu needs root (injector runs as "
                           "uid %lu)",
                           spec, (unsigned long)out->uid, (unsigned long)out->gid,
                           (unsigned long)geteuid());
    return INJ_OK;
}

enum inj_rc ident_resolve(const char *spec, struct ident_user *out, struct inj_err *err)
{
    return ident_resolve_files(spec, "/etc/passwd", "/etc/group", out, err);
}

enum inj_rc ident_drop(const struct ident_user *u, struct inj_err *err)
{
    uid_t ru;
    uid_t eu;
    uid_t su;
    gid_t rg;
    gid_t eg;
    gid_t sg;

    if (!u->set)
        return INJ_OK;
    if (geteuid() != 0 && u->uid == geteuid() && u->gid == getegid())
        return INJ_OK; /* already that user: nothing to drop */
    /* Groups first: once the uid is gone, so is the right to change them. */
    if (setgroups(0, NULL) != 0)
        return inj_err_set(err, INJ_E_NOPERM, "--user: setgroups: %s", strerror(errno));
    if (setgid(u->gid) != 0)
        return inj_err_set(err, INJ_E_NOPERM, "--user: setgid(%lu): %s", (unsigned long)u->gid,
                           strerror(errno));
    if (setuid(u->uid) != 0)
        return inj_err_set(err, INJ_E_NOPERM, "--user: setuid(%lu): %s", (unsigned long)u->uid,
                           strerror(errno));
    if (getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0 || ru != u->uid ||
        eu != u->uid || su != u->uid || rg != u->gid || eg != u->gid || sg != u->gid ||
        getgroups(0, NULL) != 0)
        return inj_err_set(err, INJ_E_NOPERM, "--user: privileges were not fully dropped");
    if (u->uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))
        return inj_err_set(err, INJ_E_NOPERM, "--user: root could be regained after the drop");
    return INJ_OK;
}
