#!/usr/bin/python3
"""The app that `injector --supervise` runs in tests/integration/test_supervise.py. It records
what happens to it as JSON lines in APP_LOG (never on stdout/stderr: those are injector's
output, which the tests grep for secrets):

  {"event": "start", pid, ppid, pgid, uid, gid, groups, env: {NAME: value}, file, prev_alive}
  {"event": "signal", "sig": "SIGHUP", pid, file}     (file re-read after the signal)
  {"event": "exit", pid, "sig": ...}
  {"event": "orphan", pid, ppid}                      (an orphan, after its parent is gone)
  {"event": "reaped", ok}                             (APP_WAIT_REAPED: orphans gone from /proc)
  {"event": "psql", ok, out}                          (APP_PSQL: a login with PGUSER/PGPASSWORD)
  {"event": "setuid0", ok}                            (APP_TRY_ROOT: could it become root again)

Environment: APP_LOG (required), APP_ENV (comma-separated names to record), APP_FILE (a file
to read at start and after each signal), APP_EXIT_ON (signal name that ends it, default
SIGTERM), APP_EXIT_CODE (default 0), APP_ORPHANS (how many orphans to leave), APP_GROUP_CHILD
(1: a child in the same process group that records its signals too; APP_GROUP_CHILD_EXIT_ON:
its own APP_EXIT_ON), APP_PSQL (port)."""
import json
import os
import signal
import subprocess
import sys
import time

LOG = os.environ["APP_LOG"]
SIGNALS = ["SIGTERM", "SIGINT", "SIGHUP", "SIGUSR1", "SIGUSR2", "SIGQUIT", "SIGWINCH"]
EXIT_ON = os.environ.get("APP_EXIT_ON", "SIGTERM")
EXIT_CODE = int(os.environ.get("APP_EXIT_CODE", "0"))
WHO = os.environ.get("APP_WHO", "app")


def record(**kw):
    kw.setdefault("pid", os.getpid())
    kw["who"] = WHO
    line = json.dumps(kw) + "\n"
    fd = os.open(LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def read_file():
    path = os.environ.get("APP_FILE")
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as e:
        return f"<error {e.errno}>"


def previous_alive():
    """Whether the previous generation (the last start in the log) still exists."""
    prev = None
    try:
        with open(LOG) as f:
            for line in f:
                ev = json.loads(line)
                if ev.get("event") == "start" and ev.get("who") == WHO:
                    prev = ev["pid"]
    except FileNotFoundError:
        return None
    if prev is None:
        return None
    return os.path.exists(f"/proc/{prev}")


def earlier_alive():
    """Pids of every process (app or group child) that started before this one and still
    exists: with --pgroup, a restart must wait for the whole old group."""
    pids = []
    try:
        with open(LOG) as f:
            for line in f:
                ev = json.loads(line)
                if ev.get("event") == "start" and os.path.exists(f"/proc/{ev['pid']}"):
                    pids.append(ev["pid"])
    except FileNotFoundError:
        pass
    return pids


def on_signal(signo, frame):
    name = signal.Signals(signo).name
    if name == EXIT_ON:
        record(event="exit", sig=name)
        sys.exit(EXIT_CODE)
    record(event="signal", sig=name, file=read_file())


def leave_orphans(n):
    pids = []
    for _ in range(n):
        r, w = os.pipe()
        mid = os.fork()
        if mid == 0:
            os.close(r)
            middle = os.getpid()
            gc = os.fork()
            if gc == 0:
                while os.getppid() == middle:      # until the middle process is gone
                    time.sleep(0.01)
                record(event="orphan", ppid=os.getppid())
                time.sleep(0.1)
                os._exit(0)
            os.write(w, str(gc).encode())
            os._exit(0)                            # the grandchild is an orphan now
        os.close(w)
        pids.append(int(os.read(r, 32)))
        os.close(r)
        os.waitpid(mid, 0)
    return pids


def main():
    prev = previous_alive()
    for name in SIGNALS:
        signal.signal(getattr(signal, name), on_signal)
    alive = earlier_alive()
    if os.environ.get("APP_GROUP_CHILD") and WHO == "app":
        env = dict(os.environ, APP_WHO="groupchild", APP_GROUP_CHILD="",
                   APP_EXIT_ON=os.environ.get("APP_GROUP_CHILD_EXIT_ON", EXIT_ON))
        subprocess.Popen([sys.executable, os.path.abspath(__file__)], env=env)
    env = {n: os.environ.get(n) for n in os.environ.get("APP_ENV", "").split(",") if n}
    if os.environ.get("APP_PSQL"):
        r = subprocess.run(["psql", "-X", "-w", "-h", "127.0.0.1", "-p", os.environ["APP_PSQL"],
                            "-d", "postgres", "-At", "-c", "select current_user"],
                           capture_output=True, text=True)
        # The output is the user name only; the error text never holds the password.
        record(event="psql", ok=r.returncode == 0, out=r.stdout.strip(),
               err=r.stderr.strip()[-300:])
    record(event="start", ppid=os.getppid(), pgid=os.getpgrp(), uid=os.getuid(),
           gid=os.getgid(), groups=os.getgroups(), env=env, file=read_file(), prev_alive=prev,
           alive_before=alive)
    if os.environ.get("APP_TRY_ROOT"):
        try:
            os.setuid(0)
            record(event="setuid0", ok=True)
        except PermissionError:
            record(event="setuid0", ok=False)
    orphans = leave_orphans(int(os.environ.get("APP_ORPHANS", "0")))
    if orphans and os.environ.get("APP_WAIT_REAPED"):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and any(os.path.exists(f"/proc/{p}") for p in orphans):
            time.sleep(0.02)
        record(event="reaped", ok=not any(os.path.exists(f"/proc/{p}") for p in orphans),
               orphans=orphans)
    elif orphans:
        record(event="orphans", orphans=orphans)
    while True:
        time.sleep(0.05)


if __name__ == "__main__":
    main()
