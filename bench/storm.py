#!/usr/bin/python3
"""make bench-storm: a deploy starts hundreds of containers at once.

300 injector processes (--procs), 50 at a time (--parallel), each fetching the same 10
secrets (--secrets), against the local endpoint throttling above fixed rates that mirror the
real quotas scaled down by the same factor: BatchGetSecretValue 100/s and GetSecretValue
10,000/s per region become 5/s and 500/s (--batch-rps, --single-rps), answered with
ThrottlingException (HTTP 400) as AWS does. Every process must succeed within its start
deadline (60 s by default; throttles are retried until it, docs/throttling.md); prints
p50/p99/max start latency, the calls the endpoint saw (per start, against the minimum:
ceil(N/20) batch calls, or N GetSecretValue calls with --fetch single), the throttled answers
and the retries injector made. Exits 1 if any process failed."""
import argparse
import collections
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (ROOT, Fake, clean_env, die, loadavg, machine, percentile,  # noqa: E402
                    seed_secrets, write_inputs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--procs", type=int, default=300)
    ap.add_argument("--parallel", type=int, default=50)
    ap.add_argument("--secrets", type=int, default=10)
    ap.add_argument("--batch-rps", type=float, default=5.0)
    ap.add_argument("--single-rps", type=float, default=500.0)
    ap.add_argument("--injector", default=os.path.join(ROOT, "build", "injector"))
    ap.add_argument("--fetch", default=None, help="pass --fetch MODE to every process")
    ap.add_argument("--max-attempts", type=int, default=None,
                    help="AWS_MAX_ATTEMPTS for every process (default: standard mode's 3)")
    ap.add_argument("--retry-mode", default=None,
                    help="AWS_RETRY_MODE for every process (default: unset, standard)")
    args = ap.parse_args()
    if not os.access(args.injector, os.X_OK):
        die(f"{args.injector} not built (make)")

    workdir = tempfile.mkdtemp(prefix="injector-storm-")
    fake = Fake(workdir, rate_limits={"BatchGetSecretValue": args.batch_rps,
                                      "GetSecretValue": args.single_rps})
    try:
        env = clean_env(fake, os.path.join(workdir, "home"))
        if args.max_attempts:
            env["AWS_MAX_ATTEMPTS"] = str(args.max_attempts)
        if args.retry_mode:
            env["AWS_RETRY_MODE"] = args.retry_mode
        names = seed_secrets(fake, args.secrets)
        cfg, _ = write_inputs(workdir, names, "storm")
        logs = os.path.join(workdir, "logs")
        os.makedirs(logs)
        argv = [args.injector, "-v"] + (["--fetch", args.fetch] if args.fetch else []) + \
            ["-c", cfg, "--", "/bin/true"]
        before, _ = fake.stats()
        load0 = loadavg()

        running = {}          # pid -> (index, start, log file)
        lat = []
        failed = []
        nxt = 0
        t0 = time.perf_counter()
        while nxt < args.procs or running:
            while nxt < args.procs and len(running) < args.parallel:
                f = open(os.path.join(logs, f"{nxt:04d}.log"), "w")
                start = time.perf_counter()
                p = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=f)
                running[p.pid] = (nxt, start, f, p)
                nxt += 1
            pid, status = os.wait()
            end = time.perf_counter()
            if pid not in running:
                continue
            i, start, f, p = running.pop(pid)
            p.returncode = os.waitstatus_to_exitcode(status)
            f.close()
            lat.append(end - start)
            if p.returncode != 0:
                failed.append((i, p.returncode))
        total = time.perf_counter() - t0

        after, _ = fake.stats()
        reqs, _ = fake.ctl("GET", "requests")
        by_action = {k: v - before["requests_by_action"].get(k, 0)
                     for k, v in after["requests_by_action"].items()}
        throttled = collections.Counter(r["action"] for r in reqs
                                        if r.get("error_type") == "ThrottlingException")
        retries = fallbacks = 0
        for name in os.listdir(logs):
            with open(os.path.join(logs, name)) as f:
                text = f.read()
            retries += text.count("retrying (attempt")
            fallbacks += text.count("GetSecretValue instead")
        lat.sort()
        m = machine()
        print(f"storm: {args.procs} injector processes, {args.parallel} at a time, "
              f"{args.secrets} secrets each; endpoint limits BatchGetSecretValue "
              f"{args.batch_rps:g}/s, GetSecretValue {args.single_rps:g}/s "
              f"(the real 100/s and 10,000/s scaled down alike); "
              f"AWS_MAX_ATTEMPTS {env.get('AWS_MAX_ATTEMPTS', 'unset (3)')}, "
              f"AWS_RETRY_MODE {env.get('AWS_RETRY_MODE', 'unset (standard)')}, "
              f"--fetch {args.fetch or 'auto'}")
        print(f"storm: {m['cpu']}, {m['nproc']} CPU(s), load {load0} -> {loadavg()}, {m['date']}")
        print(f"storm: {args.procs - len(failed)} of {args.procs} succeeded in {total:.1f} s")
        print(f"storm: start latency p50 {percentile(lat, 50) * 1000:.0f} ms, "
              f"p99 {percentile(lat, 99) * 1000:.0f} ms, max {lat[-1] * 1000:.0f} ms")
        calls = sum(by_action.values())
        minimum = args.secrets if args.fetch == "single" or args.secrets < 2 else \
            math.ceil(args.secrets / 20)
        print(f"storm: API calls {calls}: " +
              ", ".join(f"{k} {v}" for k, v in sorted(by_action.items())) +
              f"; per start {calls / args.procs:.2f} (minimum {minimum})")
        print("storm: throttled answers: " +
              (", ".join(f"{k} {v}" for k, v in sorted(throttled.items())) or "none"))
        print(f"storm: injector retries {retries}; processes that fell back from a throttled or "
              f"denied batch call to GetSecretValue: {fallbacks}; TLS handshakes "
              f"{after['handshakes'] - before['handshakes']}")
        if failed:
            for i, rc in failed[:10]:
                with open(os.path.join(logs, f"{i:04d}.log")) as f:
                    tail = f.read().strip().splitlines()[-1:]
                print(f"storm: process {i} exited {rc}: {tail}", file=sys.stderr)
            sys.exit(1)
    finally:
        fake.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
