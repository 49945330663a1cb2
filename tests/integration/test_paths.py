"""Load by path (issue 16 item 2): `from: ssm:/PATH/` with `path: true` reads every parameter
under the path with GetParametersByPath (decrypted, every page), names each variable from the
name below the path by expand's rule (prefix + upper case, bytes outside [A-Z0-9_] -> '_':
/prod/app/db/password -> DB_PASSWORD), in name order, with prefix/only/except and expand's
collision checks, and a required bound `max:` (more parameters is an error naming the count).
Every run's output is grepped for every canary (conftest.run)."""
import json
import signal

import seed
from conftest import run
from test_policy import offline_env
from test_supervise import sv, value, wait_for  # noqa: F401  (sv is a fixture)


def c(label):
    return f"p-{seed.canary('paths/' + label)}"


def by_path_calls(fake):
    return [r for r in fake.state.requests if r["action"] == "GetParametersByPath"]


def seed_app(fake, base="/paths/app"):
    fake.state.put_parameter(f"{base}/db_password", c("pw"), ptype="SecureString")
    fake.state.put_parameter(f"{base}/api.key", c("api"), ptype="SecureString")
    fake.state.put_parameter(f"{base}/host", "db.internal")
    fake.state.put_parameter(f"{base}/nested/deep/token", c("tok"), ptype="SecureString")
    fake.state.put_parameter("/paths/application/other", c("other"))   # a sibling, not under it


def test_names_from_the_path_one_level(fake, base_env, write_config, probe):
    seed_app(fake)
    cfg = write_config("""
        version: 1
        env:
          APP: { from: "ssm:/paths/app/", path: true, max: 10 }
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    env = probe.read()["env"]
    assert env["DB_PASSWORD"] == c("pw")            # SecureString, decrypted
    assert env["API_KEY"] == c("api")
    assert env["HOST"] == "db.internal"
    assert "NESTED_DEEP_TOKEN" not in env          # recursive defaults to false, as the API
    assert "OTHER" not in env and "APP" not in env
    calls = by_path_calls(fake)
    assert len(calls) == 1


def test_recursive_nested_names_prefix_only_except(fake, base_env, write_config, probe):
    seed_app(fake)
    cfg = write_config("""
        version: 1
        env:
          APP: { from: "ssm:/paths/app", path: true, recursive: true, max: 10, prefix: APP_,
                 except: [host] }
          ONE: { from: "ssm:/paths/app/", path: true, recursive: true, max: 10,
                 only: [nested/deep/token] }
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    env = probe.read()["env"]
    assert env["APP_DB_PASSWORD"] == c("pw") and env["APP_API_KEY"] == c("api")
    assert env["APP_NESTED_DEEP_TOKEN"] == c("tok") and "APP_HOST" not in env
    assert env["NESTED_DEEP_TOKEN"] == c("tok") and "DB_PASSWORD" not in env


def test_pagination_over_more_than_ten(fake, base_env, write_config, probe):
    for i in range(23):
        fake.state.put_parameter(f"/paths/many/k{i:02d}", c(f"many-{i}"), ptype="SecureString")
    cfg = write_config("""
        version: 1
        env:
          M: { from: "ssm:/paths/many/", path: true, max: 23 }
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    env = probe.read()["env"]
    for i in range(23):
        assert env[f"K{i:02d}"] == c(f"many-{i}")
    calls = by_path_calls(fake)
    assert len(calls) == 3                       # pages of 10, 10, 3 (NextToken)


def test_max_exceeded_names_the_count_and_stops_reading(fake, base_env, write_config, probe):
    for i in range(23):
        fake.state.put_parameter(f"/paths/many/k{i:02d}", c(f"many-{i}"))
    cfg = write_config("""
        version: 1
        env:
          M: { from: "ssm:/paths/many/", path: true, max: 5 }
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 78, res
    assert "at least 10 parameters, more than max: 5" in res.err
    assert not probe.path.exists()
    assert len(by_path_calls(fake)) == 1         # no page after the bound is passed
    cfg = write_config("""
        version: 1
        env:
          M: { from: "ssm:/paths/many/", path: true, max: 22 }
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 78, res
    assert "at least 23 parameters, more than max: 22" in res.err


def test_collisions_are_listed_before_anything_is_written(fake, base_env, write_config, probe):
    fake.state.put_parameter("/paths/col/db_password", c("col-a"))
    fake.state.put_parameter("/paths/col/db/password", c("col-b"))
    fake.state.put_parameter("/paths/col/token", c("col-t"))
    cfg = write_config("""
        version: 1
        env:
          C: { from: "ssm:/paths/col/", path: true, recursive: true, max: 5 }
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 78, res
    assert '"db/password" and "db_password" -> DB_PASSWORD' in res.err
    assert not probe.path.exists()
    cfg = write_config("""
        version: 1
        env:
          C: { from: "ssm:/paths/col/", path: true, max: 5 }
          TOKEN: ssm:/paths/col/token
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 78, res
    assert "TOKEN" in res.err and "env C" in res.err
    assert not probe.path.exists()


def test_empty_path_sets_nothing(fake, base_env, write_config, probe):
    cfg = write_config("""
        version: 1
        env:
          E: { from: "ssm:/paths/none/", path: true, max: 3 }
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    assert "E" not in probe.read()["env"]


def test_dry_run_prints_names_and_lengths_never_values(fake, base_env, write_config):
    seed_app(fake)
    cfg = write_config("""
        version: 1
        env:
          APP: { from: "ssm:/paths/app/", path: true, recursive: true, max: 10 }
        """)
    res = run(["--dry-run", "-c", cfg], base_env)
    assert res.rc == 0, res
    assert "expands to 4 variable(s)" in res.out
    assert f'env DB_PASSWORD: key "db_password" of APP {len(c("pw"))} bytes' in res.out
    assert 'env NESTED_DEEP_TOKEN: key "nested/deep/token" of APP' in res.out
    # Deterministic order: by name below the path.
    order = ["API_KEY", "DB_PASSWORD", "HOST", "NESTED_DEEP_TOKEN"]
    pos = [res.out.index(f"env {n}:") for n in order]
    assert pos == sorted(pos)
    for v in (c("pw"), c("api"), c("tok")):
        assert v not in res.out and v not in res.err
    res = run(["export", "--format", "json", "-c", cfg], base_env, check_leaks=False)
    assert res.rc == 0, res
    assert json.loads(res.out) == {"API_KEY": c("api"), "DB_PASSWORD": c("pw"),
                                   "HOST": "db.internal", "NESTED_DEEP_TOKEN": c("tok")}


def test_denied_names_get_parameters_by_path(fake, base_env, write_config):
    seed_app(fake)
    fake.state.deny(base_env["AWS_ACCESS_KEY_ID"], "ssm:GetParametersByPath")
    cfg = write_config("""
        version: 1
        env:
          APP: { from: "ssm:/paths/app/", path: true, max: 10 }
        """)
    res = run(["-c", cfg, "--", "/bin/true"], base_env)
    assert res.rc != 0, res
    assert "ssm:GetParametersByPath" in res.err


def test_policy_path_and_below_and_decrypt(tmp_path, write_config):
    cfg = write_config("""
        version: 1
        env:
          APP: { from: "ssm:/prod/app/", path: true, recursive: true, max: 50 }
          PW: ssm:/prod/db/password
        """)
    res = run(["policy", "-c", cfg, "--region", "eu-central-1", "--account", "111122223333"],
              offline_env(tmp_path))
    assert res.rc == 0, res
    st = {s["Sid"]: s for s in json.loads(res.out)["Statement"]}
    assert st["ReadParameterPaths"]["Action"] == "ssm:GetParametersByPath"
    assert st["ReadParameterPaths"]["Resource"] == [
        "arn:aws:ssm:eu-central-1:111122223333:parameter/prod/app",
        "arn:aws:ssm:eu-central-1:111122223333:parameter/prod/app/*"]
    assert st["ReadParameters"]["Resource"] == [
        "arn:aws:ssm:eu-central-1:111122223333:parameter/prod/db/password"]
    assert st["DecryptParametersViaSSM"]["Action"] == "kms:Decrypt"
    assert st["DecryptParametersViaSSM"]["Condition"] == {"StringEquals": {
        "kms:ViaService": ["ssm.eu-central-1.amazonaws.com"]}}


def test_refresh_parameters_appearing_and_disappearing(fake, write_config, sv):
    v1, v2 = value("path-1"), value("path-2")
    fake.state.put_parameter("/paths/rot/a", v1)
    fake.state.put_parameter("/paths/rot/gone", "g")
    cfg = write_config("""
        version: 1
        supervise:
          refresh: 50ms
          on_change: restart
          restart_delay: 0s
        env:
          R: { from: "ssm:/paths/rot/", path: true, max: 5 }
        """)
    inj, log = sv(["-c", cfg], {"APP_ENV": "A,GONE,NEW"})
    first = wait_for("start", lambda: log.events("start"), inj)[0]
    assert first["env"] == {"A": v1, "GONE": "g", "NEW": None}
    with fake.state.lock:   # one change: a cycle never reads a half-made one
        fake.state.put_parameter("/paths/rot/a", v2)
        fake.state.delete_parameter("/paths/rot/gone")
        fake.state.put_parameter("/paths/rot/new", "n")
    starts = wait_for("restart", lambda: len(log.events("start")) >= 2 and log.events("start"),
                      inj)
    assert starts[-1]["env"] == {"A": v2, "GONE": None, "NEW": "n"}
    err = inj.stderr_text()
    assert "variables added: NEW; removed: GONE" in err
    inj.kill(signal.SIGTERM)
    assert inj.finish(leak_extra=(v1, v2)) == 0


def test_next_token_given_back_stops_the_read(fake, base_env, write_config, probe):
    # GetParametersByPath answering the NextToken it was sent: stopped at the second page,
    # not called until the start deadline.
    body = json.dumps({"Parameters": [], "NextToken": "SAME"})
    fake.state.add_fault("garbage", action="GetParametersByPath", status=200, body=body,
                         content_type="application/x-amz-json-1.1")
    cfg = write_config("""
        version: 1
        env:
          APP: { from: "ssm:/paths/app/", path: true, max: 5 }
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 69, res
    assert "/paths/app: page 2 of the answer gave back the NextToken it was asked with" in res.err
    assert len(by_path_calls(fake)) == 2
    assert not probe.path.exists()
