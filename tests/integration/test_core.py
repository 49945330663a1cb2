"""End-to-end behaviour of the core path: config -> signed HTTPS fetch -> env/files -> exec.
Every run goes through conftest.run, which fails the test if any secret value or credential
shows up in injector's stdout or stderr."""
import os
import re
import stat
import subprocess

import pytest

import seed
from conftest import INJECTOR, PROBE, fs_type, run

RDS = seed.RDS_NAME
ARN = seed.SECRET_ARNS


def test_env_injection_and_exec_in_place(fake, base_env, write_config, probe):
    cfg = write_config(f"""
        version: 1
        region: eu-central-1
        env:
          DB_CONNECTION_STRING:
            from: {ARN['dev/fcj/momentum']}
            key: DB_CONNECTION_STRING
          PGUSER:     {{ from: "{RDS}", key: username }}
          PGPASSWORD: {{ from: "{RDS}", key: password }}
          API_TOKEN: "{ARN['api']}:token::"
        """)
    argv = probe(base_env, "--flag", "a b", "$HOME", "'quoted'", "")
    res = run(["-c", cfg, "--"] + argv, base_env)
    assert res.rc == 0, res
    got = probe.read()
    assert got["env"]["DB_CONNECTION_STRING"] == seed.MOMENTUM_DB_URL
    assert got["env"]["PGUSER"] == "postgres"
    assert got["env"]["PGPASSWORD"] == seed.RDS_PASSWORD
    assert got["env"]["API_TOKEN"] == seed.API_TOKEN
    # argv untouched (no shell), and the app kept injector's PID (exec in place).
    assert got["argv"] == ["--flag", "a b", "$HOME", "'quoted'", ""]
    if not os.environ.get("INJECTOR_WRAPPER"):
        assert got["pid"] == res.pid
    # The original environment is passed on.
    assert got["env"]["HOME"] == base_env["HOME"]
    # No secret in the app's argv.
    for v in seed.ALL_SECRET_VALUES:
        assert all(v not in a for a in got["argv"])


def test_each_secret_version_fetched_once(fake, base_env, write_config, probe):
    cfg = write_config(f"""
        version: 1
        env:
          A: {{ from: "{RDS}", key: username }}
          B: {{ from: "{RDS}", key: password }}
          C: {{ from: "{RDS}", key: password, version_stage: AWSCURRENT }}
          D: {{ from: "{RDS}", key: password, version_stage: AWSPREVIOUS }}
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    got = probe.read()["env"]
    assert got["C"] == got["B"] == seed.RDS_PASSWORD
    assert got["D"] == seed.RDS_PASSWORD_PREVIOUS
    # AWSCURRENT (twice implicit, once explicit) and AWSPREVIOUS: two calls.
    assert fake.state.stats()["requests_by_action"].get("GetSecretValue") == 2


def test_files_whole_secret_binary_and_modes(fake, base_env, write_config, probe, secret_dir):
    d = secret_dir / "run" / "secrets"
    cfg = write_config(f"""
        version: 1
        files:
          {d}/db.json:
            from: secretPostgresqlMasterUser
            mode: "0400"
          {d}/blob.bin: {{ from: bin/blob }}
          {d}/pw: {{ from: secretPostgresqlMasterUser, key: password, mode: "0440" }}
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    import json
    doc = json.loads((d / "db.json").read_text())
    assert doc["password"] == seed.PGMASTER_PASSWORD and doc["port"] == 5432
    assert (d / "blob.bin").read_bytes() == seed.BLOB
    assert (d / "pw").read_text() == seed.PGMASTER_PASSWORD
    assert stat.S_IMODE(os.stat(d / "db.json").st_mode) == 0o400
    assert stat.S_IMODE(os.stat(d / "pw").st_mode) == 0o440
    # Parents created 0700; no temp files left behind.
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o700
    assert sorted(os.listdir(d)) == ["blob.bin", "db.json", "pw"]


def test_pointer_and_non_string_values(fake, base_env, write_config, probe):
    cfg = write_config("""
        version: 1
        env:
          NESTED: { from: app/nested, pointer: /db/primary/password }
          SLASH: { from: app/nested, pointer: /a~1b }
          TILDE: { from: app/nested, pointer: /m~0n }
          ITEM: { from: app/nested, pointer: /list/2/x }
          COUNT: { from: app/nested, key: count }
          FLAG: { from: app/nested, key: flag }
          NOTHING: { from: app/nested, key: nothing }
          OBJ: { from: app/nested, pointer: /list/2 }
          PORT: { from: secretPostgresqlMasterUser, key: port }
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    env = probe.read()["env"]
    assert env["NESTED"] == f"pw-{seed.C_NESTED_DB}"
    assert env["SLASH"] == f"ab-{seed.C_NESTED_AB}"
    assert env["TILDE"] == f"mn-{seed.C_NESTED_MN}"
    assert env["ITEM"] == f"x-{seed.C_NESTED_LIST}"
    assert env["COUNT"] == "42" and env["FLAG"] == "true" and env["NOTHING"] == "null"
    assert env["OBJ"] == '{"x":"x-%s"}' % seed.C_NESTED_LIST
    assert env["PORT"] == "5432"


def test_codebuild_form_and_partial_arn(fake, base_env, write_config, probe):
    partial = ARN["api"].rsplit("-", 1)[0]
    cfg = write_config(f"""
        version: 1
        env:
          CB: "{RDS}:password:AWSPREVIOUS:"
          PARTIAL: {{ from: "{partial}", key: token }}
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    env = probe.read()["env"]
    assert env["CB"] == seed.RDS_PASSWORD_PREVIOUS
    assert env["PARTIAL"] == seed.API_TOKEN


def test_dry_run_prints_metadata_never_values(fake, base_env, write_config, secret_dir):
    target = os.path.join(secret_dir, "not", "yet", "db.json")
    cfg = write_config(f"""
        version: 1
        env:
          PGPASSWORD: {{ from: "{RDS}", key: password }}
        files:
          {target}: {{ from: secretPostgresqlMasterUser }}
        """)
    res = run(["--dry-run", "-c", cfg], base_env)
    assert res.rc == 0, res
    assert ARN[RDS] in res.out
    assert "a1b2c3d4-0002-4000-8000-000000000002" in res.out
    assert "AWSCURRENT" in res.out
    assert f"{len(seed.RDS_PASSWORD)} bytes" in res.out
    # Checked, not written: not even the directories the real run would create.
    assert not os.path.exists(os.path.join(secret_dir, "not"))
    assert os.listdir(secret_dir) == []


def test_dry_run_fails_when_real_run_would(fake, base_env, write_config):
    cfg = write_config(f"""
        version: 1
        env:
          PGPASSWORD: {{ from: "{RDS}", key: nope }}
        """)
    res = run(["--dry-run", "-c", cfg], base_env)
    assert res.rc == 65, res


@pytest.mark.parametrize("case", ["env_already_set", "nul_in_env", "file_not_on_tmpfs",
                                  "file_dir_missing_on_disk", "file_is_symlink"])
def test_dry_run_exit_code_is_the_real_runs(fake, base_env, write_config, tmp_path, secret_dir,
                                            case):
    """--dry-run fails exactly where the real run fails (same exit code, same message) and,
    unlike the real run, leaves nothing behind."""
    env = dict(base_env)
    if case == "env_already_set":
        env["PGUSER"] = "someone"
        body = f'env:\n  PGUSER: {{ from: "{RDS}", key: username }}'
        fragment = "PGUSER is already set"
    elif case == "nul_in_env":
        body = "env:\n  BLOB: bin/blob"
        fragment = "NUL"
    elif case == "file_not_on_tmpfs":
        if fs_type(str(tmp_path)) in ("tmpfs", "ramfs"):
            pytest.skip("the temp directory is on tmpfs here")
        body = f"files:\n  {tmp_path}/db.json: secretPostgresqlMasterUser"
        fragment = "not on tmpfs/ramfs"
    elif case == "file_dir_missing_on_disk":
        if fs_type(str(tmp_path)) in ("tmpfs", "ramfs"):
            pytest.skip("the temp directory is on tmpfs here")
        body = f"files:\n  {tmp_path}/new/dir/db.json: secretPostgresqlMasterUser"
        fragment = "not on tmpfs/ramfs"
    else:
        os.symlink("/dev/null", os.path.join(secret_dir, "db.json"))
        body = f"files:\n  {secret_dir}/db.json: secretPostgresqlMasterUser"
        fragment = "symbolic link"
    cfg = write_config("version: 1\n" + body + "\n")
    before = sorted(os.listdir(tmp_path)), sorted(os.listdir(secret_dir))
    dry = run(["--dry-run", "-c", cfg], env)
    assert sorted(os.listdir(tmp_path)) == before[0] and sorted(os.listdir(secret_dir)) == before[1]
    real = run(["-c", cfg, "--", "/bin/true"], env)
    assert real.rc not in (0, None), real
    assert dry.rc == real.rc, (dry, real)
    assert fragment in dry.err and fragment in real.err, (dry, real)
    assert dry.out == ""


def test_optional_missing_secret_and_key_are_skipped(fake, base_env, write_config, probe):
    cfg = write_config(f"""
        version: 1
        env:
          GONE: {{ from: does/not/exist, optional: true }}
          NOKEY: {{ from: "{RDS}", key: nope, optional: true }}
          PGUSER: {{ from: "{RDS}", key: username }}
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    assert "GONE" in res.err and "optional" in res.err
    assert "NOKEY" in res.err
    env = probe.read()["env"]
    assert "GONE" not in env and "NOKEY" not in env and env["PGUSER"] == "postgres"


def test_missing_key_names_entry_arn_and_keys(fake, base_env, write_config):
    cfg = write_config(f"""
        version: 1
        env:
          PGPASSWORD: {{ from: "{RDS}", key: passwd }}
        """)
    res = run(["-c", cfg, "--", "/bin/true"], base_env)
    assert res.rc == 65, res
    assert "PGPASSWORD" in res.err and ARN[RDS] in res.err and '"passwd"' in res.err
    assert "username, password" in res.err


def test_key_on_non_json_secret(fake, base_env, write_config):
    cfg = write_config("""
        version: 1
        env:
          X: { from: plain/text, key: k }
        """)
    res = run(["-c", cfg, "--", "/bin/true"], base_env)
    assert res.rc == 65, res
    assert "not JSON" in res.err and "X" in res.err


def test_missing_secret_is_an_error(fake, base_env, write_config):
    cfg = write_config("""
        version: 1
        env:
          X: does/not/exist
        """)
    res = run(["-c", cfg, "--", "/bin/true"], base_env)
    assert res.rc == 65, res
    assert "does/not/exist" in res.err and "not found" in res.err


def test_access_denied_names_iam_action(fake, base_env, write_config):
    cred = seed.CREDENTIALS["restricted"]
    base_env["AWS_ACCESS_KEY_ID"] = cred["access_key_id"]
    base_env["AWS_SECRET_ACCESS_KEY"] = cred["secret_access_key"]
    cfg = write_config(f"""
        version: 1
        env:
          API_TOKEN: {{ from: "{ARN['api']}", key: token }}
        """)
    res = run(["-c", cfg, "--", "/bin/true"], base_env)
    assert res.rc == 77, res
    assert "API_TOKEN" in res.err
    assert ARN["api"] + ": secretsmanager:GetSecretValue denied" in res.err
    assert "kms:Decrypt" in res.err and "task role" in res.err


def test_every_failing_entry_is_reported(fake, base_env, write_config):
    cfg = write_config(f"""
        version: 1
        env:
          ONE: {{ from: "{RDS}", key: nope1 }}
          TWO: does/not/exist
          OK: {{ from: "{RDS}", key: username }}
        """)
    res = run(["-c", cfg, "--", "/bin/true"], base_env)
    assert res.rc == 65, res
    assert "ONE" in res.err and "TWO" in res.err and "2 of 3 entries failed" in res.err


def test_session_token_credentials(fake, base_env, write_config, probe):
    cred = seed.CREDENTIALS["temporary"]
    base_env.update(AWS_ACCESS_KEY_ID=cred["access_key_id"],
                    AWS_SECRET_ACCESS_KEY=cred["secret_access_key"],
                    AWS_SESSION_TOKEN=cred["session_token"])
    cfg = write_config(f"""
        version: 1
        env:
          PGUSER: {{ from: "{RDS}", key: username }}
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res


@pytest.mark.parametrize("change,code,fragment", [
    ("wrong_secret", 77, "signature rejected"),
    ("unknown_key", 77, "not valid"),
    ("expired", 77, "expired"),
    ("missing", 77, "no AWS credentials"),
])
def test_bad_credentials(fake, base_env, write_config, change, code, fragment):
    if change == "wrong_secret":
        base_env["AWS_SECRET_ACCESS_KEY"] = "x" * 40
    elif change == "unknown_key":
        base_env["AWS_ACCESS_KEY_ID"] = "AKIAUNKNOWNUNKNOWN00"
    elif change == "expired":
        cred = seed.CREDENTIALS["expired"]
        base_env.update(AWS_ACCESS_KEY_ID=cred["access_key_id"],
                        AWS_SECRET_ACCESS_KEY=cred["secret_access_key"],
                        AWS_SESSION_TOKEN=cred["session_token"])
    else:
        del base_env["AWS_ACCESS_KEY_ID"]
        del base_env["AWS_SECRET_ACCESS_KEY"]
    cfg = write_config(f"""
        version: 1
        env:
          PGUSER: {{ from: "{RDS}", key: username }}
        """)
    res = run(["-c", cfg, "--", "/bin/true"], base_env)
    assert res.rc == code, res
    assert fragment in res.err, res


def test_clock_skew_is_named(fake, base_env, write_config):
    fake.state.clock_skew_seconds = 3600
    cfg = write_config(f"""
        version: 1
        env:
          PGUSER: {{ from: "{RDS}", key: username }}
        """)
    res = run(["-c", cfg, "--", "/bin/true"], base_env)
    assert res.rc == 77, res
    assert "clock skew" in res.err and "NTP" in res.err


def test_transient_throttle_is_retried(fake, base_env, write_config, probe):
    fake.state.add_fault("throttle", action="GetSecretValue", count=1)
    cfg = write_config(f"""
        version: 1
        env:
          PGUSER: {{ from: "{RDS}", key: username }}
        """)
    res = run(["-v", "-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    log = [(r["status"], r["error_type"], r["conn"]) for r in fake.state.requests]
    assert fake.state.stats()["requests_by_action"]["GetSecretValue"] == 2, (log, res.err)
    # One throttle retry; its attempt number is 3 when a slow first handshake (valgrind) timed
    # out and was retried first (that sends no request: GetSecretValue stays 2).
    assert len(re.findall(r"retrying \(attempt \d+, until the deadline\)", res.err)) == 1, res.err


def test_persistent_throttle_exits_75_at_the_deadline(fake, base_env, write_config):
    """A throttle is retried until the start deadline, past AWS_MAX_ATTEMPTS (issue 22): the
    last attempt starts at least 1 s before it, so a 4 s deadline allows a second one."""
    fake.state.add_fault("throttle", action="GetSecretValue")
    base_env["AWS_MAX_ATTEMPTS"] = "1"
    cfg = write_config(f"""
        version: 1
        env:
          PGUSER: {{ from: "{RDS}", key: username }}
        """)
    res = run(["--timeout", "4", "-c", cfg, "--", "/bin/true"], base_env)
    assert res.rc == 75, res
    assert "deadline passed after" in res.err and "throttled" in res.err, res.err
    assert fake.state.stats()["requests_by_action"]["GetSecretValue"] >= 2


def test_server_errors_exit_69(fake, base_env, write_config):
    fake.state.add_fault("internal", action="GetSecretValue")
    base_env["AWS_MAX_ATTEMPTS"] = "2"
    cfg = write_config(f"""
        version: 1
        env:
          PGUSER: {{ from: "{RDS}", key: username }}
        """)
    res = run(["-c", cfg, "--", "/bin/true"], base_env)
    assert res.rc == 69, res
    assert "HTTP 500" in res.err


@pytest.mark.parametrize("kind,code,fragment", [
    ("truncated", 69, "truncated"),
    ("oversize", 65, "larger than 131072 bytes"),
    ("html", 69, "HTTP 502"),
    ("garbage", 69, "not a JSON object"),
    ("invalid_utf8", 69, "UTF-8"),
    ("nul_value", 65, "NUL"),
    ("reset", 69, "rds!db"),
])
def test_bad_responses(fake, base_env, write_config, kind, code, fragment):
    # A response may exceed 64 KiB (escaping, base64); the cap on the body is 128 KiB.
    params = {"size": 128 * 1024 + 1} if kind == "oversize" else {}
    fake.state.add_fault(kind, action="GetSecretValue", **params)
    base_env["AWS_MAX_ATTEMPTS"] = "1"
    cfg = write_config(f"""
        version: 1
        env:
          PGUSER: {{ from: "{RDS}", key: username }}
        """)
    res = run(["-c", cfg, "--", "/bin/true"], base_env)
    assert res.rc == code, res
    assert fragment in res.err and "PGUSER" in res.err, res


def test_timeout_deadline(fake, base_env, write_config):
    fake.state.add_fault("slow", action="GetSecretValue", seconds=5)
    cfg = write_config(f"""
        version: 1
        env:
          PGUSER: {{ from: "{RDS}", key: username }}
        """)
    res = run(["--timeout", "1", "-c", cfg, "--", "/bin/true"], base_env)
    assert res.rc == 75, res
    assert "timed out" in res.err or "deadline" in res.err


def test_existing_variable_needs_overwrite(fake, base_env, write_config, probe):
    base_env["PGUSER"] = "someone"
    cfg = write_config(f"""
        version: 1
        env:
          PGUSER: {{ from: "{RDS}", key: username }}
        """)
    res = run(["-c", cfg, "--", "/bin/true"], base_env)
    assert res.rc == 78, res
    assert "PGUSER is already set" in res.err and "overwrite: true" in res.err
    cfg = write_config(f"""
        version: 1
        env:
          PGUSER: {{ from: "{RDS}", key: username, overwrite: true }}
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    assert probe.read()["env"]["PGUSER"] == "postgres"


def test_binary_with_nul_refused_for_env(fake, base_env, write_config):
    cfg = write_config("""
        version: 1
        env:
          BLOB: bin/blob
        """)
    res = run(["-c", cfg, "--", "/bin/true"], base_env)
    assert res.rc == 65, res
    assert "NUL" in res.err


def test_all_or_nothing_files(fake, base_env, write_config, tmp_path):
    d = tmp_path / "out"
    cfg = write_config(f"""
        version: 1
        files:
          {d}/a/one: secretPostgresqlMasterUser
          {d}/two: "{RDS}:nokey"
        """)
    res = run(["-c", cfg, "--", "/bin/true"], base_env)
    assert res.rc == 65, res
    assert not d.exists() or list(d.rglob("*")) == []


def test_exec_failure_removes_files(fake, base_env, write_config, tmp_path, secret_dir):
    d = secret_dir / "out"
    d.mkdir()
    cfg = write_config(f"""
        version: 1
        files:
          {d}/db.json: secretPostgresqlMasterUser
        """)
    res = run(["-c", cfg, "--", "no-such-command-xyz"], base_env)
    assert res.rc == 127, res
    assert "command not found: no-such-command-xyz" in res.err
    assert list(d.iterdir()) == []
    script = tmp_path / "noexec.sh"
    script.write_text("echo hi\n")
    script.chmod(0o644)
    res = run(["-c", cfg, "--", str(script)], base_env)
    assert res.rc == 126, res
    assert list(d.iterdir()) == []
    script.chmod(0o755)  # executable but no "#!": ENOEXEC, never run through a shell
    res = run(["-c", cfg, "--", str(script)], base_env)
    assert res.rc == 126, res
    assert "#!" in res.err


def test_full_arn_uses_its_own_region(fake, base_env, write_config, probe):
    fake.state.enforce_region = False  # one fake endpoint stands in for every region
    base_env["AWS_REGION"] = "us-west-2"
    cfg = write_config(f"""
        version: 1
        env:
          T: "{ARN['api']}:token"
          U: {{ from: "{RDS}", key: username }}
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    # The name is looked up in us-west-2 (the fake serves every region), the ARN in eu-central-1.
    assert res.rc == 0, res
    regions = {r["secret_ids"][0]: r["region"] for r in fake.state.requests}
    assert regions[ARN["api"]] == "eu-central-1"
    assert regions[RDS] == "us-west-2"


def test_plain_http_endpoint_refused(fake, base_env, write_config):
    base_env["AWS_ENDPOINT_URL"] = base_env["AWS_ENDPOINT_URL"].replace("https://", "http://")
    cfg = write_config(f"""
        version: 1
        env:
          U: {{ from: "{RDS}", key: username }}
        """)
    res = run(["-c", cfg, "--", "/bin/true"], base_env)
    assert res.rc == 64, res
    assert "https" in res.err


def test_untrusted_ca_is_a_tls_error(fake, base_env, write_config, tmp_path):
    other = tmp_path / "other-ca.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(tmp_path / "k.pem"),
                    "-out", str(other), "-subj", "/CN=other", "-days", "1"],
                   check=True, capture_output=True)
    base_env["AWS_CA_BUNDLE"] = str(other)
    cfg = write_config(f"""
        version: 1
        env:
          U: {{ from: "{RDS}", key: username }}
        """)
    res = run(["-c", cfg, "--", "/bin/true"], base_env)
    assert res.rc == 69, res
    assert "TLS" in res.err and str(other) in res.err


def test_check_is_offline(base_env, write_config):
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL"):
        base_env.pop(k, None)
    cfg = write_config(f"""
        version: 1
        env:
          A: {{ from: "{RDS}", key: username }}
          B: {{ from: "{RDS}", key: password }}
        """)
    res = run(["check", "-c", cfg], base_env)
    assert res.rc == 0, res
    assert "OK (2 entries, 1 secret fetch)" in res.out


def test_invalid_config_has_position(base_env, write_config):
    cfg = write_config("""
        version: 1
        env:
          PGUSER:
            from: x
            kee: username
        """)
    res = run(["check", "-c", cfg], base_env)
    assert res.rc == 78, res
    assert f"{cfg}:6:5:" in res.err and 'unknown key "kee"' in res.err


@pytest.mark.parametrize("args,code", [
    (["-c"], 64),
    (["--bogus"], 64),
    (["-c", "/nonexistent/injector.yaml", "--", "/bin/true"], 66),
    (["-c", "/etc/hostname"], 64),  # no command
])
def test_usage_and_missing_config(base_env, args, code):
    res = run(args, base_env)
    assert res.rc == code, res


def test_help_and_version(base_env):
    res = run(["--help"], base_env)
    assert res.rc == 0 and "usage: injector" in res.out
    for word in ("--dry-run", "--region", "--timeout", "AWS_CA_BUNDLE", "exit codes"):
        assert word in res.out
    res = run(["version"], base_env)
    assert res.rc == 0 and "libcurl" in res.out and "openssl" in res.out


def test_no_region_for_a_name(fake, base_env, write_config):
    base_env.pop("AWS_REGION", None)
    base_env.pop("AWS_DEFAULT_REGION", None)
    cfg = write_config(f"""
        version: 1
        env:
          U: {{ from: "{RDS}", key: username }}
        """)
    res = run(["-c", cfg, "--", "/bin/true"], base_env)
    assert res.rc == 64, res
    assert "region" in res.err


def test_secret_value_over_64k_refused(fake, base_env, write_config):
    fake.state.add_secret("big/one", string="x" * (64 * 1024 + 1))
    cfg = write_config("""
        version: 1
        env:
          BIG: big/one
        """)
    res = run(["-c", cfg, "--", "/bin/true"], base_env)
    assert res.rc == 65, res
    assert "larger than 65536 bytes" in res.err and "BIG" in res.err


def test_region_mismatch_with_endpoint_is_named(fake, base_env, write_config):
    base_env["AWS_REGION"] = "us-west-2"
    cfg = write_config(f"""
        version: 1
        env:
          U: {{ from: "{RDS}", key: username }}
        """)
    res = run(["-c", cfg, "--", "/bin/true"], base_env)
    assert res.rc == 77, res
    assert "signed for region us-west-2" in res.err


@pytest.mark.parametrize("mode", [[], ["--supervise"], ["--supervise", "--refresh", "1h"]])
def test_app_inherits_no_sockets(fake, base_env, write_config, probe, mode):
    """No connection of injector's (kept alive for reuse) leaks into the app: not in plain
    exec mode, and not in supervise mode, where injector stays alive as the parent (with
    --refresh it keeps its HTTPS client, libcurl's wakeup socketpair included)."""
    cfg = write_config(f"""
        version: 1
        env:
          U: {{ from: "{RDS}", key: username }}
          P: {{ from: "{RDS}", key: password }}
          T: "{ARN['api']}:token"
        """)
    res = run(mode + ["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    fds = probe.read()["fds"]
    assert not [t for t in fds.values() if t.startswith("socket:")], fds


@pytest.mark.parametrize("fetch", ["single", "batch"])
def test_deadline_during_backoff_gives_up_without_spinning(fake, base_env, write_config, fetch):
    """Backoffs longer than what is left of --timeout end the run at the deadline; the wait
    is a sleep, not a loop (checked with the CPU time the run used, not its wall time)."""
    import resource
    from conftest import SLOW
    fake.state.add_fault("internal")
    base_env["AWS_MAX_ATTEMPTS"] = "20"
    cfg = write_config(f"""
        version: 1
        env:
          A: {{ from: "{RDS}", key: username }}
          B: {{ from: "{ARN['api']}", key: token }}
        """)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    res = run(["--fetch", fetch, "--timeout", "1", "-c", cfg, "--", "/bin/true"], base_env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert res.rc == 75, res
    if not SLOW:
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        assert cpu < 0.5, f"{cpu:.2f} s of CPU while waiting out backoffs"
