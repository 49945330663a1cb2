"""SSM Parameter Store (issue 15): ssm:NAME and parameter ARNs wherever a Secrets Manager
reference goes, selectors (:VERSION, :LABEL), the three types, GetParameters in batches of 10
run concurrently, one call per distinct parameter, InvalidParameters as "not found" (65),
denial (ssm:GetParameters, kms:Decrypt), throttling (retried, 75 when exhausted), --from-env,
--dry-run, export, check and refresh. The fake (tests/fake/sm_server.py) serves both services
on one port; every run's output is grepped for every canary (conftest.run)."""
import json
import math
import signal
import subprocess
import time

import pytest

import seed
from conftest import INJECTOR, SLOW, WRAPPER, assert_no_leak, run
from test_supervise import sv, value, wait_for  # noqa: F401  (sv is a fixture)

PARN = seed.PARAMETER_ARNS


def by_action(fake):
    return fake.state.stats()["requests_by_action"]


def asked(fake, action="GetParameters"):
    return [r["secret_ids"] for r in fake.state.requests if r["action"] == action]


def use_credential(env, fake, who):
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        env.pop(k, None)
    env.update(fake.env(credential=who))


def test_end_to_end_types_selectors_and_arns(fake, base_env, write_config, probe):
    """String, StringList and SecureString (decrypted) as stored, by name, by ARN (a shared
    parameter of another account is reachable only so), with versions and labels, a key of a
    JSON value: one GetParameters call, the command exec'd with the values."""
    cfg = write_config(f"""
        version: 1
        env:
          PW: ssm:/prod/db/password
          PW_V1: "ssm:/prod/db/password:1"
          PW_OLD: "ssm:/prod/db/password:old"
          PW_LIVE_ARN: "{PARN['/prod/db/password']}:live"
          HOST: {{ from: "{PARN['/prod/db/host']}" }}
          HOSTS: ssm:/prod/app/hosts
          USER: {{ from: "ssm:/prod/app/config", key: user }}
          PORT: {{ from: "ssm:/prod/app/config", pointer: /port }}
          FLAT: ssm:flat
          SHARED: "{PARN['/shared/db/password']}"
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    env = probe.read()["env"]
    assert env["PW"] == seed.P_DB_PASSWORD
    assert env["PW_V1"] == seed.P_DB_PASSWORD_V1
    assert env["PW_OLD"] == seed.P_DB_PASSWORD_V1
    assert env["PW_LIVE_ARN"] == seed.P_DB_PASSWORD
    assert env["HOST"] == seed.P_DB_HOST
    assert env["HOSTS"] == seed.P_APP_HOSTS
    assert env["USER"] == "app"
    assert env["PORT"] == "5432"
    assert env["FLAT"] == seed.P_FLAT
    assert env["SHARED"] == seed.P_SHARED
    assert by_action(fake) == {"GetParameters": 1}
    (names,) = asked(fake)
    # ARNs are sent as ARNs, selectors after them; USER and PORT share one fetch.
    assert sorted(names) == sorted([
        "/prod/db/password", "/prod/db/password:1", "/prod/db/password:old",
        PARN["/prod/db/password"] + ":live", PARN["/prod/db/host"], "/prod/app/hosts",
        "/prod/app/config", "flat", PARN["/shared/db/password"]])
    reqs = [r for r in fake.state.requests if r["action"] == "GetParameters"]
    assert reqs[0]["service"] == "ssm"


def test_with_decryption_always(fake, base_env, write_config, probe):
    """A SecureString read without WithDecryption would be ciphertext: the fake answers the
    plaintext only when the flag is set."""
    cfg = write_config("version: 1\nenv:\n  K: ssm:/prod/db/password\n")
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    assert probe.read()["env"]["K"] == seed.P_DB_PASSWORD


def test_secrets_manager_pass_through(fake, base_env, write_config, probe):
    cfg = write_config(f"""
        version: 1
        env:
          U: {{ from: "ssm:/aws/reference/secretsmanager/{seed.RDS_NAME}", key: username }}
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    assert probe.read()["env"]["U"] == "postgres"
    assert by_action(fake) == {"GetParameters": 1}


@pytest.mark.parametrize("n", [1, 10, 11, 25])
def test_batches_of_ten_concurrent(fake, base_env, write_config, probe, n):
    """ceil(N/10) GetParameters calls, each with at most 10 names, each name once."""
    names = []
    for i in range(n):
        name = f"/many/p{i:03d}"
        fake.state.put_parameter(name, f"value-{i:03d}", ptype="String")
        names.append(name)
    lines = ["version: 1", "env:"] + [f"  V{i:03d}: ssm:{nm}" for i, nm in enumerate(names)]
    # The same parameter again: fetched once.
    lines.append(f"  AGAIN: ssm:{names[0]}")
    cfg = write_config("\n".join(lines) + "\n")
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    env = probe.read()["env"]
    for i in range(n):
        assert env[f"V{i:03d}"] == f"value-{i:03d}"
    assert env["AGAIN"] == "value-000"
    calls = asked(fake)
    assert len(calls) == math.ceil(n / 10)
    assert all(len(c) <= 10 for c in calls)
    assert sorted(sum(calls, [])) == sorted(names)

def test_batches_run_concurrently(fake, base_env, write_config, probe):
    """With every answer held back a second, the three batches still go out together, on
    more than one connection (one keep-alive connection carries one request at a time)."""
    names = []
    for i in range(25):
        name = f"/conc/p{i:03d}"
        fake.state.put_parameter(name, f"value-{i:03d}", ptype="String")
        names.append(name)
    fake.state.add_fault("slow", action="GetParameters", seconds=1)
    lines = ["version: 1", "env:"] + [f"  V{i:03d}: ssm:{nm}" for i, nm in enumerate(names)]
    cfg = write_config("\n".join(lines) + "\n")
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    reqs = [r for r in fake.state.requests if r["action"] == "GetParameters"]
    assert len(reqs) == 3
    # One after another they would share the one kept-alive connection; at once they need
    # more (usually three; under valgrind a slow handshake may let a finished one be reused).
    assert len({r["conn"] for r in reqs}) >= 2


@pytest.mark.parametrize("n", [1, 100])
def test_batches_one_round_one_connection_each(fake, base_env, write_config, probe, n):
    """Issue 18: 100 parameters are 10 GetParameters calls, all on their way together on 10
    connections (one round trip; before, 4 connections carried them in 3 rounds); one
    parameter is one call on one connection. Each answer is held back, so only calls sent at
    once overlap."""
    names = []
    for i in range(n):
        name = f"/round/p{i:03d}"
        fake.state.put_parameter(name, f"value-{i:03d}-canary", ptype="SecureString")
        names.append(name)
    fake.state.add_fault("slow", action="GetParameters", seconds=0.5)
    lines = ["version: 1", "env:"] + [f"  V{i:03d}: ssm:{nm}" for i, nm in enumerate(names)]
    cfg = write_config("\n".join(lines) + "\n")
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    env = probe.read()["env"]
    assert all(env[f"V{i:03d}"] == f"value-{i:03d}-canary" for i in range(n))
    assert "-canary" not in res.out + res.err
    assert by_action(fake) == {"GetParameters": math.ceil(n / 10)}
    conns = {r["conn"] for r in fake.state.requests if r["action"] == "GetParameters"}
    stats = fake.state.stats()
    # Under valgrind ten handshakes at once can outlast the connect timeout, or a call end
    # before the next starts: the counts are checked in the normal and ASan passes.
    if not (SLOW and "valgrind" in WRAPPER):
        assert len(conns) == math.ceil(n / 10), stats
        assert stats["connections"] == stats["handshakes"] == math.ceil(n / 10), stats


def test_mixed_services_one_run(fake, base_env, write_config, probe):
    """A config reading both services fetches each: GetSecretValue and GetParameters."""
    cfg = write_config(f"""
        version: 1
        env:
          DBUSER: {{ from: "{seed.RDS_NAME}", key: username }}
          DBPW: ssm:/prod/db/password
          TOKEN: {{ from: "{seed.SECRET_ARNS['api']}", key: token }}
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    env = probe.read()["env"]
    assert env["DBPW"] == seed.P_DB_PASSWORD
    assert env["DBUSER"] == "postgres"
    acts = by_action(fake)
    assert acts.get("GetParameters") == 1
    assert acts.get("BatchGetSecretValue", 0) + acts.get("GetSecretValue", 0) >= 1


def test_template_with_parameters(fake, base_env, write_config, probe):
    cfg = write_config("""
        version: 1
        env:
          URL:
            from: ssm:/prod/app/config
            template: 'postgres://{{ .user }}:{{ .password | urlencode }}@{{ secret "ssm:/prod/db/host" }}/app'
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    cfgv = json.loads(seed.P_APP_CONFIG)
    assert probe.read()["env"]["URL"] == (
        f"postgres://app:{cfgv['password']}@{seed.P_DB_HOST}/app")
    assert by_action(fake) == {"GetParameters": 1}


def test_not_found_names_parameter_and_region(fake, base_env, write_config):
    cfg = write_config("""
        version: 1
        env:
          A: ssm:/nope/missing
          B: "ssm:/prod/db/password:9"
          C: ssm:/prod/db/host
        """)
    res = run(["-c", cfg, "--", "true"], base_env)
    assert res.rc == 65, res
    assert "/nope/missing" in res.err and "/prod/db/password:9" in res.err
    assert f"not found in {seed.REGION}" in res.err
    assert "2 of 3 entries failed" in res.err


def test_optional_missing_parameter_skipped(fake, base_env, write_config, probe):
    cfg = write_config("""
        version: 1
        env:
          A: { from: ssm:/nope/missing, optional: true }
          B: ssm:flat
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    env = probe.read()["env"]
    assert "A" not in env and env["B"] == seed.P_FLAT


def test_access_denied_names_ssm_get_parameters(fake, base_env, write_config):
    use_credential(base_env, fake, "nossm")
    cfg = write_config("version: 1\nenv:\n  A: ssm:/prod/db/password\n")
    res = run(["-c", cfg, "--", "true"], base_env)
    assert res.rc == 77, res
    assert "ssm:GetParameters denied" in res.err


def test_kms_denial_names_kms_decrypt(fake, base_env, write_config):
    use_credential(base_env, fake, "nokms")
    cfg = write_config("version: 1\nenv:\n  A: ssm:/prod/cmk/api-key\n")
    res = run(["-c", cfg, "--", "true"], base_env)
    assert res.rc == 77, res
    assert "kms:Decrypt" in res.err
    assert f"ssm.{seed.REGION}.amazonaws.com" in res.err


def test_throttle_retried_then_75(fake, base_env, write_config, probe):
    fake.state.add_fault("throttle", action="GetParameters", count=1)
    cfg = write_config("version: 1\nenv:\n  A: ssm:flat\n")
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    assert probe.read()["env"]["A"] == seed.P_FLAT
    assert len(asked(fake)) == 2
    # Throttled for good: retried until the start deadline (issue 22), whatever
    # AWS_MAX_ATTEMPTS says, then exit 75 naming the deadline and the throttling.
    fake.state.add_fault("throttle", action="GetParameters")
    base_env["AWS_MAX_ATTEMPTS"] = "2"
    before = len(asked(fake))
    res = run(["-c", cfg, "--timeout", "3", "--", "true"], base_env)
    assert res.rc == 75, res
    assert "deadline passed after" in res.err and "throttled" in res.err, res.err
    assert len(asked(fake)) - before > 2  # more than AWS_MAX_ATTEMPTS


def test_endpoint_variable_ssm(fake, base_env, write_config, probe):
    """AWS_ENDPOINT_URL_SSM reaches SSM; Secrets Manager's own variable does not."""
    base_env.pop("AWS_ENDPOINT_URL", None)
    base_env["AWS_ENDPOINT_URL_SSM"] = fake.url
    cfg = write_config("version: 1\nenv:\n  A: ssm:flat\n")
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    assert probe.read()["env"]["A"] == seed.P_FLAT


def test_from_env_replaces_parameters(fake, base_env, probe):
    base_env["DB_PASSWORD"] = PARN["/prod/db/password"]
    base_env["DB_HOST"] = "ssm:/prod/db/host"
    base_env["PLAIN"] = "/prod/db/host"   # a bare name is a value: left alone
    base_env["DOC"] = f"arn:aws:ssm:{seed.REGION}:{seed.ACCOUNT}:document/x"
    res = run(["--from-env", "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    env = probe.read()["env"]
    assert env["DB_PASSWORD"] == seed.P_DB_PASSWORD
    assert env["DB_HOST"] == seed.P_DB_HOST
    assert env["PLAIN"] == "/prod/db/host"
    assert env["DOC"].endswith(":document/x")


@pytest.mark.parametrize("value,want,rc", [
    ("ssm:prod/db/password", "does not start with '/'", 78),
    (f"arn:aws:ssm:{seed.REGION}:{seed.ACCOUNT}:parameter//prod/db/password", "one slash", 78),
    ("ssm:/nope/missing", "not found", 65),
])
def test_from_env_fails_closed(fake, base_env, value, want, rc):
    base_env["DB_PASSWORD"] = value
    res = run(["--from-env", "--", "sh", "-c", "echo started"], base_env)
    assert res.rc == rc, res
    assert want in res.err and "started" not in res.out


def test_dry_run_prints_name_version_length(fake, base_env, write_config):
    cfg = write_config("""
        version: 1
        env:
          PW: ssm:/prod/db/password
          OLD: "ssm:/prod/db/password:old"
        """)
    res = run(["-c", cfg, "--dry-run"], base_env)
    assert res.rc == 0, res
    assert (f"env PW: parameter /prod/db/password (SecureString) version 3 "
            f"{len(seed.P_DB_PASSWORD)} bytes") in res.out
    assert (f"env OLD: parameter /prod/db/password (SecureString) version 1 selector old "
            f"{len(seed.P_DB_PASSWORD_V1)} bytes") in res.out


def test_check_and_export(fake, base_env, write_config):
    cfg = write_config("version: 1\nenv:\n  HOST: ssm:/prod/db/host\n")
    res = run(["check", "-c", cfg], base_env)
    assert res.rc == 0, res
    res = run(["export", "-c", cfg, "--format", "json"], base_env, check_leaks=False)
    assert res.rc == 0, res
    assert json.loads(res.out) == {"HOST": seed.P_DB_HOST}


def test_config_refuses_sm_fields_on_parameters(fake, base_env, write_config):
    cfg = write_config("""
        version: 1
        env:
          A: { from: ssm:/prod/db/password, version_stage: AWSCURRENT }
        """)
    res = run(["check", "-c", cfg], base_env)
    assert res.rc == 78, res
    assert "ssm:NAME:3" in res.err
    cfg = write_config("""
        version: 1
        env:
          A: { from: ssm:/prod/db/password, failover_regions: [eu-west-1] }
        """)
    res = run(["check", "-c", cfg], base_env)
    assert res.rc == 78, res
    assert "no replicas" in res.err


def test_oversize_value_refused(fake, base_env, write_config):
    fake.state.put_parameter("/huge", "x" * (64 * 1024 + 1), ptype="String")
    cfg = write_config("version: 1\nenv:\n  A: ssm:/huge\n")
    res = run(["-c", cfg, "--", "true"], base_env)
    assert res.rc == 65, res
    assert "larger than 65536 bytes" in res.err


def test_nul_in_value_refused(fake, base_env, write_config):
    fake.state.put_parameter("/withnul", "a\u0000b", ptype="String")
    cfg = write_config("version: 1\nenv:\n  A: ssm:/withnul\n  B: ssm:flat\n")
    res = run(["-c", cfg, "--", "true"], base_env)
    assert res.rc == 65, res
    assert "/withnul: the parameter's value contains a NUL" in res.err
    assert "1 of 2 entries failed" in res.err


def test_refresh_new_parameter_version(fake, base_env, write_config, secret_dir):
    """supervise: a new version of a parameter rewrites its file and runs on_change, exactly
    as a new secret version does; no change, no rewrite."""
    new = "new-host-" + "7f3a9c"
    target = secret_dir / "host"
    marker = secret_dir / "changed"
    cfg = write_config(f"""
        version: 1
        files:
          {target}: ssm:/prod/db/host
        supervise:
          refresh: 100ms
          on_change: none
          on_change_exec: [/usr/bin/touch, "{marker}"]
        """)
    base_env["INJECTOR_LOG_LEVEL"] = "info"
    proc = subprocess.Popen(WRAPPER + [INJECTOR, "-c", cfg, "--supervise", "--", "sleep", "60"],
                            env=base_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + (240 if SLOW else 30)
        while not target.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert target.read_text() == seed.P_DB_HOST
        # Several cycles with nothing new: no on_change.
        while len(asked(fake)) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not marker.exists()
        fake.state.put_parameter("/prod/db/host", new)
        while time.monotonic() < deadline and not marker.exists():
            time.sleep(0.05)
        assert marker.exists()
        assert target.read_text() == new
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=60)
    text = out.decode(errors="replace") + err.decode(errors="replace")
    assert "new version 2" in text
    assert_no_leak(text, extra=(new,))


def test_failover_regions_leave_a_parameters_deadline_whole(fake, base_env, write_config,
                                                            probe):
    """A parameter has no replica: a top-level failover_regions (for the secrets) must not
    cut its share of the start deadline (fetch.c shares it among the regions to try)."""
    fake.state.put_parameter("/rev/p", "pval", ptype="String")
    # The answer takes half the deadline: more than the third the three regions would leave
    # it, with room for a loaded sanitized run's handshake and credentials.
    deadline = 9 if SLOW else 6
    fake.state.add_fault("slow", action="GetParameters", seconds=deadline / 2)
    cfg = write_config(f"""
        version: 1
        timeout: {deadline}s
        failover_regions: [us-west-2, eu-west-1]
        env:
          P: ssm:/rev/p
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    assert probe.read()["env"]["P"] == "pval"


def test_refresh_reads_parameters_ten_a_call_at_once(fake, write_config, sv):
    """supervise: a cycle reads its parameters again as the start does, ten a GetParameters
    call and the calls at once, not one call per parameter in turn (25 parameters at 0.4 s a
    call took 10 s, the cycle's whole budget, and never refreshed); a rotation is applied."""
    n = 25
    v1, v2 = value("ssmb-1"), value("ssmb-2")
    lines = ["version: 1", "supervise:", "  refresh: 100ms", "  on_change: restart",
             "  restart_delay: 0s", "env:"]
    for i in range(n):
        fake.state.put_parameter(f"/rb/p{i:02d}", v1 if i == 7 else f"v{i}", ptype="SecureString")
        lines.append(f"  V{i:02d}: ssm:/rb/p{i:02d}")
    cfg = write_config("\n".join(lines) + "\n")
    inj, log = sv(["-c", cfg], {"APP_ENV": "V07"})
    assert wait_for("start", lambda: log.events("start"), inj)[0]["env"]["V07"] == v1
    at_start = len(asked(fake))
    fake.state.add_fault("slow", action="GetParameters", seconds=0.4)
    wait_for("a few cycles", lambda: len(asked(fake)) >= at_start + 2 * math.ceil(n / 10), inj)
    fake.state.put_parameter("/rb/p07", v2)
    starts = wait_for("restart", lambda: len(log.events("start")) >= 2 and log.events("start"),
                      inj)
    assert starts[1]["env"]["V07"] == v2
    inj.kill(signal.SIGTERM)          # a cycle under way ends first (signals wait for it)
    assert inj.finish(leak_extra=(v1, v2)) == 0
    # The start and every cycle: all n names in ceil(n/10) calls.
    calls = [len(ids) for ids in asked(fake)]
    assert sum(calls) % n == 0 and sum(calls) // n >= 3, calls
    assert len(calls) == math.ceil(n / 10) * (sum(calls) // n), calls
    assert "refresh failed" not in inj.stderr_text()
