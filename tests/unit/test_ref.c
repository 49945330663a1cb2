/* test_ref.c: secret references: names, full and partial ARNs, the ECS valueFrom and CodeBuild
 * compact forms, the validators, and which references share one fetch. */
#include "unit.h"

#include "ref.h"

#define ACCT "111122223333"
#define ARN_EU "arn:aws:secretsmanager:eu-central-1:" ACCT ":secret:dev/fcj/momentum-Ab12Cd"
#define UUID "EXAMPLE1-90ab-cdef-fedc-ba987EXAMPLE"

/* Parses s, which must succeed; the caller frees *r. */
static void parse_ok(const char *s, struct ref *r)
{
    struct inj_err err = UNIT_ERR_INIT;
    enum inj_rc rc = ref_parse(s, r, &err);

    if (rc != INJ_OK)
        print_error("ref_parse(\"%s\"): %s\n", s, err.msg);
    assert_int_equal(rc, INJ_OK);
    assert_non_null(r->secret_id);
}

/* Parses s, which must fail with INJ_E_CONFIG and a message containing want. */
static void parse_bad(const char *s, const char *want)
{
    struct inj_err err = UNIT_ERR_INIT;
    struct ref r;

    memset(&r, 0xa5, sizeof(r));
    assert_int_equal(ref_parse(s, &r, &err), INJ_E_CONFIG);
    assert_int_equal(err.code, INJ_E_CONFIG);
    assert_contains(err.msg, want);
    /* Nothing left to free: a failed parse leaves the ref empty. */
    assert_null(r.secret_id);
    assert_null(r.json_key);
    assert_null(r.version_stage);
    assert_null(r.version_id);
    ref_free(&r);
}

static void plain_name(void **state)
{
    struct ref r;

    (void)state;
    parse_ok("prod/db", &r);
    assert_string_equal(r.secret_id, "prod/db");
    assert_null(r.json_key);
    assert_null(r.version_stage);
    assert_null(r.version_id);
    assert_false(r.is_arn);
    assert_string_equal(r.region, "");
    assert_string_equal(r.partition, "");
    assert_string_equal(r.account, "");
    ref_free(&r);
    parse_ok("a_b+c=d.e@f-g", &r);
    assert_string_equal(r.secret_id, "a_b+c=d.e@f-g");
    ref_free(&r);
    parse_ok("secretPostgresqlMasterUser", &r);
    ref_free(&r);
}

/* RDS-managed secrets are named "rds!db-<uuid>": '!' is allowed. */
static void rds_managed_name(void **state)
{
    struct ref r;

    (void)state;
    parse_ok("rds!db-8fcc3794-ab80-4353-86fb-641f99a65793", &r);
    assert_string_equal(r.secret_id, "rds!db-8fcc3794-ab80-4353-86fb-641f99a65793");
    assert_null(r.json_key);
    ref_free(&r);
    parse_ok("rds!db-8fcc3794-ab80-4353-86fb-641f99a65793:password", &r);
    assert_string_equal(r.secret_id, "rds!db-8fcc3794-ab80-4353-86fb-641f99a65793");
    assert_string_equal(r.json_key, "password");
    ref_free(&r);
    parse_ok("arn:aws:secretsmanager:eu-central-1:" ACCT
             ":secret:rds!db-8fcc3794-ab80-4353-86fb-641f99a65793-AbCdEf:username",
             &r);
    assert_true(r.is_arn);
    assert_string_equal(r.json_key, "username");
    ref_free(&r);
}

static void name_limits(void **state)
{
    char name[514];
    struct ref r;

    (void)state;
    memset(name, 'n', 512);
    name[512] = '\0';
    parse_ok(name, &r);
    assert_int_equal(strlen(r.secret_id), 512);
    ref_free(&r);
    name[512] = 'n';
    name[513] = '\0';
    parse_bad(name, "not a valid secret name");
    assert_false(ref_valid_name(name));
    assert_false(ref_valid_name(""));
    assert_true(ref_valid_name("a"));
}

static void bad_names(void **state)
{
    (void)state;
    parse_bad("", "empty secret reference");
    parse_bad("my secret", "not a valid secret name");
    parse_bad("a#b", "not a valid secret name");
    parse_bad("caf\xc3\xa9", "not a valid secret name");
    parse_bad(":key", "not a valid secret name");
    parse_bad("a\tb", "not a valid secret name");
}

static void full_arn_aws(void **state)
{
    struct ref r;

    (void)state;
    parse_ok(ARN_EU, &r);
    assert_string_equal(r.secret_id, ARN_EU);
    assert_true(r.is_arn);
    assert_string_equal(r.partition, "aws");
    assert_string_equal(r.region, "eu-central-1");
    assert_string_equal(r.account, ACCT);
    assert_null(r.json_key);
    assert_null(r.version_stage);
    assert_null(r.version_id);
    ref_free(&r);
}

static void full_arn_other_partitions(void **state)
{
    struct ref r;

    (void)state;
    parse_ok("arn:aws-cn:secretsmanager:cn-north-1:" ACCT ":secret:x-AbCdEf", &r);
    assert_string_equal(r.partition, "aws-cn");
    assert_string_equal(r.region, "cn-north-1");
    ref_free(&r);
    parse_ok("arn:aws-cn:secretsmanager:cn-northwest-1:" ACCT ":secret:x", &r);
    assert_string_equal(r.region, "cn-northwest-1");
    ref_free(&r);
    parse_ok("arn:aws-us-gov:secretsmanager:us-gov-west-1:" ACCT ":secret:x-AbCdEf", &r);
    assert_string_equal(r.partition, "aws-us-gov");
    assert_string_equal(r.region, "us-gov-west-1");
    assert_string_equal(r.account, ACCT);
    ref_free(&r);
    parse_ok("arn:aws-us-gov:secretsmanager:us-gov-east-1:" ACCT ":secret:x", &r);
    ref_free(&r);
}

static void partition_region_mismatch(void **state)
{
    (void)state;
    parse_bad("arn:aws:secretsmanager:cn-north-1:" ACCT ":secret:x",
              "region cn-north-1 is not in partition aws (it belongs to aws-cn)");
    parse_bad("arn:aws-cn:secretsmanager:eu-west-1:" ACCT ":secret:x",
              "region eu-west-1 is not in partition aws-cn (it belongs to aws)");
    parse_bad("arn:aws-us-gov:secretsmanager:us-east-1:" ACCT ":secret:x",
              "region us-east-1 is not in partition aws-us-gov");
    parse_bad("arn:aws:secretsmanager:us-gov-west-1:" ACCT ":secret:x", "it belongs to aws-us-gov");
    parse_bad("arn:aws-eu:secretsmanager:eu-west-1:" ACCT ":secret:x",
              "unknown partition \"aws-eu\"");
    parse_bad("arn::secretsmanager:eu-west-1:" ACCT ":secret:x", "unknown partition \"\"");
    parse_bad("arn:AWS:secretsmanager:eu-west-1:" ACCT ":secret:x", "unknown partition");
}

static void bad_region_in_arn(void **state)
{
    (void)state;
    parse_bad("arn:aws:secretsmanager::" ACCT ":secret:x", "\"\" is not a region");
    parse_bad("arn:aws:secretsmanager:EU-WEST-1:" ACCT ":secret:x", "is not a region");
    parse_bad("arn:aws:secretsmanager:euwest1:" ACCT ":secret:x", "is not a region");
}

static void bad_account(void **state)
{
    (void)state;
    parse_bad("arn:aws:secretsmanager:eu-west-1:11112222333:secret:x",
              "account \"11112222333\" is not a 12-digit account id");
    parse_bad("arn:aws:secretsmanager:eu-west-1:1111222233334:secret:x",
              "is not a 12-digit account id");
    parse_bad("arn:aws:secretsmanager:eu-west-1:11112222333a:secret:x",
              "is not a 12-digit account id");
    parse_bad("arn:aws:secretsmanager:eu-west-1::secret:x", "is not a 12-digit account id");
    parse_bad("arn:aws:secretsmanager:eu-west-1: 11122223333:secret:x",
              "is not a 12-digit account id");
}

static void wrong_service_or_resource(void **state)
{
    (void)state;
    parse_bad("arn:aws:ssm:eu-west-1:" ACCT ":parameter/x", "bad ARN");
    parse_bad("arn:aws:ssm:eu-west-1:" ACCT ":parameter:x",
              "service is \"ssm\", not secretsmanager");
    parse_bad("arn:aws:secretsmanager:eu-west-1:" ACCT ":parameter:x",
              "resource type is \"parameter\"");
    parse_bad("arn:aws:secretsmanager:eu-west-1:" ACCT ":Secret:x", "resource type is \"Secret\"");
    parse_bad("arn:aws:secretsmanager:eu-west-1:" ACCT ":secret:", "is not a valid secret name");
    parse_bad("arn:aws:secretsmanager:eu-west-1:" ACCT ":secret:a b", "is not a valid secret name");
}

static void truncated_arns(void **state)
{
    (void)state;
    parse_bad("arn", "bad ARN \"arn\": expected arn:PARTITION:secretsmanager");
    parse_bad("arn:aws:secretsmanager:eu-west-1:" ACCT ":secret", "bad ARN");
    parse_bad("arn:aws:secretsmanager:eu-west-1:" ACCT, "bad ARN");
    parse_bad("arn:aws:secretsmanager", "bad ARN");
}

/* A partial ARN (no random 6-character suffix) is still a full-shape ARN: accepted as is. */
static void partial_arn(void **state)
{
    struct ref r;

    (void)state;
    parse_ok("arn:aws:secretsmanager:us-east-1:" ACCT ":secret:MySecret", &r);
    assert_string_equal(r.secret_id, "arn:aws:secretsmanager:us-east-1:" ACCT ":secret:MySecret");
    assert_true(r.is_arn);
    assert_string_equal(r.region, "us-east-1");
    ref_free(&r);
    parse_ok("arn:aws:secretsmanager:us-east-1:" ACCT ":secret:prod/app/db", &r);
    assert_string_equal(r.secret_id,
                        "arn:aws:secretsmanager:us-east-1:" ACCT ":secret:prod/app/db");
    ref_free(&r);
}

/* ECS valueFrom: ARN:json-key:version-stage:version-id, empty fields mean "default". */
static void ecs_compact_forms(void **state)
{
    struct ref r;

    (void)state;
    parse_ok(ARN_EU ":token::", &r);
    assert_string_equal(r.secret_id, ARN_EU);
    assert_string_equal(r.json_key, "token");
    assert_null(r.version_stage);
    assert_null(r.version_id);
    ref_free(&r);

    parse_ok(ARN_EU "::AWSPREVIOUS:", &r);
    assert_string_equal(r.secret_id, ARN_EU);
    assert_null(r.json_key);
    assert_string_equal(r.version_stage, "AWSPREVIOUS");
    assert_null(r.version_id);
    ref_free(&r);

    parse_ok(ARN_EU ":::" UUID, &r);
    assert_null(r.json_key);
    assert_null(r.version_stage);
    assert_string_equal(r.version_id, UUID);
    ref_free(&r);

    parse_ok(ARN_EU ":password:AWSCURRENT:" UUID, &r);
    assert_string_equal(r.secret_id, ARN_EU);
    assert_string_equal(r.json_key, "password");
    assert_string_equal(r.version_stage, "AWSCURRENT");
    assert_string_equal(r.version_id, UUID);
    ref_free(&r);

    parse_ok(ARN_EU ":::", &r);
    assert_string_equal(r.secret_id, ARN_EU);
    assert_null(r.json_key);
    assert_null(r.version_stage);
    assert_null(r.version_id);
    ref_free(&r);

    parse_ok(ARN_EU ":", &r);
    assert_string_equal(r.secret_id, ARN_EU);
    assert_null(r.json_key);
    ref_free(&r);

    parse_ok(ARN_EU ":k", &r);
    assert_string_equal(r.json_key, "k");
    ref_free(&r);
}

/* CodeBuild: secret-id:json-key:version-stage:version-id. */
static void codebuild_forms(void **state)
{
    struct ref r;

    (void)state;
    parse_ok("prod/db:password:AWSPENDING:" UUID, &r);
    assert_string_equal(r.secret_id, "prod/db");
    assert_string_equal(r.json_key, "password");
    assert_string_equal(r.version_stage, "AWSPENDING");
    assert_string_equal(r.version_id, UUID);
    assert_false(r.is_arn);
    ref_free(&r);

    parse_ok("prod/db:password", &r);
    assert_string_equal(r.secret_id, "prod/db");
    assert_string_equal(r.json_key, "password");
    assert_null(r.version_stage);
    ref_free(&r);

    parse_ok("prod/db::AWSPREVIOUS", &r);
    assert_null(r.json_key);
    assert_string_equal(r.version_stage, "AWSPREVIOUS");
    ref_free(&r);

    parse_ok("prod/db:::", &r);
    assert_string_equal(r.secret_id, "prod/db");
    assert_null(r.json_key);
    assert_null(r.version_stage);
    assert_null(r.version_id);
    ref_free(&r);
}

static void too_many_fields(void **state)
{
    (void)state;
    parse_bad("a:b:c:d:e", "too many ':' fields (secret-id[:json-key");
    parse_bad("a:b:c:" UUID ":", "too many ':' fields");
    parse_bad("a::::::::::::::", "too many ':' fields");
    parse_bad(ARN_EU ":k:AWSCURRENT:" UUID ":x", "too many ':' fields (ARN[:json-key");
    parse_bad(ARN_EU "::::", "too many ':' fields");
    parse_bad(ARN_EU "::::::::::::::", "too many ':' fields");
}

static void bad_version_id(void **state)
{
    char longid[70];

    (void)state;
    parse_bad("a:k:AWSCURRENT:1234", "bad version id \"1234\" (expected 32-64");
    parse_bad(ARN_EU ":::not-a-uuid", "bad version id \"not-a-uuid\"");
    /* 36 characters, but '_' is not in a version id. */
    parse_bad("a:::EXAMPLE1_90ab_cdef_fedc_ba987EXAMPLE", "bad version id");
    memset(longid, 'a', 65);
    longid[65] = '\0';
    assert_false(ref_valid_version_id(longid));
    longid[64] = '\0';
    assert_true(ref_valid_version_id(longid));
    longid[32] = '\0';
    assert_true(ref_valid_version_id(longid));
    longid[31] = '\0';
    assert_false(ref_valid_version_id(longid));
    assert_false(ref_valid_version_id(""));
    assert_true(ref_valid_version_id(UUID));
}

static void bad_version_stage(void **state)
{
    char stage[260];

    (void)state;
    parse_bad("a:k: AWSCURRENT", "bad version stage \" AWSCURRENT\"");
    parse_bad("a:k:AWS\x7f", "bad version stage");
    parse_bad("a:k:\xc3\xa9", "bad version stage");
    memset(stage, 'S', 257);
    stage[257] = '\0';
    assert_false(ref_valid_stage(stage));
    stage[256] = '\0';
    assert_true(ref_valid_stage(stage));
    assert_false(ref_valid_stage(""));
    assert_true(ref_valid_stage("AWSCURRENT"));
    assert_true(ref_valid_stage("my-custom_stage.1"));
}

static void region_validator(void **state)
{
    static const char *const good[] = {"eu-central-1",   "us-east-1",      "us-gov-west-1",
                                       "cn-north-1",     "cn-northwest-1", "us-isob-east-1",
                                       "ap-southeast-3", "il-central-1"};
    static const char *const bad[] = {"",
                                      "eu",
                                      "eu-central",
                                      "eu-central-",
                                      "-eu-central-1",
                                      "eu--central-1",
                                      "EU-central-1",
                                      "eu_central_1",
                                      "eu-central-1a",
                                      "eu-1",
                                      "eu central-1",
                                      "abcdefghijklmnopqrstuvwxyz-abc-1"};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (!ref_valid_region(good[i]))
            fail_msg("valid region rejected: %s", good[i]);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (ref_valid_region(bad[i]))
            fail_msg("invalid region accepted: \"%s\"", bad[i]);
}

static void region_partition(void **state)
{
    (void)state;
    assert_string_equal(ref_region_partition("eu-central-1"), "aws");
    assert_string_equal(ref_region_partition("us-east-1"), "aws");
    assert_string_equal(ref_region_partition("cn-north-1"), "aws-cn");
    assert_string_equal(ref_region_partition("us-gov-west-1"), "aws-us-gov");
    assert_string_equal(ref_region_partition("us-iso-east-1"), "aws-iso");
    assert_string_equal(ref_region_partition("us-isob-east-1"), "aws-iso-b");
    assert_string_equal(ref_region_partition("us-isof-south-1"), "aws-iso-f");
    assert_string_equal(ref_region_partition("eu-isoe-west-1"), "aws-iso-e");
    assert_string_equal(ref_region_partition("eusc-de-east-1"), "aws-eusc");
    /* One table: endpoints, STS and kms:ViaService use the same suffixes. */
    assert_string_equal(ref_region_dns_suffix("eu-central-1"), "amazonaws.com");
    assert_string_equal(ref_region_dns_suffix("us-gov-west-1"), "amazonaws.com");
    assert_string_equal(ref_region_dns_suffix("cn-northwest-1"), "amazonaws.com.cn");
    assert_string_equal(ref_region_dns_suffix("us-iso-east-1"), "c2s.ic.gov");
    assert_string_equal(ref_region_dns_suffix("us-isob-east-1"), "sc2s.sgov.gov");
    assert_string_equal(ref_region_dns_suffix("us-isof-south-1"), "csp.hci.ic.gov");
    assert_string_equal(ref_region_dns_suffix("eu-isoe-west-1"), "cloud.adc-e.uk");
    assert_string_equal(ref_region_dns_suffix("eusc-de-east-1"), "amazonaws.eu");
    /* An ARN in any of them parses. */
    {
        struct ref r;

        parse_ok("arn:aws-iso-f:secretsmanager:us-isof-south-1:" ACCT ":secret:x", &r);
        assert_string_equal(r.partition, "aws-iso-f");
        ref_free(&r);
    }
}

/* The same secret in another region: the ARN's region field swapped, everything else kept. */
static void replica_refs(void **state)
{
    struct inj_err err = UNIT_ERR_INIT;
    struct ref r;
    struct ref x;

    (void)state;
    parse_ok(ARN_EU ":password:AWSPREVIOUS:" UUID, &r);
    assert_int_equal(ref_replica(&r, "eu-west-1", &x, &err), INJ_OK);
    assert_string_equal(x.secret_id,
                        "arn:aws:secretsmanager:eu-west-1:" ACCT ":secret:dev/fcj/momentum-Ab12Cd");
    assert_string_equal(x.region, "eu-west-1");
    assert_string_equal(x.partition, "aws");
    assert_string_equal(x.account, ACCT);
    assert_true(x.is_arn);
    assert_string_equal(x.json_key, "password");
    assert_string_equal(x.version_stage, "AWSPREVIOUS");
    assert_string_equal(x.version_id, UUID);
    /* A replica is a different fetch from its primary. */
    assert_false(ref_same_fetch(&r, &x));
    ref_free(&x);
    ref_free(&r);

    /* A partial ARN (no random suffix) and a name whose region field looks like one. */
    parse_ok("arn:aws:secretsmanager:us-east-1:" ACCT ":secret:us-east-1", &r);
    assert_int_equal(ref_replica(&r, "us-west-2", &x, &err), INJ_OK);
    assert_string_equal(x.secret_id, "arn:aws:secretsmanager:us-west-2:" ACCT ":secret:us-east-1");
    assert_null(x.json_key);
    assert_null(x.version_stage);
    ref_free(&x);
    ref_free(&r);

    /* A name keeps its id and carries the region. */
    parse_ok("rds!db-8fcc3794-ab80-4353-86fb-641f99a65793:username", &r);
    assert_int_equal(ref_replica(&r, "eu-west-1", &x, &err), INJ_OK);
    assert_string_equal(x.secret_id, "rds!db-8fcc3794-ab80-4353-86fb-641f99a65793");
    assert_string_equal(x.region, "eu-west-1");
    assert_false(x.is_arn);
    assert_string_equal(x.json_key, "username");
    ref_free(&x);

    assert_int_equal(ref_replica(&r, "not a region", &x, &err), INJ_E_CONFIG);
    assert_null(x.secret_id);
    ref_free(&r);
}

static void region_lists(void **state)
{
    struct inj_err err = UNIT_ERR_INIT;
    struct ref_regions l;

    (void)state;
    assert_int_equal(ref_regions_parse("eu-west-1,us-east-1", &l, &err), INJ_OK);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.v[0], "eu-west-1");
    assert_string_equal(l.v[1], "us-east-1");
    assert_int_equal(ref_regions_parse("", &l, &err), INJ_OK);
    assert_int_equal(l.n, 0);
    assert_int_equal(ref_regions_parse("eu-west-1,eu-west-2,eu-west-3,eu-north-1", &l, &err),
                     INJ_OK);
    assert_int_equal(l.n, REF_MAX_FAILOVER);

    assert_int_equal(
        ref_regions_parse("eu-west-1,eu-west-2,eu-west-3,eu-north-1,us-east-1", &l, &err),
        INJ_E_USAGE);
    assert_contains(err.msg, "one region too many");
    assert_int_equal(ref_regions_parse("eu-west-1,eu-west-1", &l, &err), INJ_E_USAGE);
    assert_contains(err.msg, "\"eu-west-1\" is listed twice");
    assert_int_equal(ref_regions_parse("eu-west-1,Frankfurt", &l, &err), INJ_E_USAGE);
    assert_contains(err.msg, "\"Frankfurt\" is not an AWS region name");
    assert_int_equal(ref_regions_parse("eu-west-1,", &l, &err), INJ_E_USAGE);
    assert_contains(err.msg, "trailing comma");
    assert_int_equal(ref_regions_parse(",eu-west-1", &l, &err), INJ_E_USAGE);
    assert_int_equal(ref_regions_parse("eu-west-1,,us-east-1", &l, &err), INJ_E_USAGE);

    /* add: duplicates are no-ops, a full list refuses. */
    memset(&l, 0, sizeof(l));
    assert_int_equal(ref_regions_add(&l, "eu-west-1"), 0);
    assert_int_equal(ref_regions_add(&l, "eu-west-1"), 0);
    assert_int_equal(l.n, 1);
    assert_int_equal(ref_regions_add(&l, "eu-west-2"), 0);
    assert_int_equal(ref_regions_add(&l, "eu-west-3"), 0);
    assert_int_equal(ref_regions_add(&l, "eu-north-1"), 0);
    assert_int_equal(ref_regions_add(&l, "us-east-1"), -1);
    assert_int_equal(l.n, REF_MAX_FAILOVER);
}

static void same_fetch(void **state)
{
    struct ref a;
    struct ref b;

    (void)state;
    /* No stage == AWSCURRENT; the JSON key does not change the fetch. */
    parse_ok("prod/db:user", &a);
    parse_ok("prod/db:password:AWSCURRENT", &b);
    assert_true(ref_same_fetch(&a, &b));
    assert_true(ref_same_fetch(&b, &a));
    assert_true(ref_same_fetch(&a, &a));
    ref_free(&b);

    parse_ok("prod/db:user:AWSPREVIOUS", &b);
    assert_false(ref_same_fetch(&a, &b));
    ref_free(&b);

    parse_ok("prod/other", &b);
    assert_false(ref_same_fetch(&a, &b));
    ref_free(&b);

    /* A version id is a different fetch from "no version" (even when it is the current one). */
    parse_ok("prod/db:::" UUID, &b);
    assert_false(ref_same_fetch(&a, &b));
    ref_free(&a);
    parse_ok("prod/db:x::" UUID, &a);
    assert_true(ref_same_fetch(&a, &b));
    ref_free(&a);
    parse_ok("prod/db:x:AWSCURRENT:" UUID, &a);
    assert_false(ref_same_fetch(&a, &b)); /* stage given with the id vs. id alone */
    ref_free(&a);
    ref_free(&b);

    /* A name and the ARN of the same secret are different ids (the service resolves them). */
    parse_ok(ARN_EU, &a);
    parse_ok(ARN_EU ":k", &b);
    assert_true(ref_same_fetch(&a, &b));
    ref_free(&b);
    parse_ok("dev/fcj/momentum-Ab12Cd", &b);
    assert_false(ref_same_fetch(&a, &b));
    ref_free(&a);
    ref_free(&b);
}

/* ref_fetch_key stands for ref_same_fetch (resolve.c dedups by its hash): over every pair of
 * a set of references, equal keys exactly when ref_same_fetch says the same fetch. */
static void fetch_key_matches_same_fetch(void **state)
{
    static const char *const forms[] = {
        "prod/db",
        "prod/db:user",
        "prod/db:password:AWSCURRENT",
        "prod/db:user:AWSPREVIOUS",
        "prod/db:::" UUID,
        "prod/db:x::" UUID,
        "prod/db:x:AWSCURRENT:" UUID,
        "prod/other",
        "prod/db2",
        "prod/d",
        ARN_EU,
        ARN_EU ":k",
        ARN_EU "::AWSPENDING",
        "dev/fcj/momentum-Ab12Cd",
        "1:2", /* ids whose LEN:TEXT pieces could run together without the lengths */
        "12",
        "1:2:AWSCURRENT",
    };
    enum { N = sizeof(forms) / sizeof(forms[0]) };
    struct ref r[N];
    char *key[N];
    size_t i;
    size_t j;

    (void)state;
    for (i = 0; i < N; i++) {
        parse_ok(forms[i], &r[i]);
        key[i] = ref_fetch_key(&r[i]);
        assert_non_null(key[i]);
    }
    for (i = 0; i < N; i++)
        for (j = 0; j < N; j++) {
            int same = ref_same_fetch(&r[i], &r[j]);
            int eq = !strcmp(key[i], key[j]);

            if (same != eq)
                fail_msg("\"%s\" vs \"%s\": ref_same_fetch %d, keys %s / %s", forms[i], forms[j],
                         same, key[i], key[j]);
        }
    /* The key holds the id, never a JSON key (not part of the fetch). */
    assert_null(strstr(key[1], "user"));
    for (i = 0; i < N; i++) {
        free(key[i]);
        ref_free(&r[i]);
    }
}

static void free_is_idempotent(void **state)
{
    struct ref r;

    (void)state;
    parse_ok(ARN_EU ":k:AWSPREVIOUS:" UUID, &r);
    ref_free(&r);
    assert_null(r.secret_id);
    ref_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain_name),
        cmocka_unit_test(rds_managed_name),
        cmocka_unit_test(name_limits),
        cmocka_unit_test(bad_names),
        cmocka_unit_test(full_arn_aws),
        cmocka_unit_test(full_arn_other_partitions),
        cmocka_unit_test(partition_region_mismatch),
        cmocka_unit_test(bad_region_in_arn),
        cmocka_unit_test(bad_account),
        cmocka_unit_test(wrong_service_or_resource),
        cmocka_unit_test(truncated_arns),
        cmocka_unit_test(partial_arn),
        cmocka_unit_test(ecs_compact_forms),
        cmocka_unit_test(codebuild_forms),
        cmocka_unit_test(too_many_fields),
        cmocka_unit_test(bad_version_id),
        cmocka_unit_test(bad_version_stage),
        cmocka_unit_test(region_validator),
        cmocka_unit_test(region_partition),
        cmocka_unit_test(replica_refs),
        cmocka_unit_test(region_lists),
        cmocka_unit_test(same_fetch),
        cmocka_unit_test(fetch_key_matches_same_fetch),
        cmocka_unit_test(free_is_idempotent),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
