#!/usr/bin/python3
"""The app injector execs in tests: records what it was given (pid, argv, env, cwd, umask,
core limit, dumpable) as JSON into the file named by PROBE_OUT, then exits with PROBE_EXIT
(default 0).
Writing to a file rather than stdout keeps the app's view apart from injector's own output,
which the tests grep for leaked secrets."""
import ctypes
import json
import os
import resource
import sys

out = os.environ.get("PROBE_OUT")
mask = os.umask(0)
os.umask(mask)
record = {
    "pid": os.getpid(),
    "argv": sys.argv[1:],
    "env": dict(os.environ),
    "cwd": os.getcwd(),
    "umask": mask,
    "core": list(resource.getrlimit(resource.RLIMIT_CORE)),
    # prctl(PR_GET_DUMPABLE): execve resets it, so the app is debuggable again.
    "dumpable": ctypes.CDLL(None, use_errno=True).prctl(3, 0, 0, 0, 0),
    # Open descriptors: nothing of injector's (sockets, temp files) may reach the app.
    "fds": {},
}
for fd in os.listdir("/proc/self/fd"):
    try:
        record["fds"][fd] = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        pass
if out:
    with open(out, "w", encoding="utf-8", errors="surrogateescape") as f:
        json.dump(record, f)
sys.exit(int(os.environ.get("PROBE_EXIT", "0")))
