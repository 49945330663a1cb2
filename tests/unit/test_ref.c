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
    parse_bad("arn:aws:s3:eu-west-1:" ACCT ":secret:x", "service is \"s3\", not secretsmanager");
    parse_bad("arn:aws:ssm:eu-west-1:" ACCT ":parameter:x", "bad SSM ARN");
    parse_bad("arn:aws:ssm:eu-west-1:" ACCT ":secret:x", "bad SSM ARN");
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

/* Reads by name prefix or tags: the tags (in order) are part of the fetch, and their texts
 * cannot run together in the key. */
static void fetch_key_tags(void **state)
{
    static const char *const tags[][4] = {
        {NULL, NULL, NULL, NULL},    {"team", "api", NULL, NULL},    {"team", "apix", NULL, NULL},
        {"tea", "mapi", NULL, NULL}, {"team", "api", "env", "prod"}, {"env", "prod", "team", "api"},
        {"t", "a=1:b", NULL, NULL},  {"t", "a", "1:b", "c"},
    };
    enum { N = sizeof(tags) / sizeof(tags[0]) };
    struct ref r[N];
    char *key[N];
    size_t i;
    size_t j;

    (void)state;
    for (i = 0; i < N; i++) {
        size_t k;

        parse_ok("prod/", &r[i]);
        r[i].path = 1;
        r[i].path_max = 5;
        for (k = 0; k < 4 && tags[i][k]; k += 2) {
            struct ref_tag *t = realloc(r[i].tags, (r[i].ntags + 1) * sizeof(*t));

            assert_non_null(t);
            r[i].tags = t;
            t[r[i].ntags].key = strdup(tags[i][k]);
            t[r[i].ntags].value = strdup(tags[i][k + 1]);
            r[i].ntags++;
        }
        key[i] = ref_fetch_key(&r[i]);
        assert_non_null(key[i]);
    }
    for (i = 0; i < N; i++)
        for (j = 0; j < N; j++) {
            assert_int_equal(ref_same_fetch(&r[i], &r[j]), i == j);
            assert_int_equal(!strcmp(key[i], key[j]), i == j);
        }
    for (i = 0; i < N; i++) {
        free(key[i]);
        ref_free(&r[i]);
        assert_null(r[i].tags);
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

/* SSM parameters (issue 15): the ARN and ssm:NAME forms, each with an optional selector. */
static void ssm_forms(void **state)
{
    static const struct {
        const char *in;
        const char *id; /* secret_id: the name, or the ARN without its selector */
        const char *selector;
        int is_arn;
        const char *region;
    } ok[] = {
        {"ssm:/prod/db/pw", "/prod/db/pw", NULL, 0, ""},
        {"ssm:flat", "flat", NULL, 0, ""},
        {"ssm:/prod/db/pw:3", "/prod/db/pw", "3", 0, ""},
        {"ssm:/prod/db/pw:blue-green_1.0", "/prod/db/pw", "blue-green_1.0", 0, ""},
        {"ssm:flat:12", "flat", "12", 0, ""},
        {"arn:aws:ssm:eu-west-1:" ACCT ":parameter/prod/db/pw",
         "arn:aws:ssm:eu-west-1:" ACCT ":parameter/prod/db/pw", NULL, 1, "eu-west-1"},
        {"arn:aws:ssm:eu-west-1:" ACCT ":parameter/prod/db/pw:7",
         "arn:aws:ssm:eu-west-1:" ACCT ":parameter/prod/db/pw", "7", 1, "eu-west-1"},
        {"arn:aws:ssm:eu-west-1:" ACCT ":parameter/flat:live",
         "arn:aws:ssm:eu-west-1:" ACCT ":parameter/flat", "live", 1, "eu-west-1"},
        {"arn:aws-cn:ssm:cn-north-1:" ACCT ":parameter/x",
         "arn:aws-cn:ssm:cn-north-1:" ACCT ":parameter/x", NULL, 1, "cn-north-1"},
        {"ssm:/aws/reference/secretsmanager/prod/db", "/aws/reference/secretsmanager/prod/db", NULL,
         0, ""},
        {"ssm:/aws/reference/secretsmanager/rds!db-1+x@y=z",
         "/aws/reference/secretsmanager/rds!db-1+x@y=z", NULL, 0, ""},
        {"ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
         "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64", NULL, 0, ""},
        {"ssm:/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o", "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o", NULL, 0, ""},
        {"ssm:Aws-not-reserved-after-first.level", NULL, NULL, -1, ""}, /* refused: see bad */
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        struct ref r;

        if (ok[i].is_arn < 0)
            continue;
        parse_ok(ok[i].in, &r);
        assert_int_equal(r.service, REF_SSM);
        assert_string_equal(r.secret_id, ok[i].id);
        if (ok[i].selector)
            assert_string_equal(r.selector, ok[i].selector);
        else
            assert_null(r.selector);
        assert_int_equal(r.is_arn, ok[i].is_arn);
        assert_string_equal(r.region, ok[i].region);
        assert_null(r.json_key);
        assert_null(r.version_stage);
        assert_null(r.version_id);
        ref_free(&r);
    }
}

static void ssm_bad(void **state)
{
    char long_name[2100];
    char deep[64];
    char buf[2200];
    static const struct {
        const char *in;
        const char *want;
    } bad[] = {
        {"ssm:", "expected ssm:NAME"},
        {"ssm:/a b", "character other than"},
        {"ssm:/prod//pw", "empty level"},
        {"ssm:/prod/pw/", "empty level"},
        {"ssm:prod/pw", "does not start with '/'"},
        {"ssm:/aws/x", "starts with aws or ssm"},
        {"ssm:SSM-x", "starts with aws or ssm"},
        {"ssm:awsome", "starts with aws or ssm"},
        {"ssm:/aws/reference/secretsmanager/", "valid Secrets Manager secret name"},
        {"ssm:/x:", "selector \"\" is empty"},
        {"ssm:/x:0", "not a version number"},
        {"ssm:/x:03", "not a version number"},
        {"ssm:/x:12345678901234567890", "not a version number"},
        {"ssm:/x:3a", "labels cannot start with a digit"},
        {"ssm:/x:aws-label", "label starting with aws or ssm"},
        {"ssm:/x:la bel", "label with a character"},
        {"ssm:/x:1:2", "too many ':' fields"},
        {"arn:aws:ssm:eu-west-1:" ACCT ":parameter//prod/pw", "one slash"},
        {"arn:aws:ssm:eu-west-1:" ACCT ":parameter/", "is empty"},
        {"arn:aws:ssm:eu-west-1:" ACCT ":parameter/x:1:2", "too many ':' fields"},
        {"arn:aws:ssm:eu-west-1:" ACCT ":document/x", "bad SSM ARN"},
        {"arn:aws:ssm:eu-west-1:" ACCT, "bad SSM ARN"},
        {"arn:aws:ssm:eu-west-1:1111:parameter/x", "12-digit account id"},
        {"arn:aws:ssm:cn-north-1:" ACCT ":parameter/x", "not in partition aws"},
        {"arn:aws:ssm:moon:" ACCT ":parameter/x", "not a region"},
        {"arn:aws:ssm:eu-west-1:" ACCT ":parameter/x:aws1", "reserves"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        parse_bad(bad[i].in, bad[i].want);
    /* 2048 characters at most, the path included. */
    memset(long_name, 'a', sizeof(long_name));
    long_name[0] = 'x';
    long_name[2048] = '\0';
    assert_null(ref_ssm_name_why(long_name));
    long_name[2048] = 'a';
    long_name[2049] = '\0';
    assert_int_equal(snprintf(buf, sizeof(buf), "ssm:%s", long_name), 2053);
    parse_bad(buf, "longer than 2048");
    /* 16 levels. */
    assert_int_equal(snprintf(deep, sizeof(deep), "ssm:/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p"), 36);
    parse_bad(deep, "more than 15 levels");
}

/* ssm:NAME and a Secrets Manager reference never share a fetch; the selector counts. */
static void ssm_same_fetch(void **state)
{
    struct ref a;
    struct ref b;
    char *wire;

    (void)state;
    parse_ok("ssm:/x", &a);
    parse_ok("/x", &b);
    assert_false(ref_same_fetch(&a, &b));
    ref_free(&b);
    parse_ok("ssm:/x", &b);
    assert_true(ref_same_fetch(&a, &b));
    ref_free(&b);
    parse_ok("ssm:/x:3", &b);
    assert_false(ref_same_fetch(&a, &b));
    wire = ref_ssm_wire(&b);
    assert_string_equal(wire, "/x:3");
    free(wire);
    wire = ref_ssm_wire(&a);
    assert_string_equal(wire, "/x");
    free(wire);
    ref_free(&a);
    ref_free(&b);
    /* A secret literally named "ssm" with a key stays reachable: not as "ssm:key", which is
     * the parameter "key", but by the mapping form (config from: ssm, key: key). */
    parse_ok("ssm", &a);
    assert_int_equal(a.service, REF_SM);
    ref_free(&a);
    parse_ok("ssm:key", &a);
    assert_int_equal(a.service, REF_SSM);
    ref_free(&a);
}

/* Expected hosts: Debian's botocore 1.29.27 (EndpointProvider with each service's
 * endpoint-rule-set-1.json and partitions.json); tests/integration/test_endpoints.py checks
 * Secrets Manager and STS against botocore itself. Here: the rule for any host prefix,
 * SSM's included, and SSM/STS's GovCloud exception. */
static void host_is(const char *prefix, const char *region, int fips, int dualstack,
                    const char *want)
{
    struct ref_endpoint_opts o = {fips, dualstack};
    struct inj_err err;
    char host[256];

    memset(&err, 0, sizeof(err));
    assert_int_equal(ref_endpoint_host(prefix, region, &o, host, sizeof(host), &err), INJ_OK);
    assert_string_equal(host, want);
}

static void endpoint_hosts(void **state)
{
    struct ref_endpoint_opts ds = {0, 1};
    struct inj_err err;
    char host[256];

    (void)state;
    host_is("secretsmanager", "us-east-1", 0, 0, "secretsmanager.us-east-1.amazonaws.com");
    host_is("secretsmanager", "us-east-1", 1, 0, "secretsmanager-fips.us-east-1.amazonaws.com");
    host_is("secretsmanager", "us-east-1", 0, 1, "secretsmanager.us-east-1.api.aws");
    host_is("secretsmanager", "us-east-1", 1, 1, "secretsmanager-fips.us-east-1.api.aws");
    host_is("secretsmanager", "us-gov-west-1", 1, 0,
            "secretsmanager-fips.us-gov-west-1.amazonaws.com");
    host_is("secretsmanager", "cn-north-1", 0, 1,
            "secretsmanager.cn-north-1.api.amazonwebservices.com.cn");
    host_is("secretsmanager", "us-iso-east-1", 1, 0,
            "secretsmanager-fips.us-iso-east-1.c2s.ic.gov");
    /* SSM: the same rule through its host prefix, and GovCloud's plain FIPS host. */
    host_is("ssm", "eu-west-1", 0, 0, "ssm.eu-west-1.amazonaws.com");
    host_is("ssm", "eu-west-1", 1, 0, "ssm-fips.eu-west-1.amazonaws.com");
    host_is("ssm", "eu-west-1", 0, 1, "ssm.eu-west-1.api.aws");
    host_is("ssm", "eu-west-1", 1, 1, "ssm-fips.eu-west-1.api.aws");
    host_is("ssm", "cn-northwest-1", 1, 1, "ssm-fips.cn-northwest-1.api.amazonwebservices.com.cn");
    host_is("ssm", "us-gov-west-1", 1, 0, "ssm.us-gov-west-1.amazonaws.com");
    host_is("ssm", "us-gov-east-1", 1, 1, "ssm-fips.us-gov-east-1.api.aws");
    host_is("ssm", "us-gov-east-1", 0, 1, "ssm.us-gov-east-1.api.aws");
    host_is("ssm", "us-isob-east-1", 1, 0, "ssm-fips.us-isob-east-1.sc2s.sgov.gov");
    host_is("sts", "us-gov-west-1", 1, 0, "sts.us-gov-west-1.amazonaws.com");
    host_is("sts", "eu-west-1", 1, 0, "sts-fips.eu-west-1.amazonaws.com");
    /* No variants: the plain host. */
    memset(&err, 0, sizeof(err));
    assert_int_equal(ref_endpoint_host("ssm", "us-east-1", NULL, host, sizeof(host), &err), INJ_OK);
    assert_string_equal(host, "ssm.us-east-1.amazonaws.com");
    /* Partitions without dual-stack endpoints. */
    assert_int_equal(ref_endpoint_host("ssm", "us-iso-east-1", &ds, host, sizeof(host), &err),
                     INJ_E_USAGE);
    assert_non_null(strstr(err.msg, "partition aws-iso has no dual-stack endpoints"));
    assert_int_equal(
        ref_endpoint_host("secretsmanager", "us-isob-east-1", &ds, host, sizeof(host), &err),
        INJ_E_USAGE);
    /* Too small a buffer is an error, not a truncated host. */
    assert_int_equal(ref_endpoint_host("secretsmanager", "us-east-1", NULL, host, 10, &err),
                     INJ_E_USAGE);
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
        cmocka_unit_test(fetch_key_tags),
        cmocka_unit_test(free_is_idempotent),
        cmocka_unit_test(ssm_forms),
        cmocka_unit_test(ssm_bad),
        cmocka_unit_test(ssm_same_fetch),
        cmocka_unit_test(endpoint_hosts),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
