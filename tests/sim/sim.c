/* sim.c: a deployment on a virtual clock (issue 22). TASKS tasks start over OVER seconds
 * (seeded uniform start times), each fetching the same N secrets through the real fetch
 * strategy and retry runner (fetch.c, sm.c, aws.c, linked unchanged) against one simulated
 * Secrets Manager region with AWS's quotas as token buckets (BatchGetSecretValue 100/s,
 * GetSecretValue 10,000/s, one second of burst). Nothing sleeps: this file provides mono.h
 * (the runner's clock and sleep: the link-time seam) over a virtual clock, each task is a
 * coroutine (ucontext) that yields in mono_sleep_ms and in the transport (the engine's
 * aws_transport_fn seam), and the jitter comes from a seeded generator (aws_retry.rand).
 * A call takes half a round trip to arrive, the service time, half a round trip back; a
 * task's calls at once go out over its connections (a new connection costs a handshake of
 * two round trips); calls answered at the same virtual time complete together.
 *
 * Prints one markdown table row: failed starts (goal 0), start latency p50/p99/max, calls
 * per start against the minimum, throttled answers. --check: exit 1 when a start failed. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#include "aws.h"
#include "creds.h"
#include "fetch.h"
#include "http.h"
#include "log.h"
#include "mono.h"
#include "ref.h"
#include "sm.h"

#define SIM_STACK (256 * 1024)
#define SIM_MAX_SECRETS 200

struct sim_cfg {
    long tasks;
    double over_s;
    long secrets;
    unsigned long long seed;
    enum sm_fetch_mode mode;
    enum aws_retry_mode retry;
    long long timeout_ms;
    long rtt_ms;
    long service_ms;
    double batch_rps;
    double single_rps;
    int check;
};

/* A quota at the server: a token bucket of rate tokens a second, one second's burst. */
struct sim_quota {
    double rate;
    double tokens;
    long long last;
    unsigned long calls;
    unsigned long throttled;
};

struct sim_task {
    long long start; /* first: sim_cmp_ll sorts tasks by it */
    ucontext_t uc;
    void *stack;
    long long end;
    int ok;
    int conns_open;
    unsigned long calls;
    struct aws_retry retry;
};

/* The event queue: (time, sequence) order, a binary heap. */
struct sim_ev {
    long long t;
    unsigned long long seq;
    struct sim_task *task;
};

static struct {
    struct sim_cfg cfg;
    long long now;
    unsigned long long rng;
    unsigned long long seq;
    struct sim_ev *heap;
    size_t nheap;
    size_t capheap;
    struct sim_task *cur;
    ucontext_t main_uc;
    struct sim_quota batch;
    struct sim_quota single;
    struct ref refs[SIM_MAX_SECRETS];
    struct creds creds;
    size_t live;
    size_t peak_live;
} sim;

/* ---- the seams ----------------------------------------------------------------------- */

static unsigned int sim_rand(void *arg)
{
    (void)arg;
    /* xorshift64* */
    sim.rng ^= sim.rng >> 12;
    sim.rng ^= sim.rng << 25;
    sim.rng ^= sim.rng >> 27;
    return (unsigned int)((sim.rng * 2685821657736338717ULL) >> 32);
}

static void sim_push(long long t, struct sim_task *task)
{
    size_t i;

    if (sim.nheap == sim.capheap) {
        size_t cap = sim.capheap ? sim.capheap * 2 : 1024;
        struct sim_ev *h = realloc(sim.heap, cap * sizeof(*h));

        if (!h) {
            fprintf(stderr, "sim: out of memory\n");
            exit(2);
        }
        sim.heap = h;
        sim.capheap = cap;
    }
    i = sim.nheap++;
    sim.heap[i].t = t;
    sim.heap[i].seq = sim.seq++;
    sim.heap[i].task = task;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        struct sim_ev tmp;

        if (sim.heap[p].t < sim.heap[i].t ||
            (sim.heap[p].t == sim.heap[i].t && sim.heap[p].seq < sim.heap[i].seq))
            break;
        tmp = sim.heap[p];
        sim.heap[p] = sim.heap[i];
        sim.heap[i] = tmp;
        i = p;
    }
}

static int sim_ev_less(const struct sim_ev *a, const struct sim_ev *b)
{
    return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static struct sim_ev sim_pop(void)
{
    struct sim_ev top = sim.heap[0];
    size_t i = 0;

    sim.heap[0] = sim.heap[--sim.nheap];
    for (;;) {
        size_t l = 2 * i + 1;
        size_t r = l + 1;
        size_t m = i;
        struct sim_ev tmp;

        if (l < sim.nheap && sim_ev_less(&sim.heap[l], &sim.heap[m]))
            m = l;
        if (r < sim.nheap && sim_ev_less(&sim.heap[r], &sim.heap[m]))
            m = r;
        if (m == i)
            break;
        tmp = sim.heap[m];
        sim.heap[m] = sim.heap[i];
        sim.heap[i] = tmp;
        i = m;
    }
    return top;
}

/* The running task waits until virtual time t. */
static void sim_wait_until(long long t)
{
    struct sim_task *self = sim.cur;

    sim_push(t, self);
    if (swapcontext(&self->uc, &sim.main_uc) != 0) {
        fprintf(stderr, "sim: swapcontext: %s\n", strerror(errno));
        exit(2);
    }
}

long long mono_ms(void)
{
    return sim.now;
}

void mono_sleep_ms(long long ms)
{
    if (ms > 0)
        sim_wait_until(sim.now + ms);
}

/* ---- the service ----------------------------------------------------------------------- */

static int sim_quota_take(struct sim_quota *q)
{
    double t = q->tokens + (double)(sim.now - q->last) / 1000.0 * q->rate;

    q->tokens = t < q->rate ? t : q->rate;
    q->last = sim.now;
    q->calls++;
    if (q->tokens >= 1.0) {
        q->tokens -= 1.0;
        return 1;
    }
    q->throttled++;
    return 0;
}

static void sim_append(struct http_resp *resp, const char *s)
{
    if (sbuf_append(&resp->body, s, strlen(s)) != SBUF_OK) {
        fprintf(stderr, "sim: answer too long\n");
        exit(2);
    }
}

static void sim_secret_json(struct http_resp *resp, const char *id)
{
    char buf[512];

    (void)snprintf(buf, sizeof(buf),
                   "{\"ARN\":\"arn:aws:secretsmanager:us-east-1:111122223333:secret:%s-AbCdEf\","
                   "\"Name\":\"%s\",\"VersionId\":\"v1\",\"SecretString\":\"value of %s\","
                   "\"VersionStages\":[\"AWSCURRENT\"]}",
                   id, id, id);
    sim_append(resp, buf);
}

static const char *sim_action(const struct http_req *req)
{
    static const char prefix[] = "X-Amz-Target: secretsmanager.";
    size_t i;

    for (i = 0; req->headers && req->headers[i]; i++)
        if (!strncmp(req->headers[i], prefix, sizeof(prefix) - 1))
            return req->headers[i] + sizeof(prefix) - 1;
    return "";
}

/* One request arriving now: answered from its quota. */
static void sim_answer(const struct http_req *req, struct http_resp *resp)
{
    const char *action = sim_action(req);
    int batch = !strcmp(action, "BatchGetSecretValue");
    cJSON *in = cJSON_ParseWithLength(req->body, req->body_len);
    const cJSON *id;

    memset(resp, 0, sizeof(*resp));
    resp->body.max = SM_MAX_BATCH_RESPONSE;
    if (!in || (!batch && strcmp(action, "GetSecretValue") != 0)) {
        fprintf(stderr, "sim: unexpected request %s\n", action);
        exit(2);
    }
    if (!sim_quota_take(batch ? &sim.batch : &sim.single)) {
        resp->status = 400;
        sim_append(resp, "{\"__type\":\"ThrottlingException\",\"message\":\"Rate exceeded\"}");
        cJSON_Delete(in);
        return;
    }
    resp->status = 200;
    if (!batch) {
        sim_secret_json(resp, cJSON_GetObjectItem(in, "SecretId")->valuestring);
    } else {
        int first = 1;

        sim_append(resp, "{\"SecretValues\":[");
        cJSON_ArrayForEach(id, cJSON_GetObjectItem(in, "SecretIdList"))
        {
            if (!first)
                sim_append(resp, ",");
            first = 0;
            sim_secret_json(resp, id->valuestring);
        }
        sim_append(resp, "],\"Errors\":[]}");
    }
    cJSON_Delete(in);
}

/* The transport: calls[0..n) over at most conns connections, waves of conns at a time. */
static enum inj_rc sim_transport(void *arg, struct http_call *calls, size_t n, size_t conns)
{
    struct sim_task *t = arg;
    size_t w;
    size_t i;

    for (w = 0; w < n; w += conns) {
        size_t m = n - w < conns ? n - w : conns;

        if ((size_t)t->conns_open < m) {
            /* New connections: TCP and TLS handshakes, two round trips. */
            sim_wait_until(sim.now + 2 * sim.cfg.rtt_ms);
            t->conns_open = (int)m;
        }
        sim_wait_until(sim.now + sim.cfg.rtt_ms / 2);
        for (i = w; i < w + m; i++) {
            sim_answer(calls[i].req, calls[i].resp);
            calls[i].rc = INJ_OK;
            t->calls++;
        }
        sim_wait_until(sim.now + sim.cfg.service_ms + sim.cfg.rtt_ms - sim.cfg.rtt_ms / 2);
    }
    return INJ_OK;
}

/* ---- a task ------------------------------------------------------------------------------ */

static void sim_task_main(void)
{
    struct sim_task *t = sim.cur;
    size_t n = (size_t)sim.cfg.secrets;
    struct fetched *f = calloc(n, sizeof(*f));
    struct sm_ctx ctx;
    size_t api_calls = 0;
    size_t i;

    if (!f) {
        fprintf(stderr, "sim: out of memory\n");
        exit(2);
    }
    memset(&ctx, 0, sizeof(ctx));
    ctx.creds = &sim.creds;
    ctx.region = "us-east-1";
    ctx.retry = &t->retry;
    ctx.max_attempts = t->retry.max_attempts;
    ctx.fetch_mode = sim.cfg.mode;
    ctx.deadline_ms = t->start + sim.cfg.timeout_ms;
    ctx.transport = sim_transport;
    ctx.transport_arg = t;
    for (i = 0; i < n; i++) {
        f[i].ref = &sim.refs[i];
        f[i].rc = INJ_E_SOFTWARE;
    }
    fetch_all(&ctx, f, n, &api_calls);
    t->ok = 1;
    for (i = 0; i < n; i++) {
        char want[128];

        (void)snprintf(want, sizeof(want), "value of %s", sim.refs[i].secret_id);
        if (f[i].rc != INJ_OK || f[i].secret.value.len != strlen(want) ||
            memcmp(f[i].secret.value.p, want, strlen(want)) != 0)
            t->ok = 0;
        sm_secret_free(&f[i].secret);
        sm_fail_free(&f[i].fail);
    }
    free(f);
    t->end = sim.now;
}

static void sim_run_task(struct sim_task *t)
{
    sim.cur = t;
    if (swapcontext(&sim.main_uc, &t->uc) != 0) {
        fprintf(stderr, "sim: swapcontext: %s\n", strerror(errno));
        exit(2);
    }
    sim.cur = NULL;
    if (t->end >= 0 && t->stack) {
        (void)munmap(t->stack, SIM_STACK);
        t->stack = NULL;
        sim.live--;
    }
}

static void sim_start_task(struct sim_task *t)
{
    t->stack = mmap(NULL, SIM_STACK, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (t->stack == MAP_FAILED) {
        fprintf(stderr, "sim: mmap: %s\n", strerror(errno));
        exit(2);
    }
    if (getcontext(&t->uc) != 0) {
        fprintf(stderr, "sim: getcontext: %s\n", strerror(errno));
        exit(2);
    }
    t->uc.uc_stack.ss_sp = t->stack;
    t->uc.uc_stack.ss_size = SIM_STACK;
    t->uc.uc_link = &sim.main_uc;
    t->end = -1;
    t->retry.mode = sim.cfg.retry;
    t->retry.max_attempts = sim.cfg.retry == AWS_RETRY_LEGACY ? 5 : 3;
    t->retry.rand = sim_rand;
    makecontext(&t->uc, sim_task_main, 0);
    if (++sim.live > sim.peak_live)
        sim.peak_live = sim.live;
    sim_run_task(t);
}

/* ---- the deployment --------------------------------------------------------------------- */

static int sim_cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a;
    long long y = *(const long long *)b;

    return (x > y) - (x < y);
}

static double sim_pct(const long long *v, size_t n, double p)
{
    size_t i;

    if (!n)
        return 0.0;
    i = (size_t)ceil(p / 100.0 * (double)n);
    if (i > 0)
        i--;
    if (i >= n)
        i = n - 1;
    return (double)v[i];
}

static void sim_usage(void)
{
    fprintf(stderr,
            "usage: sim [--tasks N] [--over SECS] [--secrets N] [--seed N] "
            "[--fetch auto|batch|single]\n"
            "           [--retry-mode standard|adaptive|legacy] [--timeout SECS] [--rtt MS] "
            "[--service MS]\n"
            "           [--batch-rps R] [--single-rps R] [--check] [--header]\n");
    exit(64);
}

static void sim_header(void)
{
    printf("| tasks | over | N | fetch | retry | failed | p50 | p99 | max | calls/start (min) | "
           "batch calls (throttled) | GetSecretValue calls (throttled) | peak live |\n");
    printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
}

int main(int argc, char **argv)
{
    struct sim_task *tasks;
    long long *lat;
    size_t failed = 0;
    size_t next = 0;
    unsigned long calls = 0;
    int header = 0;
    long i;

    memset(&sim, 0, sizeof(sim));
    sim.cfg.tasks = 10000;
    sim.cfg.over_s = 60.0;
    sim.cfg.secrets = 10;
    sim.cfg.seed = 1;
    sim.cfg.mode = SM_FETCH_AUTO;
    sim.cfg.retry = AWS_RETRY_STANDARD;
    sim.cfg.timeout_ms = 60000;
    sim.cfg.rtt_ms = 10;
    sim.cfg.service_ms = 10;
    sim.cfg.batch_rps = 100.0;
    sim.cfg.single_rps = 10000.0;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (!strcmp(a, "--check")) {
            sim.cfg.check = 1;
            continue;
        }
        if (!strcmp(a, "--header")) {
            header = 1;
            continue;
        }
        if (!v)
            sim_usage();
        i++;
        if (!strcmp(a, "--tasks"))
            sim.cfg.tasks = atol(v);
        else if (!strcmp(a, "--over"))
            sim.cfg.over_s = atof(v);
        else if (!strcmp(a, "--secrets"))
            sim.cfg.secrets = atol(v);
        else if (!strcmp(a, "--seed"))
            sim.cfg.seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--fetch"))
            sim.cfg.mode = sm_fetch_mode_parse(v);
        else if (!strcmp(a, "--retry-mode"))
            sim.cfg.retry = !strcmp(v, "adaptive") ? AWS_RETRY_ADAPTIVE
                            : !strcmp(v, "legacy") ? AWS_RETRY_LEGACY
                                                   : AWS_RETRY_STANDARD;
        else if (!strcmp(a, "--timeout"))
            sim.cfg.timeout_ms = (long long)(atof(v) * 1000.0);
        else if (!strcmp(a, "--rtt"))
            sim.cfg.rtt_ms = atol(v);
        else if (!strcmp(a, "--service"))
            sim.cfg.service_ms = atol(v);
        else if (!strcmp(a, "--batch-rps"))
            sim.cfg.batch_rps = atof(v);
        else if (!strcmp(a, "--single-rps"))
            sim.cfg.single_rps = atof(v);
        else
            sim_usage();
    }
    if (sim.cfg.tasks < 1 || sim.cfg.secrets < 1 || sim.cfg.secrets > SIM_MAX_SECRETS ||
        sim.cfg.mode == SM_FETCH_UNSET || sim.cfg.timeout_ms < 1 || sim.cfg.over_s < 0)
        sim_usage();
    if (header)
        sim_header();
    log_set_level(LOG_LVL_QUIET);
    unsetenv("AWS_ENDPOINT_URL");
    unsetenv("AWS_ENDPOINT_URL_SECRETS_MANAGER");
    sim.rng = sim.cfg.seed * 0x9E3779B97F4A7C15ULL + 1;
    sim.batch.rate = sim.batch.tokens = sim.cfg.batch_rps;
    sim.single.rate = sim.single.tokens = sim.cfg.single_rps;
    sim.creds.access_key_id = "AKIDSIMULATOR";
    sim.creds.secret_access_key = "sim-secret-key";
    (void)snprintf(sim.creds.source, sizeof(sim.creds.source), "simulator");
    for (i = 0; i < sim.cfg.secrets; i++) {
        char name[64];
        struct inj_err err;

        (void)snprintf(name, sizeof(name), "sim/secret-%ld", i);
        if (ref_parse(name, &sim.refs[i], &err) != INJ_OK) {
            fprintf(stderr, "sim: %s\n", err.msg);
            return 2;
        }
    }
    tasks = calloc((size_t)sim.cfg.tasks, sizeof(*tasks));
    lat = calloc((size_t)sim.cfg.tasks, sizeof(*lat));
    if (!tasks || !lat) {
        fprintf(stderr, "sim: out of memory\n");
        return 2;
    }
    for (i = 0; i < sim.cfg.tasks; i++)
        tasks[i].start =
            (long long)((double)sim_rand(NULL) / 4294967296.0 * sim.cfg.over_s * 1000.0);
    qsort(tasks, (size_t)sim.cfg.tasks, sizeof(*tasks), sim_cmp_ll);

    /* Starts and wake-ups in time order (a start before a wake-up at the same time). */
    while (next < (size_t)sim.cfg.tasks || sim.nheap) {
        if (next < (size_t)sim.cfg.tasks && (!sim.nheap || tasks[next].start <= sim.heap[0].t)) {
            sim.now = tasks[next].start;
            sim_start_task(&tasks[next++]);
            continue;
        }
        {
            struct sim_ev ev = sim_pop();

            sim.now = ev.t;
            sim_run_task(ev.task);
        }
    }

    for (i = 0; i < sim.cfg.tasks; i++) {
        lat[i] = tasks[i].end - tasks[i].start;
        failed += !tasks[i].ok;
        calls += tasks[i].calls;
    }
    qsort(lat, (size_t)sim.cfg.tasks, sizeof(*lat), sim_cmp_ll);
    {
        long n = sim.cfg.secrets;
        long min = sim.cfg.mode == SM_FETCH_SINGLE || n < 2 ? n : (n + 19) / 20;

        printf("| %ld | %g s | %ld | %s | %s | %zu | %.0f ms | %.0f ms | %.0f ms | %.2f (%ld) | "
               "%lu (%lu) | %lu (%lu) | %zu |\n",
               sim.cfg.tasks, sim.cfg.over_s, n, sm_fetch_mode_name(sim.cfg.mode),
               sim.cfg.retry == AWS_RETRY_ADAPTIVE ? "adaptive"
               : sim.cfg.retry == AWS_RETRY_LEGACY ? "legacy"
                                                   : "standard",
               failed, sim_pct(lat, (size_t)sim.cfg.tasks, 50),
               sim_pct(lat, (size_t)sim.cfg.tasks, 99), (double)lat[sim.cfg.tasks - 1],
               (double)calls / (double)sim.cfg.tasks, min, sim.batch.calls, sim.batch.throttled,
               sim.single.calls, sim.single.throttled, sim.peak_live);
    }
    for (i = 0; i < sim.cfg.secrets; i++)
        ref_free(&sim.refs[i]);
    free(tasks);
    free(lat);
    free(sim.heap);
    return sim.cfg.check && failed ? 1 : 0;
}
