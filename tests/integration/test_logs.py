"""INJECTOR_LOG_FORMAT=json (and the config's log_format): every stderr line injector writes is
one JSON object with time, level, msg, and where known code/exit_code, entry, secret, action.
Each test drives a message path the other tests reach in text form (bad config, usage, denied,
not found, throttled, credentials, credential_process stderr, optional skips, grouped causes,
supervise, refresh, the child's exit) with -vv, json.loads every line, and greps all output for
the canaries (conftest.run)."""
import json
import os
import re
import subprocess
import time

import seed
from conftest import INJECTOR, SLOW, WRAPPER, assert_no_leak, run

RDS = seed.RDS_NAME
ARN = seed.SECRET_ARNS
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
LEVELS = {"error", "warn", "info", "debug"}
KEYS = {"time", "level", "msg", "code", "exit_code", "entry", "secret", "action"}


def json_lines(err):
    """Every line of err parsed; each must be a JSON object with the fixed fields. Valgrind's
    own lines (==pid==) are not injector's."""
    out = []
    for line in err.splitlines():
        if WRAPPER and re.match(r"^==\d+==", line):
            continue
        obj = json.loads(line)
        assert isinstance(obj, dict), line
        assert TIME.match(obj["time"]), line
        assert obj["level"] in LEVELS, line
        assert isinstance(obj["msg"], str) and obj["msg"], line
        assert set(obj) <= KEYS, line
        if "code" in obj:
            assert isinstance(obj["exit_code"], int), line
        out.append(obj)
    assert out, "no log line at all"
    return out


def jenv(base_env, **extra):
    env = dict(base_env, INJECTOR_LOG_FORMAT="json")
    env.update(extra)
    return env


def errors(lines):
    return [ln for ln in lines if ln["level"] == "error"]


def test_success_at_debug_is_all_json(fake, base_env, write_config):
    cfg = write_config(f"""
        version: 1
        env:
          PGUSER: {{ from: "{RDS}", key: username }}
          PGPASSWORD: {{ from: "{RDS}", key: password }}
          API: {{ from: "{ARN['api']}", key: token }}
        """)
    res = run(["-vv", "-c", cfg, "--", "/bin/true"], jenv(base_env))
    assert res.rc == 0, res
    lines = json_lines(res.err)
    assert {ln["level"] for ln in lines} >= {"info", "debug"}
    assert any("variable(s) and 0 file(s) in place" in ln["msg"] for ln in lines)


def test_default_stays_text(fake, base_env, write_config):
    cfg = write_config("""
        version: 1
        env:
          X: does/not/exist
        """)
    res = run(["-c", cfg, "--", "/bin/true"], base_env)
    assert res.rc == 65, res
    assert all(ln.startswith("injector: ") for ln in res.err.splitlines()), res.err


def test_usage_error(base_env):
    res = run(["--no-such-option"], jenv(base_env))
    assert res.rc == 64, res
    (line,) = json_lines(res.err)
    assert line["level"] == "error" and line["code"] == "usage" and line["exit_code"] == 64


def test_bad_config_and_bad_variable(base_env, write_config):
    cfg = write_config("version: 1\nenv: [oops\n")
    res = run(["-c", cfg, "--", "/bin/true"], jenv(base_env, INJECTOR_LOG_LEVEL="loud"))
    assert res.rc == 78, res
    lines = json_lines(res.err)
    assert lines[0]["level"] == "warn" and "INJECTOR_LOG_LEVEL=loud" in lines[0]["msg"]
    (err,) = errors(lines)
    assert err["code"] == "config" and err["exit_code"] == 78 and cfg in err["msg"]


def test_control_characters_and_non_utf8_are_escaped(base_env, tmp_path):
    """A path (from the command line, like server text: bytes, not text) with a newline, an
    escape sequence, a quote and bytes that are no UTF-8 stays on its one JSON line."""
    bad = os.fsencode(str(tmp_path)) + b'/a\nb\x1b[31m"q\\\xff\xfe.yaml'
    env = jenv(base_env)
    p = subprocess.run(WRAPPER + [INJECTOR, b"-c", bad, "--", "/bin/true"], env=env,
                       capture_output=True, timeout=240 if SLOW else 60)
    assert p.returncode == 66, p
    raw = p.stderr
    if not WRAPPER:
        assert raw.count(b"\n") == 1, raw
    text = raw.decode("utf-8")  # strict: valid UTF-8
    (line,) = errors(json_lines(text))
    assert 'a\nb\x1b[31m"q\\\ufffd\ufffd.yaml' in line["msg"]
    assert line["code"] == "no-input"


def test_denied_names_entry_secret_and_action(fake, base_env, write_config):
    cred = seed.CREDENTIALS["restricted"]
    env = jenv(base_env, AWS_ACCESS_KEY_ID=cred["access_key_id"],
               AWS_SECRET_ACCESS_KEY=cred["secret_access_key"])
    cfg = write_config(f"""
        version: 1
        env:
          API_TOKEN: {{ from: "{ARN['api']}", key: token }}
        """)
    res = run(["-vv", "-c", cfg, "--", "/bin/true"], env)
    assert res.rc == 77, res
    lines = json_lines(res.err)
    entry = [ln for ln in errors(lines) if ln.get("entry") == "API_TOKEN"]
    assert len(entry) == 1, lines
    assert entry[0]["secret"] == ARN["api"]
    assert entry[0]["action"] == "secretsmanager:GetSecretValue"
    assert entry[0]["code"] == "access-denied" and entry[0]["exit_code"] == 77
    # The summary line: the run's code, no entry.
    last = errors(lines)[-1]
    assert "1 of 1 entry failed" in last["msg"] and last["code"] == "access-denied"


def test_grouped_cause_lists_the_entries(fake, base_env, write_config):
    """Several entries denied for one cause: one line naming them, with the lists. AWS's
    message holds a quote, a newline, a control character and non-ASCII text."""
    fake.state.add_fault("error", status=400, code="AccessDeniedException",
                         message='User: "app" is not authorized\n\x07 to perform: \u00e9 '
                                 'secretsmanager:GetSecretValue')
    cfg = write_config(f"""
        version: 1
        env:
          API_TOKEN: {{ from: "{ARN['api']}", key: token }}
          PGUSER: {{ from: "{ARN[RDS]}", key: username }}
          THIRD: {{ from: plain/text }}
        """)
    res = run(["-vv", "-c", cfg, "--", "/bin/true"], jenv(base_env))
    assert res.rc == 77, res
    lines = json_lines(res.err)
    grouped = [ln for ln in errors(lines) if isinstance(ln.get("entry"), list)]
    assert len(grouped) == 1, lines
    g = grouped[0]
    assert "3 entries failed" in g["msg"]
    assert sorted(g["entry"]) == ["API_TOKEN", "PGUSER", "THIRD"]
    assert sorted(g["secret"]) == sorted([ARN["api"], ARN[RDS], "plain/text"])
    assert g["action"] == "secretsmanager:GetSecretValue" and g["code"] == "access-denied"
    # Each entry's own line (debug) carries its own fields.
    own = {ln["entry"]: ln for ln in lines
           if ln["level"] == "debug" and isinstance(ln.get("entry"), str)}
    assert own["THIRD"]["secret"] == "plain/text" and "AWS: " in own["THIRD"]["msg"]


def test_not_found_and_optional_skip(fake, base_env, write_config):
    cfg = write_config(f"""
        version: 1
        env:
          GONE: {{ from: does/not/exist, optional: true }}
          NOKEY: {{ from: "{RDS}", key: nope }}
          MISSING: also/not/there
        """)
    res = run(["-vv", "-c", cfg, "--", "/bin/true"], jenv(base_env))
    assert res.rc == 65, res
    lines = json_lines(res.err)
    skip = [ln for ln in lines if ln.get("entry") == "GONE"]
    assert skip and skip[0]["level"] == "warn" and skip[0]["secret"] == "does/not/exist"
    assert skip[0]["code"] == "missing"
    by_entry = {ln["entry"]: ln for ln in errors(lines) if isinstance(ln.get("entry"), str)}
    assert by_entry["NOKEY"]["secret"] == ARN[RDS] and by_entry["NOKEY"]["code"] == "missing"
    assert by_entry["MISSING"]["secret"] == "also/not/there"
    assert "action" not in by_entry["MISSING"]


def test_throttled_retries_and_error(fake, base_env, write_config):
    fake.state.add_fault("throttle", action="GetSecretValue")
    cfg = write_config(f"""
        version: 1
        env:
          PGUSER: {{ from: "{RDS}", key: username }}
        """)
    # A throttle is retried until the start deadline (issue 22): a short one.
    res = run(["-vv", "-c", cfg, "--timeout", "3", "--", "/bin/true"],
              jenv(base_env, AWS_MAX_ATTEMPTS="2"))
    assert res.rc == 75, res
    lines = json_lines(res.err)
    assert any("retrying (attempt 2, until the deadline)" in ln["msg"] for ln in lines)
    err = [ln for ln in errors(lines) if ln.get("entry") == "PGUSER"]
    assert err and err[0]["code"] == "temporary" and err[0]["exit_code"] == 75
    assert err[0]["secret"] == RDS


def test_credential_failures(fake, base_env, write_config, tmp_path):
    cfg = write_config(f"""
        version: 1
        env:
          PGUSER: {{ from: "{RDS}", key: username }}
        """)
    # No credentials at all.
    env = jenv(base_env)
    del env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
    res = run(["-vv", "-c", cfg, "--", "/bin/true"], env)
    assert res.rc == 77, res
    (err,) = errors(json_lines(res.err))
    assert "no AWS credentials" in err["msg"] and err["code"] == "access-denied"
    # A wrong secret key.
    res = run(["-vv", "-c", cfg, "--", "/bin/true"],
              jenv(base_env, AWS_SECRET_ACCESS_KEY="x" * 40))
    assert res.rc == 77, res
    assert any("signature rejected" in ln["msg"] for ln in errors(json_lines(res.err)))
    # credential_process: its stderr lines become log lines too.
    helper = tmp_path / "helper"
    helper.write_text("#!/bin/sh\necho 'cannot reach the \"vault\"\t\x01' >&2\nexit 3\n")
    helper.chmod(0o755)
    aws = tmp_path / "aws-config"
    aws.write_text(f"[default]\ncredential_process = {helper}\n")
    env = jenv(base_env, AWS_CONFIG_FILE=str(aws))
    del env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
    res = run(["-vv", "-c", cfg, "--", "/bin/true"], env)
    assert res.rc == 77, res
    lines = json_lines(res.err)
    relayed = [ln for ln in lines if ln["msg"].startswith("credential_process: ")]
    assert relayed and 'cannot reach the "vault"' in relayed[0]["msg"], lines
    assert any("exited with status 3" in ln["msg"] for ln in errors(lines))


def test_config_key_and_precedence(fake, base_env, write_config):
    text = """
        version: 1
        log_format: json
        env:
          X: does/not/exist
        """
    cfg = write_config(text)
    res = run(["-c", cfg, "--", "/bin/true"], base_env)
    assert res.rc == 65, res
    assert errors(json_lines(res.err))
    # The variable wins over the config.
    res = run(["-c", cfg, "--", "/bin/true"], dict(base_env, INJECTOR_LOG_FORMAT="text"))
    assert res.rc == 65, res
    assert all(ln.startswith("injector: ") for ln in res.err.splitlines()), res.err
    # INJECTOR_CONFIG_YAML carries it too.
    yaml = text.replace("\n    ", "\n")
    res = run(["--", "/bin/true"], dict(base_env, INJECTOR_CONFIG_YAML=yaml))
    assert res.rc == 65, res
    assert errors(json_lines(res.err))
    # A variable that is no format: a text warning (the config is not read yet), then the
    # config decides.
    res = run(["-c", cfg, "--", "/bin/true"], dict(base_env, INJECTOR_LOG_FORMAT="xml"))
    assert res.rc == 65, res
    first, *rest = res.err.splitlines()
    assert first.startswith("injector: warning: INJECTOR_LOG_FORMAT=xml is not text|json"), first
    assert errors(json_lines("\n".join(rest)))
    bad = write_config("version: 1\nlog_format: xml\n")
    res = run(["-c", bad, "--", "/bin/true"], base_env)
    assert res.rc == 78 and 'log_format must be text or json, not "xml"' in res.err, res


def test_supervise_refresh_and_child_exit(fake, base_env, write_config, tmp_path):
    """--supervise with a refresh that fails, recovers and finds a new version, then the
    child's exit: every line JSON, never a value."""
    old, new = f"one-{seed.canary('logs-old')}", f"two-{seed.canary('logs-new')}"
    fake.state.add_secret("logs/rot", string=json.dumps({"k": old}))
    stop = tmp_path / "stop"
    cfg = write_config(f"""
        version: 1
        supervise:
          refresh: 50ms
          on_change: signal
          on_change_signal: SIGUSR1
        env:
          ROT: {{ from: logs/rot, key: k }}
        """)
    script = f"trap '' USR1; while [ ! -e {stop} ]; do sleep 0.05; done; exit 3"
    errf = open(tmp_path / "err", "wb")
    # Default retries: a loaded machine (valgrind) must not fail the first fetch.
    env = jenv(base_env)
    fault = fake.state.add_fault("internal", action="DescribeSecret")
    p = subprocess.Popen(WRAPPER + [INJECTOR, "-vv", "-c", cfg, "--supervise", "--", "/bin/sh",
                                    "-c", script], env=env, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=errf)
    bound = time.monotonic() + (240 if SLOW else 60)

    def err_text():
        return (tmp_path / "err").read_bytes().decode("utf-8", "replace")

    def wait(what):
        while what not in err_text():
            assert p.poll() is None and time.monotonic() < bound, err_text()
            time.sleep(0.05)
    try:
        wait("refresh failed")
        fake.state.remove_fault(fault)
        wait("refresh works again")
        fake.state.put_secret_value("logs/rot", json.dumps({"k": new}))
        wait("sending signal")
        stop.write_text("")
        p.wait(timeout=240 if SLOW else 60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        errf.close()
    assert p.returncode == 3
    text = err_text()
    assert_no_leak(text, extra=(old, new))
    lines = json_lines(text)
    msgs = [ln["msg"] for ln in lines]
    assert any(m.startswith("supervising /bin/sh") for m in msgs), msgs
    assert any("exited with 3" in m for m in msgs), msgs
    failed = [ln for ln in lines if ln["msg"].startswith("refresh: ")]
    assert failed and failed[0]["level"] == "warn" and failed[0]["code"] == "unavailable"
