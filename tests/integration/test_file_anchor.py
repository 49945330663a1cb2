"""Issue 20: nothing the app can touch steers root. File targets are reached from "/" by
descriptor (no symlink followed), injector's own directories stay root's, a parent owned by a
third user or writable by others is refused, and a supervise refresh writes into the directory
validated at start whatever the path leads to by then. Runs as root (it needs --user);
the app user is uid 65534 (nobody), a "third user" is 1000 or 65534 when the app is the other.
Waiting is by condition with generous bounds; every output is grepped for the secrets."""
import os
import signal
import stat
import subprocess
import sys
import time

import pytest

import seed
from conftest import INJECTOR, SLOW, WRAPPER, run
from test_supervise import BOUND, Injector, wait_for

APP = 65534                       # the app's user and group (nobody)
USER = f"{APP}:{APP}"
ROOTS_OWN = b"root's own file, not a secret\n"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (--user, chown)")


def value(label):
    return f"anchor-{label}-{seed.canary('anchor/' + label)}"


def app_owned(d):
    """The README's `--tmpfs /run/secrets:mode=0700,uid=1000`: a directory the app owns."""
    d.mkdir()
    os.chown(d, APP, APP)
    d.chmod(0o700)
    return d


def foreign_file(secret_dir):
    """A root-owned 0644 file the app must never be able to make root overwrite or chmod."""
    d = secret_dir / "foreign"
    d.mkdir()
    d.chmod(0o755)
    f = d / "token"
    f.write_bytes(ROOTS_OWN)
    f.chmod(0o644)
    return f


def identity(path):
    st = os.lstat(path)
    return (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode), path.read_bytes())


def as_app(code):
    """Runs python code as the app's user: what a compromised app could do."""
    return subprocess.Popen([sys.executable, "-c", code], user=APP, group=APP,
                            extra_groups=[], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def test_refresh_writes_into_the_validated_directory_not_a_swapped_link(
        fake, write_config, base_env, tmp_path, secret_dir):
    """The app renames its parent directory away and puts a symlink to a directory holding a
    root-owned file of the same name: the rotated secret must not replace that file."""
    v1, v2 = value("swap-1"), value("swap-2")
    fake.state.add_secret("anchor/swap", string=v1)
    secret_dir.chmod(0o711)
    run_dir = app_owned(secret_dir / "run")
    foreign = foreign_file(secret_dir)
    before = identity(foreign)
    cfg = write_config(f"""
        version: 1
        supervise:
          refresh: 50ms
          on_change: none
        files:
          {run_dir}/app/token: {{ from: anchor/swap }}
        """)
    inj = Injector(["-c", cfg, "--user", USER, "--", "/bin/sleep", "600"], base_env,
                   str(tmp_path))
    try:
        token = run_dir / "app" / "token"
        wait_for("first write", lambda: token.exists(), inj)
        assert token.read_text() == v1
        swap = as_app(f"import os; os.rename({str(run_dir / 'app')!r}, "
                      f"{str(run_dir / 'away')!r}); "
                      f"os.symlink({str(foreign.parent)!r}, {str(run_dir / 'app')!r})")
        out, err = swap.communicate(timeout=BOUND)
        assert swap.returncode == 0, err  # the app may do this: it owns run/
        fake.state.put_secret_value("anchor/swap", v2)
        away = run_dir / "away" / "token"
        wait_for("the rewrite", lambda: (away.exists() and away.read_text() == v2) or
                 identity(foreign) != before, inj)
        assert identity(foreign) == before, "root rewrote a file through the app's symlink"
        assert (os.stat(away).st_uid, stat.S_IMODE(os.stat(away).st_mode)) == (APP, 0o400)
        assert [n for n in os.listdir(foreign.parent)] == ["token"]
        inj.kill(signal.SIGTERM)
        inj.finish(leak_extra=(v1, v2))
        assert "no longer leads to the directory checked at start" in inj.err
        assert str(run_dir / "app") in inj.err
    finally:
        inj.cleanup()


def test_directory_swapped_between_mkdir_and_chmod_is_not_followed(
        fake, write_config, base_env, secret_dir):
    """strace holds mkdir's return for 0.5 s; meanwhile the app replaces the fresh directory
    with a symlink to a root-owned file. Nothing may chmod or chown that file."""
    v1 = value("mkdir")
    fake.state.add_secret("anchor/mkdir", string=v1)
    secret_dir.chmod(0o711)
    run_dir = app_owned(secret_dir / "run")
    victim = secret_dir / "victim"
    victim.write_bytes(ROOTS_OWN)
    victim.chmod(0o644)
    before = identity(victim)
    fresh = run_dir / "new"
    cfg = write_config(f"""
        version: 1
        files:
          {fresh}/token: {{ from: anchor/mkdir }}
        """)
    swapper = as_app(f"""
import os, time
deadline = time.monotonic() + {BOUND}
while time.monotonic() < deadline:
    if os.path.isdir({str(fresh)!r}) and not os.path.islink({str(fresh)!r}):
        os.rmdir({str(fresh)!r})
        os.symlink({str(victim)!r}, {str(fresh)!r})
        print("swapped")
        break
    time.sleep(0.001)
""")
    env = dict(base_env)
    if os.environ.get("INJECTOR_SANITIZED") == "1":
        # LeakSanitizer cannot run under ptrace; the other tests leak-check these paths.
        env["ASAN_OPTIONS"] = (os.environ.get("ASAN_OPTIONS", "") + ":detect_leaks=0").lstrip(":")
    try:
        strace = ["strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=mkdir,mkdirat",
                  "-e", "inject=mkdir,mkdirat:delay_exit=2000000"]
        proc = subprocess.run(strace + WRAPPER + [INJECTOR, "-c", cfg, "--user", USER, "--",
                                                  "true"],
                              env=env, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=BOUND * 4)
        out, err = swapper.communicate(timeout=BOUND)
    finally:
        if swapper.poll() is None:
            swapper.kill()
    assert out.strip() == "swapped", err
    assert identity(victim) == before, "root changed the symlink's target"
    assert proc.returncode == 74, proc.stderr
    assert "was replaced while being created" in proc.stderr or \
        "just created" in proc.stderr, proc.stderr
    assert v1 not in proc.stdout + proc.stderr and "CANARY-" not in proc.stdout + proc.stderr


def test_app_owned_tmpfs_dir_keeps_working(fake, write_config, base_env, secret_dir, probe):
    """--tmpfs /run/secrets:mode=0700,uid=APP with injector root and --user: files directly in
    it and in a directory injector creates (root's, 0750, the app's group)."""
    secret_dir.chmod(0o711)
    run_dir = app_owned(secret_dir / "run")
    cfg = write_config(f"""
        version: 1
        files:
          {run_dir}/db.json: secretPostgresqlMasterUser
          {run_dir}/sub/api: {{ from: api, key: token }}
        """)
    check = f"test -r {run_dir}/db.json && test -r {run_dir}/sub/api && " \
            f"! touch {run_dir}/sub/x 2>/dev/null"
    res = run(["-c", cfg, "--user", USER, "--", "/bin/sh", "-c", check], base_env)
    assert res.rc == 0, res
    for f in (run_dir / "db.json", run_dir / "sub" / "api"):
        st = os.stat(f)
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (APP, APP, 0o400)
    st = os.stat(run_dir / "sub")
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, APP, 0o750)
    assert (os.stat(run_dir).st_uid, stat.S_IMODE(os.stat(run_dir).st_mode)) == (APP, 0o700)


def test_parent_owned_by_a_third_user_is_refused(fake, write_config, base_env, secret_dir):
    """The app is 1000; the directory belongs to 65534: neither root nor the app."""
    d = secret_dir / "theirs"
    d.mkdir()
    os.chown(d, APP, APP)
    cfg = write_config(f"""
        version: 1
        files:
          {d}/db.json: secretPostgresqlMasterUser
        """)
    res = run(["-c", cfg, "--user", "1000:1000", "--", "true"], base_env)
    assert res.rc == 78, res
    assert f"directory {d} is owned by uid {APP}" in res.err, res
    assert os.listdir(d) == []
    # The same directory is fine when its owner is the app.
    res = run(["-c", cfg, "--user", USER, "--", "true"], base_env)
    assert res.rc == 0, res


def _bad_parent(secret_dir, kind):
    if kind == "symlink":
        real = secret_dir / "real"
        real.mkdir()
        os.symlink(real, secret_dir / "link")
        return secret_dir / "link" / "sub", real
    d = secret_dir / kind
    d.mkdir()
    if kind == "third-user":
        os.chown(d, 1000, 1000)
    elif kind == "group-writable":
        d.chmod(0o770)
    elif kind == "world-writable":
        d.chmod(0o777)
    return d / "sub", d


@pytest.mark.parametrize("kind", ["symlink", "third-user", "group-writable", "world-writable"])
def test_dry_run_refuses_what_the_run_refuses(fake, write_config, base_env, secret_dir, kind):
    target_dir, watched = _bad_parent(secret_dir, kind)
    cfg = write_config(f"""
        version: 1
        files:
          {target_dir}/db.json: secretPostgresqlMasterUser
        """)
    dry = run(["-c", cfg, "--dry-run"], base_env)
    real = run(["-c", cfg, "--", "true"], base_env)
    assert dry.rc == real.rc == 78, (dry, real)
    assert dry.err == real.err, (dry, real)
    assert os.listdir(watched) == [], "something was created"


def test_dry_run_creates_nothing(fake, write_config, base_env, secret_dir):
    cfg = write_config(f"""
        version: 1
        files:
          {secret_dir}/a/b/db.json: secretPostgresqlMasterUser
        """)
    res = run(["-c", cfg, "--dry-run"], base_env)
    assert res.rc == 0, res
    assert os.listdir(secret_dir) == []


FD_LISTER = ("import os, json\n"
             "links = []\n"
             "for n in os.listdir('/proc/self/fd'):\n"
             "    try:\n"
             "        links.append(os.readlink('/proc/self/fd/' + n))\n"
             "    except OSError:\n"
             "        pass\n"
             "open(os.environ['FD_OUT'], 'w').write(json.dumps(links))\n")


@pytest.mark.parametrize("mode", ["exec", "supervise"])
def test_app_inherits_no_directory_descriptor(fake, write_config, base_env, secret_dir,
                                              tmp_path, mode):
    """The directory descriptors (and a replaced file's) are close-on-exec: the app's
    /proc/self/fd holds none of them."""
    import json
    (secret_dir / "a").mkdir()
    (secret_dir / "a" / "db.json").write_text("old\n")   # replaced: its inode is kept
    out = tmp_path / "fds.json"
    env = dict(base_env, FD_OUT=str(out))
    cfg = write_config(f"""
        version: 1
        files:
          {secret_dir}/a/db.json: secretPostgresqlMasterUser
          {secret_dir}/b/c/api: {{ from: api, key: token }}
        """)
    args = ["--supervise"] if mode == "supervise" else []
    res = run(["-c", cfg] + args + ["--", sys.executable, "-c", FD_LISTER], env)
    assert res.rc == 0, res
    links = json.loads(out.read_text())
    assert not [fd for fd in links if fd.startswith(str(secret_dir)) or fd == "/"], links


def test_supervise_closes_the_replaced_file_once_the_app_runs(fake, write_config, base_env,
                                                               secret_dir, tmp_path):
    """Issue 14 item 5: the replaced file's inode is kept only to undo a start that fails."""
    target = secret_dir / "db.json"
    target.write_text("old content\n")
    cfg = write_config(f"""
        version: 1
        files:
          {target}: secretPostgresqlMasterUser
        """)
    ready = tmp_path / "ready"
    inj = Injector(["-c", cfg, "--supervise", "--", "/bin/sh", "-c",
                    f"touch {ready}; exec sleep 600"], base_env, str(tmp_path))
    try:
        wait_for("app start", lambda: ready.exists(), inj)

        def kept():
            found = []
            for n in os.listdir(f"/proc/{inj.pid}/fd"):
                try:
                    link = os.readlink(f"/proc/{inj.pid}/fd/{n}")
                except OSError:
                    continue
                if link.startswith(str(target)):
                    found.append(link)
            return found
        # The start has happened (the app runs); allow the supervisor a moment to get there.
        deadline = time.monotonic() + BOUND
        while kept() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert kept() == [], "the replaced file is still open in injector"
        inj.kill(signal.SIGTERM)
        inj.finish()
    finally:
        inj.cleanup()
