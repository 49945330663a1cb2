"""Process and file hygiene (issue 8): while injector holds secrets it cannot be read through
/proc or ptrace by another process of the same user, and it dumps no core; the app it execs
gets its original core limit and is dumpable again; no secret lands in any file other than the
configured ones, on success or failure.

The process checks hang injector on the fake's `slow` fault (after one secret is fetched) and
look at it from outside. They run injector as `nobody`, so that "another process of the same
user" has no capabilities that would bypass the protection (root has CAP_SYS_PTRACE)."""
import json
import os
import resource
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

import seed
from conftest import INJECTOR, PROBE, SENSITIVE, WRAPPER, assert_no_leak, run

NOBODY = 65534
RDS = seed.RDS_NAME
ARN = seed.SECRET_ARNS

# Under a wrapper (valgrind) the process under test is the wrapper, not injector.
real_process = pytest.mark.skipif(bool(WRAPPER), reason="injector runs under a wrapper")
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run injector as nobody")


def _as_nobody(core_unlimited=True):
    def pre():
        if core_unlimited:
            resource.setrlimit(resource.RLIMIT_CORE,
                               (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)
    return pre


@pytest.fixture
def public_dir():
    """A directory `nobody` can use (the pytest temp dirs are root-only)."""
    d = tempfile.mkdtemp(prefix="injector-hygiene-")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _start_hanging(fake, base_env, public_dir):
    """Starts injector as nobody, hanging in the fetch of the second secret (after the first
    arrived, when the fetches are sequential). Returns (Popen, env)."""
    ca = os.path.join(public_dir, "ca.pem")
    shutil.copy(base_env["AWS_CA_BUNDLE"], ca)
    os.chmod(ca, 0o644)
    cfg = os.path.join(public_dir, "hang.yaml")
    with open(cfg, "w") as f:
        f.write(f"version: 1\nenv:\n  API_TOKEN: \"{ARN['api']}:token\"\n"
                f"  PGPASSWORD: {{ from: \"{RDS}\", key: password }}\n")
    os.chmod(cfg, 0o644)
    work = os.path.join(public_dir, "cwd")
    os.mkdir(work)
    os.chown(work, NOBODY, NOBODY)
    env = dict(base_env, AWS_CA_BUNDLE=ca, HOME=work, AWS_MAX_ATTEMPTS="1",
               ASAN_OPTIONS="disable_coredump=0:detect_leaks=0")
    fake.state.add_fault("slow", secret=RDS, seconds=20)
    proc = subprocess.Popen([INJECTOR, "--timeout", "30", "-c", cfg, "--", "/bin/true"],
                            env=env, cwd=work, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=_as_nobody())
    deadline = time.monotonic() + 30
    while fake.state.stats()["faults_fired"].get("slow", 0) == 0:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "injector never reached the hanging fetch"
        time.sleep(0.02)
    time.sleep(0.2)  # inside the request now
    return proc, work


def _read_as_nobody(path):
    """Tries to read path as nobody; returns (ok, what)."""
    code = ("import sys\ntry:\n    open(sys.argv[1], 'rb').read(4096)\n    print('READ')\n"
            "except OSError as e:\n    print(type(e).__name__)\n")
    r = subprocess.run(["/usr/bin/python3", "-c", code, path], capture_output=True, text=True,
                       preexec_fn=_as_nobody(core_unlimited=False), timeout=30)
    return r.stdout.strip() == "READ", r.stdout.strip() + r.stderr.strip()


def _reap(proc):
    """waitpid with the raw status (Popen hides the core-dumped bit)."""
    _, status = os.waitpid(proc.pid, 0)
    proc.returncode = -1  # reaped here; keeps Popen from waiting again
    return status


@real_process
@as_root
def test_not_readable_by_same_user_while_holding_secrets(fake, base_env, public_dir):
    # Control: an ordinary process of nobody's IS readable by another process of nobody's.
    sleeper = subprocess.Popen(["sleep", "30"], preexec_fn=_as_nobody())
    try:
        ok, what = _read_as_nobody(f"/proc/{sleeper.pid}/environ")
        assert ok, f"control failed, the check would prove nothing: {what}"
    finally:
        sleeper.kill()
        sleeper.wait()

    proc, _ = _start_hanging(fake, base_env, public_dir)
    try:
        for leaf in ("environ", "mem", "maps"):
            ok, what = _read_as_nobody(f"/proc/{proc.pid}/{leaf}")
            assert not ok, f"/proc/{proc.pid}/{leaf} readable by the same user: {what}"
        # Core limit 0 while secrets are in memory (the hard limit is left alone).
        limits = open(f"/proc/{proc.pid}/limits").read()
        core = [ln for ln in limits.splitlines() if ln.startswith("Max core file size")][0]
        assert core.split()[4] == "0", core
        # Secrets are never in injector's own argv or environment.
        cmdline = open(f"/proc/{proc.pid}/cmdline", "rb").read()
        environ = open(f"/proc/{proc.pid}/environ", "rb").read()  # root may read it
        given = [base_env.get(k) or "" for k in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")]
        for v in SENSITIVE:
            if any(v in g for g in given):
                continue  # the credentials were given to it in its environment
            assert v.encode() not in cmdline and v.encode() not in environ
    finally:
        proc.kill()
        _reap(proc)
        out, err = proc.stdout.read(), proc.stderr.read()
        proc.stdout.close()
        proc.stderr.close()
    assert_no_leak(out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))


@real_process
@as_root
def test_no_core_dump_on_abort_while_holding_secrets(fake, base_env, public_dir):
    # Control: on this machine an ordinary process dumps core on SIGABRT (core_pattern, limits).
    ctl_dir = os.path.join(public_dir, "control")
    os.mkdir(ctl_dir)
    os.chown(ctl_dir, NOBODY, NOBODY)
    sleeper = subprocess.Popen(["sleep", "30"], cwd=ctl_dir, preexec_fn=_as_nobody())
    time.sleep(0.1)
    sleeper.send_signal(signal.SIGABRT)
    control_dumped = os.WCOREDUMP(_reap(sleeper))

    proc, work = _start_hanging(fake, base_env, public_dir)
    proc.send_signal(signal.SIGABRT)
    status = _reap(proc)
    out, err = proc.stdout.read(), proc.stderr.read()
    proc.stdout.close()
    proc.stderr.close()
    assert_no_leak(out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGABRT
    assert not os.WCOREDUMP(status), "injector dumped core while holding secrets"
    assert not [f for f in os.listdir(work) if f.startswith("core")]
    if not control_dumped:
        pytest.skip("this machine writes no core dumps at all (core_pattern, limits); the "
                    "check above is vacuous here")


@real_process
def test_app_gets_its_core_limit_and_dumpability_back(fake, base_env, write_config, probe):
    cfg = write_config(f"""
        version: 1
        env:
          PGPASSWORD: {{ from: "{RDS}", key: password }}
        """)
    base_env["ASAN_OPTIONS"] = "disable_coredump=0:detect_leaks=0"
    for soft, hard in ((1 << 20, resource.RLIM_INFINITY), (resource.RLIM_INFINITY,
                                                           resource.RLIM_INFINITY), (0, 0)):
        def pre(soft=soft, hard=hard):
            resource.setrlimit(resource.RLIMIT_CORE, (soft, hard))
        argv = probe(base_env)
        proc = subprocess.run([INJECTOR, "-c", cfg, "--"] + argv, env=base_env,
                              capture_output=True, preexec_fn=pre, timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert_no_leak(proc.stdout.decode("utf-8", "replace"),
                       proc.stderr.decode("utf-8", "replace"))
        got = probe.read()
        assert got["core"] == [soft, hard]
        assert got["dumpable"] == 1, "the app was left non-dumpable"


def _scan(roots, skip):
    """Every regular file under roots (not in skip) that contains a sensitive string."""
    needles = [v.encode() for v in SENSITIVE] + [b"CANARY-"] + [seed.BLOB]
    hits = []
    for root in roots:
        for base, _, files in os.walk(root):
            for n in files:
                p = os.path.join(base, n)
                if p in skip or not os.path.isfile(p) or os.path.islink(p):
                    continue
                try:
                    data = open(p, "rb").read()
                except OSError:
                    continue
                if any(x in data for x in needles):
                    hits.append(p)
    return hits


def _new_files(root, before):
    out = set()
    for base, _, files in os.walk(root):
        for n in files:
            out.add(os.path.join(base, n))
    return out - before


def _listing(root):
    return _new_files(root, set())


def test_secrets_only_in_configured_files(fake, base_env, write_config, probe, tmp_path,
                                          secret_dir):
    cwd = tmp_path / "cwd"
    tmpdir = tmp_path / "tmp"
    cwd.mkdir()
    tmpdir.mkdir()
    base_env["TMPDIR"] = str(tmpdir)
    files = [str(secret_dir / "db.json"), str(secret_dir / "blob.bin")]
    cfg = write_config(f"""
        version: 1
        env:
          PGPASSWORD: {{ from: "{RDS}", key: password }}
          API_TOKEN: "{ARN['api']}:token"
        files:
          {files[0]}: secretPostgresqlMasterUser
          {files[1]}: bin/blob
        """)
    shm_before = _listing("/dev/shm")
    tmp_before = set(os.listdir("/tmp"))
    argv = probe(base_env)
    probe_out = base_env["PROBE_OUT"]
    res = run(["-c", cfg, "--"] + argv, base_env, cwd=str(cwd))
    assert res.rc == 0, res
    # The configured files hold the secrets; nothing else does.
    assert json.load(open(files[0]))["password"] == seed.PGMASTER_PASSWORD
    skip = set(files) | {probe_out}  # the probe records the env it got, on purpose
    roots = [str(cwd), str(tmpdir), base_env["HOME"], str(secret_dir)]
    assert _scan(roots, skip) == []
    assert sorted(os.listdir(secret_dir)) == ["blob.bin", "db.json"]  # no temp files
    new_shm = _new_files("/dev/shm", shm_before) - {os.path.join(str(secret_dir), f)
                                                     for f in ("db.json", "blob.bin")}
    # Other tests (other workers, other suites running beside this one) write into their own
    # injector-test-* directories at the same time: their files are theirs, not a leak of ours.
    # Anything else new in /dev/shm is; and no new file anywhere there holds our secrets.
    others = os.path.join("/dev/shm", "injector-test-")
    assert _scan(sorted(new_shm), set()) == [] and not [
        p for p in new_shm if not p.startswith(str(secret_dir)) and not p.startswith(others)]
    new_tmp = [os.path.join("/tmp", n) for n in set(os.listdir("/tmp")) - tmp_before]
    assert _scan(new_tmp, set()) == []


@pytest.mark.skipif(not shutil.which("strace") or bool(WRAPPER), reason="needs strace, no wrapper")
def test_mode_and_owner_are_set_before_the_first_byte(fake, base_env, write_config, secret_dir,
                                                      tmp_path):
    """The staged file is created 0400-or-stricter, then fchown/fchmod, and only then is the
    secret written: no moment where it is readable by anyone else (strace, no payloads)."""
    cfg = write_config(f"""
        version: 1
        files:
          {secret_dir}/db.json: {{ from: secretPostgresqlMasterUser, mode: "0440" }}
        """)
    trace = tmp_path / "strace.txt"
    r = subprocess.run(["strace", "-f", "-s", "0", "-e", "trace=openat,fchmod,fchown,write",
                        "-o", str(trace), INJECTOR, "-c", cfg, "--", "/bin/true"],
                       env=base_env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert_no_leak(r.stdout, r.stderr)
    lines = trace.read_text().splitlines()
    trace.unlink()
    opened = [i for i, ln in enumerate(lines) if ".db.json.injector-" in ln and "O_CREAT" in ln]
    assert len(opened) == 1, lines
    ln = lines[opened[0]]
    assert "O_EXCL" in ln and "O_NOFOLLOW" in ln, ln
    mode = int(ln.split("O_CREAT")[1].split(",")[-1].split(")")[0].strip(), 8)
    assert mode & 0o077 == 0, ln             # created private, whatever the umask
    fd = ln.rsplit("=", 1)[1].strip()
    later = lines[opened[0] + 1:]
    chmod = next(i for i, x in enumerate(later) if x.split(None, 1)[1].startswith(f"fchmod({fd},"))
    write = next(i for i, x in enumerate(later) if x.split(None, 1)[1].startswith(f"write({fd},"))
    assert "0440" in later[chmod] and chmod < write, later[:write + 1]


def test_exec_failure_puts_back_the_files_it_replaced(fake, base_env, write_config, secret_dir):
    """All or nothing also for files that were there before: after an exec failure the old
    content, mode and owner are back, a new file is gone, and no temp file is left."""
    old = secret_dir / "db.json"
    old.write_bytes(b"the previous version\n")
    os.chmod(old, 0o440)
    os.chown(old, os.getuid(), os.getgid())
    before = os.stat(old)
    cfg = write_config(f"""
        version: 1
        files:
          {old}: secretPostgresqlMasterUser
          {secret_dir}/new.json: "{ARN['api']}:token"
        """)
    res = run(["-c", cfg, "--", "/nonexistent/app"], base_env)
    assert res.rc == 127, res
    assert old.read_bytes() == b"the previous version\n"
    after = os.stat(old)
    assert (after.st_mode & 0o7777, after.st_uid, after.st_gid) == \
        (before.st_mode & 0o7777, before.st_uid, before.st_gid)
    assert sorted(os.listdir(secret_dir)) == ["db.json"]
    # The same run with a command that exists replaces it.
    res = run(["-c", cfg, "--", "/bin/true"], base_env)
    assert res.rc == 0, res
    assert old.read_bytes() != b"the previous version\n"
    assert sorted(os.listdir(secret_dir)) == ["db.json", "new.json"]


def test_failed_run_leaves_no_secret_anywhere(fake, base_env, write_config, tmp_path, secret_dir):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    base_env["TMPDIR"] = str(cwd)
    cfg = write_config(f"""
        version: 1
        files:
          {secret_dir}/a/db.json: secretPostgresqlMasterUser
          {secret_dir}/b/api: "{ARN['api']}:token"
          {secret_dir}/c/x: "{RDS}:nokey"
        """)
    res = run(["-c", cfg, "--", PROBE], base_env, cwd=str(cwd))
    assert res.rc == 65, res
    assert _scan([str(cwd), base_env["HOME"], str(secret_dir)], set()) == []
    assert _listing(str(secret_dir)) == set()
    # The exec failure path, after every file was committed: all removed again.
    cfg = write_config(f"""
        version: 1
        files:
          {secret_dir}/a/db.json: secretPostgresqlMasterUser
          {secret_dir}/b/api: "{ARN['api']}:token"
        """)
    res = run(["-c", cfg, "--", "/nonexistent/app"], base_env, cwd=str(cwd))
    assert res.rc == 127, res
    assert _scan([str(cwd), base_env["HOME"], str(secret_dir)], set()) == []
    assert _listing(str(secret_dir)) == set()
