"""Issue 21: nothing injector starts outlives it, nothing blocks past --timeout, resource
exhaustion is named. Here: credential_process and its descendants (plain mode, where the
helper is the only process injector starts), and a low descriptor limit. The supervisor's
groups are in test_supervise.py, the FIFOs in the bad-input matrix. A hang is caught by the
subprocess timeout of conftest.run, never by timing a run."""
import fcntl
import os
import pty
import secrets
import select
import shutil
import subprocess
import termios
import time

import pytest

from conftest import INJECTOR, SLOW, WRAPPER, group_members, run
from creds_fakes import (CONFIG, cenv, container, dry_run, fails_with, mint,  # noqa: F401
                         register, secret_parts, sts, write_aws)

# seconds: the helper's leftover sleeps 1000 s, the default helper timeout is 60 s; a sanitized
# or valgrind run of several helper calls takes longer than 40 s on a loaded machine.
HANG = 120 if SLOW else 40
# INJECTOR_CREDENTIAL_PROCESS_TIMEOUT where a test needs the timeout to fire: long enough for a
# loaded machine to run a small shell helper to its end first.
CP_TIMEOUT = 15 if SLOW else 5


def _cleanup(pidfile):
    """Ends the leftover sleep (its whole group when that is not ours: an old injector ran
    the helper in its own group, which is pytest's)."""
    if not pidfile.exists():
        return
    pid, pgid = _sleep_and_group(pidfile)
    try:
        if pgid != os.getpgrp():
            os.killpg(pgid, 9)
        else:
            os.kill(pid, 9)
    except OSError:
        pass


def assert_gone(pidfile, err):
    """The leftover sleep is dead, and so is everything in the helper's process group, which
    is not the test's own."""
    pid, pgid = _sleep_and_group(pidfile)
    assert pgid != os.getpgrp(), "the helper ran in injector's process group"
    # SIGKILL is delivered asynchronously: on a loaded machine a killed process can still be
    # runnable for a moment after killpg() returned. Dying is what counts, not when.
    deadline = time.monotonic() + 10
    while group_members(pgid, zombies=False) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert group_members(pgid, zombies=False) == [], err


def helper_leaving_a_sleep(tmp_path, answer):
    """A credential_process that prints `answer`, starts `sleep 1000` in the background (it
    keeps the helper's stdout, not stderr), records the sleep's pid and process group, and
    exits 0."""
    pidfile = tmp_path / "sleep.pid"
    helper = tmp_path / "helper"
    helper.write_text("#!/bin/sh\n"
                      f"cat <<'EOF'\n{answer}\nEOF\n"
                      "sleep 1000 2>/dev/null &\n"
                      f"echo \"$! $(ps -o pgid= -p $!)\" > {pidfile}\n"
                      "exit 0\n")
    helper.chmod(0o755)
    return helper, pidfile


def _sleep_and_group(pidfile):
    pid, pgid = pidfile.read_text().split()
    return int(pid), int(pgid)


def test_credential_process_done_when_it_exits_with_an_answer(fake, cenv, write_config,
                                                              tmp_path):
    """The helper prints valid credentials and exits 0, but a process it left holds its
    stdout: injector goes on with the credentials at once (it used to wait for the whole
    timeout and fail with "no answer"), says why, and kills the helper's process group."""
    c = mint("leftover")
    register(fake, "leftover", c)
    answer = ('{"Version": 1, "AccessKeyId": "%s", "SecretAccessKey": "%s", '
              '"SessionToken": "%s", "Expiration": "%s"}'
              % (c["access_key_id"], c["secret_access_key"], c["session_token"],
                 c["expiration"]))
    helper, pidfile = helper_leaving_a_sleep(tmp_path, answer)
    write_aws(cenv, "config", f"[default]\ncredential_process = {helper}\n")
    try:
        res = dry_run(cenv, write_config, [c], timeout=HANG)
        assert res.rc == 0, res
        assert "still held its stdout open" in res.err, res.err
        assert "AWS credentials from profile default (credential_process)" in res.err
        assert_gone(pidfile, res.err)
    finally:
        _cleanup(pidfile)


def test_credential_process_incomplete_answer_and_a_leftover(cenv, write_config, tmp_path):
    """Exited 0, but what it wrote is not a complete answer and a leftover holds stdout: the
    message says so (not "no answer within N s"), and the leftover is killed."""
    helper, pidfile = helper_leaving_a_sleep(tmp_path, '{"Version": 1, "AccessKeyId": ')
    write_aws(cenv, "config", f"[default]\ncredential_process = {helper}\n")
    env = dict(cenv, INJECTOR_CREDENTIAL_PROCESS_TIMEOUT=str(CP_TIMEOUT))
    try:
        res = dry_run(env, write_config, timeout=HANG)
        fails_with(res, f"credential_process {helper}: exited, but a process it started still "
                        "holds its stdout open")
        assert "no answer within" not in res.err
        assert_gone(pidfile, res.err)
    finally:
        _cleanup(pidfile)


def test_credential_process_timeout_kills_its_group(cenv, write_config, tmp_path):
    """A helper that never answers is killed at the timeout with everything it started (only
    the helper itself was killed before)."""
    pidfile = tmp_path / "sleep.pid"
    helper = tmp_path / "helper"
    helper.write_text("#!/bin/sh\n"
                      "sleep 1000 </dev/null >/dev/null 2>&1 &\n"
                      f"echo \"$! $(ps -o pgid= -p $!)\" > {pidfile}\n"
                      "exec sleep 1000\n")
    helper.chmod(0o755)
    write_aws(cenv, "config", f"[default]\ncredential_process = {helper}\n")
    env = dict(cenv, INJECTOR_CREDENTIAL_PROCESS_TIMEOUT=str(CP_TIMEOUT))
    try:
        res = dry_run(env, write_config, timeout=HANG)
        fails_with(res, f"credential_process {helper}: no answer within {CP_TIMEOUT} s")
        assert_gone(pidfile, res.err)
    finally:
        _cleanup(pidfile)


def helper_daemonising(tmp_path, answer, pidfile):
    """A credential_process that starts `sleep 1000` the way a daemon does (a subshell that
    exits at once, setsid: a session and process group of its own, nothing of the helper's
    stdout), appends its pid to pidfile, then prints `answer` and exits 0."""
    helper = tmp_path / "helper"
    helper.write_text("#!/bin/sh\n"
                      f"n=$(cat {pidfile} 2>/dev/null | wc -l)\n"
                      "( setsid sh -c 'echo $$ >> \"$0\"; exec sleep 1000' "
                      f"{pidfile} </dev/null >/dev/null 2>&1 & )\n"
                      f"while [ \"$(cat {pidfile} 2>/dev/null | wc -l)\" -le \"$n\" ]; do "
                      "sleep 0.01; done\n"
                      f"cat <<'EOF'\n{answer}\nEOF\n")
    helper.chmod(0o755)
    return helper


def _answer_json(c):
    return ('{"Version": 1, "AccessKeyId": "%s", "SecretAccessKey": "%s", "SessionToken": "%s", '
            '"Expiration": "%s"}' % (c["access_key_id"], c["secret_access_key"],
                                     c["session_token"], c["expiration"]))


def _kill_pids(pidfile):
    if not pidfile.exists():
        return
    for p in pidfile.read_text().split():
        try:
            os.kill(int(p), 9)
        except OSError:
            pass


def test_credential_process_setsid_descendant_is_killed(fake, cenv, write_config, tmp_path):
    """A process the helper started in a session of its own (setsid: the process group kill
    misses it) is killed and reaped before injector goes on: the app injector execs finds it
    gone (it used to live on, reparented to init, or to injector as PID 1: the app's child)."""
    c = mint("setsid")
    register(fake, "setsid", c)
    pidfile = tmp_path / "sleep.pids"
    helper = helper_daemonising(tmp_path, _answer_json(c), pidfile)
    write_aws(cenv, "config", f"[default]\ncredential_process = {helper}\n")
    cfg = write_config(CONFIG)
    app = ("for p in $(cat %s); do if kill -0 $p 2>/dev/null; then echo alive $p; "
           "else echo gone; fi; done" % pidfile)
    try:
        res = run(["-c", cfg, "--", "sh", "-c", app], cenv, timeout=HANG,
                  leak_extra=secret_parts(c))
        assert res.rc == 0, res
        assert res.out.split() == ["gone"], res
    finally:
        _kill_pids(pidfile)


def test_credential_process_setsid_descendant_killed_in_supervise(fake, cenv, write_config,
                                                                  tmp_path):
    """The same in supervise mode, where injector is a child subreaper (or PID 1): the
    leftovers of the helper's run at start and of its runs at each refresh (the credentials
    expire within the refresh margin, so every check runs it again) are all gone, while the
    app, injector's other child, runs on."""
    c = mint("setsid", expires_in=120)
    register(fake, "setsid", c)
    pidfile = tmp_path / "sleep.pids"
    helper = helper_daemonising(tmp_path, _answer_json(c), pidfile)
    write_aws(cenv, "config", f"[default]\ncredential_process = {helper}\n")
    cfg = write_config(CONFIG)
    errf = open(tmp_path / "stderr", "wb")
    proc = subprocess.Popen(WRAPPER + [INJECTOR, "-v", "-c", cfg, "--supervise", "--refresh",
                                       "200ms", "--", "sleep", "1000"],
                            env=cenv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=errf)

    def pids():
        return [int(p) for p in pidfile.read_text().split()] if pidfile.exists() else []

    def alive(pid):
        try:
            with open(f"/proc/{pid}/stat") as f:
                st = f.read()
        except OSError:
            return False
        return st[st.rindex(")") + 2] != "Z"

    try:
        deadline = time.monotonic() + HANG
        # Three runs recorded: the first two are over (a run ends before the next starts).
        while len(pids()) < 3 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert len(pids()) >= 3, (tmp_path / "stderr").read_text()[-3000:]
        done = pids()[:2]
        while any(alive(p) for p in done) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [p for p in done if alive(p)], (tmp_path / "stderr").read_text()[-3000:]
        assert proc.poll() is None, "the app (and injector) must run on"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=HANG)
        finally:
            errf.close()
            _kill_pids(pidfile)
    err = (tmp_path / "stderr").read_text()
    assert "credentials re-obtained" in err, err[-3000:]
    for v in secret_parts(c):
        assert v not in err


@pytest.mark.skipif(bool(WRAPPER), reason="valgrind and its tools need descriptors of their own")
def test_descriptor_limit_is_named(fake, base_env, write_config):
    """With RLIMIT_NOFILE too low for a request, the error names the limit (it said "TLS
    failure: error setting certificate file" or "cannot connect"). Each limit from 3 up is
    tried: whichever step runs out first, it must say so."""
    cfg = write_config("""
        version: 1
        env:
          API_TOKEN: { from: api, key: token }
        """)
    named = 0
    for n in range(3, 13):
        p = subprocess.run(["prlimit", f"--nofile={n}", INJECTOR, "--dry-run", "-c", cfg],
                           env=base_env, stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=HANG)
        err = p.stderr.decode("utf-8", "replace")
        assert "CANARY-" not in err + p.stdout.decode("utf-8", "replace")
        if p.returncode == 0 or "error while loading shared libraries" in err:
            continue   # enough, or too few for the dynamic loader to start injector at all
        assert "TLS failure" not in err and "cannot connect" not in err, (n, err)
        assert "too many open files (EMFILE)" in err, (n, err)
        assert p.returncode == 71, (n, err)
        named += 1
    assert named >= 1   # some limit in the range was too low


def test_oversize_credentials_answer_is_called_that(cenv, container, write_config):
    """A container endpoint answering more than 64 KiB: refused, in words about a credentials
    answer (it said "a secret is at most 64 KiB")."""
    c = dict(mint("huge"), expiration="2030-01-01T00:00:00Z" + " " * 70000)
    container.serve("/creds", c)
    env = dict(cenv, AWS_CONTAINER_CREDENTIALS_FULL_URI=container.url + "/creds")
    line = fails_with(dry_run(env, write_config, [c]),
                      "larger than 65536 bytes", "the limit for a credentials answer", code=65)
    assert "secret" not in line.split("larger than")[1]


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"),
                    reason="needs root and unshare (a private mount namespace)")
@pytest.mark.parametrize("which", ["passwd", "group"])
def test_user_with_a_fifo_as_etc_passwd(base_env, write_config, tmp_path, which):
    """--user NAME reads /etc/passwd and /etc/group: a FIFO bind-mounted over one of them (in
    a private mount namespace) is refused at once with exit 66 (open() used to hang)."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo, 0o600)
    cfg = write_config("version: 1\n")
    inner = " ".join(WRAPPER + [INJECTOR, "-c", cfg, "--user", "nobody:nogroup", "--", "true"])
    res = run_shell(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                     f"mount --bind {fifo} /etc/{which} && exec {inner}"], base_env)
    assert res.returncode == 66, res.stderr
    assert f"--user: system file /etc/{which}: a FIFO, not a regular file" in res.stderr


def run_shell(argv, env):
    """argv (a wrapper around injector), with a timeout as the hang detector."""
    return subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=HANG)


def test_credential_process_can_prompt_on_the_terminal(fake, cenv, write_config, tmp_path):
    """In its own process group the helper would be a background job of the terminal, and a
    read from it would stop it (SIGTTIN) until the timeout: injector hands it the terminal
    while it runs and takes it back afterwards (a pty here)."""
    c = mint("prompt")
    register(fake, "prompt", c)
    helper = tmp_path / "helper"
    helper.write_text("#!/bin/sh\n"
                      "printf 'code: ' >&2\n"
                      "read code\n"
                      "[ \"$code\" = 123456 ] || exit 9\n"
                      "cat <<'EOF'\n"
                      '{"Version": 1, "AccessKeyId": "%s", "SecretAccessKey": "%s", '
                      '"SessionToken": "%s", "Expiration": "%s"}\n'
                      "EOF\n" % (c["access_key_id"], c["secret_access_key"],
                                 c["session_token"], c["expiration"]))
    helper.chmod(0o755)
    write_aws(cenv, "config", f"[default]\ncredential_process = {helper}\n")
    cfg = write_config("""
        version: 1
        env:
          API_TOKEN: { from: api, key: token }
        """)
    master, slave = pty.openpty()

    def ctty():
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    env = dict(cenv, INJECTOR_CREDENTIAL_PROCESS_TIMEOUT="30")
    p = subprocess.Popen(WRAPPER + [INJECTOR, "--dry-run", "-c", cfg], env=env, stdin=slave,
                         stdout=slave, stderr=slave, start_new_session=True, preexec_fn=ctty)
    os.close(slave)
    out = bytearray()
    try:
        end = time.monotonic() + HANG
        while b"code: " not in out and time.monotonic() < end:
            if select.select([master], [], [], 0.1)[0]:
                out.extend(os.read(master, 4096))
        assert b"code: " in out, out
        os.write(master, b"123456\n")
        rc = p.wait(timeout=HANG)
        while select.select([master], [], [], 0.1)[0]:
            try:
                out.extend(os.read(master, 4096))
            except OSError:
                break
        text = out.decode("utf-8", "replace")
        assert rc == 0, text
        # Passed through as it came: not read and reprinted as the helper's lines.
        assert "injector: credential_process: " not in text, text
        for part in (c["secret_access_key"], c["session_token"]):
            assert part not in text
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(master)


# credential_process's stderr (issue 20 item 3). conftest.run gives injector pipes, not a
# terminal: the helper's stderr is read by injector and printed line by line through
# redact_text, "injector: credential_process: " in front of each line.

ERR = "injector: credential_process: "


def _answer(c):
    return ('{"Version": 1, "AccessKeyId": "%s", "SecretAccessKey": "%s", "SessionToken": "%s", '
            '"Expiration": "%s"}' % (c["access_key_id"], c["secret_access_key"],
                                     c["session_token"], c["expiration"]))


def _sig():
    return secrets.token_hex(32)


def _auth(c, sig):
    return ("Authorization: AWS4-HMAC-SHA256 Credential=%s/20240101/us-east-1/sts/aws4_request, "
            "SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=%s"
            % (c["access_key_id"], sig))


def _helper(tmp_path, stderr_text, answer="", code=0):
    """A sh credential_process writing stderr_text (literally) to stderr, then answer to
    stdout, exiting with code."""
    helper = tmp_path / "helper"
    helper.write_text("#!/bin/sh\n"
                      f"cat >&2 <<'EOF'\n{stderr_text}\nEOF\n"
                      + (f"cat <<'EOF'\n{answer}\nEOF\n" if answer else "")
                      + f"exit {code}\n")
    helper.chmod(0o755)
    return helper


def assert_no_pieces(text, *values):
    """Besides conftest's whole-value grep: no 16-byte piece of a key, token or signature."""
    for s in values:
        for k in range(0, len(s) - 15):
            assert s[k:k + 16] not in text, f"a piece of a credential leaked: {s[k:k + 6]}..."


def test_credential_process_stderr_redacted(fake, cenv, write_config, tmp_path):
    """A helper that prints its secret key, its session token and a signed request's
    Authorization header to stderr, then a valid answer: injector goes on, and shows every
    line of that stderr as the helper's, with the credentials cut out and the rest kept (it
    went straight to injector's stderr, the container's logs)."""
    c = mint("stderr")
    register(fake, "stderr", c)
    sig = _sig()
    helper = _helper(tmp_path,
                     "fetching keys for role app-reader\n"
                     f"secret key is {c['secret_access_key']} (cached)\n"
                     f"token={c['session_token']}\n"
                     f"{_auth(c, sig)}\n"
                     "done", _answer(c))
    write_aws(cenv, "config", f"[default]\ncredential_process = {helper}\n")
    res = dry_run(cenv, write_config, [c, sig])
    assert res.rc == 0, res
    assert "AWS credentials from profile default (credential_process)" in res.err
    lines = [ln for ln in res.err.splitlines() if ln.startswith(ERR)]
    assert lines == [ERR + "fetching keys for role app-reader",
                     ERR + "secret key is [redacted] (cached)",
                     ERR + "token=[redacted]",
                     ERR + "Authorization: [redacted]",
                     ERR + "done"], res.err
    assert_no_pieces(res.err, c["secret_access_key"], c["session_token"], sig)


def test_credential_process_failing_stderr_shown_redacted(cenv, write_config, tmp_path):
    """A failing helper's stderr says why: it is shown (before the error that points at it),
    with what looks like a credential cut out; no keys were taken, so by pattern."""
    c = mint("failing")
    sig = _sig()
    helper = _helper(tmp_path,
                     "vault: permission denied for role app-reader\n"
                     f"X-Amz-Security-Token: {c['session_token']}\n"
                     f"SecretAccessKey={c['secret_access_key']}\n"
                     f"{_auth(c, sig)}", code=3)
    write_aws(cenv, "config", f"[default]\ncredential_process = {helper}\n")
    res = dry_run(cenv, write_config, [c, sig])
    fails_with(res, f"credential_process {helper}: exited with status 3 (its stderr is above)")
    lines = [ln for ln in res.err.splitlines() if ln.startswith(ERR)]
    assert lines == [ERR + "vault: permission denied for role app-reader",
                     ERR + "X-Amz-Security-Token: [redacted]",
                     ERR + "SecretAccessKey=[redacted]",
                     ERR + "Authorization: [redacted]"], res.err
    err_at = [i for i, ln in enumerate(res.err.splitlines()) if "error:" in ln][0]
    assert err_at > [i for i, ln in enumerate(res.err.splitlines()) if ln.startswith(ERR)][-1]
    assert_no_pieces(res.err, c["secret_access_key"], c["session_token"], sig)


def test_credential_process_refused_answer_keys_redacted(cenv, write_config, tmp_path):
    """An answer refused (expired) still holds real keys: printed to stderr with no name in
    front, they are cut out all the same (taken from its stdout as known secrets)."""
    c = mint("expired", expires_in=-3600)
    short = c["secret_access_key"][:30]   # shorter than a token run, no name before it
    helper = _helper(tmp_path, f"using {short} until {c['expiration']}", _answer(c))
    write_aws(cenv, "config", f"[default]\ncredential_process = {helper}\n")
    res = dry_run(cenv, write_config, [c, short])
    fails_with(res, "credential_process output", "expired")
    assert ERR + f"using [redacted] until {c['expiration']}" in res.err.splitlines(), res.err
    assert_no_pieces(res.err, c["secret_access_key"], c["session_token"])


def test_credential_process_chatty_stderr_is_cut(fake, cenv, write_config, tmp_path):
    """A helper that writes 1 MiB to stderr before its answer: read while it runs (an unread
    pipe would stop it at 64 KiB until the timeout), at most 64 KiB of it shown, and a note
    says how much was dropped. The hang check is conftest.run's subprocess timeout."""
    c = mint("chatty")
    register(fake, "chatty", c)
    helper = tmp_path / "helper"
    helper.write_text("#!/bin/sh\n"
                      "yes 'a chatty helper line' | head -c 1048576 >&2\n"
                      f"cat <<'EOF'\n{_answer(c)}\nEOF\n")
    helper.chmod(0o755)
    write_aws(cenv, "config", f"[default]\ncredential_process = {helper}\n")
    env = dict(cenv, INJECTOR_CREDENTIAL_PROCESS_TIMEOUT="60")
    res = dry_run(env, write_config, [c], timeout=HANG * 3)
    assert res.rc == 0, res.err[-2000:]
    shown = [ln for ln in res.err.splitlines() if ln == ERR + "a chatty helper line"]
    assert 3000 < len(shown) <= 65536 // len("a chatty helper line\n") + 1, len(shown)
    kept = 64 * 1024
    assert (ERR + f"[{1048576 - kept} more bytes of its stderr not shown: 64 KiB are kept]"
            in res.err.splitlines()), res.err[-500:]
    assert len(res.err) < 256 * 1024
