/* test_awserr.c: the one AWS error table, table-driven: every answer shape (JSON __type with
 * or without "namespace#" and ":extra", x-amzn-ErrorType, XML ErrorResponse/Error, HTML,
 * empty) ends as one (code, message, kind), and what each kind means (retry, throttle,
 * batch fallback, exit code, the IAM action in the fix). */
#include "unit.h"

#include "aws.h"
#include "awserr.h"
#include "http.h"
#include "jx.h"

struct shape {
    const char *name;
    long status;
    const char *body;
    const char *header; /* x-amzn-ErrorType, NULL: none */
    const char *code;   /* expected */
    const char *msg;    /* expected (prefix) */
    enum aws_kind kind; /* expected */
};

#define XML_ERR(code, msg)                                                              \
    "<?xml version=\"1.0\"?>\n<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/\">" \
    "<Error><Type>Sender</Type><Code>" code "</Code><Message>" msg "</Message></Error>" \
    "<RequestId>1</RequestId></ErrorResponse>"

static const struct shape shapes[] = {
    {"json", 400, "{\"__type\":\"AccessDeniedException\",\"message\":\"no\"}", NULL,
     "AccessDeniedException", "no", AWS_K_DENIED},
    {"json Message", 400, "{\"__type\":\"ResourceNotFoundException\",\"Message\":\"gone\"}", NULL,
     "ResourceNotFoundException", "gone", AWS_K_NOT_FOUND},
    {"json namespaced", 400,
     "{\"__type\":\"com.amazonaws.secretsmanager#DecryptionFailure\",\"Message\":\"k\"}", NULL,
     "DecryptionFailure", "k", AWS_K_KMS},
    {"json ns#Code:extra", 400,
     "{\"__type\":\"com.amazon.coral.service#UnrecognizedClientException:http://x/y\"}", NULL,
     "UnrecognizedClientException", "", AWS_K_KEY_INVALID},
    {"json denied about KMS", 400,
     "{\"__type\":\"AccessDeniedException\",\"Message\":\"not authorized: kms:Decrypt\"}", NULL,
     "AccessDeniedException", "not authorized: kms:Decrypt", AWS_K_KMS},
    {"json denied, a role named kms", 400,
     "{\"__type\":\"AccessDeniedException\",\"Message\":\"User: "
     "arn:aws:sts::1:assumed-role/orders-kms-reader/s is not authorized to perform: "
     "secretsmanager:GetSecretValue\"}",
     NULL, "AccessDeniedException",
     "User: arn:aws:sts::1:assumed-role/orders-kms-reader/s is not authorized to perform: "
     "secretsmanager:GetSecretValue",
     AWS_K_DENIED},
    {"json denied, KMS's own words", 400,
     "{\"__type\":\"AccessDeniedException\",\"Message\":\"Access to KMS is not allowed\"}", NULL,
     "AccessDeniedException", "Access to KMS is not allowed", AWS_K_KMS},
    {"json throttle", 400, "{\"__type\":\"ThrottlingException\",\"message\":\"Rate exceeded\"}",
     NULL, "ThrottlingException", "Rate exceeded", AWS_K_THROTTLED},
    {"json 500 any code", 500, "{\"__type\":\"KMSInternalException\"}", NULL,
     "KMSInternalException", "", AWS_K_TRANSIENT},
    {"json unknown code", 400, "{\"__type\":\"SomethingNewException\",\"message\":\"?\"}", NULL,
     "SomethingNewException", "?", AWS_K_UNEXPECTED},
    {"json wins over header", 400, "{\"__type\":\"ThrottlingException\"}", "AccessDenied",
     "ThrottlingException", "", AWS_K_THROTTLED},
    {"header only", 400, "", "AccessDeniedException:http://internal.amazon.com/coral/",
     "AccessDeniedException", "", AWS_K_DENIED},
    {"header and JSON without __type", 400, "{\"message\":\"m\"}", "ExpiredTokenException",
     "ExpiredTokenException", "m", AWS_K_EXPIRED},
    {"xml ErrorResponse 403", 403, XML_ERR("AccessDenied", "User: x is not authorized"), NULL,
     "AccessDenied", "User: x is not authorized", AWS_K_DENIED},
    {"xml signature", 403, XML_ERR("SignatureDoesNotMatch", "The request signature"), NULL,
     "SignatureDoesNotMatch", "The request signature", AWS_K_SIGNATURE},
    {"xml entities", 403, XML_ERR("InvalidClientTokenId", "a &amp; b &lt;c&gt;"), NULL,
     "InvalidClientTokenId", "a & b <c>", AWS_K_KEY_INVALID},
    {"xml bare Error", 403,
     "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>", NULL,
     "AccessDenied", "Access Denied", AWS_K_DENIED},
    {"xml unknown code 403", 403, XML_ERR("Forbidden", "nope"), NULL, "Forbidden", "nope",
     AWS_K_REFUSED},
    {"xml throttle 400", 400, XML_ERR("Throttling", "Rate exceeded"), NULL, "Throttling",
     "Rate exceeded", AWS_K_THROTTLED},
    {"html 403", 403, "<html><body><h1>403 Forbidden</h1></body></html>", NULL, "", "",
     AWS_K_REFUSED},
    {"empty 403", 403, "", NULL, "", "", AWS_K_REFUSED},
    {"empty 401", 401, "", NULL, "", "", AWS_K_REFUSED},
    {"html 429", 429, "<html>Too Many Requests</html>", NULL, "", "", AWS_K_THROTTLED},
    {"html 502", 502, "<html>502 Bad Gateway</html>", NULL, "", "", AWS_K_TRANSIENT},
    {"empty 503", 503, "", NULL, "", "", AWS_K_TRANSIENT},
    {"empty 404", 404, "", NULL, "", "", AWS_K_UNEXPECTED},
    {"xml UnknownOperation 404", 404, "<UnknownOperationException/>", NULL, "", "",
     AWS_K_UNEXPECTED},
    {"empty 418", 418, "", NULL, "", "", AWS_K_UNEXPECTED},
    {"JSON array 403", 403, "[1]", NULL, "", "", AWS_K_REFUSED},
    {"control characters", 400, "{\"__type\":\"Bad\\u0001Code\",\"message\":\"a\\nb\"}", NULL,
     "Bad?Code", "a?b", AWS_K_UNEXPECTED},
};

static void answer(struct http_resp *resp, long status, const char *body, const char *header)
{
    memset(resp, 0, sizeof(*resp));
    resp->status = status;
    resp->body.max = 1 << 20;
    assert_int_equal(sbuf_append(&resp->body, body, strlen(body)), SBUF_OK);
    if (header)
        (void)snprintf(resp->amzn_error_type, sizeof(resp->amzn_error_type), "%s", header);
}

static void every_shape_is_read(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        const struct shape *s = &shapes[i];
        struct http_resp resp;
        struct aws_fault f;

        answer(&resp, s->status, s->body, s->header);
        aws_parse_fault(&resp, NULL, &f);
        http_resp_free(&resp);
        if (strcmp(f.code, s->code) != 0 || strncmp(f.msg, s->msg, strlen(s->msg)) != 0 ||
            f.kind != s->kind || f.status != s->status) {
            print_error("%s: got code \"%s\" msg \"%s\" kind %s, want \"%s\" \"%s\" %s\n", s->name,
                        f.code, f.msg, aws_kind_name(f.kind), s->code, s->msg,
                        aws_kind_name(s->kind));
            fail();
        }
    }
}

/* What each kind means: retried, a throttle, another operation may work, and the exit. */
static void kinds_decide_everything(void **state)
{
    static const struct {
        enum aws_kind kind;
        int retry, throttle, refused, unsupported;
        enum inj_rc rc;
    } want[] = {
        {AWS_K_DENIED, 0, 0, 1, 0, INJ_E_NOPERM},
        {AWS_K_REFUSED, 0, 0, 1, 0, INJ_E_NOPERM},
        {AWS_K_KMS, 0, 0, 0, 0, INJ_E_NOPERM},
        {AWS_K_SIGNATURE, 0, 0, 0, 0, INJ_E_NOPERM},
        {AWS_K_KEY_INVALID, 0, 0, 0, 0, INJ_E_NOPERM},
        {AWS_K_EXPIRED, 0, 0, 0, 0, INJ_E_NOPERM},
        {AWS_K_UNAUTHENTICATED, 0, 0, 0, 0, INJ_E_NOPERM},
        {AWS_K_CLOCK, 0, 0, 0, 0, INJ_E_NOPERM},
        {AWS_K_OPT_IN, 0, 0, 0, 0, INJ_E_NOPERM},
        {AWS_K_NOT_FOUND, 0, 0, 0, 0, INJ_E_MISSING},
        {AWS_K_THROTTLED, 1, 1, 0, 0, INJ_E_TEMPFAIL},
        {AWS_K_TRANSIENT, 1, 0, 0, 0, INJ_E_UNAVAILABLE},
        {AWS_K_UNKNOWN_ACTION, 0, 0, 0, 1, INJ_E_SOFTWARE},
        {AWS_K_INVALID, 0, 0, 0, 1, INJ_E_CONFIG},
        {AWS_K_BAD_REQUEST, 0, 0, 0, 0, INJ_E_DATA},
        {AWS_K_UNEXPECTED, 0, 0, 0, 0, INJ_E_UNAVAILABLE},
    };
    struct aws_wording w = {"Secrets Manager",
                            "secretsmanager:GetSecretValue",
                            "GetSecretValue",
                            "secretsmanager",
                            "eu-west-1",
                            "amazonaws.com",
                            "env",
                            3,
                            NULL,
                            NULL,
                            0};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        struct aws_fault f;
        char cause[AWS_CAUSE_MAX];

        memset(&f, 0, sizeof(f));
        f.kind = want[i].kind;
        f.status = 400;
        assert_int_equal(aws_kind_retryable(f.kind), want[i].retry);
        assert_int_equal(aws_kind_throttle(f.kind), want[i].throttle);
        assert_int_equal(aws_kind_refused(f.kind), want[i].refused);
        assert_int_equal(aws_kind_unsupported(f.kind), want[i].unsupported);
        assert_int_equal(aws_fault_cause(&f, &w, cause, sizeof(cause)), want[i].rc);
        assert_true(cause[0]);
    }
}

/* The fix names the operation's IAM action, and says whether the key or the policy. */
static void wording_names_the_iam_action(void **state)
{
    struct aws_wording w = {"Secrets Manager",
                            "secretsmanager:BatchGetSecretValue",
                            "BatchGetSecretValue",
                            "secretsmanager",
                            "eu-west-1",
                            "amazonaws.com",
                            "web identity",
                            1,
                            NULL,
                            NULL,
                            0};
    struct aws_fault f;
    char cause[AWS_CAUSE_MAX];

    (void)state;
    aws_fault_set(&f, 400, "AccessDeniedException", "User x is not authorized");
    assert_int_equal(aws_fault_cause(&f, &w, cause, sizeof(cause)), INJ_E_NOPERM);
    assert_contains(cause, "secretsmanager:BatchGetSecretValue denied (AccessDeniedException");
    assert_null(strstr(cause, "User x")); /* AWS's text is the caller's to add */
    /* kms:Decrypt only where the operation returns values (struct aws_op's decrypts). */
    assert_null(strstr(cause, "kms:Decrypt"));
    w.decrypts = 1;
    assert_int_equal(aws_fault_cause(&f, &w, cause, sizeof(cause)), INJ_E_NOPERM);
    assert_contains(cause, "task role (and kms:Decrypt if a customer managed key encrypts it)");
    aws_fault_set(&f, 403, "", NULL);
    assert_int_equal(aws_fault_cause(&f, &w, cause, sizeof(cause)), INJ_E_NOPERM);
    assert_contains(cause, "HTTP 403 (not an AWS error body): BatchGetSecretValue refused: the "
                           "role lacks secretsmanager:BatchGetSecretValue, or the access key or "
                           "its signature was refused (credentials from web identity)");
    aws_fault_set(&f, 400, "DecryptionFailure", "x");
    (void)aws_fault_cause(&f, &w, cause, sizeof(cause));
    assert_contains(cause, "kms:ViaService secretsmanager.eu-west-1.amazonaws.com");
    w.region = "cn-north-1";
    w.dns_suffix = "amazonaws.com.cn";
    (void)aws_fault_cause(&f, &w, cause, sizeof(cause));
    assert_contains(cause, "kms:ViaService secretsmanager.cn-north-1.amazonaws.com.cn,");
    w.region = "eu-west-1";
    aws_fault_set(&f, 429, "", NULL);
    assert_int_equal(aws_fault_cause(&f, &w, cause, sizeof(cause)), INJ_E_TEMPFAIL);
    assert_contains(cause, "throttled by Secrets Manager in eu-west-1 after 1 attempt(s)");
    {
        /* An Errors item's message that echoes the secret access key (40 characters: too
         * short for the unnamed-run rule) is cleaned with the known values. */
        const char *key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        const char *keys[2] = {key, NULL};
        const struct aws_known known = {keys, 2};
        char msg[200];

        (void)snprintf(msg, sizeof(msg), "the request signed with %s was refused", key);
        aws_fault_set_known(&f, 400, "AccessDeniedException", msg, &known);
        assert_null(strstr(f.msg, "wJalrXUtnFEMI"));
        assert_null(strstr(f.msg, "EXAMPLEKEY"));
        assert_contains(f.msg, "the request signed with [redacted] was refused");
    }
}

/* The table itself: a code maps to one kind; codes not in it are the status's to decide. */
static void code_table(void **state)
{
    (void)state;
    assert_int_equal(aws_code_kind("AccessDeniedException"), AWS_K_DENIED);
    assert_int_equal(aws_code_kind("NotAuthorized"), AWS_K_DENIED);
    assert_int_equal(aws_code_kind("ProvisionedThroughputExceededException"), AWS_K_THROTTLED);
    assert_int_equal(aws_code_kind("RequestTimeout"), AWS_K_TRANSIENT);
    assert_int_equal(aws_code_kind("InvalidAction"), AWS_K_UNKNOWN_ACTION);
    assert_int_equal(aws_code_kind("accessdeniedexception"), AWS_K_UNEXPECTED);
    assert_int_equal(aws_code_kind(""), AWS_K_UNEXPECTED);
    /* A throttle stays a throttle at 5xx; anything else at 5xx is transient. */
    assert_int_equal(aws_classify(503, "SlowDown", ""), AWS_K_THROTTLED);
    assert_int_equal(aws_classify(500, "AccessDeniedException", ""), AWS_K_TRANSIENT);
    assert_int_equal(aws_classify(429, "ResourceNotFoundException", ""), AWS_K_NOT_FOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_shape_is_read),
        cmocka_unit_test(kinds_decide_everything),
        cmocka_unit_test(wording_names_the_iam_action),
        cmocka_unit_test(code_table),
    };

    jx_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
