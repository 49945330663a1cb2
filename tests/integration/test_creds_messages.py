"""The credential failure messages test_creds_errors.py does not reach: one test per message,
each checking the exit code and the message's distinctive text. conftest.run checks every run
for leaks (the seeded secrets, any "CANARY-" marker, and the extra values dry_run is given);
the tokens and keys here carry canaries, so a message that repeated one would fail the test.

Fakes that need an answer their knobs cannot give are bent here, per test: the STS fake's
web_identity method is monkeypatched on the instance (monkeypatch restores it), and IMDS
answers the shared fake cannot give come from a small server of this module's own."""

import re

import pytest

from conftest import SLOW
from creds_fakes import (_Base, _Handler, _sts_creds_xml, STS_NS, cenv,  # noqa: F401
                         container, dry_run, fails_with, imds, mint, sts, write_aws)

ROLE = "arn:aws:iam::111122223333:role/app-role"
IMDS_CREDS = "/latest/meta-data/iam/security-credentials/"
# The run() hang guard for tests that involve --timeout: generous, never asserted on.
GUARD = 240 if SLOW else 60


def _imds_on(env, url):
    # A 10 s attempt timeout instead of 1 s: the fakes answer at once, and a slow run (valgrind,
    # a loaded machine) must not turn an answer into a timeout.
    env = dict(env, AWS_EC2_METADATA_SERVICE_ENDPOINT=url, AWS_METADATA_SERVICE_TIMEOUT="10")
    env.pop("AWS_EC2_METADATA_DISABLED", None)
    return env


def _token_file(tmp_path, token="eyJ.CANARY-webid.sig"):
    path = tmp_path / "web-identity-token"
    path.write_text(token)
    return str(path)


# ---------------------------------------------------------------------------
# Web identity and STS (creds_webid.c)
# ---------------------------------------------------------------------------

def test_web_identity_role_without_token_file(cenv, write_config):
    # A skip, not a failure: it shows in the "no AWS credentials found" list.
    env = dict(cenv, AWS_ROLE_ARN=ROLE)
    fails_with(dry_run(env, write_config),
               "no AWS credentials found: env: AWS_ACCESS_KEY_ID not set; "
               "web identity: AWS_ROLE_ARN is set but AWS_WEB_IDENTITY_TOKEN_FILE is not; ")


def test_web_identity_role_arn_not_an_arn(cenv, sts, write_config, tmp_path):
    env = dict(cenv, AWS_WEB_IDENTITY_TOKEN_FILE=_token_file(tmp_path),
               AWS_ROLE_ARN="app-role")
    fails_with(dry_run(env, write_config),
               'AWS credentials from web identity: role ARN "app-role" is not an IAM role ARN')
    assert sts.requests == []


@pytest.mark.parametrize("name", ["x", "a" * 65, "has space"])
def test_web_identity_session_name_rejected(cenv, sts, write_config, tmp_path, name):
    env = dict(cenv, AWS_WEB_IDENTITY_TOKEN_FILE=_token_file(tmp_path), AWS_ROLE_ARN=ROLE,
               AWS_ROLE_SESSION_NAME=name)
    fails_with(dry_run(env, write_config),
               f'AWS credentials from web identity: role session name "{name[:64]}": '
               "2 to 64 of A-Z a-z 0-9 _+=,.@-")
    assert sts.requests == []


def test_sts_answer_without_credentials(cenv, sts, write_config, tmp_path, monkeypatch):
    # HTTP 200 and XML, but not an AssumeRoleWithWebIdentity result.
    monkeypatch.setattr(sts, "web_identity", lambda p: (
        f'<AssumeRoleWithWebIdentityResponse xmlns="{STS_NS}">\n'
        "  <AssumeRoleWithWebIdentityResult>\n"
        "    <Provider>accounts.example.com</Provider>\n"
        "  </AssumeRoleWithWebIdentityResult>\n"
        "</AssumeRoleWithWebIdentityResponse>\n"))
    token = "eyJ.CANARY-nocreds.sig"
    env = dict(cenv, AWS_WEB_IDENTITY_TOKEN_FILE=_token_file(tmp_path, token),
               AWS_ROLE_ARN=ROLE)
    fails_with(dry_run(env, write_config, [token]),
               "AWS credentials from web identity: STS AssumeRoleWithWebIdentity answer: "
               "no Credentials element (not an STS answer?)")
    assert [r["status"] for r in sts.requests] == [200]


def test_sts_answer_with_bad_expiration(cenv, sts, write_config, tmp_path, monkeypatch):
    c = dict(mint("badexp"), expiration="next Tuesday")
    monkeypatch.setattr(sts, "web_identity", lambda p: _sts_creds_xml(
        "AssumeRoleWithWebIdentity", p["RoleArn"], p["RoleSessionName"], c))
    token = "eyJ.CANARY-badexp.sig"
    env = dict(cenv, AWS_WEB_IDENTITY_TOKEN_FILE=_token_file(tmp_path, token),
               AWS_ROLE_ARN=ROLE)
    fails_with(dry_run(env, write_config, [c, token]),
               "AWS credentials from web identity: STS AssumeRoleWithWebIdentity answer: "
               "Expiration is not an ISO 8601 time")
    assert [r["status"] for r in sts.requests] == [200]


def test_sts_region_not_a_region_name(cenv, sts, write_config, tmp_path):
    # The region goes into the regional STS host name and the signing scope: checked first.
    env = dict(cenv, AWS_WEB_IDENTITY_TOKEN_FILE=_token_file(tmp_path), AWS_ROLE_ARN=ROLE,
               AWS_REGION="Europe/Berlin")
    fails_with(dry_run(env, write_config),
               'AWS credentials from web identity: region "Europe/Berlin" is not a region name')
    assert sts.requests == []


# ---------------------------------------------------------------------------
# Shared config files (creds_profile.c)
# ---------------------------------------------------------------------------

def test_profile_login_session_not_supported(cenv, write_config):
    write_aws(cenv, "config", """
        [profile dev]
        login_session = arn:aws:iam::111122223333:user/dev
        region = eu-central-1
        """)
    fails_with(dry_run(dict(cenv, AWS_PROFILE="dev"), write_config),
               'AWS credentials from profile "dev": profile "dev" uses an `aws login` session, '
               "which injector does not support",
               "aws configure export-credentials --profile dev --format env")


def test_profile_web_identity_token_file_without_role(cenv, sts, write_config, tmp_path):
    write_aws(cenv, "config", f"""
        [default]
        web_identity_token_file = {_token_file(tmp_path)}
        """)
    fails_with(dry_run(cenv, write_config),
               'AWS credentials from profile "default": profile "default" has '
               "web_identity_token_file but no role_arn")
    assert sts.requests == []


def test_profile_source_profile_not_found(cenv, sts, write_config):
    conf = write_aws(cenv, "config", f"""
        [default]
        role_arn = {ROLE}
        source_profile = x
        """)
    cred = conf[:-len("config")] + "credentials"
    fails_with(dry_run(cenv, write_config),
               f'AWS credentials from profile "default": profile "default": source_profile "x" '
               f"not found in {cred} or {conf}")
    assert sts.requests == []


def test_profile_own_source_profile_without_keys(cenv, sts, write_config, tmp_path):
    write_aws(cenv, "config", f"""
        [default]
        role_arn = {ROLE}
        source_profile = default
        credential_process = {tmp_path}/never-run
        """)
    fails_with(dry_run(cenv, write_config),
               'AWS credentials from profile "default": profile "default" is its own '
               "source_profile but has no keys")
    assert sts.requests == []


def test_profile_too_many_source_profile_hops(cenv, sts, write_config):
    # default -> p1 -> ... -> p8, each a role assumed with the next; p8 has keys. The eighth
    # hop is refused before any STS call.
    base = mint("hops", temporary=False)
    text = f"[default]\nrole_arn = {ROLE}\nsource_profile = p1\n"
    for i in range(1, 8):
        text += f"[profile p{i}]\nrole_arn = {ROLE}\nsource_profile = p{i + 1}\n"
    text += (f"[profile p8]\naws_access_key_id = {base['access_key_id']}\n"
             f"aws_secret_access_key = {base['secret_access_key']}\n")
    write_aws(cenv, "config", text)
    line = fails_with(dry_run(cenv, write_config, [base]),
                      'AWS credentials from profile "default": source_profile "p1": '
                      'source_profile "p2": ',
                      'source_profile "p7": more than 8 source_profile hops')
    assert 'source_profile "p8"' not in line
    assert sts.requests == []


@pytest.mark.parametrize("value", ["899", "43201", "1h"])
def test_profile_duration_seconds_out_of_range(cenv, sts, write_config, value):
    base = mint("dur", temporary=False)
    write_aws(cenv, "config", f"""
        [profile base]
        aws_access_key_id = {base['access_key_id']}
        aws_secret_access_key = {base['secret_access_key']}
        [default]
        role_arn = {ROLE}
        source_profile = base
        duration_seconds = {value}
        """)
    fails_with(dry_run(cenv, write_config, [base]),
               f'AWS credentials from profile "default": profile "default": duration_seconds '
               f"{value}: expected 900 to 43200")
    assert sts.requests == []


# ---------------------------------------------------------------------------
# Container endpoint (creds_ecs.c)
# ---------------------------------------------------------------------------

def test_container_token_file_empty(cenv, container, write_config, tmp_path):
    (tmp_path / "token").write_text(" \n")
    env = dict(cenv, AWS_CONTAINER_CREDENTIALS_FULL_URI=container.url + "/creds",
               AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=str(tmp_path / "token"))
    fails_with(dry_run(env, write_config),
               "AWS credentials from container: AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: "
               "the token is empty")
    assert container.requests == []


@pytest.mark.parametrize("where", ["AWS_CONTAINER_AUTHORIZATION_TOKEN",
                                   "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"])
def test_container_token_with_control_characters(cenv, container, write_config, tmp_path,
                                                 where):
    # A CR LF would end the Authorization header and start one of the token's choosing.
    token = "CANARY-ctl-token\r\nX-Injected: 1"
    env = dict(cenv, AWS_CONTAINER_CREDENTIALS_FULL_URI=container.url + "/creds")
    if where.endswith("_FILE"):
        (tmp_path / "token").write_bytes(token.encode())
        env[where] = str(tmp_path / "token")
    else:
        env[where] = token
    fails_with(dry_run(env, write_config, [token, "CANARY-ctl-token"]),
               f"AWS credentials from container: {where}: the token has control characters")
    assert container.requests == []


@pytest.mark.parametrize("uri", ["/v2/credentials/a b", "/v2/credentials/a\tb",
                                 "/v2/credentials/ab\r\nHost: x"])
def test_container_relative_uri_with_spaces(cenv, container, write_config, uri):
    # Checked before any request (http_proxy would show one to 169.254.170.2).
    env = dict(cenv, AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=uri, http_proxy=container.url)
    fails_with(dry_run(env, write_config),
               "AWS credentials from container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI has spaces "
               "or control characters")
    assert container.requests == []


def test_container_404_hint(cenv, container, write_config):
    container.serve("/creds", mint("elsewhere"))
    env = dict(cenv, AWS_CONTAINER_CREDENTIALS_FULL_URI=container.url + "/no-such-creds")
    fails_with(dry_run(env, write_config),
               f"AWS credentials from container: {container.url}: HTTP 404",
               "no credentials at this URI: is a task role (or Pod Identity association) set?")
    assert [r["status"] for r in container.requests] == [404]


def test_container_5xx_after_retries(cenv, container, write_config):
    container.serve("/creds", mint("down"))
    container.status = 503
    env = dict(cenv, AWS_CONTAINER_CREDENTIALS_FULL_URI=container.url + "/creds")
    # A network-side failure: 69, not "access denied" 77.
    fails_with(dry_run(env, write_config),
               f"AWS credentials from container: {container.url}: HTTP 503 after 3 attempts",
               code=69)
    assert [r["status"] for r in container.requests] == [503, 503, 503]


# ---------------------------------------------------------------------------
# IMDS (creds_imds.c)
# ---------------------------------------------------------------------------

class _OddTokenHandler(_Handler):
    """IMDS whose token endpoint answers 200 with fake.token_body (a captive portal, some
    other web server on the metadata address)."""

    def do_PUT(self):
        self._body()
        self.fake.record({"method": "PUT", "path": self.path})
        self._send(200, self.fake.token_body, "text/html")

    def do_GET(self):
        self.fake.record({"method": "GET", "path": self.path})
        self._send(401, "Unauthorized", "text/plain")


class _OddIMDS(_Base):
    token_body = ""

    def __init__(self):
        super().__init__(_OddTokenHandler)


@pytest.fixture
def odd_imds():
    srv = _OddIMDS().start()
    yield srv
    srv.stop()


def test_imds_token_other_status(cenv, imds, write_config):
    # Not 403/404/405 (which have their own messages) and not 5xx (retried): one PUT, skipped.
    imds.token_status = 400
    fails_with(dry_run(_imds_on(cenv, imds.url), write_config),
               "no AWS credentials found: ",
               f"IMDS: token request: HTTP 400 from {imds.url}")
    assert [(r["method"], r["status"]) for r in imds.requests] == [("PUT", 400)]


def test_imds_5xx_retried(cenv, imds, write_config):
    imds.token_status = 500
    env = dict(_imds_on(cenv, imds.url), AWS_METADATA_SERVICE_NUM_ATTEMPTS="3")
    fails_with(dry_run(env, write_config),
               "no AWS credentials found: ", f"IMDS: token request: HTTP 500 from {imds.url}")
    # Every attempt AWS_METADATA_SERVICE_NUM_ATTEMPTS allows, and no GET without a token.
    assert [(r["method"], r["status"]) for r in imds.requests] == [("PUT", 500)] * 3


@pytest.mark.parametrize("body", ["<html>\n<body>Welcome to the portal</body>\n</html>", "   \n",
                                  "CANARY-tok\x01en", "<html><body>Portal</body></html>",
                                  "token;with,punctuation"])
def test_imds_token_not_a_token(cenv, odd_imds, write_config, body):
    odd_imds.token_body = body
    fails_with(dry_run(_imds_on(cenv, odd_imds.url), write_config),
               "no AWS credentials found: ",
               f"IMDS: {odd_imds.url} answered the token request with something that is not a "
               "token")
    assert [r["method"] for r in odd_imds.requests] == ["PUT"]


@pytest.mark.parametrize("role", ["app role", "app/role", "r" * 129])
def test_imds_invalid_role_name(cenv, imds, write_config, role):
    imds.serve(role, mint("badrole"))
    fails_with(dry_run(_imds_on(cenv, imds.url), write_config),
               f"AWS credentials from IMDS: the role name from {IMDS_CREDS} is not an IAM role "
               "name")
    # The listing was read; the role's credentials were never asked for.
    assert [r["path"] for r in imds.requests] == ["/latest/api/token", IMDS_CREDS]


def test_imds_role_credentials_http_error(cenv, imds, write_config):
    # The role is listed but its credentials are not there.
    imds.serve("app-role", None)
    fails_with(dry_run(_imds_on(cenv, imds.url), write_config),
               "AWS credentials from IMDS: role app-role: HTTP 404")
    assert [r["path"] for r in imds.requests] == ["/latest/api/token", IMDS_CREDS,
                                                  IMDS_CREDS + "app-role"]


@pytest.mark.parametrize("ep", ["169.254.169.254", "ftp://169.254.169.254"])
def test_imds_bad_endpoint(cenv, write_config, ep):
    fails_with(dry_run(_imds_on(cenv, ep), write_config),
               f"AWS credentials from IMDS: AWS_EC2_METADATA_SERVICE_ENDPOINT={ep}: expected "
               "http://HOST[:PORT]")


def test_imds_bad_endpoint_mode(cenv, imds, write_config):
    env = dict(cenv, AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE="IPv5", http_proxy=imds.url)
    env.pop("AWS_EC2_METADATA_DISABLED")
    fails_with(dry_run(env, write_config),
               "AWS credentials from IMDS: AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv5: expected "
               "IPv4 or IPv6")
    assert imds.requests == []


@pytest.mark.parametrize("var,value,bounds", [
    ("AWS_METADATA_SERVICE_TIMEOUT", "0", "1 to 60"),
    ("AWS_METADATA_SERVICE_TIMEOUT", "61", "1 to 60"),
    ("AWS_METADATA_SERVICE_TIMEOUT", "1.5", "1 to 60"),
    ("AWS_METADATA_SERVICE_NUM_ATTEMPTS", "0", "1 to 10"),
    ("AWS_METADATA_SERVICE_NUM_ATTEMPTS", "11", "1 to 10"),
    ("AWS_METADATA_SERVICE_NUM_ATTEMPTS", "two", "1 to 10"),
])
def test_imds_bad_timeout_or_attempts(cenv, imds, write_config, var, value, bounds):
    env = dict(_imds_on(cenv, imds.url), **{var: value})
    fails_with(dry_run(env, write_config),
               f"AWS credentials from IMDS: {var}={value}: expected {bounds}")
    assert imds.requests == []


# ---------------------------------------------------------------------------
# credential_process and the --timeout deadline (creds_process.c)
# ---------------------------------------------------------------------------

def test_credential_process_not_started_when_out_of_time(cenv, imds, write_config, tmp_path):
    """No region is set and the secret is named, not a full ARN, so the region lookup asks
    IMDS first; IMDS hangs past --timeout, and the helper is then not started at all."""
    started = tmp_path / "started"
    helper = tmp_path / "helper"
    helper.write_text(f"#!/bin/sh\ntouch {started}\nexit 1\n")
    helper.chmod(0o755)
    write_aws(cenv, "config", f"[default]\ncredential_process = {helper}\n")
    imds.delay = 60
    env = dict(_imds_on(cenv, imds.url), AWS_METADATA_SERVICE_TIMEOUT="60",
               AWS_METADATA_SERVICE_NUM_ATTEMPTS="10")
    env.pop("AWS_REGION", None)
    env.pop("AWS_DEFAULT_REGION", None)
    res = dry_run(env, write_config, args=("-v", "--timeout", "1"), timeout=GUARD)
    # Out of time: 75, not 77.
    fails_with(res, 'AWS credentials from profile "default": credential_process: not started, '
                "no time left (deadline)", code=75)
    assert not started.exists()
    assert imds.requests and imds.requests[0]["method"] == "PUT"


def test_credential_process_wait_cut_by_deadline(cenv, write_config):
    """The helper's own timeout (60 s by default) is longer than what --timeout leaves: the
    wait is cut to the time left, and the message says so (75, not 77)."""
    write_aws(cenv, "config", "[default]\ncredential_process = /bin/sleep 60\n")
    res = dry_run(cenv, write_config, args=("-v", "--timeout", "5" if SLOW else "2"),
                  timeout=GUARD)
    line = fails_with(res, 'AWS credentials from profile "default": credential_process '
                       "/bin/sleep: no answer within ", code=75)
    assert re.search(r"no answer within \d+ ms, all the time left \(deadline\)", line), line
    assert "INJECTOR_CREDENTIAL_PROCESS_TIMEOUT" not in line
