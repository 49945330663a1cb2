#!/usr/bin/python3
"""make bench: injector against what users run today, side by side, for N = 1, 10, 100 secrets.

Starts the local Secrets Manager endpoint (tests/fake/sm_server.py) over TLS as its own
process, seeds N secrets, and for each N runs:
  injector         build/injector (dynamic), then exec /bin/true
  injector-static  build/static/injector (`make static`), when it exists
  boto3            bench/boto3_wrapper.py: boto3 get_secret_value per secret, exec /bin/true
  aws-cli          bench/aws_cli_entrypoint.sh: `aws secretsmanager get-secret-value` per secret
  curl             one signed GetSecretValue POST (--aws-sigv4): the floor for one secret
SSM Parameter Store (--services ssm, or both: the default), for N = 1, 10, 100 parameters
(--ssm-sizes; SecureStrings /bench/pNNN, config `from: ssm:/bench/pNNN`, the endpoint only in
AWS_ENDPOINT_URL_SSM):
  injector         as above; GetParameters batches of 10 names, ceil(N/10) calls
  injector-static  as above
  boto3            bench/boto3_ssm_wrapper.py: get_parameters per 10 names, one after another
  aws-cli          bench/aws_cli_ssm_entrypoint.sh: `aws ssm get-parameters` per 10 names
  curl             one signed GetParameters POST for one name: the floor for one call
With --services ssm only the SSM section of bench/results.md is replaced; the rest stays.
Wall time: median and min over --runs runs (hyperfine when installed, else a loop here).
Max RSS: GNU time's %M (wait4) over three runs: the largest process of the tree. API calls and TLS
handshakes: the endpoint's counters around one run. The table goes to stdout and to
bench/results.md with the machine it ran on. Nothing in here is a result: all is measured."""
import argparse
import json
import math
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (PY, ROOT, Counter, Fake, clean_env, die, loadavg, machine,  # noqa: E402
                    max_rss_kib, run_once, seed_parameters, seed_secrets, ssm_env, which,
                    write_inputs, write_ssm_inputs)

BENCH = os.path.join(ROOT, "bench")
TRUE = "/bin/true"
SSM_BEGIN = "<!-- ssm-bench begin: written by bench.py (SSM part) -->"
SSM_END = "<!-- ssm-bench end -->"


def parse_runs(spec, default):
    """"1:20,100:3" -> {1: 20, 100: 3}; sizes not named get default."""
    out = {}
    for part in filter(None, (spec or "").split(",")):
        n, _, r = part.partition(":")
        out[int(n)] = int(r)
    return lambda n: out.get(n, default)


def tool_list(args, env):
    tools = [{"key": "injector", "label": "injector (dynamic)",
              "argv": lambda cfg, lst, n: [args.injector, "-c", cfg, "--", TRUE]}]
    if os.access(args.static, os.X_OK):
        tools.append({"key": "injector-static", "label": "injector (static)",
                      "argv": lambda cfg, lst, n: [args.static, "-c", cfg, "--", TRUE]})
    tools.append({"key": "boto3", "label": "boto3 wrapper",
                  "argv": lambda cfg, lst, n: [PY, os.path.join(BENCH, "boto3_wrapper.py"), lst,
                                               TRUE]})
    tools.append({"key": "aws-cli", "label": "aws CLI script", "cli": True,
                  "argv": lambda cfg, lst, n: [os.path.join(BENCH, "aws_cli_entrypoint.sh"), lst,
                                               TRUE]})
    tools.append({"key": "curl", "label": "curl, 1 GetSecretValue (floor)",
                  "argv": lambda cfg, lst, n: [
                      args.curl, "-sS", "--fail", "-o", "/dev/null",
                      "--aws-sigv4", f"aws:amz:{env['AWS_REGION']}:secretsmanager",
                      "--user", f"{env['AWS_ACCESS_KEY_ID']}:{env['AWS_SECRET_ACCESS_KEY']}",
                      "--cacert", env["AWS_CA_BUNDLE"],
                      "-H", "Content-Type: application/x-amz-json-1.1",
                      "-H", "X-Amz-Target: secretsmanager.GetSecretValue",
                      "--data-binary", "@" + args.curl_body, env["AWS_ENDPOINT_URL"]]})
    return tools


def ssm_tool_list(args, env):
    """The SSM rows' tools; env: the SSM environment (AWS_ENDPOINT_URL_SSM only)."""
    tools = [{"key": "injector", "label": "injector (dynamic)",
              "argv": lambda cfg, lst, n: [args.injector, "-c", cfg, "--", TRUE]}]
    if os.access(args.static, os.X_OK):
        tools.append({"key": "injector-static", "label": "injector (static)",
                      "argv": lambda cfg, lst, n: [args.static, "-c", cfg, "--", TRUE]})
    tools.append({"key": "boto3", "label": "boto3 get_parameters wrapper",
                  "argv": lambda cfg, lst, n: [PY, os.path.join(BENCH, "boto3_ssm_wrapper.py"),
                                               lst, TRUE]})
    tools.append({"key": "aws-cli", "label": "aws CLI script (ssm get-parameters)", "cli": True,
                  "argv": lambda cfg, lst, n: [os.path.join(BENCH, "aws_cli_ssm_entrypoint.sh"),
                                               lst, TRUE]})
    tools.append({"key": "curl", "label": "curl, 1 GetParameters of 1 name (floor)",
                  "argv": lambda cfg, lst, n: [
                      args.curl, "-sS", "--fail", "-o", "/dev/null",
                      "--aws-sigv4", f"aws:amz:{env['AWS_REGION']}:ssm",
                      "--user", f"{env['AWS_ACCESS_KEY_ID']}:{env['AWS_SECRET_ACCESS_KEY']}",
                      "--cacert", env["AWS_CA_BUNDLE"],
                      "-H", "Content-Type: application/x-amz-json-1.1",
                      "-H", "X-Amz-Target: AmazonSSM.GetParameters",
                      "--data-binary", "@" + args.curl_ssm_body, env["AWS_ENDPOINT_URL_SSM"]]})
    return tools


def ssm_targets(rows, sizes):
    """Issue 15's bench target: ceil(N/10) GetParameters calls per start. (text, met)"""
    get = {(r["n"], r["key"]): r for r in rows}
    out = []
    for key in ("injector", "injector-static"):
        name = "static" if key == "injector-static" else "dynamic"
        for n in sizes:
            if (n, key) not in get:
                continue
            r = get[(n, key)]
            want = math.ceil(n / 10)
            got = r["by_action"].get("GetParameters", 0)
            out.append((f"N={n}, {name}: {r['calls']} API calls, {got} GetParameters (target "
                        f"{want} GetParameters, nothing else)", got == want == r["calls"]))
    return out


def run_ssm(args, fake, base_env, workdir):
    """Measures the SSM rows; returns (rows, tools)."""
    env = ssm_env(base_env, fake)
    sizes = args.ssm_sizes
    names = seed_parameters(fake, max(sizes))
    args.curl_ssm_body = os.path.join(workdir, "get-parameters.json")
    with open(args.curl_ssm_body, "w") as f:
        json.dump({"Names": names[:1], "WithDecryption": True}, f)
    tools = ssm_tool_list(args, env)
    cli_runs = parse_runs(args.cli_runs, args.runs)
    rows = []
    for n in sizes:
        cfg, lst = write_ssm_inputs(workdir, names[:n], str(n))
        for t in tools:
            runs = cli_runs(n) if t.get("cli") else args.runs
            warmup = 0 if t.get("cli") and n >= 100 else (1 if t.get("cli") else args.warmup)
            print(f"bench: SSM N={n} {t['label']}: {runs} runs ...", file=sys.stderr, flush=True)
            row = measure(t, t["argv"](cfg, lst, n), env, runs, warmup, args, workdir)
            row["n"] = n
            rows.append(row)
    return rows, tools


def ssm_section(rows, tools, sizes, m, load, ver):
    have_static = any(t["key"] == "injector-static" for t in tools)
    text = [SSM_BEGIN, "## SSM Parameter Store (issue 15)", "",
            f"Measured {m['date']} on {m['cpu']}, {m['nproc']} CPU(s); load {load}. Same "
            "endpoint process and timing as above; N SecureString parameters read with "
            "decryption; injector's config uses `from: ssm:/bench/pNNN` and the endpoint is "
            "given only as AWS_ENDPOINT_URL_SSM.", "",
            "Versions: " + "; ".join(f"{k}: {v}" for k, v in ver.items()), "",
            table(rows, sizes, have_static), "", "### Targets (issue 15)", ""]
    text += [f"- {'met' if ok else 'MISSED'}: {t}" for t, ok in ssm_targets(rows, sizes)]
    text += ["", "- TLS handshakes: how many connections the start opened (concurrent batches "
             "may use one each).",
             "- The boto3 wrapper and the CLI script fetch their batches one after another, as "
             "such entrypoints do; curl does one GetParameters of one name whatever N is."]
    if not have_static:
        text.append("- injector (static) skipped: build/static/injector does not exist "
                    "(make static).")
    text.append(SSM_END)
    return text


def splice_ssm(old_text, block):
    """old_text with its SSM block replaced by `block` (appended when it had none)."""
    if SSM_BEGIN in old_text and SSM_END in old_text:
        head, _, rest = old_text.partition(SSM_BEGIN)
        _, _, tail = rest.partition(SSM_END)
        return head + block + tail
    return old_text.rstrip("\n") + "\n\n" + block + "\n"


def time_hyperfine(argv, env, runs, warmup, workdir):
    out = os.path.join(workdir, "hyperfine.json")
    cmd = ["hyperfine", "-N", "--style", "none", "--runs", str(runs), "--warmup", str(warmup),
           "--export-json", out, shlex.join(argv)]
    r = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        die(f"hyperfine failed for {argv[0]}: {r.stderr.strip()[-500:]}")
    with open(out) as f:
        return json.load(f)["results"][0]["times"]


def time_loop(argv, env, runs, warmup):
    times = []
    for i in range(warmup + runs):
        rc, wall, err = run_once(argv, env)
        if rc != 0:
            die(f"{argv[0]} failed (exit {rc}): {err.strip()[-500:]}")
        if i >= warmup:
            times.append(wall)
    return times


def measure(tool, argv, env, runs, warmup, args, workdir):
    # One counted run first: it must succeed, and the endpoint's counters say what it cost.
    with Counter(args.fake) as c:
        rc, _, err = run_once(argv, env)
    if rc != 0:
        die(f"{tool['label']} failed (exit {rc}): {err.strip()[-800:]}")
    rss = max(max_rss_kib(argv, env, workdir) for _ in range(3 if not tool.get("cli") else 1))
    if args.hyperfine:
        times = time_hyperfine(argv, env, runs, warmup, workdir)
    else:
        times = time_loop(argv, env, runs, warmup)
    return {"key": tool["key"], "label": tool["label"], "runs": len(times),
            "median_ms": statistics.median(times) * 1000.0, "min_ms": min(times) * 1000.0,
            "rss_kib": rss, "calls": c.calls, "by_action": c.by_action,
            "handshakes": c.handshakes}


def ca_store_cost(args, env, cfg, workdir):
    """What the system CA store costs at start: injector at N=1 with Debian's bundle (plus the
    endpoint's CA) as a file, which OpenSSL parses whole, and as a hashed directory, from which
    it reads only the issuer it needs (injector's default when /etc/ssl/certs is hashed)."""
    system = "/etc/ssl/certs/ca-certificates.crt"
    if not os.path.exists(system):
        return []
    big = os.path.join(workdir, "system-plus-endpoint.pem")
    with open(big, "wb") as out:
        for src in (system, env["AWS_CA_BUNDLE"]):
            with open(src, "rb") as f:
                out.write(f.read())
    d = os.path.join(workdir, "system-plus-endpoint.d")
    os.mkdir(d)
    for name in os.listdir("/etc/ssl/certs"):
        if name.endswith(".0") or name.endswith(".1"):
            os.symlink(os.path.realpath(os.path.join("/etc/ssl/certs", name)),
                       os.path.join(d, name))
    h = subprocess.run(["openssl", "x509", "-hash", "-noout", "-in", env["AWS_CA_BUNDLE"]],
                       check=True, capture_output=True, text=True).stdout.strip()
    k = 0
    while os.path.lexists(os.path.join(d, f"{h}.{k}")):  # OpenSSL tries .0, .1, ... in turn
        k += 1
    shutil.copy(env["AWS_CA_BUNDLE"], os.path.join(d, f"{h}.{k}"))
    rows = []
    bins = [("injector (dynamic)", args.injector)]
    if os.access(args.static, os.X_OK):
        bins.append(("injector (static)", args.static))
    for label, binary in bins:
        for how, extra in ((f"bundle file ({system} + endpoint CA)", {"AWS_CA_BUNDLE": big}),
                           ("hashed directory (/etc/ssl/certs + endpoint CA)",
                            {"SSL_CERT_DIR": d})):
            e = dict(env)
            e.pop("AWS_CA_BUNDLE")
            e.update(extra)
            argv = [binary, "-c", cfg, "--", TRUE]
            print(f"bench: CA store: {label}, {how} ...", file=sys.stderr, flush=True)
            if args.hyperfine:
                times = time_hyperfine(argv, e, args.runs, args.warmup, workdir)
            else:
                times = time_loop(argv, e, args.runs, args.warmup)
            rows.append((label, how, statistics.median(times) * 1000.0, min(times) * 1000.0,
                         len(times)))
    return rows


def syscall_count(argv, env, workdir):
    """Syscalls of one run (strace -f -c; the exec'd /bin/true's included), or None."""
    if not shutil.which("strace"):
        return None
    out = os.path.join(workdir, "strace.txt")
    r = subprocess.run(["strace", "-f", "-c", "-o", out] + argv, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if r.returncode != 0:
        return None
    with open(out) as f:
        for line in f:
            if line.rstrip().endswith(" total"):
                return int(line.split()[3])
    return None


def fmt_ms(v):
    return f"{v:.1f}" if v < 100 else f"{v:.0f}"


def table(rows, sizes, have_static):
    head = ["N", "tool", "median ms", "min ms", "runs", "max RSS MiB", "API calls",
            "TLS handshakes", "x injector"]
    if have_static:
        head.append("x static")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for n in sizes:
        base = {r["key"]: r for r in rows if r["n"] == n}
        for r in (r for r in rows if r["n"] == n):
            calls = ", ".join(f"{v} {k}" for k, v in sorted(r["by_action"].items())) or "0"
            cells = [str(n), r["label"], fmt_ms(r["median_ms"]), fmt_ms(r["min_ms"]),
                     str(r["runs"]), f"{r['rss_kib'] / 1024:.1f}", f"{r['calls']} ({calls})",
                     str(r["handshakes"]),
                     f"{r['median_ms'] / base['injector']['median_ms']:.2f}"]
            if have_static:
                cells.append(f"{r['median_ms'] / base['injector-static']['median_ms']:.2f}")
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def targets(rows, sizes):
    """The issue's targets, each against the measured numbers: (text, met)."""
    get = {(r["n"], r["key"]): r for r in rows}
    out = []
    for key in ("injector", "injector-static"):
        name = "static" if key == "injector-static" else "dynamic"
        if 10 in sizes and (10, key) in get:
            inj = get[(10, key)]["median_ms"]
            for peer, want in (("boto3", 30.0), ("aws-cli", 300.0)):
                if (10, peer) in get:
                    got = get[(10, peer)]["median_ms"] / inj
                    out.append((f"N=10, {name}: {peer} / injector = {got:.0f}x (target >= "
                                f"{want:.0f}x)", got >= want))
        if 1 in sizes and (1, key) in get and (1, "curl") in get:
            got = get[(1, key)]["median_ms"] / get[(1, "curl")]["median_ms"]
            out.append((f"N=1, {name}: injector / curl = {got:.2f} (target <= 1.00)", got <= 1.0))
        if 1 in sizes and 100 in sizes and (100, key) in get and (1, key) in get:
            r100 = get[(100, key)]
            got = r100["median_ms"] / get[(1, key)]["median_ms"]
            out.append((f"N=100, {name}: wall time {got:.2f}x N=1 (target <= 2.00)", got <= 2.0))
            want = math.ceil(100 / 20)
            out.append((f"N=100, {name}: {r100['calls']} API calls (target {want})",
                        r100["calls"] == want))
            out.append((f"N=100, {name}: {r100['handshakes']} TLS handshake(s) (target 1)",
                        r100["handshakes"] == 1))
    if (100, "injector-static") in get:
        mib = get[(100, "injector-static")]["rss_kib"] / 1024
        out.append((f"N=100, static: max RSS {mib:.1f} MiB (target <= 5 MiB)", mib <= 5.0))
    return out


def versions(args):
    def first_line(cmd):
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
            return (r.stdout or r.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "unavailable"
    out = {"injector": first_line([args.injector, "version"]) + f" ({args.injector}"
                       + (f", static: {args.static})" if os.access(args.static, os.X_OK) else ")"),
           "curl": first_line([args.curl, "--version"]),
           "boto3": first_line([PY, "-c", "import boto3, botocore, sys; print('boto3', "
                                "boto3.__version__, 'botocore', botocore.__version__, "
                                "'python', sys.version.split()[0])"]),
           "aws": first_line([args.aws, "--version"])}
    if args.hyperfine:
        out["hyperfine"] = first_line(["hyperfine", "--version"])
    try:
        rev = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                             capture_output=True, text=True).stdout.strip()
        out["tree"] = rev or "unknown"
    except OSError:
        out["tree"] = "unknown"
    return out


def run_sm(args, fake, env, workdir, sizes, cli_runs, load0):
    """Measures the Secrets Manager rows; returns the text of results.md without the SSM
    section."""
    names = seed_secrets(fake, max(sizes))
    args.curl_body = os.path.join(workdir, "get-secret-value.json")
    with open(args.curl_body, "w") as f:
        json.dump({"SecretId": names[0]}, f)
    tools = tool_list(args, env)
    have_static = any(t["key"] == "injector-static" for t in tools)
    rows = []
    for n in sizes:
        cfg, lst = write_inputs(workdir, names[:n], str(n))
        for t in tools:
            runs = cli_runs(n) if t.get("cli") else args.runs
            warmup = 0 if t.get("cli") and n >= 100 else (1 if t.get("cli") else args.warmup)
            print(f"bench: N={n} {t['label']}: {runs} runs ...", file=sys.stderr, flush=True)
            row = measure(t, t["argv"](cfg, lst, n), env, runs, warmup, args, workdir)
            row["n"] = n
            rows.append(row)
    sys_rows = []
    true_sys = syscall_count([TRUE], env, workdir)
    if 10 in sizes and true_sys is not None:
        cfg10 = os.path.join(workdir, "injector-10.yaml")
        for t in tools:
            if t["key"].startswith("injector"):
                n_sys = syscall_count(t["argv"](cfg10, None, 10), env, workdir)
                if n_sys is not None:
                    sys_rows.append(f"{t['label']}: {n_sys} syscalls at N=10 (strace -f -c), "
                                    f"of which {true_sys} are {TRUE}'s after the exec")
    ca_rows = []
    if 1 in sizes:
        cfg1, _ = write_inputs(workdir, names[:1], "ca")
        ca_rows = ca_store_cost(args, env, cfg1, workdir)
    m = machine()
    ver = versions(args)
    tab = table(rows, sizes, have_static)
    goals = targets(rows, sizes)
    notes = [
        f"Timing: {'hyperfine -N' if args.hyperfine else 'a fork/exec/wait4 loop'}, after "
        f"{args.warmup} warm-up run(s); the aws CLI script has its own run count (column "
        "runs) because one run at N=100 takes about a minute.",
        "Every tool talks to the same local endpoint (tests/fake/sm_server.py, Python, TLS "
        "1.3, SigV4 verified with botocore) on this machine; its own time per request is "
        "in every number, so the ratios understate the gap to a native endpoint.",
        "curl does one GetSecretValue whatever N is: the floor for a signed HTTPS call.",
        "max RSS: the largest process of the tree (GNU time %M, wait4 rusage), in MiB; "
        "for the scripts that is the Python interpreter, not the shell.",
        f"Load average before / after the run: {load0} / {loadavg()} (other work on the "
        "machine adds noise; min is the least disturbed run).",
    ]
    if not have_static:
        notes.append(f"injector (static) skipped: {args.static} does not exist (make static).")
    text = ["# `make bench` results", "",
            f"Measured {m['date']} on {m['cpu']}, {m['nproc']} CPU(s), {m['uname']}.", "",
            "Versions: " + "; ".join(f"{k}: {v}" for k, v in ver.items()), "",
            tab, "", "## Targets (issue 6)", ""]
    text += [f"- {'met' if ok else 'MISSED'}: {t}" for t, ok in goals]
    if ca_rows:
        text += ["", "## CA store at start (N=1)", "",
                 "The table above trusts only the endpoint's CA. In production the system "
                 "store is used:", "",
                 "| binary | CA store | median ms | min ms | runs |", "|---|---|---|---|---|"]
        text += [f"| {b} | {how} | {fmt_ms(med)} | {fmt_ms(mn)} | {n} |"
                 for b, how, med, mn, n in ca_rows]
    text += ["", "## Notes", ""] + [f"- {n}" for n in notes + sys_rows]
    return text


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1,10,100")
    ap.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", "20")))
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--cli-runs", default=os.environ.get("BENCH_CLI_RUNS", "100:3"),
                    help="runs of the aws CLI script per N, e.g. 100:3 (others: --runs)")
    ap.add_argument("--injector", default=os.path.join(ROOT, "build", "injector"))
    ap.add_argument("--static", default=os.path.join(ROOT, "build", "static", "injector"))
    ap.add_argument("--out", default=os.path.join(BENCH, "results.md"))
    ap.add_argument("--no-hyperfine", action="store_true")
    ap.add_argument("--services", default="sm,ssm",
                    help="sm, ssm or both (sm,ssm); ssm alone rewrites only the SSM section")
    ap.add_argument("--ssm-sizes", default="1,10,100")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    args.ssm_sizes = [int(s) for s in args.ssm_sizes.split(",")]
    services = set(filter(None, args.services.split(",")))
    if not services or services - {"sm", "ssm"}:
        die("--services: sm, ssm or sm,ssm")
    if args.runs < 1:
        die("--runs must be at least 1")
    cli_runs = parse_runs(args.cli_runs, args.runs)
    args.hyperfine = not args.no_hyperfine and shutil.which("hyperfine") is not None
    args.curl = which("curl")
    args.aws = which("aws", prefer="/usr/bin/aws")  # Debian's awscli, not a pip one on PATH
    if not os.access(args.injector, os.X_OK):
        die(f"{args.injector} not built (make)")
    for what, path in (("curl", args.curl), ("aws", args.aws), ("jq", which("jq")),
                       ("GNU time", "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None)):
        if not path:
            die(f"{what} not installed (scripts/setup-debian.sh installs the bench tools)")
    r = subprocess.run([PY, "-c", "import boto3"], capture_output=True)
    if r.returncode != 0:
        die("python3-boto3 not installed (scripts/setup-debian.sh)")

    load0 = loadavg()
    workdir = tempfile.mkdtemp(prefix="injector-bench-")
    fake = Fake(workdir)
    args.fake = fake
    try:
        env = clean_env(fake, os.path.join(workdir, "home"))
        env["AWS_CLI"] = args.aws
        if "sm" in services:
            text = run_sm(args, fake, env, workdir, sizes, cli_runs, load0)
        else:
            try:
                with open(args.out) as f:
                    text = [f.read().rstrip("\n")]
            except FileNotFoundError:
                text = ["# `make bench` results"]
        if "ssm" in services:
            ssm_rows, ssm_tools = run_ssm(args, fake, env, workdir)
            block = "\n".join(ssm_section(ssm_rows, ssm_tools, args.ssm_sizes, machine(),
                                           f"{load0} -> {loadavg()}", versions(args)))
            out = splice_ssm("\n".join(text), block)
        else:
            try:
                with open(args.out) as f:
                    old = f.read()
            except FileNotFoundError:
                old = ""
            out = "\n".join(text) + "\n"
            if SSM_BEGIN in old and SSM_END in old:     # keep the SSM rows measured before
                out = splice_ssm(out, SSM_BEGIN + old.partition(SSM_BEGIN)[2].partition(
                    SSM_END)[0] + SSM_END)
        if not out.endswith("\n"):
            out += "\n"
        print(out, end="")
        with open(args.out, "w") as f:
            f.write(out)
        print(f"bench: wrote {os.path.relpath(args.out, ROOT)}", file=sys.stderr)
    finally:
        fake.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
