"""End to end with a real PostgreSQL: psql can only log in with the password injector
fetched from the (fake) Secrets Manager; nothing else knows it."""
import os
import shutil
import tempfile

import pytest

import pg
import seed
from conftest import run

pytestmark = pytest.mark.skipif(not pg.available() and not os.environ.get("CI"),
                                reason="PostgreSQL not installed (CI installs it)")


@pytest.fixture(scope="module")
def postgres():
    # Not under pytest's tmp dir: that is 0700 root, and the server runs as 'postgres'.
    base = tempfile.mkdtemp(prefix="injector-pg-")
    os.chmod(base, 0o755)
    server = pg.Postgres(base).start()
    try:
        server.create_login("injector_e2e", seed.PG_E2E_PASSWORD)
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


def _psql_env(base_env, tmp_path):
    env = dict(base_env)
    # No other way in: no password file, no service file, never prompt.
    env.update(PGPASSFILE=str(tmp_path / "nopass"), PGSERVICEFILE=str(tmp_path / "nosvc"),
               PGCONNECT_TIMEOUT="5")
    return env


def test_psql_connects_only_with_injected_password(fake, base_env, write_config, postgres,
                                                   tmp_path):
    env = _psql_env(base_env, tmp_path)
    cfg = write_config("""
        version: 1
        env:
          PGUSER: { from: pg/e2e, key: username }
          PGPASSWORD: { from: pg/e2e, key: password }
        """)
    psql = ["psql", "-X", "-w", "-h", "127.0.0.1", "-p", str(postgres.port), "-d", "postgres",
            "-At", "-c", "select current_user || ':' || 41+1"]
    # Without injector: no password, no login.
    import subprocess
    direct = subprocess.run(psql + ["-U", "injector_e2e"], env=env, capture_output=True,
                            text=True)
    assert direct.returncode != 0
    # Through injector: the password comes from the secret only.
    res = run(["-c", cfg, "--"] + psql, env)
    assert res.rc == 0, res
    assert res.out.strip() == "injector_e2e:42"


def test_wrong_password_in_secret_fails_login(fake, base_env, write_config, postgres, tmp_path):
    fake.state.put_secret_value("pg/e2e", '{"username":"injector_e2e","password":"wrong-pw"}')
    env = _psql_env(base_env, tmp_path)
    cfg = write_config("""
        version: 1
        env:
          PGUSER: { from: pg/e2e, key: username }
          PGPASSWORD: { from: pg/e2e, key: password }
        """)
    res = run(["-c", cfg, "--", "psql", "-X", "-w", "-h", "127.0.0.1", "-p",
               str(postgres.port), "-d", "postgres", "-c", "select 1"], env)
    assert res.rc != 0
    assert "password authentication failed" in res.err


def test_connection_string_from_file(fake, base_env, write_config, postgres, tmp_path,
                                     secret_dir):
    """The whole secret as a 0400 file; the app reads its JSON (like the boto3 sample)."""
    env = _psql_env(base_env, tmp_path)
    f = secret_dir / "secrets" / "db.json"
    cfg = write_config(f"""
        version: 1
        files:
          {f}: {{ from: pg/e2e }}
        """)
    script = (
        'import json,subprocess,sys\n'
        f'd=json.load(open("{f}"))\n'
        'import os\n'
        'env=dict(os.environ, PGUSER=d["username"], PGPASSWORD=d["password"])\n'
        f'sys.exit(subprocess.run(["psql","-X","-w","-h","127.0.0.1","-p","{postgres.port}",'
        '"-d","postgres","-Atc","select 7*6"],env=env).returncode)\n')
    res = run(["-c", cfg, "--", "/usr/bin/python3", "-c", script], env)
    assert res.rc == 0, res
    assert res.out.strip() == "42"
