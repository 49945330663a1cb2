"""Env-reference mode (--from-env), config from INJECTOR_CONFIG / INJECTOR_CONFIG_YAML, and the
least-privilege child environment (--pristine, child_env.drop_aws_credentials)."""
import seed
from conftest import run

RDS = seed.RDS_NAME
ARN = seed.SECRET_ARNS


def test_references_replaced_without_config(fake, base_env, probe):
    env = dict(base_env)
    env.update({
        # The ECS compact form, exactly as a task definition's valueFrom.
        "PGPASSWORD": f"{ARN[RDS]}:password::",
        "PGPASSWORD_PREV": f"{ARN[RDS]}:password:AWSPREVIOUS:",
        "API_TOKEN": "sm://api#token",
        "NESTED": "sm://app/nested#/db/primary/password",
        "PREV": f"sm://{RDS}?version_stage=AWSPREVIOUS#password",
        "BY_ARN": f"sm://{ARN['api']}#token",
        "WHOLE": "sm://plain/text",
        "UNTOUCHED": "arn:aws:s3:::bucket/key",
        "URLISH": "https://example.com/sm://x",
    })
    res = run(["--from-env", "--"] + probe(env), env)
    assert res.rc == 0, res
    got = probe.read()["env"]
    assert got["PGPASSWORD"] == seed.RDS_PASSWORD
    assert got["PGPASSWORD_PREV"] == seed.RDS_PASSWORD_PREVIOUS
    assert got["API_TOKEN"] == seed.API_TOKEN
    assert got["NESTED"] == f"pw-{seed.C_NESTED_DB}"
    assert got["PREV"] == seed.RDS_PASSWORD_PREVIOUS
    assert got["BY_ARN"] == seed.API_TOKEN
    assert got["WHOLE"] == seed.PLAIN_TEXT
    assert got["UNTOUCHED"] == "arn:aws:s3:::bucket/key"
    assert got["URLISH"] == "https://example.com/sm://x"


def test_with_config_both_apply_and_config_decides_its_names(fake, base_env, write_config,
                                                               probe):
    cfg = write_config("""
        version: 1
        env:
          PGUSER: { from: "rds!db-8fcc3794-ab80-4353-86fb-641f99a65793", key: username }
          API_TOKEN: { from: api, key: token, overwrite: true }
        """)
    env = dict(base_env)
    env["PGPASSWORD"] = f"sm://{RDS}#password"
    env["API_TOKEN"] = "sm://does/not/exist#token"  # the config's entry wins: not fetched
    res = run(["-c", cfg, "--from-env", "--"] + probe(env), env)
    assert res.rc == 0, res
    got = probe.read()["env"]
    assert got["PGUSER"] == "postgres"
    assert got["PGPASSWORD"] == seed.RDS_PASSWORD
    assert got["API_TOKEN"] == seed.API_TOKEN
    # Without --from-env the reference is passed on as it is.
    res = run(["-c", cfg, "--"] + probe(env), env)
    assert res.rc == 0, res
    assert probe.read()["env"]["PGPASSWORD"] == f"sm://{RDS}#password"


def test_unresolvable_reference_is_an_error_app_not_started(fake, base_env, probe):
    for value, code, needle in [
        ("sm://does/not/exist#password", 65, "does/not/exist"),
        (f"sm://{RDS}#passwd", 65, 'key "passwd" not found'),
        (f"{ARN['api']}:nokey::", 65, 'key "nokey" not found'),
        ("sm://", 78, "no secret name after sm://"),
        ("sm://api#", 78, "empty key after '#'"),
        ("sm://api?stage=AWSPREVIOUS#token", 78, 'unknown parameter "stage"'),
        ("sm://api:token", 78, "in sm:// write the key after '#'"),
        ("arn:aws:secretsmanager:eu-central-1:1234:secret:x", 78, "12-digit account"),
        ("arn:aws:secretsmanager:nowhere", 78, "bad ARN"),
    ]:
        env = dict(base_env)
        env["DB_PASSWORD"] = value
        res = run(["--from-env", "--"] + probe(env), env)
        assert res.rc == code, (value, res)
        assert "DB_PASSWORD" in res.err and needle in res.err, (value, res.err)
        assert not probe.path.exists(), value


def test_reserved_names_and_check(fake, base_env, probe):
    env = dict(base_env)
    env["NODE_OPTIONS"] = "sm://api#token"
    res = run(["--from-env", "--"] + probe(env), env)
    assert res.rc == 78 and "NODE_OPTIONS holds a secret reference" in res.err
    env = dict(base_env)
    env["A"] = "sm://api#token"
    env["B"] = "sm://api?version_stage=AWSCURRENT#other"
    res = run(["check", "--from-env"], env)
    assert res.rc == 0, res
    assert "--from-env: OK (2 entries, 1 secret fetch)" in res.out
    res = run(["--from-env", "--", "true"], base_env)
    assert res.rc == 0 and "no environment variable holds a secret reference" in res.err


def test_config_from_injector_config_path(fake, base_env, write_config, probe):
    cfg = write_config("""
        version: 1
        env:
          API_TOKEN: { from: api, key: token }
        """)
    env = dict(base_env)
    env["INJECTOR_CONFIG"] = cfg
    res = run(["--"] + probe(env), env)
    assert res.rc == 0, res
    assert probe.read()["env"]["API_TOKEN"] == seed.API_TOKEN
    # -c wins over the variable.
    env["INJECTOR_CONFIG"] = "/nonexistent.yaml"
    assert run(["-c", cfg, "--"] + probe(env), env).rc == 0
    res = run(["--"] + probe(env), env)
    assert res.rc == 66 and "config /nonexistent.yaml" in res.err


def test_config_inline_yaml(fake, base_env, probe):
    env = dict(base_env)
    env["INJECTOR_CONFIG_YAML"] = ("version: 1\nenv:\n  API_TOKEN: {from: api, key: token}\n"
                                   "  URL: {from: pg/e2e, template: '{{ .username }}@db'}\n")
    res = run(["--"] + probe(env), env)
    assert res.rc == 0, res
    got = probe.read()["env"]
    assert got["API_TOKEN"] == seed.API_TOKEN and got["URL"] == "injector_e2e@db"
    res = run(["check"], env)
    assert res.rc == 0 and res.out.startswith("INJECTOR_CONFIG_YAML: OK (2 entries"), res
    env["INJECTOR_CONFIG_YAML"] = "version: 1\nenv:\n  API_TOKEN: {from: api, kye: token}\n"
    res = run(["check"], env)
    assert res.rc == 78
    assert 'INJECTOR_CONFIG_YAML:3:26: API_TOKEN: unknown key "kye"' in res.err, res.err
    env["INJECTOR_CONFIG"] = "/x.yaml"
    res = run(["check"], env)
    assert res.rc == 64 and "both INJECTOR_CONFIG and INJECTOR_CONFIG_YAML are set" in res.err


def test_no_config_at_all(fake, base_env):
    res = run(["--", "true"], base_env)
    assert res.rc == 64
    assert "no config: give -c FILE, set INJECTOR_CONFIG or INJECTOR_CONFIG_YAML, or use " \
           "--from-env" in res.err


CRED_VARS = {
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/abc",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN": "token-xyz",
    "AWS_WEB_IDENTITY_TOKEN_FILE": "/nonexistent/token",
    "AWS_ROLE_ARN": "arn:aws:iam::111122223333:role/app",
    "AWS_PROFILE": "default",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials",
    "INJECTOR_LOG_LEVEL": "warn",
    "INJECTOR_ANYTHING": "x",
}


def _cred_env(base_env):
    env = dict(base_env)
    env.update(CRED_VARS)
    # The static keys come first in the chain, so the other sources are never consulted.
    env["AWS_WEB_IDENTITY_TOKEN_FILE"] = ""
    env["AWS_ROLE_ARN"] = ""
    env["AWS_PROFILE"] = ""
    return env


def test_pristine_drops_credentials_and_injector_vars(fake, base_env, write_config, probe):
    cfg = write_config("""
        version: 1
        env:
          API_TOKEN: { from: api, key: token }
        """)
    env = _cred_env(base_env)
    res = run(["-c", cfg, "--pristine", "--"] + probe(env), env)
    assert res.rc == 0, res
    got = probe.read()["env"]
    assert got["API_TOKEN"] == seed.API_TOKEN
    for name in list(CRED_VARS) + ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]:
        assert name not in got, name
    # What grants nothing stays: region, endpoint, CA, PATH, and the probe's own variable.
    for name in ("AWS_REGION", "AWS_ENDPOINT_URL", "AWS_CA_BUNDLE", "PATH", "PROBE_OUT"):
        assert got[name] == env[name], name
    # Without --pristine they are all passed on.
    res = run(["-c", cfg, "--"] + probe(env), env)
    assert res.rc == 0
    got = probe.read()["env"]
    assert got["AWS_SECRET_ACCESS_KEY"] == env["AWS_SECRET_ACCESS_KEY"]
    assert got["INJECTOR_ANYTHING"] == "x"


def test_child_env_config_key_and_entry_still_set(fake, base_env, write_config, probe):
    cfg = write_config("""
        version: 1
        child_env: { drop_aws_credentials: true }
        env:
          # An entry may still hand the app its own key on purpose.
          AWS_SESSION_TOKEN: { from: api, key: token }
        """)
    env = _cred_env(base_env)
    res = run(["-c", cfg, "--"] + probe(env), env)
    assert res.rc == 0, res
    got = probe.read()["env"]
    assert "AWS_ACCESS_KEY_ID" not in got and "AWS_CONTAINER_AUTHORIZATION_TOKEN" not in got
    assert got["AWS_SESSION_TOKEN"] == seed.API_TOKEN
    cfg = write_config("""
        version: 1
        child_env: { drop_aws_credential: true }
        """)
    res = run(["check", "-c", cfg], base_env)
    assert res.rc == 78 and 'unknown key "drop_aws_credential" in child_env' in res.err


def test_ecs_mixed_secrets_as_environment(fake, base_env, probe):
    """Migration (issue 15): an ECS task definition's `secrets` mixing both services, moved to
    `environment` as they were (valueFrom values), works with --from-env; a bare parameter name
    (ECS's third form) cannot be told from a value and needs ssm:."""
    env = dict(base_env)
    env.update({
        "PGPASSWORD": f"{ARN[RDS]}:password::",
        "DB_PASSWORD": seed.PARAMETER_ARNS["/prod/db/password"],
        "DB_PASSWORD_V1": seed.PARAMETER_ARNS["/prod/db/password"] + ":1",
        "DB_HOST": "ssm:/prod/db/host",
        "SHARED": seed.PARAMETER_ARNS["/shared/db/password"],
        "BARE": "/prod/db/host",
    })
    res = run(["--from-env", "--"] + probe(env), env)
    assert res.rc == 0, res
    got = probe.read()["env"]
    assert got["PGPASSWORD"] == seed.RDS_PASSWORD
    assert got["DB_PASSWORD"] == seed.P_DB_PASSWORD
    assert got["DB_PASSWORD_V1"] == seed.P_DB_PASSWORD_V1
    assert got["DB_HOST"] == seed.P_DB_HOST
    assert got["SHARED"] == seed.P_SHARED
    assert got["BARE"] == "/prod/db/host"
    acts = fake.state.stats()["requests_by_action"]
    assert acts.get("GetParameters") == 1


def test_parameter_reference_that_fails_is_never_passed_on(fake, base_env, probe):
    env = dict(base_env)
    env["DB_PASSWORD"] = seed.PARAMETER_ARNS["/prod/db/password"] + ":99"
    res = run(["--from-env", "--"] + probe(env), env)
    assert res.rc == 65, res
    assert "--from-env" in res.err or "DB_PASSWORD" in res.err
    assert not probe.path.exists()
