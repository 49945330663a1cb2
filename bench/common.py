"""Shared by bench/bench.py and bench/storm.py: the local Secrets Manager endpoint
(tests/fake/sm_server.py, standalone, real TLS; it serves SSM Parameter Store on the same port)
and its control API, secrets / parameters and configs for N entries, and process timing with
max RSS (wait4). Debian's /usr/bin/python3 only."""
import http.client
import json
import os
import platform
import shutil
import signal
import ssl
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = "/usr/bin/python3"
FAKE = os.path.join(ROOT, "tests", "fake", "sm_server.py")
BENCH_PREFIX = "bench/app"
SSM_PREFIX = "/bench"


class Fake:
    """The fake endpoint as a separate process (so its CPU is not ours), over TLS.
    service_ms: each AWS request's own time at the endpoint (the realistic profile)."""

    def __init__(self, workdir, rate_limits=None, service_ms=0.0, name="fake"):
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        args = [PY, FAKE, "--dir", self.dir]
        if service_ms:
            args += ["--service-time", str(service_ms)]
        for action, rps in (rate_limits or {}).items():
            args += ["--rate-limit", f"{action}={rps}"]
        self.log = open(os.path.join(self.dir, "server.log"), "w")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("READY "):
            self.stop()
            raise RuntimeError(f"fake endpoint did not start (see {self.dir}/server.log)")
        self.port = int(line.split()[1])
        self.env = {}
        with open(os.path.join(self.dir, "env")) as f:
            for ln in f:
                k, _, v = ln.strip()[len("export "):].partition("=")
                self.env[k] = v[1:-1].replace("'\\''", "'")
        self.ca = self.env["AWS_CA_BUNDLE"]
        self._ctx = ssl.create_default_context(cafile=self.ca)
        self._conn = None

    def _connect(self):
        self._conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self._ctx,
                                                 timeout=30)

    def ctl(self, method, name, body=None):
        """Calls a control endpoint on one kept-alive connection. Returns (answer, reconnected):
        a reconnection is one more TLS handshake in the server's counters, not the client's."""
        reconnected = False
        for attempt in range(2):
            if self._conn is None:
                self._connect()
                reconnected = True
            try:
                self._conn.request(method, "/__fake/" + name,
                                   body=json.dumps(body) if body is not None else None)
                resp = self._conn.getresponse()
                data = resp.read()
                if resp.status != 200:
                    raise RuntimeError(f"fake {name}: HTTP {resp.status}: {data[:200]!r}")
                return json.loads(data), reconnected
            except (http.client.HTTPException, OSError):
                self._conn.close()
                self._conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def stats(self):
        return self.ctl("GET", "stats")

    def add_secret(self, name, string):
        return self.ctl("POST", "add_secret", {"name": name, "string": string})[0]["arn"]

    def put_parameter(self, name, value, ptype="SecureString"):
        return self.ctl("POST", "put_parameter",
                        {"name": name, "value": value, "type": ptype})[0]["version"]

    def stop(self):
        if self._conn is not None:
            self._conn.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Relay:
    """bench/delay_relay.py in front of a Fake: every chunk each way half a round trip late.
    url is what clients use instead of the fake's own."""

    def __init__(self, workdir, target_port, rtt_ms):
        self.log = open(os.path.join(workdir, "relay.log"), "w")
        self.proc = subprocess.Popen([PY, os.path.join(ROOT, "bench", "delay_relay.py"),
                                      "--target-port", str(target_port), "--rtt-ms", str(rtt_ms)],
                                     stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("READY "):
            self.stop()
            raise RuntimeError("delay relay did not start (see relay.log)")
        self.port = int(line.split()[1])
        self.url = f"https://127.0.0.1:{self.port}"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Counter:
    """API calls and TLS handshakes the endpoint saw between start() and stop()."""

    def __init__(self, fake):
        self.fake = fake

    def __enter__(self):
        self.before, _ = self.fake.stats()
        return self

    def __exit__(self, *exc):
        after, reconnected = self.fake.stats()
        self.calls = after["total_requests"] - self.before["total_requests"]
        self.by_action = {k: v - self.before["requests_by_action"].get(k, 0)
                          for k, v in after["requests_by_action"].items()
                          if v != self.before["requests_by_action"].get(k, 0)}
        self.handshakes = after["handshakes"] - self.before["handshakes"] - int(reconnected)
        self.throttled = (after["errors_by_type"].get("ThrottlingException", 0)
                          - self.before["errors_by_type"].get("ThrottlingException", 0))
        return False


def secret_value(i):
    """A typical database credential secret (about 150 bytes of JSON)."""
    return json.dumps({"engine": "postgres", "host": f"db-{i:03d}.example.internal",
                       "port": 5432, "username": f"app_{i:03d}",
                       "password": f"pw-{i:03d}-Zr8fT1qLm0vXy7KsP2dW", "dbname": "app"})


def seed_secrets(fake, n):
    """Adds n secrets BENCH_PREFIX/NNN; returns their names."""
    names = [f"{BENCH_PREFIX}/{i:03d}" for i in range(n)]
    for i, name in enumerate(names):
        fake.add_secret(name, secret_value(i))
    return names


def parameter_value(i):
    """A typical SSM SecureString: one database password (no JSON around it)."""
    return f"pw-{i:03d}-Zr8fT1qLm0vXy7KsP2dW"


def seed_parameters(fake, n):
    """Adds n SecureString parameters SSM_PREFIX/pNNN; returns their names."""
    names = [f"{SSM_PREFIX}/p{i:03d}" for i in range(n)]
    for i, name in enumerate(names):
        fake.put_parameter(name, parameter_value(i))
    return names


def write_ssm_inputs(workdir, names, tag):
    """The same N parameters for every tool: an injector config (`from: ssm:NAME`, the short
    form) and a "VAR NAME" list for the boto3 wrapper and the CLI script. Returns (config
    path, list path)."""
    cfg = os.path.join(workdir, f"injector-ssm-{tag}.yaml")
    lst = os.path.join(workdir, f"parameters-{tag}.txt")
    with open(cfg, "w") as f:
        f.write("version: 1\nenv:\n")
        for i, name in enumerate(names):
            f.write(f"  DB_PASSWORD_{i:03d}: {{ from: \"ssm:{name}\" }}\n")
    with open(lst, "w") as f:
        for i, name in enumerate(names):
            f.write(f"DB_PASSWORD_{i:03d} {name}\n")
    return cfg, lst


def ssm_env(env, fake):
    """env for the SSM runs: the endpoint only as AWS_ENDPOINT_URL_SSM (the per-service
    variable), so nothing reaches SSM through the global one."""
    out = dict(env)
    out.pop("AWS_ENDPOINT_URL", None)
    out["AWS_ENDPOINT_URL_SSM"] = fake.env["AWS_ENDPOINT_URL"]
    return out


def write_inputs(workdir, names, tag):
    """The same N entries for every tool: an injector config and a "VAR ID KEY" list for the
    boto3 wrapper and the CLI script. Returns (config path, list path)."""
    cfg = os.path.join(workdir, f"injector-{tag}.yaml")
    lst = os.path.join(workdir, f"secrets-{tag}.txt")
    with open(cfg, "w") as f:
        f.write("version: 1\nenv:\n")
        for i, name in enumerate(names):
            f.write(f"  DB_PASSWORD_{i:03d}: {{ from: \"{name}\", key: password }}\n")
    with open(lst, "w") as f:
        for i, name in enumerate(names):
            f.write(f"DB_PASSWORD_{i:03d} {name} password\n")
    return cfg, lst


def clean_env(fake, home):
    """No AWS config from the outer world; the fake's endpoint, CA and keys."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": home, "LANG": "C.UTF-8",
           "AWS_EC2_METADATA_DISABLED": "true", "AWS_PAGER": "",
           "AWS_CONFIG_FILE": os.path.join(home, "aws-config"),
           "AWS_SHARED_CREDENTIALS_FILE": os.path.join(home, "aws-credentials")}
    os.makedirs(home, exist_ok=True)
    env.update(fake.env)
    return env


def run_once(argv, env, timeout=900):
    """Runs argv; returns (exit code, wall seconds, stderr text)."""
    t0 = time.perf_counter()
    r = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, timeout=timeout)
    return r.returncode, time.perf_counter() - t0, r.stderr.decode(errors="replace")


def max_rss_kib(argv, env, workdir, timeout=900):
    """Max RSS in KiB of argv's process tree (its largest process), via GNU time's wait4.
    Not measured from here: a child forked from this Python process starts as a copy of it,
    and the kernel keeps that copy's RSS as the child's high-water mark across exec."""
    out = os.path.join(workdir, "time-rss.txt")
    r = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", out] + list(argv), env=env,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed under /usr/bin/time: "
                           f"{r.stderr.decode(errors='replace')[-500:]}")
    with open(out) as f:
        return int(f.read().split()[-1])


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "unknown"


def machine():
    """What the numbers were measured on."""
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for ln in f:
                if ln.startswith("model name"):
                    cpu = ln.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    u = platform.uname()
    return {"uname": f"{u.system} {u.release} {u.version} {u.machine}", "cpu": cpu,
            "nproc": os.cpu_count(), "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}


def which(name, prefer=None):
    if prefer and os.access(prefer, os.X_OK):
        return prefer
    return shutil.which(name)


def percentile(sorted_vals, p):
    """Nearest-rank percentile of an ascending list."""
    if not sorted_vals:
        return float("nan")
    k = max(0, min(len(sorted_vals) - 1, int(round(p / 100.0 * len(sorted_vals) + 0.5)) - 1))
    return sorted_vals[k]


def die(msg):
    print(f"bench: {msg}", file=sys.stderr)
    sys.exit(1)


__all__ = ["Fake", "Relay", "Counter", "ROOT", "PY", "seed_secrets", "write_inputs", "clean_env",
           "seed_parameters", "write_ssm_inputs", "ssm_env",
           "run_once", "max_rss_kib", "loadavg", "machine", "which", "percentile", "die"]
