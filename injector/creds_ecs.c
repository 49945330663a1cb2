/* creds_ecs.c: container credentials: ECS task roles and CodeBuild
 * (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI on 169.254.170.2) and EKS Pod Identity
 * (AWS_CONTAINER_CREDENTIALS_FULL_URI + AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE). */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "creds_int.h"
#include "http.h"
#include "log.h"
#include "mono.h"
#include "redact.h"
#include "rfile.h"

#define ECS_HOST "http://169.254.170.2"
#define ECS_ATTEMPTS 3
#define ECS_CONNECT_MS 2000L /* botocore: 2 s, 3 attempts */
#define ECS_TIMEOUT_MS 5000L

/* The IPv4 and IPv6 addresses plain http:// may go to (botocore's _ALLOWED_HOSTS plus
 * loopback): credentials must not cross a network in clear text. */
static int ecs_host_allowed(const char *host)
{
    unsigned char a4[4];
    unsigned char a6[16];
    unsigned char want6[16];
    char h[64];
    size_t n = strlen(host);

    if (!strcasecmp(host, "localhost"))
        return 1;
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof(h)) {
        memcpy(h, host + 1, n - 2);
        h[n - 2] = '\0';
        if (inet_pton(AF_INET6, h, a6) != 1)
            return 0;
        if (inet_pton(AF_INET6, "::1", want6) == 1 && !memcmp(a6, want6, 16))
            return 1;
        return inet_pton(AF_INET6, "fd00:ec2::23", want6) == 1 && !memcmp(a6, want6, 16);
    }
    if (inet_pton(AF_INET, host, a4) != 1)
        return 0;
    if (a4[0] == 127)
        return 1;
    return a4[0] == 169 && a4[1] == 254 && a4[2] == 170 && (a4[3] == 2 || a4[3] == 23);
}

int creds_ecs_uri_allowed(const char *uri, char *why, size_t n)
{
    CURLU *u = curl_url();
    char *scheme = NULL;
    char *host = NULL;
    char *user = NULL;
    int ok = 0;

    why[0] = '\0';
    if (!u) {
        (void)snprintf(why, n, "out of memory");
        return 0;
    }
    /* libcurl's own parser: the host we check is the host libcurl will connect to. */
    if (curl_url_set(u, CURLUPART_URL, uri, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        (void)snprintf(why, n, "not a URL");
        goto out;
    }
    if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
        (void)snprintf(why, n, "a user name in the URL is not allowed");
        goto out;
    }
    if (!strcasecmp(scheme, "https")) {
        ok = 1;
        goto out;
    }
    if (strcasecmp(scheme, "http") != 0) {
        (void)snprintf(why, n, "scheme %.16s: expected http or https", scheme);
        goto out;
    }
    ok = ecs_host_allowed(host);
    if (!ok)
        (void)snprintf(why, n,
                       "http:// may only go to loopback, 169.254.170.2, 169.254.170.23 or "
                       "[fd00:ec2::23], not %.100s; use https://",
                       host);
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(user);
    curl_url_cleanup(u);
    return ok;
}

/* scheme://host[:port] of url, for messages: the path of a relative URI is a per-task id. */
static void ecs_origin(const char *url, char *buf, size_t n)
{
    const char *p = strstr(url, "://");
    size_t len;

    p = p ? p + 3 : url;
    len = (size_t)(p - url) + strcspn(p, "/?#");
    if (len >= n)
        len = n - 1;
    memcpy(buf, url, len);
    buf[len] = '\0';
}

/* "Authorization: TOKEN" (owned, wiped by the caller), from the token file (re-read on every
 * call: EKS rotates it) or AWS_CONTAINER_AUTHORIZATION_TOKEN. *hdr NULL when neither. */
static enum creds_status ecs_auth_header(const struct creds_ctx *ctx, char **hdr, size_t *hdr_len,
                                         char **tok_copy, struct creds_try *t)
{
    struct sbuf file = SBUF_INIT(CREDS_MAX_TOKEN_FILE);
    const char *path = creds_getenv(ctx, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    const char *src = "AWS_CONTAINER_AUTHORIZATION_TOKEN";
    enum creds_status st = CREDS_OK;
    const char *tok;
    const char *c;
    struct inj_err fe;

    *hdr = NULL;
    *hdr_len = 0;
    *tok_copy = NULL;
    if (path) {
        memset(&fe, 0, sizeof(fe));
        if (rfile_read("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", path, CREDS_MAX_TOKEN_FILE,
                       RFILE_WIPE, &file, NULL, &fe) != INJ_OK) {
            st = fe.code == INJ_E_NOMEM ? creds_nomem(t) : creds_fail(t, "%s", fe.msg);
            goto out;
        }
        tok = creds_trim((char *)file.p);
        src = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE";
    } else {
        tok = creds_getenv(ctx, "AWS_CONTAINER_AUTHORIZATION_TOKEN");
        if (!tok)
            goto out;
    }
    if (!*tok) {
        st = creds_fail(t, "%s: the token is empty", src);
        goto out;
    }
    for (c = tok; *c; c++) {
        if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f) {
            /* A CR or LF would end the header and start another. */
            st = creds_fail(t, "%s: the token has control characters", src);
            goto out;
        }
    }
    *hdr_len = strlen("Authorization: ") + strlen(tok) + 1;
    *hdr = malloc(*hdr_len);
    *tok_copy = xstrdup(tok);
    if (!*hdr || !*tok_copy) {
        st = creds_nomem(t);
        goto out;
    }
    (void)snprintf(*hdr, *hdr_len, "Authorization: %s", tok);
out:
    if (st != CREDS_OK) {
        wipe_free(*hdr, *hdr_len);
        wipe_free_str(*tok_copy);
        *hdr = NULL;
        *tok_copy = NULL;
    }
    sbuf_wipe_free(&file);
    return st;
}

static const char *ecs_hint(long status)
{
    if (status == 401 || status == 403)
        return "; the endpoint refused the authorization token: check "
               "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE / AWS_CONTAINER_AUTHORIZATION_TOKEN";
    if (status == 404)
        return "; no credentials at this URI: is a task role (or Pod Identity association) "
               "set?";
    return "";
}

enum creds_status creds_ecs_get(const struct creds_ctx *ctx, struct creds *out, struct creds_try *t)
{
    const char *rel = creds_getenv(ctx, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = creds_getenv(ctx, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
    const char *headers[3] = {"Accept: application/json", NULL, NULL};
    enum creds_status st;
    struct http_resp resp;
    struct http_req req;
    struct inj_err e;
    char *hdr = NULL;
    char *tok = NULL;
    size_t hdr_len = 0;
    char url[2048];
    char origin[256];
    char why[256];
    char body_msg[200];
    const char *c;
    static const struct creds_retry rules = {
        "container endpoint", ECS_ATTEMPTS, ECS_TIMEOUT_MS, ECS_CONNECT_MS, 100L, 0, NULL};
    enum inj_rc rc;
    int tries = 0;
    int no_time = 0;
    int w;

    memset(&resp, 0, sizeof(resp));
    if (!rel && !full)
        return creds_skip(t, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and "
                             "AWS_CONTAINER_CREDENTIALS_FULL_URI not set");
    /* botocore: the relative URI wins when both are set. */
    if (rel) {
        for (c = rel; *c; c++)
            if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
                return creds_fail(t, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI has spaces or "
                                     "control characters");
        w = snprintf(url, sizeof(url), ECS_HOST "%s%s", rel[0] == '/' ? "" : "/", rel);
    } else {
        if (!creds_ecs_uri_allowed(full, why, sizeof(why)))
            return creds_fail(t, "AWS_CONTAINER_CREDENTIALS_FULL_URI: %s", why);
        w = snprintf(url, sizeof(url), "%s", full);
    }
    if (w < 0 || (size_t)w >= sizeof(url))
        return creds_fail(t, "container credentials URI too long");
    ecs_origin(url, origin, sizeof(origin));
    if (!ctx->http)
        return creds_fail(t, "no HTTP client");
    st = ecs_auth_header(ctx, &hdr, &hdr_len, &tok, t);
    if (st != CREDS_OK)
        return st;
    headers[1] = hdr;
    memset(&req, 0, sizeof(req));
    req.method = "GET";
    req.url = url;
    req.headers = headers;
    req.max_response = CREDS_MAX_JSON;
    rc = creds_http_retry(ctx, &rules, &req, &resp, &e, &tries, &no_time);
    if (no_time) {
        st = creds_fail_code(t, INJ_E_TEMPFAIL,
                             "%s: %.700s%sno time left for attempt %d " DEADLINE_WHY, origin, e.msg,
                             e.msg[0] ? "; " : "", tries + 1);
        goto out;
    }
    if (rc == INJ_E_NOMEM) {
        st = creds_nomem(t);
        goto out;
    }
    if (rc != INJ_OK) {
        st = creds_fail_code(t, rc, "%s (%s): %s (%d attempt%s)", origin,
                             rel ? "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
                                 : "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                             e.msg, tries, tries == 1 ? "" : "s");
        goto out;
    }
    if (resp.status >= 500) {
        st = creds_fail_code(t, INJ_E_UNAVAILABLE, "%s: HTTP %ld after %d attempts", origin,
                             resp.status, tries);
        goto out;
    }
    if (resp.status != 200) {
        const char *known[] = {tok};

        redact_text((const char *)resp.body.p, resp.body.len, known, 1, body_msg, sizeof(body_msg));
        st = creds_fail(t, "%s: HTTP %ld%s%s%s", origin, resp.status, body_msg[0] ? ": " : "",
                        body_msg, ecs_hint(resp.status));
        goto out;
    }
    st = creds_parse_json(resp.body.p, resp.body.len, CREDS_JSON_CONTAINER, time(NULL), "container",
                          "container endpoint answer", out, t);
    if (st == CREDS_OK)
        log_debug("container credentials from %s", origin);
out:
    http_resp_free(&resp);
    wipe_free(hdr, hdr_len);
    wipe_free_str(tok);
    return st;
}
