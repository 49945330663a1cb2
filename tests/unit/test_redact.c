/* test_redact.c: redact_text, the one cleaner of server text: known secrets whole, in pieces,
 * URL-encoded, JSON-escaped and cut by the cap; Authorization, X-Amz-Security-Token and Signature values
 * found by name; long base64 runs; the rest of the message kept, printable and bounded. */
#include "unit.h"

#include "redact.h"

#define KEY "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY"
#define AKID "ASIAEXAMPLEKEYID1234"
#define SIG "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static char token[1201];

static int setup(void **state)
{
    size_t k;

    (void)state;
    /* base64, with the three characters a query string encodes (= only as padding) */
    for (k = 0; k + 3 < sizeof(token); k++)
        token[k] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[(k * 7 + k / 13) %
                                                                               64];
    memcpy(token + sizeof(token) - 3, "==", 3);
    return 0;
}

static void red(const char *in, char *out, size_t n)
{
    const char *known[3] = {KEY, NULL, token};

    redact_text(in, strlen(in), known, 3, out, n);
}

/* No 16-byte piece of s appears in out. */
static void assert_no_piece(const char *out, const char *s)
{
    size_t slen = strlen(s);
    size_t k;

    for (k = 0; k + 16 <= slen; k++)
        if (memmem(out, strlen(out), s + k, 16)) {
            print_error("piece at %zu of the secret in \"%s\"\n", k, out);
            fail();
        }
}

static void keeps_plain_text(void **state)
{
    char out[200];

    (void)state;
    red("no such role\x01 for " AKID, out, sizeof(out));
    assert_string_equal(out, "no such role? for " AKID);
    red("", out, sizeof(out));
    assert_string_equal(out, "");
    redact_text(NULL, 0, NULL, 0, out, sizeof(out));
    assert_string_equal(out, "");
    /* bounded */
    red("abcdefghij", out, 5);
    assert_string_equal(out, "abcd");
    /* stops at a NUL */
    redact_text("ab\0cd", 5, NULL, 0, out, sizeof(out));
    assert_string_equal(out, "ab");
}

static void full_key_and_token(void **state)
{
    char body[1600];
    char out[2000];

    (void)state;
    red("The key " KEY " is wrong", out, sizeof(out));
    assert_string_equal(out, "The key " REDACT_MARK " is wrong");
    (void)snprintf(body, sizeof(body), "invalid token %s (ask support)", token);
    red(body, out, sizeof(out));
    assert_string_equal(out, "invalid token " REDACT_MARK " (ask support)");
}

static void pieces(void **state)
{
    char body[400];
    char out[400];

    (void)state;
    /* the middle of the token, not aligned, 16 and 40 bytes; and a prefix of the key */
    (void)snprintf(body, sizeof(body), "bad: %.16s!", token + 301);
    red(body, out, sizeof(out));
    assert_string_equal(out, "bad: " REDACT_MARK "!");
    (void)snprintf(body, sizeof(body), "bad: %.40s and %.17s.", token + 7, KEY);
    red(body, out, sizeof(out));
    assert_no_piece(out, token);
    assert_no_piece(out, KEY);
    assert_contains(out, "bad: ");
    assert_contains(out, " and ");
    /* a piece that differs from the token after 20 bytes: the whole run goes */
    (void)snprintf(body, sizeof(body), "x %.20sQQQQ y", token + 500);
    red(body, out, sizeof(out));
    assert_string_equal(out, "x " REDACT_MARK " y");
}

static void url_encoded(void **state)
{
    char body[4000];
    char out[400];
    size_t i;
    size_t j = 0;

    (void)state;
    j = (size_t)snprintf(body, sizeof(body), "GET /?Action=x&Token=");
    for (i = 0; token[i]; i++) {
        const char *e = token[i] == '+'   ? "%2B"
                        : token[i] == '/' ? "%2f"
                        : token[i] == '=' ? "%3D"
                                          : NULL;
        if (e) {
            memcpy(body + j, e, 3);
            j += 3;
        } else {
            body[j++] = token[i];
        }
    }
    (void)snprintf(body + j, sizeof(body) - j, "&Version=1 was refused");
    red(body, out, sizeof(out));
    assert_string_equal(out, "GET /?Action=x&Token=" REDACT_MARK "&Version=1 was refused");
    /* the key, encoded */
    red("key wJalrXUtnFEMI%2FK7MDENG%2FbPxRfiCYSECRETKEY end", out, sizeof(out));
    assert_string_equal(out, "key " REDACT_MARK " end");
}

/* Writes s JSON-escaped as a server's encoder may: '/' as \/, '+' as \u002b, '=' as \u003D
 * (alternating forms, both hex cases). Returns the length written. */
static size_t json_escaped(const char *s, char *out, size_t n)
{
    size_t j = 0;
    size_t i;

    for (i = 0; s[i] && j + 7 < n; i++) {
        const char *e = s[i] == '/'   ? (i % 2 ? "\\/" : "\\u002F")
                        : s[i] == '+' ? "\\u002b"
                        : s[i] == '=' ? "\\u003D"
                                      : NULL;
        if (e) {
            memcpy(out + j, e, strlen(e));
            j += strlen(e);
        } else {
            out[j++] = s[i];
        }
    }
    out[j] = '\0';
    return j;
}

static void json_escapes(void **state)
{
    char esc[8000];
    char body[9000];
    char out[600];
    char piece[41];
    const char *in;

    (void)state;
    /* the whole token and the whole key, echoed JSON-escaped: one mark each, nothing around
     * them touched */
    (void)json_escaped(token, esc, sizeof(esc));
    (void)snprintf(body, sizeof(body),
                   "{\"__type\":\"UnrecognizedClientException\",\"message\":\"The security token "
                   "%s is invalid\"}",
                   esc);
    red(body, out, sizeof(out));
    assert_string_equal(out, "{\"__type\":\"UnrecognizedClientException\",\"message\":\"The "
                             "security token " REDACT_MARK " is invalid\"}");
    (void)json_escaped(KEY, esc, sizeof(esc));
    (void)snprintf(body, sizeof(body), "{\"Message\":\"key \\\"%s\\\" refused\"}", esc);
    red(body, out, sizeof(out));
    assert_string_equal(out, "{\"Message\":\"key \\\"" REDACT_MARK "\\\" refused\"}");
    /* a 40-byte piece of the token from its middle, escaped, and its padded end */
    memcpy(piece, token + 261, 40);
    piece[40] = '\0';
    (void)json_escaped(piece, esc, sizeof(esc));
    (void)snprintf(body, sizeof(body), "bad: \"%s\" (and %s)", esc, "x");
    red(body, out, sizeof(out));
    assert_string_equal(out, "bad: \"" REDACT_MARK "\" (and x)");
    (void)json_escaped(token + sizeof(token) - 1 - 24, esc, sizeof(esc));
    (void)snprintf(body, sizeof(body), "end %s.", esc);
    red(body, out, sizeof(out));
    assert_string_equal(out, "end " REDACT_MARK ".");
    /* named values and unknown long runs, escaped (and inside an escaped JSON document) */
    in = "{\"SessionToken\":\"IQo\\/short\\u002bx\", \"a\":1}";
    redact_text(in, strlen(in), NULL, 0, out, sizeof(out));
    assert_string_equal(out, "{\"SessionToken\":\"" REDACT_MARK "\", \"a\":1}");
    in = "{\"m\":\"{\\\"SecretAccessKey\\\":\\\"abc\\/def\\\"}\"}";
    redact_text(in, strlen(in), NULL, 0, out, sizeof(out));
    assert_string_equal(out, "{\"m\":\"{\\\"SecretAccessKey\\\":\\\"" REDACT_MARK "\\\"}\"}");
    (void)snprintf(body, sizeof(body), "token %.30s\\/%.30s\\u002B%.30s is expired", token + 2,
                   token + 40, token + 90);
    redact_text(body, strlen(body), NULL, 0, out, sizeof(out));
    assert_string_equal(out, "token " REDACT_MARK " is expired");
    /* other escapes are copied as they are: only the matching decodes them */
    red("path C:\\\\Users \\u00e9\\u0041 \\\"q\\\" \\u12", out, sizeof(out));
    assert_string_equal(out, "path C:\\\\Users \\u00e9\\u0041 \\\"q\\\" \\u12");
}

/* A secret that itself holds what reads as an escape, echoed as written (a credential_process
 * value, a container token: any text). */
static void secret_with_escapes_as_written(void **state)
{
    const char *secret = "Zx9\\\"Q7wLmN0pR4tYv\\/bq8\\u0041zzK2";
    const char *const secrets[] = {secret};
    char body[200];
    char out[200];

    (void)state;
    (void)snprintf(body, sizeof(body), "tok=%s; end", secret);
    redact_text(body, strlen(body), secrets, 1, out, sizeof(out));
    assert_null(strstr(out, "Q7wLmN0pR4tYv"));
    assert_null(strstr(out, "zzK2"));
    assert_non_null(strstr(out, REDACT_MARK));
    assert_non_null(strstr(out, "; end"));
}

/* Names repeated without a delimiter: every value is marked, and the scan stays linear (before,
 * each name scanned to the end of the text: 1 MiB took minutes). */
static void named_values_repeated(void **state)
{
    const char *name = "session_token=";
    size_t nl = strlen(name);
    size_t len = 1024 * 1024;
    char *in = malloc(len + 1);
    char out[256];
    size_t i;

    (void)state;
    assert_non_null(in);
    for (i = 0; i < len; i++)
        in[i] = name[i % nl];
    in[len] = '\0';
    redact_text(in, len, NULL, 0, out, sizeof(out));
    assert_string_equal(out, "session_token=" REDACT_MARK);
    free(in);
}

static void authorization_header(void **state)
{
    char out[600];
    const char *in = "headers: Authorization: AWS4-HMAC-SHA256 Credential=" AKID
                     "/20240101/us-east-1/secretsmanager/aws4_request, "
                     "SignedHeaders=host;x-amz-date, Signature=" SIG " did not match";
    const char *py =
        "{'Host': 'x', 'Authorization': 'AWS4-HMAC-SHA256 Credential=" AKID
        "/20240101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=" SIG
        "', 'X-Amz-Security-Token': 'IQoJshorttoken', 'X-Amz-Date': '20240101T000000Z'}";

    (void)state;
    /* by name: no known secrets needed */
    redact_text(in, strlen(in), NULL, 0, out, sizeof(out));
    assert_string_equal(out, "headers: Authorization: " REDACT_MARK " did not match");
    redact_text(py, strlen(py), NULL, 0, out, sizeof(out));
    assert_not_contains(out, SIG);
    assert_not_contains(out, "IQoJshorttoken");
    assert_not_contains(out, "Credential=");
    assert_contains(out, "'X-Amz-Date': '20240101T000000Z'");
    assert_contains(out, "{'Host': 'x', 'Authorization': '" REDACT_MARK "'");
    redact_text("authorization=Bearer abc.def.ghi; next", 38, NULL, 0, out, sizeof(out));
    assert_string_equal(out, "authorization=Bearer " REDACT_MARK "; next");
    redact_text("Authorization: eyJhbGciOi.x.y\nok", 32, NULL, 0, out, sizeof(out));
    assert_string_equal(out, "Authorization: " REDACT_MARK "?ok");
}

static void signature_and_token_names(void **state)
{
    char out[600];
    const char *q = "https://h/?X-Amz-Credential=" AKID "%2F20240101&X-Amz-Signature=" SIG
                    "&X-Amz-Security-Token=IQo%2Bshort%3D&X-Amz-Date=20240101";
    const char *canon = "The Canonical String should have been 'POST\n/\n\nhost:sts\n"
                        "x-amz-security-token:IQoJbshort\n' and signature: " SIG;
    const char *json = "{\"SecretAccessKey\": \"abc\", \"SessionToken\":\"def\", "
                       "\"aws_session_token\" = ghi, \"AccessKeyId\": \"" AKID "\"}";

    (void)state;
    redact_text(q, strlen(q), NULL, 0, out, sizeof(out));
    assert_string_equal(out, "https://h/?X-Amz-Credential=" AKID
                             "%2F20240101&X-Amz-Signature=" REDACT_MARK
                             "&X-Amz-Security-Token=" REDACT_MARK "&X-Amz-Date=20240101");
    redact_text(canon, strlen(canon), NULL, 0, out, sizeof(out));
    assert_not_contains(out, "IQoJbshort");
    assert_not_contains(out, SIG);
    assert_contains(out, "x-amz-security-token:" REDACT_MARK);
    /* SignatureDoesNotMatch is a code, not a value */
    redact_text("SignatureDoesNotMatch: the signature you provided", 50, NULL, 0, out, sizeof(out));
    assert_string_equal(out, "SignatureDoesNotMatch: the signature you provided");
    redact_text(json, strlen(json), NULL, 0, out, sizeof(out));
    assert_string_equal(
        out, "{\"SecretAccessKey\": \"" REDACT_MARK "\", \"SessionToken\":\"" REDACT_MARK
             "\", \"aws_session_token\" = " REDACT_MARK ", \"AccessKeyId\": \"" AKID "\"}");
}

/* A token nobody told us about, long enough to be one, goes; an ARN stays. */
static void long_runs(void **state)
{
    char body[1400];
    char out[300];

    (void)state;
    (void)snprintf(body, sizeof(body), "token %.200s is expired; arn:aws:iam::123456789012:role/x",
                   token + 3);
    redact_text(body, strlen(body), NULL, 0, out, sizeof(out));
    assert_string_equal(out, "token " REDACT_MARK " is expired; arn:aws:iam::123456789012:role/x");
}

/* The cap cuts the message inside the token: what fits of it must still not go out. */
static void token_cut_by_cap(void **state)
{
    char body[1400];
    char out[64];
    size_t n;

    (void)state;
    for (n = 8; n <= sizeof(out); n += 7) {
        (void)snprintf(body, sizeof(body), "refused: %s", token);
        red(body, out, n);
        assert_no_piece(out, token);
        assert_true(strlen(out) < n);
        /* the server cut the token itself: 30 bytes, then the end of its message */
        (void)snprintf(body, sizeof(body), "refused: %.30s", token + 99);
        red(body, out, n);
        assert_no_piece(out, token);
    }
    (void)snprintf(body, sizeof(body), "refused: %s", token);
    red(body, out, 16);
    assert_string_equal(out, "refused: [redac");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keeps_plain_text),
        cmocka_unit_test(full_key_and_token),
        cmocka_unit_test(pieces),
        cmocka_unit_test(url_encoded),
        cmocka_unit_test(json_escapes),
        cmocka_unit_test(secret_with_escapes_as_written),
        cmocka_unit_test(named_values_repeated),
        cmocka_unit_test(authorization_header),
        cmocka_unit_test(signature_and_token_names),
        cmocka_unit_test(long_runs),
        cmocka_unit_test(token_cut_by_cap),
    };

    return cmocka_run_group_tests(tests, setup, NULL);
}
