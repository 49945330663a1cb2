"""Failover to replica regions: a secret whose primary region is down (5xx, a broken or
timed-out transport, after all retries) is read from its replicas, in the order of its
`failover_regions` (entry level replaces the top level, --failover-regions replaces the top
level, [] disables). 4xx answers, TLS failures and malformed 200 answers are not failed over.

One fake endpoint stands in for every region: state.replica_regions makes it serve requests
signed for those regions as replicas (ARNs in them carry that region), faults take `region=`,
and the request log records the region each request was signed for."""
import fnmatch
import json
import re
import subprocess

import pytest

import seed
from conftest import SLOW, run

RDS = seed.RDS_NAME
ARN = seed.SECRET_ARNS
PRIMARY = seed.REGION
EW, UE = "eu-west-1", "us-east-1"
REPLICAS = [EW, UE]
# Values of the seeded secrets the entries below read.
TOKEN = seed.API_TOKEN
PGUSER = "postgres"


def in_region(arn, region):
    """The same secret's ARN in another region (what its replica is called there)."""
    parts = arn.split(":", 4)
    parts[3] = region
    return ":".join(parts)


def reqs(fake, region):
    return [r for r in fake.state.requests if r["region"] == region]


def calls(fake):
    """{(region, action): count} over the request log."""
    out = {}
    for r in fake.state.requests:
        out[(r["region"], r["action"])] = out.get((r["region"], r["action"]), 0) + 1
    return out


def asked(fake, region, ok_only=False):
    """Every secret id requested in region (only from answered 200s with ok_only)."""
    return sorted(i for r in reqs(fake, region) if not ok_only or r["status"] == 200
                  for i in r["secret_ids"])


@pytest.fixture
def replicated(fake):
    """The fake serves eu-west-1 and us-east-1 as replicas of every secret."""
    fake.state.replica_regions = list(REPLICAS)
    return fake


def primary_down(fake, kind="internal", **params):
    """Every request signed for the primary region gets `kind`."""
    fake.state.add_fault(kind, region=PRIMARY, **params)


def single_config(write_config, ref=RDS, key="username", regions=REPLICAS):
    return write_config(f"""
        version: 1
        region: {PRIMARY}
        failover_regions: [{", ".join(regions)}]
        env:
          A: {{ from: "{ref}", key: {key} }}
        """)


# ---- failing over ------------------------------------------------------------------------

def test_internal_error_fails_over_get_secret_value(replicated, base_env, write_config, probe):
    primary_down(replicated)
    base_env["AWS_MAX_ATTEMPTS"] = "2"
    cfg = single_config(write_config)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    assert probe.read()["env"]["A"] == PGUSER
    # Retried in the primary as usual, then one call to the first replica; the second
    # replica is never needed.
    assert calls(replicated) == {(PRIMARY, "GetSecretValue"): 2, (EW, "GetSecretValue"): 1}
    assert all(r["status"] == 500 for r in reqs(replicated, PRIMARY))
    assert [r["status"] for r in reqs(replicated, EW)] == [200]
    assert asked(replicated, EW) == [RDS]
    assert f"trying its replica in {EW}" in res.err
    assert f"read from its replica in {EW}" in res.err
    assert UE not in res.err


def test_batch_fails_over_as_a_batch(replicated, base_env, write_config, probe):
    primary_down(replicated)
    base_env["AWS_MAX_ATTEMPTS"] = "2"
    cfg = write_config(f"""
        version: 1
        region: {PRIMARY}
        failover_regions: [{EW}, {UE}]
        env:
          TOKEN: {{ from: "{ARN['api']}", key: token }}
          PGUSER: {{ from: "{RDS}", key: username }}
          DB: {{ from: dev/fcj/momentum, key: DB_CONNECTION_STRING }}
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    env = probe.read()["env"]
    assert env["TOKEN"] == TOKEN and env["PGUSER"] == PGUSER
    assert env["DB"] == seed.MOMENTUM_DB_URL
    # All three fell over together: one batch call in eu-west-1, the ARN rewritten to it.
    assert calls(replicated) == {(PRIMARY, "BatchGetSecretValue"): 2,
                                 (EW, "BatchGetSecretValue"): 1}
    assert asked(replicated, EW, ok_only=True) == sorted(
        [in_region(ARN["api"], EW), RDS, "dev/fcj/momentum"])
    assert f"read from its replica in {EW}" in res.err


@pytest.mark.parametrize("kind,params", [
    ("internal", {}),                   # 500 InternalServiceError
    ("unavailable", {}),                # 503 ServiceUnavailableException
    ("html", {}),                       # 502 from a proxy, text/html
    ("drop", {}),                       # connection closed unanswered (empty reply)
    ("drop", {"rst": True}),            # connection reset unanswered
    ("reset", {}),                      # reset mid-body
    ("truncated", {}),                  # body shorter than Content-Length
])
def test_primary_down_kinds_fail_over(replicated, base_env, write_config, probe, kind, params):
    primary_down(replicated, kind, **params)
    base_env["AWS_MAX_ATTEMPTS"] = "1"
    cfg = single_config(write_config, key="password")
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    assert probe.read()["env"]["A"] == seed.RDS_PASSWORD
    assert calls(replicated) == {(PRIMARY, "GetSecretValue"): 1, (EW, "GetSecretValue"): 1}
    assert f"trying its replica in {EW}" in res.err
    assert f"read from its replica in {EW}" in res.err


@pytest.mark.parametrize("form", ["name", "arn", "partial_arn"])
def test_replica_request_names_the_replica(replicated, base_env, write_config, probe, form):
    ref = {"name": "api", "arn": ARN["api"], "partial_arn": ARN["api"].rsplit("-", 1)[0]}[form]
    primary_down(replicated)
    base_env["AWS_MAX_ATTEMPTS"] = "1"
    cfg = single_config(write_config, ref=ref, key="token")
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    assert probe.read()["env"]["A"] == TOKEN
    ok = [r for r in reqs(replicated, EW) if r["status"] == 200]
    assert len(ok) == 1, replicated.state.requests
    # Signed for eu-west-1; a name stays the name, an ARN gets eu-west-1 as its region.
    want = ref if form == "name" else in_region(ref, EW)
    assert ok[0]["secret_ids"] == [want]
    assert ok[0]["action"] == "GetSecretValue"
    assert reqs(replicated, PRIMARY)[0]["secret_ids"] == [ref]


def test_dry_run_shows_the_replica_arn(replicated, base_env, write_config):
    primary_down(replicated)
    base_env["AWS_MAX_ATTEMPTS"] = "1"
    cfg = single_config(write_config, ref="api", key="token")
    res = run(["--dry-run", "-c", cfg], base_env)
    assert res.rc == 0, res
    assert in_region(ARN["api"], EW) in res.out
    assert ARN["api"] not in res.out
    # A replica keeps the primary's version ids.
    assert "a1b2c3d4-0004-4000-8000-000000000001" in res.out and "AWSCURRENT" in res.out


def test_failover_region_equal_to_primary_is_skipped(replicated, base_env, write_config,
                                                     probe):
    primary_down(replicated)
    base_env["AWS_MAX_ATTEMPTS"] = "1"
    cfg = single_config(write_config, regions=[PRIMARY, EW])
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    assert probe.read()["env"]["A"] == PGUSER
    assert calls(replicated) == {(PRIMARY, "GetSecretValue"): 1, (EW, "GetSecretValue"): 1}
    assert f"replica in {PRIMARY}" not in res.err


# ---- which regions, in which order ---------------------------------------------------------

def test_regions_tried_in_order(replicated, base_env, write_config, probe):
    primary_down(replicated)
    replicated.state.add_fault("unavailable", region=EW)
    base_env["AWS_MAX_ATTEMPTS"] = "1"
    cfg = single_config(write_config)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    assert probe.read()["env"]["A"] == PGUSER
    order = [(r["region"], r["status"]) for r in replicated.state.requests]
    assert order == [(PRIMARY, 500), (EW, 503), (UE, 200)]
    assert f"trying its replica in {EW}" in res.err
    assert f"trying its replica in {UE}" in res.err
    assert f"read from its replica in {UE}" in res.err
    assert f"read from its replica in {EW}" not in res.err


def test_entry_list_replaces_top_level(replicated, base_env, write_config, probe):
    primary_down(replicated)
    base_env["AWS_MAX_ATTEMPTS"] = "1"
    cfg = write_config(f"""
        version: 1
        region: {PRIMARY}
        failover_regions: [{UE}]
        env:
          TOKEN: {{ from: api, key: token, failover_regions: [{EW}] }}
          PGUSER: {{ from: "{RDS}", key: username }}
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    env = probe.read()["env"]
    assert env["TOKEN"] == TOKEN and env["PGUSER"] == PGUSER
    assert asked(replicated, EW) == ["api"]
    assert asked(replicated, UE) == [RDS]


def test_empty_entry_list_disables_failover(replicated, base_env, write_config):
    primary_down(replicated)
    base_env["AWS_MAX_ATTEMPTS"] = "1"
    cfg = write_config(f"""
        version: 1
        region: {PRIMARY}
        failover_regions: [{EW}]
        env:
          TOKEN: {{ from: api, key: token, failover_regions: [] }}
          PGUSER: {{ from: "{RDS}", key: username }}
        """)
    res = run(["-c", cfg, "--", "/bin/true"], base_env)
    # TOKEN has no replica to go to: its primary error stands (all or nothing: exit 69).
    assert res.rc == 69, res
    assert "env TOKEN" in res.err and "HTTP 500" in res.err
    assert "1 of 2 entries failed" in res.err
    assert asked(replicated, EW) == [RDS]
    assert reqs(replicated, UE) == []


def test_flag_replaces_top_level_list(replicated, base_env, write_config, probe):
    primary_down(replicated)
    base_env["AWS_MAX_ATTEMPTS"] = "1"
    cfg = write_config(f"""
        version: 1
        region: {PRIMARY}
        failover_regions: [{EW}]
        env:
          PGUSER: {{ from: "{RDS}", key: username }}
          TOKEN: {{ from: api, key: token, failover_regions: [{EW}] }}
        """)
    res = run(["--failover-regions", f"{UE}", "-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    env = probe.read()["env"]
    assert env["PGUSER"] == PGUSER and env["TOKEN"] == TOKEN
    # The flag replaced the top-level list; the entry's own list still wins for TOKEN.
    assert asked(replicated, UE) == [RDS]
    assert asked(replicated, EW) == ["api"]


def test_flag_without_config_list(replicated, base_env, write_config, probe):
    primary_down(replicated)
    replicated.state.add_fault("internal", region=EW)
    base_env["AWS_MAX_ATTEMPTS"] = "1"
    cfg = write_config(f"""
        version: 1
        region: {PRIMARY}
        env:
          PGUSER: {{ from: "{RDS}", key: username }}
        """)
    res = run(["--failover-regions", f"{EW},{UE}", "-c", cfg, "--"] + probe(base_env),
              base_env)
    assert res.rc == 0, res
    assert probe.read()["env"]["PGUSER"] == PGUSER
    assert [r["region"] for r in replicated.state.requests] == [PRIMARY, EW, UE]
    # And without the flag (nor a list in the config) there is no failover at all.
    replicated.state.reset()
    replicated.state.replica_regions = list(REPLICAS)
    primary_down(replicated)
    res = run(["-c", cfg, "--", "/bin/true"], base_env)
    assert res.rc == 69, res
    assert {r["region"] for r in replicated.state.requests} == {PRIMARY}
    assert "replica" not in res.err


# ---- what is not failed over -------------------------------------------------------------

@pytest.mark.parametrize("what,code,fragment", [
    ("access_denied", 77, "secretsmanager:GetSecretValue denied"),
    ("not_found", 65, "not found"),
    ("throttle", 75, "throttled"),
    ("decryption", 77, "cannot be decrypted"),
    ("invalid_request", 65, "scheduled for deletion"),
    ("garbage", 69, "not a JSON object"),
])
def test_no_failover_on_client_errors(replicated, base_env, write_config, what, code, fragment):
    ref = RDS
    if what == "access_denied":
        replicated.state.deny(seed.DEFAULT_CREDENTIAL, "GetSecretValue")
    elif what == "not_found":
        ref = "does/not/exist"
    elif what == "throttle":
        primary_down(replicated, "throttle")
    elif what == "decryption":
        primary_down(replicated, "kms")
    elif what == "invalid_request":
        primary_down(replicated, "error", code="InvalidRequestException",
                     message="You can't perform this operation on the secret because it "
                             "was marked for deletion.", message_key="Message")
    else:
        primary_down(replicated, "garbage")
    base_env["AWS_MAX_ATTEMPTS"] = "2"
    cfg = single_config(write_config, ref=ref)
    res = run(["-c", cfg, "--", "/bin/true"], base_env)
    assert res.rc == code, res
    assert fragment in res.err, res
    assert reqs(replicated, EW) == [] and reqs(replicated, UE) == []
    assert "replica" not in res.err


def test_no_failover_on_tls_failure(replicated, base_env, write_config, tmp_path):
    other = tmp_path / "other-ca.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(tmp_path / "k.pem"),
                    "-out", str(other), "-subj", "/CN=other", "-days", "1"],
                   check=True, capture_output=True)
    base_env["AWS_CA_BUNDLE"] = str(other)
    base_env["AWS_MAX_ATTEMPTS"] = "1"
    cfg = single_config(write_config)
    res = run(["-c", cfg, "--", "/bin/true"], base_env)
    assert res.rc == 69, res
    assert "TLS" in res.err
    assert "replica" not in res.err
    assert replicated.state.requests == []


# ---- when every region fails -----------------------------------------------------------------

def test_replica_missing_reports_both_errors(replicated, base_env, write_config):
    primary_down(replicated)
    replicated.state.unreplicated.add((EW, RDS))
    base_env["AWS_MAX_ATTEMPTS"] = "1"
    cfg = single_config(write_config, regions=[EW])
    res = run(["-c", cfg, "--", "/bin/true"], base_env)
    # The primary's failure decides the exit code (69), not the replica's not-found (65).
    assert res.rc == 69, res
    line = next(l for l in res.err.splitlines() if "env A" in l and "error" in l)
    assert "HTTP 500" in line, res
    assert f"replica in {EW}:" in line, res
    assert "not found" in line.split(f"replica in {EW}:", 1)[1], res
    assert calls(replicated) == {(PRIMARY, "GetSecretValue"): 1, (EW, "GetSecretValue"): 1}
    assert [r["error_type"] for r in reqs(replicated, EW)] == ["ResourceNotFoundException"]


def test_every_region_down(replicated, base_env, write_config):
    primary_down(replicated)
    replicated.state.add_fault("unavailable", region=EW)
    replicated.state.add_fault("drop", region=UE)
    base_env["AWS_MAX_ATTEMPTS"] = "1"
    cfg = write_config(f"""
        version: 1
        region: {PRIMARY}
        failover_regions: [{EW}, {UE}]
        env:
          TOKEN: {{ from: "{ARN['api']}", key: token }}
          PGUSER: {{ from: "{RDS}", key: username }}
        """)
    res = run(["-c", cfg, "--", "/bin/true"], base_env)
    assert res.rc == 69, res
    for name in ("env TOKEN", "env PGUSER"):
        line = next(l for l in res.err.splitlines() if name in l and "error" in l)
        assert "HTTP 500" in line, res
        assert f"replica in {EW}:" in line and "HTTP 503" in line, res
        assert f"replica in {UE}:" in line, res
    assert "2 of 2 entries failed" in res.err
    # One batch call per region, in order (libcurl itself resends a request once when a
    # reused connection is closed unanswered, as the drop in us-east-1 does).
    regions = [r["region"] for r in replicated.state.requests]
    assert [g for i, g in enumerate(regions) if i == 0 or regions[i - 1] != g] == \
        [PRIMARY, EW, UE], replicated.state.requests
    assert {r["action"] for r in replicated.state.requests} == {"BatchGetSecretValue"}


def test_connection_refused_fails_over(fake, base_env, write_config):
    """Unreachable (connection refused) counts as down. One endpoint stands in for every
    region here, so the replica is refused too: the point is that it was tried."""
    from creds_fakes import closed_port
    base_env["AWS_ENDPOINT_URL"] = f"https://127.0.0.1:{closed_port()}"
    base_env["AWS_MAX_ATTEMPTS"] = "1"
    cfg = single_config(write_config, regions=[EW])
    res = run(["-c", cfg, "--", "/bin/true"], base_env)
    assert res.rc == 69, res
    assert f"trying its replica in {EW}" in res.err, res
    line = next(l for l in res.err.splitlines() if "env A" in l and "error" in l)
    assert "cannot connect" in line and f"replica in {EW}:" in line, res
    assert line.count("cannot connect") == 2, line


# ---- --timeout is shared between the regions -------------------------------------------------

# A primary that hangs much longer than the whole --timeout; the replica answers at once.
TIMEOUT = 12 if SLOW else 4
HANG = TIMEOUT * 3


def test_hanging_primary_leaves_time_for_the_replica(replicated, base_env, write_config, probe):
    primary_down(replicated, "slow", seconds=HANG)
    base_env["AWS_MAX_ATTEMPTS"] = "1"
    cfg = single_config(write_config, regions=[EW])
    res = run(["--timeout", str(TIMEOUT), "-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    assert probe.read()["env"]["A"] == PGUSER
    assert f"read from its replica in {EW}" in res.err
    assert [r["status"] for r in reqs(replicated, EW)] == [200]


def test_secret_without_replicas_keeps_the_whole_timeout(replicated, base_env, write_config,
                                                          probe):
    """Shares are per secret: a slow secret that has no failover regions still gets all of
    --timeout, though another secret in the same run has a replica (and so a half share)."""
    replicated.state.add_fault("slow", secret=RDS, region=PRIMARY, seconds=TIMEOUT * 0.6)
    base_env["AWS_MAX_ATTEMPTS"] = "1"
    cfg = write_config(f"""
        version: 1
        region: {PRIMARY}
        env:
          SLOW: {{ from: "{RDS}", key: username }}
          TOKEN: {{ from: "{ARN['api']}", key: token, failover_regions: [{EW}] }}
        """)
    res = run(["--fetch", "single", "--timeout", str(TIMEOUT), "-c", cfg, "--"] +
              probe(base_env), base_env)
    assert res.rc == 0, res
    env = probe.read()["env"]
    assert env["SLOW"] == PGUSER and env["TOKEN"] == TOKEN
    assert reqs(replicated, EW) == []


def test_no_replica_is_tried_after_the_timeout(replicated, base_env, write_config):
    """The failover round starts when the first pass ends; if a secret without replicas held
    that pass up to the end of --timeout, the replica is not tried, and the error says so."""
    replicated.state.add_fault("slow", secret=RDS, region=PRIMARY, seconds=HANG)
    replicated.state.add_fault("internal", secret=ARN["api"], region=PRIMARY)
    base_env["AWS_MAX_ATTEMPTS"] = "1"
    cfg = write_config(f"""
        version: 1
        region: {PRIMARY}
        env:
          SLOW: {{ from: "{RDS}", key: username }}
          TOKEN: {{ from: "{ARN['api']}", key: token, failover_regions: [{EW}] }}
        """)
    # Below the 10 s per-request timeout, so that the slow request lasts to the deadline.
    timeout = min(TIMEOUT, 8)
    res = run(["--fetch", "single", "--timeout", str(timeout), "-c", cfg, "--", "/bin/true"],
              base_env)
    assert res.rc == 75, res
    line = next(l for l in res.err.splitlines() if "env TOKEN" in l and "error" in l)
    assert f"replica in {EW}: not tried, the --timeout deadline passed" in line, res
    assert reqs(replicated, EW) == []


def test_throttled_out_of_time_is_not_down(replicated, base_env, write_config):
    """Throttling that outlasts the secret's share of --timeout is not a region outage: no
    replica is asked."""
    replicated.state.add_fault("throttle", region=PRIMARY)
    base_env["AWS_MAX_ATTEMPTS"] = "10"
    cfg = single_config(write_config, regions=[EW])
    # Half of it is the primary's share: room for many throttled attempts, none near 1 s.
    res = run(["--timeout", str(TIMEOUT), "-c", cfg, "--", "/bin/true"], base_env)
    assert res.rc == 75, res
    assert reqs(replicated, EW) == [], replicated.state.requests
    assert "replica" not in res.err


def test_hanging_primary_and_first_replica(replicated, base_env, write_config, probe):
    primary_down(replicated, "slow", seconds=HANG)
    replicated.state.add_fault("slow", region=EW, seconds=HANG)
    base_env["AWS_MAX_ATTEMPTS"] = "1"
    cfg = single_config(write_config)
    res = run(["--timeout", str(TIMEOUT * 3 // 2), "-c", cfg, "--"] + probe(base_env),
              base_env)
    assert res.rc == 0, res
    assert probe.read()["env"]["A"] == PGUSER
    assert f"read from its replica in {UE}" in res.err


@pytest.mark.parametrize("replica", [{"kind": "slow", "seconds": HANG}, {"kind": "internal"}],
                         ids=["replica-hangs", "replica-500"])
def test_hanging_primary_and_failed_replica_exit_75(replicated, base_env, write_config,
                                                    replica):
    # The primary's failure (a timeout: 75) decides the exit code, whatever the replica's.
    primary_down(replicated, "slow", seconds=HANG)
    replicated.state.add_fault(region=EW, **replica)
    base_env["AWS_MAX_ATTEMPTS"] = "1"
    cfg = single_config(write_config, regions=[EW])
    res = run(["--timeout", str(TIMEOUT), "-c", cfg, "--", "/bin/true"], base_env)
    assert res.rc == 75, res
    assert "timed out" in res.err or "deadline" in res.err
    assert f"replica in {EW}:" in res.err


# ---- config validation ---------------------------------------------------------------------

@pytest.mark.parametrize("yaml_text,line", [
    (f"failover_regions: {EW}\nenv:\n  A: api\n", 3),
    (f"failover_regions: [{EW}, [{UE}]]\nenv:\n  A: api\n", 3),
    (f"failover_regions: [{EW}, {{ r: {UE} }}]\nenv:\n  A: api\n", 3),
    ("failover_regions: [Ireland]\nenv:\n  A: api\n", 3),
    (f"failover_regions: [{EW}, {UE}, {EW}]\nenv:\n  A: api\n", 3),
    ("failover_regions: [eu-west-1, eu-west-2, eu-west-3, us-east-1, us-east-2]\n"
     "env:\n  A: api\n", 3),
    (f"env:\n  A: {{ from: api, failover_regions: [{EW}, {EW}] }}\n", 4),
    ("env:\n  A: { from: api, failover_regions: eu-west-1 }\n", 4),
    (f"env:\n  A: {{ from: \"{ARN['api']}\", failover_regions: [cn-north-1] }}\n", 4),
    (f"env:\n  A: {{ from: \"{ARN['api']}\", failover_regions: [{EW}, us-gov-west-1] }}\n", 4),
], ids=["scalar", "nested-list", "mapping-item", "bad-region", "duplicate", "five",
        "entry-duplicate", "entry-scalar", "entry-partition-cn", "entry-partition-gov"])
def test_invalid_failover_regions(base_env, write_config, yaml_text, line):
    cfg = write_config(f"version: 1\nregion: {PRIMARY}\n" + yaml_text)
    res = run(["check", "-c", cfg], base_env)
    assert res.rc == 78, res
    assert re.search(rf"{re.escape(cfg)}:{line}:\d+:", res.err), res
    # (The temp path holds the test's name: look at the message without it.)
    msg = res.err.replace(cfg, "CONFIG")
    assert "failover_regions" in msg and "unknown" not in msg, res


def test_valid_failover_regions_pass_check(base_env, write_config):
    cfg = write_config(f"""
        version: 1
        region: {PRIMARY}
        failover_regions: [eu-west-1, eu-west-2, us-east-1, us-east-2]
        env:
          A: {{ from: "{ARN['api']}", key: token, failover_regions: [] }}
          B: {{ from: api, key: token, failover_regions: [{EW}] }}
        """)
    res = run(["check", "-c", cfg], base_env)
    assert res.rc == 0, res


@pytest.mark.parametrize("flag,fragment", [
    ("eu-west-1,Ireland", '"Ireland" is not an AWS region name'),
    ("eu-west-1,eu-west-1", '"eu-west-1" is listed twice'),
    ("eu-west-1,", "trailing comma"),
    ("eu-west-1,,us-east-1", "expected regions separated by commas"),
    ("eu-west-1,eu-west-2,eu-west-3,us-east-1,us-east-2", "(at most 4)"),
])
def test_invalid_failover_regions_flag(base_env, write_config, flag, fragment):
    """A bad --failover-regions is a usage error before anything is fetched."""
    cfg = single_config(write_config)
    res = run(["--failover-regions", flag, "-c", cfg, "--", "/bin/true"], base_env)
    assert res.rc == 64, res
    assert "--failover-regions" in res.err and fragment in res.err, res


def test_empty_list_on_a_sharing_entry_turns_failover_off(replicated, base_env, write_config):
    """Two entries read the same secret; one says failover_regions: []: the secret is not
    read from a replica for either."""
    primary_down(replicated)
    base_env["AWS_MAX_ATTEMPTS"] = "1"
    cfg = write_config(f"""
        version: 1
        region: {PRIMARY}
        env:
          U: {{ from: "{RDS}", key: username, failover_regions: [{EW}] }}
          P: {{ from: "{RDS}", key: password, failover_regions: [] }}
        """)
    res = run(["-c", cfg, "--", "/bin/true"], base_env)
    assert res.rc == 69, res
    assert reqs(replicated, EW) == []


def test_flag_region_outside_an_arn_partition(base_env, write_config):
    cfg = write_config(f"""
        version: 1
        region: {PRIMARY}
        env:
          A: {{ from: "{ARN['api']}", key: token }}
        """)
    res = run(["--failover-regions", "cn-north-1", "-c", cfg, "--", "/bin/true"], base_env)
    assert res.rc == 64, res
    assert "cn-north-1 is in partition aws-cn, but A reads a secret by an ARN in aws" in res.err


def test_template_arn_outside_the_partition(base_env, write_config):
    cfg = write_config(f"""
        version: 1
        region: {PRIMARY}
        env:
          URL:
            from: "{RDS}"
            template: '{{{{ .username }}}}:{{{{ secret "{ARN['api']}" .token }}}}'
            failover_regions: [us-gov-west-1]
        """)
    res = run(["check", "-c", cfg], base_env)
    assert res.rc == 78, res
    assert "URL: failover_regions: us-gov-west-1 is in partition aws-us-gov" in res.err


# ---- policy ------------------------------------------------------------------------------------

def policy_doc(tmp_path, write_config, extra=""):
    """`injector policy` for a config with failover regions (offline: no credentials)."""
    cfg = write_config(f"""
        version: 1
        region: {PRIMARY}{extra}
        failover_regions: [{EW}, {UE}]
        env:
          A: "{ARN['api']}:token::"
          B: {{ from: app/b, key: x, failover_regions: [{UE}] }}
          C: {{ from: app/c, key: x, failover_regions: [] }}
        """)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "AWS_EC2_METADATA_DISABLED": "true",
           "AWS_ENDPOINT_URL": "https://127.0.0.1:9"}
    res = run(["policy", "-c", cfg, "--account", seed.ACCOUNT], env)
    assert res.rc == 0, res
    return json.loads(res.out)


def test_policy_allows_the_replicas(tmp_path, write_config):
    acct = seed.ACCOUNT
    doc = policy_doc(tmp_path, write_config)
    get = next(s for s in doc["Statement"] if s["Action"] == "secretsmanager:GetSecretValue")
    resources = get["Resource"] if isinstance(get["Resource"], list) else [get["Resource"]]

    def named(region, name):
        return f"arn:aws:secretsmanager:{region}:{acct}:secret:{name}-??????"
    want = {ARN["api"], in_region(ARN["api"], EW), in_region(ARN["api"], UE),
            named(PRIMARY, "app/b"), named(UE, "app/b"), named(PRIMARY, "app/c")}
    assert set(resources) == want, resources
    kms = next(s for s in doc["Statement"] if s["Action"] == "kms:Decrypt")
    via = kms["Condition"]["StringEquals"]["kms:ViaService"]
    via = via if isinstance(via, list) else [via]
    assert set(via) == {f"secretsmanager.{r}.amazonaws.com" for r in (PRIMARY, EW, UE)}


def test_policy_kms_keys_cover_the_replica_regions(tmp_path, write_config):
    """A replica is encrypted with a key of its own region: kms:Decrypt via
    secretsmanager.eu-west-1 is of no use unless eu-west-1 keys are in Resource too."""
    doc = policy_doc(tmp_path, write_config)
    kms = next(s for s in doc["Statement"] if s["Action"] == "kms:Decrypt")
    keys = kms["Resource"] if isinstance(kms["Resource"], list) else [kms["Resource"]]
    for region in (PRIMARY, EW, UE):
        key = f"arn:aws:kms:{region}:{seed.ACCOUNT}:key/5e1f3a2b-7c4d-4e8f-9a0b-1c2d3e4f5a6b"
        assert any(fnmatch.fnmatchcase(key, k) for k in keys), (region, keys)


def test_policy_describe_secret_only_in_the_secrets_own_regions(tmp_path, write_config):
    """supervise.refresh checks versions in each secret's own region, never on a replica."""
    doc = policy_doc(tmp_path, write_config, extra="\n        supervise: { refresh: 5m }")
    desc = next(s for s in doc["Statement"] if s["Action"] == "secretsmanager:DescribeSecret")
    get = next(s for s in doc["Statement"] if s["Action"] == "secretsmanager:GetSecretValue")
    assert desc["Resource"] and all(f":{PRIMARY}:" in r for r in desc["Resource"]), desc
    assert any(f":{EW}:" in r for r in get["Resource"]), get
    assert len(desc["Resource"]) < len(get["Resource"])

