/* http.c: the HTTPS client: libcurl easy handles driven by one multi handle (one connection
 * cache, one DNS cache, shared TLS sessions), verified TLS, SigV4 via CURLOPT_AWS_SIGV4,
 * bounded response bodies. Never logs headers or bodies (no CURLOPT_VERBOSE). */
#include "http.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ca.h"
#include "castore.h"
#include "creds.h"
#include "log.h"
#include "redact.h"
#include "rfile.h"

#define HTTP_DEFAULT_CONNECT_MS 3000L
#define HTTP_DEFAULT_TIMEOUT_MS 10000L
#define HTTP_DEFAULT_MAX (256u * 1024u)
#define HTTP_WARM_HOSTS 4

struct http {
    CURLM *multi;              /* runs every transfer: one connection cache (keep-alive across
                             http_do and http_do_many) and one DNS cache */
    CURLSH *share;             /* TLS sessions, so a second connection can resume the first's */
    CURL *curl;                /* http_do's handle */
    CURL *pool[HTTP_POOL_MAX]; /* http_do_many's handles, made on first use */
    char *ca_dir;              /* a hashed CA directory (CURLOPT_CAPATH), else: */
    char *ca_file;             /* a bundle; both NULL: the compiled-in bundle */
    struct castore *ca_index;  /* the bundle (or the compiled-in one) indexed by subject,
                                  made on first use; NULL: OpenSSL loads it whole */
    int ca_indexed;            /* 1 once indexing was tried */
    char ca_source[300];
    char warm[HTTP_WARM_HOSTS][256]; /* hosts already resolved (in the DNS cache) */
    size_t nwarm;
    long connects;
};

/* A hashed CA directory (update-ca-certificates, c_rehash: Debian, Ubuntu, Alpine). From it
 * OpenSSL reads only the issuers a chain needs; a bundle file is parsed whole on every start
 * (about 150 certificates: tens of milliseconds of CPU with OpenSSL 3.0). The link for Amazon
 * Root CA 1 (subject hash ce5e74ef), the root AWS endpoints chain to, shows the directory is
 * hashed and current. */
#define HTTP_CA_DIR "/etc/ssl/certs"
#define HTTP_CA_DIR_PROBE HTTP_CA_DIR "/ce5e74ef.0"

/* Where distributions keep their bundle: Debian/Ubuntu/Alpine, RHEL/Amazon Linux, SUSE. */
static const char *const ca_paths[] = {
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
};

struct recv_ctx {
    struct http_resp *resp;
    CURL *c;
    size_t max;
    int toobig;
    int nomem;
    char tls[16]; /* negotiated TLS version, for the debug log */
};

enum xfer_state { XFER_PENDING, XFER_ACTIVE, XFER_DONE };

/* One request on its way: what must live from setup until the transfer is done. */
struct http_xfer {
    struct http_call *call;
    CURL *c; /* borrowed from the pool while active */
    size_t slot;
    enum xfer_state state;
    struct recv_ctx rx;
    struct curl_slist *hdrs;
    char *tok_hdr; /* "X-Amz-Security-Token: ..." (wiped) */
    size_t tok_len;
    char errbuf[CURL_ERROR_SIZE];
    char host[256];
};

const char *http_ca_source(const struct http *h)
{
    return h->ca_source;
}

long http_connects(const struct http *h)
{
    return h->connects;
}

/* A CA bundle named by the environment must be a readable regular file: OpenSSL opens it
 * blocking, and a FIFO there would hang the request past --timeout. */
static int http_ca_file_ok(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, R_OK) == 0;
}

static enum inj_rc http_pick_ca(struct http *h, struct inj_err *err)
{
    const char *v;
    size_t i;

    v = getenv("AWS_CA_BUNDLE");
    if (v && *v) {
        if (!http_ca_file_ok(v))
            return inj_err_set(err, INJ_E_UNAVAILABLE,
                               "AWS_CA_BUNDLE=%s is not a readable regular file; point it at a "
                               "PEM CA bundle",
                               v);
        (void)snprintf(h->ca_source, sizeof(h->ca_source), "file %s (AWS_CA_BUNDLE)", v);
        goto found;
    }
    v = getenv("SSL_CERT_FILE");
    if (v && *v) {
        if (!http_ca_file_ok(v))
            return inj_err_set(err, INJ_E_UNAVAILABLE,
                               "SSL_CERT_FILE=%s is not a readable regular file; point it at a "
                               "PEM CA bundle",
                               v);
        (void)snprintf(h->ca_source, sizeof(h->ca_source), "file %s (SSL_CERT_FILE)", v);
        goto found;
    }
    v = getenv("SSL_CERT_DIR");
    if (v && *v) {
        if (access(v, R_OK | X_OK) != 0)
            return inj_err_set(err, INJ_E_UNAVAILABLE,
                               "SSL_CERT_DIR=%s is not readable; point it at a hashed CA "
                               "directory (openssl rehash)",
                               v);
        (void)snprintf(h->ca_source, sizeof(h->ca_source), "directory %s (SSL_CERT_DIR)", v);
        goto found_dir;
    }
    if (access(HTTP_CA_DIR_PROBE, R_OK) == 0) {
        v = HTTP_CA_DIR;
        (void)snprintf(h->ca_source, sizeof(h->ca_source), "directory %s (hashed)", v);
        goto found_dir;
    }
    for (i = 0; i < sizeof(ca_paths) / sizeof(ca_paths[0]); i++) {
        if (access(ca_paths[i], R_OK) == 0) {
            v = ca_paths[i];
            (void)snprintf(h->ca_source, sizeof(h->ca_source), "file %s", v);
            goto found;
        }
    }
    (void)snprintf(h->ca_source, sizeof(h->ca_source), "compiled-in bundle (%lu bytes)",
                   inj_ca_fallback_pem_len);
    return INJ_OK;
found:
    h->ca_file = strdup(v);
    if (!h->ca_file)
        return inj_err_set(err, INJ_E_NOMEM, "out of memory");
    return INJ_OK;
found_dir:
    h->ca_dir = strdup(v);
    if (!h->ca_dir)
        return inj_err_set(err, INJ_E_NOMEM, "out of memory");
    return INJ_OK;
}

/* Open descriptors below HTTP_FDS_MAX, from /proc/self/fd (its own descriptor left out). */
#define HTTP_FDS_MAX 1024
struct http_fds {
    unsigned char bit[HTTP_FDS_MAX / 8];
};

static int http_fds_read(struct http_fds *s)
{
    DIR *d = opendir("/proc/self/fd");
    const struct dirent *e;
    long fd;

    memset(s, 0, sizeof(*s));
    if (!d)
        return -1;
    while ((e = readdir(d)) != NULL) {
        char *end = NULL;

        fd = strtol(e->d_name, &end, 10);
        if (*end || end == e->d_name || fd < 0 || fd >= HTTP_FDS_MAX || fd == dirfd(d))
            continue;
        s->bit[fd / 8] = (unsigned char)(s->bit[fd / 8] | (1u << (fd % 8)));
    }
    (void)closedir(d);
    return 0;
}

/* libcurl's multi handle opens a socketpair (its wakeup channel) without close-on-exec in the
 * versions Debian ships and we build: it would leak into credential_process children and, in
 * supervise mode with refresh, into the app. Every descriptor that was not open before gets
 * FD_CLOEXEC. Without /proc nothing can be told apart and nothing changes. */
static void http_cloexec_new(const struct http_fds *before)
{
    struct http_fds after;
    int fd;
    int flags;

    if (http_fds_read(&after) != 0)
        return;
    for (fd = 0; fd < HTTP_FDS_MAX; fd++) {
        unsigned char m = (unsigned char)(1u << (fd % 8));

        if (!(after.bit[fd / 8] & m) || (before->bit[fd / 8] & m))
            continue;
        flags = fcntl(fd, F_GETFD);
        if (flags >= 0 && !(flags & FD_CLOEXEC))
            (void)fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
    }
}

enum inj_rc http_new(struct http **out, struct inj_err *err)
{
    struct http_fds fds;
    int have_fds;
    enum inj_rc rc = INJ_E_NOMEM;
    struct http *h = NULL;
    CURLMcode mc;

    *out = NULL;
    h = calloc(1, sizeof(*h));
    if (!h) {
        inj_err_set(err, rc, "out of memory");
        goto out;
    }
    rc = http_pick_ca(h, err);
    if (rc != INJ_OK)
        goto out;
    have_fds = http_fds_read(&fds) == 0;
    h->curl = curl_easy_init();
    h->multi = curl_multi_init();
    h->share = curl_share_init();
    if (have_fds)
        http_cloexec_new(&fds);
    if (!h->curl || !h->multi || !h->share) {
        rc = inj_err_set(err, INJ_E_NOMEM, "cannot initialise libcurl");
        goto out;
    }
    /* Idle connections kept: one per pool handle plus one for http_do, and a spare. */
    mc = curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, (long)(HTTP_POOL_MAX + 2));
    if (mc != CURLM_OK ||
        curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK) {
        rc = inj_err_set(err, INJ_E_SOFTWARE, "libcurl refused the connection pool options");
        goto out;
    }
    *out = h;
    h = NULL;
    rc = INJ_OK;
out:
    http_free(h);
    return rc;
}

void http_free(struct http *h)
{
    size_t i;

    if (!h)
        return;
    /* Easy handles first (they hold the share), then the multi closes the cached
     * connections, then the share can go. */
    if (h->curl)
        curl_easy_cleanup(h->curl);
    for (i = 0; i < HTTP_POOL_MAX; i++)
        if (h->pool[i])
            curl_easy_cleanup(h->pool[i]);
    if (h->multi)
        (void)curl_multi_cleanup(h->multi);
    if (h->share)
        (void)curl_share_cleanup(h->share);
    castore_free(h->ca_index); /* after every SSL_CTX that looked up in it */
    free(h->ca_dir);
    free(h->ca_file);
    free(h);
}

void http_resp_free(struct http_resp *resp)
{
    sbuf_wipe_free(&resp->body);
    memset(resp, 0, sizeof(*resp));
}

static size_t http_on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct recv_ctx *rx = ud;
    size_t n = size * nmemb;

    switch (sbuf_append(&rx->resp->body, ptr, n)) {
    case SBUF_OK:
        return n;
    case SBUF_TOOBIG:
        rx->toobig = 1;
        return 0;
    case SBUF_NOMEM:
    default:
        rx->nomem = 1;
        return 0;
    }
}

/* "Date: Tue, 03 Nov 2026 10:00:00 GMT" -> epoch; 0 when unparsable. */
static time_t http_parse_date(const char *v)
{
    struct tm tm;
    const char *end;

    memset(&tm, 0, sizeof(tm));
    end = strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!end)
        return 0;
    return timegm(&tm);
}

/* The connection's TLS version ("TLSv1.3"), while it is attached to the transfer. */
static void http_note_tls(struct recv_ctx *rx)
{
    struct curl_tlssessioninfo *ti = NULL;

    if (curl_easy_getinfo(rx->c, CURLINFO_TLS_SSL_PTR, &ti) != CURLE_OK || !ti ||
        ti->backend != CURLSSLBACKEND_OPENSSL || !ti->internals)
        return;
    (void)snprintf(rx->tls, sizeof(rx->tls), "%s", SSL_get_version((const SSL *)ti->internals));
}

static size_t http_on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct recv_ctx *rx = ud;
    size_t n = size * nmemb;
    char line[256];
    size_t len = n;
    char *v;

    if (len >= sizeof(line))
        return n; /* long headers are not ones we read */
    memcpy(line, ptr, len);
    line[len] = '\0';
    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n'))
        line[--len] = '\0';
    if (!strncmp(line, "HTTP/", 5)) {
        /* A new response (after 100-continue or a retry on a reused handle) starts clean. */
        rx->resp->amzn_error_type[0] = '\0';
        rx->resp->server_date = 0;
        if (!rx->tls[0])
            http_note_tls(rx);
        return n;
    }
    v = strchr(line, ':');
    if (!v)
        return n;
    *v++ = '\0';
    while (*v == ' ' || *v == '\t')
        v++;
    if (!strcasecmp(line, "date"))
        rx->resp->server_date = http_parse_date(v);
    else if (!strcasecmp(line, "x-amzn-errortype"))
        (void)snprintf(rx->resp->amzn_error_type, sizeof(rx->resp->amzn_error_type), "%s", v);
    return n;
}

/* curl_slist_append copies; wipe the copies, they may hold a session token. */
static void http_slist_wipe_free(struct curl_slist *l)
{
    struct curl_slist *p;

    for (p = l; p; p = p->next)
        if (p->data)
            OPENSSL_cleanse(p->data, strlen(p->data));
    curl_slist_free_all(l);
}

static const char *http_host_of(const char *url, char *buf, size_t n)
{
    const char *p = strstr(url, "://");
    size_t len;

    p = p ? p + 3 : url;
    len = strcspn(p, "/?#");
    if (len >= n)
        len = n - 1;
    memcpy(buf, p, len);
    buf[len] = '\0';
    return buf;
}

/* libcurl's sockets are not close-on-exec: without this, a kept-alive connection would be
 * inherited by a credential_process helper or, in supervise mode, by the app itself. */
static int http_on_sockopt(void *ud, curl_socket_t fd, curlsocktype purpose)
{
    int flags;

    (void)ud;
    (void)purpose;
    flags = fcntl(fd, F_GETFD);
    if (flags < 0 || fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0)
        return CURL_SOCKOPT_ERROR;
    return CURL_SOCKOPT_OK;
}

/* OpenSSL keeps the last decrypted record in its read buffer unless told to cleanse it; on a
 * kept-alive connection (supervise mode) that would be a secret held indefinitely.
 * libcurl asks OpenSSL to free its record buffers whenever they are empty; each TLS record
 * then costs a 17 KiB malloc, a wipe (wipemem's free) and, with musl, an mmap/munmap pair.
 * The buffers are kept for the connection instead and wiped when it closes. */
static CURLcode http_on_ssl_ctx(CURL *c, void *ssl_ctx, void *ud)
{
    const struct http *h = ud;

    (void)c;
    (void)SSL_CTX_set_options((SSL_CTX *)ssl_ctx, SSL_OP_CLEANSE_PLAINTEXT);
    (void)SSL_CTX_clear_mode((SSL_CTX *)ssl_ctx, SSL_MODE_RELEASE_BUFFERS);
    /* Records we send hold at most 4 KiB (a request is about 1 KiB; a larger one is split
     * into more records): the write buffer is then 4.4 KiB instead of 17, on each of up to
     * HTTP_POOL_MAX connections at once. What we receive is unchanged (16 KiB records). */
    (void)SSL_CTX_set_max_send_fragment((SSL_CTX *)ssl_ctx, 4096);
    /* The bundle's index is this context's only trust store (libcurl was given none). */
    if (h && h->ca_index && castore_attach(h->ca_index, ssl_ctx) != 0)
        return CURLE_OUT_OF_MEMORY;
    return CURLE_OK;
}

/* A bundle file or the compiled-in bundle is indexed by subject on first use, so a handshake
 * decodes the one root its chain ends at, not the 150 of a system bundle. A bundle the index
 * cannot take exactly (other PEM blocks, malformed) is loaded whole by OpenSSL, as before. */
static enum inj_rc http_index_ca(struct http *h, struct inj_err *err)
{
    enum castore_rc cr;

    if (h->ca_indexed || h->ca_dir)
        return INJ_OK;
    h->ca_indexed = 1;
    if (h->ca_file)
        cr = castore_index(h->ca_file, NULL, 0, &h->ca_index);
    else
        cr = castore_index(NULL, inj_ca_fallback_pem, inj_ca_fallback_pem_len, &h->ca_index);
    if (cr == CASTORE_NOMEM)
        return inj_err_set(err, INJ_E_NOMEM, "out of memory");
    if (cr == CASTORE_OK)
        log_debug("CA store: %zu certificates indexed by subject (%s)", castore_count(h->ca_index),
                  h->ca_source);
    return INJ_OK;
}

static int http_retryable(CURLcode cc)
{
    switch (cc) {
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_COULDNT_CONNECT:
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
        return 1;
    default:
        return 0;
    }
}

/* Whether the process is out of descriptors right now: libcurl reports that as whatever it
 * tried first ("error setting certificate file", "couldn't connect"). A request holds a
 * socket while it opens the CA file, and libcurl has closed that socket by the time we look:
 * two descriptors that cannot be opened together are the sign. Returns the errno or 0. */
static int http_exhausted_errno(CURLcode cc)
{
    int a;
    int b;
    int e = 0;

    switch (cc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_FAILED_INIT:
    case CURLE_OUT_OF_MEMORY:
        break;
    default:
        return 0;
    }
    a = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (a < 0)
        return errno;
    b = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (b < 0)
        e = errno;
    else
        (void)close(b);
    (void)close(a);
    return cc == CURLE_OUT_OF_MEMORY && !e ? ENOMEM : e;
}

static enum inj_rc http_map_curl_error(CURLcode cc, const char *host, const char *detail,
                                       const struct http *h, struct inj_err *err)
{
    const char *d = detail[0] ? detail : curl_easy_strerror(cc);
    const char *ex = rfile_exhausted(http_exhausted_errno(cc));

    if (ex)
        return inj_err_set(err, INJ_E_NOMEM, "%s: request failed: %s (libcurl said: %s)", host, ex,
                           d);

    /* libcurl 7.88 reports a proxy that refuses the CONNECT as a receive error. */
    if (cc == CURLE_PROXY || strstr(d, "CONNECT tunnel failed") || strstr(d, "from proxy"))
        return inj_err_set(err, INJ_E_UNAVAILABLE,
                           "%s: the proxy refused or failed the tunnel (%s); check HTTPS_PROXY "
                           "and NO_PROXY",
                           host, d);
    switch (cc) {
    case CURLE_OPERATION_TIMEDOUT:
        return inj_err_set(err, INJ_E_TEMPFAIL, "%s: timed out (%s)", host, d);
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
        return inj_err_set(err, INJ_E_UNAVAILABLE,
                           "%s: TLS failure: %s (trusted CAs: %s; set AWS_CA_BUNDLE if a proxy "
                           "or private endpoint uses its own CA)",
                           host, d, h->ca_source);
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return inj_err_set(err, INJ_E_UNAVAILABLE,
                           "%s: cannot resolve host (%s); check DNS (/etc/resolv.conf) or the "
                           "VPC endpoint",
                           host, d);
    case CURLE_COULDNT_CONNECT:
        return inj_err_set(err, INJ_E_UNAVAILABLE,
                           "%s: cannot connect (%s); check network egress, security groups or "
                           "HTTPS_PROXY",
                           host, d);
    case CURLE_PARTIAL_FILE:
        return inj_err_set(err, INJ_E_UNAVAILABLE, "%s: response truncated (%s)", host, d);
    default:
        return inj_err_set(err, INJ_E_UNAVAILABLE, "%s: request failed: %s", host, d);
    }
}

#define SETOPT(opt, val)                                                           \
    do {                                                                           \
        if (curl_easy_setopt(c, opt, val) != CURLE_OK) {                           \
            rc = inj_err_set(err, INJ_E_SOFTWARE, "libcurl refused option " #opt); \
            goto out;                                                              \
        }                                                                          \
    } while (0)

/* Sets up x->c for x's request. On failure err is set and x holds nothing to release but
 * what http_xfer_release frees. */
static enum inj_rc http_xfer_setup(struct http *h, struct http_xfer *x)
{
    enum inj_rc rc = INJ_E_SOFTWARE;
    const struct http_req *req = x->call->req;
    struct http_resp *resp = x->call->resp;
    struct inj_err *err = x->call->err;
    CURL *c = x->c;
    struct curl_slist *tmp;
    struct curl_blob blob;
    size_t i;

    memset(resp, 0, sizeof(*resp));
    memset(&x->rx, 0, sizeof(x->rx));
    x->rx.resp = resp;
    x->rx.c = c;
    x->rx.max = req->max_response ? req->max_response : HTTP_DEFAULT_MAX;
    resp->body.max = x->rx.max;
    x->errbuf[0] = '\0';

    /* Reset keeps the connection cache, DNS cache and TLS sessions; only options go. */
    curl_easy_reset(c);
    SETOPT(CURLOPT_PRIVATE, (void *)x);
    SETOPT(CURLOPT_SHARE, h->share);
    SETOPT(CURLOPT_URL, req->url);
    SETOPT(CURLOPT_NOSIGNAL, 1L);
    SETOPT(CURLOPT_SOCKOPTFUNCTION, http_on_sockopt);
    SETOPT(CURLOPT_SSL_CTX_FUNCTION, http_on_ssl_ctx);
    SETOPT(CURLOPT_SSL_CTX_DATA, (void *)h);
    SETOPT(CURLOPT_ERRORBUFFER, x->errbuf);
    SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
    SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
    /* TLS 1.2 is the floor AWS endpoints and proxies accept; OpenSSL offers 1.3 first. */
    SETOPT(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    SETOPT(CURLOPT_CAPATH, h->ca_dir);
    rc = http_index_ca(h, err);
    if (rc != INJ_OK)
        goto out;
    if (h->ca_dir || h->ca_index) {
        SETOPT(CURLOPT_CAINFO, (char *)NULL);
    } else if (h->ca_file) {
        SETOPT(CURLOPT_CAINFO, h->ca_file);
    } else {
        blob.data = (void *)(uintptr_t)inj_ca_fallback_pem;
        blob.len = inj_ca_fallback_pem_len;
        blob.flags = CURL_BLOB_NOCOPY;
        SETOPT(CURLOPT_CAINFO, (char *)NULL);
        SETOPT(CURLOPT_CAINFO_BLOB, &blob);
    }
    /* libcurl's per-handle buffers (16 KiB down, 64 KiB up by default) at their floor or
     * near it: our bodies are small, and with a handle per connection they are most of the
     * memory each extra connection costs (max RSS, static, N=1: 2.9 -> 2.7 MiB). */
    SETOPT(CURLOPT_BUFFERSIZE, 4096L);
    SETOPT(CURLOPT_UPLOAD_BUFFERSIZE, 16384L);
    SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
    SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
    SETOPT(CURLOPT_USERAGENT, "injector/" INJ_VERSION);
    SETOPT(CURLOPT_CONNECTTIMEOUT_MS,
           req->connect_timeout_ms ? req->connect_timeout_ms : HTTP_DEFAULT_CONNECT_MS);
    SETOPT(CURLOPT_TIMEOUT_MS, req->timeout_ms ? req->timeout_ms : HTTP_DEFAULT_TIMEOUT_MS);
    SETOPT(CURLOPT_WRITEFUNCTION, http_on_body);
    SETOPT(CURLOPT_WRITEDATA, &x->rx);
    SETOPT(CURLOPT_HEADERFUNCTION, http_on_header);
    SETOPT(CURLOPT_HEADERDATA, &x->rx);

    if (!strcmp(req->method, "POST") || !strcmp(req->method, "PUT")) {
        SETOPT(CURLOPT_POST, 1L);
        SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        SETOPT(CURLOPT_POSTFIELDS, req->body ? (const char *)req->body : "");
        if (!strcmp(req->method, "PUT"))
            SETOPT(CURLOPT_CUSTOMREQUEST, "PUT");
    } else {
        SETOPT(CURLOPT_HTTPGET, 1L);
    }

    /* No "Expect:" suppression header here: libcurl's SigV4 would sign it as an empty
     * header, and our bodies are far below the size where libcurl sends one. */
    for (i = 0; req->headers && req->headers[i]; i++) {
        tmp = curl_slist_append(x->hdrs, req->headers[i]);
        if (!tmp)
            goto nomem;
        x->hdrs = tmp;
    }
    if (req->sigv4) {
        if (!req->creds || !req->creds->access_key_id || !req->creds->secret_access_key) {
            rc = inj_err_set(err, INJ_E_SOFTWARE, "signing without credentials");
            goto out;
        }
        if (req->creds->session_token) {
            /* libcurl signs every header we add, so the token is part of the signature. */
            x->tok_len = strlen("X-Amz-Security-Token: ") + strlen(req->creds->session_token) + 1;
            x->tok_hdr = malloc(x->tok_len);
            if (!x->tok_hdr)
                goto nomem;
            (void)snprintf(x->tok_hdr, x->tok_len, "X-Amz-Security-Token: %s",
                           req->creds->session_token);
            tmp = curl_slist_append(x->hdrs, x->tok_hdr);
            if (!tmp)
                goto nomem;
            x->hdrs = tmp;
        }
        SETOPT(CURLOPT_HTTPAUTH, (long)CURLAUTH_AWS_SIGV4);
        SETOPT(CURLOPT_AWS_SIGV4, req->sigv4);
        SETOPT(CURLOPT_USERNAME, req->creds->access_key_id);
        SETOPT(CURLOPT_PASSWORD, req->creds->secret_access_key);
    }
    SETOPT(CURLOPT_HTTPHEADER, x->hdrs);
    return INJ_OK;
nomem:
    rc = inj_err_set(err, INJ_E_NOMEM, "out of memory");
out:
    return rc;
}

/* Maps a finished transfer's result (cc) into the call's response and error. */
static enum inj_rc http_xfer_finish(struct http *h, struct http_xfer *x, CURLcode cc)
{
    const struct http_req *req = x->call->req;
    struct http_resp *resp = x->call->resp;
    struct inj_err *err = x->call->err;
    long nconn = 0;

    if (curl_easy_getinfo(x->c, CURLINFO_NUM_CONNECTS, &nconn) == CURLE_OK)
        h->connects += nconn;
    if (x->rx.toobig)
        return inj_err_set(err, INJ_E_DATA, "%s: response larger than %zu bytes; refusing it (%s)",
                           x->host, x->rx.max,
                           req->sigv4 && strstr(req->sigv4, ":secretsmanager")
                               ? "a secret is at most 64 KiB"
                               : "the limit for a credentials answer");
    if (x->rx.nomem)
        return inj_err_set(err, INJ_E_NOMEM, "out of memory");
    if (cc != CURLE_OK) {
        /* libcurl's text can quote a proxy's or server's answer: cleaned like any server text. */
        const char *known[2] = {req->creds ? req->creds->secret_access_key : NULL,
                                req->creds ? req->creds->session_token : NULL};
        char detail[CURL_ERROR_SIZE];

        resp->retryable = http_retryable(cc);
        redact_text(x->errbuf, sizeof(x->errbuf), known, 2, detail, sizeof(detail));
        return http_map_curl_error(cc, x->host, detail, h, err);
    }
    if (curl_easy_getinfo(x->c, CURLINFO_RESPONSE_CODE, &resp->status) != CURLE_OK)
        resp->status = 0;
    log_debug("%s %s -> HTTP %ld (%zu bytes, %ld new connection(s)%s%s)", req->method, x->host,
              resp->status, resp->body.len, nconn, nconn && x->rx.tls[0] ? ", " : "",
              nconn ? x->rx.tls : "");
    return INJ_OK;
}

/* Drops libcurl's copies of the key and the token header from the handle's options, and
 * our own copies; the body goes too when the call failed. */
static void http_xfer_release(struct http_xfer *x)
{
    if (x->c) {
        (void)curl_easy_setopt(x->c, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
        (void)curl_easy_setopt(x->c, CURLOPT_PASSWORD, (char *)NULL);
        (void)curl_easy_setopt(x->c, CURLOPT_ERRORBUFFER, (char *)NULL);
    }
    http_slist_wipe_free(x->hdrs);
    x->hdrs = NULL;
    wipe_free(x->tok_hdr, x->tok_len);
    x->tok_hdr = NULL;
    x->tok_len = 0;
    if (x->call->rc != INJ_OK)
        sbuf_wipe_free(&x->call->resp->body);
}

static int http_is_warm(const struct http *h, const char *host)
{
    size_t i;

    for (i = 0; i < h->nwarm && i < HTTP_WARM_HOSTS; i++)
        if (!strcmp(h->warm[i], host))
            return 1;
    return 0;
}

static void http_mark_warm(struct http *h, const char *host)
{
    if (http_is_warm(h, host))
        return;
    (void)snprintf(h->warm[h->nwarm % HTTP_WARM_HOSTS], sizeof(h->warm[0]), "%s", host);
    h->nwarm++;
}

/* A host given as an address needs no lookup: "127.0.0.1", "[::1]". */
static int http_is_address(const char *host)
{
    unsigned char buf[sizeof(struct in6_addr)];
    char h[64];
    const char *colon;
    size_t len;

    if (host[0] == '[')
        return 1;
    colon = strchr(host, ':');
    len = colon ? (size_t)(colon - host) : strlen(host);
    if (len >= sizeof(h))
        return 0;
    memcpy(h, host, len);
    h[len] = '\0';
    return inet_pton(AF_INET, h, buf) == 1;
}

/* May x start now? A host not resolved yet gets one transfer; the others wait until its name
 * is resolved, so the name is looked up once and the rest come from the DNS cache. An
 * address is never looked up: every transfer to it starts at once. */
static int http_may_start(const struct http *h, const struct http_xfer *xs, size_t n,
                          const struct http_xfer *x)
{
    size_t i;

    if (http_is_warm(h, x->host) || http_is_address(x->host))
        return 1;
    for (i = 0; i < n; i++)
        if (xs[i].state == XFER_ACTIVE && !strcmp(xs[i].host, x->host))
            return 0;
    return 1;
}

static void http_note_connected(struct http *h, const struct http_xfer *xs, size_t n)
{
    curl_off_t t;
    curl_off_t c;
    size_t i;

    for (i = 0; i < n; i++) {
        if (xs[i].state != XFER_ACTIVE || http_is_warm(h, xs[i].host))
            continue;
        t = 0;
        c = 0;
        if ((curl_easy_getinfo(xs[i].c, CURLINFO_NAMELOOKUP_TIME_T, &t) == CURLE_OK && t > 0) ||
            (curl_easy_getinfo(xs[i].c, CURLINFO_CONNECT_TIME_T, &c) == CURLE_OK && c > 0))
            http_mark_warm(h, xs[i].host);
    }
}

static void http_xfer_done(struct http_xfer *x, unsigned char *busy, size_t *active, size_t *done)
{
    http_xfer_release(x);
    busy[x->slot] = 0;
    x->state = XFER_DONE;
    (*active)--;
    (*done)++;
}

/* The multi handle itself failed: every active transfer fails with it. */
static void http_fail_active(struct http *h, struct http_xfer *xs, size_t n, CURLMcode mc,
                             unsigned char *busy, size_t *active, size_t *done)
{
    size_t i;

    for (i = 0; i < n; i++) {
        struct http_xfer *x = &xs[i];
        if (x->state != XFER_ACTIVE)
            continue;
        (void)curl_multi_remove_handle(h->multi, x->c);
        x->call->rc = inj_err_set(x->call->err, INJ_E_SOFTWARE, "%s: libcurl failed: %s", x->host,
                                  curl_multi_strerror(mc));
        http_xfer_done(x, busy, active, done);
    }
}

/* Starts what may start on a free handle, up to width transfers at once. */
static void http_start(struct http *h, struct http_xfer *xs, size_t n, CURL **handles, size_t width,
                       unsigned char *busy, size_t *active, size_t *done)
{
    size_t i;
    size_t k;

    for (i = 0; i < n && *active < width; i++) {
        struct http_xfer *x = &xs[i];
        enum inj_rc rc;

        if (x->state != XFER_PENDING || !http_may_start(h, xs, n, x))
            continue;
        for (k = 0; k < width && busy[k]; k++)
            ;
        if (k == width)
            return;
        if (!handles[k])
            handles[k] = curl_easy_init();
        x->c = handles[k];
        x->slot = k;
        if (!x->c)
            rc = inj_err_set(x->call->err, INJ_E_NOMEM, "cannot initialise libcurl");
        else
            rc = http_xfer_setup(h, x);
        if (rc == INJ_OK && curl_multi_add_handle(h->multi, x->c) != CURLM_OK)
            rc = inj_err_set(x->call->err, INJ_E_SOFTWARE, "%s: libcurl refused the transfer",
                             x->host);
        busy[k] = 1;
        (*active)++;
        x->state = XFER_ACTIVE;
        if (rc != INJ_OK) {
            x->call->rc = rc;
            x->state = XFER_DONE;
            http_xfer_done(x, busy, active, done);
        }
    }
}

/* Runs xs[0..n) to completion, at most width (<= HTTP_POOL_MAX) at once on handles[]. */
static void http_run(struct http *h, struct http_xfer *xs, size_t n, CURL **handles, size_t width)
{
    unsigned char busy[HTTP_POOL_MAX];
    size_t active = 0;
    size_t done = 0;
    int running = 0;
    int left = 0;
    int finished;
    CURLMcode mc;
    CURLMsg *msg;

    memset(busy, 0, sizeof(busy));
    while (done < n) {
        http_start(h, xs, n, handles, width, busy, &active, &done);
        if (!active)
            continue;
        mc = curl_multi_perform(h->multi, &running);
        if (mc != CURLM_OK) {
            http_fail_active(h, xs, n, mc, busy, &active, &done);
            continue;
        }
        finished = 0;
        while ((msg = curl_multi_info_read(h->multi, &left)) != NULL) {
            struct http_xfer *x = NULL;
            char *priv = NULL;
            CURLcode cc;

            if (msg->msg != CURLMSG_DONE)
                continue;
            /* msg is gone once the handle is removed: read it first. */
            cc = msg->data.result;
            if (curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv) != CURLE_OK || !priv)
                continue;
            x = (struct http_xfer *)(void *)priv;
            (void)curl_multi_remove_handle(h->multi, x->c);
            x->call->rc = http_xfer_finish(h, x, cc);
            if (cc == CURLE_OK)
                http_mark_warm(h, x->host);
            http_xfer_done(x, busy, &active, &done);
            finished = 1;
        }
        http_note_connected(h, xs, n);
        if (finished || !active)
            continue;
        mc = curl_multi_poll(h->multi, NULL, 0, 1000, NULL);
        if (mc != CURLM_OK)
            http_fail_active(h, xs, n, mc, busy, &active, &done);
    }
}

static void http_xfer_init(struct http_xfer *x, struct http_call *call)
{
    memset(x, 0, sizeof(*x));
    x->call = call;
    x->state = XFER_PENDING;
    call->rc = INJ_E_SOFTWARE;
    (void)http_host_of(call->req->url, x->host, sizeof(x->host));
}

enum inj_rc http_do(struct http *h, const struct http_req *req, struct http_resp *resp,
                    struct inj_err *err)
{
    struct http_call call;
    struct http_xfer x;

    call.req = req;
    call.resp = resp;
    call.err = err;
    http_xfer_init(&x, &call);
    http_run(h, &x, 1, &h->curl, 1);
    return call.rc;
}

enum inj_rc http_do_many(struct http *h, struct http_call *calls, size_t n, size_t max_conns)
{
    enum inj_rc rc = INJ_OK;
    struct http_xfer *xs = NULL;
    size_t width = max_conns;
    size_t i;

    if (!n)
        return INJ_OK;
    xs = calloc(n, sizeof(*xs));
    if (!xs) {
        for (i = 0; i < n; i++) {
            memset(calls[i].resp, 0, sizeof(*calls[i].resp));
            calls[i].rc = inj_err_set(calls[i].err, INJ_E_NOMEM, "out of memory");
        }
        return INJ_E_NOMEM;
    }
    if (width < 1)
        width = 1;
    if (width > HTTP_POOL_MAX)
        width = HTTP_POOL_MAX;
    if (width > n)
        width = n;
    for (i = 0; i < n; i++)
        http_xfer_init(&xs[i], &calls[i]);
    http_run(h, xs, n, h->pool, width);
    for (i = 0; i < n; i++)
        if (rc == INJ_OK && calls[i].rc != INJ_OK)
            rc = calls[i].rc;
    free(xs);
    return rc;
}
