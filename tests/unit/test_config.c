/* test_config.c: the YAML config: the issue 3 example, and every refusal with its exact
 * file:line:column (unknown keys, wrong types, duplicates, names, aliases, documents, encoding,
 * modes, paths), plus config_load's file handling (too large, missing). */
#include "unit.h"

#include "config.h"

#define ARN_MOMENTUM \
    "arn:aws:secretsmanager:eu-central-1:111122223333:secret:dev/fcj/momentum-Ab12Cd"
#define ARN_API "arn:aws:secretsmanager:eu-central-1:111122223333:secret:api-Xy12Zz"
#define RDS "rds!db-8fcc3794-ab80-4353-86fb-641f99a65793"
#define UUID "EXAMPLE1-90ab-cdef-fedc-ba987EXAMPLE"

/* The example from issue 3, verbatim. */
static const char issue3[] =
    "version: 1\n"
    "region: eu-central-1                 # optional: else AWS_REGION / AWS_DEFAULT_REGION / "
    "the ARN's region\n"
    "env:\n"
    "  DB_CONNECTION_STRING:              # seed 004: a secret of type \"Other\" holding one key\n"
    "    from: " ARN_MOMENTUM "\n"
    "    key: DB_CONNECTION_STRING\n"
    "  PGUSER:     { from: \"" RDS "\", key: username }\n"
    "  PGPASSWORD: { from: \"" RDS "\", key: password }\n"
    "  API_TOKEN: \"" ARN_API ":token::\"\n"
    "files:\n"
    "  /run/secrets/db.json:              # whole SecretString (or raw SecretBinary bytes)\n"
    "    from: secretPostgresqlMasterUser\n"
    "    mode: \"0400\"\n";

static enum inj_rc parse_str(const char *yaml, struct config *c, struct inj_err *err)
{
    return config_parse("app.yaml", (const unsigned char *)yaml, strlen(yaml), c, err);
}

/* yaml must parse; the caller frees c. */
static void ok(const char *yaml, struct config *c)
{
    struct inj_err err = UNIT_ERR_INIT;
    enum inj_rc rc = parse_str(yaml, c, &err);

    if (rc != INJ_OK)
        fail_msg("unexpected error: %s\n--- yaml:\n%s", err.msg, yaml);
}

/* yaml[0..len) must fail with INJ_E_CONFIG and a message containing want (which carries the
 * "app.yaml:LINE:COL: " prefix when the error has a position). */
static void bad_n(const char *yaml, size_t len, const char *want)
{
    struct inj_err err = UNIT_ERR_INIT;
    struct config c;
    enum inj_rc rc;

    memset(&c, 0x5a, sizeof(c));
    rc = config_parse("app.yaml", (const unsigned char *)yaml, len, &c, &err);
    if (rc != INJ_E_CONFIG)
        fail_msg("rc %d (%s), want config error \"%s\"\n--- yaml:\n%s", (int)rc, err.msg, want,
                 yaml);
    assert_int_equal(err.code, INJ_E_CONFIG);
    assert_contains(err.msg, want);
    /* A failed parse leaves nothing behind. */
    assert_null(c.entries);
    assert_int_equal(c.n, 0);
    assert_null(c.path);
    assert_null(c.region);
    config_free(&c);
}

static void bad(const char *yaml, const char *want)
{
    bad_n(yaml, strlen(yaml), want);
}

static const struct entry *find(const struct config *c, const char *name)
{
    size_t i;

    for (i = 0; i < c->n; i++)
        if (!strcmp(c->entries[i].name, name))
            return &c->entries[i];
    fail_msg("no entry %s", name);
    return NULL;
}

static void issue3_example(void **state)
{
    struct config c;
    const struct entry *e;

    (void)state;
    ok(issue3, &c);
    assert_int_equal(c.version, 1);
    assert_string_equal(c.path, "app.yaml");
    assert_string_equal(c.region, "eu-central-1");
    assert_int_equal(c.n, 5);

    e = find(&c, "DB_CONNECTION_STRING");
    assert_int_equal(e->kind, ENTRY_ENV);
    assert_string_equal(e->ref.secret_id, ARN_MOMENTUM);
    assert_true(e->ref.is_arn);
    assert_string_equal(e->ref.region, "eu-central-1");
    assert_string_equal(e->ref.json_key, "DB_CONNECTION_STRING");
    assert_null(e->ref.version_stage);
    assert_null(e->ref.version_id);
    assert_null(e->pointer);
    assert_false(e->optional);
    assert_false(e->overwrite);
    assert_false(e->allow_reserved);
    assert_int_equal(e->line, 4);
    assert_int_equal(e->col, 3);

    e = find(&c, "PGUSER");
    assert_string_equal(e->ref.secret_id, RDS);
    assert_false(e->ref.is_arn);
    assert_string_equal(e->ref.json_key, "username");
    assert_int_equal(e->line, 7);

    e = find(&c, "PGPASSWORD");
    assert_string_equal(e->ref.secret_id, RDS);
    assert_string_equal(e->ref.json_key, "password");
    assert_true(ref_same_fetch(&find(&c, "PGUSER")->ref, &e->ref));

    e = find(&c, "API_TOKEN");
    assert_string_equal(e->ref.secret_id, ARN_API);
    assert_string_equal(e->ref.json_key, "token");
    assert_null(e->ref.version_stage);
    assert_null(e->ref.version_id);

    e = find(&c, "/run/secrets/db.json");
    assert_int_equal(e->kind, ENTRY_FILE);
    assert_string_equal(e->ref.secret_id, "secretPostgresqlMasterUser");
    assert_null(e->ref.json_key);
    assert_int_equal(e->mode, 0400);
    assert_int_equal(e->line, 11);
    assert_int_equal(e->col, 3);
    config_free(&c);
    assert_null(c.entries);
    config_free(&c); /* twice: fine */
}

static void full_entry_fields(void **state)
{
    struct config c;
    const struct entry *e;

    (void)state;
    ok("version: \"1\"\n"
       "env:\n"
       "  A:\n"
       "    from: prod/db\n"
       "    pointer: /nested/0/x~1y\n"
       "    version_stage: AWSPREVIOUS\n"
       "    optional: true\n"
       "    overwrite: true\n"
       "  B: {from: prod/db, version_id: " UUID ", optional: false, overwrite: false}\n"
       "  PATH: {from: prod/path, allow_reserved: true}\n"
       "  C: 'prod/db::AWSPENDING'\n"
       "files:\n"
       "  /run/s/a: {from: prod/db, key: k, mode: '0640'}\n"
       "  /run/s/b: {from: prod/db, optional: true, mode: \"600\"}\n",
       &c);
    assert_null(c.region);
    assert_int_equal(c.n, 6);
    e = find(&c, "A");
    assert_string_equal(e->pointer, "/nested/0/x~1y");
    assert_null(e->ref.json_key);
    assert_string_equal(e->ref.version_stage, "AWSPREVIOUS");
    assert_true(e->optional);
    assert_true(e->overwrite);
    e = find(&c, "B");
    assert_string_equal(e->ref.version_id, UUID);
    assert_null(e->ref.version_stage);
    assert_false(e->optional);
    assert_false(e->overwrite);
    e = find(&c, "PATH");
    assert_true(e->allow_reserved);
    e = find(&c, "C");
    assert_string_equal(e->ref.version_stage, "AWSPENDING");
    e = find(&c, "/run/s/a");
    assert_int_equal(e->mode, 0640);
    assert_string_equal(e->ref.json_key, "k");
    e = find(&c, "/run/s/b");
    assert_int_equal(e->mode, 0600);
    assert_true(e->optional);
    config_free(&c);
}

static void minimal_configs(void **state)
{
    struct config c;

    (void)state;
    ok("version: 1\n", &c);
    assert_int_equal(c.n, 0);
    config_free(&c);
    ok("version: 1\nenv: {}\nfiles: {}\n", &c);
    assert_int_equal(c.n, 0);
    config_free(&c);
    /* A BOM, CRLF line ends, comments, a document start and end marker. */
    ok("\xef\xbb\xbf# config\r\n---\r\nversion: 1\r\nenv:\r\n  A: x # trailing\r\n...\r\n", &c);
    assert_int_equal(c.n, 1);
    config_free(&c);
    /* Anchors alone (no alias) are harmless. */
    ok("version: 1\nenv:\n  A: &x prod/db\n", &c);
    config_free(&c);
}

static void version_errors(void **state)
{
    (void)state;
    bad("region: eu-west-1\n", "app.yaml:1:1: missing \"version: 1\"");
    bad("version: 2\n", "app.yaml:1:10: unsupported config version \"2\"");
    bad("version: 1.0\n", "app.yaml:1:10: unsupported config version \"1.0\"");
    bad("version: [1]\n", "app.yaml:1:10: version must be a string, not a list");
    bad("version:\n  v: 1\n", "app.yaml:2:3: version must be a string, not a mapping");
    bad("env: {}\n\nversion: ''\n", "app.yaml:3:10: unsupported config version \"\"");
}

static void root_type_errors(void **state)
{
    (void)state;
    bad("- a\n- b\n", "app.yaml:1:1: the config must be a mapping, not a list");
    bad("hello\n", "app.yaml:1:1: the config must be a mapping, not a scalar");
    bad("\n\n  version\n", "app.yaml:3:3: the config must be a mapping, not a scalar");
}

static void empty_inputs(void **state)
{
    (void)state;
    bad("", "app.yaml: the config is empty");
    bad("# only a comment\n\n", "app.yaml: the config is empty");
    bad("\n\n\n", "app.yaml: the config is empty");
}

static void unknown_keys(void **state)
{
    (void)state;
    /* The list of known keys grows with features; its core is checked, not its order. */
    bad("version: 1\nsecrets: {}\n", "app.yaml:2:1: unknown top-level key \"secrets\" (known: ");
    bad("version: 1\nsecrets: {}\n", " env,");
    bad("version: 1\nsecrets: {}\n", " files");
    bad("version: 1\nEnv: {}\n", "app.yaml:2:1: unknown top-level key \"Env\"");
    bad("version: 1\nenv:\n  A:\n    from: x\n    kye: y\n",
        "app.yaml:5:5: A: unknown key \"kye\" in an env entry");
    bad("version: 1\nenv:\n  A: {from: x, mode: '0400'}\n",
        "app.yaml:3:16: A: unknown key \"mode\" in an env entry (known: from, key, pointer, "
        "version_stage, version_id, optional, ");
    bad("version: 1\nenv:\n  A: {from: x, mode: '0400'}\n", "overwrite, allow_reserved");
    bad("version: 1\nfiles:\n  /a: {from: x, overwrite: true}\n",
        "app.yaml:3:17: /a: unknown key \"overwrite\" in a files entry (known: from, key, "
        "pointer, version_stage, version_id, optional, ");
    bad("version: 1\nfiles:\n  /a: {from: x, overwrite: true}\n", "mode");
    bad("version: 1\nfiles:\n  /a: {from: x, allow_reserved: true}\n",
        "app.yaml:3:17: /a: unknown key \"allow_reserved\"");
}

static void wrong_types(void **state)
{
    (void)state;
    bad("version: 1\nenv: [A]\n",
        "app.yaml:2:6: \"env\" must be a mapping of variable names to secrets, not a list");
    bad("version: 1\nfiles: x\n",
        "app.yaml:2:8: \"files\" must be a mapping of file paths to secrets, not a scalar");
    bad("version: 1\nenv:\n",
        "app.yaml:2:5: \"env\" must be a mapping of variable names to secrets, not a scalar");
    bad("version: 1\nenv:\n  A: [x]\n",
        "app.yaml:3:6: A: expected a secret reference or a mapping with \"from\", not a list");
    bad("version: 1\nenv:\n  A: {from: [x]}\n", "app.yaml:3:13: from must be a string, not a list");
    bad("version: 1\nenv:\n  A:\n    from:\n      a: b\n",
        "app.yaml:5:7: from must be a string, not a mapping");
    bad("version: 1\nenv:\n  A: {from: x, key: {a: 1}}\n",
        "app.yaml:3:21: key must be a string, not a mapping");
    bad("version: 1\nenv:\n  A: {from: x, optional: yes}\n",
        "app.yaml:3:26: optional must be true or false, not \"yes\"");
    bad("version: 1\nenv:\n  A: {from: x, optional: 1}\n",
        "app.yaml:3:26: optional must be true or false, not \"1\"");
    bad("version: 1\nenv:\n  A: {from: x, overwrite: True}\n",
        "app.yaml:3:27: overwrite must be true or false, not \"True\"");
    bad("version: 1\nenv:\n  A: {from: x, overwrite: [true]}\n",
        "app.yaml:3:27: overwrite must be a string, not a list");
    bad("version: 1\nenv:\n  A: {from: x, allow_reserved: on}\n",
        "app.yaml:3:32: allow_reserved must be true or false, not \"on\"");
    bad("version: 1\nregion: [eu-west-1]\n", "app.yaml:2:9: region must be a string, not a list");
    bad("version: 1\nenv:\n  [A]: x\n", "app.yaml:3:3: mapping keys must be strings");
    bad("? [a]\n: b\n", "app.yaml:1:3: mapping keys must be strings");
}

static void missing_and_empty_fields(void **state)
{
    (void)state;
    bad("version: 1\nenv:\n  A:\n    key: a\n", "app.yaml:4:5: A: missing \"from\"");
    bad("version: 1\nenv:\n  A: {}\n", "app.yaml:3:6: A: missing \"from\"");
    bad("version: 1\nenv:\n  A: ''\n", "app.yaml:3:6: A: empty secret reference");
    bad("version: 1\nenv:\n  A: {from: x, key: ''}\n", "app.yaml:3:21: A: key is empty");
    bad("version: 1\nenv:\n  A: \"x\\0y\"\n", "app.yaml:3:6: from contains a NUL character");
}

static void duplicate_keys(void **state)
{
    (void)state;
    bad("version: 1\nversion: 1\n", "app.yaml:2:1: duplicate key \"version\" (first at line 1)");
    bad("version: 1\nenv: {}\nfiles: {}\nenv: {}\n",
        "app.yaml:4:1: duplicate key \"env\" (first at line 2)");
    bad("version: 1\nenv:\n  A:\n    from: x\n    from: y\n",
        "app.yaml:5:5: duplicate key \"from\" (first at line 4)");
    bad("version: 1\nenv:\n  A: {from: x, version_stage: S1, version_stage: S2}\n",
        "app.yaml:3:35: duplicate key \"version_stage\" (first at line 3)");
}

static void duplicate_entries(void **state)
{
    (void)state;
    bad("version: 1\nenv:\n  A: x\n  B: y\n  A: z\n",
        "app.yaml:5:3: duplicate key \"A\" (first at line 3)");
    bad("version: 1\nfiles:\n  /run/a: x\n  \"/run/a\": y\n",
        "app.yaml:4:3: duplicate key \"/run/a\" (first at line 3)");
}

static void invalid_env_names(void **state)
{
    static const char *const names[] = {"1A", "A-B",       "A.B", "A B",
                                        "''", "\"\\xe4\"", "A=B", "\"A\\tB\""};
    char yaml[512];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        int n = snprintf(yaml, sizeof(yaml), "version: 1\nenv:\n  %s: x\n", names[i]);
        assert_true(n > 0 && (size_t)n < sizeof(yaml));
        bad(yaml, "app.yaml:3:3: \"");
        bad(yaml, "is not a valid environment variable name ([A-Za-z_][A-Za-z0-9_]*)");
    }
}

static void env_name_length(void **state)
{
    char name[258];
    char yaml[400];
    struct config c;

    (void)state;
    memset(name, 'N', 255);
    name[255] = '\0';
    assert_true(config_env_name_valid(name));
    assert_true(snprintf(yaml, sizeof(yaml), "version: 1\nenv:\n  %s: x\n", name) > 0);
    ok(yaml, &c);
    config_free(&c);
    name[255] = 'N';
    name[256] = '\0';
    assert_false(config_env_name_valid(name));
    assert_true(snprintf(yaml, sizeof(yaml), "version: 1\nenv:\n  %s: x\n", name) > 0);
    bad(yaml, "app.yaml:3:3: \"NNNN");
    assert_true(config_env_name_valid("_"));
    assert_true(config_env_name_valid("a1_B"));
    assert_false(config_env_name_valid(""));
    assert_false(config_env_name_valid("9"));
}

static void reserved_names(void **state)
{
    static const char *const reserved[] = {
        "PATH",         "LD_PRELOAD", "LD_LIBRARY_PATH",   "LD_AUDIT",     "IFS",
        "BASH_ENV",     "ENV",        "PYTHONPATH",        "NODE_OPTIONS", "DYLD_INSERT_LIBRARIES",
        "GCONV_PATH",   "PS4",        "JAVA_TOOL_OPTIONS", "PERL5OPT",     "GLIBC_TUNABLES",
        "PYTHONHOME",   "PERLLIB",    "NODE_PATH",         "ZDOTDIR",      "JDK_JAVA_OPTIONS",
        "BASH_FUNC_x%%"};
    static const char *const plain[] = {"PATH_X", "MYPATH", "LD", "HOME", "path", "DB_PASSWORD"};
    size_t i;
    struct config c;

    (void)state;
    for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
        if (!config_env_name_reserved(reserved[i]))
            fail_msg("%s should be reserved", reserved[i]);
    for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
        if (config_env_name_reserved(plain[i]))
            fail_msg("%s should not be reserved", plain[i]);
    bad("version: 1\nenv:\n  PATH: x\n",
        "app.yaml:3:3: PATH: refusing to set a loader/shell variable from a secret; add "
        "\"allow_reserved: true\"");
    bad("version: 1\nenv:\n  A: x\n  LD_PRELOAD: {from: x, overwrite: true}\n",
        "app.yaml:4:3: LD_PRELOAD: refusing to set a loader/shell variable");
    bad("version: 1\nenv:\n  LD_PRELOAD: {from: x, allow_reserved: false}\n",
        "app.yaml:3:3: LD_PRELOAD: refusing");
    ok("version: 1\nenv:\n  LD_PRELOAD: {from: x, allow_reserved: true}\n"
       "  PATH: {from: x, allow_reserved: true, overwrite: true}\n",
       &c);
    assert_int_equal(c.n, 2);
    assert_true(c.entries[0].allow_reserved);
    assert_true(c.entries[1].overwrite);
    config_free(&c);
}

static void aliases_refused(void **state)
{
    (void)state;
    bad("version: 1\nenv:\n  A: &x prod/db\n  B: *x\n",
        "app.yaml:4:6: YAML aliases (*name) are not supported");
    bad("version: 1\nenv:\n  A: &m {from: x}\n  B: *m\n", "app.yaml:4:6: YAML aliases");
    bad("version: 1\nenv: &e {A: x}\nfiles: *e\n", "app.yaml:3:8: YAML aliases");
    bad("version: 1\nbase: &b {from: x}\nenv:\n  A:\n    <<: *b\n", "app.yaml:5:9: YAML aliases");
    bad("version: &v 1\nenv:\n  A: {from: *v}\n", "app.yaml:3:13: YAML aliases");
    /* An alias to an anchor that does not exist. */
    bad("version: 1\nenv:\n  A: *nope\n", "app.yaml:3:6");
}

/* Every explicit tag is refused where it stands (issue 21): the config reads plain values
 * only, so a tag could only be ignored. */
static void tags_refused(void **state)
{
    (void)state;
    /* scalar tags: a foreign type, a language object, a local tag, the core schema's own */
    bad("version: 1\nenv:\n  A: !!binary cGxhaW4vdGV4dA==\n",
        "app.yaml:3:6: YAML tag \"!!binary\" is not supported");
    bad("version: 1\nenv:\n  A: !!python/object:os.system x\n",
        "app.yaml:3:6: YAML tag \"!!python/object:os.system\" is not supported");
    bad("version: 1\nenv:\n  A: !custom x\n", "app.yaml:3:6: YAML tag \"!custom\"");
    bad("version: 1\nenv:\n  A: !!str plain/text\n", "app.yaml:3:6: YAML tag \"!!str\"");
    bad("version: !!int 1\n", "app.yaml:1:10: YAML tag \"!!int\"");
    bad("version: 1\nsupervise: !!bool true\n", "app.yaml:2:12: YAML tag \"!!bool\"");
    /* the non-specific tag "!" (a plain scalar that must not be resolved) */
    bad("version: 1\nenv:\n  A: ! plain/text\n", "app.yaml:3:6: YAML tag \"!\"");
    /* on a key, in a flow mapping, a quoted scalar */
    bad("version: 1\nenv:\n  !!str A: x\n", "app.yaml:3:3: YAML tag \"!!str\"");
    bad("version: 1\nenv:\n  A: {from: x, key: !!str \"k\"}\n",
        "app.yaml:3:21: YAML tag \"!!str\"");
    /* mapping and sequence tags: the root, a section, a list, a flow list */
    bad("!!map\nversion: 1\n", "app.yaml:1:1: YAML tag \"!!map\"");
    bad("--- !!map\nversion: 1\n", "app.yaml:1:5: YAML tag \"!!map\"");
    bad("version: 1\nenv: !!omap\n  A: x\n", "app.yaml:2:6: YAML tag \"!!omap\"");
    bad("version: 1\nenv: !custom {A: x}\n", "app.yaml:2:6: YAML tag \"!custom\"");
    bad("version: 1\nfailover_regions: !!seq [eu-west-1]\n", "app.yaml:2:19: YAML tag \"!!seq\"");
    bad("version: 1\nsupervise:\n  on_change_exec: !!set\n    - /bin/true\n",
        "app.yaml:3:19: YAML tag \"!!set\"");
    bad("version: 1\nsupervise:\n  on_change_exec: [! /bin/true]\n",
        "app.yaml:3:20: YAML tag \"!\"");
    /* verbatim and %TAG-declared tags; after an anchor */
    bad("version: 1\nenv:\n  A: !<tag:example.com,2000:x> x\n",
        "app.yaml:3:6: YAML tag \"tag:example.com,2000:x\"");
    bad("%TAG !e! tag:example.com,2000:app/\n---\nversion: !e!v 1\n",
        "app.yaml:3:10: YAML tag \"tag:example.com,2000:app/v\"");
    bad("version: 1\nenv:\n  A: &a !!str x\n", "app.yaml:3:6: YAML tag \"!!str\"");
    /* the tag is shown cut to printable ASCII */
    bad("version: 1\nenv:\n  A: !%C3%A9 x\n", "app.yaml:3:6: YAML tag \"!??\"");
}

static void multiple_documents(void **state)
{
    (void)state;
    bad("version: 1\n---\nversion: 1\n", "app.yaml: more than one YAML document");
    bad("version: 1\n---\n", "app.yaml: more than one YAML document");
    bad("---\nversion: 1\n...\n---\nenv: {}\n", "app.yaml: more than one YAML document");
    /* A syntax error in a second document is still reported with its position. */
    bad("version: 1\n---\n{a\n", "app.yaml:4:1: YAML syntax error");
}

static void syntax_errors(void **state)
{
    (void)state;
    bad("version: 1\nenv:\n\tA: x\n", "app.yaml:3:1: YAML syntax error: found character that "
                                      "cannot start any token");
    bad("version: 1\nenv:\n  A: x\n\t  B: y\n", "app.yaml:4:1: YAML syntax error");
    bad("version: 1\nenv: {A: x\n", "app.yaml:3:1: YAML syntax error: did not find expected ',' "
                                    "or '}'");
    bad("version: 1\nenv:\n  A: \"unterminated\n", "YAML syntax error");
    bad("version: 1\n env: {}\n", "app.yaml:2:5: YAML syntax error");
}

static void non_utf8(void **state)
{
    (void)state;
    /* libyaml reports encoding errors as a byte offset: it must still come out as line:col. */
    bad("version: 1\nenv:\n  A: \xff\n", "app.yaml:3:6: YAML syntax error: invalid leading UTF-8");
    bad("version: 1\nenv:\n  A: x\n  B: \xc3\x28\n",
        "app.yaml:4:7: YAML syntax error: invalid trailing UTF-8");
    bad("version: 1\nenv:\n  A: \"\xc3\xa9\xc3\xa9\xed\xa0\x80\"\n",
        "app.yaml:3:9: YAML syntax error");
    bad("\xc0\x80version: 1\n", "app.yaml:1:1: YAML syntax error");
    /* A NUL byte in the input. */
    bad_n("version: 1\nenv:\n  A: x\0y\n", 20, "app.yaml:3:");
}

static void mode_parsing(void **state)
{
    static const struct {
        const char *mode;
        unsigned int want;
    } good[] = {{"\"0400\"", 0400}, {"'0600'", 0600}, {"0440", 0440}, {"\"400\"", 0400},
                {"0640", 0640},     {"0700", 0700},   {"0444", 0444}, {"0750", 0750}};
    static const char *const badmodes[] = {"\"0o400\"", "\"0800\"",  "\"01000\"", "\"04400\"",
                                           "\"2400\"",  "\"-1\"",    "\"\"",      "rw",
                                           "\"0x100\"", "\"0400 \"", "\"4OO\""};
    char yaml[256];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        struct config c;
        assert_true(snprintf(yaml, sizeof(yaml), "version: 1\nfiles:\n  /a: {from: x, mode: %s}\n",
                             good[i].mode) > 0);
        ok(yaml, &c);
        if (c.entries[0].mode != good[i].want)
            fail_msg("mode %s: got %o, want %o", good[i].mode, c.entries[0].mode, good[i].want);
        config_free(&c);
    }
    for (i = 0; i < sizeof(badmodes) / sizeof(badmodes[0]); i++) {
        assert_true(snprintf(yaml, sizeof(yaml), "version: 1\nfiles:\n  /a: {from: x, mode: %s}\n",
                             badmodes[i]) > 0);
        bad(yaml, "app.yaml:3:23: mode must be octal permission bits like \"0400\"");
    }
    bad("version: 1\nfiles:\n  /a: {from: x, mode: '0666'}\n",
        "app.yaml:3:23: mode 0666 makes a secret world-writable");
    bad("version: 1\nfiles:\n  /a: {from: x, mode: '0777'}\n", "world-writable");
    bad("version: 1\nfiles:\n  /a: {from: x, mode: '0200'}\n",
        "app.yaml:3:23: mode 0200 does not let the owner read the file");
    bad("version: 1\nfiles:\n  /a: {from: x, mode: '0'}\n", "does not let the owner read");
    bad("version: 1\nfiles:\n  /a: {from: x, mode: '0044'}\n", "does not let the owner read");
    bad("version: 1\nfiles:\n  /a: {from: x, mode: [0400]}\n",
        "app.yaml:3:23: mode must be a string, not a list");
}

static void file_paths(void **state)
{
    static const char *const badpaths[] = {"relative/x", "x",    "/a/../b", "/a/..", "/../a",
                                           "/a/./b",     "/./a", "/a/.",    "//a",   "/a//b",
                                           "/a/",        "/",    "./a",     "~/a"};
    static const char *const goodpaths[] = {
        "/a", "/run/secrets/db.json", "/a/b..c", "/.hidden", "/a/...", "/a/.b/c", "/a b/c"};
    char yaml[256];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(badpaths) / sizeof(badpaths[0]); i++) {
        assert_true(snprintf(yaml, sizeof(yaml), "version: 1\nfiles:\n  \"%s\": x\n", badpaths[i]) >
                    0);
        bad(yaml, "app.yaml:3:3: \"");
        bad(yaml, "is not an absolute, normalised file path");
    }
    for (i = 0; i < sizeof(goodpaths) / sizeof(goodpaths[0]); i++) {
        struct config c;
        assert_true(
            snprintf(yaml, sizeof(yaml), "version: 1\nfiles:\n  \"%s\": x\n", goodpaths[i]) > 0);
        ok(yaml, &c);
        assert_string_equal(c.entries[0].name, goodpaths[i]);
        config_free(&c);
    }
}

static void long_file_path(void **state)
{
    char *yaml = malloc(5000);
    size_t i;

    (void)state;
    assert_non_null(yaml);
    /* An explicit key ("? "): a plain key is limited to 1024 characters by YAML itself. */
    memcpy(yaml, "version: 1\nfiles:\n  ? /", 23);
    for (i = 23; i < 4200; i++)
        yaml[i] = 'p';
    memcpy(yaml + 4200, "\n  : x\n", 8);
    /* The message is cut to fit (it quotes the path), but the position comes first. */
    bad(yaml, "app.yaml:3:5: \"/ppp");
    free(yaml);
}

static void key_and_pointer(void **state)
{
    (void)state;
    bad("version: 1\nenv:\n  A: {from: x, key: a, pointer: /a}\n",
        "app.yaml:3:6: A: give either \"key\" or \"pointer\", not both");
    bad("version: 1\nenv:\n  A: {from: 'x:a', pointer: /a}\n",
        "app.yaml:3:6: A: give either \"key\" or \"pointer\", not both");
    bad("version: 1\nenv:\n  A: {from: 'x:a', key: b}\n",
        "app.yaml:3:13: A: json key given both in \"from\" and in \"key\"");
    bad("version: 1\nenv:\n  A:\n    key: b\n    from: 'x:b'\n",
        "app.yaml:5:11: A: json key given both in \"from\" and in \"key\"");
    bad("version: 1\nenv:\n  A: {from: x, pointer: a/b}\n",
        "app.yaml:3:25: A: pointer \"a/b\" is not an RFC 6901 JSON pointer");
    bad("version: 1\nenv:\n  A: {from: x, pointer: /a~2}\n", "app.yaml:3:25: A: pointer \"/a~2\"");
    bad("version: 1\nenv:\n  A: {from: x, pointer: /a, pointer: /b}\n",
        "duplicate key \"pointer\"");
}

static void versions_in_two_places(void **state)
{
    struct config c;

    (void)state;
    bad("version: 1\nenv:\n  A:\n    from: 'x::AWSPREVIOUS'\n    version_stage: AWSCURRENT\n",
        "A: version_stage given twice or invalid");
    bad("version: 1\nenv:\n  A:\n    from: 'x:::" UUID "'\n    version_id: " UUID "\n",
        "A: version_id given twice or invalid");
    bad("version: 1\nenv:\n  A: {from: x, version_id: short}\n",
        "A: version_id given twice or invalid");
    bad("version: 1\nenv:\n  A: {from: x, version_stage: 'a b'}\n",
        "A: version_stage given twice or invalid");
    ok("version: 1\nenv:\n  A: {from: x, version_stage: AWSPREVIOUS, version_id: " UUID "}\n", &c);
    assert_string_equal(c.entries[0].ref.version_stage, "AWSPREVIOUS");
    assert_string_equal(c.entries[0].ref.version_id, UUID);
    config_free(&c);
}

static void bad_references_carry_position(void **state)
{
    (void)state;
    bad("version: 1\nenv:\n  A: 'arn:aws:ssm:eu-west-1:111122223333:parameter:x'\n",
        "app.yaml:3:6: A: bad SSM ARN");
    bad("version: 1\nenv:\n  A:\n    from: "
        "arn:aws:secretsmanager:cn-north-1:111122223333:secret:x\n",
        "app.yaml:4:11: A: bad ARN: region cn-north-1 is not in partition aws");
    bad("version: 1\nfiles:\n  /a: 'a:b:c:d:e'\n", "app.yaml:3:7: /a: \"a:b:c:d:e\" has too many");
    bad("version: 1\nenv:\n  A: my secret\n", "app.yaml:3:6: A: \"my secret\" is not a valid");
}

static void region_field(void **state)
{
    (void)state;
    bad("version: 1\nregion: europe\n", "app.yaml:2:9: \"europe\" is not an AWS region name");
    bad("version: 1\nregion: ''\n", "app.yaml:2:9: \"\" is not an AWS region name");
}

static void failover_regions(void **state)
{
    struct config c;
    const struct entry *e;

    (void)state;
    ok("version: 1\n"
       "failover_regions: [eu-west-1, us-east-1]\n"
       "env:\n"
       "  A: prod/a\n"
       "  B: { from: prod/b, failover_regions: [us-west-2] }\n"
       "  C: { from: prod/c, failover_regions: [] }\n"
       "  D: { from: \"" ARN_MOMENTUM "\", failover_regions: [eu-west-1] }\n",
       &c);
    assert_int_equal(c.failover.n, 2);
    assert_string_equal(c.failover.v[0], "eu-west-1");
    assert_string_equal(c.failover.v[1], "us-east-1");
    /* The config's list, unless the entry has its own (an empty one turns failover off). */
    e = find(&c, "A");
    assert_false(e->has_failover);
    assert_ptr_equal(config_failover(&c, e), &c.failover);
    e = find(&c, "B");
    assert_true(e->has_failover);
    assert_int_equal(config_failover(&c, e)->n, 1);
    assert_string_equal(config_failover(&c, e)->v[0], "us-west-2");
    e = find(&c, "C");
    assert_true(e->has_failover);
    assert_int_equal(config_failover(&c, e)->n, 0);
    config_free(&c);

    ok("version: 1\nenv:\n  A: prod/a\n", &c);
    assert_int_equal(c.failover.n, 0);
    assert_int_equal(config_failover(&c, &c.entries[0])->n, 0);
    config_free(&c);

    bad("version: 1\nfailover_regions: eu-west-1\n",
        "app.yaml:2:19: failover_regions must be a list of regions ([eu-west-1]), not a scalar");
    bad("version: 1\nfailover_regions: [eu-west-1, Ireland]\n",
        "app.yaml:2:31: failover_regions: \"Ireland\" is not an AWS region name");
    bad("version: 1\nfailover_regions: [eu-west-1, eu-west-1]\n",
        "app.yaml:2:31: failover_regions: \"eu-west-1\" is listed twice");
    bad("version: 1\nfailover_regions: [eu-west-1, eu-west-2, eu-west-3, eu-north-1, us-east-1]\n",
        "failover_regions: \"us-east-1\" is one region too many (at most 4)");
    bad("version: 1\nfailover_regions: [[eu-west-1]]\n",
        "app.yaml:2:20: failover_regions must be a string, not a list");
    bad("version: 1\nenv:\n  A: { from: prod/a, failover_regions: {eu-west-1: 1} }\n",
        "app.yaml:3:40: A: failover_regions must be a list of regions");
    /* A replica stays in its ARN's partition: the entry's own list, and the config's. */
    bad("version: 1\nenv:\n  D: { from: \"" ARN_MOMENTUM "\", failover_regions: [cn-north-1] }\n",
        "D: failover_regions: cn-north-1 is in partition aws-cn, the secret's ARN in aws");
    bad("version: 1\nfailover_regions: [us-gov-west-1]\nenv:\n  D: \"" ARN_MOMENTUM "\"\n",
        "app.yaml:2:19: D: failover_regions: us-gov-west-1 is in partition aws-us-gov");
    bad("version: 1\nfailover_regions: [eu-west-1]\nfailover_regions: [eu-west-2]\n",
        "duplicate key");
}

static void too_many_entries(void **state)
{
    size_t n = 10001;
    size_t cap = 32 + n * 16;
    char *yaml = malloc(cap);
    size_t off;
    size_t i;

    (void)state;
    assert_non_null(yaml);
    off = (size_t)snprintf(yaml, cap, "version: 1\nenv:\n");
    for (i = 0; i < n; i++)
        off += (size_t)snprintf(yaml + off, cap - off, "  V%zu: x\n", i);
    bad(yaml, "app.yaml:3:3: too many entries in \"env\"");
    free(yaml);
}

static void load_from_file(void **state)
{
    char dir[256];
    char path[512];
    char link[512];
    struct config c;
    struct inj_err err = UNIT_ERR_INIT;

    (void)state;
    unit_mkdtemp(dir, sizeof(dir));
    unit_join(path, sizeof(path), dir, "app.yaml");
    unit_write_file(path, issue3, strlen(issue3), 0600);
    assert_int_equal(config_load(path, &c, &err), INJ_OK);
    assert_int_equal(c.n, 5);
    assert_string_equal(c.path, path);
    config_free(&c);
    /* Through a symlink (Kubernetes ConfigMap mounts). */
    unit_join(link, sizeof(link), dir, "link.yaml");
    assert_int_equal(symlink(path, link), 0);
    assert_int_equal(config_load(link, &c, &err), INJ_OK);
    config_free(&c);
    /* Errors name the path given. */
    unit_write_file(path, "version: 1\nbogus: 1\n", 20, 0600);
    assert_int_equal(config_load(path, &c, &err), INJ_E_CONFIG);
    assert_memory_equal(err.msg, path, strlen(path));
    assert_contains(err.msg, ":2:1: unknown top-level key \"bogus\"");
    unit_rmtree(dir);
}

static void load_missing_and_not_regular(void **state)
{
    char dir[256];
    char path[512];
    struct config c;
    struct inj_err err = UNIT_ERR_INIT;

    (void)state;
    unit_mkdtemp(dir, sizeof(dir));
    unit_join(path, sizeof(path), dir, "nope.yaml");
    assert_int_equal(config_load(path, &c, &err), INJ_E_NOINPUT);
    assert_int_equal(err.code, INJ_E_NOINPUT);
    assert_contains(err.msg, path);
    assert_contains(err.msg, "No such file or directory");
    assert_null(c.entries);
    config_free(&c);
    /* A directory. */
    assert_int_equal(config_load(dir, &c, &err), INJ_E_NOINPUT);
    assert_contains(err.msg, "not a regular file");
    config_free(&c);
    /* A dangling symlink. */
    unit_join(path, sizeof(path), dir, "dangling.yaml");
    assert_int_equal(symlink("/nonexistent/injector/x.yaml", path), 0);
    assert_int_equal(config_load(path, &c, &err), INJ_E_NOINPUT);
    config_free(&c);
    /* /dev/null is not a regular file. */
    assert_int_equal(config_load("/dev/null", &c, &err), INJ_E_NOINPUT);
    config_free(&c);
    unit_rmtree(dir);
}

static void load_empty_file(void **state)
{
    char dir[256];
    char path[512];
    struct config c;
    struct inj_err err = UNIT_ERR_INIT;

    (void)state;
    unit_mkdtemp(dir, sizeof(dir));
    unit_join(path, sizeof(path), dir, "empty.yaml");
    unit_write_file(path, "", 0, 0600);
    assert_int_equal(config_load(path, &c, &err), INJ_E_CONFIG);
    assert_contains(err.msg, "the config is empty");
    config_free(&c);
    unit_rmtree(dir);
}

/* Over 1 MiB is refused before parsing; exactly 1 MiB is read. */
static void load_too_large(void **state)
{
    char dir[256];
    char path[512];
    struct config c;
    struct inj_err err = UNIT_ERR_INIT;
    size_t n = CONFIG_MAX_BYTES;
    char *big = malloc(n + 1);

    (void)state;
    assert_non_null(big);
    memset(big, '#', n + 1);
    memcpy(big, "version: 1\n", 11);
    big[n - 1] = '\n';
    unit_mkdtemp(dir, sizeof(dir));
    unit_join(path, sizeof(path), dir, "big.yaml");
    unit_write_file(path, big, n, 0600);
    assert_int_equal(config_load(path, &c, &err), INJ_OK);
    config_free(&c);
    big[n - 1] = '#';
    big[n] = '\n';
    unit_write_file(path, big, n + 1, 0600);
    assert_int_equal(config_load(path, &c, &err), INJ_E_CONFIG);
    assert_contains(err.msg, path);
    assert_contains(err.msg, "larger than 1048576 bytes");
    assert_null(c.entries);
    config_free(&c);
    free(big);
    unit_rmtree(dir);
}

/* roles:, role and role_arn: entries tied to roles by index, inline ARNs one role each. */
static void roles_config(void **state)
{
    struct config c;
    const struct config_role *r;

    (void)state;
    ok("version: 1\n"
       "env:\n"
       "  A: { from: a, role: shared }\n"
       "  B: { from: b, role_arn: \"arn:aws:iam::444455556666:role/x\" }\n"
       "  C: { from: c, role_arn: \"arn:aws:iam::444455556666:role/x\" }\n"
       "  D: d\n"
       "roles:\n"
       "  shared:\n"
       "    role_arn: arn:aws-cn:iam::111122223333:role/path/reader\n"
       "    external_id: \"ext:42/x\"\n"
       "    session_name: my.app@host\n"
       "    duration: 1h30m\n"
       "  unused: { role_arn: \"arn:aws:iam::111122223333:role/u\" }\n",
       &c);
    assert_int_equal(c.nroles, 3);
    r = config_role_of(&c, find(&c, "A"));
    assert_non_null(r);
    assert_string_equal(r->name, "shared");
    assert_string_equal(r->role_arn, "arn:aws-cn:iam::111122223333:role/path/reader");
    assert_string_equal(r->external_id, "ext:42/x");
    assert_string_equal(r->session_name, "my.app@host");
    assert_int_equal(r->duration_s, 5400);
    assert_false(r->is_inline);
    /* B and C share one inline role, named by its ARN, with STS's defaults. */
    assert_ptr_equal(config_role_of(&c, find(&c, "B")), config_role_of(&c, find(&c, "C")));
    r = config_role_of(&c, find(&c, "B"));
    assert_string_equal(r->name, "arn:aws:iam::444455556666:role/x");
    assert_true(r->is_inline);
    assert_null(r->external_id);
    assert_null(r->session_name);
    assert_int_equal(r->duration_s, 0);
    assert_null(config_role_of(&c, find(&c, "D")));
    config_free(&c);

    bad("version: 1\nenv:\n  A: { from: a, role: nope }\n",
        "app.yaml:3:23: A: role \"nope\" is not defined under roles");
    bad("version: 1\nroles:\n  r: { role_arn: \"arn:aws:iam::111122223333:role/r\", "
        "duration: 899s }\nenv:\n  A: a\n",
        "duration \"899s\" must be whole seconds from 15m");
    bad("version: 1\nroles:\n  r: { role_arn: \"arn:aws:iam::111122223333:role/r\", "
        "duration: 1500ms }\nenv:\n  A: a\n",
        "must be whole seconds");
    bad("version: 1\nroles:\n  r: { role_arn: \"arn:aws:iam::111122223333:role/r\", "
        "duration: 12h1s }\nenv:\n  A: a\n",
        "must be whole seconds");
    bad("version: 1\nroles:\n  \"b a d\": { role_arn: \"arn:aws:iam::111122223333:role/r\" }\n"
        "env:\n  A: a\n",
        "role name \"b a d\"");
    bad("version: 1\nroles:\n  r: { role_arn: \"arn:aws:iam::111122223333:role/\" }\n"
        "env:\n  A: a\n",
        "is not an IAM role ARN");
    bad("version: 1\nroles:\n  r: { role_arn: \"arn:aws:sts::111122223333:role/r\" }\n"
        "env:\n  A: a\n",
        "is not an IAM role ARN");
    bad("version: 1\nenv:\n  A: { from: a, role: \"\" }\n", "A: role is empty");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(issue3_example),
        cmocka_unit_test(full_entry_fields),
        cmocka_unit_test(minimal_configs),
        cmocka_unit_test(version_errors),
        cmocka_unit_test(root_type_errors),
        cmocka_unit_test(empty_inputs),
        cmocka_unit_test(unknown_keys),
        cmocka_unit_test(wrong_types),
        cmocka_unit_test(missing_and_empty_fields),
        cmocka_unit_test(duplicate_keys),
        cmocka_unit_test(duplicate_entries),
        cmocka_unit_test(roles_config),
        cmocka_unit_test(invalid_env_names),
        cmocka_unit_test(env_name_length),
        cmocka_unit_test(reserved_names),
        cmocka_unit_test(aliases_refused),
        cmocka_unit_test(tags_refused),
        cmocka_unit_test(multiple_documents),
        cmocka_unit_test(syntax_errors),
        cmocka_unit_test(non_utf8),
        cmocka_unit_test(mode_parsing),
        cmocka_unit_test(file_paths),
        cmocka_unit_test(long_file_path),
        cmocka_unit_test(key_and_pointer),
        cmocka_unit_test(versions_in_two_places),
        cmocka_unit_test(bad_references_carry_position),
        cmocka_unit_test(region_field),
        cmocka_unit_test(failover_regions),
        cmocka_unit_test(too_many_entries),
        cmocka_unit_test(load_from_file),
        cmocka_unit_test(load_missing_and_not_regular),
        cmocka_unit_test(load_empty_file),
        cmocka_unit_test(load_too_large),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
