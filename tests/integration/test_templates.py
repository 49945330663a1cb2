"""Templates: `template:` on env and file entries composes one value from secret fields
(a DATABASE_URL from an RDS secret), with urlencode/json/base64/default filters, values from
other secrets, strict errors at check time (syntax, filters) and fetch time (missing fields),
and end to end with PostgreSQL through a URI built by a template."""
import base64
import json
import os
import shutil
import subprocess
import tempfile
import urllib.parse

import pytest

import pg
import seed
from conftest import run

ARN = seed.SECRET_ARNS
PG_URL_TEMPLATE = ("postgresql://{{ .username | urlencode }}:{{ .password | urlencode }}"
                   "@127.0.0.1:PORT/postgres?connect_timeout=5")


def _expected_url(user, password, port="PORT"):
    q = lambda s: urllib.parse.quote(s, safe="-._~")  # RFC 3986 unreserved kept
    return f"postgresql://{q(user)}:{q(password)}@127.0.0.1:{port}/postgres?connect_timeout=5"


def test_database_url_from_rds_style_secret(fake, base_env, write_config, probe):
    cfg = write_config(f"""
        version: 1
        env:
          DATABASE_URL:
            from: pg/e2e
            template: "{PG_URL_TEMPLATE}"
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    url = probe.read()["env"]["DATABASE_URL"]
    # The password holds @:/?#%&+= and a non-ASCII letter: all percent-encoded (UTF-8 bytes).
    assert url == _expected_url("injector_e2e", seed.PG_E2E_PASSWORD)
    assert "%C3%BC" in url and "%40" in url and "%3A" in url and "%2F" in url
    parts = urllib.parse.urlsplit(url)
    assert urllib.parse.unquote(parts.password) == seed.PG_E2E_PASSWORD
    assert parts.hostname == "127.0.0.1" and parts.path == "/postgres"


def test_jdbc_url_with_port_number_and_json_file(fake, base_env, write_config, probe, secret_dir):
    f = secret_dir / "db.json"
    cfg = write_config(f"""
        version: 1
        env:
          DB_CONNECTION_STRING:
            from: secretPostgresqlMasterUser
            template: "jdbc:postgresql://{{{{ .host }}}}:{{{{ .port }}}}/{{{{ .dbname }}}}?user={{{{ .username | urlencode }}}}&password={{{{ .password | urlencode }}}}"
        files:
          {f}:
            from: secretPostgresqlMasterUser
            template: |
              {{"user": {{{{ .username | json }}}}, "port": {{{{ .port | json }}}}, "ssl": {{{{ .sslmode | default "require" | json }}}}}}
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    got = probe.read()["env"]["DB_CONNECTION_STRING"]
    assert got == ("jdbc:postgresql://127.0.0.1:5432/postgres?user=masteruser&password="
                   + urllib.parse.quote(seed.PGMASTER_PASSWORD, safe="-._~"))
    doc = json.loads(f.read_text())
    assert doc == {"user": "masteruser", "port": 5432, "ssl": "require"}


def test_values_from_other_secrets_fetched_once(fake, base_env, write_config, probe):
    rds = seed.RDS_NAME
    cfg = write_config(f"""
        version: 1
        env:
          COMBINED:
            from: api
            template: '{{{{ .token }}}}|{{{{ secret "{rds}" .password }}}}|{{{{ secret "{rds}::AWSPREVIOUS" .password }}}}|{{{{ secret "app/nested" .db.primary.password }}}}|{{{{ secret "app/nested" .list.2.x }}}}'
          NO_FROM:
            template: '{{{{ secret "plain/text" | base64 }}}}'
          TOKEN: {{ from: api, key: token }}
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    env = probe.read()["env"]
    assert env["COMBINED"] == "|".join([seed.API_TOKEN, seed.RDS_PASSWORD, seed.RDS_PASSWORD_PREVIOUS,
                                        f"pw-{seed.C_NESTED_DB}", f"x-{seed.C_NESTED_LIST}"])
    assert base64.b64decode(env["NO_FROM"]).decode() == seed.PLAIN_TEXT
    assert env["TOKEN"] == seed.API_TOKEN
    # api, rds current, rds previous, app/nested, plain/text: five fetches, however many uses.
    # The four AWSCURRENT ones share one BatchGetSecretValue; AWSPREVIOUS needs GetSecretValue.
    by_action = fake.state.stats()["requests_by_action"]
    assert by_action == {"BatchGetSecretValue": 1, "GetSecretValue": 1}
    assert sorted(fake.state.requests[0]["secret_ids"] + fake.state.requests[1]["secret_ids"]) \
        == sorted(["api", rds, "app/nested", "plain/text", rds])


def test_check_counts_template_fetches_offline(fake, base_env, write_config):
    cfg = write_config("""
        version: 1
        env:
          A: { from: api, template: '{{ .token }}-{{ secret "pg/e2e" .password }}' }
          B: { from: pg/e2e, key: password }
        """)
    env = dict(base_env)
    env["AWS_ENDPOINT_URL"] = "https://127.0.0.1:1"  # check never connects
    res = run(["check", "-c", cfg], env)
    assert res.rc == 0, res
    assert "2 entries, 2 secret fetches" in res.out


@pytest.mark.parametrize("template,needle", [
    ("{{ .password | urlencod }}", 'unknown filter "urlencod" (known: urlencode, json, base64'),
    ("{{ .password ", '"{{" not closed with "}}"'),
    ("{{ password }}", 'expected .field, secret "ID" .field or a "string"'),
    ("{{ .password | default }}", 'default needs a "quoted" value'),
    ('{{ secret "api:token" }}', 'takes no JSON key'),
    ('{{ secret "no spaces allowed" .x }}', "not a valid secret name"),
])
def test_check_reports_template_errors_with_position(fake, base_env, write_config, template,
                                                     needle):
    cfg = write_config(f"""
        version: 1
        env:
          DATABASE_URL:
            from: pg/e2e
            template: '{template}'
        """)
    res = run(["check", "-c", cfg], base_env)
    assert res.rc == 78, res
    assert f"{cfg}:6:15: DATABASE_URL: template: column " in res.err
    assert needle in res.err
    assert fake.state.stats()["requests_by_action"] == {}


def test_check_refuses_template_with_key_or_without_source(fake, base_env, write_config):
    cfg = write_config("""
        version: 1
        env:
          A: { from: pg/e2e, key: password, template: "{{ .password }}" }
        """)
    res = run(["check", "-c", cfg], base_env)
    assert res.rc == 78 and "write {{ .key }} in it instead" in res.err, res
    cfg = write_config("""
        version: 1
        env:
          A: { template: "{{ .password }}" }
        """)
    res = run(["check", "-c", cfg], base_env)
    assert res.rc == 78 and 'the template reads .fields but the entry has no "from"' in res.err
    cfg = write_config("""
        version: 1
        env:
          A: { template: "constant" }
        """)
    res = run(["check", "-c", cfg], base_env)
    assert res.rc == 78 and "the template uses no secret" in res.err, res


def test_missing_field_fails_at_fetch_app_not_started(fake, base_env, write_config, probe):
    cfg = write_config("""
        version: 1
        env:
          DATABASE_URL:
            from: secretPostgresqlMasterUser
            template: "postgresql://{{ .username }}@{{ .hots }}:{{ .port }}/{{ .dbname }}"
        """)
    assert run(["check", "-c", cfg], base_env).rc == 0
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 65, res
    assert "env DATABASE_URL: template {{ .hots }}: not found in secret " \
           + seed.SECRET_ARNS["secretPostgresqlMasterUser"] in res.err
    assert "the keys at the top are: username, password, engine, host, port, dbname" in res.err
    assert not probe.path.exists()


def test_optional_template_entry_skipped_and_default(fake, base_env, write_config, probe):
    cfg = write_config("""
        version: 1
        env:
          MAYBE: { from: api, template: "{{ .nope }}", optional: true }
          WITH_DEFAULT: { from: api, template: '{{ .nope | default "5432" }}' }
          FROM_MISSING_SECRET: { template: '{{ secret "does/not/exist" .x }}', optional: true }
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    env = probe.read()["env"]
    assert "MAYBE" not in env and "FROM_MISSING_SECRET" not in env
    assert env["WITH_DEFAULT"] == "5432"
    assert "optional: skipped" in res.err


def test_fields_of_non_json_secret(fake, base_env, write_config, probe):
    cfg = write_config("""
        version: 1
        env:
          X: { from: plain/text, template: "{{ .password }}" }
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 65, res
    assert "is not JSON, so it has no fields" in res.err
    assert not probe.path.exists()


@pytest.mark.parametrize("secret,template,dup", [
    ('{"password": "CANARY-TDUP1", "password": "CANARY-TDUP2"}', "{{ .password }}",
     'the key "password" twice in its top level'),
    ('{"db": {"u": "CANARY-TDUP1", "u": "CANARY-TDUP2"}}', "{{ .db.u | urlencode }}",
     'the key "u" twice in the object at /db'),
    ('{"db": {"u": "CANARY-TDUP1"}, "db": {"u": "CANARY-TDUP2"}}', "{{ .db.u }}",
     'the key "db" twice in its top level'),
    ('{"a": "x", "b": [{"c": "CANARY-TDUP1", "c": "CANARY-TDUP2"}]}', "{{ .a }}",
     'the key "c" twice in the object at /b/0'),
    ('{"o": {"k": "CANARY-TDUP1", "k": "CANARY-TDUP2"}}', "{{ .o | json }}",
     'the key "k" twice in the object at /o'),
])
def test_duplicate_keys_refused(fake, base_env, write_config, probe, secret, template, dup):
    """Python, Go and JS take the last of two equal keys, cJSON the first: refused, exit 65,
    naming the key and the secret; optional does not skip it (the secret is wrong, not
    absent)."""
    arn = fake.state.add_secret("tmpl/dup", string=secret)
    cfg = write_config(f"""
        version: 1
        env:
          DUP: {{ from: tmpl/dup, template: "{template}", optional: true }}
          PGUSER: {{ from: "{seed.RDS_NAME}", key: username }}
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 65, res
    assert f"env DUP: template {template}: secret {arn} has {dup}" in res.err, res
    assert "CANARY-" not in res.out + res.err
    assert not probe.path.exists()


def test_duplicate_keys_in_another_secret(fake, base_env, write_config, probe):
    arn = fake.state.add_secret("tmpl/dup2", string='{"t": "CANARY-TDUP3", "t": "CANARY-TDUP4"}')
    cfg = write_config("""
        version: 1
        env:
          TOKEN: { template: '{{ secret "tmpl/dup2" .t }}' }
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 65, res
    assert f'secret {arn} has the key "t" twice' in res.err, res
    assert "CANARY-" not in res.out + res.err
    assert not probe.path.exists()


def test_secret_binary_into_env_with_encoding_base64(fake, base_env, write_config, probe):
    cfg = write_config("""
        version: 1
        env:
          BLOB_B64: { from: bin/blob, encoding: base64 }
          BLOB_TMPL: { from: bin/blob, template: "{{ . | base64 }}" }
          TOKEN_B64: { from: api, key: token, encoding: base64 }
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    env = probe.read()["env"]
    assert base64.b64decode(env["BLOB_B64"]) == seed.BLOB
    assert env["BLOB_TMPL"] == env["BLOB_B64"]
    assert base64.b64decode(env["TOKEN_B64"]).decode() == seed.API_TOKEN
    # Without encoding the NUL bytes cannot go into env: an error, not a truncated value.
    cfg = write_config("""
        version: 1
        env:
          BLOB: { from: bin/blob }
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc != 0 and "NUL" in res.err


def test_bad_encoding_value(fake, base_env, write_config):
    cfg = write_config("""
        version: 1
        env:
          A: { from: api, encoding: hex }
        """)
    res = run(["check", "-c", cfg], base_env)
    assert res.rc == 78 and 'encoding must be raw or base64, not "hex"' in res.err


def test_special_characters_every_filter(fake, base_env, write_config, probe):
    nasty = "a@b:c/d?e#f%g&h+i=j k'l\"m$n`o\\p\nq\tr ü€😀"
    fake.state.add_secret("tmpl/nasty", string=json.dumps({"v": nasty, "n": 7}))
    cfg = write_config("""
        version: 1
        env:
          U: { from: tmpl/nasty, template: "{{ .v | urlencode }}" }
          J: { from: tmpl/nasty, template: '{"v":{{ .v | json }},"n":{{ .n | json }}}' }
          B: { from: tmpl/nasty, template: "{{ .v | base64 }}" }
          R: { from: tmpl/nasty, template: "<{{ .v }}>" }
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env, leak_extra=[nasty])
    assert res.rc == 0, res
    env = probe.read()["env"]
    assert env["U"] == urllib.parse.quote(nasty, safe="-._~")
    assert urllib.parse.unquote(env["U"]) == nasty
    assert json.loads(env["J"]) == {"v": nasty, "n": 7}
    assert base64.b64decode(env["B"]).decode() == nasty
    assert env["R"] == f"<{nasty}>"


# ---- PostgreSQL end to end: psql connects with the URI a template built ----

pg_available = pytest.mark.skipif(not pg.available() and not os.environ.get("CI"),
                                  reason="PostgreSQL not installed (CI installs it)")


@pytest.fixture(scope="module")
def postgres():
    base = tempfile.mkdtemp(prefix="injector-pg-tmpl-")
    os.chmod(base, 0o755)
    server = pg.Postgres(base).start()
    try:
        server.create_login("injector_e2e", seed.PG_E2E_PASSWORD)
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


@pg_available
def test_psql_connects_with_templated_database_url(fake, base_env, write_config, postgres,
                                                   tmp_path):
    env = dict(base_env)
    env.update(PGPASSFILE=str(tmp_path / "nopass"), PGSERVICEFILE=str(tmp_path / "nosvc"))
    tmpl = PG_URL_TEMPLATE.replace("PORT", str(postgres.port))
    cfg = write_config(f"""
        version: 1
        env:
          DATABASE_URL:
            from: pg/e2e
            template: "{tmpl}"
        """)
    # psql takes a URI as its dbname; the app reads it from the environment, never argv.
    app = ["sh", "-c", 'exec psql "$DATABASE_URL" -X -w -At -c "select current_user || \':\' || 6*7"']
    res = run(["-c", cfg, "--"] + app, env)
    assert res.rc == 0, res
    assert res.out.strip() == "injector_e2e:42"
    # The same URI without urlencode breaks on the password's '@', '/', '?' and '#'.
    bad = tmpl.replace(" | urlencode", "")
    cfg = write_config(f"""
        version: 1
        env:
          DATABASE_URL:
            from: pg/e2e
            template: "{bad}"
        """)
    res = run(["-c", cfg, "--"] + app, env, check_leaks=False)
    assert res.rc != 0
    assert "injector_e2e:42" not in res.out


# ---------------------------------------------------------------------------------------
# template_file: a file entry rendered from a template file
# ---------------------------------------------------------------------------------------

def test_template_file_relative_to_the_config_and_written_like_any_file(
        fake, base_env, tmp_path, probe, secret_dir):
    tdir = tmp_path / "conf" / "t"
    tdir.mkdir(parents=True)
    (tdir / "pgpass.tmpl").write_text("{{ .host }}:{{ .port }}:*:{{ .username }}:"
                                      "{{ .password }}\n")
    f = secret_dir / "sub" / ".pgpass"
    cfg = tmp_path / "conf" / "injector.yaml"
    cfg.write_text(f"""version: 1
files:
  {f}:
    from: secretPostgresqlMasterUser
    template_file: t/pgpass.tmpl
    mode: "0600"
""")
    res = run(["check", "-c", str(cfg)], base_env)
    assert res.rc == 0, res
    # From another working directory: the path is the config's, not the cwd's.
    res = run(["-c", str(cfg), "--"] + probe(base_env), base_env, cwd="/")
    assert res.rc == 0, res
    assert f.read_text() == f"127.0.0.1:5432:*:masteruser:{seed.PGMASTER_PASSWORD}\n"
    assert oct(os.stat(f).st_mode & 0o777) == oct(0o600)
    assert sorted(os.listdir(f.parent)) == [".pgpass"]      # no temp file left
    # An absolute path works from anywhere, and the template may name other secrets.
    (tdir / "abs.tmpl").write_text('token={{ secret "api" .token }}')
    g = secret_dir / "tok"
    cfg2 = tmp_path / "c2.yaml"
    cfg2.write_text(f"version: 1\nfiles:\n  {g}: {{ template_file: {tdir}/abs.tmpl }}\n")
    res = run(["-c", str(cfg2), "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    assert g.read_text() == f"token={seed.API_TOKEN}"


def test_template_file_is_checked_offline(base_env, tmp_path, write_config):
    t = tmp_path / "bad.tmpl"
    t.write_text("line one\nuser={{ .username | urlencod }}\n")
    nul = tmp_path / "nul.tmpl"
    nul.write_bytes(b"a\0{{ .x }}")
    cases = [
        (f"{{ from: x, template_file: {t} }}", f"{t}: template:", "unknown filter"),
        (f"{{ from: x, template_file: {tmp_path}/none.tmpl }}", "none.tmpl", "No such file"),
        (f"{{ from: x, template_file: {nul} }}", "holds a NUL byte", ""),
        (f"{{ from: x, template_file: {t}, template: 'a' }}", "not both", ""),
        ("{ from: x, template_file: '' }", "template_file is empty", ""),
        (f"{{ from: x, template_file: {tmp_path} }}", "template_file", ""),
        ("{ from: x, template_file: nothere.tmpl }", "nothere.tmpl", ""),
    ]
    for entry, a, b in cases:
        cfg = write_config(f"version: 1\nfiles:\n  /run/x/f: {entry}\n")
        res = run(["check", "-c", cfg], base_env)
        assert res.rc == 78 and a in res.err and b in res.err, (entry, res)
    cfg = write_config(f"version: 1\nenv:\n  X: {{ from: x, template_file: {t} }}\n")
    res = run(["check", "-c", cfg], base_env)
    assert res.rc == 78 and 'unknown key "template_file" in an env entry' in res.err, res
