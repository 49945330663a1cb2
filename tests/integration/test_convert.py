"""`injector convert`: an ECS task definition's `secrets` or a CodeBuild buildspec's
`env.secrets-manager` / `env.parameter-store` becomes a config. Round trip: the converted
config runs against the local endpoint and the child's environment equals what ECS or
CodeBuild would have set, computed here from the fake's seed data, independently of
injector (its ARN/reference parsing and JSON extraction are redone below)."""
import json
import os
import re
import textwrap

import pytest

import seed
from conftest import ROOT, run

CONVERT = os.path.join(ROOT, "tests", "convert")
MANIFESTS = os.path.join(ROOT, "manifests")
SM_ARN = re.compile(r"^(arn:aws:secretsmanager:[^:]+:\d+:secret:[^:]+)(?::(.*))?$")


def _secret_by_arn_or_name(ident):
    for s in seed.SECRETS:
        full = seed.arn(s["name"], s["arn_suffix"])
        if ident in (full, s["name"]):
            return s
    raise KeyError(ident)


def _sm_value(ident, key="", stage="", vid=""):
    """What ECS/CodeBuild put into the variable: the version by id, else by stage (default
    AWSCURRENT); with a key, that top-level JSON key (a string raw, else compact JSON)."""
    s = _secret_by_arn_or_name(ident)
    if vid:
        v = next(v for v in s["versions"] if v["version_id"] == vid)
    else:
        v = next(v for v in s["versions"] if (stage or "AWSCURRENT") in v["stages"])
    text = v["string"]
    if not key:
        return text
    val = json.loads(text)[key]
    return val if isinstance(val, str) else json.dumps(val, separators=(",", ":"))


def _ssm_value(ref):
    name = ref.split(":parameter", 1)[1] if ref.startswith("arn:") else ref
    if ref.startswith("arn:") and not name.startswith("/"):
        name = name[1:]  # ...:parameter/flat is "flat"; ...:parameter/prod/x is "/prod/x"
    p = next(p for p in seed.PARAMETERS if p["name"] == name)
    return p["versions"][-1]["value"]


def ecs_expected(td):
    """The environment ECS gives the container with secrets: valueFrom an SM ARN with
    optional :json-key:version-stage:version-id, an SSM ARN, or a parameter name."""
    td = td.get("taskDefinition", td)
    ctr = next(c for c in td["containerDefinitions"] if c.get("secrets"))
    out = {}
    for s in ctr["secrets"]:
        vf = s["valueFrom"]
        m = SM_ARN.match(vf)
        if m:
            fields = (m.group(2) or "").split(":") + ["", "", ""]
            out[s["name"]] = _sm_value(m.group(1), *fields[:3])
        else:
            out[s["name"]] = _ssm_value(vf)
    return out


def codebuild_expected(spec_text):
    """CodeBuild: secrets-manager 'secret-id:json-key:version-stage:version-id' (secret-id a
    name or an ARN), parameter-store a name or ARN."""
    import yaml  # Debian's python3-yaml, as the other tests use
    env = yaml.safe_load(spec_text)["env"]
    out = {}
    for name, ref in (env.get("secrets-manager") or {}).items():
        m = SM_ARN.match(ref)
        if m:
            ident, rest = m.group(1), m.group(2) or ""
        else:
            ident, _, rest = ref.partition(":")
        fields = rest.split(":") + ["", "", ""]
        out[name] = _sm_value(ident, *fields[:3])
    for name, ref in (env.get("parameter-store") or {}).items():
        out[name] = _ssm_value(ref)
    return out


def _round_trip(src, expected, base_env, tmp_path, probe, extra=()):
    res = run(["convert"] + list(extra) + [src], base_env)
    assert res.rc == 0, res
    cfg = tmp_path / "converted.yaml"
    cfg.write_text(res.out)
    chk = run(["check", "-c", str(cfg)], base_env)
    assert chk.rc == 0, chk
    got = run(["-c", str(cfg), "--"] + probe(base_env), base_env)
    assert got.rc == 0, got
    env = probe.read()["env"]
    assert {k: env.get(k) for k in expected} == expected
    return res.out


def test_ecs_task_definition_round_trip(fake, base_env, tmp_path, probe):
    src = os.path.join(CONVERT, "ecs-task-definition-secrets.json")
    with open(src) as f:
        expected = ecs_expected(json.load(f))
    # The seeds' shapes: the connection string (key of an "Other" secret), the RDS-managed
    # secret (keys, AWSPREVIOUS, a version id), the console's RDS secret whole and its port
    # (a JSON number), and parameters by name (String, StringList) and by ARN (SecureString).
    assert expected["DB_CONNECTION_STRING"] == seed.MOMENTUM_DB_URL
    assert expected["PGPASSWORD_PREVIOUS"] == seed.RDS_PASSWORD_PREVIOUS
    assert expected["PGPORT"] == "5432" and expected["FLAT"] == seed.P_FLAT
    out = _round_trip(src, expected, base_env, tmp_path, probe)
    # The entry point to use, and the command that ran before (old entryPoint + command).
    assert '#   "entryPoint": ["/injector","-c","/etc/injector.yaml","--"],' in out
    assert '#   "command": ["docker-entrypoint.sh","node","server.js"]' in out
    assert 'container "app"' in out
    assert '  DB_HOST: "ssm:/prod/db/host"\n' in out and '  FLAT: "ssm:flat"\n' in out


def test_codebuild_buildspec_round_trip(fake, base_env, tmp_path, probe):
    src = os.path.join(CONVERT, "buildspec-secrets.yml")
    with open(src) as f:
        expected = codebuild_expected(f.read())
    assert expected["PGPASSWORD"] == seed.RDS_PASSWORD and expected["API_TOKEN"] == seed.API_TOKEN
    out = _round_trip(src, expected, base_env, tmp_path, probe)
    assert "injector -c injector.yaml -- ./migrate.sh" in out


def test_the_before_form_in_the_parameter_store_manifest(fake, base_env, tmp_path, probe):
    """manifests/buildspec-parameter-store.yml shows the buildspec it replaces in a comment:
    that one converts, and runs to the same values as the manifest's own variables."""
    with open(os.path.join(MANIFESTS, "buildspec-parameter-store.yml")) as f:
        text = f.read()
    before = text.split("# Before:\n", 1)[1].split("# After:", 1)[0]
    spec = "version: 0.2\n" + textwrap.dedent("".join(line[1:] + "\n"
                                                      for line in before.splitlines()))
    src = tmp_path / "before.yml"
    src.write_text(spec)
    expected = codebuild_expected(spec)
    assert set(expected) == {"DB_HOST", "DB_PASSWORD", "PGPASSWORD"}
    _round_trip(str(src), expected, base_env, tmp_path, probe)


@pytest.mark.parametrize("name", ["ecs-task-definition.json", "ecs-task-definition-mixed.json",
                                  "buildspec.yml", "buildspec-parameter-store.yml"])
def test_repository_manifests_have_nothing_left_to_convert(name, base_env):
    """The manifests already use injector: convert says there is nothing to do (exit 65)."""
    res = run(["convert", os.path.join(MANIFESTS, name)], base_env)
    assert res.rc == 65 and "nothing to convert" in res.err, res
    assert res.out == ""


def test_several_containers_and_bad_input(base_env, tmp_path):
    def td(*containers):
        td.n += 1
        p = tmp_path / f"td{td.n}.json"
        p.write_text(json.dumps({"family": "f", "containerDefinitions": list(containers)}))
        return str(p)
    td.n = 0
    a = {"name": "a", "secrets": [{"name": "X", "valueFrom": "flat"}]}
    b = {"name": "b", "command": ["run"], "secrets": [{"name": "Y", "valueFrom": "/p/y"}]}
    res = run(["convert", td(a, b)], base_env)
    assert res.rc == 64 and "2 containers have secrets (a, b)" in res.err, res
    res = run(["convert", "--container", "b", td(a, b)], base_env)
    assert res.rc == 0 and '  Y: "ssm:/p/y"' in res.out, res
    assert '"command": ["run"]' in res.out and "image's own ENTRYPOINT" in res.out
    res = run(["convert", "--container", "c", td(a, b)], base_env)
    assert res.rc == 64 and 'no container named "c"' in res.err, res
    res = run(["convert", td(a)], base_env)
    assert res.rc == 0 and "the image's ENTRYPOINT and CMD" in res.out, res
    cases = [
        ({"name": "a", "secrets": [{"name": "X", "valueFrom": "arn:aws:s3:::bucket/key"}]},
         "neither Secrets Manager nor SSM"),
        ({"name": "a", "secrets": [{"name": "1X", "valueFrom": "flat"}]},
         "not a valid environment variable name"),
        ({"name": "a", "secrets": [{"name": "X", "valueFrom": "flat"},
                                   {"name": "X", "valueFrom": "flat"}]}, "X is set twice"),
        ({"name": "a", "secrets": [{"name": "X"}]}, "without a string"),
        ({"name": "a", "command": ["x", 1], "secrets": [{"name": "X", "valueFrom": "flat"}]},
         "entryPoint and command must be lists of strings"),
        ({"name": "a", "secrets": [{"name": "X", "valueFrom": "fl\u00e4t"}]},
         "a byte other than printable ASCII"),
        ({"name": "a", "secrets": [{"name": "X", "valueFrom": "ssm:"}]},
         "not a valid config"),
    ]
    for ctr, text in cases:
        res = run(["convert", td(ctr)], base_env)
        assert res.rc == 65 and text in res.err and res.out == "", (ctr, res)
    # A loader variable set by ECS is carried over, marked allow_reserved.
    res = run(["convert", td({"name": "a", "secrets": [{"name": "PATH", "valueFrom": "flat"}]})],
              base_env)
    assert res.rc == 0 and '  PATH: { from: "ssm:flat", allow_reserved: true }' in res.out, res
    for text, err in [("{not json", "not valid JSON"), ('{"a": 1}', "containerDefinitions"),
                      ("version: 0.2\nenv: {variables: {A: b}}\n", "nothing to convert"),
                      ("a: [\n", "not YAML"),
                      ("env:\n  secrets-manager: [a]\n", "is not a mapping")]:
        p = tmp_path / "in.txt"
        p.write_text(text)
        res = run(["convert", str(p)], base_env)
        assert res.rc == 65 and err in res.err, (text, res)
    for args, err in [(["convert"], "usage: injector convert"),
                      (["convert", "a", "b"], "usage: injector convert"),
                      (["convert", "-c", "x", "a"], "usage: injector convert"),
                      (["check", "--container", "a"], "--container is an option of"),
                      (["convert", str(tmp_path / "none.json")], "none.json")]:
        res = run(args, base_env)
        assert res.rc in (64, 66) and err in res.err, (args, res)
