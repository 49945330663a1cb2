"""The bad-input matrix (issue 8), table in tests/bad_input/cases.py.

For every case: the exit code, a message fragment on stderr, no secret value or credential in
stdout/stderr (conftest.run), no file left in any directory a files entry points at (nothing
half-written, no temp files), the command never started, and a wall-clock bound. Runs with
AWS_MAX_ATTEMPTS=1 unless a case sets it: retries are test_core's business."""
import importlib.util
import os
import stat
import subprocess
import time

import pytest

import seed
from conftest import PROBE, ROOT, SLOW, fs_type, run
from sm_server import FakeSecretsManager

_spec = importlib.util.spec_from_file_location(
    "bad_input_cases", os.path.join(ROOT, "tests", "bad_input", "cases.py"))
cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cases)

SENSITIVE_ENV = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


@pytest.fixture(scope="module")
def alt_endpoints(tmp_path_factory):
    """Second fakes with a broken certificate, started on first use: mode -> server."""
    servers = {}

    def get(mode):
        if mode not in servers:
            srv = FakeSecretsManager(str(tmp_path_factory.mktemp(f"sm-{mode}")), cert_mode=mode)
            srv.start()
            servers[mode] = srv
        return servers[mode]
    yield get
    for srv in servers.values():
        srv.stop()


def _mount_tmpfs(path, opts):
    path.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs (not root?): {r.stderr.strip()}")


def _disk_dir(tmp_path):
    for cand in (tmp_path, os.path.join(ROOT, "build"), "/var/tmp"):
        if os.path.isdir(cand) and fs_type(cand) not in ("tmpfs", "ramfs"):
            d = os.path.join(str(cand), f"disk-{os.getpid()}-{time.monotonic_ns()}")
            os.mkdir(d, 0o700)
            return d
    pytest.skip("no disk filesystem to test against")


def _snapshot(dirs):
    """Every path under dirs (files, links, dirs) -> (mode, size)."""
    out = {}
    for d in dirs:
        for base, subdirs, files in os.walk(d):
            for n in subdirs + files:
                p = os.path.join(base, n)
                st = os.lstat(p)
                out[p] = (st.st_mode, st.st_size)
    return out


@pytest.fixture
def world(fake, base_env, tmp_path, secret_dir, alt_endpoints):
    """Builds the placeholders and environment a case needs; unmounts afterwards."""
    mounts = []
    made = []

    def build(case):
        ph = {"@RDS@": seed.RDS_NAME, "@API@": seed.SECRET_ARNS["api"],
              "@DIR@": str(secret_dir), "@TMP@": str(tmp_path), "@CMD@": PROBE}
        if "ro" in case.setup:
            d = tmp_path / "ro"
            _mount_tmpfs(d, "ro,mode=0700,size=1m")
            mounts.append(d)
            ph["@RO@"] = str(d)
        if "tiny" in case.setup:
            d = tmp_path / "tiny"
            _mount_tmpfs(d, "mode=0700,size=4k")
            mounts.append(d)
            ph["@TINY@"] = str(d)
        if "link" in case.setup:
            d = secret_dir / "link"
            d.mkdir()
            victim = secret_dir / "victim"
            victim.write_text("not a secret\n")
            os.symlink(victim, d / "db")
            ph["@LINK@"] = str(d)
        if "disk" in case.setup:
            d = _disk_dir(tmp_path)
            made.append(d)
            ph["@DISK@"] = d
        if "ww" in case.setup:
            d = secret_dir / "ww"
            d.mkdir()
            d.chmod(0o777)  # world-writable, no sticky bit
            ph["@WW@"] = str(d)
        if "gw" in case.setup:
            d = secret_dir / "gw"
            d.mkdir()
            d.chmod(0o770)  # group-writable, no sticky bit
            ph["@GW@"] = str(d)
        if "alien" in case.setup:
            d = secret_dir / "alien"
            d.mkdir()
            os.chown(d, 65534, 65534)  # neither root (injector, the app) nor anyone else here
            ph["@ALIEN@"] = str(d)
        if "linkdir" in case.setup:
            target = secret_dir / "linked"
            target.mkdir()
            os.symlink(target, secret_dir / "linkdir")
            ph["@LINKDIR@"] = str(secret_dir / "linkdir")
        if "subdir" in case.setup:
            (secret_dir / "sub").mkdir()
        if "plainfile" in case.setup:
            (secret_dir / "plainfile").write_text("x\n")
        if "fifo" in case.setup:
            os.mkfifo(tmp_path / "fifo", 0o600)
            ph["@FIFO@"] = str(tmp_path / "fifo")
        for s in case.setup:
            if s.startswith("profile:"):
                aws = os.path.join(base_env["HOME"], ".aws")
                os.makedirs(aws, mode=0o700, exist_ok=True)
                with open(os.path.join(aws, "credentials"), "w") as f:
                    f.write(s[len("profile:"):])
        noexec = tmp_path / "noexec.sh"
        noexec.write_text("#!/bin/sh\necho started\n")
        noexec.chmod(0o644)
        noshebang = tmp_path / "noshebang"
        noshebang.write_text("echo started > /dev/null\n")
        noshebang.chmod(0o755)

        env = dict(base_env)
        env["AWS_MAX_ATTEMPTS"] = "1"
        if case.endpoint:
            srv = alt_endpoints(case.endpoint)
            env.update(AWS_ENDPOINT_URL=srv.url, AWS_CA_BUNDLE=srv.ca_file)
        for k, v in case.env.items():
            if k == "@CRED@":
                for n in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
                    env.pop(n, None)
                env.update(fake.env(credential=v))
            elif v is None:
                env.pop(k, None)
            else:
                env[k] = _sub(v, ph)
        for name, value, *tags in case.secrets:
            if isinstance(value, bytes):
                fake.state.add_secret(name, binary=value, tags=tags[0] if tags else None)
            else:
                fake.state.add_secret(name, string=value, tags=tags[0] if tags else None)
        for action, secret in case.deny:
            fake.state.deny(env["AWS_ACCESS_KEY_ID"], action, secret)
        for name, value in case.parameters:
            fake.state.put_parameter(name, value, ptype="String")
        for kind, params in case.faults:
            fake.state.add_fault(kind, action=case.fault_action, **params)
        return ph, env

    yield build
    for d in reversed(mounts):
        subprocess.run(["umount", "-l", str(d)], check=False)
    for d in made:
        subprocess.run(["rm", "-rf", d], check=False)


def _sub(text, ph):
    for k, v in ph.items():
        text = text.replace(k, v)
    return text


@pytest.mark.parametrize("case", cases.CASES, ids=[c.id for c in cases.CASES])
def test_bad_input(case, world, tmp_path):
    ph, env = world(case)
    if case.raw is not None:
        cfg = tmp_path / "matrix.yaml"
        cfg.write_bytes(case.raw)
    elif case.config is None:
        cfg = tmp_path  # a directory
    elif case.config == "@FIFO@":
        cfg = ph["@FIFO@"]
    else:
        cfg = tmp_path / "matrix.yaml"
        cfg.write_text(_sub(case.config, ph))
    started = tmp_path / "started.json"
    env["PROBE_OUT"] = str(started)
    argv = [_sub(a, ph) for a in case.argv]
    watched = [ph[k] for k in ("@DIR@", "@RO@", "@TINY@", "@WW@", "@LINK@", "@DISK@", "@GW@",
                               "@ALIEN@") if k in ph]
    before = _snapshot(watched)
    victim = os.path.join(ph["@DIR@"], "victim")

    extra = [env[k] for k in SENSITIVE_ENV if env.get(k)]
    # The faults are GetSecretValue's; with 2+ secrets injector would batch instead.
    fetch = ["--fetch", "single"] if case.faults else []
    # A hang guard, not a speed test: a case that never ends is killed and fails here.
    res = run(list(case.args) + fetch + ["-c", str(cfg), "--"] + argv, env, leak_extra=extra,
              timeout=case.max_seconds * (6 if SLOW else 3))

    assert res.rc == case.rc, res
    assert any(f in res.err for f in _sub(case.fragment, ph).split("|")), res
    assert "CANARY-" not in res.out + res.err
    assert not started.exists(), "the command was started although injection failed"
    after = _snapshot(watched)
    if case.check_file:
        assert after == before, f"files left behind: {sorted(set(after) - set(before))}"
    else:
        new = [p for p in set(after) - set(before)]
        assert not new, f"files left behind: {new}"
    if os.path.exists(victim):
        assert open(victim).read() == "not a secret\n", "a symlink was followed"


def test_matrix_size_and_coverage():
    """The issue asks for at least 60 cases covering each category."""
    assert len(cases.CASES) >= 60
    cats = {c.category for c in cases.CASES}
    assert {"yaml", "ref", "aws-error", "response", "tls", "creds", "exec", "files"} <= cats


def test_allow_disk_lets_a_disk_file_through(fake, base_env, write_config, tmp_path, probe):
    """The not-tmpfs refusal has an explicit way out."""
    d = _disk_dir(tmp_path)
    try:
        cfg = write_config(f"""
            version: 1
            files:
              {d}/db.json: {{ from: secretPostgresqlMasterUser, allow_disk: true }}
            """)
        res = run(["-c", cfg, "--"] + probe(base_env), base_env)
        assert res.rc == 0, res
        st = os.stat(os.path.join(d, "db.json"))
        assert stat.S_IMODE(st.st_mode) == 0o400
    finally:
        subprocess.run(["rm", "-rf", d], check=False)


def test_sticky_world_writable_dir_is_fine(fake, base_env, write_config, secret_dir, probe):
    """/tmp-like directories (1777) are safe: only the owner may replace the file."""
    d = secret_dir / "sticky"
    d.mkdir()
    d.chmod(0o1777)
    cfg = write_config(f"""
        version: 1
        files:
          {d}/db.json: secretPostgresqlMasterUser
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    assert (d / "db.json").exists()


def test_literal_backslash_u0000_is_not_a_nul(fake, base_env, write_config, probe):
    """Only the JSON escape \\u0000 is a NUL; a backslash followed by "u0000" is text."""
    value = "C:\\u0000dir\\\\u0000x-CANARY-MATRIX5"
    fake.state.add_secret("matrix/backslash", string=value)
    fake.state.add_secret("matrix/backslash-json", string='{"p": "C:\\\\u0000dir"}')
    # One secret per run: a single fetch is a GetSecretValue, several may be one batch call.
    for var, entry, want in (("WHOLE", "matrix/backslash", value),
                             ("KEYED", "{ from: matrix/backslash-json, key: p }", "C:\\u0000dir")):
        cfg = write_config(f"version: 1\nenv:\n  {var}: {entry}\n")
        res = run(["-c", cfg, "--"] + probe(base_env), base_env)
        assert res.rc == 0, res
        assert probe.read()["env"][var] == want
