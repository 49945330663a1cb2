"""Each step of the credentials chain, end to end: the credentials come from one source (a
local fake of STS, the container endpoint or IMDSv2, or files in a temp HOME) and the secret
fetch is signed with them; the Secrets Manager fake knows only those keys. conftest.run greps
every output for the canaries in keys and tokens."""
import os
import textwrap
import urllib.error
import urllib.request

import pytest


from creds_fakes import (IMDS_CREDS, assert_signed_with, cenv, container, dry_run,  # noqa: F401
                         imds, mint, register, sts, write_aws)

ROLE = "arn:aws:iam::111122223333:role/app-role"
SRC_ROLE = "arn:aws:iam::111122223333:role/middle-role"


def test_env(fake, cenv, write_config):
    c = mint("env")
    register(fake, "env", c)
    env = dict(cenv, AWS_ACCESS_KEY_ID=c["access_key_id"],
               AWS_SECRET_ACCESS_KEY=c["secret_access_key"],
               AWS_SESSION_TOKEN=c["session_token"], AWS_CREDENTIAL_EXPIRATION=c["expiration"])
    res = dry_run(env, write_config, [c])
    assert res.rc == 0, res
    assert "AWS credentials from env" in res.err
    assert_signed_with(fake, c)


def test_web_identity(fake, cenv, sts, write_config, tmp_path):
    c = mint("webid")
    register(fake, "webid", c)
    token = "eyJhbGciOiJSUzI1NiJ9.CANARY-webid-token.sig"
    tok = tmp_path / "token"
    tok.write_text(token + "\n")
    sts.add_web_identity_role(ROLE, token, c)
    env = dict(cenv, AWS_WEB_IDENTITY_TOKEN_FILE=str(tok), AWS_ROLE_ARN=ROLE,
               AWS_ROLE_SESSION_NAME="app-session")
    res = dry_run(env, write_config, [c, token])
    assert res.rc == 0, res
    assert "AWS credentials from web identity" in res.err
    [r] = sts.requests
    assert r["action"] == "AssumeRoleWithWebIdentity" and r["status"] == 200
    assert r["signed"] is False  # the call is unsigned, as in the SDKs
    assert r["role_arn"] == ROLE and r["session_name"] == "app-session"
    assert r["content_type"].startswith("application/x-www-form-urlencoded")
    assert_signed_with(fake, c)


def test_web_identity_token_file_is_a_symlink(fake, cenv, sts, write_config, tmp_path):
    # Kubernetes projects the token as token -> ..data/token.
    c = mint("webidlink")
    register(fake, "webidlink", c)
    token = "eyJ.CANARY-projected.sig"
    (tmp_path / "..data").mkdir()
    (tmp_path / "..data" / "token").write_text(token)
    os.symlink("..data/token", tmp_path / "token")
    sts.add_web_identity_role(ROLE, token, c)
    env = dict(cenv, AWS_WEB_IDENTITY_TOKEN_FILE=str(tmp_path / "token"), AWS_ROLE_ARN=ROLE)
    res = dry_run(env, write_config, [c, token])
    assert res.rc == 0, res
    # Without AWS_ROLE_SESSION_NAME a session name is made up.
    assert sts.requests[0]["session_name"].startswith("injector-")


def test_profile_static_keys(fake, cenv, write_config):
    c = mint("static", temporary=False)
    register(fake, "static", c)
    path = write_aws(cenv, "credentials", f"""
        [default]
        aws_access_key_id = {c['access_key_id']}
        aws_secret_access_key = {c['secret_access_key']}
        """)
    os.chmod(path, 0o600)
    res = dry_run(cenv, write_config, [c])
    assert res.rc == 0, res
    assert "AWS credentials from profile default" in res.err
    assert_signed_with(fake, c)


def test_profile_credential_process(fake, cenv, write_config, tmp_path):
    c = mint("process")
    register(fake, "process", c)
    d = tmp_path / "dir with space"
    d.mkdir()
    argv_out = tmp_path / "argv.txt"
    helper = d / "helper"
    helper.write_text(textwrap.dedent(f"""\
        #!/usr/bin/python3
        import json, sys
        import os
        fds = {{}}
        for fd in os.listdir("/proc/self/fd"):
            try:
                fds[fd] = os.readlink("/proc/self/fd/" + fd)
            except OSError:  # the directory's own descriptor, closed by now
                pass
        open({str(argv_out)!r}, "w").write(json.dumps([sys.argv[1:], fds]))
        print(json.dumps({{"Version": 1, "AccessKeyId": {c['access_key_id']!r},
                          "SecretAccessKey": {c['secret_access_key']!r},
                          "SessionToken": {c['session_token']!r},
                          "Expiration": {c['expiration']!r}}}, indent=2))
        """))
    helper.chmod(0o755)
    write_aws(cenv, "config", f"""
        [profile proc]
        credential_process = "{helper}" --role 'a b' "c\\"d" $HOME;true
        """)
    env = dict(cenv, AWS_PROFILE="proc")
    res = dry_run(env, write_config, [c])
    assert res.rc == 0, res
    assert "AWS credentials from profile proc (credential_process)" in res.err
    # Split like botocore (shlex), run without a shell: no expansion, no command separator.
    import json
    argv, fds = json.loads(argv_out.read_text())
    assert argv == ["--role", "a b", 'c"d', "$HOME;true"]
    # Nothing of injector's own leaks into the helper: no sockets (libcurl's included).
    assert not [t for t in fds.values() if t.startswith("socket:")], fds
    assert_signed_with(fake, c)


def test_profile_assume_role_with_source_profile(fake, cenv, sts, write_config):
    base = mint("base", temporary=False)
    role = mint("role")
    register(fake, "role", role)
    sts.add_source(base)
    sts.add_role(ROLE, role, trusted=[base["access_key_id"]], external_id="ext-123")
    write_aws(cenv, "credentials", f"""
        [base]
        aws_access_key_id = {base['access_key_id']}
        aws_secret_access_key = {base['secret_access_key']}
        """)
    write_aws(cenv, "config", f"""
        [profile app]
        role_arn = {ROLE}
        source_profile = base
        role_session_name = deploy
        external_id = ext-123
        duration_seconds = 900
        """)
    res = dry_run(dict(cenv, AWS_PROFILE="app"), write_config, [base, role])
    assert res.rc == 0, res
    assert "AWS credentials from profile app (role)" in res.err
    [r] = sts.requests
    # SigV4 recomputed with botocore: signed by the source profile's keys for sts.
    assert r["action"] == "AssumeRole" and r["verified"] is True, r
    assert r["access_key_id"] == base["access_key_id"]
    assert (r["service"], r["region"]) == ("sts", "eu-central-1")
    assert (r["session_name"], r["external_id"], r["duration"]) == ("deploy", "ext-123", "900")
    # The base profile's keys never reach Secrets Manager.
    assert_signed_with(fake, role)


def test_profile_role_chaining(fake, cenv, sts, write_config):
    base = mint("chainbase", temporary=False)
    middle = mint("chainmid")
    final = mint("chainfinal")
    register(fake, "final", final)
    sts.add_source(base)
    sts.add_source(middle)  # temporary keys: AssumeRole must sign the session token too
    sts.add_role(SRC_ROLE, middle, trusted=[base["access_key_id"]])
    sts.add_role(ROLE, final, trusted=[middle["access_key_id"]])
    write_aws(cenv, "config", f"""
        [profile base]
        aws_access_key_id = {base['access_key_id']}
        aws_secret_access_key = {base['secret_access_key']}
        [profile middle]
        role_arn = {SRC_ROLE}
        source_profile = base
        [profile app]
        role_arn = {ROLE}
        source_profile = middle
        """)
    res = dry_run(dict(cenv, AWS_PROFILE="app"), write_config, [base, middle, final])
    assert res.rc == 0, res
    first, second = sts.requests
    assert (first["role_arn"], first["access_key_id"]) == (SRC_ROLE, base["access_key_id"])
    assert (second["role_arn"], second["access_key_id"]) == (ROLE, middle["access_key_id"])
    assert second["token_signed"] is True and second["verified"] is True
    assert_signed_with(fake, final)


def test_profile_web_identity_token_file(fake, cenv, sts, write_config, tmp_path):
    c = mint("profwebid")
    register(fake, "profwebid", c)
    token = "eyJ.CANARY-profile-token.sig"
    (tmp_path / "tok").write_text(token)
    sts.add_web_identity_role(ROLE, token, c)
    write_aws(cenv, "config", f"""
        [default]
        role_arn = {ROLE}
        web_identity_token_file = {tmp_path / 'tok'}
        role_session_name = from-profile
        """)
    res = dry_run(cenv, write_config, [c, token])
    assert res.rc == 0, res
    [r] = sts.requests
    assert r["action"] == "AssumeRoleWithWebIdentity" and r["session_name"] == "from-profile"
    assert_signed_with(fake, c)


def test_profile_credential_source_ecs_container(fake, cenv, sts, container, write_config):
    src = mint("ecssource")
    role = mint("ecsrole")
    register(fake, "ecsrole", role)
    container.serve("/v1/credentials", src)
    sts.add_source(src)
    sts.add_role(ROLE, role, trusted=[src["access_key_id"]])
    write_aws(cenv, "config", f"""
        [default]
        role_arn = {ROLE}
        credential_source = EcsContainer
        """)
    env = dict(cenv, AWS_CONTAINER_CREDENTIALS_FULL_URI=container.url + "/v1/credentials")
    res = dry_run(env, write_config, [src, role])
    assert res.rc == 0, res
    assert [r["path"] for r in container.requests] == ["/v1/credentials"]
    assert sts.requests[0]["access_key_id"] == src["access_key_id"]
    assert_signed_with(fake, role)


def test_profile_credential_source_ec2_instance_metadata(fake, cenv, sts, imds, write_config):
    src = mint("imdssource")
    role = mint("imdsrole")
    register(fake, "imdsrole", role)
    imds.serve("instance-role", src)
    sts.add_source(src)
    sts.add_role(ROLE, role, trusted=[src["access_key_id"]])
    write_aws(cenv, "config", f"""
        [default]
        role_arn = {ROLE}
        credential_source = Ec2InstanceMetadata
        """)
    env = dict(cenv, AWS_EC2_METADATA_SERVICE_ENDPOINT=imds.url)
    env.pop("AWS_EC2_METADATA_DISABLED")
    env["AWS_METADATA_SERVICE_TIMEOUT"] = "10"   # a loaded run: no answer turned into a timeout
    res = dry_run(env, write_config, [src, role])
    assert res.rc == 0, res
    assert sts.requests[0]["access_key_id"] == src["access_key_id"]
    assert_signed_with(fake, role)


def test_container_full_uri_with_token_file(fake, cenv, container, write_config, tmp_path):
    c = mint("pod")
    register(fake, "pod", c)
    auth = "CANARY-pod-identity-" + "x" * 20
    (tmp_path / "eks-pod-identity-token").write_text(auth + "\n")
    container.serve("/v1/credentials", c, token=auth)
    env = dict(cenv, AWS_CONTAINER_CREDENTIALS_FULL_URI=container.url + "/v1/credentials",
               AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=str(tmp_path / "eks-pod-identity-token"))
    res = dry_run(env, write_config, [c, auth])
    assert res.rc == 0, res
    assert "AWS credentials from container" in res.err
    [r] = container.requests
    assert r["auth_ok"] is True and r["status"] == 200
    assert_signed_with(fake, c)


def test_container_relative_uri(fake, cenv, container, write_config):
    # RELATIVE_URI always means http://169.254.170.2; the fake stands in as an HTTP proxy to
    # see that request.
    c = mint("ecs")
    register(fake, "ecs", c)
    container.serve("/v2/credentials/6b1f8c5e-task", c)
    env = dict(cenv, AWS_CONTAINER_CREDENTIALS_RELATIVE_URI="/v2/credentials/6b1f8c5e-task",
               http_proxy=container.url)
    res = dry_run(env, write_config, [c])
    assert res.rc == 0, res
    [r] = container.requests
    assert r["proxied"] and r["host"] == "169.254.170.2"
    assert r["auth_present"] is False
    assert_signed_with(fake, c)


def test_imds_v2(fake, cenv, imds, write_config):
    c = mint("imds")
    register(fake, "imds", c)
    imds.serve("my-instance-role", c)
    env = dict(cenv, AWS_EC2_METADATA_SERVICE_ENDPOINT=imds.url + "/")
    env.pop("AWS_EC2_METADATA_DISABLED")
    env["AWS_METADATA_SERVICE_TIMEOUT"] = "10"   # a loaded run: no answer turned into a timeout
    res = dry_run(env, write_config, [c])
    assert res.rc == 0, res
    assert "AWS credentials from IMDS" in res.err
    put, role, creds = imds.requests
    assert (put["method"], put["path"], put["ttl"], put["status"]) == \
        ("PUT", "/latest/api/token", "21600", 200)
    assert (role["path"], role["token_ok"]) == (IMDS_CREDS, True)
    assert (creds["path"], creds["token_ok"]) == (IMDS_CREDS + "my-instance-role", True)
    assert_signed_with(fake, c)


def test_imds_ipv6_endpoint_mode(fake, cenv, imds, write_config):
    c = mint("imds6")
    register(fake, "imds6", c)
    imds.serve("r", c)
    env = dict(cenv, AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE="IPv6", http_proxy=imds.url)
    env.pop("AWS_EC2_METADATA_DISABLED")
    env["AWS_METADATA_SERVICE_TIMEOUT"] = "10"   # a loaded run: no answer turned into a timeout
    res = dry_run(env, write_config, [c])
    assert res.rc == 0, res
    assert {r["host"] for r in imds.requests} == {"[fd00:ec2::254]"}
    assert_signed_with(fake, c)


def test_imds_fake_is_v2_only(imds):
    # The fake itself: without a token GETs are refused, and a token needs the TTL header,
    # so the IMDS tests above could not pass with an IMDSv1 client.
    imds.serve("r", mint("v1"))
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(imds.url + IMDS_CREDS, timeout=5)
    assert e.value.code == 401
    put = urllib.request.Request(imds.url + "/latest/api/token", method="PUT", data=b"")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(put, timeout=5)
    assert e.value.code == 400
    put.add_header("X-aws-ec2-metadata-token-ttl-seconds", "60")
    tok = urllib.request.urlopen(put, timeout=5).read().decode()
    get = urllib.request.Request(imds.url + IMDS_CREDS,
                                 headers={"X-aws-ec2-metadata-token": tok})
    assert urllib.request.urlopen(get, timeout=5).read() == b"r"
