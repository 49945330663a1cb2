"""Per-entry roles (config `roles:`, an entry's `role:` or `role_arn:`): the entries that name
a role are fetched with credentials from STS AssumeRole made with the base credentials, once
per role; the others with the base credentials. The STS fake recomputes each AssumeRole's
signature with botocore and checks who signed it; the Secrets Manager fake records the access
key id of every request, so each fetch is checked against the keys it must be signed with."""
import json
import re
import signal
import socket

from conftest import run
from creds_fakes import cenv, mint, register, sts  # noqa: F401 (fixtures)
from test_supervise import sv, value, wait_for  # noqa: F401 (fixture)

PROD_ROLE = "arn:aws:iam::444455556666:role/secrets-reader"
OTHER_ROLE = "arn:aws:iam::777788889999:role/other-reader"
OTHER_ACCOUNT = "444455556666"


def base_keys(fake, sts, cenv, label="base"):
    """Long-term base keys in the environment, known to STS and to Secrets Manager."""
    base = mint(label, temporary=False)
    register(fake, label, base)
    sts.add_source(base)
    env = dict(cenv, AWS_ACCESS_KEY_ID=base["access_key_id"],
               AWS_SECRET_ACCESS_KEY=base["secret_access_key"])
    return base, env


def signed_by(fake, secret_id):
    """The access key ids of the Secrets Manager requests that asked for secret_id."""
    return [r["access_key_id"] for r in fake.state.requests
            if r.get("action") and any(secret_id in (s or "") for s in r["secret_ids"] or [])]


def read_env(tmp_path, names):
    """A command that writes the named variables to files, and a reader for them."""
    out = tmp_path / "out"
    out.mkdir()
    script = "; ".join(f'printf %s "${n}" > {out}/{n}' for n in names)
    return ["sh", "-c", script], lambda n: (out / n).read_text()


def test_entries_with_a_role_are_fetched_with_its_credentials(fake, cenv, sts, write_config,
                                                              tmp_path):
    base, env = base_keys(fake, sts, cenv)
    prod = mint("prod")
    other = mint("other")
    register(fake, "prod", prod)
    register(fake, "other", other)
    sts.add_role(PROD_ROLE, prod, trusted=[base["access_key_id"]], external_id="ext-42")
    sts.add_role(OTHER_ROLE, other, trusted=[base["access_key_id"]])
    # A secret of the role's account, readable only with the role (cross-account).
    v_cross, v_mine, v_two, v_other = (value("cross"), value("mine"), value("two"),
                                       value("other"))
    cross = fake.state.add_secret("team/cross", string=v_cross, account=OTHER_ACCOUNT)
    mine = fake.state.add_secret("app/mine", string=v_mine)
    two = fake.state.add_secret("app/two", string=v_two)
    oth = fake.state.add_secret("app/other", string=v_other)
    fake.state.deny(base["access_key_id"], "GetSecretValue", cross)
    cfg = write_config(f"""
        version: 1
        roles:
          prod:
            role_arn: {PROD_ROLE}
            external_id: ext-42
            session_name: my-app
            duration: 15m
        env:
          MINE: app/mine
          CROSS: {{ from: "{cross}", role: prod }}
          TWO: {{ from: app/two, role: prod }}
          OTHER: {{ from: app/other, role_arn: {OTHER_ROLE} }}
        """)
    cmd, read = read_env(tmp_path, ["MINE", "CROSS", "TWO", "OTHER"])
    res = run(["-v", "-c", cfg, "--"] + cmd, env,
              leak_extra=[v_cross, v_mine, v_two, v_other, prod["secret_access_key"],
                          prod["session_token"], other["secret_access_key"],
                          other["session_token"], base["secret_access_key"]])
    assert res.rc == 0, res
    assert (read("MINE"), read("CROSS"), read("TWO"), read("OTHER")) == (
        v_mine, v_cross, v_two, v_other)
    # One AssumeRole per role, each signed (and verified) with the base keys.
    assume = [r for r in sts.requests if r["action"] == "AssumeRole"]
    assert sorted(r["role_arn"] for r in assume) == sorted([PROD_ROLE, OTHER_ROLE]), assume
    for r in assume:
        assert r["verified"] is True and r["access_key_id"] == base["access_key_id"], r
        assert r["status"] == 200, r
    [p] = [r for r in assume if r["role_arn"] == PROD_ROLE]
    assert (p["external_id"], p["session_name"], p["duration"]) == ("ext-42", "my-app", "900")
    [o] = [r for r in assume if r["role_arn"] == OTHER_ROLE]
    assert o["external_id"] is None and o["duration"] is None
    # Each fetch was signed with its entry's keys, and only with them.
    assert set(signed_by(fake, "app/mine")) == {base["access_key_id"]}
    assert set(signed_by(fake, "team/cross")) == {prod["access_key_id"]}
    assert set(signed_by(fake, "app/two")) == {prod["access_key_id"]}
    assert set(signed_by(fake, "app/other")) == {other["access_key_id"]}
    assert "role prod: credentials from STS AssumeRole" in res.err


def test_two_entries_one_role_one_assume_role_and_default_session_name(fake, cenv, sts,
                                                                      write_config):
    base, env = base_keys(fake, sts, cenv)
    prod = mint("prod1")
    register(fake, "prod1", prod)
    sts.add_role(PROD_ROLE, prod, trusted=[base["access_key_id"]])
    fake.state.add_secret("r/a", string=value("ra"))
    fake.state.add_secret("r/b", string=value("rb"))
    cfg = write_config(f"""
        version: 1
        env:
          A: {{ from: r/a, role_arn: {PROD_ROLE} }}
          B: {{ from: r/b, role_arn: {PROD_ROLE} }}
          C: {{ from: r/a, role_arn: {PROD_ROLE}, encoding: base64 }}
        """)
    res = run(["-v", "--dry-run", "-c", cfg], env,
              leak_extra=[prod["secret_access_key"], prod["session_token"]])
    assert res.rc == 0, res
    [r] = [r for r in sts.requests if r["action"] == "AssumeRole"]
    # injector-<host name>, cut to STS's pattern and length.
    want = re.sub(r"[^\w+=,.@-]", "-", "injector-" + socket.gethostname())[:64]
    assert r["session_name"] == want, r
    assert set(signed_by(fake, "r/")) == {prod["access_key_id"]}


def test_same_secret_with_and_without_a_role_is_fetched_twice(fake, cenv, sts, write_config):
    base, env = base_keys(fake, sts, cenv)
    prod = mint("prod2")
    register(fake, "prod2", prod)
    sts.add_role(PROD_ROLE, prod, trusted=[base["access_key_id"]])
    fake.state.add_secret("s/both", string=value("both"))
    cfg = write_config(f"""
        version: 1
        env:
          A: s/both
          B: {{ from: s/both, role_arn: {PROD_ROLE} }}
        """)
    res = run(["--dry-run", "-c", cfg], env,
              leak_extra=[prod["secret_access_key"], prod["session_token"]])
    assert res.rc == 0, res
    assert sorted(signed_by(fake, "s/both")) == sorted([base["access_key_id"],
                                                         prod["access_key_id"]])


def test_external_id_mismatch_is_a_clear_error(fake, cenv, sts, write_config):
    base, env = base_keys(fake, sts, cenv)
    prod = mint("prod3")
    register(fake, "prod3", prod)
    sts.add_role(PROD_ROLE, prod, trusted=[base["access_key_id"]], external_id="right-id")
    fake.state.add_secret("x/a", string=value("xa"))
    cfg = write_config(f"""
        version: 1
        roles:
          prod: {{ role_arn: {PROD_ROLE}, external_id: wrong-id }}
        env:
          A: {{ from: x/a, role: prod }}
          PLAIN: plain/text
        """)
    res = run(["--dry-run", "-c", cfg], env)
    assert res.rc == 77, res
    [line] = [ln for ln in res.err.splitlines() if "env A" in ln]
    for part in ("role prod", PROD_ROLE, "AccessDenied", "sts:ExternalId", "external_id"):
        assert part in line, line
    assert "wrong-id" not in res.err and "right-id" not in res.err, res
    # Nothing was read with a role it could not assume; the other entry was fetched.
    assert signed_by(fake, "x/a") == []
    assert set(signed_by(fake, "plain/text")) == {base["access_key_id"]}


def test_role_not_trusted_names_the_permission(fake, cenv, sts, write_config):
    base, env = base_keys(fake, sts, cenv)
    prod = mint("prod4")
    sts.add_role(PROD_ROLE, prod, trusted=["AKIASOMEONEELSE00000"])
    cfg = write_config(f"""
        version: 1
        env:
          A: {{ from: x/a, role_arn: {PROD_ROLE} }}
          B: {{ from: x/b, role_arn: {PROD_ROLE} }}
        """)
    res = run(["--dry-run", "-c", cfg], env)
    assert res.rc == 77, res
    assert "sts:AssumeRole" in res.err and PROD_ROLE in res.err, res
    assert "trust policy" in res.err, res
    # Both entries fail for the one refused AssumeRole, which was made once.
    assert len([r for r in sts.requests if r["action"] == "AssumeRole"]) == 1
    assert "env A" in res.err and "env B" in res.err, res


def test_policy_prints_assume_role_and_per_role_policies(fake, write_config, base_env):
    cfg = write_config(f"""
        version: 1
        region: eu-west-1
        roles:
          prod: {{ role_arn: {PROD_ROLE} }}
        env:
          A: app/base
          B: {{ from: app/prod, role: prod }}
          C: {{ from: "arn:aws:secretsmanager:eu-west-1:777788889999:secret:o-AbCdEf",
               role_arn: {OTHER_ROLE} }}
        """)
    res = run(["policy", "-c", cfg, "--account", "111122223333"], base_env)
    assert res.rc == 0, res
    doc = json.loads(res.out)
    base = {s["Sid"]: s for s in doc["BaseCredentials"]["Statement"]}
    assert base["AssumeEntryRoles"]["Action"] == "sts:AssumeRole"
    assert base["AssumeEntryRoles"]["Resource"] == sorted([PROD_ROLE, OTHER_ROLE])
    assert base["ReadSecrets"]["Resource"] == [
        "arn:aws:secretsmanager:eu-west-1:111122223333:secret:app/base-??????"]
    roles = doc["Roles"]
    assert list(roles) == ["prod", OTHER_ROLE]
    assert roles["prod"]["RoleArn"] == PROD_ROLE
    prod = {s["Sid"]: s for s in roles["prod"]["Policy"]["Statement"]}
    # A name read with the role is a secret of the role's account.
    assert prod["ReadSecrets"]["Resource"] == [
        "arn:aws:secretsmanager:eu-west-1:444455556666:secret:app/prod-??????"]
    other = {s["Sid"]: s for s in roles[OTHER_ROLE]["Policy"]["Statement"]}
    assert other["ReadSecrets"]["Resource"] == [
        "arn:aws:secretsmanager:eu-west-1:777788889999:secret:o-AbCdEf"]


def test_supervise_refresh_assumes_a_role_again_near_its_expiry(fake, cenv, sts, write_config,
                                                                 sv):
    base, env = base_keys(fake, sts, cenv)
    # Within refresh.c's 5-minute margin: assumed again before each cycle's calls.
    prod = mint("prod5", expires_in=240)
    register(fake, "prod5", prod)
    sts.add_role(PROD_ROLE, prod, trusted=[base["access_key_id"]])
    v1, v2 = value("role-1"), value("role-2")
    fake.state.add_secret("sv/role", string=v1)
    cfg = write_config(f"""
        version: 1
        supervise:
          refresh: 50ms
        env:
          V: {{ from: sv/role, role_arn: {PROD_ROLE} }}
        """)
    inj, log = sv(["-c", cfg, "-v"], {}, env=env)
    wait_for("start", lambda: log.events("start"), inj)
    wait_for("re-assume", lambda: len([r for r in sts.requests
                                       if r["action"] == "AssumeRole"]) >= 3, inj)
    fake.state.put_secret_value("sv/role", v2)
    starts = wait_for("signal", lambda: log.events("signal"), inj)
    assert starts
    inj.kill(signal.SIGTERM)
    assert inj.finish(leak_extra=(v1, v2, prod["secret_access_key"],
                                  prod["session_token"])) == 0
    for r in sts.requests:
        assert r["access_key_id"] == base["access_key_id"] and r["verified"] is True, r
    assert set(signed_by(fake, "sv/role")) == {prod["access_key_id"]}
