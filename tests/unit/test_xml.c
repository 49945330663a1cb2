/* test_xml.c: the STS answer extractor: AWS-shaped answers, entities, and the malformed,
 * truncated, oversize and hostile cases. */
#include "unit.h"

#include "sbuf.h"
#include "xml.h"

/* What STS sends for AssumeRoleWithWebIdentity (from the API reference's example). */
static const char webid_answer[] =
    "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
    "  <AssumeRoleWithWebIdentityResult>\n"
    "    <SubjectFromWebIdentityToken>amzn1.account.AF6RHO7KZU5XRVQJGXK6HB56KR2A"
    "</SubjectFromWebIdentityToken>\n"
    "    <Audience>client.5498841531868486423.1548@apps.example.com</Audience>\n"
    "    <AssumedRoleUser>\n"
    "      <Arn>arn:aws:sts::123456789012:assumed-role/FederatedWebIdentityRole/app1</Arn>\n"
    "      <AssumedRoleId>AROACLKWSDQRAOEXAMPLE:app1</AssumedRoleId>\n"
    "    </AssumedRoleUser>\n"
    "    <Credentials>\n"
    "      <SessionToken>AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE</SessionToken>\n"
    "      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>\n"
    "      <Expiration>2014-10-24T23:00:23Z</Expiration>\n"
    "      <AccessKeyId>ASgeIAIOSFODNN7EXAMPLE</AccessKeyId>\n"
    "    </Credentials>\n"
    "    <Provider>www.amazon.com</Provider>\n"
    "  </AssumeRoleWithWebIdentityResult>\n"
    "  <ResponseMetadata>\n"
    "    <RequestId>ad4156e9-bce1-11e2-82e6-6b6efEXAMPLE</RequestId>\n"
    "  </ResponseMetadata>\n"
    "</AssumeRoleWithWebIdentityResponse>\n";

static const char error_answer[] =
    "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
    "  <Error>\n"
    "    <Type>Sender</Type>\n"
    "    <Code>AccessDenied</Code>\n"
    "    <Message>Not authorized to perform sts:AssumeRoleWithWebIdentity</Message>\n"
    "  </Error>\n"
    "  <RequestId>8b3bd5b8-5a6b-4a1c-9b8e-4e0cEXAMPLE</RequestId>\n"
    "</ErrorResponse>\n";

static char *text(const char *doc, const char *tag, enum xml_rc want)
{
    char *out = NULL;

    assert_int_equal(xml_text(doc, strlen(doc), tag, 4096, &out), want);
    if (want != XML_OK)
        assert_null(out);
    return out;
}

static void sts_credentials(void **state)
{
    const char *inner;
    size_t n;
    char *v;

    (void)state;
    assert_int_equal(xml_element(webid_answer, strlen(webid_answer), "Credentials", &inner, &n),
                     XML_OK);
    /* inner is not NUL-terminated at the element's end: use the span. */
    assert_int_equal(xml_text(inner, n, "AccessKeyId", 128, &v), XML_OK);
    assert_string_equal(v, "ASgeIAIOSFODNN7EXAMPLE");
    wipe_free_str(v);
    assert_int_equal(xml_text(inner, n, "SessionToken", 4096, &v), XML_OK);
    assert_string_equal(v, "AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE");
    wipe_free_str(v);
    assert_int_equal(xml_text(inner, n, "Expiration", 64, &v), XML_OK);
    assert_string_equal(v, "2014-10-24T23:00:23Z");
    wipe_free_str(v);
    /* Provider is outside Credentials: not found in the span. */
    assert_int_equal(xml_text(inner, n, "Provider", 64, &v), XML_MISSING);
}

static void sts_error(void **state)
{
    char *v;

    (void)state;
    v = text(error_answer, "Code", XML_OK);
    assert_string_equal(v, "AccessDenied");
    wipe_free_str(v);
    v = text(error_answer, "Message", XML_OK);
    assert_string_equal(v, "Not authorized to perform sts:AssumeRoleWithWebIdentity");
    wipe_free_str(v);
    text(error_answer, "Credentials", XML_MISSING);
}

static void entities(void **state)
{
    char *v;

    (void)state;
    v = text("<a>&amp;&lt;&gt;&quot;&apos;&#65;&#x42;&#x20AC;&#128512;</a>", "a", XML_OK);
    assert_string_equal(v, "&<>\"'AB\xe2\x82\xac\xf0\x9f\x98\x80");
    wipe_free_str(v);
    text("<a>&foo;</a>", "a", XML_BAD);
    text("<a>&#0;</a>", "a", XML_BAD);
    text("<a>&#xD800;</a>", "a", XML_BAD);
    text("<a>&#x110000;</a>", "a", XML_BAD);
    text("<a>&amp</a>", "a", XML_BAD);
    text("<a>&#;</a>", "a", XML_BAD);
    text("<a>&#x;</a>", "a", XML_BAD);
    text("<a>&#12a;</a>", "a", XML_BAD);
}

static void exact_names_and_skipping(void **state)
{
    char *v;

    (void)state;
    v = text("<?xml version=\"1.0\"?><!-- <Code>no</Code> --><CodeX>no</CodeX>"
             "<x attr=\"a>b\" other='<Code>'><Code>yes</Code></x>",
             "Code", XML_OK);
    assert_string_equal(v, "yes");
    wipe_free_str(v);
    v = text("<r><Code/><Code>later</Code></r>", "Code", XML_OK);
    assert_string_equal(v, "");
    wipe_free_str(v);
    v = text("<Code >spaced</Code >", "Code", XML_OK);
    assert_string_equal(v, "spaced");
    wipe_free_str(v);
    /* A prefixed name is another element. */
    text("<sts:Code>x</sts:Code>", "Code", XML_MISSING);
}

static void nesting(void **state)
{
    const char *doc = "<a><a>x</a><b/></a><a>second</a>";
    const char *inner;
    size_t n;

    (void)state;
    assert_int_equal(xml_element(doc, strlen(doc), "a", &inner, &n), XML_OK);
    assert_int_equal(n, strlen("<a>x</a><b/>"));
    assert_memory_equal(inner, "<a>x</a><b/>", n);
    /* Text with markup inside is not text. */
    text("<a><b>x</b></a>", "a", XML_BAD);
    text("<a><![CDATA[x]]></a>", "a", XML_BAD);
}

static void malformed_and_truncated(void **state)
{
    const char *inner;
    size_t n;
    size_t cut;
    char *v;

    (void)state;
    text("", "a", XML_MISSING);
    text("no markup at all", "a", XML_MISSING);
    text("<a>open", "a", XML_BAD);
    text("<a", "a", XML_BAD);
    text("<a attr=\"x>", "a", XML_BAD);
    text("<>x</>", "a", XML_BAD);
    text("<!-- never closed <a>x</a>", "a", XML_BAD);
    text("<!-->x<a>y</a>", "a", XML_BAD);
    text("<a>x</a junk>", "a", XML_BAD);
    text("<!DOCTYPE a [<!ENTITY e \"boom\">]><a>&e;</a>", "a", XML_BAD);
    /* Every truncation of a real answer either finds nothing or fails cleanly. */
    for (cut = 0; cut < strlen(webid_answer); cut++) {
        enum xml_rc rc = xml_element(webid_answer, cut, "Credentials", &inner, &n);

        assert_true(rc == XML_OK || rc == XML_MISSING || rc == XML_BAD);
        if (rc == XML_OK)
            assert_true(inner + n <= webid_answer + cut);
        rc = xml_text(webid_answer, cut, "AccessKeyId", 128, &v);
        if (rc == XML_OK) {
            assert_string_equal(v, "ASgeIAIOSFODNN7EXAMPLE");
            wipe_free_str(v);
        }
    }
    /* A NUL inside the text. */
    assert_int_equal(xml_text("<a>x\0y</a>", 10, "a", 64, &v), XML_BAD);
}

static void oversize(void **state)
{
    char *v = NULL;

    (void)state;
    assert_int_equal(xml_text("<a>12345</a>", 12, "a", 4, &v), XML_TOOBIG);
    assert_null(v);
    assert_int_equal(xml_text("<a>12345</a>", 12, "a", 5, &v), XML_OK);
    assert_string_equal(v, "12345");
    wipe_free_str(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sts_credentials), cmocka_unit_test(sts_error),
        cmocka_unit_test(entities),        cmocka_unit_test(exact_names_and_skipping),
        cmocka_unit_test(nesting),         cmocka_unit_test(malformed_and_truncated),
        cmocka_unit_test(oversize),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
