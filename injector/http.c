/* http.c: the HTTPS client: libcurl easy handle, verified TLS, SigV4 via CURLOPT_AWS_SIGV4,
 * bounded response bodies. Never logs headers or bodies (no CURLOPT_VERBOSE). */
#include "http.h"

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "ca.h"
#include "creds.h"
#include "log.h"

#define HTTP_DEFAULT_CONNECT_MS 3000L
#define HTTP_DEFAULT_TIMEOUT_MS 10000L
#define HTTP_DEFAULT_MAX (256u * 1024u)

struct http {
    CURL *curl;
    char *ca_file;        /* NULL: use the compiled-in bundle */
    char ca_source[300];
    long connects;
};

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
    size_t max;
    int toobig;
    int nomem;
};

const char *http_ca_source(const struct http *h)
{
    return h->ca_source;
}

long http_connects(const struct http *h)
{
    return h->connects;
}

static enum inj_rc http_pick_ca(struct http *h, struct inj_err *err)
{
    const char *v;
    size_t i;

    v = getenv("AWS_CA_BUNDLE");
    if (v && *v) {
        if (access(v, R_OK) != 0)
            return inj_err_set(err, INJ_E_UNAVAILABLE,
                               "AWS_CA_BUNDLE=%s is not readable; point it at a PEM CA bundle", v);
        (void)snprintf(h->ca_source, sizeof(h->ca_source), "file %s (AWS_CA_BUNDLE)", v);
        goto found;
    }
    v = getenv("SSL_CERT_FILE");
    if (v && *v) {
        if (access(v, R_OK) != 0)
            return inj_err_set(err, INJ_E_UNAVAILABLE,
                               "SSL_CERT_FILE=%s is not readable; point it at a PEM CA bundle", v);
        (void)snprintf(h->ca_source, sizeof(h->ca_source), "file %s (SSL_CERT_FILE)", v);
        goto found;
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
}

enum inj_rc http_new(struct http **out, struct inj_err *err)
{
    enum inj_rc rc = INJ_E_NOMEM;
    struct http *h = NULL;

    *out = NULL;
    h = calloc(1, sizeof(*h));
    if (!h) {
        inj_err_set(err, rc, "out of memory");
        goto out;
    }
    rc = http_pick_ca(h, err);
    if (rc != INJ_OK)
        goto out;
    h->curl = curl_easy_init();
    if (!h->curl) {
        rc = inj_err_set(err, INJ_E_NOMEM, "cannot initialise libcurl");
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
    if (!h)
        return;
    if (h->curl)
        curl_easy_cleanup(h->curl);
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

static enum inj_rc http_map_curl_error(CURLcode cc, const char *host, const char *detail,
                                       const struct http *h, struct inj_err *err)
{
    const char *d = detail[0] ? detail : curl_easy_strerror(cc);

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

#define SETOPT(opt, val)                                                                          \
    do {                                                                                          \
        if (curl_easy_setopt(c, opt, val) != CURLE_OK) {                                          \
            rc = inj_err_set(err, INJ_E_SOFTWARE, "libcurl refused option " #opt);               \
            goto out;                                                                             \
        }                                                                                         \
    } while (0)

enum inj_rc http_do(struct http *h, const struct http_req *req, struct http_resp *resp,
                    struct inj_err *err)
{
    enum inj_rc rc = INJ_E_SOFTWARE;
    CURL *c = h->curl;
    struct curl_slist *hdrs = NULL;
    struct curl_slist *tmp;
    struct curl_blob blob;
    struct recv_ctx rx;
    char errbuf[CURL_ERROR_SIZE];
    char host[256];
    char *tok_hdr = NULL;
    size_t tok_len = 0;
    long nconn = 0;
    CURLcode cc;
    size_t i;

    memset(resp, 0, sizeof(*resp));
    memset(&rx, 0, sizeof(rx));
    rx.resp = resp;
    rx.max = req->max_response ? req->max_response : HTTP_DEFAULT_MAX;
    resp->body.max = rx.max;
    errbuf[0] = '\0';
    (void)http_host_of(req->url, host, sizeof(host));

    /* Reset keeps the connection cache, DNS cache and TLS sessions; only options go. */
    curl_easy_reset(c);
    SETOPT(CURLOPT_URL, req->url);
    SETOPT(CURLOPT_NOSIGNAL, 1L);
    SETOPT(CURLOPT_ERRORBUFFER, errbuf);
    SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
    SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
    SETOPT(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    SETOPT(CURLOPT_CAPATH, (char *)NULL);
    if (h->ca_file) {
        SETOPT(CURLOPT_CAINFO, h->ca_file);
    } else {
        blob.data = (void *)(uintptr_t)inj_ca_fallback_pem;
        blob.len = inj_ca_fallback_pem_len;
        blob.flags = CURL_BLOB_NOCOPY;
        SETOPT(CURLOPT_CAINFO, (char *)NULL);
        SETOPT(CURLOPT_CAINFO_BLOB, &blob);
    }
    SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
    SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
    SETOPT(CURLOPT_USERAGENT, "injector/" INJ_VERSION);
    SETOPT(CURLOPT_CONNECTTIMEOUT_MS,
           req->connect_timeout_ms ? req->connect_timeout_ms : HTTP_DEFAULT_CONNECT_MS);
    SETOPT(CURLOPT_TIMEOUT_MS, req->timeout_ms ? req->timeout_ms : HTTP_DEFAULT_TIMEOUT_MS);
    SETOPT(CURLOPT_WRITEFUNCTION, http_on_body);
    SETOPT(CURLOPT_WRITEDATA, &rx);
    SETOPT(CURLOPT_HEADERFUNCTION, http_on_header);
    SETOPT(CURLOPT_HEADERDATA, &rx);

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
        tmp = curl_slist_append(hdrs, req->headers[i]);
        if (!tmp)
            goto nomem;
        hdrs = tmp;
    }
    if (req->sigv4) {
        if (!req->creds || !req->creds->access_key_id || !req->creds->secret_access_key) {
            rc = inj_err_set(err, INJ_E_SOFTWARE, "signing without credentials");
            goto out;
        }
        if (req->creds->session_token) {
            /* libcurl signs every header we add, so the token is part of the signature. */
            tok_len = strlen("X-Amz-Security-Token: ") + strlen(req->creds->session_token) + 1;
            tok_hdr = malloc(tok_len);
            if (!tok_hdr)
                goto nomem;
            (void)snprintf(tok_hdr, tok_len, "X-Amz-Security-Token: %s",
                           req->creds->session_token);
            tmp = curl_slist_append(hdrs, tok_hdr);
            if (!tmp)
                goto nomem;
            hdrs = tmp;
        }
        SETOPT(CURLOPT_HTTPAUTH, (long)CURLAUTH_AWS_SIGV4);
        SETOPT(CURLOPT_AWS_SIGV4, req->sigv4);
        SETOPT(CURLOPT_USERNAME, req->creds->access_key_id);
        SETOPT(CURLOPT_PASSWORD, req->creds->secret_access_key);
    }
    SETOPT(CURLOPT_HTTPHEADER, hdrs);

    cc = curl_easy_perform(c);
    if (curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &nconn) == CURLE_OK)
        h->connects += nconn;
    if (rx.toobig) {
        rc = inj_err_set(err, INJ_E_DATA,
                         "%s: response larger than %zu bytes; refusing it (a secret is at most "
                         "64 KiB)",
                         host, rx.max);
        goto out;
    }
    if (rx.nomem)
        goto nomem;
    if (cc != CURLE_OK) {
        resp->retryable = http_retryable(cc);
        rc = http_map_curl_error(cc, host, errbuf, h, err);
        goto out;
    }
    if (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status) != CURLE_OK)
        resp->status = 0;
    log_debug("%s %s -> HTTP %ld (%zu bytes, %ld new connection(s))", req->method, host,
              resp->status, resp->body.len, nconn);
    rc = INJ_OK;
    goto out;
nomem:
    rc = inj_err_set(err, INJ_E_NOMEM, "out of memory");
out:
    /* Drop libcurl's copies of the key and the token header from the handle's options. */
    (void)curl_easy_setopt(c, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
    (void)curl_easy_setopt(c, CURLOPT_PASSWORD, (char *)NULL);
    (void)curl_easy_setopt(c, CURLOPT_ERRORBUFFER, (char *)NULL);
    http_slist_wipe_free(hdrs);
    wipe_free(tok_hdr, tok_len);
    if (rc != INJ_OK)
        sbuf_wipe_free(&resp->body);
    return rc;
}
