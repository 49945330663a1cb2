"""Every example config runs against the local endpoint: `check`, `policy`, `--dry-run`, then
the real run, with each file path moved into a fresh tmpfs directory. The values the app gets
must be the seeded secrets'. examples/python-app runs its own app.py under injector, and its
Dockerfile must use the README's ENTRYPOINT."""
import glob
import json
import os
import shutil
import stat

import pytest

import seed
from conftest import ROOT, SLOW, run
from dockerfile import dockerfile_stages, exec_form, markdown_dockerfiles, parse_copy

RDS = {"username": "postgres", "password": seed.RDS_PASSWORD}
PG_SECRET = next(s for s in seed.SECRETS if s["name"] == "secretPostgresqlMasterUser")
PG_JSON = PG_SECRET["versions"][0]["string"]

# examples/ path -> what the app must get: env values, and files' exact content (mode 0400).
EXPECT = {
    "examples/app.yaml": {
        "env": {"DB_CONNECTION_STRING": seed.MOMENTUM_DB_URL, "PGUSER": RDS["username"],
                "PGPASSWORD": RDS["password"], "API_TOKEN": seed.API_TOKEN},
        "files": {"/run/secrets/db.json": PG_JSON},
    },
    "examples/rds-master-user.yaml": {
        "env": {"PGUSER": RDS["username"], "PGPASSWORD": RDS["password"]},
    },
    "examples/rds-credentials.yaml": {
        "env": {"PGHOST": "127.0.0.1", "PGPORT": "5432", "PGDATABASE": "postgres",
                "PGUSER": "masteruser", "PGPASSWORD": seed.PGMASTER_PASSWORD},
    },
    "examples/connection-string.yaml": {
        "env": {"DB_CONNECTION_STRING": seed.MOMENTUM_DB_URL},
    },
    "examples/json-file.yaml": {
        "files": {"/run/secrets/db.json": PG_JSON},
    },
    "examples/ssm.yaml": {
        "env": {"DB_HOST": seed.P_DB_HOST, "DB_PASSWORD": seed.P_DB_PASSWORD,
                "APP_HOSTS": seed.P_APP_HOSTS, "APP_USER": "app", "FLAT": seed.P_FLAT,
                "PGUSER": RDS["username"]},
        "files": {"/run/secrets/db-password": seed.P_DB_PASSWORD_V1},
    },
    "examples/template-files.yaml": {
        "files": {
            "/run/secrets/.pgpass": (f"127.0.0.1:5432:postgres:masteruser:{seed.PGMASTER_PASSWORD}\n",
                                     0o600),
            "/run/secrets/jdbc.properties": (
                "# Rendered by injector from the RDS secret; read by the app at start-up.\n"
                "jdbc.url=jdbc:postgresql://127.0.0.1:5432/postgres?sslmode=require\n"
                "jdbc.user=masteruser\n"
                f"jdbc.password={seed.PGMASTER_PASSWORD}\n"),
            "/run/secrets/nginx-upstream.conf": (
                "# include /run/secrets/nginx-upstream.conf; inside a location that proxies to "
                "the API\n"
                f'proxy_set_header Authorization "Bearer {seed.API_TOKEN}";\n'
                'proxy_set_header X-Database-User "masteruser";\n', 0o440),
        },
    },
    "examples/python-app/injector.yaml": {
        "env": {"PGUSER": RDS["username"], "PGPASSWORD": RDS["password"],
                "API_TOKEN": seed.API_TOKEN},
        "files": {"/dev/shm/secrets/db.json": PG_JSON},
    },
}


def example_configs():
    found = glob.glob(os.path.join(ROOT, "examples", "**", "*.yaml"), recursive=True)
    return sorted(os.path.relpath(p, ROOT) for p in found)


def test_every_example_has_expectations():
    assert example_configs() == sorted(EXPECT), "add the new example to EXPECT"


def relocated(name, secret_dir, tmp_path):
    """The example's text with each file path moved under secret_dir; returns its path."""
    with open(os.path.join(ROOT, name)) as f:
        text = f.read()
    for path in EXPECT[name].get("files", {}):
        assert text.count(path) == 1, f"{name}: expected {path} once"
        text = text.replace(path, str(secret_dir) + path)
    out = tmp_path / os.path.basename(name)
    out.write_text(text)
    # template_file paths are relative to the config: the templates travel with it.
    templates = os.path.join(ROOT, os.path.dirname(name), "templates")
    if os.path.isdir(templates) and not os.path.exists(tmp_path / "templates"):
        shutil.copytree(templates, tmp_path / "templates")
    return str(out)


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_example_runs(name, base_env, secret_dir, tmp_path, probe):
    want = EXPECT[name]
    cfg = relocated(name, secret_dir, tmp_path)
    # Under valgrind (3 s a run) only the real run: the others are offline or read-only.
    if not SLOW:
        res = run(["check", "-c", cfg], base_env)
        assert res.rc == 0, res
        res = run(["policy", "-c", cfg], base_env)
        assert res.rc == 0, res
        json.loads(res.out)
        res = run(["--dry-run", "-c", cfg], base_env)
        assert res.rc == 0, res
        for var in want.get("env", {}):
            assert f"env {var}: " in res.out, res.out
        for path in want.get("files", {}):
            assert f"file {secret_dir}{path}: " in res.out, res.out
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    got = probe.read()["env"]
    for var, value in want.get("env", {}).items():
        assert got.get(var) == value, f"{name}: {var}"
    for path, content in want.get("files", {}).items():
        p = f"{secret_dir}{path}"
        content, mode = content if isinstance(content, tuple) else (content, 0o400)
        assert stat.S_IMODE(os.stat(p).st_mode) == mode
        with open(p, encoding="utf-8") as f:
            assert f.read() == content, f"{name}: {path}"


def test_python_app_under_injector(base_env, secret_dir, tmp_path):
    cfg = relocated("examples/python-app/injector.yaml", secret_dir, tmp_path)
    env = dict(base_env, DB_SECRET_FILE=f"{secret_dir}/dev/shm/secrets/db.json")
    app = os.path.join(ROOT, "examples", "python-app", "app.py")
    res = run(["-c", cfg, "--", "/usr/bin/python3", app, "--check"], env)
    assert res.rc == 0, res
    assert "missing" not in res.out, res.out
    assert "PGPASSWORD: %d chars" % len(RDS["password"]) in res.out
    assert "database: 127.0.0.1:5432/postgres" in res.out
    assert "file mode: 0o400" in res.out


def test_python_app_without_injector_says_what_is_missing(tmp_path):
    """The app itself: without injector in front it has nothing and says so (exit 1)."""
    import subprocess
    app = os.path.join(ROOT, "examples", "python-app", "app.py")
    r = subprocess.run(["/usr/bin/python3", app, "--check"], capture_output=True, text=True,
                       env={"PATH": "/usr/bin:/bin",
                            "DB_SECRET_FILE": str(tmp_path / "none.json")})
    assert r.returncode == 1
    assert "missing: PGPASSWORD" in r.stdout


def test_python_app_dockerfile_matches_readme():
    with open(os.path.join(ROOT, "examples", "python-app", "Dockerfile")) as f:
        stages = dockerfile_stages(f.read())
    app = stages[-1]
    ins = app["ins"]
    copies = [parse_copy(a) for k, a in ins if k == "COPY"]
    assert ({"from": "injector"}, ["/injector"], "/injector") in copies
    assert ({}, ["injector.yaml"], "/etc/injector.yaml") in copies
    entry = [exec_form(a) for k, a in ins if k == "ENTRYPOINT"]
    cmd = [exec_form(a) for k, a in ins if k == "CMD"]
    with open(os.path.join(ROOT, "README.md")) as f:
        readme = markdown_dockerfiles(f.read())
    documented = [exec_form(a) for block in readme for k, a in block if k == "ENTRYPOINT"]
    assert entry and entry[-1] in documented, (entry, documented)
    assert entry[-1] == ["/injector", "-c", "/etc/injector.yaml", "--"]
    assert cmd == [["python3", "/app/app.py"]]
    # The app reads the file where the baked-in config writes it.
    with open(os.path.join(ROOT, "examples", "python-app", "app.py")) as f:
        assert '"/dev/shm/secrets/db.json"' in f.read()
    assert "/dev/shm/secrets/db.json" in EXPECT["examples/python-app/injector.yaml"]["files"]
