"""Shared fixtures for the integration tests: the local Secrets Manager endpoint (real TLS,
SigV4 verified by botocore), a runner for the injector binary that greps every output for
secrets, and helpers to write configs.

Run with Debian's Python: /usr/bin/python3 -m pytest tests/integration
Environment: INJECTOR_BIN (binary under test), INJECTOR_WRAPPER (e.g. a valgrind command
line), INJECTOR_SANITIZED=1 (an ASan build: timing-sensitive tests relax)."""
import json
import os
import shlex
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "fake"))

import seed  # noqa: E402
from sm_server import FakeSecretsManager  # noqa: E402

INJECTOR = os.environ.get("INJECTOR_BIN", os.path.join(ROOT, "build", "injector"))
WRAPPER = shlex.split(os.environ.get("INJECTOR_WRAPPER", ""))
SLOW = bool(WRAPPER) or os.environ.get("INJECTOR_SANITIZED") == "1"
PROBE = os.path.join(ROOT, "tests", "integration", "probe.py")

# Every string that must never appear in injector's own stdout/stderr.
SENSITIVE = [v for v in seed.ALL_SECRET_VALUES if v]


class Result:
    def __init__(self, proc, out, err):
        self.rc = proc.returncode
        self.pid = proc.pid
        self.out = out
        self.err = err

    def __repr__(self):
        return f"<rc={self.rc} out={self.out[-2000:]!r} err={self.err[-3000:]!r}>"


def assert_no_leak(*texts, extra=()):
    for text in texts:
        for v in list(SENSITIVE) + list(extra):
            assert v not in text, f"secret or credential leaked into output: {v[:6]}..."
        # Canaries are unique per secret; any canary at all is a leak.
        assert "CANARY-" not in text, "a canary leaked into output"


@pytest.fixture(scope="session")
def sm(tmp_path_factory):
    srv = FakeSecretsManager(str(tmp_path_factory.mktemp("sm")))
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def fake(sm):
    sm.reset()
    # A fresh default key per test: leftovers of earlier tests cannot touch its counters.
    sm.state.isolate()
    yield sm
    sm.reset()


@pytest.fixture
def base_env(fake, tmp_path):
    """A clean environment: nothing from the outer AWS config, HOME in a temp dir."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(tmp_path / "home"),
        "LANG": "C.UTF-8",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    os.makedirs(env["HOME"], exist_ok=True)
    env.update(fake.env())
    return env


def run(args, env, timeout=None, cwd=None, leak_extra=(), check_leaks=True):
    """Runs injector (under INJECTOR_WRAPPER if set) and returns a Result."""
    if timeout is None:
        timeout = 240 if SLOW else 60
    proc = subprocess.Popen(WRAPPER + [INJECTOR] + list(args), env=env, cwd=cwd,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"injector timed out: {err.decode(errors='replace')[-2000:]}")
    res = Result(proc, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))
    if check_leaks:
        assert_no_leak(res.out, res.err, extra=leak_extra)
    if WRAPPER and "valgrind" in WRAPPER[0]:
        assert res.rc != 99, f"valgrind reported errors: {res.err[-4000:]}"
    if os.environ.get("INJECTOR_SANITIZED") == "1":
        assert "ERROR: AddressSanitizer" not in res.err, res.err[-4000:]
        assert "runtime error:" not in res.err, res.err[-4000:]
        assert "ERROR: LeakSanitizer" not in res.err, res.err[-4000:]
    return res


def group_members(pgid, zombies=True):
    """Pids of the processes whose process group is pgid, read from /proc (zombies too unless
    zombies=False): what a test checks is gone once injector has exited."""
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
        if int(fields[2]) == pgid and (zombies or fields[0] != "Z"):
            out.append(int(d))
    return out


def fs_type(path):
    """The filesystem type name of path ("tmpfs", "ext2/ext3", ...)."""
    return subprocess.run(["stat", "-f", "-c", "%T", str(path)], check=True,
                          capture_output=True, text=True).stdout.strip()


@pytest.fixture
def secret_dir(tmp_path):
    """A fresh, private directory on tmpfs: injector refuses to write a secret file to a
    disk filesystem unless the entry says allow_disk. /dev/shm when it is tmpfs, else a
    tmpfs mounted for the test (needs root)."""
    import pathlib
    import shutil
    import tempfile
    if os.path.isdir("/dev/shm") and fs_type("/dev/shm") == "tmpfs":
        d = tempfile.mkdtemp(prefix="injector-test-", dir="/dev/shm")
        yield pathlib.Path(d)
        shutil.rmtree(d, ignore_errors=True)
        return
    d = tmp_path / "tmpfs"
    d.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0700,size=16m", "tmpfs", str(d)],
                       capture_output=True)
    if r.returncode != 0:
        pytest.skip("no tmpfs: /dev/shm is not tmpfs and mount failed")
    try:
        yield d
    finally:
        subprocess.run(["umount", "-l", str(d)], check=False)


@pytest.fixture
def write_config(tmp_path):
    """write_config(yaml_text) -> path of a config file in the test's temp dir."""
    counter = [0]

    def _write(text, name=None):
        counter[0] += 1
        path = tmp_path / (name or f"config{counter[0]}.yaml")
        path.write_text(textwrap.dedent(text))
        return str(path)
    return _write


@pytest.fixture
def probe(tmp_path):
    """probe(env) -> (command argv, reader): the app that records what it received."""
    out = tmp_path / "probe.json"

    def _probe(env, *args):
        env["PROBE_OUT"] = str(out)
        return [PROBE] + list(args)

    def _read():
        with open(out, encoding="utf-8", errors="surrogateescape") as f:
            return json.load(f)
    _probe.read = _read
    _probe.path = out
    return _probe
