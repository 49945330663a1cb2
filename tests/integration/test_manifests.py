"""manifests/: every JSON and YAML file parses; every injector config in them (a file, an ECS
environment variable, a Kubernetes ConfigMap) names exactly examples/app.yaml's secrets, passes
`injector check`, gives manifests/iam-policy.json (the sidecar ones: plus DescribeSecret), and
runs against the local endpoint; the command lines in them are the ones the README documents;
the sidecar manifests' health check is the documented probe, and it passes once the sidecar
command from the manifest has written the files."""
import glob
import json
import os
import re
import subprocess

import signal

import pytest
import yaml

import seed
from conftest import INJECTOR, PROBE, ROOT, SLOW, assert_no_leak, run
from dockerfile import exec_form, markdown_dockerfiles

MANIFESTS = os.path.join(ROOT, "manifests")
APP_YAML = os.path.join(ROOT, "examples", "app.yaml")
POLICY = os.path.join(MANIFESTS, "iam-policy.json")
ACCOUNT = "111122223333"  # the account of the example ARNs (seed 004)
BUILDSPEC = os.path.join(MANIFESTS, "buildspec.yml")
ECS_SIDECAR = os.path.join(MANIFESTS, "ecs-task-definition-sidecar.json")
K8S_SIDECAR = "deployment-sidecar.yaml"
SUPERVISE_MD = os.path.join(ROOT, "docs", "supervise.md")


def load(path):
    """A manifest's documents (one for JSON, one or more for YAML)."""
    with open(path) as f:
        if path.endswith(".json"):
            return [json.load(f)]
        return [d for d in yaml.safe_load_all(f) if d is not None]


def readme():
    with open(os.path.join(ROOT, "README.md")) as f:
        return f.read()


def readme_entrypoints():
    return [exec_form(a) for block in markdown_dockerfiles(readme()) for k, a in block
            if k == "ENTRYPOINT"]


def readme_cmds():
    return [exec_form(a) for block in markdown_dockerfiles(readme()) for k, a in block
            if k == "CMD"]


def secret_refs(cfg):
    """{(secret id, json key or pointer, version stage, version id)} of a parsed config, for
    both entry forms (the compact string is ECS valueFrom / CodeBuild's form)."""
    refs = set()
    for section in ("env", "files"):
        for entry in (cfg.get(section) or {}).values():
            if isinstance(entry, str):
                parts = entry.split(":")
                n = 7 if entry.startswith("arn:") else 1
                rest = parts[n:] + [""] * 3
                ref = (":".join(parts[:n]), rest[0] or None, rest[1] or None, rest[2] or None)
            else:
                ref = (entry["from"], entry.get("key") or entry.get("pointer"),
                       entry.get("version_stage"), entry.get("version_id"))
            refs.add(ref)
    return refs


def app_refs():
    with open(APP_YAML) as f:
        return secret_refs(yaml.safe_load(f))


def manifest_configs():
    """[(label, YAML text)] of every injector config the manifests carry."""
    out = []
    td = load(os.path.join(MANIFESTS, "ecs-task-definition.json"))[0]
    for c in td["containerDefinitions"]:
        for e in c.get("environment", []):
            if e["name"] == "INJECTOR_CONFIG_YAML":
                out.append((f"ecs {c['name']} INJECTOR_CONFIG_YAML", e["value"]))
    with open(os.path.join(MANIFESTS, "codebuild-injector.yaml")) as f:
        out.append(("codebuild-injector.yaml", f.read()))
    for path in sorted(glob.glob(os.path.join(MANIFESTS, "kubernetes", "*.yaml"))):
        if os.path.basename(path) == K8S_SIDECAR:
            continue  # sidecar_configs()
        for doc in load(path):
            if doc.get("kind") == "ConfigMap" and "injector.yaml" in doc.get("data", {}):
                out.append((f"{os.path.basename(path)} {doc['metadata']['name']}",
                            doc["data"]["injector.yaml"]))
    return out


def ecs_sidecar():
    """(task definition, the injector container, the app container)."""
    td = load(ECS_SIDECAR)[0]
    byname = {c["name"]: c for c in td["containerDefinitions"]}
    return td, byname["secrets"], byname["app"]


def k8s_sidecar():
    """(pod spec, the injector container, the app container, its config text)."""
    docs = load(os.path.join(MANIFESTS, "kubernetes", K8S_SIDECAR))
    (dep,) = [d for d in docs if d["kind"] == "Deployment"]
    (cm,) = [d for d in docs if d["kind"] == "ConfigMap"]
    spec = dep["spec"]["template"]["spec"]
    return spec, spec["initContainers"][0], spec["containers"][0], cm["data"]["injector.yaml"]


def sidecar_configs():
    """[(label, YAML text)] of the sidecar manifests' configs."""
    _, inj, _ = ecs_sidecar()
    ecs = next(e["value"] for e in inj["environment"] if e["name"] == "INJECTOR_CONFIG_YAML")
    return [("ecs sidecar INJECTOR_CONFIG_YAML", ecs), (K8S_SIDECAR, k8s_sidecar()[3])]


def relocate(text, secret_dir):
    """Moves every absolute file path of a config's files: section under secret_dir."""
    cfg = yaml.safe_load(text)
    for path in (cfg.get("files") or {}):
        text = re.sub(r"(?m)^(\s+)" + re.escape(path) + ":", r"\g<1>" + str(secret_dir) + path
                      + ":", text)
    return text


def export_exists():
    r = subprocess.run([INJECTOR, "export", "--help"], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL)
    return r.returncode == 0 and "injector export" in r.stdout


# ---- every file -------------------------------------------------------------------------

def test_every_manifest_parses():
    files = sorted(p for ext in ("json", "yaml", "yml")
                   for p in glob.glob(os.path.join(MANIFESTS, "**", f"*.{ext}"), recursive=True))
    assert len(files) >= 7, files
    for path in files:
        docs = load(path)
        assert docs and all(isinstance(d, dict) for d in docs), path


def test_configs_name_exactly_the_example_secrets(base_env, tmp_path):
    configs = manifest_configs()
    assert len(configs) == 4, [label for label, _ in configs]
    with open(POLICY) as f:
        policy = f.read()
    for label, text in configs:
        assert secret_refs(yaml.safe_load(text)) == app_refs(), label
        path = tmp_path / "cfg.yaml"
        path.write_text(text)
        if not SLOW:  # policy parses and validates too; valgrind costs 3 s a run
            res = run(["check", "-c", str(path)], base_env)
            assert res.rc == 0, (label, res)
        res = run(["policy", "-c", str(path), "--account", ACCOUNT], base_env)
        assert res.rc == 0, (label, res)
        assert res.out == policy, f"{label}: its policy is not manifests/iam-policy.json"


def test_manifest_configs_run(base_env, secret_dir, tmp_path, probe):
    """Each config in the manifests fetches and delivers for real (files under a tmpfs)."""
    for label, text in manifest_configs():
        path = tmp_path / "cfg.yaml"
        path.write_text(relocate(text, secret_dir))
        res = run(["-c", str(path), "--"] + probe(base_env), base_env)
        assert res.rc == 0, (label, res)
        env = probe.read()["env"]
        cfg = yaml.safe_load(text)
        if "PGPASSWORD" in (cfg.get("env") or {}):
            assert env["PGPASSWORD"] == seed.RDS_PASSWORD, label
            assert env["DB_CONNECTION_STRING"] == seed.MOMENTUM_DB_URL, label
        for f in cfg.get("files") or {}:
            assert os.path.exists(f"{secret_dir}{f}"), (label, f)


# ---- IAM ----------------------------------------------------------------------------------

def test_iam_policy_is_the_generated_one(base_env):
    res = run(["policy", "-c", APP_YAML, "--account", ACCOUNT], base_env)
    assert res.rc == 0, res
    with open(POLICY) as f:
        assert f.read() == res.out, ("regenerate: injector policy -c examples/app.yaml "
                                     f"--account {ACCOUNT}")
    # Least privilege: no wildcard account anywhere (names get the task's account).
    assert ":*:" not in res.out


def test_iam_policy_shape():
    doc = load(POLICY)[0]
    assert doc["Version"] == "2012-10-17"
    st = {s["Sid"]: s for s in doc["Statement"]}
    read = st["ReadSecrets"]
    assert read["Effect"] == "Allow" and read["Action"] == "secretsmanager:GetSecretValue"
    assert read["Resource"] == sorted(read["Resource"])
    assert len(read["Resource"]) == len({r[0] for r in app_refs()})
    for arn in read["Resource"]:
        assert arn.startswith("arn:aws:secretsmanager:eu-central-1:"), arn
        assert "*" not in arn.split(":secret:")[1], arn
    # Full ARNs as written; names get the suffix wildcard.
    assert seed.SECRET_ARNS["api"] in read["Resource"]
    assert any(a.endswith(":secret:secretPostgresqlMasterUser-??????") for a in read["Resource"])
    assert st["BatchReadSecrets"]["Resource"] == "*"
    kms = st["DecryptSecretsViaSecretsManager"]
    assert kms["Action"] == "kms:Decrypt"
    assert kms["Condition"] == {
        "StringEquals": {"kms:ViaService": ["secretsmanager.eu-central-1.amazonaws.com"]}}


# ---- ECS ----------------------------------------------------------------------------------

def test_ecs_task_definition():
    td = load(os.path.join(MANIFESTS, "ecs-task-definition.json"))[0]
    assert td["requiresCompatibilities"] == ["FARGATE"] and td["networkMode"] == "awsvpc"
    assert re.fullmatch(r"arn:aws:iam::\d{12}:role/[\w+=,.@-]+", td["taskRoleArn"])
    assert isinstance(td["cpu"], str) and isinstance(td["memory"], str)
    (c,) = td["containerDefinitions"]
    # The image's ENTRYPOINT (README: the form without -c, for a config in the environment).
    assert "entryPoint" not in c
    assert ["/injector", "--"] in readme_entrypoints()
    assert c["command"] in readme_cmds()
    # Not ECS's own secrets; Fargate has no tmpfs mounts, so files go to /dev/shm.
    assert "secrets" not in c
    assert "tmpfs" not in c.get("linuxParameters", {})
    names = [e["name"] for e in c["environment"]]
    assert "INJECTOR_CONFIG_YAML" in names and "INJECTOR_CONFIG" not in names
    cfg = yaml.safe_load(next(e["value"] for e in c["environment"]
                              if e["name"] == "INJECTOR_CONFIG_YAML"))
    assert cfg["files"] and all(p.startswith("/dev/shm/") for p in cfg["files"])
    assert c.get("readonlyRootFilesystem") is True
    assert not c.get("user", "").startswith("0")


def test_ecs_config_via_environment_variable(base_env, secret_dir, probe):
    """The task definition's way: no -c, INJECTOR_CONFIG_YAML in the environment."""
    td = load(os.path.join(MANIFESTS, "ecs-task-definition.json"))[0]
    text = next(e["value"] for e in td["containerDefinitions"][0]["environment"]
                if e["name"] == "INJECTOR_CONFIG_YAML")
    env = dict(base_env, INJECTOR_CONFIG_YAML=relocate(text, secret_dir))
    res = run(["--"] + probe(env), env)
    assert res.rc == 0, res
    got = probe.read()["env"]
    assert got["PGUSER"] == "postgres" and got["API_TOKEN"] == seed.API_TOKEN
    assert os.path.exists(f"{secret_dir}/dev/shm/secrets/db.json")


# ---- CodeBuild ------------------------------------------------------------------------------

def buildspec_commands(phase):
    spec = load(BUILDSPEC)[0]
    assert str(spec["version"]) == "0.2"
    return spec["phases"][phase]["commands"]


def test_buildspec_commands_are_the_readmes():
    cmds = buildspec_commands("pre_build")
    assert "injector -c manifests/codebuild-injector.yaml -- ./migrate.sh" in cmds
    assert ('eval "$(injector export -c manifests/codebuild-injector.yaml --format shell)"'
            in cmds)
    text = readme()
    for cmd in cmds:
        if "injector" in cmd:
            assert f"- {cmd}\n" in text, f"README does not show: {cmd}"
    for cmd in cmds:
        for m in re.finditer(r"-c (\S+)", cmd):
            assert os.path.exists(os.path.join(ROOT, m.group(1))), cmd


def test_buildspec_migrate_step(base_env, secret_dir, tmp_path):
    """`injector -c CFG -- ./migrate.sh` as written, with a migrate.sh that records what it got."""
    cfg = tmp_path / "codebuild-injector.yaml"
    with open(os.path.join(MANIFESTS, "codebuild-injector.yaml")) as f:
        cfg.write_text(relocate(f.read(), secret_dir))
    (cmd,) = [c for c in buildspec_commands("pre_build") if c.endswith("-- ./migrate.sh")]
    argv = cmd.split()
    assert argv[0] == "injector"
    argv = [a if a != "manifests/codebuild-injector.yaml" else str(cfg) for a in argv[1:]]
    os.symlink(PROBE, tmp_path / "migrate.sh")
    env = dict(base_env, PROBE_OUT=str(tmp_path / "probe.json"))
    res = run(argv, env, cwd=str(tmp_path))
    assert res.rc == 0, res
    with open(tmp_path / "probe.json") as f:
        got = json.load(f)["env"]
    assert got["PGPASSWORD"] == seed.RDS_PASSWORD
    assert got["DB_CONNECTION_STRING"] == seed.MOMENTUM_DB_URL


def test_buildspec_export_step(base_env, secret_dir, tmp_path):
    """The eval form in a shell, as CodeBuild runs it: later commands see the variables."""
    if not export_exists():
        pytest.skip("this injector has no export subcommand")
    cfg = tmp_path / "codebuild-injector.yaml"
    with open(os.path.join(MANIFESTS, "codebuild-injector.yaml")) as f:
        cfg.write_text(relocate(f.read(), secret_dir))
    (cmd,) = [c for c in buildspec_commands("pre_build") if c.startswith("eval ")]
    cmd = cmd.replace("manifests/codebuild-injector.yaml", str(cfg))
    if os.path.basename(INJECTOR) != "injector":
        pytest.skip("INJECTOR_BIN is not named injector")
    env = dict(base_env, PATH=os.path.dirname(INJECTOR) + ":" + base_env["PATH"],
               PROBE_OUT=str(tmp_path / "probe.json"))
    script = f"set -e\n{cmd}\nexec {PROBE}\n"
    r = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True,
                       timeout=60, stdin=subprocess.DEVNULL)
    assert_no_leak(r.stdout, r.stderr)
    assert r.returncode == 0, r.stderr
    with open(tmp_path / "probe.json") as f:
        got = json.load(f)["env"]
    assert got["PGUSER"] == "postgres"
    assert got["PGPASSWORD"] == seed.RDS_PASSWORD
    assert got["API_TOKEN"] == seed.API_TOKEN


# ---- Kubernetes -----------------------------------------------------------------------------

def k8s(kind):
    out = []
    for path in sorted(glob.glob(os.path.join(MANIFESTS, "kubernetes", "*.yaml"))):
        out += [(os.path.basename(path), d) for d in load(path) if d.get("kind") == kind]
    return out


def test_kubernetes_irsa_and_volumes():
    (_, sa), = k8s("ServiceAccount")
    role = sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
    assert re.fullmatch(r"arn:aws:iam::\d{12}:role/[\w+=,.@-]+", role)
    deployments = k8s("Deployment")
    assert len(deployments) == 3
    configmaps = {d["metadata"]["name"]: yaml.safe_load(d["data"]["injector.yaml"])
                  for _, d in k8s("ConfigMap")}
    for name, d in deployments:
        spec = d["spec"]["template"]["spec"]
        assert spec["serviceAccountName"] == sa["metadata"]["name"], name
        assert d["metadata"]["namespace"] == sa["metadata"]["namespace"], name
        assert spec["securityContext"]["runAsNonRoot"] is True
        vols = {v["name"]: v for v in spec["volumes"]}
        assert vols["secrets"]["emptyDir"]["medium"] == "Memory", name
        cfg = configmaps[vols["injector-config"]["configMap"]["name"]]
        writer = (spec.get("initContainers") or spec["containers"])[0]
        mount = next(m["mountPath"] for m in writer["volumeMounts"] if m["name"] == "secrets")
        assert not mount.startswith("/run/"), "a volume under /run hides the SA token mounts"
        for f in cfg.get("files") or {}:
            assert f.startswith(mount + "/"), (name, f)


def test_kubernetes_command_lines_are_the_readmes():
    entrypoints = readme_entrypoints()
    by_file = dict(k8s("Deployment"))
    app = by_file["deployment.yaml"]["spec"]["template"]["spec"]["containers"][0]
    assert app["command"] in entrypoints
    assert app["command"] == ["/injector", "-c", "/etc/injector.yaml", "--"]
    assert app["args"] in readme_cmds()
    init_spec = by_file["deployment-init-container.yaml"]["spec"]["template"]["spec"]
    init = init_spec["initContainers"][0]
    assert init["command"][:4] in entrypoints
    assert f"command: {json.dumps(init['command'])}" in readme()
    # The app container of the init variant needs no injector and cannot change the files.
    app = init_spec["containers"][0]
    assert "/injector" not in app["command"]
    assert all(m.get("readOnly") for m in app["volumeMounts"] if m["name"] == "secrets")


def test_kubernetes_init_container_command(base_env, secret_dir, tmp_path):
    """The init container's command, with this build standing in for the image's /injector:
    files in place, then `/injector version` exits 0."""
    by_file = dict(k8s("Deployment"))
    init = by_file["deployment-init-container.yaml"]["spec"]["template"]["spec"][
        "initContainers"][0]
    (text,) = [t for label, t in manifest_configs()
               if label.startswith("deployment-init-container.yaml")]
    cfg = tmp_path / "injector.yaml"
    cfg.write_text(relocate(text, secret_dir))
    argv = [str(cfg) if a == "/etc/injector.yaml" else INJECTOR if a == "/injector" else a
            for a in init["command"][1:]]
    res = run(argv, base_env)
    assert res.rc == 0, res
    assert res.out.startswith("injector "), res.out
    with open(f"{secret_dir}/secrets/PGPASSWORD") as f:
        assert f.read() == seed.RDS_PASSWORD
    with open(f"{secret_dir}/secrets/DB_CONNECTION_STRING") as f:
        assert f.read() == seed.MOMENTUM_DB_URL


# ---- sidecar mode (docs/supervise.md) ----------------------------------------------------------

PROBE_CMD = ["/injector", "check", "--ready"]


def test_sidecar_manifests_shape():
    with open(SUPERVISE_MD) as f:
        doc = f.read()
    td, inj, app = ecs_sidecar()
    assert inj["entryPoint"] == ["/injector", "--sidecar"] and "command" not in inj
    # CMD form (the scratch image has no shell), the documented probe.
    assert inj["healthCheck"]["command"] == ["CMD"] + PROBE_CMD
    assert json.dumps(["CMD"] + PROBE_CMD) in doc
    assert app["dependsOn"] == [{"containerName": "secrets", "condition": "HEALTHY"}]
    assert "/injector" not in json.dumps(app)
    (vol,) = td["volumes"]
    assert vol["dockerVolumeConfiguration"]["driverOpts"]["type"] == "tmpfs"
    mounts = {c["name"]: c["mountPoints"][0] for c in (inj, app)}
    assert {m["sourceVolume"] for m in mounts.values()} == {vol["name"]}
    assert mounts["app"]["readOnly"] is True and mounts["secrets"]["readOnly"] is False
    assert inj["readonlyRootFilesystem"] is True and not inj["user"].startswith("0")
    cfg = yaml.safe_load(next(e["value"] for e in inj["environment"]
                              if e["name"] == "INJECTOR_CONFIG_YAML"))
    assert "env" not in cfg
    assert all(p.startswith(mounts["secrets"]["containerPath"] + "/") for p in cfg["files"])

    spec, inj, app, text = k8s_sidecar()
    assert inj["restartPolicy"] == "Always"              # a native sidecar
    assert inj["command"] == ["/injector", "--sidecar", "-c", "/etc/injector.yaml"]
    for probe in ("startupProbe", "readinessProbe"):
        assert inj[probe]["exec"]["command"] == PROBE_CMD + ["-c", "/etc/injector.yaml"], probe
    assert "/injector" not in json.dumps(app)
    vols = {v["name"]: v for v in spec["volumes"]}
    assert vols["secrets"]["emptyDir"]["medium"] == "Memory"
    assert all(m.get("readOnly") for m in app["volumeMounts"] if m["name"] == "secrets")
    assert "env" not in yaml.safe_load(text)


def test_sidecar_configs_check_and_policy(base_env, tmp_path):
    """Same secrets as examples/app.yaml, all as files; `check` passes; the policy is
    manifests/iam-policy.json plus DescribeSecret on the same secrets (the refresh)."""
    with open(POLICY) as f:
        base = json.load(f)
    for label, text in sidecar_configs():
        assert secret_refs(yaml.safe_load(text)) == app_refs(), label
        path = tmp_path / "cfg.yaml"
        path.write_text(text)
        res = run(["check", "-c", str(path)], base_env)
        assert res.rc == 0, (label, res)
        res = run(["policy", "-c", str(path), "--account", ACCOUNT], base_env)
        assert res.rc == 0, (label, res)
        got = json.loads(res.out)
        st = {s["Sid"]: s for s in got["Statement"]}
        check = st.pop("CheckSecretVersions")
        assert check["Action"] == "secretsmanager:DescribeSecret", label
        assert check["Resource"] == st["ReadSecrets"]["Resource"], label
        assert list(st.values()) == base["Statement"], label


@pytest.mark.parametrize("which", ["ecs", "kubernetes"])
def test_sidecar_manifest_runs_and_its_probe_passes(which, base_env, secret_dir, tmp_path):
    """The sidecar's command and probe as the manifest writes them (this build standing in for
    /injector, files under a tmpfs): not ready before, ready once the files are there, exit 0
    on SIGTERM, and the ready file gone again."""
    from test_supervise import Injector, wait_for
    if which == "ecs":
        _, inj, _ = ecs_sidecar()
        text = sidecar_configs()[0][1]
        env = dict(base_env, INJECTOR_CONFIG_YAML=relocate(text, secret_dir))
        argv = inj["entryPoint"][1:]
        probe = inj["healthCheck"]["command"][2:]
    else:
        _, inj, _, text = k8s_sidecar()
        cfg = tmp_path / "injector.yaml"
        cfg.write_text(relocate(text, secret_dir))
        env = dict(base_env)
        sub = {"/etc/injector.yaml": str(cfg)}
        argv = [sub.get(a, a) for a in inj["command"][1:]]
        probe = [sub.get(a, a) for a in inj["startupProbe"]["exec"]["command"][1:]]
    assert run(probe, env).rc == 69
    sc = Injector(argv, env, str(tmp_path))
    try:
        ready = secret_dir / "secrets" / ".injector-ready"
        wait_for("ready file", lambda: ready.exists(), sc)
        res = run(probe, env)
        assert res.rc == 0 and "ready (5 files)" in res.out, res
        with open(f"{secret_dir}/secrets/PGPASSWORD") as f:
            assert f.read() == seed.RDS_PASSWORD
        sc.kill(signal.SIGTERM)
        assert sc.finish() == 0
        assert not ready.exists()
    finally:
        sc.cleanup()
# ---- SSM Parameter Store (issue 15) ---------------------------------------------------------

def test_ecs_mixed_value_from_with_from_env(base_env, probe):
    """manifests/ecs-task-definition-mixed.json: a task whose `secrets` mixed Secrets Manager
    and SSM valueFrom, moved to `environment` unchanged (a bare parameter name as ssm:NAME),
    with injector --from-env as the entry point: each variable gets its value."""
    td = load(os.path.join(MANIFESTS, "ecs-task-definition-mixed.json"))[0]
    (c,) = td["containerDefinitions"]
    assert "secrets" not in c
    assert c["entryPoint"] == ["/injector", "--from-env", "--"]
    env = dict(base_env)
    env.update({e["name"]: e["value"] for e in c["environment"]})
    services = {e["value"].split(":")[2] if e["value"].startswith("arn:") else
                e["value"].split(":")[0] for e in c["environment"] if ":" in e["value"]}
    assert {"secretsmanager", "ssm"} <= services
    res = run(c["entryPoint"][1:] + probe(env), env)
    assert res.rc == 0, res
    got = probe.read()["env"]
    assert got["PGPASSWORD"] == seed.RDS_PASSWORD
    assert got["API_TOKEN"] == seed.API_TOKEN
    assert got["DB_PASSWORD"] == seed.P_DB_PASSWORD
    assert got["DB_HOST"] == seed.P_DB_HOST


def test_buildspec_parameter_store_resolved_by_injector(base_env, tmp_path):
    """manifests/buildspec-parameter-store.yml: `parameter-store` entries as ssm: variables,
    resolved by `injector --from-env` for the one command that needs them."""
    spec = load(os.path.join(MANIFESTS, "buildspec-parameter-store.yml"))[0]
    assert "parameter-store" not in spec["env"] and "secrets-manager" not in spec["env"]
    variables = spec["env"]["variables"]
    assert any(v.startswith("ssm:") for v in variables.values())
    (cmd,) = [c for c in spec["phases"]["pre_build"]["commands"] if c.startswith("injector")]
    argv = cmd.split()
    os.symlink(PROBE, tmp_path / "migrate.sh")
    env = dict(base_env, PROBE_OUT=str(tmp_path / "probe.json"), **variables)
    res = run(argv[1:], env, cwd=str(tmp_path))
    assert res.rc == 0, res
    with open(tmp_path / "probe.json") as f:
        got = json.load(f)["env"]
    assert got["DB_HOST"] == seed.P_DB_HOST
    assert got["DB_PASSWORD"] == seed.P_DB_PASSWORD
    assert got["PGPASSWORD"] == seed.RDS_PASSWORD


def test_iam_policy_ssm_is_the_generated_one(base_env):
    res = run(["policy", "-c", os.path.join(ROOT, "examples", "ssm.yaml"), "--account", ACCOUNT],
              base_env)
    assert res.rc == 0, res
    with open(os.path.join(MANIFESTS, "iam-policy-ssm.json")) as f:
        assert f.read() == res.out, ("regenerate: injector policy -c examples/ssm.yaml "
                                     f"--account {ACCOUNT} > manifests/iam-policy-ssm.json")
    assert ":*:" not in res.out
