#!/usr/bin/python3
"""make bench-storm: a deploy starts hundreds of containers at once.

Secrets Manager run: 300 injector processes (--procs), 50 at a time (--parallel), each fetching
the same 10 secrets (--secrets), against the local endpoint throttling above fixed rates that
mirror the real quotas scaled down by the same factor (20): BatchGetSecretValue 100/s and
GetSecretValue 10,000/s per region become 5/s and 500/s (--batch-rps, --single-rps), answered
with ThrottlingException (HTTP 400) as AWS does.

SSM run (issue 15): the same processes, each reading 10 SecureString parameters (`from:
ssm:/bench/pNNN`, one GetParameters call of 10 names) against SSM's default throughput of 40
requests/s per account and region, shared by GetParameter, GetParameters and
GetParametersByPath, scaled down alike to 2/s (--ssm-rps; one bucket for the three actions).

Every process must succeed within the retry budget (AWS standard mode: 3 attempts,
full-jitter backoff); prints, per run, succeeded starts, p50/p99/max start latency, the calls
the endpoint saw (and per start), throttled answers and the retries injector made; the SSM
run's table also goes into bench/results.md (--results; its own section, the rest of the
file stays). --services picks the runs (default: sm,ssm). Exits 1 if any process failed."""
import argparse
import collections
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (ROOT, Fake, clean_env, die, loadavg, machine, percentile,  # noqa: E402
                    seed_parameters, seed_secrets, ssm_env, write_inputs, write_ssm_inputs)

SCALE = 20.0          # the real quotas divided by this (see the docstring)
STORM_BEGIN = "<!-- ssm-storm begin: written by storm.py (SSM run) -->"
STORM_END = "<!-- ssm-storm end -->"


def storm(args, service):
    """One run; returns a dict of what happened (printing is the caller's)."""
    workdir = tempfile.mkdtemp(prefix=f"injector-storm-{service}-")
    if service == "ssm":
        limits = {"ssm": args.ssm_rps}
    else:
        limits = {"BatchGetSecretValue": args.batch_rps, "GetSecretValue": args.single_rps}
    fake = Fake(workdir, rate_limits=limits)
    try:
        env = clean_env(fake, os.path.join(workdir, "home"))
        if args.max_attempts:
            env["AWS_MAX_ATTEMPTS"] = str(args.max_attempts)
        if service == "ssm":
            env = ssm_env(env, fake)
            names = seed_parameters(fake, args.secrets)
            cfg, _ = write_ssm_inputs(workdir, names, "storm")
        else:
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
                     for k, v in after["requests_by_action"].items()
                     if v != before["requests_by_action"].get(k, 0)}
        throttled = collections.Counter(r["action"] for r in reqs
                                        if r.get("error_type") == "ThrottlingException")
        retries = fallbacks = 0
        tails = {}
        for name in sorted(os.listdir(logs)):
            with open(os.path.join(logs, name)) as f:
                text = f.read()
            retries += text.count("retrying (attempt")
            fallbacks += text.count("GetSecretValue instead")
            tails[int(name[:4])] = text.strip().splitlines()[-1:]
        lat.sort()
        return {"service": service, "limits": limits, "load": f"{load0} -> {loadavg()}",
                "total": total, "lat": lat, "failed": failed, "by_action": by_action,
                "throttled": dict(throttled), "retries": retries, "fallbacks": fallbacks,
                "handshakes": after["handshakes"] - before["handshakes"], "tails": tails,
                "max_attempts": env.get("AWS_MAX_ATTEMPTS", "unset (3)")}
    finally:
        fake.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def report(args, r):
    lat, calls = r["lat"], sum(r["by_action"].values())
    if r["service"] == "ssm":
        what = (f"{args.secrets} SSM parameters each (from: ssm:); endpoint limit {args.ssm_rps:g}/s "
                f"shared by GetParameter/GetParameters/GetParametersByPath (SSM's 40/s scaled "
                f"down by {SCALE:g})")
    else:
        what = (f"{args.secrets} secrets each; endpoint limits BatchGetSecretValue "
                f"{args.batch_rps:g}/s, GetSecretValue {args.single_rps:g}/s (the real 100/s "
                "and 10,000/s scaled down alike)")
    tag = f"storm ({r['service']})"
    m = machine()
    print(f"{tag}: {args.procs} injector processes, {args.parallel} at a time, {what}; "
          f"AWS_MAX_ATTEMPTS {r['max_attempts']}")
    print(f"{tag}: {m['cpu']}, {m['nproc']} CPU(s), load {r['load']}, {m['date']}")
    print(f"{tag}: {args.procs - len(r['failed'])} of {args.procs} succeeded in "
          f"{r['total']:.1f} s")
    print(f"{tag}: start latency p50 {percentile(lat, 50) * 1000:.0f} ms, "
          f"p99 {percentile(lat, 99) * 1000:.0f} ms, max {lat[-1] * 1000:.0f} ms")
    print(f"{tag}: API calls {calls} ({calls / args.procs:.2f} per start): " +
          ", ".join(f"{k} {v}" for k, v in sorted(r["by_action"].items())))
    print(f"{tag}: throttled answers: " +
          (", ".join(f"{k} {v}" for k, v in sorted(r["throttled"].items())) or "none"))
    extra = (f"; processes that fell back from a throttled or denied batch call to "
             f"GetSecretValue: {r['fallbacks']}" if r["service"] == "sm" else "")
    print(f"{tag}: injector retries {r['retries']}{extra}; TLS handshakes {r['handshakes']}")
    for i, rc in r["failed"][:10]:
        print(f"{tag}: process {i} exited {rc}: {r['tails'].get(i)}", file=sys.stderr)


SSM_HEAD = ("| AWS_MAX_ATTEMPTS | processes (at a time) | quota /s | succeeded | wall s | "
            "p50 start ms | p99 start ms | max start ms | API calls per start | "
            "throttled answers | injector retries | TLS handshakes | measured (load) |")


def ssm_row(args, r):
    lat, calls = r["lat"], sum(r["by_action"].values())
    m = machine()
    return (f"| {r['max_attempts']} | {args.procs} ({args.parallel}) | {args.ssm_rps:g} | "
            f"{args.procs - len(r['failed'])} of {args.procs} | {r['total']:.1f} | "
            f"{percentile(lat, 50) * 1000:.0f} | {percentile(lat, 99) * 1000:.0f} | "
            f"{lat[-1] * 1000:.0f} | {calls / args.procs:.2f} ({calls} "
            + (", ".join(f"{k}" for k in sorted(r["by_action"])) or "calls") + ") | "
            f"{sum(r['throttled'].values())} | {r['retries']} | {r['handshakes']} | "
            f"{m['date']} ({r['load']}) |")


def ssm_block(rows):
    m = machine()
    return "\n".join([
        STORM_BEGIN, "## SSM storm (`make bench-storm`, issue 15)", "",
        f"On {m['cpu']}, {m['nproc']} CPU(s). Injector processes started N at a time, each "
        "reading 10 SecureString parameters (`from: ssm:`, endpoint in AWS_ENDPOINT_URL_SSM); "
        "the endpoint allows the quota's requests/s shared by the three SSM read actions (SSM's "
        f"default 40/s per account and region, scaled down by {SCALE:g} as the Secrets Manager "
        "storm's quotas are) and answers the excess with ThrottlingException (HTTP 400). One "
        "row per AWS_MAX_ATTEMPTS / processes / quota, the latest run of each.", "",
        SSM_HEAD, "|" + "---|" * SSM_HEAD.count(" | ") + "---|"] + rows + [STORM_END])


def splice(path, row):
    """Writes `row` into the SSM storm block of `path`, replacing a row with the same first
    three cells (settings); the rest of the file stays."""
    try:
        with open(path) as f:
            old = f.read()
    except FileNotFoundError:
        old = "# `make bench` results\n"
    key = row.split(" | ")[:3]
    rows = []
    if STORM_BEGIN in old and STORM_END in old:
        body = old.partition(STORM_BEGIN)[2].partition(STORM_END)[0]
        rows = [ln for ln in body.splitlines() if ln.startswith("| ") and ln != SSM_HEAD
                and ln.split(" | ")[:3] != key]
    block = ssm_block(rows + [row])
    if STORM_BEGIN in old and STORM_END in old:
        head, _, rest = old.partition(STORM_BEGIN)
        new = head + block + rest.partition(STORM_END)[2]
    else:
        new = old.rstrip("\n") + "\n\n" + block + "\n"
    with open(path, "w") as f:
        f.write(new)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--procs", type=int, default=300)
    ap.add_argument("--parallel", type=int, default=50)
    ap.add_argument("--secrets", type=int, default=10)
    ap.add_argument("--batch-rps", type=float, default=100.0 / SCALE)
    ap.add_argument("--single-rps", type=float, default=10000.0 / SCALE)
    ap.add_argument("--ssm-rps", type=float, default=40.0 / SCALE)
    ap.add_argument("--services", default="sm,ssm", help="sm, ssm or sm,ssm")
    ap.add_argument("--results", default=os.path.join(ROOT, "bench", "results.md"),
                    help="where the SSM run's table goes ('' for nowhere)")
    ap.add_argument("--injector", default=os.path.join(ROOT, "build", "injector"))
    ap.add_argument("--fetch", default=None, help="pass --fetch MODE to every process")
    ap.add_argument("--max-attempts", type=int, default=None,
                    help="AWS_MAX_ATTEMPTS for every process (default: standard mode's 3)")
    args = ap.parse_args()
    if not os.access(args.injector, os.X_OK):
        die(f"{args.injector} not built (make)")
    services = [s for s in args.services.split(",") if s]
    if not services or set(services) - {"sm", "ssm"}:
        die("--services: sm, ssm or sm,ssm")
    failed = False
    for service in services:
        r = storm(args, service)
        report(args, r)
        if service == "ssm" and args.results:
            splice(args.results, ssm_row(args, r))
            print(f"storm (ssm): table written to {os.path.relpath(args.results, ROOT)}",
                  file=sys.stderr)
        failed = failed or bool(r["failed"])
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
