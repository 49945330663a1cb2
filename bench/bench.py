#!/usr/bin/python3
"""make bench: injector against what users run today, side by side, for N = 1, 10, 100 secrets.

Two profiles (--profiles): "local", the local Secrets Manager endpoint (tests/fake/sm_server.py)
over TLS as its own process, answering at once; and "realistic", the same endpoint taking
--service-ms per request behind bench/delay_relay.py, which delays every chunk of bytes each
way by half of --rtt-ms (handshakes included; see there why not tc netem). For each profile it
seeds N secrets and for each N runs:
  injector         build/injector (dynamic), then exec /bin/true
  injector-static  build/static/injector (`make static`), when it exists
  boto3            bench/boto3_wrapper.py: boto3 get_secret_value per secret, exec /bin/true
  node             bench/node_wrapper.mjs: AWS SDK for JavaScript v3, GetSecretValue per secret
                   (`make bench-node` installs the SDK into bench/node), when installed
  aws-cli          bench/aws_cli_entrypoint.sh: `aws secretsmanager get-secret-value` per secret
  curl             one signed GetSecretValue POST (--aws-sigv4): the floor for one secret
Then, in the local profile: the CA store cost (bundle file vs hashed directory, --ca-runs runs
of each, the two taking turns run by run) and a config of 10,000 entries (check, --dry-run).
SSM Parameter Store (--services ssm, or both: the default), in each profile against the same
endpoint (and relay), for N = 1, 10, 100 parameters (--ssm-sizes; SecureStrings /bench/pNNN,
config `from: ssm:/bench/pNNN`, the endpoint only in AWS_ENDPOINT_URL_SSM):
  injector         as above; GetParameters batches of 10 names, ceil(N/10) calls, concurrent
  injector-static  as above
  boto3            bench/boto3_ssm_wrapper.py: get_parameters per 10 names, one after another
  node             bench/node_ssm_wrapper.mjs: @aws-sdk/client-ssm GetParameters, the same way
  aws-cli          bench/aws_cli_ssm_entrypoint.sh: `aws ssm get-parameters` per 10 names
  curl             one signed GetParameters POST for one name: the floor for one call
The SSM tables go into their
own section of bench/results.md (SSM_BEGIN .. SSM_END); with --services ssm only that section
is replaced, with --services sm it is kept as measured before, and other marked sections
(make bench-storm's) are kept either way.
Wall time: median and min over --runs runs (hyperfine when installed, else a loop here).
Max RSS: GNU time's %M (wait4) over three runs: the largest process of the tree. API calls and TLS
handshakes: the endpoint's counters around one run. The table goes to stdout and to
bench/results.md with the machine it ran on. Nothing in here is a result: all is measured."""
import argparse
import json
import math
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (PY, ROOT, Counter, Fake, Relay, clean_env, die, loadavg,  # noqa: E402
                    machine, max_rss_kib, run_once, seed_parameters, seed_secrets, ssm_env,
                    which, write_inputs, write_ssm_inputs)

BENCH = os.path.join(ROOT, "bench")
TRUE = "/bin/true"
NODE_SDK = os.path.join(BENCH, "node", "node_modules", "@aws-sdk", "client-secrets-manager")
NODE_SSM_SDK = os.path.join(BENCH, "node", "node_modules", "@aws-sdk", "client-ssm")
SSM_BEGIN = "<!-- ssm-bench begin: written by bench.py (SSM part) -->"
SSM_END = "<!-- ssm-bench end -->"
MARKED = re.compile(r"<!-- ([\w-]+) begin\b.*?-->.*?<!-- \1 end -->", re.S)


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
    if args.node and os.path.isdir(NODE_SDK):
        tools.append({"key": "node", "label": "Node SDK v3 wrapper",
                      "argv": lambda cfg, lst, n: [args.node, os.path.join(BENCH, "node_wrapper.mjs"),
                                                   lst, TRUE]})
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
    if args.node and os.path.isdir(NODE_SSM_SDK):
        tools.append({"key": "node", "label": "Node SDK v3 GetParameters wrapper",
                      "argv": lambda cfg, lst, n: [args.node,
                                                   os.path.join(BENCH, "node_ssm_wrapper.mjs"),
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


def ssm_targets(by_profile, sizes):
    """Issue 15's bench target, per profile: ceil(N/10) GetParameters calls per start and
    nothing else. (text, met)"""
    out = []
    for prof, rows in by_profile.items():
        get = {(r["n"], r["key"]): r for r in rows}
        for key in ("injector", "injector-static"):
            name = "static" if key == "injector-static" else "dynamic"
            for n in sizes:
                if (n, key) not in get:
                    continue
                r = get[(n, key)]
                want = math.ceil(n / 10)
                got = r["by_action"].get("GetParameters", 0)
                out.append((f"{prof}, N={n}, {name}: {r['calls']} API calls, {got} GetParameters "
                            f"(target {want} GetParameters, nothing else)",
                            got == want == r["calls"]))
    return out


def run_ssm(args, fake, base_env, workdir, profile, url):
    """Measures the SSM rows of one profile against fake (reached at url: the fake's own or
    the relay's); returns (rows, tools)."""
    env = ssm_env(base_env, fake)
    env["AWS_ENDPOINT_URL_SSM"] = url
    sizes = args.ssm_sizes
    names = seed_parameters(fake, max(sizes))
    args.curl_ssm_body = os.path.join(workdir, f"get-parameters-{profile}.json")
    with open(args.curl_ssm_body, "w") as f:
        json.dump({"Names": names[:1], "WithDecryption": True}, f)
    tools = ssm_tool_list(args, env)
    rows = []
    for n in sizes:
        cfg, lst = write_ssm_inputs(workdir, names[:n], f"{profile}-{n}")
        for t in tools:
            if t.get("cli") and args.cli_max_n and n > args.cli_max_n:
                continue
            runs = args.cli_runs(n) if t.get("cli") else args.runs
            warmup = 0 if t.get("cli") and n >= 100 else (1 if t.get("cli") else args.warmup)
            print(f"bench: {profile}: SSM N={n} {t['label']}: {runs} runs ...", file=sys.stderr,
                  flush=True)
            row = measure(t, t["argv"](cfg, lst, n), env, runs, warmup, args, workdir)
            row["n"] = n
            rows.append(row)
    return rows, tools


def profile_title(args, prof):
    if prof == "local":
        return "Local profile (the endpoint answers at once)"
    return (f"Realistic profile (round trip {args.rtt_ms:g} ms on every packet, "
            f"{args.service_ms:g} ms per request at the endpoint)")


def ssm_section(args, by_profile, have_static, m, load, ver):
    """The SSM section of results.md, SSM_BEGIN .. SSM_END, as lines."""
    sizes = args.ssm_sizes
    text = [SSM_BEGIN, "## SSM Parameter Store (issue 15)", "",
            f"Measured {m['date']} on {m['cpu']}, {m['nproc']} CPU(s); load {load}. Same "
            "endpoint processes, profiles and timing as above; N SecureString parameters read "
            "with decryption; injector's config uses `from: ssm:/bench/pNNN` and the endpoint "
            "is given only as AWS_ENDPOINT_URL_SSM.", "",
            "Versions: " + "; ".join(f"{k}: {v}" for k, v in ver.items()), ""]
    for prof, rows in by_profile.items():
        text += [f"### {profile_title(args, prof)}", "", table(rows, sizes, have_static), ""]
    text += ["### Targets (issue 15)", ""]
    text += [f"- {'met' if ok else 'MISSED'}: {t}" for t, ok in ssm_targets(by_profile, sizes)]
    conns = sorted({(r["n"], r["calls"], r["handshakes"]) for rows in by_profile.values()
                    for r in rows if r["key"].startswith("injector") and r["calls"] > 1})
    text += ["", "### Notes", "",
             "- injector sends its ceil(N/10) GetParameters batches concurrently, on a few "
             "connections that each carry one call after another: TLS handshakes is how many "
             "connections the start opened" + (" (" + "; ".join(
                 f"N={n}: {c} calls on {h}" for n, c, h in conns) + ")" if conns else "") + ".",
             "- The boto3 and Node SDK wrappers and the CLI script fetch their batches one "
             "after another on one connection (the CLI: one process, so one connection, per "
             "batch), as such entrypoints do; curl does one GetParameters of one name whatever "
             "N is."]
    if not any(r["key"] == "node" for rows in by_profile.values() for r in rows):
        text.append("- No Node SDK row: run `make bench-node` first (npm install into "
                    "bench/node).")
    if args.cli_max_n:
        text.append(f"- aws CLI script run only up to N={args.cli_max_n} (--cli-max-n).")
    if not have_static:
        text.append(f"- injector (static) skipped: {args.static} does not exist (make static).")
    text.append(SSM_END)
    return text


def assemble(old, sm_text, ssm_block):
    """results.md from its old text: sm_text (the Secrets Manager part; None: the old one),
    ssm_block (the SSM section; None: the old one, if any), then every other marked section of
    the old text (bench-storm's) as it was."""
    blocks = [(mo.group(1), mo.group(0)) for mo in MARKED.finditer(old)]
    if sm_text is None:
        first = MARKED.search(old)
        sm_text = (old[:first.start()] if first else old).rstrip("\n")
    if ssm_block is None:
        ssm_block = next((b for k, b in blocks if b.startswith(SSM_BEGIN)), None)
    parts = [sm_text.rstrip("\n")]
    if ssm_block is not None:
        parts.append(ssm_block)
    parts += [b for k, b in blocks if not b.startswith(SSM_BEGIN)]
    return "\n\n".join(parts) + "\n"


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
    stores = ((f"bundle file ({system} + endpoint CA)", {"AWS_CA_BUNDLE": big}),
              ("hashed directory (/etc/ssl/certs + endpoint CA)", {"SSL_CERT_DIR": d}))
    for label, binary in bins:
        # The two stores take turns, run by run (--ca-runs each): a ratio of two ~8 ms
        # starts moves with the machine's load, which then falls on both alike.
        print(f"bench: CA store: {label}, {args.ca_runs} runs of each store, alternating ...",
              file=sys.stderr, flush=True)
        envs = []
        for _, extra in stores:
            e = dict(env)
            e.pop("AWS_CA_BUNDLE")
            e.update(extra)
            envs.append(e)
        argv = [binary, "-c", cfg, "--", TRUE]
        times = [[], []]
        for i in range(args.warmup + args.ca_runs):
            for k, e in enumerate(envs):
                rc, wall, err = run_once(argv, e)
                if rc != 0:
                    die(f"{binary} failed (exit {rc}): {err.strip()[-500:]}")
                if i >= args.warmup:
                    times[k].append(wall)
        for (how, _), t in zip(stores, times):
            rows.append((label, how, statistics.median(t) * 1000.0, min(t) * 1000.0, len(t)))
    return rows


def scale_cost(args, env, names, workdir):
    """A config of 10,000 entries over the seeded secrets (many entries, few fetches): `check`
    and `--dry-run` against the local endpoint, median and min ms per binary."""
    cfg = os.path.join(workdir, "injector-10000.yaml")
    with open(cfg, "w") as f:
        f.write("version: 1\nenv:\n")
        for i in range(10000):
            f.write(f"  V_{i:05d}: {{ from: \"{names[i % len(names)]}\", key: password }}\n")
    bins = [("injector (dynamic)", args.injector)]
    if os.access(args.static, os.X_OK):
        bins.append(("injector (static)", args.static))
    rows = []
    for label, binary in bins:
        for what, argv in (("check", [binary, "check", "-c", cfg]),
                           ("--dry-run", [binary, "-c", cfg, "--dry-run"])):
            print(f"bench: 10,000 entries: {label} {what} ...", file=sys.stderr, flush=True)
            times = time_loop(argv, env, max(3, args.runs // 4), 1)
            rows.append((label, what, statistics.median(times) * 1000.0, min(times) * 1000.0,
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
            "TLS handshakes", "x N=1", "x injector"]
    if have_static:
        head.append("x static")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    one = {r["key"]: r for r in rows if r["n"] == 1}
    for n in sizes:
        base = {r["key"]: r for r in rows if r["n"] == n}
        for r in (r for r in rows if r["n"] == n):
            calls = ", ".join(f"{v} {k}" for k, v in sorted(r["by_action"].items())) or "0"
            cells = [str(n), r["label"], fmt_ms(r["median_ms"]), fmt_ms(r["min_ms"]),
                     str(r["runs"]), f"{r['rss_kib'] / 1024:.1f}", f"{r['calls']} ({calls})",
                     str(r["handshakes"]),
                     f"{r['median_ms'] / one[r['key']]['median_ms']:.2f}" if r["key"] in one
                     else "-",
                     f"{r['median_ms'] / base['injector']['median_ms']:.2f}"]
            if have_static:
                cells.append(f"{r['median_ms'] / base['injector-static']['median_ms']:.2f}")
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def targets(rows, sizes, realistic, ca_rows):
    """The issues' targets, each against the measured numbers: (text, met). rows: the local
    profile's; realistic: the realistic profile's rows (maybe empty)."""
    get = {(r["n"], r["key"]): r for r in rows}
    rget = {(r["n"], r["key"]): r for r in realistic}
    out = []
    for key in ("injector", "injector-static"):
        name = "static" if key == "injector-static" else "dynamic"
        if 10 in sizes and (10, key) in get:
            inj = get[(10, key)]["median_ms"]
            for peer, want in (("boto3", 30.0), ("aws-cli", 300.0)):
                if (10, peer) in get:
                    got = get[(10, peer)]["median_ms"] / inj
                    out.append((f"issue 6, local, N=10, {name}: {peer} / injector = {got:.0f}x "
                                f"(target >= {want:.0f}x)", got >= want))
        if 1 in sizes and (1, key) in get and (1, "curl") in get:
            got = get[(1, key)]["median_ms"] / get[(1, "curl")]["median_ms"]
            out.append((f"issue 6, local, N=1, {name}: injector / curl = {got:.2f} "
                        "(target <= 1.00)", got <= 1.0))
        if 1 in sizes and 100 in sizes and (100, key) in get and (1, key) in get:
            r100 = get[(100, key)]
            got = r100["median_ms"] / get[(1, key)]["median_ms"]
            out.append((f"issue 6, local, N=100, {name}: wall time {got:.2f}x N=1 (target <= "
                        "2.00)", got <= 2.0))
            want = math.ceil(100 / 20)
            out.append((f"issue 6, local, N=100, {name}: {r100['calls']} API calls (target "
                        f"{want})", r100["calls"] == want))
            out.append((f"issue 18, local, N=100, {name}: {r100['handshakes']} TLS "
                        f"handshake(s), one per batch call at most (target <= {want})",
                        1 <= r100["handshakes"] <= want))
        if (1, key) in rget and (100, key) in rget:
            got = rget[(100, key)]["median_ms"] / rget[(1, key)]["median_ms"]
            out.append((f"issue 18, realistic, N=100, {name}: wall time {got:.2f}x N=1 (target "
                        "<= 1.50)", got <= 1.5))
    by = {(b, how.split(" ")[0]): med for b, how, med, _, _ in ca_rows}
    for b in sorted({b for b, _ in by}):
        if (b, "bundle") in by and (b, "hashed") in by:
            got = by[(b, "bundle")] / by[(b, "hashed")]
            out.append((f"issue 18, {b}: CA bundle file / hashed directory = {got:.2f} (target "
                        "<= 1.15)", got <= 1.15))
    for prof, g in (("local", get), ("realistic", rget)):
        if (100, "injector-static") in g:
            mib = g[(100, "injector-static")]["rss_kib"] / 1024
            out.append((f"issue 18, {prof}, N=100, static: max RSS {mib:.2f} MiB (target <= "
                        "3.0 MiB)", mib <= 3.0))
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


def run_profile(args, profile, sizes, workdir):
    """Every tool at every N against one endpoint, Secrets Manager then SSM (args.services);
    returns (rows, env, names, tools, ssm_rows, ssm_tools)."""
    realistic = profile == "realistic"
    fake = Fake(workdir, service_ms=args.service_ms if realistic else 0.0, name=f"fake-{profile}")
    relay = None
    try:
        env = clean_env(fake, os.path.join(workdir, "home"))
        env["AWS_CLI"] = args.aws
        env["NODE_EXTRA_CA_CERTS"] = env["AWS_CA_BUNDLE"]  # the Node SDK's CA
        if realistic:
            relay = Relay(fake.dir, fake.port, args.rtt_ms)
            env["AWS_ENDPOINT_URL"] = relay.url
        args.fake = fake
        rows, names, tools = [], [], []
        if "sm" in args.services:
            names = seed_secrets(fake, max(sizes))
            args.curl_body = os.path.join(workdir, "get-secret-value.json")
            with open(args.curl_body, "w") as f:
                json.dump({"SecretId": names[0]}, f)
            tools = tool_list(args, env)
            for n in sizes:
                cfg, lst = write_inputs(workdir, names[:n], f"{profile}-{n}")
                for t in tools:
                    if t.get("cli") and args.cli_max_n and n > args.cli_max_n:
                        continue
                    runs = args.cli_runs(n) if t.get("cli") else args.runs
                    warmup = (0 if t.get("cli") and n >= 100 else
                              (1 if t.get("cli") else args.warmup))
                    print(f"bench: {profile}: N={n} {t['label']}: {runs} runs ...",
                          file=sys.stderr, flush=True)
                    row = measure(t, t["argv"](cfg, lst, n), env, runs, warmup, args, workdir)
                    row["n"] = n
                    rows.append(row)
        ssm_rows, ssm_tools = [], []
        if "ssm" in args.services:
            ssm_rows, ssm_tools = run_ssm(args, fake, env, workdir, profile,
                                          env["AWS_ENDPOINT_URL"])
        return rows, env, names, tools, ssm_rows, ssm_tools
    finally:
        if relay is not None:
            relay.stop()
        if not (profile == "local"):
            fake.stop()
        else:
            args.local_fake = fake


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1,10,100")
    ap.add_argument("--profiles", default="local,realistic")
    ap.add_argument("--rtt-ms", type=float, default=float(os.environ.get("BENCH_RTT_MS", "4")),
                    help="realistic profile: network round trip (default 4)")
    ap.add_argument("--service-ms", type=float,
                    default=float(os.environ.get("BENCH_SERVICE_MS", "15")),
                    help="realistic profile: the endpoint's own time per request (default 15)")
    ap.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", "20")))
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--ca-runs", type=int, default=int(os.environ.get("BENCH_CA_RUNS", "150")),
                    help="runs of each CA store, alternating (the CA store section)")
    ap.add_argument("--cli-runs", default=os.environ.get("BENCH_CLI_RUNS", "100:3"),
                    help="runs of the aws CLI script per N, e.g. 100:3 (others: --runs)")
    ap.add_argument("--cli-max-n", type=int, default=int(os.environ.get("BENCH_CLI_MAX_N", "0")),
                    help="run the aws CLI script only up to this N (0: every N; at N=100 one run "
                         "takes minutes)")
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
    args.services = set(filter(None, args.services.split(",")))
    if not args.services or args.services - {"sm", "ssm"}:
        die("--services: sm, ssm or sm,ssm")
    profiles = [p for p in args.profiles.split(",") if p]
    if any(p not in ("local", "realistic") for p in profiles) or not profiles:
        die("--profiles: local, realistic or both")
    if args.runs < 1:
        die("--runs must be at least 1")
    args.cli_runs = parse_runs(args.cli_runs, args.runs)
    args.hyperfine = not args.no_hyperfine and shutil.which("hyperfine") is not None
    args.curl = which("curl")
    args.aws = which("aws", prefer="/usr/bin/aws")  # Debian's awscli, not a pip one on PATH
    args.node = which("node")
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
    args.local_fake = None
    try:
        by_profile = {}
        ssm_by_profile = {}
        have_static = False
        have_node = False
        for prof in profiles:
            rows, env, names, tools, ssm_rows, ssm_tools = run_profile(args, prof, sizes, workdir)
            by_profile[prof] = rows
            ssm_by_profile[prof] = ssm_rows
            have_static = any(t["key"] == "injector-static" for t in tools + ssm_tools)
            have_node = any(t["key"] == "node" for t in tools)
            if prof == "local":
                local_env, local_names, local_tools = env, names, tools
        sys_rows = []
        ca_rows = []
        scale_rows = []
        if "local" in by_profile and "sm" in args.services:
            args.fake = args.local_fake
            env = local_env
            true_sys = syscall_count([TRUE], env, workdir)
            if 10 in sizes and true_sys is not None:
                cfg10 = os.path.join(workdir, "injector-local-10.yaml")
                for t in local_tools:
                    if t["key"].startswith("injector"):
                        n_sys = syscall_count(t["argv"](cfg10, None, 10), env, workdir)
                        if n_sys is not None:
                            sys_rows.append(f"{t['label']}: {n_sys} syscalls at N=10 (strace -f "
                                            f"-c), of which {true_sys} are {TRUE}'s after the exec")
            if 1 in sizes:
                cfg1, _ = write_inputs(workdir, local_names[:1], "ca")
                ca_rows = ca_store_cost(args, env, cfg1, workdir)
            scale_rows = scale_cost(args, env, local_names, workdir)
        m = machine()
        ver = versions(args)
        sm_text = None
        if "sm" in args.services:
            goals = targets(by_profile.get("local", []), sizes, by_profile.get("realistic", []),
                            ca_rows)
            notes = [
                f"Timing: {'hyperfine -N' if args.hyperfine else 'a fork/exec/wait4 loop'}, after "
                f"{args.warmup} warm-up run(s); the aws CLI script has its own run count (column "
                "runs) because one run at N=100 takes about a minute.",
                "Every tool talks to the same endpoint (tests/fake/sm_server.py, Python, TLS "
                "1.3, SigV4 verified with botocore) on this machine; its own time per request is "
                "in every number, so the local profile's ratios understate the gap to a native "
                "endpoint.",
                f"Realistic profile: the endpoint takes {args.service_ms:g} ms per request "
                f"(--service-time) and sits behind bench/delay_relay.py, which delays every "
                f"chunk each way by {args.rtt_ms / 2:g} ms (round trip {args.rtt_ms:g} ms; a "
                "connection's first bytes one round trip more, for the TCP handshake). Modelled "
                "in user space: this kernel has no netem (CONFIG_NET_SCH_NETEM is not set, no "
                "module loading), so tc netem in a network namespace is not possible here.",
                "curl does one GetSecretValue whatever N is: the floor for a signed HTTPS call.",
                "x N=1: the tool's median at this N over its own median at N=1, same profile.",
                "max RSS: the largest process of the tree (GNU time %M, wait4 rusage), in MiB; "
                "for the scripts that is the Python (or Node) interpreter, not the shell.",
                f"Load average before / after the run: {load0} / {loadavg()} (other work on the "
                "machine adds noise; min is the least disturbed run).",
            ]
            if args.cli_max_n:
                notes.append(f"aws CLI script run only up to N={args.cli_max_n} (--cli-max-n).")
            if not have_static:
                notes.append(f"injector (static) skipped: {args.static} does not exist "
                             "(make static).")
            if not have_node:
                notes.append("Node SDK v3 wrapper skipped: run `make bench-node` first (npm "
                             "install into bench/node).")
            text = ["# `make bench` results", "",
                    f"Measured {m['date']} on {m['cpu']}, {m['nproc']} CPU(s), {m['uname']}.", "",
                    "Versions: " + "; ".join(f"{k}: {v}" for k, v in ver.items()), ""]
            for prof in profiles:
                text += [f"## {profile_title(args, prof)}", "",
                         table(by_profile[prof], sizes, have_static), ""]
            text += ["## Targets (issues 6 and 18)", ""]
            text += [f"- {'met' if ok else 'MISSED'}: {t}" for t, ok in goals]
            if ca_rows:
                text += ["", "## CA store at start (N=1, local profile)", "",
                         "The tables above trust only the endpoint's CA. In production the system "
                         "store is used (the two stores take turns, run by run):", "",
                         "| binary | CA store | median ms | min ms | runs | x hashed dir |",
                         "|---|---|---|---|---|---|"]
                dirs = {b: med for b, how, med, _, _ in ca_rows if how.startswith("hashed")}
                text += [f"| {b} | {how} | {fmt_ms(med)} | {fmt_ms(mn)} | {n} | "
                         f"{med / dirs[b]:.2f} |" if b in dirs else
                         f"| {b} | {how} | {fmt_ms(med)} | {fmt_ms(mn)} | {n} | - |"
                         for b, how, med, mn, n in ca_rows]
            if scale_rows:
                text += ["", "## 10,000 entries (local profile)", "",
                         "10,000 env entries over the 100 seeded secrets (5 batch calls):", "",
                         "| binary | command | median ms | min ms | runs |",
                         "|---|---|---|---|---|"]
                text += [f"| {b} | {what} | {fmt_ms(med)} | {fmt_ms(mn)} | {n} |"
                         for b, what, med, mn, n in scale_rows]
            text += ["", "## Notes", ""] + [f"- {n}" for n in notes + sys_rows] + [""]
            sm_text = "\n".join(text)
        ssm_block = None
        if "ssm" in args.services:
            ssm_block = "\n".join(ssm_section(args, ssm_by_profile, have_static, m,
                                               f"{load0} -> {loadavg()}", ver))
        try:
            with open(args.out) as f:
                old = f.read()
        except FileNotFoundError:
            old = "# `make bench` results\n"
        out = assemble(old, sm_text, ssm_block)
        print(out, end="")
        with open(args.out, "w") as f:
            f.write(out)
        print(f"bench: wrote {os.path.relpath(args.out, ROOT)}", file=sys.stderr)
    finally:
        if args.local_fake is not None:
            args.local_fake.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
