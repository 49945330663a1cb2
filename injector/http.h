/* http.h: one HTTPS client: a small pool of libcurl handles on one multi handle, so every
 * request (http_do or http_do_many) shares keep-alive connections, the DNS cache and TLS
 * sessions. TLS peer and host verification are always on. SigV4 signing is libcurl's
 * CURLOPT_AWS_SIGV4. Nothing here logs headers or bodies. */
#ifndef INJ_HTTP_H
#define INJ_HTTP_H

#include <stddef.h>
#include <time.h>

#include "err.h"
#include "sbuf.h"

struct creds;
struct http;

struct http_req {
    const char *method; /* "GET", "PUT" or "POST" */
    const char *url;
    const char *const *headers; /* NULL-terminated "Name: value" list, may be NULL;
                                     values may be tokens: never logged */
    const void *body;           /* POST/PUT body, may be NULL */
    size_t body_len;
    const char *sigv4;         /* NULL, or "aws:amz:REGION:SERVICE" to sign with creds */
    const struct creds *creds; /* required when sigv4 is set */
    long connect_timeout_ms;   /* 0: default (3000) */
    long timeout_ms;           /* 0: default (10000); whole request */
    size_t max_response;       /* 0: default (256 KiB); larger bodies fail */
};

struct http_resp {
    long status;               /* HTTP status, 0 when no response */
    struct sbuf body;          /* may hold a secret: http_resp_free wipes it */
    time_t server_date;        /* parsed Date header, 0 if absent */
    char amzn_error_type[128]; /* x-amzn-ErrorType header, "" if absent */
    int retryable;             /* set on a transport failure worth retrying (reset,
                                     timeout, refused, truncated); not TLS or DNS */
};

/* What the CA trust store is, for `injector version` and errors. */
const char *http_ca_source(const struct http *h);

/* Creates a client. CA: AWS_CA_BUNDLE, SSL_CERT_FILE, SSL_CERT_DIR, the system's hashed
 * directory /etc/ssl/certs (read lazily), the usual system bundle paths, else the bundle
 * compiled into the binary. Proxies via the usual variables. */
enum inj_rc http_new(struct http **out, struct inj_err *err);
void http_free(struct http *h);

/* Performs one request. A transport failure returns INJ_E_UNAVAILABLE (connect, DNS, TLS,
 * reset, truncated body) or INJ_E_TEMPFAIL (timeout), with err naming the host.
 * Any HTTP status is INJ_OK: the caller interprets resp->status. An oversize body
 * is INJ_E_DATA. resp must be zeroed or freed before the call; free it with http_resp_free. */
enum inj_rc http_do(struct http *h, const struct http_req *req, struct http_resp *resp,
                    struct inj_err *err);
void http_resp_free(struct http_resp *resp);

/* The most connections http_do_many opens at once. */
#define HTTP_POOL_MAX 10

/* One request of http_do_many and its outcome. */
struct http_call {
    const struct http_req *req; /* borrowed */
    struct http_resp *resp;     /* as http_do's: zeroed or freed before the call */
    struct inj_err *err;        /* this request's error */
    enum inj_rc rc;             /* what http_do would have returned */
};

/* Performs calls[0..n) concurrently over at most max_conns (1..HTTP_POOL_MAX) connections,
 * reusing this client's idle keep-alive connections first. A host is resolved once: while
 * its first transfer is connecting, the others to it wait, then take the cached address.
 * Each call ends as http_do would have ended it. Returns the first failing call's rc. */
enum inj_rc http_do_many(struct http *h, struct http_call *calls, size_t n, size_t max_conns);

/* Number of new connections (TLS handshakes) this client opened; for tests and logs. */
long http_connects(const struct http *h);

#endif
