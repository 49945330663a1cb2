"""Refresh now (supervise.refresh_signal) and sidecar mode (--sidecar, check --ready), end to
end against the local endpoint. Waiting is by condition with generous bounds; nothing asserts
how long anything took. Every output is grepped for the secret values (canaries)."""
import json
import os
import shutil
import signal
import subprocess

import pytest

from conftest import INJECTOR, run
from test_supervise import Injector, _children, calls, describe_calls, sv, value, wait_for  # noqa: F401

READY = ".injector-ready"


# ---------------------------------------------------------------------------------------
# refresh now: supervise.refresh_signal
# ---------------------------------------------------------------------------------------

def test_refresh_signal_picks_up_a_rotation_at_once(fake, write_config, sv, secret_dir):
    v1, v2 = value("now-1"), value("now-2")
    fake.state.add_secret("now/app", string=json.dumps({"token": v1}))
    f = secret_dir / "token"
    cfg = write_config(f"""
        version: 1
        supervise:
          refresh: 1h
          refresh_signal: SIGUSR1
        files:
          {f}: {{ from: now/app, key: token }}
        """)
    inj, log = sv(["-c", cfg, "-v"], {"APP_FILE": str(f)})
    assert wait_for("start", lambda: log.events("start"), inj)[0]["file"] == v1
    fake.state.put_secret_value("now/app", json.dumps({"token": v2}))
    assert describe_calls(fake) == 0          # the timer is an hour away
    inj.kill(signal.SIGUSR1)
    # The same path as the timer's refresh: file rewritten, then on_change (SIGHUP).
    ev = wait_for("SIGHUP with the new value", lambda: log.events("signal"), inj)[0]
    assert ev["sig"] == "SIGHUP" and ev["file"] == v2
    assert f.read_text() == v2
    assert describe_calls(fake) == 1
    inj.kill(signal.SIGTERM)
    assert inj.finish(leak_extra=(v1, v2)) == 0
    # Kept by injector, not forwarded.
    assert log.signals() == ["SIGHUP", "SIGTERM"]
    assert "checking the secrets now" in inj.err


def test_without_refresh_signal_the_signal_is_forwarded(fake, write_config, sv, secret_dir):
    """Default (no refresh_signal): SIGUSR1 goes to the app as before, and nothing is checked.
    With refresh_signal: SIGUSR1, another signal (SIGUSR2) is still forwarded."""
    cfg = write_config("""
        version: 1
        supervise:
          refresh: 1h
        env:
          API_TOKEN: { from: api, key: token }
        """)
    inj, log = sv(["-c", cfg], {})
    wait_for("start", lambda: log.events("start"), inj)
    inj.kill(signal.SIGUSR1)
    wait_for("SIGUSR1 forwarded", lambda: log.signals() == ["SIGUSR1"], inj)
    assert describe_calls(fake) == 0
    inj.kill(signal.SIGTERM)
    assert inj.finish() == 0

    cfg = write_config("""
        version: 1
        supervise:
          refresh_signal: USR1
        env:
          API_TOKEN: { from: api, key: token }
        """)
    inj, log = sv(["-c", cfg], {})
    wait_for("start", lambda: log.events("start"), inj)
    inj.kill(signal.SIGUSR2)
    wait_for("SIGUSR2 forwarded", lambda: log.signals() == ["SIGUSR2"], inj)
    inj.kill(signal.SIGTERM)
    assert inj.finish() == 0
    assert log.signals() == ["SIGUSR2", "SIGTERM"]


def test_a_burst_of_refresh_signals_makes_at_most_two_checks(fake, write_config, sv):
    """Each check's DescribeSecret answers slowly, so the burst lands while the first check
    runs: the signals coalesce into one more check. SIGUSR2 (forwarded) follows the burst;
    pending signals are taken lowest number first, so once the app has it every SIGUSR1 of
    the burst has been taken and answered."""
    fake.state.add_secret("burst/app", string=value("burst"))
    fake.state.add_fault("slow", action="DescribeSecret", seconds=1)
    cfg = write_config("""
        version: 1
        supervise:
          refresh_signal: SIGUSR1
        env:
          V: { from: burst/app }
        """)
    inj, log = sv(["-c", cfg], {})
    wait_for("start", lambda: log.events("start"), inj)
    for _ in range(25):
        inj.kill(signal.SIGUSR1)
    inj.kill(signal.SIGUSR2)
    wait_for("SIGUSR2 after the burst", lambda: log.signals() == ["SIGUSR2"], inj)
    assert 1 <= describe_calls(fake) <= 2, describe_calls(fake)
    inj.kill(signal.SIGTERM)
    assert inj.finish() == 0
    assert "SIGUSR1" not in log.signals()


def test_refresh_signal_leaves_the_timer_running(fake, write_config, sv, secret_dir):
    v1, v2 = value("timer-1"), value("timer-2")
    fake.state.add_secret("timer/app", string=v1)
    f = secret_dir / "tok"
    cfg = write_config(f"""
        version: 1
        supervise:
          refresh: 100ms
          refresh_signal: SIGHUP
          on_change: none
        files:
          {f}: {{ from: timer/app }}
        """)
    inj, log = sv(["-c", cfg], {"APP_FILE": str(f)})
    wait_for("start", lambda: log.events("start"), inj)
    wait_for("timer checks", lambda: describe_calls(fake) >= 2, inj)
    for _ in range(3):
        inj.kill(signal.SIGHUP)
    n = describe_calls(fake)
    wait_for("timer checks after the signals", lambda: describe_calls(fake) >= n + 5, inj)
    fake.state.put_secret_value("timer/app", v2)
    wait_for("the timer picks up a rotation", lambda: f.read_text() == v2, inj)
    inj.kill(signal.SIGTERM)
    assert inj.finish(leak_extra=(v1, v2)) == 0
    assert log.signals() == ["SIGTERM"]       # SIGHUP kept, on_change none


# ---------------------------------------------------------------------------------------
# sidecar mode
# ---------------------------------------------------------------------------------------

@pytest.fixture
def sidecar(tmp_path, base_env):
    started = []

    def _start(args, env=None, prefix=()):
        inj = Injector(["--sidecar"] + list(args), dict(env or base_env), str(tmp_path), prefix)
        started.append(inj)
        return inj
    yield _start
    for inj in started:
        inj.cleanup()


def probe_ready(cfg, env):
    return run(["check", "--ready", "-c", cfg], env)


def test_sidecar_writes_refreshes_signals_ready_and_exits_0_on_sigterm(
        fake, write_config, sidecar, secret_dir, base_env, tmp_path):
    v1, v2 = value("side-1"), value("side-2")
    fake.state.add_secret("side/app", string=json.dumps({"token": v1}))
    d = secret_dir / "shared"
    marker = tmp_path / "hook-ran"
    cfg = write_config(f"""
        version: 1
        supervise:
          refresh: 50ms
          on_change_exec: [/bin/sh, -c, 'cat {d}/token > {marker}.tmp && mv {marker}.tmp {marker}']
        files:
          {d}/token: {{ from: side/app, key: token, mode: "0440" }}
          {d}/db.json: secretPostgresqlMasterUser
        """)
    res = probe_ready(cfg, base_env)           # nothing there yet
    assert res.rc == 69 and "not ready" in res.err, res
    inj = sidecar(["-c", cfg, "-v"])
    wait_for("ready file", lambda: (d / READY).exists(), inj)
    # The ready file comes after every file.
    assert (d / "token").read_text() == v1
    assert oct((d / "token").stat().st_mode & 0o7777) == oct(0o440)
    assert (d / "db.json").exists()
    res = probe_ready(cfg, base_env)
    assert res.rc == 0 and "ready (2 files)" in res.out, res
    # Fresh on the refresh schedule, with the hook.
    fake.state.put_secret_value("side/app", json.dumps({"token": v2}))
    wait_for("rewritten", lambda: (d / "token").read_text() == v2, inj)
    wait_for("hook", lambda: marker.exists() and marker.read_text() == v2, inj)
    assert probe_ready(cfg, base_env).rc == 0
    assert sorted(os.listdir(d)) == [READY, "db.json", "token"]   # no temp file left behind
    inj.kill(signal.SIGTERM)
    assert inj.finish(leak_extra=(v1, v2)) == 0
    assert not (d / READY).exists()           # removed on exit
    res = probe_ready(cfg, base_env)
    assert res.rc == 69 and READY in res.err, res
    assert "sidecar mode" in inj.err


def test_sidecar_refresh_signal_without_interval(fake, write_config, sidecar, secret_dir):
    v1, v2 = value("sig-1"), value("sig-2")
    fake.state.add_secret("sig/app", string=v1)
    ready = secret_dir / "state" / "ready"
    (secret_dir / "state").mkdir()
    cfg = write_config(f"""
        version: 1
        supervise:
          refresh_signal: SIGUSR1
        sidecar:
          ready_file: {ready}
        files:
          {secret_dir}/tok: {{ from: sig/app }}
        """)
    inj = sidecar(["-c", cfg])
    wait_for("ready file", lambda: ready.exists(), inj)
    fake.state.put_secret_value("sig/app", v2)
    inj.kill(signal.SIGUSR1)
    wait_for("rewritten on the signal", lambda: (secret_dir / "tok").read_text() == v2, inj)
    assert describe_calls(fake) == 1          # no timer
    inj.kill(signal.SIGINT)
    assert inj.finish(leak_extra=(v1, v2)) == 0
    assert not ready.exists()


def test_sidecar_failed_refresh_keeps_files_and_ready(fake, write_config, sidecar, secret_dir,
                                                      base_env):
    v1, v2 = value("sfail-1"), value("sfail-2")
    fake.state.add_secret("sfail/app", string=v1)
    f = secret_dir / "tok"
    cfg = write_config(f"""
        version: 1
        supervise:
          refresh: 50ms
        files:
          {f}: {{ from: sfail/app }}
        """)
    inj = sidecar(["-c", cfg])
    wait_for("ready", lambda: (secret_dir / READY).exists(), inj)
    fid = fake.state.add_fault("unavailable", action="DescribeSecret")
    fake.state.put_secret_value("sfail/app", v2)
    wait_for("failed refreshes",
             lambda: fake.state.stats()["faults_fired"].get("unavailable", 0) >= 3, inj)
    assert inj.poll() is None
    assert f.read_text() == v1
    assert probe_ready(cfg, base_env).rc == 0
    assert "refresh failed" in inj.stderr_text()
    fake.state.remove_fault(fid)
    wait_for("recovery", lambda: f.read_text() == v2, inj)
    inj.kill(signal.SIGTERM)
    assert inj.finish(leak_extra=(v1, v2)) == 0


def test_sidecar_failed_first_fetch_exits_nonzero(fake, write_config, secret_dir, base_env):
    # A ready file left by an earlier run is removed before anything is fetched.
    (secret_dir / READY).write_text("ready\n")
    cfg = write_config(f"""
        version: 1
        files:
          {secret_dir}/tok: {{ from: does/not/exist }}
        """)
    res = run(["--sidecar", "-c", cfg], base_env)
    assert res.rc == 65, res
    assert "does/not/exist" in res.err
    assert os.listdir(secret_dir) == []


def test_sidecar_refuses_env_entries(fake, write_config, base_env, secret_dir):
    cfg = write_config(f"""
        version: 1
        env:
          API_TOKEN: {{ from: api, key: token }}
        files:
          {secret_dir}/tok: {{ from: api, key: token }}
        """)
    res = run(["--sidecar", "-c", cfg], base_env)
    assert res.rc == 78, res
    assert "env API_TOKEN: sidecar mode runs no command" in res.err
    assert fake.state.stats()["requests_by_action"] == {}   # refused before any call
    res = probe_ready(cfg, base_env)
    assert res.rc == 78 and "env API_TOKEN" in res.err, res


def test_sidecar_probe_names_a_missing_file_and_a_wrong_mode(fake, write_config, sidecar,
                                                            secret_dir, base_env):
    cfg = write_config(f"""
        version: 1
        files:
          {secret_dir}/a: {{ from: api, key: token }}
          {secret_dir}/b: {{ from: api, key: token, mode: "0440" }}
          {secret_dir}/c: {{ from: api, key: nope, optional: true }}
        """)
    inj = sidecar(["-c", cfg])
    wait_for("ready", lambda: (secret_dir / READY).exists(), inj)
    res = probe_ready(cfg, base_env)
    assert res.rc == 0 and "ready (2 files)" in res.out, res   # c is optional and skipped
    os.chmod(secret_dir / "b", 0o400)
    res = probe_ready(cfg, base_env)
    assert res.rc == 69 and f"{secret_dir}/b has mode 0400, the config says 0440" in res.err
    os.chmod(secret_dir / "b", 0o440)
    os.unlink(secret_dir / "a")
    res = probe_ready(cfg, base_env)
    assert res.rc == 69 and f"file {secret_dir}/a: No such file" in res.err, res
    inj.kill(signal.SIGTERM)
    assert inj.finish() == 0


def test_sidecar_as_pid1_reaps_hook_orphans_and_stops_on_sigterm(fake, write_config, sidecar,
                                                                  secret_dir, tmp_path):
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("needs root and unshare")
    v1, v2 = value("pid1-1"), value("pid1-2")
    fake.state.add_secret("pid1/app", string=v1)
    pids = tmp_path / "orphans"
    # The hook leaves an orphan (in its own session, so not killed with the hook's group; the
    # hook waits until it is there) that exits on its own: as PID 1, injector must reap it.
    cfg = write_config(f"""
        version: 1
        supervise:
          refresh: 50ms
          on_change_exec: [/bin/sh, -c, 'setsid sh -c "touch {pids}.up; sleep 0.2; echo done > {pids}" &
                           while [ ! -e {pids}.up ]; do sleep 0.01; done']
        files:
          {secret_dir}/tok: {{ from: pid1/app }}
        """)
    inj = sidecar(["-c", cfg], prefix=["unshare", "--pid", "--fork", "--mount-proc"])
    wait_for("ready", lambda: (secret_dir / READY).exists(), inj)
    kids = wait_for("injector in the namespace", lambda: _children(inj.pid), inj)
    fake.state.put_secret_value("pid1/app", v2)
    wait_for("orphan done", lambda: pids.exists() and pids.read_text().strip(), inj)
    # The hook and its orphan exited and were reaped: no child of injector is left, not even
    # a zombie.
    wait_for("no zombie", lambda: not _zombie_children(kids[0]) and not _children(kids[0]),
             inj)
    os.kill(kids[0], signal.SIGTERM)
    assert inj.finish(leak_extra=(v1, v2)) == 0
    assert not (secret_dir / READY).exists()


def _zombie_children(pid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        if int(fields[1]) == pid and fields[0] == "Z":
            out.append(int(d))
    return out


def test_sidecar_usage_errors(base_env, write_config, secret_dir):
    cfg = write_config(f"version: 1\nfiles:\n  {secret_dir}/t: api\n")
    for args, msg in [
            (["--sidecar", "-c", cfg, "--", "/bin/true"], "--sidecar runs no command"),
            (["--sidecar", "--pgroup", "-c", cfg], "--sidecar writes files only"),
            (["--ready", "-c", cfg, "--", "/bin/true"], "--ready is an option of injector check"),
            (["check", "--sidecar", "-c", cfg], "--sidecar is a way to run")]:
        res = run(args, base_env)
        assert res.rc == 64 and msg in res.err, (args, res)
    r = subprocess.run([INJECTOR, "--help"], capture_output=True, text=True)
    assert "--sidecar" in r.stdout and "--ready" in r.stdout
