"""The FROM-scratch image, without a Docker engine: parse the Dockerfile's final stage, put
exactly what its COPY lines name into an empty directory, and run the static binary there in
a chroot (in a private mount namespace, as the image's USER) against the local endpoint:
fetch, write a file to a tmpfs mounted inside the chroot, exec a static test program.

The chroot has no /etc (no hosts, no resolv.conf: the endpoint is 127.0.0.1), no CA files
and no shell. Two CA cases: the fake's CA copied in and named by AWS_CA_BUNDLE (works), and
no CA file at all, where `injector version` must report the compiled-in bundle and the fetch
must fail TLS verification (the fake's CA is not an AWS root: that failure is the proof).

Needs build/static/injector (`make static`; INJECTOR_STATIC_BIN=PATH stands in for it).
Without it the tests skip, unless CI is set: then a missing binary or tool is a failure.

A binary for another architecture (`make check-arm64`: INJECTOR_STATIC_BIN=build/static-aarch64/
injector) runs under qemu-user, invoked explicitly (no binfmt_misc): qemu-ARCH-static (itself a
static binary) is copied into the chroot next to it and the entrypoint becomes
`/qemu-ARCH-static /injector ...`. The exec'd /probe stays an x86-64 program: an execve from a
qemu-user process runs the new program natively, which is what makes the exec testable here."""
import os
import platform
import re
import shutil
import struct
import subprocess

import pytest

import seed
from conftest import ROOT, assert_no_leak
from dockerfile import dockerfile_stages, exec_form, parse_copy

DOCKERFILE = os.path.join(ROOT, "Dockerfile")
PROBE_SRC = os.path.join(ROOT, "tests", "image", "probe.c")
CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
TMPFS = "/run/secrets"                 # where examples/app.yaml writes its file
CONFIG_IN_IMAGE = "/config/injector.yaml"
CA_IN_IMAGE = "/ca/fake-ca.pem"
STATIC_BIN = os.path.join(ROOT, "build", "static", "injector")
# ELF e_machine -> `uname -m` (and qemu-user's name for it).
ELF_MACHINES = {62: "x86_64", 183: "aarch64"}


def unavailable(reason):
    """Skips, or fails under CI (where the lead's check-all builds the static binary first)."""
    if CI:
        pytest.fail(f"CI is set, so this must run: {reason}")
    pytest.skip(reason)


# ---- the image -----------------------------------------------------------------------------

def stage_path_to_repo(stage, path):
    """A path inside a builder stage that came from `COPY . <workdir>`, as a repo path."""
    workdir = "/"
    context_at = None
    for kw, args in stage["ins"]:
        if kw == "WORKDIR":
            workdir = os.path.normpath(os.path.join(workdir, args))
        elif kw == "COPY":
            flags, srcs, dest = parse_copy(args)
            if "from" not in flags and srcs == ["."]:
                context_at = os.path.normpath(os.path.join(workdir, dest))
    assert context_at, f"stage {stage['name']} has no `COPY . DIR`: cannot map {path}"
    rel = os.path.relpath(os.path.normpath(path), context_at)
    assert not rel.startswith(".."), f"{path} is not under {context_at} in stage {stage['name']}"
    return os.path.join(ROOT, rel)


def final_stage():
    """What the image holds: {"copies": [(host src, dest, chmod)], "user", "entrypoint",
    "cmd"}. Fails on anything the test cannot reproduce."""
    with open(DOCKERFILE) as f:
        stages = dockerfile_stages(f.read())
    assert stages, "Dockerfile has no FROM"
    last = stages[-1]
    assert last["from"] == "scratch", "the final stage must be FROM scratch"
    by_name = {s["name"]: s for s in stages[:-1] if s["name"]}
    img = {"copies": [], "user": None, "entrypoint": None, "cmd": None}
    for kw, args in last["ins"]:
        if kw == "COPY":
            flags, srcs, dest = parse_copy(args)
            for src in srcs:
                if "from" in flags:
                    assert flags["from"] in by_name, f"COPY --from={flags['from']}: no such stage"
                    host = stage_path_to_repo(by_name[flags["from"]], src)
                else:
                    host = os.path.join(ROOT, src)
                img["copies"].append((host, dest, flags.get("chmod")))
        elif kw == "USER":
            img["user"] = args
        elif kw == "ENTRYPOINT":
            img["entrypoint"] = exec_form(args)
        elif kw == "CMD":
            img["cmd"] = exec_form(args)
        elif kw in ("LABEL", "ARG"):
            pass
        else:
            pytest.fail(f"final stage: {kw} is not reproduced by this test; extend it")
    assert img["entrypoint"], "the final stage needs an exec-form ENTRYPOINT"
    return img


def elf_machine(path):
    """The architecture an ELF file is for, as `uname -m` names it."""
    with open(path, "rb") as f:
        head = f.read(20)
    assert head[:4] == b"\x7fELF", f"{path}: not an ELF file"
    machine, = struct.unpack_from("<H", head, 18)
    assert machine in ELF_MACHINES, f"{path}: ELF machine {machine}"
    return ELF_MACHINES[machine]


def image_binary():
    """The static binary the image tests run: INJECTOR_STATIC_BIN, else build/static/injector."""
    return os.environ.get("INJECTOR_STATIC_BIN") or STATIC_BIN


def emulator_for(binary):
    """None when this machine runs the binary itself, else the name of the qemu-user binary
    that runs it (found on PATH, and static: it must work alone in the chroot)."""
    arch = elf_machine(binary)
    if arch == platform.machine():
        return None
    name = f"qemu-{arch}-static"
    path = shutil.which(name)
    if not path:
        unavailable(f"{binary} is {arch}: {name} is needed (Debian's qemu-user-static)")
    assert not elf_has_interp(os.path.realpath(path)), f"{path} is not static"
    return name


def elf_has_interp(path):
    """True when the ELF file asks for a dynamic loader (has a PT_INTERP header)."""
    with open(path, "rb") as f:
        head = f.read(64)
        assert head[:4] == b"\x7fELF" and head[4] == 2, f"{path}: not a 64-bit ELF"
        phoff, = struct.unpack_from("<Q", head, 0x20)
        phentsize, phnum = struct.unpack_from("<HH", head, 0x36)
        for i in range(phnum):
            f.seek(phoff + i * phentsize)
            p_type, = struct.unpack("<I", f.read(4))
            if p_type == 3:
                return True
    return False


def tree(root):
    """Every path under root, relative, with a trailing / for directories."""
    out = set()
    for d, dirs, files in os.walk(root):
        rel = os.path.relpath(d, root)
        for n in dirs:
            out.add(os.path.normpath(os.path.join(rel, n)) + "/")
        for n in files:
            out.add(os.path.normpath(os.path.join(rel, n)))
    return out


# ---- fixtures --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def image():
    return final_stage()


@pytest.fixture(scope="module")
def static_probe(tmp_path_factory):
    """tests/image/probe.c built static: musl-gcc, else gcc -static."""
    out = str(tmp_path_factory.mktemp("probe") / "probe")
    errors = []
    for cc in (["musl-gcc", "-static"], ["gcc", "-static"]):
        if not shutil.which(cc[0]):
            errors.append(f"{cc[0]}: not installed")
            continue
        r = subprocess.run(cc + ["-O2", "-Wall", "-Werror", "-o", out, PROBE_SRC],
                           capture_output=True, text=True)
        if r.returncode == 0 and not elf_has_interp(out):
            return out
        errors.append(f"{' '.join(cc)}: {r.stderr.strip()[-500:]}")
    unavailable("cannot build a static test program: " + "; ".join(errors))


@pytest.fixture
def rootfs(image, tmp_path, static_probe):
    """The image's filesystem (exactly its COPY lines), then the test's own additions: the
    app (/probe), the config, the fake's CA, a tmpfs mount point and a report directory."""
    root = tmp_path / "rootfs"
    root.mkdir()
    for host, dest, chmod in image["copies"]:
        if host == STATIC_BIN:
            host = image_binary()
        if not os.path.exists(host):
            unavailable(f"{os.path.relpath(host, ROOT)} does not exist: run `make static`")
        target = os.path.join(str(root), dest.lstrip("/"))
        assert not dest.endswith("/"), f"COPY to a directory ({dest}) is not reproduced"
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(host, target)
        if chmod:
            os.chmod(target, int(chmod, 8))
    # The image is the binary and nothing else.
    assert tree(root) == {"injector"}, tree(root)
    if not shutil.which("unshare") or not shutil.which("chroot"):
        unavailable("unshare(1) and chroot(1) (util-linux, coreutils) are needed")
    os.chmod(root, 0o755)
    emulator = emulator_for(image_binary())
    if emulator:
        shutil.copy2(shutil.which(emulator), root / emulator)
    shutil.copy2(static_probe, root / "probe")
    (root / "config").mkdir()
    shutil.copy(os.path.join(ROOT, "examples", "app.yaml"), root / CONFIG_IN_IMAGE.lstrip("/"))
    (root / TMPFS.lstrip("/")).mkdir(parents=True)
    (root / "out").mkdir()
    os.chmod(root / "out", 0o777)
    assert not (root / "etc").exists()
    return root


def image_user(image):
    """(uid, gid) the image runs as: its USER (numeric only: scratch has no /etc/passwd)."""
    u = image["user"] or "0:0"
    uid, _, gid = u.partition(":")
    assert uid.isdigit() and (not gid or gid.isdigit()), f"USER {u}: use numeric ids"
    return int(uid), int(gid or uid)


def run_in_image(root, image, args, env, timeout=60):
    """ENTRYPOINT + args in the chroot, in a private mount namespace with a tmpfs at TMPFS,
    as the image's USER. Returns (rc, stdout, stderr, pid); the pid is injector's (every
    step execs)."""
    uid, gid = image_user(image)
    argv_in_image = image["entrypoint"] + list(args)
    emulator = emulator_for(image_binary())
    if emulator:
        # The emulator is the chroot's program; the entrypoint is its first argument.
        assert (root / emulator).exists(), "the rootfs fixture copies the emulator in"
        argv_in_image = [f"/{emulator}"] + argv_in_image
    opts = f"size=4m,mode=0700,uid={uid},gid={gid}"
    script = 'set -e; mount -t tmpfs -o "$1" tmpfs "$2"; shift 2; exec "$@"'
    if os.geteuid() == 0:
        ns = ["unshare", "--mount", "--propagation", "private"]
        chroot = ["chroot", f"--userspec={uid}:{gid}", "--groups=", str(root)]
    else:
        # Without root: a user namespace maps us to root inside; the USER cannot be applied.
        ns = ["unshare", "--user", "--map-root-user", "--mount", "--propagation", "private"]
        chroot = ["chroot", str(root)]
    cmd = ns + ["/bin/sh", "-c", script, "sh", opts, str(root) + TMPFS] + chroot + argv_in_image
    proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"timed out in the chroot: {err.decode(errors='replace')[-2000:]}")
    out, err = out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
    if proc.returncode != 0 and ("unshare failed" in err or "Operation not permitted" in err):
        unavailable(f"cannot make a mount namespace here: {err.strip()[-300:]}")
    assert_no_leak(out, err)
    return proc.returncode, out, err, proc.pid


def image_env(fake, with_ca, root):
    """What a task would set: credentials, region, endpoint. No PATH, no HOME."""
    env = fake.env()
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    env.pop("AWS_CA_BUNDLE", None)
    if with_ca:
        os.makedirs(os.path.join(str(root), "ca"), exist_ok=True)
        shutil.copy(fake.ca_file, os.path.join(str(root), CA_IN_IMAGE.lstrip("/")))
        env["AWS_CA_BUNDLE"] = CA_IN_IMAGE
    assert env["AWS_ENDPOINT_URL"].startswith("https://127.0.0.1:"), "no DNS in the chroot"
    return env


def read_report(path):
    lines = open(path).read().splitlines()
    rep = {"env": {}, "file": {}}
    m = re.fullmatch(r"pid (\d+) uid (\d+)", lines[0])
    rep["pid"], rep["uid"] = int(m.group(1)), int(m.group(2))
    for line in lines[1:]:
        kind, name, rest = line.split(" ", 2)
        if rest == "-":
            rep[kind][name] = None
        elif kind == "env":
            rep["env"][name] = bytes.fromhex(rest.replace('""', "")).decode()
        else:
            mode, size, fstype, data = rest.split(" ")
            rep["file"][name] = {"mode": int(mode, 8), "size": int(size), "fs": fstype,
                                 "data": bytes.fromhex(data.replace('""', ""))}
    return rep


# ---- tests ---------------------------------------------------------------------------------

def test_dockerfile_shape(image):
    """Multi-stage: a debian:bookworm builder running `make static`; the image holds only
    /injector, runs as a non-root numeric USER, and its ENTRYPOINT is the binary."""
    with open(DOCKERFILE) as f:
        stages = dockerfile_stages(f.read())
    assert len(stages) >= 2
    assert stages[0]["from"] == "debian:bookworm"
    runs = " ".join(a for s in stages[:-1] for k, a in s["ins"] if k == "RUN")
    assert re.search(r"\bmake\b[^&;]*\bstatic\b", runs), runs
    assert [d for _, d, _ in image["copies"]] == ["/injector"]
    assert image["copies"][0][0] == STATIC_BIN
    assert image["entrypoint"] == ["/injector"]
    uid, _ = image_user(image)
    assert uid != 0


def test_dockerfile_cross_compiles_for_each_target_platform():
    """`docker buildx build --platform linux/amd64,linux/arm64`: the builder runs on the build
    machine's platform ($BUILDPLATFORM: no emulation), its RUN maps TARGETARCH to make's ARCH
    and puts the binary where the final stage copies it from, for every platform; the final
    stage (FROM scratch) has no --platform of its own. The RUN line itself is run here, with
    `make` standing in as a shell function that prints its arguments."""
    with open(DOCKERFILE) as f:
        stages = dockerfile_stages(f.read())
    build, final = stages[0], stages[-1]
    assert build["platform"] == "$BUILDPLATFORM", build
    assert final["from"] == "scratch" and final["platform"] is None, final
    args_seen, make_run = [], None
    for kw, args in build["ins"]:
        if kw == "ARG":
            args_seen.append(args.split("=")[0])
        elif kw == "RUN" and re.search(r"\bmake\b[^&;]*\bstatic\b", args):
            make_run = args
            break
    assert make_run, "no RUN with `make static` in the builder"
    assert "TARGETARCH" in args_seen, "ARG TARGETARCH must come before the make RUN"
    copy_src = final_stage()["copies"][0][0]
    assert copy_src == STATIC_BIN, copy_src
    stub = 'make() { printf "%s\\n" "$*"; }\n'

    def build_for(targetarch):
        env = {"PATH": os.environ["PATH"], "TARGETARCH": targetarch}
        return subprocess.run(["/bin/sh", "-c", stub + make_run], env=env,
                              capture_output=True, text=True)

    for targetarch, arch in (("amd64", "x86_64"), ("arm64", "aarch64"),
                             ("", platform.machine())):
        r = build_for(targetarch)
        assert r.returncode == 0, (targetarch, r.stderr)
        words = r.stdout.split()
        assert "static" in words, r.stdout
        assert f"ARCH={arch}" in words, (targetarch, r.stdout)
        # Wherever ARCH would put it, the binary lands where the final stage copies it from.
        static_dir = [w.split("=", 1)[1] for w in words if w.startswith("STATIC_DIR=")]
        assert static_dir and os.path.join(ROOT, static_dir[-1], "injector") == copy_src, words
    r = build_for("riscv64")
    assert r.returncode != 0 and "TARGETARCH=riscv64" in r.stderr, (r.stdout, r.stderr)
    assert "static" not in r.stdout.split()


def test_image_is_static_and_alone(image, rootfs):
    binary = os.path.join(str(rootfs), "injector")
    assert not elf_has_interp(binary), "build/static/injector asks for a dynamic loader"
    assert os.access(binary, os.X_OK)


def test_fetch_write_tmpfs_exec_in_empty_chroot(fake, image, rootfs):
    """The README's job in the bare image: examples/app.yaml, env + a 0400 file on tmpfs, then
    exec of a static program, as the image's USER, with the fake's CA via AWS_CA_BUNDLE."""
    env = image_env(fake, True, rootfs)
    rc, out, err, pid = run_in_image(
        rootfs, image,
        ["-c", CONFIG_IN_IMAGE, "--", "/probe", "/out/report", "env:PGUSER", "env:PGPASSWORD",
         "env:DB_CONNECTION_STRING", "env:API_TOKEN", f"file:{TMPFS}/db.json"],
        env)
    assert rc == 0, (rc, out, err)
    rep = read_report(str(rootfs / "out" / "report"))
    assert rep["pid"] == pid, "the app should have replaced injector (exec in place)"
    assert rep["uid"] == image_user(image)[0] or os.geteuid() != 0
    assert rep["env"]["PGUSER"] == "postgres"
    assert rep["env"]["PGPASSWORD"] == seed.RDS_PASSWORD
    assert rep["env"]["DB_CONNECTION_STRING"] == seed.MOMENTUM_DB_URL
    assert rep["env"]["API_TOKEN"] == seed.API_TOKEN
    f = rep["file"][f"{TMPFS}/db.json"]
    assert f is not None, "the secret file was not written"
    assert f["fs"] == "tmpfs" and f["mode"] == 0o400
    pg = next(s for s in seed.SECRETS if s["name"] == "secretPostgresqlMasterUser")
    assert f["data"].decode() == pg["versions"][0]["string"]


def test_compiled_in_ca_is_used_without_any_ca_file(fake, image, rootfs):
    """No AWS_CA_BUNDLE, no SSL_CERT_FILE, no /etc/ssl in the chroot: the compiled-in bundle
    (AWS's roots) is what injector trusts, so our fake's own CA is refused."""
    env = image_env(fake, False, rootfs)
    rc, out, err, _ = run_in_image(rootfs, image, ["version"], env)
    assert rc == 0, (rc, out, err)
    assert re.search(r"^ca compiled-in bundle \(\d+ bytes\)$", out, re.M), out
    rc, out, err, _ = run_in_image(
        rootfs, image, ["-c", CONFIG_IN_IMAGE, "--", "/probe", "/out/report", "env:PGUSER"],
        env)
    assert rc == 69, (rc, out, err)
    assert "TLS failure" in err, err
    assert "compiled-in bundle" in err, err
    # OpenSSL's verification failure (unknown issuer), as curl reports it.
    assert re.search(r"certificate problem|certificate verify failed", err), err
    assert not (rootfs / "out" / "report").exists(), "the app must not start"


@pytest.mark.parametrize("hosts_line", [True, False])
def test_names_resolve_from_etc_hosts_in_the_image(fake, image, rootfs, hosts_line):
    """musl's resolver in the static binary reads the image's /etc/hosts (what ECS and Docker
    write into every container): the endpoint by name works with the line, and without it
    fails as a name that does not resolve (no resolv.conf: musl asks 127.0.0.1:53, where
    nothing answers, until the 3 s connect timeout)."""
    env = image_env(fake, True, rootfs)
    env["AWS_ENDPOINT_URL"] = env["AWS_ENDPOINT_URL"].replace("127.0.0.1", "sm.injector.test")
    env["AWS_MAX_ATTEMPTS"] = "1"
    (rootfs / "etc").mkdir()
    (rootfs / "etc" / "hosts").write_text(
        "127.0.0.1 localhost\n" + ("127.0.0.1 sm.injector.test\n" if hosts_line else ""))
    rc, out, err, _ = run_in_image(
        rootfs, image, ["--timeout", "20", "-c", CONFIG_IN_IMAGE, "--", "/probe", "/out/report",
                        "env:PGUSER"], env)
    if hosts_line:
        assert rc == 0, (rc, out, err)
        assert read_report(str(rootfs / "out" / "report"))["env"]["PGUSER"] == "postgres"
    else:
        assert rc != 0, (rc, out, err)
        assert "sm.injector.test" in err, err
        assert "cannot resolve host" in err or "Resolving timed out" in err, err
        assert not (rootfs / "out" / "report").exists()


@pytest.mark.parametrize("bundle", [
    "/etc/ssl/certs/ca-certificates.crt",                  # Debian, Ubuntu, Alpine
    "/etc/pki/tls/certs/ca-bundle.crt",                    # RHEL, Amazon Linux
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",   # RHEL's extracted trust
    "/etc/ssl/ca-bundle.pem",                              # SUSE
    "/etc/ssl/cert.pem",                                   # Alpine, BSDs
])
def test_system_ca_bundle_of_each_distribution(fake, image, rootfs, bundle):
    """The static binary copied into another distribution's image finds that image's CA
    bundle with no variable set (here the bundle holds the fake's CA, so only a bundle found
    at that path lets the fetch succeed; the compiled-in one would refuse it)."""
    env = image_env(fake, False, rootfs)
    target = rootfs / bundle.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(fake.ca_file, target)
    rc, out, err, _ = run_in_image(rootfs, image, ["version"], env)
    assert rc == 0 and f"ca file {bundle}" in out, (rc, out, err)
    rc, out, err, _ = run_in_image(
        rootfs, image, ["-c", CONFIG_IN_IMAGE, "--", "/probe", "/out/report", "env:PGUSER"], env)
    assert rc == 0, (rc, out, err)
    assert read_report(str(rootfs / "out" / "report"))["env"]["PGUSER"] == "postgres"


def test_image_default_cmd(fake, image, rootfs):
    """`docker run IMAGE` with no arguments: ENTRYPOINT + CMD."""
    env = image_env(fake, False, rootfs)
    rc, out, err, _ = run_in_image(rootfs, image, image["cmd"] or [], env)
    assert rc == 0, (rc, out, err)
    assert "usage: injector" in out
