/* awserr.h: the one AWS error table. Every error answer, whatever its shape (a JSON 1.1
 * "__type", the x-amzn-ErrorType header, an XML ErrorResponse/Error body, or a body that is
 * none of these: an HTML page from a proxy, an empty body), ends as one (status, code,
 * message) triple and one kind. Retryability, throttling, the exit code, another operation's
 * chance (the batch fallback) and the "how to fix" wording all follow from the kind. */
#ifndef INJ_AWSERR_H
#define INJ_AWSERR_H

#include <stddef.h>
#include <time.h>

#include "err.h"

struct http_resp;

enum aws_kind {
    AWS_K_NONE = 0,        /* not an error answer (a transport failure, or a success) */
    AWS_K_DENIED,          /* the role's policy refuses the operation's IAM action */
    AWS_K_REFUSED,         /* 401/403 that names no code we know: permission or credentials */
    AWS_K_KMS,             /* the secret's KMS key refused (kms:Decrypt denied, key disabled) */
    AWS_K_SIGNATURE,       /* signature mismatch: secret key, clock skew or region */
    AWS_K_KEY_INVALID,     /* the access key id is unknown (or its session token is bad) */
    AWS_K_EXPIRED,         /* the session token has expired */
    AWS_K_UNAUTHENTICATED, /* the request carried no (or an incomplete) signature */
    AWS_K_CLOCK,           /* RequestExpired: the local clock is far off */
    AWS_K_OPT_IN,          /* the account is not opted in to the service in the region */
    AWS_K_NOT_FOUND,       /* no such secret / version / parameter */
    AWS_K_THROTTLED,       /* a quota: retried with backoff, 75 when exhausted */
    AWS_K_TRANSIENT,       /* a server-side failure: retried, 69 when exhausted */
    AWS_K_UNKNOWN_ACTION,  /* the endpoint does not know the operation */
    AWS_K_INVALID,         /* a parameter was refused (validation) */
    AWS_K_BAD_REQUEST,     /* the request is valid but not now (secret scheduled for deletion) */
    AWS_K_UNEXPECTED,      /* any other answer */
};

/* One error answer, normalised. */
struct aws_fault {
    long status;   /* HTTP status */
    char code[96]; /* "AccessDeniedException": no "namespace#", no ":extra"; "" if none */
    char msg[320]; /* the service's message, cleaned (aws_clean_msg); "" if none */
    enum aws_kind kind;
    time_t server_date; /* the answer's Date header, 0 if none (clock skew) */
};

/* The kind a code names in the table (AWS_K_UNEXPECTED for a code not in it, or ""). */
enum aws_kind aws_code_kind(const char *code);

/* The kind of an answer: the code's, refined by what the service said (an AccessDenied
 * about KMS is a KMS refusal), else the status decides: 401/403 refused, 429 throttled,
 * 5xx transient. */
enum aws_kind aws_classify(long status, const char *code, const char *msg);

/* Values a server must never get to print back: the signing keys (redact.h). */
struct aws_known {
    const char *const *v;
    size_t n;
};

/* Reads any error answer (status >= 300) into *f: JSON __type/message/Message, then
 * x-amzn-ErrorType, then XML Code/Message, else the bare status. f->kind is set. The message
 * is cleaned with known (may be NULL): an echoed key, token or signature never reaches f. */
void aws_parse_fault(const struct http_resp *resp, const struct aws_known *known,
                     struct aws_fault *f);

/* Fills *f for a per-item error inside a 200 answer (BatchGetSecretValue's Errors); the
 * message is cleaned with known (may be NULL), as aws_parse_fault's. */
void aws_fault_set_known(struct aws_fault *f, long status, const char *code, const char *msg,
                         const struct aws_known *known);
/* aws_fault_set_known without known values. */
void aws_fault_set(struct aws_fault *f, long status, const char *code, const char *msg);

/* The one place server text becomes ours: a bounded, printable-ASCII copy of in with every
 * credential redacted (redact_text: the known values, and whatever looks like a key, token,
 * Authorization header or signature). known may be NULL. */
void aws_clean_msg(const char *in, size_t len, const struct aws_known *known, char *out, size_t n);

/* What a kind means. */
int aws_kind_retryable(enum aws_kind k);    /* another attempt may succeed */
int aws_kind_throttle(enum aws_kind k);     /* a quota: spare it */
int aws_kind_refused(enum aws_kind k);      /* the caller lacks the action: another operation
                                             (GetSecretValue instead of the batch) may work */
int aws_kind_unsupported(enum aws_kind k);  /* the endpoint does not take this operation */
const char *aws_kind_name(enum aws_kind k); /* "denied", "throttled", ... for logs/tests */

/* The error for a fault, worded for what was asked: service (its name, "Secrets Manager"),
 * the operation's IAM action ("secretsmanager:GetSecretValue"), the endpoint host prefix
 * (kms:ViaService), the region, the credential source, attempts made. Writes the cause
 * without any secret name into cause (for "one message per cause") and returns the code. */
struct aws_wording {
    const char *service;     /* "Secrets Manager" */
    const char *iam_action;  /* "secretsmanager:GetSecretValue" */
    const char *action;      /* "GetSecretValue" */
    const char *host_prefix; /* "secretsmanager" */
    const char *region;
    const char *dns_suffix;   /* the region's: "amazonaws.com", "amazonaws.com.cn" */
    const char *creds_source; /* "env", "web identity", ...; "unknown" when "" */
    int attempts;
    const char *not_found_hint;   /* the service's: what to check when something is missing */
    const char *bad_request_hint; /* the service's: why a valid request may be refused */
    int decrypts;                 /* the operation returns values (struct aws_op's) */
};
enum inj_rc aws_fault_cause(const struct aws_fault *f, const struct aws_wording *w, char *cause,
                            size_t n);

#endif
