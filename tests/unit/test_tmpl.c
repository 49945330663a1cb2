/* test_tmpl.c: the template language: syntax errors found at parse time (with columns),
 * field lookup (nested, arrays, quoted keys), other secrets, the filters (urlencode with
 * every URI-special character and non-ASCII, json, base64, default), missing fields,
 * non-JSON secrets and duplicate keys at render time, and that no message ever carries a
 * value. */
#include "unit.h"

#include "tmpl.h"

static const char pg_secret[] =
    "{\"username\":\"app user\",\"password\":\"p@ss:w/rd?#%&+=\xc3\xbc-SECRETPW\","
    "\"host\":\"db.example.com\",\"port\":5432,\"dbname\":\"app\",\"ssl\":true,"
    "\"none\":null,\"empty\":\"\","
    "\"nested\":{\"a\":{\"b\":\"deep-SECRETNEST\"},\"list\":[\"zero\",{\"x\":\"ex\"}]},"
    "\"odd/key\":\"slash\",\"quote\\\"key\":\"q\","
    "\"id\":1234567890123456,\"huge\":[9007199254740993]}";

static struct tmpl_input in_of(const char *s)
{
    struct tmpl_input in;

    in.p = (const unsigned char *)s;
    in.len = strlen(s);
    in.arn = "arn:aws:secretsmanager:eu-central-1:111122223333:secret:pg-AbCdEf";
    in.version_id = "v1";
    return in;
}

/* Parses and renders text against pg_secret (and srcs), expecting rc; returns the value or
 * the error message in buf. */
static enum inj_rc render(const char *text, const struct tmpl_input *srcs, char *buf, size_t n)
{
    struct tmpl *t = NULL;
    struct inj_err err = UNIT_ERR_INIT;
    struct sbuf out = SBUF_INIT(TMPL_MAX_VALUE);
    struct tmpl_input dot = in_of(pg_secret);
    enum inj_rc rc;

    rc = tmpl_parse(text, &t, &err);
    if (rc == INJ_OK) {
        rc = tmpl_render(t, &dot, srcs, &out, &err);
        if (rc == INJ_OK)
            (void)snprintf(buf, n, "%s", out.p ? (const char *)out.p : "");
    }
    if (rc != INJ_OK) {
        (void)snprintf(buf, n, "%s", err.msg);
        assert_null(strstr(err.msg, "SECRET"));
    }
    sbuf_wipe_free(&out);
    tmpl_free(t);
    return rc;
}

static void want(const char *text, const char *expect)
{
    char buf[4096];
    enum inj_rc rc = render(text, NULL, buf, sizeof(buf));

    if (rc != INJ_OK)
        fail_msg("%s: rc %d: %s", text, (int)rc, buf);
    assert_string_equal(buf, expect);
}

static void want_err(const char *text, enum inj_rc code, const char *needle)
{
    char buf[4096];
    enum inj_rc rc = render(text, NULL, buf, sizeof(buf));

    if (rc != code)
        fail_msg("%s: rc %d (want %d): %s", text, (int)rc, (int)code, buf);
    assert_contains(buf, needle);
}

static void parse_err(const char *text, const char *needle)
{
    struct tmpl *t = NULL;
    struct inj_err err = UNIT_ERR_INIT;

    assert_int_equal(tmpl_parse(text, &t, &err), INJ_E_CONFIG);
    assert_null(t);
    assert_contains(err.msg, "template: ");
    assert_contains(err.msg, needle);
}

static void plain_text_and_fields(void **state)
{
    (void)state;
    want("", "");
    want("no actions at all }} {", "no actions at all }} {");
    want("{{.username}}", "app user");
    want("{{ .host }}:{{ .port }}/{{ .dbname }}", "db.example.com:5432/app");
    want("{{ .ssl }} {{ .none }}", "true null");
    want("[{{ .nested.a.b }}]", "[deep-SECRETNEST]");
    want("{{ .nested.list.0 }} {{ .nested.list.1.x }}", "zero ex");
    want("{{ .\"odd/key\" }} {{ .\"quote\\\"key\" }}", "slash q");
    want("{{ .nested.a }}", "{\"b\":\"deep-SECRETNEST\"}");
    want("{{ \"{{\" }} literal {{ \"}}\" }}", "{{ literal }}");
    want("{{\n  .dbname\n}}", "app");
    /* Numbers as written (cJSON's printer would give 1.23456789012346e+15)... */
    want("{{ .id }}", "1234567890123456");
    /* ...or, past what a double carries exactly, refused, not rounded. */
    want_err("{{ .huge }}", INJ_E_DATA, "too large to pass on exactly");
    want_err("{{ .huge.0 }}", INJ_E_DATA, "too large to pass on exactly");
}

static void whole_secret_with_dot(void **state)
{
    struct tmpl *t = NULL;
    struct inj_err err = UNIT_ERR_INIT;
    struct sbuf out = SBUF_INIT(4096);
    struct tmpl_input dot = in_of("not json: a\x01 b");

    (void)state;
    want("{{ . }}", pg_secret);
    assert_int_equal(tmpl_parse("<{{ . }}>", &t, &err), INJ_OK);
    assert_int_equal(tmpl_render(t, &dot, NULL, &out, &err), INJ_OK);
    assert_memory_equal(out.p, "<not json: a\x01 b>", out.len);
    sbuf_wipe_free(&out);
    tmpl_free(t);
}

static void urlencode_every_special_character(void **state)
{
    (void)state;
    /* RFC 3986 unreserved stay; everything else, UTF-8 bytes included, is %XX. */
    want("{{ .password | urlencode }}", "p%40ss%3Aw%2Frd%3F%23%25%26%2B%3D%C3%BC-SECRETPW");
    want("{{ .username | urlencode }}", "app%20user");
    want("{{ \"AZaz09-._~!*'();$,[] \\\"\\\\\" | urlencode }}",
         "AZaz09-._~%21%2A%27%28%29%3B%24%2C%5B%5D%20%22%5C");
    want("postgresql://{{ .username | urlencode }}:{{ .password | urlencode }}@{{ .host }}:"
         "{{ .port }}/{{ .dbname }}?sslmode=require",
         "postgresql://app%20user:p%40ss%3Aw%2Frd%3F%23%25%26%2B%3D%C3%BC-SECRETPW@"
         "db.example.com:5432/app?sslmode=require");
}

static void json_filter(void **state)
{
    (void)state;
    want("{{ .password | json }}", "\"p@ss:w/rd?#%&+=\xc3\xbc-SECRETPW\"");
    want("{{ .port | json }}", "5432");
    want("{{ .ssl | json }} {{ .none | json }}", "true null");
    want("{{ .nested.a | json }}", "{\"b\":\"deep-SECRETNEST\"}");
    want("{{ \"a\\\"b\\\\c\\nd\\te\" | json }}", "\"a\\\"b\\\\c\\nd\\te\"");
    /* After another filter the value is text again, so json quotes it. */
    want("{{ .port | urlencode | json }}", "\"5432\"");
    want("{\"user\":{{ .username | json }},\"port\":{{ .port | json }}}",
         "{\"user\":\"app user\",\"port\":5432}");
}

static void json_filter_refuses_invalid_utf8(void **state)
{
    struct tmpl *t = NULL;
    struct inj_err err = UNIT_ERR_INIT;
    struct sbuf out = SBUF_INIT(4096);
    struct tmpl_input dot = in_of("\xff\xfe SECRETBIN");

    (void)state;
    assert_int_equal(tmpl_parse("{{ . | json }}", &t, &err), INJ_OK);
    assert_int_equal(tmpl_render(t, &dot, NULL, &out, &err), INJ_E_DATA);
    assert_contains(err.msg, "not valid UTF-8");
    assert_not_contains(err.msg, "SECRETBIN");
    sbuf_wipe_free(&out);
    tmpl_free(t);
    /* base64 takes any bytes. */
    assert_int_equal(tmpl_parse("{{ . | base64 }}", &t, &err), INJ_OK);
    assert_int_equal(tmpl_render(t, &dot, NULL, &out, &err), INJ_OK);
    assert_string_equal((const char *)out.p, "//4gU0VDUkVUQklO");
    sbuf_wipe_free(&out);
    tmpl_free(t);
}

static void base64_filter(void **state)
{
    (void)state;
    want("{{ \"\" | base64 }}|{{ \"f\" | base64 }}|{{ \"fo\" | base64 }}|{{ \"foo\" | base64 }}",
         "|Zg==|Zm8=|Zm9v");
    want("{{ .username | base64 }}", "YXBwIHVzZXI=");
    want("{{ .username | base64 | urlencode }}", "YXBwIHVzZXI%3D");
}

static void default_filter(void **state)
{
    (void)state;
    want("{{ .port | default \"5432\" }}", "5432");
    want("{{ .missing | default \"fallback\" }}", "fallback");
    want("{{ .empty | default \"was empty\" }}", "was empty");
    want("{{ .none | default \"was null\" }}", "was null");
    want("{{ .nested.nope.deeper | default \"x\" }}", "x");
    want("{{ .missing | default \"a b\" | urlencode }}", "a%20b");
    want("{{ .dbname | default \"\" }}", "app");
}

static void missing_fields_fail_at_render(void **state)
{
    (void)state;
    want_err("{{ .hots }}", INJ_E_MISSING, "{{ .hots }}: not found in secret arn:aws:");
    want_err("{{ .hots }}", INJ_E_MISSING, "username, password, host");
    want_err("{{ .Username }}", INJ_E_MISSING, "keys at the top");
    want_err("{{ .nested.a.c }}", INJ_E_MISSING, "the keys of .nested.a are: b");
    want_err("{{ .nested.list.5 }}", INJ_E_MISSING, "an array");
    want_err("{{ .port.x }}", INJ_E_MISSING, "not found");
    /* A filter does not make a missing field exist; only default does. */
    want_err("{{ .hots | urlencode }}", INJ_E_MISSING, "{{ .hots | urlencode }}");
    want_err("{{ .hots | urlencode | default \"x\" }}", INJ_E_MISSING, "not found");
}

static void fields_of_a_non_json_secret(void **state)
{
    struct tmpl *t = NULL;
    struct inj_err err = UNIT_ERR_INIT;
    struct sbuf out = SBUF_INIT(4096);
    struct tmpl_input dot = in_of("plain SECRETTEXT");
    struct tmpl_input nul = in_of("{\"a\":\"x\\u0000SECRETNUL\"}");

    (void)state;
    assert_int_equal(tmpl_parse("{{ .a }}", &t, &err), INJ_OK);
    assert_int_equal(tmpl_render(t, &dot, NULL, &out, &err), INJ_E_DATA);
    assert_contains(err.msg, "is not JSON");
    assert_not_contains(err.msg, "SECRETTEXT");
    sbuf_wipe_free(&out);
    assert_int_equal(tmpl_render(t, &nul, NULL, &out, &err), INJ_E_DATA);
    assert_contains(err.msg, "NUL");
    sbuf_wipe_free(&out);
    tmpl_free(t);
}

/* Renders text against dot (and srcs), expecting INJ_E_DATA naming the duplicated key, the
 * place it was found and the secret, and no value. */
static void want_dup(const char *text, const char *json, const struct tmpl_input *srcs,
                     const char *needle)
{
    struct tmpl *t = NULL;
    struct inj_err err = UNIT_ERR_INIT;
    struct sbuf out = SBUF_INIT(TMPL_MAX_VALUE);
    struct tmpl_input dot = in_of(json);

    assert_int_equal(tmpl_parse(text, &t, &err), INJ_OK);
    if (tmpl_render(t, &dot, srcs, &out, &err) != INJ_E_DATA)
        fail_msg("%s on %s: rc %d: %s", text, json, (int)err.code, err.msg);
    assert_contains(err.msg, needle);
    assert_contains(err.msg, "secret arn:aws:secretsmanager:eu-central-1:111122223333:secret:");
    assert_contains(err.msg, "duplicate keys is ambiguous");
    assert_not_contains(err.msg, "SECRETDUP");
    sbuf_wipe_free(&out);
    tmpl_free(t);
}

static void duplicate_keys_refused(void **state)
{
    struct tmpl_input srcs[1];

    (void)state;
    want_dup("{{ .password }}", "{\"password\":\"a-SECRETDUP\",\"password\":\"b-SECRETDUP\"}", NULL,
             "{{ .password }}: secret arn:aws:");
    want_dup("{{ .password }}", "{\"password\":\"a-SECRETDUP\",\"password\":\"b-SECRETDUP\"}", NULL,
             "has the key \"password\" twice in its top level");
    want_dup("{{ .db.u | urlencode }}", "{\"db\":{\"u\":\"SECRETDUP1\",\"u\":\"SECRETDUP2\"}}",
             NULL, "the key \"u\" twice in the object at /db");
    want_dup("{{ .db.u }}", "{\"db\":{\"u\":\"SECRETDUP1\"},\"db\":{\"u\":\"SECRETDUP2\"}}", NULL,
             "the key \"db\" twice in its top level");
    /* off the path, in an object taken whole, in an array of objects */
    want_dup("{{ .a }}", "{\"a\":\"x\",\"b\":{\"c\":\"SECRETDUP1\",\"c\":\"SECRETDUP2\"}}", NULL,
             "\"c\" twice in the object at /b");
    want_dup("{{ .o | json }}", "{\"o\":{\"k\":\"SECRETDUP1\",\"k\":\"SECRETDUP2\"}}", NULL,
             "\"k\" twice in the object at /o");
    want_dup("{{ .l.0.x }}", "{\"l\":[{\"x\":1},{\"y\":\"SECRETDUP1\",\"y\":\"SECRETDUP2\"}]}",
             NULL, "\"y\" twice in the object at /l/1");
    /* a default does not hide it: the secret is refused, not the field missing */
    want_dup("{{ .nope | default \"d\" }}", "{\"k\":\"SECRETDUP1\",\"k\":\"SECRETDUP2\"}", NULL,
             "\"k\" twice");
    /* another secret's fields */
    srcs[0] = in_of("{\"token\":\"SECRETDUP1\",\"token\":\"SECRETDUP2\"}");
    want_dup("{{ secret \"api\" .token }}", "{}", srcs,
             "{{ secret \"api\" .token }}: secret arn:aws:");
    /* the whole secret is passed on as it is, unparsed: nothing is looked up in it */
    {
        char buf[256];
        struct tmpl *t = NULL;
        struct inj_err err = UNIT_ERR_INIT;
        struct sbuf out = SBUF_INIT(4096);
        struct tmpl_input dot = in_of("{\"k\":1,\"k\":2}");

        assert_int_equal(tmpl_parse("{{ . }}", &t, &err), INJ_OK);
        assert_int_equal(tmpl_render(t, &dot, NULL, &out, &err), INJ_OK);
        (void)snprintf(buf, sizeof(buf), "%s", (const char *)out.p);
        assert_string_equal(buf, "{\"k\":1,\"k\":2}");
        sbuf_wipe_free(&out);
        tmpl_free(t);
    }
}

static void other_secrets(void **state)
{
    char buf[4096];
    struct tmpl *t = NULL;
    struct inj_err err = UNIT_ERR_INIT;
    struct tmpl_input srcs[2];

    (void)state;
    assert_int_equal(tmpl_parse("{{ secret \"api\" .token }}:{{ secret \"api\" .other }}:"
                                "{{ secret \"rds!db-1::AWSPREVIOUS\" .password }}:"
                                "{{ secret \"plain/text\" }}",
                                &t, &err),
                     INJ_OK);
    /* Three distinct fetches: api (twice, deduplicated), rds previous, plain/text. */
    assert_int_equal(tmpl_nsources(t), 3);
    assert_false(tmpl_uses_dot(t));
    assert_string_equal(tmpl_source(t, 0)->secret_id, "api");
    assert_string_equal(tmpl_source(t, 1)->secret_id, "rds!db-1");
    assert_string_equal(tmpl_source(t, 1)->version_stage, "AWSPREVIOUS");
    assert_string_equal(tmpl_source_text(t, 2), "plain/text");
    tmpl_free(t);

    srcs[0] = in_of("{\"token\":\"tok\"}");
    srcs[1] = in_of("{\"password\":\"p@w\"}");
    assert_int_equal(render("{{ .username }}/{{ secret \"api\" .token }}/"
                            "{{ secret \"arn:aws:secretsmanager:eu-central-1:111122223333:secret:"
                            "db-AbCdEf\" .password | urlencode }}",
                            srcs, buf, sizeof(buf)),
                     INJ_OK);
    assert_string_equal(buf, "app user/tok/p%40w");
}

static void syntax_errors_at_parse_time(void **state)
{
    (void)state;
    parse_err("abc {{ .user ", "column 5: \"{{\" not closed");
    parse_err("{{ }}", "empty {{ }}");
    parse_err("{{ .user | urlencod }}", "column 12: unknown filter \"urlencod\" (known: urlencode");
    parse_err("{{ .user | }}", "expected a filter name");
    parse_err("{{ .user | default }}", "default needs a \"quoted\" value");
    parse_err("{{ .user | default x }}", "default needs");
    parse_err("{{ user }}", "expected .field");
    parse_err("{{ .user .pass }}", "expected \"|\" or \"}}\"");
    parse_err("{{ .a. }}", "expected a key after \".\"");
    parse_err("{{ .a..b }}", "expected a key after");
    parse_err("{{ \"abc }}", "string not closed");
    parse_err("{{ \"a\\qb\" }}", "unknown escape");
    parse_err("{{ secret }}", "expected a \"quoted string\"");
    parse_err("{{ secret \"\" }}", "secret needs an ID");
    parse_err("{{ secret \"api:token\" }}", "takes no JSON key");
    parse_err("{{ secret \"bad name with spaces\" }}", "not a valid secret name");
    parse_err("{{ secret \"arn:aws:ssm:eu-central-1:111122223333:parameter:x\" }}", "bad SSM ARN");
    parse_err("{{ secretx }}", "expected .field");
    parse_err("line one\n  {{ .a | nope }}", "line 2, column 11: unknown filter");
}

static void parse_limits(void **state)
{
    struct tmpl *t = NULL;
    struct inj_err err = UNIT_ERR_INIT;
    char *big = malloc(TMPL_MAX_TEXT + 2);
    size_t i;

    (void)state;
    assert_non_null(big);
    memset(big, 'a', TMPL_MAX_TEXT + 1);
    big[TMPL_MAX_TEXT + 1] = '\0';
    assert_int_equal(tmpl_parse(big, &t, &err), INJ_E_CONFIG);
    assert_contains(err.msg, "longer than");
    /* Many actions: a bound, not a crash. */
    for (i = 0; i + 6 < TMPL_MAX_TEXT; i += 6)
        memcpy(big + i, "{{.}} ", 6);
    big[i] = '\0';
    assert_int_equal(tmpl_parse(big, &t, &err), INJ_E_CONFIG);
    assert_contains(err.msg, "too many");
    free(big);
}

static void uses_dot(void **state)
{
    struct tmpl *t = NULL;
    struct inj_err err = UNIT_ERR_INIT;

    (void)state;
    assert_int_equal(tmpl_parse("x{{ \"lit\" }}", &t, &err), INJ_OK);
    assert_false(tmpl_uses_dot(t));
    assert_int_equal(tmpl_nsources(t), 0);
    tmpl_free(t);
    assert_int_equal(tmpl_parse("{{ . | base64 }}", &t, &err), INJ_OK);
    assert_true(tmpl_uses_dot(t));
    tmpl_free(t);
}

static void value_size_is_bounded(void **state)
{
    struct tmpl *t = NULL;
    struct inj_err err = UNIT_ERR_INIT;
    struct sbuf out = SBUF_INIT(TMPL_MAX_VALUE);
    char *big = malloc(TMPL_MAX_VALUE / 2 + 1);
    struct tmpl_input dot;

    (void)state;
    assert_non_null(big);
    memset(big, '%', TMPL_MAX_VALUE / 2);
    big[TMPL_MAX_VALUE / 2] = '\0';
    dot = in_of(big);
    assert_int_equal(tmpl_parse("{{ . | urlencode }}", &t, &err), INJ_OK);
    assert_int_equal(tmpl_render(t, &dot, NULL, &out, &err), INJ_E_DATA);
    assert_contains(err.msg, "longer than");
    sbuf_wipe_free(&out);
    tmpl_free(t);
    free(big);
}

static void filters_directly(void **state)
{
    struct sbuf out = SBUF_INIT(64);

    (void)state;
    assert_int_equal(tmpl_base64((const unsigned char *)"\x00\xff\x10", 3, &out), INJ_OK);
    assert_string_equal((const char *)out.p, "AP8Q");
    sbuf_wipe_free(&out);
    assert_int_equal(tmpl_json_quote((const unsigned char *)"\x01\x7f", 2, &out), INJ_OK);
    assert_string_equal((const char *)out.p, "\"\\u0001\\u007f\"");
    sbuf_wipe_free(&out);
    assert_int_equal(tmpl_json_quote((const unsigned char *)"\xc3", 1, &out), INJ_E_DATA);
    sbuf_wipe_free(&out);
    assert_int_equal(tmpl_urlencode((const unsigned char *)"\x00 ", 2, &out), INJ_OK);
    assert_string_equal((const char *)out.p, "%00%20");
    sbuf_wipe_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain_text_and_fields),
        cmocka_unit_test(whole_secret_with_dot),
        cmocka_unit_test(urlencode_every_special_character),
        cmocka_unit_test(json_filter),
        cmocka_unit_test(json_filter_refuses_invalid_utf8),
        cmocka_unit_test(base64_filter),
        cmocka_unit_test(default_filter),
        cmocka_unit_test(missing_fields_fail_at_render),
        cmocka_unit_test(fields_of_a_non_json_secret),
        cmocka_unit_test(duplicate_keys_refused),
        cmocka_unit_test(other_secrets),
        cmocka_unit_test(syntax_errors_at_parse_time),
        cmocka_unit_test(parse_limits),
        cmocka_unit_test(uses_dot),
        cmocka_unit_test(value_size_is_bounded),
        cmocka_unit_test(filters_directly),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
