#!/usr/bin/python3
"""Issue 18 items 3 and 4 alone, injector only (minutes less than `make bench`): the CA store at
start (N=1, bundle file vs hashed directory, as bench.py's ca_store_cost builds them) and max
RSS at N=1 and N=100 (as bench.py measures it), local profile. Runs alternate between the two
CA stores so that load on the machine falls on both alike.
  bench/focus.py [--runs 30] BINARY...   (e.g. build/injector build/static/injector)
With --realistic, instead: N=1 and N=100 in bench.py's realistic profile (the endpoint takes
15 ms a request behind bench/delay_relay.py, 4 ms round trip), Secrets Manager and SSM, runs
alternating between the binaries and sizes; also max RSS and the endpoint's counts at N=100.
With --page-cache, instead: max RSS at SM N=1, SM N=100 and SSM N=100, each binary run as built,
as a `cp` of it and as a copy written with O_DIRECT (how the page cache holds the file changes
how much of it the kernel maps around each fault).
Prints Markdown rows; nothing in here is a result."""
import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (Counter, Fake, Relay, clean_env, loadavg, max_rss_kib,  # noqa: E402
                    run_once, seed_parameters, seed_secrets, ssm_env, write_inputs,
                    write_ssm_inputs)

TRUE = "/bin/true"
SYSTEM = "/etc/ssl/certs/ca-certificates.crt"


def stores(wd, endpoint_ca):
    """The system bundle plus the endpoint's CA, as one file and as a hashed directory."""
    big = os.path.join(wd, "system-plus-endpoint.pem")
    with open(big, "wb") as out:
        for src in (SYSTEM, endpoint_ca):
            with open(src, "rb") as f:
                out.write(f.read())
    d = os.path.join(wd, "system-plus-endpoint.d")
    os.mkdir(d)
    for name in os.listdir("/etc/ssl/certs"):
        if name.endswith(".0") or name.endswith(".1"):
            os.symlink(os.path.realpath(os.path.join("/etc/ssl/certs", name)),
                       os.path.join(d, name))
    h = subprocess.run(["openssl", "x509", "-hash", "-noout", "-in", endpoint_ca], check=True,
                       capture_output=True, text=True).stdout.strip()
    k = 0
    while os.path.lexists(os.path.join(d, f"{h}.{k}")):
        k += 1
    shutil.copy(endpoint_ca, os.path.join(d, f"{h}.{k}"))
    return big, d


def timed(argv, env):
    """Wall and CPU (user + system of the child, wait4's rusage) seconds of one run."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    rc, wall, err = run_once(argv, env)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if rc != 0:
        sys.exit(f"{argv[0]} failed (exit {rc}): {err.strip()[-500:]}")
    return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def realistic(args):
    """N=1 and N=100, each service, each binary, in the realistic profile."""
    wd = tempfile.mkdtemp(prefix="injector-focus-")
    fake = Fake(wd, service_ms=15.0, name="fake-realistic")
    relay = Relay(fake.dir, fake.port, 4.0)
    load0 = loadavg()
    try:
        base = clean_env(fake, os.path.join(wd, "home"))
        sm_env = dict(base, AWS_ENDPOINT_URL=relay.url)
        p_env = dict(ssm_env(base, fake), AWS_ENDPOINT_URL_SSM=relay.url)
        cases = {"Secrets Manager": (sm_env, seed_secrets(fake, 100), write_inputs),
                 "SSM": (p_env, seed_parameters(fake, 100), write_ssm_inputs)}
        print("| binary | service | N=1 median / min ms | N=100 median / min ms | "
              "N=100 / N=1 (median, min) | N=100: API calls / TLS handshakes / max RSS KiB |")
        print("|---|---|---|---|---|---|")
        for svc, (env, names, write) in cases.items():
            cfg = {n: write(wd, names[:n], f"real-{svc[:3]}-{n}")[0] for n in (1, 100)}
            got = {}
            for b in args.binaries:
                argv = [b, "-c", cfg[100], "--", TRUE]
                with Counter(fake) as c:
                    timed(argv, env)
                got[b, "n100"] = (c.calls, c.handshakes, max_rss_kib(argv, env, wd))
            for i in range(args.warmup + args.runs):
                for b in args.binaries:
                    for n in (1, 100):
                        w, _ = timed([b, "-c", cfg[n], "--", TRUE], env)
                        if i >= args.warmup:
                            got.setdefault((b, n), []).append(w * 1000.0)
            for b in args.binaries:
                m1, m100 = statistics.median(got[b, 1]), statistics.median(got[b, 100])
                lo1, lo100 = min(got[b, 1]), min(got[b, 100])
                calls, hs, rss = got[b, "n100"]
                print(f"| {b} | {svc} | {m1:.1f} / {lo1:.1f} | {m100:.1f} / {lo100:.1f} | "
                      f"{m100 / m1:.2f}, {lo100 / lo1:.2f} | {calls} / {hs} / {rss} |", flush=True)
        print(f"\n{args.runs} runs each after {args.warmup} warm-up; load {load0} -> {loadavg()}")
    finally:
        relay.stop()
        fake.stop()
        shutil.rmtree(wd, ignore_errors=True)


def copies(wd, binary):
    """binary as the page cache may hold it: the file itself (as its writer left it), a `cp`
    (write(2): large folios), and a copy written with O_DIRECT (nothing cached: the first run
    reads it from disk). (label, path) each."""
    out = [("as built", binary)]
    cp = os.path.join(wd, "copy-cp")
    shutil.copyfile(binary, cp)
    dio = os.path.join(wd, "copy-odirect")
    subprocess.run(["dd", f"if={binary}", f"of={dio}", "bs=1M", "oflag=direct", "status=none"],
                   check=True)
    for p in (cp, dio):
        os.chmod(p, 0o755)
    return out + [("cp", cp), ("O_DIRECT", dio)]


def page_cache(args):
    """Max RSS (3 runs) of each binary at Secrets Manager N=1, N=100 and SSM N=100, the binary
    held in the page cache three ways (copies)."""
    wd = tempfile.mkdtemp(prefix="injector-focus-")
    fake = Fake(wd)
    try:
        env = clean_env(fake, os.path.join(wd, "home"))
        secrets, params = seed_secrets(fake, 100), seed_parameters(fake, 100)
        runs = [("SM N=1", env, write_inputs(wd, secrets[:1], "pc-1")[0]),
                ("SM N=100", env, write_inputs(wd, secrets, "pc-100")[0]),
                ("SSM N=100", ssm_env(env, fake), write_ssm_inputs(wd, params, "pc-p100")[0])]
        print("| binary | page cache | " + " | ".join(f"{r[0]} max RSS KiB" for r in runs) + " |")
        print("|---|---|" + "---|" * len(runs))
        for i, b in enumerate(args.binaries):
            bd = os.path.join(wd, f"bin{i}")
            os.mkdir(bd)
            for label, path in copies(bd, b):
                cells = [" / ".join(str(max_rss_kib([path, "-c", cfg, "--", TRUE], e, wd))
                                    for _ in range(3)) for _, e, cfg in runs]
                print(f"| {b} | {label} | " + " | ".join(cells) + " |", flush=True)
    finally:
        fake.stop()
        shutil.rmtree(wd, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--realistic", action="store_true",
                    help="N=1 vs N=100 in the realistic profile, Secrets Manager and SSM")
    ap.add_argument("--page-cache", action="store_true",
                    help="max RSS only, each binary held in the page cache three ways")
    ap.add_argument("binaries", nargs="+")
    args = ap.parse_args()
    if args.realistic:
        realistic(args)
        return
    if args.page_cache:
        page_cache(args)
        return
    wd = tempfile.mkdtemp(prefix="injector-focus-")
    fake = Fake(wd)
    load0 = loadavg()
    try:
        env = clean_env(fake, os.path.join(wd, "home"))
        names = seed_secrets(fake, 100)
        print("| binary | N | max RSS KiB (3 runs) | API calls | TLS handshakes |")
        print("|---|---|---|---|---|")
        for b in args.binaries:
            for n in (1, 100):
                cfg, _ = write_inputs(wd, names[:n], f"focus-{n}")
                argv = [b, "-c", cfg, "--", TRUE]
                with Counter(fake) as c:
                    timed(argv, env)
                rss = [max_rss_kib(argv, env, wd) for _ in range(3)]
                print(f"| {b} | {n} | {' / '.join(str(r) for r in rss)} | {c.calls} | "
                      f"{c.handshakes} |", flush=True)
        big, d = stores(wd, env["AWS_CA_BUNDLE"])
        cfg, _ = write_inputs(wd, names[:1], "focus-ca")
        print()
        print("| binary | bundle file: median ms / min ms / CPU ms | hashed directory: median ms"
              " / min ms / CPU ms | bundle / directory (median, min, CPU) |")
        print("|---|---|---|---|")
        for b in args.binaries:
            envs = {}
            for how, extra in (("bundle", {"AWS_CA_BUNDLE": big}), ("dir", {"SSL_CERT_DIR": d})):
                e = dict(env)
                e.pop("AWS_CA_BUNDLE")
                e.update(extra)
                envs[how] = e
            got = {"bundle": [], "dir": []}
            argv = [b, "-c", cfg, "--", TRUE]
            for i in range(args.warmup + args.runs):
                for how in ("bundle", "dir"):
                    w, cpu = timed(argv, envs[how])
                    if i >= args.warmup:
                        got[how].append((w * 1000.0, cpu * 1000.0))
            s = {how: (statistics.median(w for w, _ in v), min(w for w, _ in v),
                       statistics.mean(c for _, c in v)) for how, v in got.items()}
            print(f"| {b} | {s['bundle'][0]:.2f} / {s['bundle'][1]:.2f} / {s['bundle'][2]:.2f} | "
                  f"{s['dir'][0]:.2f} / {s['dir'][1]:.2f} / {s['dir'][2]:.2f} | "
                  f"{s['bundle'][0] / s['dir'][0]:.2f}, {s['bundle'][1] / s['dir'][1]:.2f}, "
                  f"{s['bundle'][2] / s['dir'][2]:.2f} |", flush=True)
        print(f"\n{args.runs} runs each after {args.warmup} warm-up; load {load0} -> {loadavg()}")
    finally:
        fake.stop()
        shutil.rmtree(wd, ignore_errors=True)


if __name__ == "__main__":
    main()
