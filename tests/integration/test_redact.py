"""Server text never carries credentials (issue 20 item 3): a Secrets Manager front end, STS
and the container endpoint that echo the request headers (Authorization with its Signature,
X-Amz-Security-Token, the container's authorization token) in their error messages. The
message is printed with the credentials cut out ([redacted]) and the rest of it kept, with
and without -v. Besides conftest's whole-value grep, no 16-byte piece of a key or token may
appear, and no Signature= hex."""
import re
import secrets

import pytest

import seed
from conftest import run
from creds_fakes import (cenv, container, dry_run, fails_with, mint, register,  # noqa: F401
                         sts, write_aws)

ROLE = "arn:aws:iam::111122223333:role/app-role"
MARK = "[redacted]"


def assert_no_pieces(text, *secrets):
    for s in secrets:
        for k in range(0, len(s) - 15):
            assert s[k:k + 16] not in text, f"a piece of a credential leaked: {s[k:k + 6]}..."
    assert not re.search(r"Signature=[0-9a-fA-F]{8}", text), text
    assert "Credential=" not in text, text


@pytest.mark.parametrize("verbose", [False, True], ids=["quiet", "debug"])
def test_sm_error_echoing_request_headers(fake, base_env, write_config, verbose):
    cred = seed.CREDENTIALS["temporary"]
    env = dict(base_env)
    env.update(fake.env(credential="temporary"))
    fake.state.add_fault("echo", action="GetSecretValue", message="request rejected by the proxy")
    cfg = write_config("""
        version: 1
        env:
          API_TOKEN: { from: api, key: token }
        """)
    res = run((["-v"] if verbose else []) + ["--fetch", "single", "--dry-run", "-c", cfg], env,
              leak_extra=[cred["secret_access_key"], cred["session_token"]])
    assert res.rc == 77, res
    [line] = [ln for ln in res.err.splitlines() if "request rejected by the proxy: " in ln]
    assert_no_pieces(res.err, cred["secret_access_key"], cred["session_token"])
    # The rest of the echo is still there: the headers that are not credentials.
    assert "Host: 127.0.0.1:" in line, line
    assert "X-Amz-Security-Token: " + MARK in line or "Authorization: " + MARK in line, line
    # It did echo them: the fake saw a token-signed request.
    [r] = [r for r in fake.state.requests if r.get("action") == "GetSecretValue"]
    assert r["token_signed"] is True and r["fault"] == "echo", r


def json_unescaped(text):
    """text with JSON's \\/ and \\u00XX escapes decoded: what a reader of the log would see."""
    return re.sub(r"\\u00([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)),
                  text.replace("\\/", "/"))


def test_sm_error_echoing_request_headers_json_escaped(fake, base_env, write_config):
    """The echo as a JSON object with '/', '+' and '=' escaped (\\/, \\u002b, \\u003d):
    the token and the signature are still found (the escapes hid them from the matching)."""
    cred = mint("escaped")
    # A '/' or '+' every 12 characters: no 16-byte piece of it is free of an escape.
    cred["session_token"] = "IQoJb3JpZ2luX2Vj" + "".join(
        "/+"[k % 2] + secrets.token_hex(6) for k in range(24)) + "=="
    register(fake, "escaped", cred)
    env = dict(base_env)
    env.update(fake.env(credential="temporary"))
    env.update(AWS_ACCESS_KEY_ID=cred["access_key_id"],
               AWS_SECRET_ACCESS_KEY=cred["secret_access_key"],
               AWS_SESSION_TOKEN=cred["session_token"])
    fake.state.add_fault("echo", action="GetSecretValue", message="rejected", escaped=True)
    cfg = write_config("""
        version: 1
        env:
          API_TOKEN: { from: api, key: token }
        """)
    res = run(["-v", "--fetch", "single", "--dry-run", "-c", cfg], env,
              leak_extra=[cred["secret_access_key"], cred["session_token"]])
    assert res.rc == 77, res
    [line] = [ln for ln in res.err.splitlines() if "rejected: {" in ln]
    assert "\\u003d" in line or "\\/" in line, line  # the escapes did reach the message
    for text in (res.err, json_unescaped(res.err)):
        assert_no_pieces(text, cred["secret_access_key"], cred["session_token"])
    assert '"Host": "127.0.0.1:' in line, line
    assert '"X-Amz-Security-Token": "' + MARK in line, line
    [r] = [r for r in fake.state.requests if r.get("action") == "GetSecretValue"]
    assert r["token_signed"] is True and r["fault"] == "echo", r


@pytest.mark.parametrize("verbose", [False, True], ids=["quiet", "debug"])
def test_sts_error_echoing_request_headers(fake, cenv, sts, write_config, verbose):
    base = mint("base")  # temporary: AssumeRole carries X-Amz-Security-Token
    role = mint("role")
    register(fake, "role", role)
    sts.add_source(base)
    sts.add_role(ROLE, role)
    sts.fail("InvalidClientTokenId", "rejected; you sent {headers}", status=403)
    write_aws(cenv, "credentials", f"""
        [base]
        aws_access_key_id = {base['access_key_id']}
        aws_secret_access_key = {base['secret_access_key']}
        aws_session_token = {base['session_token']}
        """)
    write_aws(cenv, "config", f"""
        [profile app]
        role_arn = {ROLE}
        source_profile = base
        """)
    res = dry_run(dict(cenv, AWS_PROFILE="app"), write_config, [base, role],
                  args=("-v",) if verbose else ())
    line = fails_with(res, f"STS AssumeRole for {ROLE}: InvalidClientTokenId: rejected; you sent ",
                      MARK)
    assert_no_pieces(res.err, base["secret_access_key"], base["session_token"])
    assert "Content-Type: application/x-www-form-urlencoded" in line, line


@pytest.mark.parametrize("verbose", [False, True], ids=["quiet", "debug"])
def test_container_error_echoing_request_headers(cenv, container, write_config, verbose):
    right = "CANARY-right-" + "r" * 40
    wrong = "CANARY-wrong-0123456789abcdefghijklmnopqrstuvwxyz"
    container.serve("/creds", mint("c"), token=right)
    container.message = "bad token; got {headers}"
    env = dict(cenv, AWS_CONTAINER_CREDENTIALS_FULL_URI=container.url + "/creds",
               AWS_CONTAINER_AUTHORIZATION_TOKEN=wrong)
    res = dry_run(env, write_config, [wrong, right], args=("-v",) if verbose else ())
    line = fails_with(res, f"AWS credentials from container: {container.url}: HTTP 401: ",
                      '"message": "bad token; got ', MARK)
    assert_no_pieces(res.err, wrong, right)
    assert "Accept: application/json" in line, line
