/* http.h: one HTTPS client (libcurl easy handle, reused for keep-alive).
 * TLS peer and host verification are always on. SigV4 signing is libcurl's
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
    const char *method;           /* "GET", "PUT" or "POST" */
    const char *url;
    const char *const *headers;   /* NULL-terminated "Name: value" list, may be NULL;
                                     values may be tokens: never logged */
    const void *body;             /* POST/PUT body, may be NULL */
    size_t body_len;
    const char *sigv4;            /* NULL, or "aws:amz:REGION:SERVICE" to sign with creds */
    const struct creds *creds;    /* required when sigv4 is set */
    long connect_timeout_ms;      /* 0: default (3000) */
    long timeout_ms;              /* 0: default (10000); whole request */
    size_t max_response;          /* 0: default (256 KiB); larger bodies fail */
};

struct http_resp {
    long status;                  /* HTTP status, 0 when no response */
    struct sbuf body;             /* may hold a secret: http_resp_free wipes it */
    time_t server_date;           /* parsed Date header, 0 if absent */
    char amzn_error_type[128];    /* x-amzn-ErrorType header, "" if absent */
    int retryable;                /* set on a transport failure worth retrying (reset,
                                     timeout, refused, truncated); not TLS or DNS */
};

/* What the CA trust store is, for `injector version` and errors. */
const char *http_ca_source(const struct http *h);

/* Creates a client. CA: AWS_CA_BUNDLE, SSL_CERT_FILE, the usual system bundle
 * paths, else the bundle compiled into the binary. Proxies via the usual variables. */
enum inj_rc http_new(struct http **out, struct inj_err *err);
void http_free(struct http *h);

/* Performs one request. A transport failure returns INJ_E_UNAVAILABLE (connect, DNS, TLS,
 * reset, truncated body) or INJ_E_TEMPFAIL (timeout), with err naming the host.
 * Any HTTP status is INJ_OK: the caller interprets resp->status. An oversize body
 * is INJ_E_DATA. resp must be zeroed or freed before the call; free it with http_resp_free. */
enum inj_rc http_do(struct http *h, const struct http_req *req, struct http_resp *resp,
                    struct inj_err *err);
void http_resp_free(struct http_resp *resp);

/* Number of new connections (TLS handshakes) this client opened; for tests and logs. */
long http_connects(const struct http *h);

#endif
