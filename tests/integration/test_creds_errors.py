"""What injector says when credentials cannot be had: one test per message. All exit 77 and
print no key or token (conftest.run checks every run for canaries; the tokens here carry
them)."""

from creds_fakes import (cenv, closed_port, container, dry_run, imds, mint,  # noqa: F401
                         fails_with, register, sts, write_aws)

ROLE = "arn:aws:iam::111122223333:role/app-role"


def _imds_on(env, url):
    env = dict(env, AWS_EC2_METADATA_SERVICE_ENDPOINT=url)
    env.pop("AWS_EC2_METADATA_DISABLED", None)
    return env


def test_nothing_found_lists_every_source(cenv, write_config):
    home = cenv["HOME"]
    port = closed_port()
    res = dry_run(_imds_on(cenv, f"http://127.0.0.1:{port}"), write_config)
    line = fails_with(res,
                      "no AWS credentials found: env: AWS_ACCESS_KEY_ID not set; "
                      "web identity: AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN not set; "
                      f'profile "default": no {home}/.aws/credentials or {home}/.aws/config; '
                      "container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and "
                      "AWS_CONTAINER_CREDENTIALS_FULL_URI not set; "
                      f"IMDS: 127.0.0.1:{port}: cannot connect")
    assert "(2 attempts of 1 s)" in line


def test_nothing_found_imds_disabled(cenv, write_config):
    fails_with(dry_run(cenv, write_config), "IMDS: disabled (AWS_EC2_METADATA_DISABLED=true)")


def test_imds_timeout_is_short(cenv, imds, write_config):
    imds.delay = 5
    res = dry_run(_imds_on(cenv, imds.url), write_config)
    # The 1 s timeout, not the fake's 5 s, ended each attempt (curl says which timeout).
    fails_with(res, "IMDS: 127.0.0.1:", "timed out", "(2 attempts of 1 s)",
               "--http-put-response-hop-limit 2")
    # One retry: two token requests, and no GET without a token.
    assert [r["method"] for r in imds.requests] == ["PUT", "PUT"]


def test_timeout_bounds_the_credential_chain(cenv, imds, write_config):
    """--timeout covers the credentials too: an IMDS that hangs longer than its own
    (raised) timeout is cut off at the deadline, and no retry starts after it."""
    imds.delay = 30
    env = dict(_imds_on(cenv, imds.url), AWS_METADATA_SERVICE_TIMEOUT="20")
    res = dry_run(env, write_config, args=("-v", "--timeout", "1.5"), timeout=60)
    # Out of time is exit 75, not "no credentials" (77).
    fails_with(res, "IMDS: 127.0.0.1:", "timed out", "no time left to retry (deadline: --timeout",
               code=75)
    assert [r["method"] for r in imds.requests] == ["PUT"]


def test_imds_v1_only(cenv, imds, write_config):
    imds.token_status = 404
    fails_with(dry_run(_imds_on(cenv, imds.url), write_config),
               "has no IMDSv2 token endpoint (HTTP 404); injector does not use IMDSv1")
    assert all(r["method"] == "PUT" for r in imds.requests)


def test_imds_turned_off(cenv, imds, write_config):
    imds.token_status = 403
    fails_with(dry_run(_imds_on(cenv, imds.url), write_config),
               "IMDS: token refused (HTTP 403): instance metadata is turned off")


def test_imds_no_role(cenv, imds, write_config):
    fails_with(dry_run(_imds_on(cenv, imds.url), write_config),
               "IMDS: no IAM role attached to this instance")


def test_imds_error_code(cenv, imds, write_config):
    imds.serve("role", mint("imdsbad"))
    imds.code = "AssumeRoleUnauthorizedAccess"
    fails_with(dry_run(_imds_on(cenv, imds.url), write_config),
               "AWS credentials from IMDS: IMDS credentials: Code is "
               "\"AssumeRoleUnauthorizedAccess\"")


def test_env_half_set(cenv, write_config):
    env = dict(cenv, AWS_ACCESS_KEY_ID="AKIAHALFSETHALFSET01")
    fails_with(dry_run(env, write_config),
               "AWS credentials from env: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not")


def test_env_expired(cenv, write_config):
    c = mint("envexp")
    env = dict(cenv, AWS_ACCESS_KEY_ID=c["access_key_id"],
               AWS_SECRET_ACCESS_KEY=c["secret_access_key"],
               AWS_CREDENTIAL_EXPIRATION="2020-01-01T00:00:00Z")
    fails_with(dry_run(env, write_config, [c]),
               "environment: the credentials expired at 2020-01-01T00:00:00Z")


def test_web_identity_token_file_missing(cenv, write_config, tmp_path):
    env = dict(cenv, AWS_WEB_IDENTITY_TOKEN_FILE=str(tmp_path / "nope"), AWS_ROLE_ARN=ROLE)
    fails_with(dry_run(env, write_config),
               f"AWS credentials from web identity: web identity token file {tmp_path}/nope: "
               "No such file or directory",
               "(skipped before it: env: AWS_ACCESS_KEY_ID not set; not tried after it: profile, "
               "container, IMDS)")


def test_web_identity_token_without_role(cenv, write_config, tmp_path):
    (tmp_path / "t").write_text("eyJ.CANARY-x.y")
    env = dict(cenv, AWS_WEB_IDENTITY_TOKEN_FILE=str(tmp_path / "t"))
    fails_with(dry_run(env, write_config),
               "web identity: AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not")


def test_web_identity_access_denied(cenv, sts, write_config, tmp_path):
    (tmp_path / "t").write_text("eyJ.CANARY-denied.sig")
    env = dict(cenv, AWS_WEB_IDENTITY_TOKEN_FILE=str(tmp_path / "t"), AWS_ROLE_ARN=ROLE)
    fails_with(dry_run(env, write_config, ["eyJ.CANARY-denied.sig"]),
               f"STS AssumeRoleWithWebIdentity for {ROLE}: AccessDenied: Not authorized to "
               "perform sts:AssumeRoleWithWebIdentity; check the role's trust policy")


def test_web_identity_invalid_token_echoed_by_server(cenv, sts, write_config, tmp_path):
    # A server that repeats the token in its message: the token is cut out, the rest kept.
    token = "eyJ.CANARY-echoed.sig"
    (tmp_path / "t").write_text(token)
    sts.add_web_identity_role(ROLE, token, mint("never"))
    sts.fail("InvalidIdentityToken", "Token {token} is not valid")
    env = dict(cenv, AWS_WEB_IDENTITY_TOKEN_FILE=str(tmp_path / "t"), AWS_ROLE_ARN=ROLE)
    line = fails_with(dry_run(env, write_config, [token]),
                  "InvalidIdentityToken: Token [redacted] is not valid; check that the token's "
                  "issuer")
    assert token not in line


def test_web_identity_sts_retries_5xx(fake, cenv, sts, write_config, tmp_path):
    c = mint("retry")
    register(fake, "retry", c)
    token = "eyJ.CANARY-retry.sig"
    (tmp_path / "t").write_text(token)
    sts.add_web_identity_role(ROLE, token, c)
    sts.fail("InternalFailure", "try again", status=500, count=2)
    env = dict(cenv, AWS_WEB_IDENTITY_TOKEN_FILE=str(tmp_path / "t"), AWS_ROLE_ARN=ROLE)
    res = dry_run(env, write_config, [c, token])
    assert res.rc == 0, (res, sts.requests)
    assert [r["status"] for r in sts.requests] == [500, 500, 200]


def test_sts_endpoint_must_be_https(cenv, write_config, tmp_path):
    (tmp_path / "t").write_text("eyJ.CANARY-https.sig")
    env = dict(cenv, AWS_WEB_IDENTITY_TOKEN_FILE=str(tmp_path / "t"), AWS_ROLE_ARN=ROLE,
               AWS_ENDPOINT_URL_STS="http://127.0.0.1:9/")
    fails_with(dry_run(env, write_config),
               "AWS_ENDPOINT_URL_STS=http://127.0.0.1:9/: only https:// endpoints are allowed")


def test_general_endpoint_applies_to_sts(cenv, write_config, tmp_path):
    # Without AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL (here the Secrets Manager fake) is used
    # for STS too, as in the SDKs; it is not STS, and the message says so.
    (tmp_path / "t").write_text("eyJ.CANARY-general.sig")
    env = dict(cenv, AWS_WEB_IDENTITY_TOKEN_FILE=str(tmp_path / "t"), AWS_ROLE_ARN=ROLE)
    env.pop("AWS_ENDPOINT_URL_STS")
    fails_with(dry_run(env, write_config),
               f"without an STS error (is {cenv['AWS_ENDPOINT_URL']}/ an STS endpoint?)")


def test_profile_named_but_missing(cenv, write_config):
    fails_with(dry_run(dict(cenv, AWS_PROFILE="nope"), write_config),
               'AWS credentials from profile "nope": AWS_PROFILE names it, but neither')


def test_profile_file_syntax_error(cenv, write_config):
    c = mint("syntax", temporary=False)
    path = write_aws(cenv, "credentials", f"""
        [default]
        aws_access_key_id = {c['access_key_id']}
        {c['secret_access_key']}
        """)
    fails_with(dry_run(cenv, write_config, [c]),
               f'profile "default": {path}: line 4: expected `name = value`', code=78)


def test_profile_sso_not_supported(cenv, write_config):
    write_aws(cenv, "config", """
        [profile corp]
        sso_session = corp
        sso_account_id = 111122223333
        sso_role_name = Dev
        [sso-session corp]
        sso_start_url = https://corp.awsapps.com/start
        sso_region = eu-central-1
        """)
    fails_with(dry_run(dict(cenv, AWS_PROFILE="corp"), write_config),
               "uses IAM Identity Center (SSO), which injector does not support",
               "aws configure export-credentials --profile corp --format env")


def test_credential_process_fails(cenv, write_config, tmp_path):
    helper = tmp_path / "helper"
    helper.write_text("#!/bin/sh\necho 'cannot reach the vault' >&2\nexit 3\n")
    helper.chmod(0o755)
    write_aws(cenv, "config", f"[default]\ncredential_process = {helper}\n")
    res = dry_run(cenv, write_config)
    fails_with(res, f"credential_process {helper}: exited with status 3")
    assert "cannot reach the vault" in res.err  # its stderr is passed through


def test_credential_process_bad_output(cenv, write_config, tmp_path):
    helper = tmp_path / "helper"
    helper.write_text('#!/bin/sh\necho \'{"Version": 2, "AccessKeyId": "A", '
                      '"SecretAccessKey": "CANARY-bad-output"}\'\n')
    helper.chmod(0o755)
    write_aws(cenv, "config", f"[default]\ncredential_process = {helper}\n")
    fails_with(dry_run(cenv, write_config, ["CANARY-bad-output"]),
               'credential_process output: "Version" must be 1')


def test_credential_process_timeout(cenv, write_config):
    write_aws(cenv, "config", "[default]\ncredential_process = /bin/sleep 30\n")
    env = dict(cenv, INJECTOR_CREDENTIAL_PROCESS_TIMEOUT="1")
    # The helper sleeps 30 s; the run is killed (and fails) if injector waits for it.
    fails_with(dry_run(env, write_config, timeout=20),
               "credential_process /bin/sleep: no answer within 1 s")


def test_credential_process_not_found(cenv, write_config):
    write_aws(cenv, "config", "[default]\ncredential_process = no-such-helper --x\n")
    line = fails_with(dry_run(cenv, write_config), "credential_process no-such-helper: ",
                  "command not found", "no shell is used")
    # glibc's posix_spawnp reports the failed exec; under valgrind the child exits 127.
    assert "cannot run" in line or "status 127" in line


def test_assume_role_access_denied(cenv, sts, write_config):
    base = mint("denybase", temporary=False)
    sts.add_source(base)
    sts.add_role(ROLE, mint("denyrole"), trusted=[])
    write_aws(cenv, "config", f"""
        [profile base]
        aws_access_key_id = {base['access_key_id']}
        aws_secret_access_key = {base['secret_access_key']}
        [default]
        role_arn = {ROLE}
        source_profile = base
        """)
    fails_with(dry_run(cenv, write_config, [base]),
               f'AWS credentials from profile "default": STS AssumeRole for {ROLE}: AccessDenied: '
               "User: arn:aws:iam::111122223333:user/source is not authorized",
               "the role's trust policy must allow sts:AssumeRole")


def test_assume_role_unknown_source_keys(cenv, sts, write_config):
    base = mint("unknownbase", temporary=False)  # not registered with STS
    sts.add_role(ROLE, mint("r"))
    write_aws(cenv, "config", f"""
        [profile base]
        aws_access_key_id = {base['access_key_id']}
        aws_secret_access_key = {base['secret_access_key']}
        [default]
        role_arn = {ROLE}
        source_profile = base
        """)
    fails_with(dry_run(cenv, write_config, [base]),
               "InvalidClientTokenId: The security token included in the request is invalid.",
               "the source credentials were rejected")


def test_container_full_uri_not_allowed(cenv, imds, write_config):
    env = _imds_on(dict(cenv, AWS_CONTAINER_CREDENTIALS_FULL_URI="http://192.0.2.10/creds"),
                   imds.url)
    fails_with(dry_run(env, write_config),
               "AWS credentials from container: AWS_CONTAINER_CREDENTIALS_FULL_URI: http:// may "
               "only go to loopback, 169.254.170.2, 169.254.170.23 or [fd00:ec2::23], not "
               "192.0.2.10; use https://")
    # Configured but broken: IMDS is not tried.
    assert imds.requests == []


def test_container_wrong_token(cenv, container, write_config):
    container.serve("/creds", mint("c"), token="CANARY-right-token")
    env = dict(cenv, AWS_CONTAINER_CREDENTIALS_FULL_URI=container.url + "/creds",
               AWS_CONTAINER_AUTHORIZATION_TOKEN="CANARY-wrong-token")
    fails_with(dry_run(env, write_config, ["CANARY-wrong-token", "CANARY-right-token"]),
               f"AWS credentials from container: {container.url}: HTTP 401",
               "check AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE / AWS_CONTAINER_AUTHORIZATION_TOKEN")


def test_container_refused(cenv, write_config):
    port = closed_port()
    env = dict(cenv, AWS_CONTAINER_CREDENTIALS_FULL_URI=f"http://127.0.0.1:{port}/creds")
    fails_with(dry_run(env, write_config),
               f"container: http://127.0.0.1:{port} (AWS_CONTAINER_CREDENTIALS_FULL_URI): "
               f"127.0.0.1:{port}: cannot connect", "(3 attempts)", code=69)


def test_container_token_file_missing(cenv, container, write_config, tmp_path):
    env = dict(cenv, AWS_CONTAINER_CREDENTIALS_FULL_URI=container.url + "/creds",
               AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=str(tmp_path / "gone"))
    fails_with(dry_run(env, write_config),
               f"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE {tmp_path}/gone: No such file or directory")
    assert container.requests == []


def test_container_expired_credentials(cenv, container, write_config):
    c = mint("expired", expires_in=-60)
    container.serve("/creds", c)
    env = dict(cenv, AWS_CONTAINER_CREDENTIALS_FULL_URI=container.url + "/creds")
    fails_with(dry_run(env, write_config, [c]),
               "container endpoint answer: the credentials expired at " + c["expiration"])
