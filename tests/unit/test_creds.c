/* test_creds.c: the credentials chain without a network: the profile INI parser, profile
 * resolution, credential_process (command splitting, running, Version 1 JSON), container
 * FULL_URI validation, time parsing, and the "nothing found" message. The environment comes
 * from a table through creds_ctx.env, never from the test's own. */
#include "unit.h"

#include <time.h>

#include "creds.h"
#include "creds_int.h"
#include "log.h"
#include "sbuf.h"

#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY"
#define TOKEN "IQoJb3JpZ2luX2VjTOKENTOKENTOKEN"

/* --- a fake environment --- */

static struct {
    const char *name;
    const char *value;
} fenv[32];
static size_t nfenv;
static char home[512];

static const char *fake_env(const char *name)
{
    size_t i;

    for (i = 0; i < nfenv; i++)
        if (!strcmp(fenv[i].name, name))
            return fenv[i].value;
    return NULL;
}

static void env_set(const char *name, const char *value)
{
    size_t i;

    for (i = 0; i < nfenv; i++) {
        if (!strcmp(fenv[i].name, name)) {
            fenv[i].value = value;
            return;
        }
    }
    assert_true(nfenv < sizeof(fenv) / sizeof(fenv[0]));
    fenv[nfenv].name = name;
    fenv[nfenv].value = value;
    nfenv++;
}

/* A temp HOME, IMDS off, nothing else: the state of a laptop with no AWS setup. */
static int setup(void **state)
{
    (void)state;
    nfenv = 0;
    unit_mkdtemp(home, sizeof(home));
    env_set("HOME", home);
    env_set("AWS_EC2_METADATA_DISABLED", "true");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unit_rmtree(home);
    return 0;
}

static struct creds_ctx ctx(void)
{
    struct creds_ctx c;

    memset(&c, 0, sizeof(c));
    c.env = fake_env;
    return c;
}

static void write_aws(const char *leaf, const char *text)
{
    char dir[600];
    char path[700];

    unit_join(dir, sizeof(dir), home, ".aws");
    (void)mkdir(dir, 0700);
    unit_join(path, sizeof(path), dir, leaf);
    unit_write_file(path, text, strlen(text), 0600);
}

/* Resolves; on failure returns the message in msg (when not NULL). */
static enum inj_rc resolve(struct creds *out, char *msg, size_t n)
{
    struct creds_ctx c = ctx();
    struct inj_err err = UNIT_ERR_INIT;
    enum inj_rc rc = creds_resolve(&c, out, &err);

    if (msg)
        (void)snprintf(msg, n, "%s", err.msg);
    assert_not_contains(err.msg, SECRET);
    assert_not_contains(err.msg, TOKEN);
    return rc;
}

/* --- INI --- */

static void ini_credentials_file(void **state)
{
    static const char text[] = "\xef\xbb\xbf# comment\r\n"
                               "[default]\r\n"
                               "aws_access_key_id = AKIADEFAULT\r\n"
                               "AWS_Secret_Access_Key=" SECRET "\r\n"
                               "\n"
                               "; another comment\n"
                               "[dev]\n"
                               "  aws_access_key_id: AKIADEV  \n"
                               "credential_process = /bin/helper --a=b --c:d\n"
                               "empty =\n"
                               "[profile prod]\n"
                               "region = eu-west-1\n";
    struct inj_err err = UNIT_ERR_INIT;
    struct creds_ini ini;
    const struct creds_ini_sec *s;

    (void)state;
    assert_int_equal(creds_ini_parse(text, strlen(text), 0, &ini, &err), INJ_OK);
    s = creds_ini_profile(&ini, "default");
    assert_non_null(s);
    assert_string_equal(creds_ini_get(&ini, s, "aws_access_key_id"), "AKIADEFAULT");
    /* Keys are case-insensitive, as in botocore's ConfigParser. */
    assert_string_equal(creds_ini_get(&ini, s, "aws_secret_access_key"), SECRET);
    s = creds_ini_profile(&ini, "dev");
    assert_non_null(s);
    assert_string_equal(creds_ini_get(&ini, s, "aws_access_key_id"), "AKIADEV");
    assert_string_equal(creds_ini_get(&ini, s, "credential_process"), "/bin/helper --a=b --c:d");
    assert_null(creds_ini_get(&ini, s, "empty"));
    assert_null(creds_ini_get(&ini, s, "missing"));
    /* The credentials file has no "profile " prefix: the section is literally that. */
    assert_null(creds_ini_profile(&ini, "prod"));
    assert_non_null(creds_ini_profile(&ini, "profile prod"));
    creds_ini_free(&ini);
}

static void ini_config_file(void **state)
{
    static const char text[] = "[default]\n"
                               "region = us-east-1\n"
                               "[profile default]\n"
                               "region = eu-north-1\n"
                               "[profile dev]\n"
                               "region = eu-west-1\n"
                               "s3 =\n"
                               "  max_concurrent_requests = 20\n"
                               "  addressing_style = path\n"
                               "output = json\n"
                               "[profile \"my prof\"]\n"
                               "region = ap-south-1\n"
                               "[sso-session corp]\n"
                               "sso_region = us-east-1\n"
                               "[services dev]\n"
                               "sts =\n"
                               "  endpoint_url = https://x\n"
                               "[plain]\n"
                               "region = nowhere\n";
    struct inj_err err = UNIT_ERR_INIT;
    struct creds_ini ini;
    const struct creds_ini_sec *s;

    (void)state;
    assert_int_equal(creds_ini_parse(text, strlen(text), 1, &ini, &err), INJ_OK);
    /* [profile default] wins over [default]. */
    s = creds_ini_profile(&ini, "default");
    assert_non_null(s);
    assert_string_equal(creds_ini_get(&ini, s, "region"), "eu-north-1");
    s = creds_ini_profile(&ini, "dev");
    assert_string_equal(creds_ini_get(&ini, s, "region"), "eu-west-1");
    assert_null(creds_ini_get(&ini, s, "s3")); /* nested, not a string */
    assert_null(creds_ini_get(&ini, s, "max_concurrent_requests"));
    assert_string_equal(creds_ini_get(&ini, s, "output"), "json");
    s = creds_ini_profile(&ini, "my prof");
    assert_non_null(s);
    assert_string_equal(creds_ini_get(&ini, s, "region"), "ap-south-1");
    assert_null(creds_ini_profile(&ini, "corp"));
    assert_null(creds_ini_profile(&ini, "sso-session corp"));
    /* Without the prefix, a config section is not a profile. */
    assert_null(creds_ini_profile(&ini, "plain"));
    creds_ini_free(&ini);
}

static void ini_err(const char *text, int config_file, const char *want)
{
    struct inj_err err = UNIT_ERR_INIT;
    struct creds_ini ini;

    assert_int_equal(creds_ini_parse(text, strlen(text), config_file, &ini, &err), INJ_E_CONFIG);
    assert_contains(err.msg, want);
    /* A line's text can be a key: messages name lines only. */
    assert_not_contains(err.msg, SECRET);
    assert_null(ini.buf);
}

static void ini_errors(void **state)
{
    struct inj_err err = UNIT_ERR_INIT;
    struct creds_ini ini;

    (void)state;
    ini_err("aws_access_key_id = x\n[default]\n", 0, "line 1: a setting before any [section]");
    ini_err("[default]\n" SECRET "\n", 0, "line 2: expected `name = value`");
    ini_err("[default]\n= " SECRET "\n", 0, "line 2: no name before");
    ini_err("[default]\na = 1\n[default]\n", 0, "line 3: profile \"default\" defined again");
    ini_err("[profile x]\n[profile x]\n", 1, "line 2: profile \"x\" defined again");
    ini_err("[default]\nA = 1\na = 2\n", 0, "line 3: a set again (first on line 2)");
    ini_err("[default\n", 0, "line 1: a [section] line must end with ]");
    ini_err("[ ]\n", 0, "line 1: empty section name");
    assert_int_equal(creds_ini_parse("[a]\nb = c\0d\n", 10, 0, &ini, &err), INJ_E_CONFIG);
    assert_contains(err.msg, "NUL");
    /* Empty and comment-only files are fine. */
    assert_int_equal(creds_ini_parse("", 0, 0, &ini, &err), INJ_OK);
    assert_null(creds_ini_profile(&ini, "default"));
    creds_ini_free(&ini);
    assert_int_equal(creds_ini_parse("# x\n;y\n\n", 8, 1, &ini, &err), INJ_OK);
    creds_ini_free(&ini);
}

/* --- profiles through the chain --- */

static void profile_static_keys(void **state)
{
    struct creds c;

    (void)state;
    write_aws("credentials", "[default]\naws_access_key_id = AKIADEFAULT\n"
                             "aws_secret_access_key = " SECRET "\n"
                             "aws_session_token = " TOKEN "\n");
    assert_int_equal(resolve(&c, NULL, 0), INJ_OK);
    assert_string_equal(c.access_key_id, "AKIADEFAULT");
    assert_string_equal(c.secret_access_key, SECRET);
    assert_string_equal(c.session_token, TOKEN);
    assert_string_equal(c.source, "profile default");
    assert_int_equal(c.expiration, 0);
    creds_free(&c);
}

static void profile_selected_and_merged(void **state)
{
    struct creds c;
    char msg[1024];

    (void)state;
    write_aws("credentials", "[dev]\naws_access_key_id = AKIAFROMCREDS\n"
                             "aws_secret_access_key = " SECRET "\n");
    write_aws("config", "[profile dev]\naws_access_key_id = AKIAFROMCONFIG\n"
                        "aws_secret_access_key = other\nregion = eu-west-3\n"
                        "[profile cfgonly]\naws_access_key_id = AKIACFGONLY\n"
                        "aws_secret_access_key = " SECRET "\n");
    /* No default profile: skipped, and nothing else is set up. */
    assert_int_equal(resolve(&c, msg, sizeof(msg)), INJ_E_NOPERM);
    assert_contains(msg, "profile \"default\": no [default] section in");
    env_set("AWS_PROFILE", "dev");
    assert_int_equal(resolve(&c, NULL, 0), INJ_OK);
    /* The credentials file wins over the config file for the same profile. */
    assert_string_equal(c.access_key_id, "AKIAFROMCREDS");
    assert_string_equal(c.source, "profile dev");
    creds_free(&c);
    env_set("AWS_PROFILE", "cfgonly");
    assert_int_equal(resolve(&c, NULL, 0), INJ_OK);
    assert_string_equal(c.access_key_id, "AKIACFGONLY");
    creds_free(&c);
}

static void profile_env_wins(void **state)
{
    struct creds c;

    (void)state;
    write_aws("credentials", "[default]\naws_access_key_id = AKIAPROFILE\n"
                             "aws_secret_access_key = " SECRET "\n");
    env_set("AWS_ACCESS_KEY_ID", "AKIAENV");
    env_set("AWS_SECRET_ACCESS_KEY", SECRET);
    assert_int_equal(resolve(&c, NULL, 0), INJ_OK);
    assert_string_equal(c.access_key_id, "AKIAENV");
    assert_string_equal(c.source, "env");
    assert_null(c.session_token);
    creds_free(&c);
}

static void profile_files_from_variables(void **state)
{
    static const char ini[] = "[x]\naws_access_key_id = AKIAELSEWHERE\n"
                              "aws_secret_access_key = s\n";
    char path[700];
    struct creds c;

    (void)state;
    unit_join(path, sizeof(path), home, "elsewhere.ini");
    unit_write_file(path, ini, strlen(ini), 0600);
    env_set("AWS_SHARED_CREDENTIALS_FILE", path);
    env_set("AWS_PROFILE", "x");
    assert_int_equal(resolve(&c, NULL, 0), INJ_OK);
    assert_string_equal(c.access_key_id, "AKIAELSEWHERE");
    creds_free(&c);
    /* ~ expands to HOME. */
    env_set("AWS_SHARED_CREDENTIALS_FILE", "~/elsewhere.ini");
    assert_int_equal(resolve(&c, NULL, 0), INJ_OK);
    creds_free(&c);
}

static void profile_failures(void **state)
{
    struct creds c;
    char msg[1024];

    (void)state;
    /* A profile named explicitly but absent: loud (botocore: ProfileNotFound). */
    env_set("AWS_PROFILE", "nope");
    assert_int_equal(resolve(&c, msg, sizeof(msg)), INJ_E_NOPERM);
    assert_contains(msg, "AWS credentials from profile \"nope\": AWS_PROFILE names it, but "
                         "neither");
    write_aws("config", "[profile sso]\nsso_session = corp\nsso_account_id = 1\n"
                        "[profile half]\naws_access_key_id = AKIAHALF\n"
                        "[profile role]\nrole_arn = arn:aws:iam::123456789012:role/r\n"
                        "[profile loop1]\nrole_arn = arn:aws:iam::123456789012:role/a\n"
                        "source_profile = loop2\n"
                        "[profile loop2]\nrole_arn = arn:aws:iam::123456789012:role/b\n"
                        "source_profile = loop1\n"
                        "[profile mfa]\nrole_arn = arn:aws:iam::123456789012:role/m\n"
                        "source_profile = half\nmfa_serial = arn:aws:iam::1:mfa/u\n"
                        "[profile both]\nrole_arn = arn:aws:iam::123456789012:role/m\n"
                        "source_profile = half\ncredential_source = Environment\n"
                        "[profile badsrc]\nrole_arn = arn:aws:iam::123456789012:role/m\n"
                        "credential_source = Laptop\n"
                        "[profile ghost]\nrole_arn = arn:aws:iam::123456789012:role/m\n"
                        "source_profile = ghost2\n"
                        "[profile envsrc]\nrole_arn = arn:aws:iam::123456789012:role/m\n"
                        "credential_source = Environment\n"
                        "[profile regiononly]\nregion = eu-west-1\n");
    assert_int_equal(resolve(&c, msg, sizeof(msg)), INJ_E_NOPERM);
    assert_contains(msg, "AWS_PROFILE names it, but it is in neither");
    env_set("AWS_PROFILE", "sso");
    assert_int_equal(resolve(&c, msg, sizeof(msg)), INJ_E_NOPERM);
    assert_contains(msg, "IAM Identity Center (SSO)");
    assert_contains(msg, "aws configure export-credentials --profile sso");
    env_set("AWS_PROFILE", "half");
    assert_int_equal(resolve(&c, msg, sizeof(msg)), INJ_E_NOPERM);
    assert_contains(msg, "has aws_access_key_id but not aws_secret_access_key");
    env_set("AWS_PROFILE", "role");
    assert_int_equal(resolve(&c, msg, sizeof(msg)), INJ_E_NOPERM);
    assert_contains(msg, "has role_arn but no source_profile");
    env_set("AWS_PROFILE", "loop1");
    assert_int_equal(resolve(&c, msg, sizeof(msg)), INJ_E_NOPERM);
    assert_contains(msg, "source_profile loop");
    env_set("AWS_PROFILE", "mfa");
    assert_int_equal(resolve(&c, msg, sizeof(msg)), INJ_E_NOPERM);
    assert_contains(msg, "mfa_serial");
    env_set("AWS_PROFILE", "both");
    assert_int_equal(resolve(&c, msg, sizeof(msg)), INJ_E_NOPERM);
    assert_contains(msg, "both source_profile and credential_source");
    env_set("AWS_PROFILE", "badsrc");
    assert_int_equal(resolve(&c, msg, sizeof(msg)), INJ_E_NOPERM);
    assert_contains(msg, "expected Environment, Ec2InstanceMetadata or EcsContainer");
    env_set("AWS_PROFILE", "ghost");
    assert_int_equal(resolve(&c, msg, sizeof(msg)), INJ_E_NOPERM);
    assert_contains(msg, "source_profile \"ghost2\" not found");
    /* credential_source = Environment with nothing in the environment. */
    env_set("AWS_PROFILE", "envsrc");
    assert_int_equal(resolve(&c, msg, sizeof(msg)), INJ_E_NOPERM);
    assert_contains(msg, "credential_source Environment: no credentials: AWS_ACCESS_KEY_ID "
                         "not set");
    /* A profile with settings but no credentials is skipped, not a failure. */
    env_set("AWS_PROFILE", "regiononly");
    assert_int_equal(resolve(&c, msg, sizeof(msg)), INJ_E_NOPERM);
    assert_contains(msg, "no AWS credentials found:");
    assert_contains(msg, "profile \"regiononly\": no credentials in profile");
}

static void profile_broken_file(void **state)
{
    struct creds c;
    char msg[1024];

    (void)state;
    write_aws("credentials", "[default]\naws_access_key_id = AKIA\n" SECRET "\n");
    assert_int_equal(resolve(&c, msg, sizeof(msg)), INJ_E_CONFIG);
    assert_contains(msg, "/.aws/credentials: line 3: expected `name = value`");
}

static void profile_region(void **state)
{
    struct creds_ctx c = ctx();
    char buf[64];

    (void)state;
    assert_int_equal(creds_region_fallback(&c, buf, sizeof(buf)), INJ_OK);
    assert_string_equal(buf, "");
    write_aws("config", "[default]\nregion = eu-central-1\n[profile dev]\nregion = us-west-2\n"
                        "[profile bad]\nregion = x/../y\n");
    assert_int_equal(creds_region_fallback(&c, buf, sizeof(buf)), INJ_OK);
    assert_string_equal(buf, "eu-central-1");
    env_set("AWS_PROFILE", "dev");
    assert_int_equal(creds_region_fallback(&c, buf, sizeof(buf)), INJ_OK);
    assert_string_equal(buf, "us-west-2");
    env_set("AWS_PROFILE", "bad");
    assert_int_equal(creds_region_fallback(&c, buf, sizeof(buf)), INJ_OK);
    assert_string_equal(buf, "");
    /* IMDS is disabled in this environment, so asking it changes nothing. */
    c.imds_region = 1;
    assert_int_equal(creds_region_fallback(&c, buf, sizeof(buf)), INJ_OK);
    assert_string_equal(buf, "");
}

/* --- credential_process --- */

static void split(const char *cmd, const char *const *want)
{
    struct inj_err err = UNIT_ERR_INIT;
    char **argv = NULL;
    size_t i;

    assert_int_equal(creds_split_command(cmd, &argv, &err), INJ_OK);
    for (i = 0; want[i]; i++) {
        assert_non_null(argv[i]);
        assert_string_equal(argv[i], want[i]);
    }
    assert_null(argv[i]);
    creds_argv_free(argv);
}

static void split_err(const char *cmd, const char *want)
{
    struct inj_err err = UNIT_ERR_INIT;
    char **argv = NULL;

    assert_int_equal(creds_split_command(cmd, &argv, &err), INJ_E_CONFIG);
    assert_null(argv);
    assert_contains(err.msg, want);
}

/* Python's shlex.split (what botocore uses) gives the same words for each of these. */
static void split_like_shlex(void **state)
{
    (void)state;
    split("/usr/bin/helper", (const char *const[]){"/usr/bin/helper", NULL});
    split("  a\tb \n c  ", (const char *const[]){"a", "b", "c", NULL});
    split("helper --profile \"my prof\" 'a b' c\\ d",
          (const char *const[]){"helper", "--profile", "my prof", "a b", "c d", NULL});
    split("x \"q\\\"q\" \"b\\\\s\" \"d\\$x\" 'n\\o'",
          (const char *const[]){"x", "q\"q", "b\\s", "d\\$x", "n\\o", NULL});
    split("a '' \"\" b", (const char *const[]){"a", "", "", "b", NULL});
    split("pre'mid'\"dq\"post", (const char *const[]){"premiddqpost", NULL});
    split("echo $HOME ; rm -rf /",
          (const char *const[]){"echo", "$HOME", ";", "rm", "-rf", "/", NULL});
    split("/bin/echo '{\"Version\": 1}'",
          (const char *const[]){"/bin/echo", "{\"Version\": 1}", NULL});
    split_err("a 'b", "no closing ' quotation");
    split_err("a \"b", "no closing \" quotation");
    split_err("a \\", "lone backslash");
    split_err("   ", "empty command");
}

static enum creds_status parse(const char *json, enum creds_json_kind kind, struct creds *out,
                               struct creds_try *t)
{
    memset(t, 0, sizeof(*t));
    memset(out, 0, sizeof(*out));
    return creds_parse_json((const unsigned char *)json, strlen(json), kind, 1700000000, "test",
                            "output", out, t);
}

static void process_json(void **state)
{
    struct creds_try t;
    struct creds c;

    (void)state;
    assert_int_equal(parse("{\"Version\": 1, \"AccessKeyId\": \"ASIAPROC\", "
                           "\"SecretAccessKey\": \"" SECRET "\", \"SessionToken\": \"" TOKEN
                           "\", \"Expiration\": \"2030-01-02T03:04:05Z\"}",
                           CREDS_JSON_PROCESS, &c, &t),
                     CREDS_OK);
    assert_string_equal(c.access_key_id, "ASIAPROC");
    assert_string_equal(c.secret_access_key, SECRET);
    assert_string_equal(c.session_token, TOKEN);
    assert_int_equal(c.expiration, 1893553445);
    assert_string_equal(c.source, "test");
    creds_free(&c);
    /* Long-term keys: no token, no expiry. */
    assert_int_equal(parse("{\"Version\":1,\"AccessKeyId\":\"AKIA\",\"SecretAccessKey\":\"s\"}",
                           CREDS_JSON_PROCESS, &c, &t),
                     CREDS_OK);
    assert_null(c.session_token);
    assert_int_equal(c.expiration, 0);
    creds_free(&c);
}

static void process_json_bad(void **state)
{
    static const struct {
        const char *json;
        const char *want;
    } cases[] = {
        {"", "is not a JSON object"},
        {"not json " SECRET, "is not a JSON object"},
        {"[1]", "is not a JSON object"},
        {"{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"" SECRET "\"}", "\"Version\" must be 1"},
        {"{\"Version\":2,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"" SECRET "\"}",
         "\"Version\" must be 1"},
        {"{\"Version\":\"1\",\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s\"}",
         "\"Version\" must be 1"},
        {"{\"Version\":1,\"AccessKeyId\":\"A\"}", "SecretAccessKey missing"},
        {"{\"Version\":1,\"SecretAccessKey\":\"" SECRET "\"}", "AccessKeyId missing"},
        {"{\"Version\":1,\"AccessKeyId\":7,\"SecretAccessKey\":\"" SECRET "\"}", "must be strings"},
        {"{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"" SECRET
         "\",\"Expiration\":\"tomorrow\"}",
         "Expiration is not an ISO 8601 time"},
        {"{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"" SECRET
         "\",\"Expiration\":\"2020-01-01T00:00:00Z\"}",
         "expired at 2020-01-01T00:00:00Z"},
        {"{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"" SECRET
         "\",\"SessionToken\":\"a\\r\\nX-Evil: 1\"}",
         "session token has characters"},
        {"{\"Version\":1,\"AccessKeyId\":\"A B\",\"SecretAccessKey\":\"s\"}",
         "access key id has characters"},
        {"{\"Version\":1,\"AccessKeyId\":\"\",\"SecretAccessKey\":\"s\"}", "no access key id"},
        {"{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"" SECRET "\"", /* truncated */
         "is not a JSON object"},
    };
    struct creds_try t;
    struct creds c;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(parse(cases[i].json, CREDS_JSON_PROCESS, &c, &t), CREDS_FAILED);
        assert_contains(t.why.msg, cases[i].want);
        assert_not_contains(t.why.msg, SECRET);
        assert_null(c.access_key_id);
    }
}

static void container_and_imds_json(void **state)
{
    struct creds_try t;
    struct creds c;

    (void)state;
    assert_int_equal(parse("{\"RoleArn\":\"arn:aws:iam::1:role/task\",\"AccessKeyId\":\"ASIAC\","
                           "\"SecretAccessKey\":\"" SECRET "\",\"Token\":\"" TOKEN "\","
                           "\"Expiration\":\"2030-01-01T00:00:00Z\"}",
                           CREDS_JSON_CONTAINER, &c, &t),
                     CREDS_OK);
    assert_string_equal(c.session_token, TOKEN);
    creds_free(&c);
    assert_int_equal(parse("{\"Code\":\"Success\",\"LastUpdated\":\"2030-01-01T00:00:00Z\","
                           "\"Type\":\"AWS-HMAC\",\"AccessKeyId\":\"ASIAI\",\"SecretAccessKey\":"
                           "\"" SECRET "\",\"Token\":\"" TOKEN "\",\"Expiration\":"
                           "\"2030-01-01T06:00:00Z\"}",
                           CREDS_JSON_IMDS, &c, &t),
                     CREDS_OK);
    assert_int_equal(c.expiration, 1893477600);
    creds_free(&c);
    assert_int_equal(parse("{\"Code\":\"AssumeRoleUnauthorizedAccess\",\"Message\":\"x\"}",
                           CREDS_JSON_IMDS, &c, &t),
                     CREDS_FAILED);
    assert_contains(t.why.msg, "Code is \"AssumeRoleUnauthorizedAccess\"");
}

static void times(void **state)
{
    time_t t;

    (void)state;
    assert_int_equal(creds_parse_time("1970-01-01T00:00:00Z", &t), 0);
    assert_int_equal(t, 0);
    assert_int_equal(creds_parse_time("2030-01-02T03:04:05Z", &t), 0);
    assert_int_equal(t, 1893553445);
    assert_int_equal(creds_parse_time("2030-01-02T03:04:05.123456Z", &t), 0);
    assert_int_equal(t, 1893553445);
    assert_int_equal(creds_parse_time("2030-01-02T05:04:05+02:00", &t), 0);
    assert_int_equal(t, 1893553445);
    assert_int_equal(creds_parse_time("2030-01-02T01:04:05-0200", &t), 0);
    assert_int_equal(t, 1893553445);
    assert_int_equal(creds_parse_time("2030-01-02T03:04:05", &t), -1);
    assert_int_equal(creds_parse_time("2030-13-02T03:04:05Z", &t), -1);
    assert_int_equal(creds_parse_time("2030-01-02T24:04:05Z", &t), -1);
    assert_int_equal(creds_parse_time("2030-01-02T03:04:05Zjunk", &t), -1);
    assert_int_equal(creds_parse_time("2030-01-02T03:04:05.Z", &t), -1);
    assert_int_equal(creds_parse_time("1893553445", &t), -1);
    assert_int_equal(creds_parse_time("", &t), -1);
}

static enum creds_status run_process(const char *cmd, struct creds *c, struct creds_try *t)
{
    struct creds_ctx cc = ctx();

    memset(t, 0, sizeof(*t));
    memset(c, 0, sizeof(*c));
    return creds_process_get(&cc, cmd, "profile p (credential_process)", c, t);
}

static void process_runs(void **state)
{
    struct creds_try t;
    struct creds c;

    (void)state;
    assert_int_equal(run_process("/bin/echo '{\"Version\": 1, \"AccessKeyId\": \"AKIAPROC\", "
                                 "\"SecretAccessKey\": \"" SECRET "\"}'",
                                 &c, &t),
                     CREDS_OK);
    assert_string_equal(c.access_key_id, "AKIAPROC");
    assert_string_equal(c.source, "profile p (credential_process)");
    creds_free(&c);
    /* PATH lookup, no shell: the ; is an argument to echo, so the output is not JSON. */
    assert_int_equal(run_process("echo '{}' ; true", &c, &t), CREDS_FAILED);
    assert_contains(t.why.msg, "credential_process output is not a JSON object");
    assert_int_equal(run_process("/bin/false", &c, &t), CREDS_FAILED);
    assert_contains(t.why.msg, "credential_process /bin/false: exited with status 1");
    assert_int_equal(run_process("/nonexistent/helper --x", &c, &t), CREDS_FAILED);
    /* glibc reports the failed exec; under valgrind the child exits 127 instead. */
    assert_contains(t.why.msg, "credential_process /nonexistent/helper: ");
    assert_contains(t.why.msg, "command not found");
    assert_int_equal(run_process("/bin/sh -c 'kill -TERM $$'", &c, &t), CREDS_FAILED);
    assert_contains(t.why.msg, "killed by signal 15");
    assert_int_equal(run_process("/usr/bin/head -c 70000 /dev/zero", &c, &t), CREDS_FAILED);
    assert_contains(t.why.msg, "output larger than 65536 bytes");
}

static void process_timeout(void **state)
{
    struct creds_try t;
    struct creds c;
    time_t start = time(NULL);

    (void)state;
    env_set("INJECTOR_CREDENTIAL_PROCESS_TIMEOUT", "1");
    assert_int_equal(run_process("/bin/sleep 30", &c, &t), CREDS_FAILED);
    assert_contains(t.why.msg, "no answer within 1 s");
    assert_true(time(NULL) - start <= 5);
    /* Output closed but still running: killed at the deadline too. */
    assert_int_equal(run_process("/bin/sh -c 'exec >&-; exec /bin/sleep 30'", &c, &t),
                     CREDS_FAILED);
    assert_contains(t.why.msg, "did not exit within 1 s");
    env_set("INJECTOR_CREDENTIAL_PROCESS_TIMEOUT", "0");
    assert_int_equal(run_process("/bin/true", &c, &t), CREDS_FAILED);
    assert_contains(t.why.msg, "expected 1 to 3600");
}

/* --- credential_process's stderr: read and printed redacted when it is no terminal --- */

#define ERRP "injector: credential_process: "
#define SIG "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ANSWER                                                                              \
    "{\"Version\": 1, \"AccessKeyId\": \"AKIAPROC\", \"SecretAccessKey\": \"" SECRET "\", " \
    "\"SessionToken\": \"" TOKEN "\"}"

/* A sh script in HOME running body; returns its path in buf. */
static const char *helper_script(char *buf, size_t n, const char *body)
{
    char text[4096];
    int w = snprintf(text, sizeof(text), "#!/bin/sh\n%s\n", body);

    assert_true(w > 0 && (size_t)w < sizeof(text));
    unit_join(buf, n, home, "helper");
    unit_write_file(buf, text, (size_t)w, 0700);
    return buf;
}

/* run_process with fd 2 on a file (no terminal there); err gets what was written to it. */
static enum creds_status run_process_err(const char *cmd, struct creds *c, struct creds_try *t,
                                         char *err, size_t n)
{
    char path[700];
    enum creds_status st;
    ssize_t got;
    size_t len = 0;
    int saved;
    int fd;

    unit_join(path, sizeof(path), home, "stderr.txt");
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    (void)fflush(stderr);
    saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
    st = run_process(cmd, c, t);
    (void)fflush(stderr);
    assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
    (void)close(saved);
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    while (len + 1 < n && (got = read(fd, err + len, n - 1 - len)) > 0)
        len += (size_t)got;
    err[len] = '\0';
    (void)close(fd);
    assert_not_contains(err, SECRET);
    assert_not_contains(err, TOKEN);
    assert_not_contains(err, SIG);
    return st;
}

static void process_stderr_redacted(void **state)
{
    char script[700];
    char err[8192];
    struct creds_try t;
    struct creds c;

    (void)state;
    helper_script(script, sizeof(script),
                  "echo 'hello from the helper' >&2\n"
                  "echo 'key " SECRET " (cached)' >&2\n"
                  "printf 'tok %s\\r\\n' '" TOKEN "' >&2\n"
                  "printf 'a\\000b %s\\n\\n' '" SECRET "' >&2\n"
                  "echo 'Authorization: AWS4-HMAC-SHA256 Credential=AKIAPROC/20240101/us-east-1/"
                  "sts/aws4_request, SignedHeaders=host, Signature=" SIG "' >&2\n"
                  "printf 'no newline at the end' >&2\n"
                  "echo '" ANSWER "'");
    assert_int_equal(run_process_err(script, &c, &t, err, sizeof(err)), CREDS_OK);
    assert_string_equal(c.access_key_id, "AKIAPROC");
    creds_free(&c);
    assert_string_equal(err, ERRP "hello from the helper\n" ERRP "key [redacted] (cached)\n" ERRP
                                  "tok [redacted]\n" ERRP "a?b [redacted]\n" ERRP
                                  "Authorization: [redacted]\n" ERRP "no newline at the end\n");

    /* Failed: shown too (it says why), by pattern, with the keys of a refused answer. */
    helper_script(script, sizeof(script),
                  "echo 'vault: access denied' >&2\n"
                  "echo 'X-Amz-Security-Token: " TOKEN "' >&2\n"
                  "exit 4");
    assert_int_equal(run_process_err(script, &c, &t, err, sizeof(err)), CREDS_FAILED);
    assert_contains(t.why.msg, "exited with status 4 (its stderr is above)");
    assert_string_equal(err,
                        ERRP "vault: access denied\n" ERRP "X-Amz-Security-Token: [redacted]\n");
    helper_script(script, sizeof(script),
                  "echo 'key " SECRET "' >&2\n"
                  "echo '{\"Version\": 1, \"AccessKeyId\": \"AKIAPROC\", \"SecretAccessKey\": "
                  "\"" SECRET "\", \"Expiration\": \"2001-01-01T00:00:00Z\"}'");
    assert_int_equal(run_process_err(script, &c, &t, err, sizeof(err)), CREDS_FAILED);
    assert_contains(t.why.msg, "expired");
    assert_string_equal(err, ERRP "key [redacted]\n");

    /* Nothing on stderr: nothing printed. */
    helper_script(script, sizeof(script), "echo '" ANSWER "'");
    assert_int_equal(run_process_err(script, &c, &t, err, sizeof(err)), CREDS_OK);
    creds_free(&c);
    assert_string_equal(err, "");
}

static void process_stderr_levels(void **state)
{
    char script[700];
    char err[4096];
    struct creds_try t;
    struct creds c;
    enum log_level was = log_get_level();

    (void)state;
    /* -q (errors only): a working helper's chatter is not shown, a failing one's is. */
    log_set_level(LOG_LVL_ERROR);
    helper_script(script, sizeof(script), "echo chatter >&2\necho '" ANSWER "'");
    assert_int_equal(run_process_err(script, &c, &t, err, sizeof(err)), CREDS_OK);
    creds_free(&c);
    assert_string_equal(err, "");
    helper_script(script, sizeof(script), "echo 'why it failed' >&2\nexit 1");
    assert_int_equal(run_process_err(script, &c, &t, err, sizeof(err)), CREDS_FAILED);
    assert_string_equal(err, ERRP "why it failed\n");
    log_set_level(LOG_LVL_QUIET);
    assert_int_equal(run_process_err(script, &c, &t, err, sizeof(err)), CREDS_FAILED);
    assert_string_equal(err, "");
    log_set_level(was);
}

static void process_stderr_bounded(void **state)
{
    char script[700];
    char *err = malloc(256 * 1024);
    struct creds_try t;
    struct creds c;
    size_t lines = 0;
    const char *p;

    (void)state;
    assert_non_null(err);
    env_set("INJECTOR_CREDENTIAL_PROCESS_TIMEOUT", "20");
    /* 1 MiB before the answer: read while it runs, or the helper blocks on a full pipe. */
    helper_script(script, sizeof(script),
                  "yes 'chatty line' | head -c 1048576 >&2\n"
                  "echo '" ANSWER "'");
    assert_int_equal(run_process_err(script, &c, &t, err, 256 * 1024), CREDS_OK);
    creds_free(&c);
    assert_contains(err, ERRP "[983040 more bytes of its stderr not shown: 64 KiB are kept]\n");
    for (p = err; (p = strstr(p, ERRP "chatty line\n")) != NULL; p++)
        lines++;
    assert_int_equal(lines, 65536 / strlen("chatty line\n"));
    /* The answer, stdout closed, then 1 MiB more before it exits: still read (the wait for
     * its exit after stdout's EOF reads stderr too). */
    helper_script(script, sizeof(script),
                  "echo '" ANSWER "'\n"
                  "exec >&-\n"
                  "yes 'chatty line' | head -c 1048576 >&2");
    assert_int_equal(run_process_err(script, &c, &t, err, 256 * 1024), CREDS_OK);
    creds_free(&c);
    assert_contains(err, "[983040 more bytes of its stderr not shown: 64 KiB are kept]");
    /* A helper that leaves a process holding its stderr is not waited for. */
    helper_script(script, sizeof(script),
                  "sleep 30 >/dev/null &\n"
                  "echo 'before' >&2\n"
                  "echo '" ANSWER "'");
    assert_int_equal(run_process_err(script, &c, &t, err, 256 * 1024), CREDS_OK);
    creds_free(&c);
    /* (a warning before it when the sleep had not let go of stdout yet when it exited) */
    assert_contains(err, ERRP "before\n");
    free(err);
}

static void profile_credential_process(void **state)
{
    struct creds c;
    char msg[1024];

    (void)state;
    write_aws("config", "[default]\ncredential_process = /bin/echo '{\"Version\": 1, "
                        "\"AccessKeyId\": \"AKIAPROCESS\", \"SecretAccessKey\": \"" SECRET
                        "\", \"Expiration\": \"2099-01-01T00:00:00Z\"}'\n"
                        "[profile broken]\ncredential_process = /bin/false\n");
    assert_int_equal(resolve(&c, NULL, 0), INJ_OK);
    assert_string_equal(c.access_key_id, "AKIAPROCESS");
    assert_string_equal(c.source, "profile default (credential_process)");
    assert_true(c.expiration > time(NULL));
    creds_free(&c);
    /* Static keys in the credentials file come before credential_process (botocore). */
    write_aws("credentials", "[default]\naws_access_key_id = AKIASTATIC\n"
                             "aws_secret_access_key = " SECRET "\n");
    assert_int_equal(resolve(&c, NULL, 0), INJ_OK);
    assert_string_equal(c.access_key_id, "AKIASTATIC");
    creds_free(&c);
    env_set("AWS_PROFILE", "broken");
    assert_int_equal(resolve(&c, msg, sizeof(msg)), INJ_E_NOPERM);
    assert_contains(msg, "AWS credentials from profile \"broken\": credential_process "
                         "/bin/false: exited with status 1");
}

/* --- container FULL_URI --- */

static void full_uri(void **state)
{
    static const char *const ok[] = {
        "http://127.0.0.1:8080/creds",
        "http://127.1.2.3/",
        "http://localhost/x",
        "http://LOCALHOST:9/x",
        "http://[::1]:80/",
        "http://169.254.170.2/v2/x",
        "http://169.254.170.23/v1/credentials",
        "http://[fd00:ec2::23]/v1",
        "http://[fd00:ec2:0::23]/",
        "https://example.com/creds",
        "HTTPS://creds.internal:8443/",
        "http://127.1/",
    };
    static const struct {
        const char *uri;
        const char *why;
    } bad[] = {
        {"http://example.com/", "http:// may only go to loopback"},
        {"http://169.254.170.3/", "not 169.254.170.3"},
        {"http://169.254.169.254/latest", "http:// may only go"},
        {"http://10.0.0.1/", "http:// may only go"},
        {"http://[fd00:ec2::24]/", "http:// may only go"},
        {"http://[::2]/", "http:// may only go"},
        {"http://127.0.0.1.nip.io/", "http:// may only go"},
        {"http://127.0.0.1@evil.example/", "user name"},
        {"http://user:pw@127.0.0.1/", "user name"},
        {"ftp://127.0.0.1/", "scheme ftp"},
        {"file:///etc/passwd", "not a URL"},
        {"gopher://127.0.0.1/", "scheme gopher: expected http or https"},
        {"not a url", "not a URL"},
        {"", "not a URL"},
    };
    char why[256];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        if (!creds_ecs_uri_allowed(ok[i], why, sizeof(why)))
            fail_msg("%s rejected: %s", ok[i], why);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (creds_ecs_uri_allowed(bad[i].uri, why, sizeof(why)))
            fail_msg("%s allowed", bad[i].uri);
        assert_contains(why, bad[i].why);
    }
}

/* --- the chain's messages --- */

static void nothing_found_message(void **state)
{
    struct creds c;
    char msg[1024];
    char want[2048];

    (void)state;
    assert_int_equal(resolve(&c, msg, sizeof(msg)), INJ_E_NOPERM);
    (void)snprintf(want, sizeof(want),
                   "no AWS credentials found: env: AWS_ACCESS_KEY_ID not set; web identity: "
                   "AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN not set; profile \"default\": "
                   "no %s/.aws/credentials or %s/.aws/config; container: "
                   "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and "
                   "AWS_CONTAINER_CREDENTIALS_FULL_URI not set; IMDS: disabled "
                   "(AWS_EC2_METADATA_DISABLED=true); set credentials for one of these sources "
                   "(see docs/credentials.md)",
                   home, home);
    assert_string_equal(msg, want);
    assert_null(c.access_key_id);
    /* No HOME at all. */
    env_set("HOME", NULL);
    assert_int_equal(resolve(&c, msg, sizeof(msg)), INJ_E_NOPERM);
    assert_contains(msg, "profile \"default\": HOME, AWS_SHARED_CREDENTIALS_FILE and "
                         "AWS_CONFIG_FILE not set; container:");
}

static void failure_stops_the_chain(void **state)
{
    struct creds c;
    char msg[1024];

    (void)state;
    /* Keys in the profile would work, but the environment comes first and is half set:
     * that stops the chain instead of quietly using the profile. */
    write_aws("credentials", "[default]\naws_access_key_id = AKIA\n"
                             "aws_secret_access_key = " SECRET "\n");
    env_set("AWS_ACCESS_KEY_ID", "AKIAENV");
    assert_int_equal(resolve(&c, msg, sizeof(msg)), INJ_E_NOPERM);
    assert_string_equal(msg, "AWS credentials from env: AWS_ACCESS_KEY_ID is set but "
                             "AWS_SECRET_ACCESS_KEY is not (not tried after it: web identity, "
                             "profile, container, IMDS)");
    env_set("AWS_ACCESS_KEY_ID", NULL);
    unit_rmtree(home);
    assert_int_equal(mkdir(home, 0700), 0);
    /* A container URI that is not allowed: a failure, not a skip, and IMDS is not tried. */
    env_set("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://203.0.113.9/creds");
    assert_int_equal(resolve(&c, msg, sizeof(msg)), INJ_E_NOPERM);
    assert_contains(msg, "AWS credentials from container: AWS_CONTAINER_CREDENTIALS_FULL_URI: "
                         "http:// may only go to loopback");
    assert_contains(msg, "(skipped before it: env: AWS_ACCESS_KEY_ID not set; web identity: ");
    assert_contains(msg, "profile \"default\": no ");
    /* IMDS is named as not tried, and was not (it would have answered 'disabled'). */
    assert_contains(msg, "; not tried after it: IMDS)");
    assert_not_contains(msg, "IMDS:");
    /* A token file without a role is broken, not absent (botocore agrees). */
    env_set("AWS_CONTAINER_CREDENTIALS_FULL_URI", NULL);
    env_set("AWS_WEB_IDENTITY_TOKEN_FILE", "/nonexistent/token");
    assert_int_equal(resolve(&c, msg, sizeof(msg)), INJ_E_NOPERM);
    assert_contains(msg, "AWS credentials from web identity: AWS_WEB_IDENTITY_TOKEN_FILE is set "
                         "but AWS_ROLE_ARN is not (skipped before it: env: AWS_ACCESS_KEY_ID "
                         "not set; not tried after it: profile, container, IMDS)");
}

static void message_truncates(void **state)
{
    struct creds_try tries[3];
    struct inj_err err = UNIT_ERR_INIT;
    size_t i;

    (void)state;
    memset(tries, 0, sizeof(tries));
    for (i = 0; i < 3; i++) {
        (void)snprintf(tries[i].label, sizeof(tries[i].label), "src%zu", i);
        memset(tries[i].why.msg, 'x', sizeof(tries[i].why.msg) - 1);
    }
    assert_int_equal(creds_chain_message(tries, 3, -1, &err), INJ_E_NOPERM);
    assert_true(strlen(err.msg) < sizeof(err.msg));
    assert_contains(err.msg, "no AWS credentials found: src0: xxx");
    tries[1].why.code = INJ_E_NOMEM;
    assert_int_equal(creds_chain_message(tries, 3, 1, &err), INJ_E_NOMEM);
    assert_contains(err.msg, "AWS credentials from src1: xxx");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(ini_credentials_file, setup, teardown),
        cmocka_unit_test_setup_teardown(ini_config_file, setup, teardown),
        cmocka_unit_test_setup_teardown(ini_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(profile_static_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(profile_selected_and_merged, setup, teardown),
        cmocka_unit_test_setup_teardown(profile_env_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(profile_files_from_variables, setup, teardown),
        cmocka_unit_test_setup_teardown(profile_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(profile_broken_file, setup, teardown),
        cmocka_unit_test_setup_teardown(profile_region, setup, teardown),
        cmocka_unit_test_setup_teardown(split_like_shlex, setup, teardown),
        cmocka_unit_test_setup_teardown(process_json, setup, teardown),
        cmocka_unit_test_setup_teardown(process_json_bad, setup, teardown),
        cmocka_unit_test_setup_teardown(container_and_imds_json, setup, teardown),
        cmocka_unit_test_setup_teardown(times, setup, teardown),
        cmocka_unit_test_setup_teardown(process_runs, setup, teardown),
        cmocka_unit_test_setup_teardown(process_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(process_stderr_redacted, setup, teardown),
        cmocka_unit_test_setup_teardown(process_stderr_levels, setup, teardown),
        cmocka_unit_test_setup_teardown(process_stderr_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(profile_credential_process, setup, teardown),
        cmocka_unit_test_setup_teardown(full_uri, setup, teardown),
        cmocka_unit_test_setup_teardown(nothing_found_message, setup, teardown),
        cmocka_unit_test_setup_teardown(failure_stops_the_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(message_truncates, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
