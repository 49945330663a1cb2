"""Which credentials and region win when several sources are set up: one test per rule.
The losing sources are set up to work too (their fakes would answer), so a wrong order shows
up as a request to the wrong fake or a fetch signed with the wrong keys."""
from creds_fakes import (CONFIG_ARN, assert_signed_with, cenv, container, dry_run,  # noqa: F401
                         imds, mint, register, sts, write_aws)

ROLE = "arn:aws:iam::111122223333:role/app-role"


def _webid(sts, tmp_path, label):
    c = mint(label)
    token = f"eyJ.CANARY-{label}.sig"
    (tmp_path / "token").write_text(token)
    sts.add_web_identity_role(ROLE, token, c)
    return c, {"AWS_WEB_IDENTITY_TOKEN_FILE": str(tmp_path / "token"), "AWS_ROLE_ARN": ROLE}


def _profile(env, label):
    c = mint(label, temporary=False)
    write_aws(env, "credentials", f"""
        [default]
        aws_access_key_id = {c['access_key_id']}
        aws_secret_access_key = {c['secret_access_key']}
        """)
    return c


def _imds_env(env, imds, label):
    c = mint(label)
    imds.serve("role", c)
    env = dict(env, AWS_EC2_METADATA_SERVICE_ENDPOINT=imds.url)
    env.pop("AWS_EC2_METADATA_DISABLED")
    env["AWS_METADATA_SERVICE_TIMEOUT"] = "10"   # a loaded run: no answer turned into a timeout
    return c, env


def test_env_beats_web_identity(fake, cenv, sts, write_config, tmp_path):
    c = mint("envfirst")
    register(fake, "env", c)
    w, wenv = _webid(sts, tmp_path, "webidloses")
    env = dict(cenv, AWS_ACCESS_KEY_ID=c["access_key_id"],
               AWS_SECRET_ACCESS_KEY=c["secret_access_key"],
               AWS_SESSION_TOKEN=c["session_token"], **wenv)
    res = dry_run(env, write_config, [c, w])
    assert res.rc == 0, res
    assert sts.requests == []
    assert_signed_with(fake, c)


def test_env_beats_aws_profile(fake, cenv, write_config):
    # Like botocore: AWS_PROFILE in the environment does not outrank environment keys.
    c = mint("envkeys")
    register(fake, "env", c)
    p = _profile(cenv, "profileloses")
    env = dict(cenv, AWS_ACCESS_KEY_ID=c["access_key_id"],
               AWS_SECRET_ACCESS_KEY=c["secret_access_key"],
               AWS_SESSION_TOKEN=c["session_token"], AWS_PROFILE="default")
    res = dry_run(env, write_config, [c, p])
    assert res.rc == 0, res
    assert_signed_with(fake, c)


def test_web_identity_beats_profile(fake, cenv, sts, write_config, tmp_path):
    w, wenv = _webid(sts, tmp_path, "webidwins")
    register(fake, "webid", w)
    p = _profile(cenv, "profileloses2")
    res = dry_run(dict(cenv, **wenv), write_config, [w, p])
    assert res.rc == 0, res
    assert_signed_with(fake, w)


def test_profile_beats_container(fake, cenv, container, write_config):
    p = _profile(cenv, "profilewins")
    register(fake, "profile", p)
    cc = mint("containerloses")
    container.serve("/creds", cc)
    env = dict(cenv, AWS_CONTAINER_CREDENTIALS_FULL_URI=container.url + "/creds")
    res = dry_run(env, write_config, [p, cc])
    assert res.rc == 0, res
    assert container.requests == []
    assert_signed_with(fake, p)


def test_container_beats_imds(fake, cenv, container, imds, write_config):
    cc = mint("containerwins")
    register(fake, "container", cc)
    container.serve("/creds", cc)
    i, env = _imds_env(cenv, imds, "imdsloses")
    env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = container.url + "/creds"
    res = dry_run(env, write_config, [cc, i], config=CONFIG_ARN)
    assert res.rc == 0, res
    assert imds.requests == []
    assert_signed_with(fake, cc)


def test_relative_uri_beats_full_uri(fake, cenv, container, write_config):
    rel = mint("relative")
    full = mint("full")
    register(fake, "relative", rel)
    container.serve("/v2/credentials/rel", rel)
    container.serve("/full", full)
    env = dict(cenv, AWS_CONTAINER_CREDENTIALS_RELATIVE_URI="/v2/credentials/rel",
               AWS_CONTAINER_CREDENTIALS_FULL_URI=container.url + "/full",
               http_proxy=container.url)
    res = dry_run(env, write_config, [rel, full])
    assert res.rc == 0, res
    assert [(r["host"], r["path"]) for r in container.requests] == \
        [("169.254.170.2", "/v2/credentials/rel")]
    assert_signed_with(fake, rel)


def test_token_file_beats_token_variable(fake, cenv, container, write_config, tmp_path):
    c = mint("tokfile")
    register(fake, "tokfile", c)
    good = "CANARY-from-file-token"
    (tmp_path / "tok").write_text(f"  {good}\n")
    container.serve("/creds", c, token=good)
    env = dict(cenv, AWS_CONTAINER_CREDENTIALS_FULL_URI=container.url + "/creds",
               AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=str(tmp_path / "tok"),
               AWS_CONTAINER_AUTHORIZATION_TOKEN="CANARY-from-variable")
    res = dry_run(env, write_config, [c, good, "CANARY-from-variable"])
    assert res.rc == 0, res
    assert container.requests[0]["auth_ok"] is True
    # Without the file, the variable is sent (and here refused).
    env.pop("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
    res = dry_run(env, write_config, [c, good, "CANARY-from-variable"])
    assert res.rc == 77, res
    assert container.requests[-1]["auth_present"] and container.requests[-1]["auth_ok"] is False


def test_credentials_file_beats_config_file(fake, cenv, write_config):
    a = mint("credsfile", temporary=False)
    b = mint("configfile", temporary=False)
    register(fake, "credsfile", a)
    write_aws(cenv, "credentials", f"""
        [dev]
        aws_access_key_id = {a['access_key_id']}
        aws_secret_access_key = {a['secret_access_key']}
        """)
    write_aws(cenv, "config", f"""
        [profile dev]
        aws_access_key_id = {b['access_key_id']}
        aws_secret_access_key = {b['secret_access_key']}
        """)
    res = dry_run(dict(cenv, AWS_PROFILE="dev"), write_config, [a, b])
    assert res.rc == 0, res
    assert_signed_with(fake, a)


def test_aws_profile_and_file_variables(fake, cenv, write_config, tmp_path):
    a = mint("named", temporary=False)
    register(fake, "named", a)
    creds = tmp_path / "elsewhere" / "creds.ini"
    creds.parent.mkdir()
    creds.write_text(f"[default]\naws_access_key_id = AKIAWRONGWRONGWRONG1\n"
                     f"aws_secret_access_key = wrong\n"
                     f"[named]\naws_access_key_id = {a['access_key_id']}\n"
                     f"aws_secret_access_key = {a['secret_access_key']}\n")
    _profile(cenv, "homefileloses")
    env = dict(cenv, AWS_SHARED_CREDENTIALS_FILE=str(creds), AWS_PROFILE="named",
               AWS_CONFIG_FILE=str(tmp_path / "none"))
    res = dry_run(env, write_config, [a])
    assert res.rc == 0, res
    assert_signed_with(fake, a)


def test_sts_endpoint_variable_beats_general_endpoint(fake, cenv, sts, write_config, tmp_path):
    # cenv has AWS_ENDPOINT_URL (the Secrets Manager fake) and AWS_ENDPOINT_URL_STS (STS fake).
    w, wenv = _webid(sts, tmp_path, "stsendpoint")
    register(fake, "webid", w)
    res = dry_run(dict(cenv, **wenv), write_config, [w])
    assert res.rc == 0, res
    assert len(sts.requests) == 1
    assert [r["action"] for r in fake.state.requests] == ["GetSecretValue"]


# --- region ---

def test_region_from_profile(fake, cenv, write_config):
    c = _profile(cenv, "regionprofile")
    register(fake, "p", c)
    write_aws(cenv, "config", "[default]\nregion = eu-central-1\n")
    env = dict(cenv)
    env.pop("AWS_REGION")
    res = dry_run(env, write_config, [c])
    assert res.rc == 0, res
    assert {r["region"] for r in fake.state.requests} == {"eu-central-1"}


def test_aws_region_beats_profile_region(fake, cenv, write_config):
    c = _profile(cenv, "regionenv")
    register(fake, "p", c)
    write_aws(cenv, "config", "[default]\nregion = us-west-2\n")
    res = dry_run(cenv, write_config, [c])  # AWS_REGION=eu-central-1 from the fake
    assert res.rc == 0, res
    assert {r["region"] for r in fake.state.requests} == {"eu-central-1"}


def test_region_from_imds_placement(fake, cenv, imds, write_config):
    c = _profile(cenv, "regionimds")
    register(fake, "p", c)
    env = dict(cenv, AWS_EC2_METADATA_SERVICE_ENDPOINT=imds.url)
    env.pop("AWS_EC2_METADATA_DISABLED")
    env["AWS_METADATA_SERVICE_TIMEOUT"] = "10"   # a loaded run: no answer turned into a timeout
    env.pop("AWS_REGION")
    res = dry_run(env, write_config, [c])
    assert res.rc == 0, res
    assert "/latest/meta-data/placement/region" in [r["path"] for r in imds.requests]
    assert {r["region"] for r in fake.state.requests} == {"eu-central-1"}


def test_full_arns_need_no_imds_region(fake, cenv, imds, write_config):
    # A full ARN carries its region: IMDS is not asked (it costs seconds off EC2).
    c = _profile(cenv, "regionarn")
    register(fake, "p", c)
    env = dict(cenv, AWS_EC2_METADATA_SERVICE_ENDPOINT=imds.url)
    env.pop("AWS_EC2_METADATA_DISABLED")
    env["AWS_METADATA_SERVICE_TIMEOUT"] = "10"   # a loaded run: no answer turned into a timeout
    env.pop("AWS_REGION")
    res = dry_run(env, write_config, [c], config=CONFIG_ARN)
    assert res.rc == 0, res
    assert imds.requests == []


def test_sts_signing_region_follows_region_chain(fake, cenv, sts, write_config):
    base = mint("regbase", temporary=False)
    role = mint("regrole")
    register(fake, "role", role)
    sts.add_source(base)
    sts.add_role(ROLE, role)
    write_aws(cenv, "config", f"""
        [profile base]
        aws_access_key_id = {base['access_key_id']}
        aws_secret_access_key = {base['secret_access_key']}
        [profile app]
        role_arn = {ROLE}
        source_profile = base
        region = eu-central-1
        """)
    env = dict(cenv, AWS_PROFILE="app")
    env.pop("AWS_REGION")
    res = dry_run(env, write_config, [base, role])
    assert res.rc == 0, res
    assert sts.requests[0]["region"] == "eu-central-1"
    # No region anywhere: STS's global endpoint, signed for us-east-1; full ARNs need none.
    write_aws(cenv, "config", f"""
        [profile base]
        aws_access_key_id = {base['access_key_id']}
        aws_secret_access_key = {base['secret_access_key']}
        [profile app]
        role_arn = {ROLE}
        source_profile = base
        """)
    sts.region = "us-east-1"
    try:
        res = dry_run(env, write_config, [base, role], config=CONFIG_ARN)
    finally:
        sts.region = "eu-central-1"
    assert res.rc == 0, res
    assert sts.requests[-1]["region"] == "us-east-1" and sts.requests[-1]["verified"]
