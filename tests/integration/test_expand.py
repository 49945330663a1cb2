"""`expand: true`: every top-level key of a JSON secret (or parameter) becomes a variable,
named by the documented rule (prefix + upper case, bytes outside [A-Z0-9_] -> '_', a leading
digit gets '_'), with only/except; bad names, two keys on one name and collisions with other
entries fail before anything is written, listing every offender; supervise refresh with keys
that appear or disappear."""
import json
import os
import re
import signal

import pytest

import seed
from conftest import run
from test_supervise import sv, value, wait_for  # noqa: F401  (sv is a fixture)


def c(label):
    return f"x-{seed.canary('expand/' + label)}"


def expected_name(prefix, key):
    """The documented name rule, computed here independently of injector."""
    # Byte by byte: upper-casing is ASCII only, each byte of a UTF-8 letter becomes '_'.
    out = ""
    for b in key.encode("utf-8"):
        ch = chr(b)
        if "a" <= ch <= "z":
            ch = ch.upper()
        out += ch if re.fullmatch(r"[A-Z0-9_]", ch) else "_"
    name = prefix + out
    return "_" + name if name[:1].isdigit() else name


APP = {
    "db-host": "db.internal",
    "user.name": "app",
    "password": c("pw"),
    "2fa_seed": c("seed"),
    "port": 5432,
    "tls": True,
    "extra": None,
    "nested": {"a": [1, "b"]},
    "Ünï": c("uni"),
}


def _app_secret(fake, name="exp/app", data=None):
    return fake.state.add_secret(name, string=json.dumps(data or APP, ensure_ascii=False))


def _expected_env(prefix, data):
    out = {}
    for k, v in data.items():
        out[expected_name(prefix, k)] = v if isinstance(v, str) else json.dumps(
            v, separators=(",", ":"))
    return out


def test_every_key_becomes_a_variable(fake, base_env, write_config, probe):
    _app_secret(fake)
    cfg = write_config("""
        version: 1
        env:
          APP: { from: exp/app, expand: true }
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    env = probe.read()["env"]
    want = _expected_env("", APP)
    assert want["DB_HOST"] == "db.internal" and want["_2FA_SEED"] == c("seed")
    assert want["PORT"] == "5432" and want["TLS"] == "true" and want["EXTRA"] == "null"
    assert want["NESTED"] == '{"a":[1,"b"]}' and want["__N__"] == c("uni")
    for k, v in want.items():
        assert env.get(k) == v, k
    assert "APP" not in env       # the entry's own name is only its label


def test_prefix_only_and_except(fake, base_env, write_config, probe):
    _app_secret(fake)
    cfg = write_config("""
        version: 1
        env:
          DB: { from: exp/app, expand: true, prefix: PG_, only: [db-host, password, port] }
          REST: { from: exp/app, expand: true, prefix: APP_, except: [password, Ünï, nested] }
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    env = probe.read()["env"]
    assert {k: env[k] for k in env if k.startswith("PG_")} == {
        "PG_DB_HOST": "db.internal", "PG_PASSWORD": c("pw"), "PG_PORT": "5432"}
    got = {k: env[k] for k in env if k.startswith("APP_")}
    assert got == _expected_env("APP_", {k: v for k, v in APP.items()
                                         if k not in ("password", "Ünï", "nested")})


def test_bad_names_and_two_keys_on_one_name_listed_before_anything_is_written(
        fake, base_env, write_config, probe, secret_dir):
    _app_secret(fake, data={"ok": c("ok"), "a-b": c("ab1"), "A_B": c("ab2"), "node_options": c("ld"),
                            "path": c("path"), "": c("empty")})
    f = secret_dir / "f"
    cfg = write_config(f"""
        version: 1
        files:
          {f}: {{ from: exp/app, key: ok }}
        env:
          APP: {{ from: exp/app, expand: true }}
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 78, res
    assert '"node_options" -> NODE_OPTIONS (a loader/shell variable)' in res.err
    assert '"path" -> PATH (a loader/shell variable)' in res.err
    assert '"" (no valid name)' in res.err
    assert '"a-b" and "A_B" -> A_B' in res.err
    assert not f.exists() and not probe.path.exists()
    # allow_reserved lets the loader names through; the clash stays an error.
    cfg = write_config("""
        version: 1
        env:
          APP: { from: exp/app, expand: true, allow_reserved: true, except: ["", A_B, path] }
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    assert probe.read()["env"]["NODE_OPTIONS"] == c("ld")


def test_collision_with_other_entries_lists_each(fake, base_env, write_config, probe):
    _app_secret(fake)
    fake.state.add_secret("exp/other", string=json.dumps({"password": c("o-pw"), "port": "1"}))
    cfg = write_config("""
        version: 1
        env:
          PASSWORD: { from: exp/other, key: password }
          APP: { from: exp/app, expand: true, only: [password, port, tls] }
          OTHER: { from: exp/other, expand: true }
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 78, res
    assert "2 variable names set twice" in res.err, res
    assert "PASSWORD (env PASSWORD and key \"password\" of env APP (expand) and more)" in res.err
    assert "PORT (key \"port\" of env APP (expand) and key \"port\" of env OTHER" in res.err
    assert not probe.path.exists()


def test_not_an_object_and_missing_only_key(fake, base_env, write_config, probe):
    fake.state.add_secret("exp/list", string=json.dumps([c("l")]))
    fake.state.add_secret("exp/plain", string=c("plain"))
    _app_secret(fake)
    for frm, code, text in [("exp/list", 65, "JSON but not an object"),
                            ("exp/plain", 65, "is not a JSON object")]:
        cfg = write_config(f"""
            version: 1
            env:
              APP: {{ from: {frm}, expand: true }}
            """)
        res = run(["-c", cfg, "--"] + probe(base_env), base_env)
        assert res.rc == code and text in res.err, res
    cfg = write_config("""
        version: 1
        env:
          APP: { from: exp/app, expand: true, only: [password, nope, "also-not"] }
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 65 and 'has no key "nope", "also-not" (listed in only)' in res.err, res
    assert not probe.path.exists()


def test_config_errors_are_found_offline(write_config, base_env):
    cases = [
        ("APP: { from: x, expand: true, key: k }", "expand reads every top-level key itself"),
        ("APP: { from: x, template: '{{ .a }}', expand: true }", "expand reads every"),
        ("APP: { from: x, prefix: P_ }", "prefix/only/except go with \"expand: true\""),
        ("APP: { from: x, expand: true, prefix: 1A }", "prefix \"1A\" must start a valid"),
        ("APP: { from: x, expand: true, only: [] }", "only is an empty list"),
        ("APP: { from: x, expand: true, only: a }", "only must be a list of keys"),
        ("APP: { from: x, expand: true, except: [a, a] }", "key \"a\" listed twice"),
        ("APP: { from: x, expand: maybe }", "expand"),
    ]
    for line, text in cases:
        cfg = write_config(f"version: 1\nenv:\n  {line}\n")
        res = run(["check", "-c", cfg], base_env)
        assert res.rc == 78 and text in res.err, (line, res)
    cfg = write_config("version: 1\nfiles:\n  /run/x: { from: x, expand: true }\n")
    res = run(["check", "-c", cfg], base_env)
    assert res.rc == 78 and 'unknown key "expand"' in res.err, res
    # A reserved entry label is fine: it is not set.
    cfg = write_config("version: 1\nenv:\n  PATH: { from: x, expand: true, prefix: P_ }\n")
    assert run(["check", "-c", cfg], base_env).rc == 0


def test_dry_run_and_export_list_the_variables(fake, base_env, write_config):
    _app_secret(fake)
    cfg = write_config("""
        version: 1
        env:
          APP: { from: exp/app, expand: true, prefix: X_, only: [password, port] }
        """)
    res = run(["--dry-run", "-c", cfg], base_env)
    assert res.rc == 0, res
    assert "expands to 2 variable(s)" in res.out
    assert 'env X_PASSWORD: key "password" of APP' in res.out
    assert 'env X_PORT: key "port" of APP 4 bytes' in res.out
    res = run(["export", "--format", "json", "-c", cfg], base_env, check_leaks=False)
    assert res.rc == 0, res
    assert json.loads(res.out) == {"X_PASSWORD": c("pw"), "X_PORT": "5432"}


def test_ssm_parameter_expands_too(fake, base_env, write_config, probe):
    fake.state.put_parameter("/exp/json", json.dumps({"user": "u", "pass": c("ssm")}),
                             ptype="SecureString")
    cfg = write_config("""
        version: 1
        env:
          P: { from: "ssm:/exp/json", expand: true, prefix: SSM_ }
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    env = probe.read()["env"]
    assert env["SSM_USER"] == "u" and env["SSM_PASS"] == c("ssm")


def test_refresh_keys_appearing_and_disappearing_need_a_restart(fake, write_config, sv):
    v1, v2 = value("exp-1"), value("exp-2")
    fake.state.add_secret("exp/rot", string=json.dumps({"a": v1, "gone": "g"}))
    cfg = write_config("""
        version: 1
        supervise:
          refresh: 50ms
          on_change: restart
          restart_delay: 0s
        env:
          R: { from: exp/rot, expand: true }
        """)
    inj, log = sv(["-c", cfg], {"APP_ENV": "A,GONE,NEW"})
    first = wait_for("start", lambda: log.events("start"), inj)[0]
    assert first["env"] == {"A": v1, "GONE": "g", "NEW": None}
    fake.state.put_secret_value("exp/rot", json.dumps({"a": v2, "new": "n"}))
    starts = wait_for("restart", lambda: len(log.events("start")) >= 2 and log.events("start"),
                      inj)
    assert starts[1]["env"] == {"A": v2, "GONE": None, "NEW": "n"}
    err = inj.stderr_text()
    assert "the secret's keys changed (variables added: NEW; removed: GONE)" in err
    assert "it gets the new set when it restarts" in err
    inj.kill(signal.SIGTERM)
    assert inj.finish(leak_extra=(v1, v2)) == 0


def test_refresh_with_a_new_key_that_collides_keeps_the_old_values(fake, write_config, sv,
                                                                    secret_dir):
    v1, v2 = value("expc-1"), value("expc-2")
    fake.state.add_secret("exp/col", string=json.dumps({"a": v1}))
    fake.state.add_secret("exp/tok", string=json.dumps({"token": "t1"}))
    f = secret_dir / "tok"
    cfg = write_config(f"""
        version: 1
        supervise:
          refresh: 50ms
          on_change: restart
          restart_delay: 0s
        env:
          R: {{ from: exp/col, expand: true }}
          TOKEN: {{ from: exp/tok, key: token }}
        files:
          {f}: {{ from: exp/tok, key: token }}
        """)
    inj, log = sv(["-c", cfg], {"APP_ENV": "A,TOKEN"})
    wait_for("start", lambda: log.events("start"), inj)
    fake.state.put_secret_value("exp/col", json.dumps({"a": v2, "token": "clash"}))
    wait_for("the refresh refused", lambda: "1 variable name set twice: TOKEN" in
             inj.stderr_text(), inj)
    assert len(log.events("start")) == 1          # no restart: the old values stay
    # Once the clash is gone the change goes through.
    fake.state.put_secret_value("exp/col", json.dumps({"a": v2}))
    starts = wait_for("restart", lambda: len(log.events("start")) >= 2 and log.events("start"),
                      inj)
    assert starts[1]["env"] == {"A": v2, "TOKEN": "t1"}
    assert f.read_text() == "t1"
    inj.kill(signal.SIGTERM)
    assert inj.finish(leak_extra=(v1, v2)) == 0


@pytest.mark.parametrize("to_earlier", [True, False], ids=["to-earlier", "to-later"])
def test_refresh_key_moving_between_entries_stays_set(fake, write_config, sv, to_earlier):
    """One cycle where one expand entry gains key X and the other loses it: X ends up with the
    gaining entry's value. To the earlier entry: the later entry's removal used to unset what
    the earlier one had just set (the app restarted without X). If the gain is seen in a cycle
    of its own first, that cycle is refused as a collision and the next one holds both
    changes. To the later entry: the same the other way round (a guard). The cycle runs on
    refresh_signal after both changes are made: on a timer, a cycle could check F before and S
    after the two puts and rightly restart without X first."""
    tag = "expm" if to_earlier else "expn"
    v1, v2 = value(f"{tag}-1"), value(f"{tag}-2")
    first, second = f"exp/{tag}-first", f"exp/{tag}-second"
    gain, lose = (first, second) if to_earlier else (second, first)
    gain_keys, lose_keys = ({"a": "a1"}, {"b": "b1"}) if to_earlier else ({"b": "b1"}, {"a": "a1"})
    fake.state.add_secret(gain, string=json.dumps(gain_keys))
    fake.state.add_secret(lose, string=json.dumps(dict(lose_keys, x=v1)))
    cfg = write_config(f"""
        version: 1
        supervise:
          refresh: 1h
          refresh_signal: SIGUSR1
          on_change: restart
          restart_delay: 0s
        env:
          F: {{ from: {first}, expand: true }}
          S: {{ from: {second}, expand: true }}
        """)
    inj, log = sv(["-c", cfg], {"APP_ENV": "A,B,X"})
    start = wait_for("start", lambda: log.events("start"), inj)[0]
    assert start["env"] == {"A": "a1", "B": "b1", "X": v1}
    fake.state.put_secret_value(gain, json.dumps(dict(gain_keys, x=v2)))
    fake.state.put_secret_value(lose, json.dumps(lose_keys))
    inj.kill(signal.SIGUSR1)
    starts = wait_for("restart", lambda: len(log.events("start")) >= 2 and log.events("start"),
                      inj)
    assert starts[1]["env"] == {"A": "a1", "B": "b1", "X": v2}
    if to_earlier:
        err = inj.stderr_text()
        assert "env S: the secret's keys changed (variables added: none; removed: X)" in err
        assert "env F: the secret's keys changed (variables added: X; removed: none)" in err
    inj.kill(signal.SIGTERM)
    assert inj.finish(leak_extra=(v1, v2)) == 0


def test_refresh_with_an_optional_expand_entry_missing_at_start(fake, write_config, sv):
    """An optional expand entry whose secret is missing at start stays skipped at refresh,
    like any optional entry: it does not fail every cycle (the rotated sibling reaches the
    command)."""
    v1, v2 = value("expo-1"), value("expo-2")
    fake.state.add_secret("exp/tok2", string=v1)
    cfg = write_config("""
        version: 1
        supervise:
          refresh: 50ms
          on_change: restart
          restart_delay: 0s
        env:
          OPT: { from: exp/absent, expand: true, optional: true }
          TOK: exp/tok2
        """)
    inj, log = sv(["-c", cfg], {"APP_ENV": "TOK"})
    assert wait_for("start", lambda: log.events("start"), inj)[0]["env"]["TOK"] == v1
    fake.state.put_secret_value("exp/tok2", v2)
    starts = wait_for("restart", lambda: len(log.events("start")) >= 2 and log.events("start"),
                      inj)
    assert starts[1]["env"]["TOK"] == v2
    inj.kill(signal.SIGTERM)
    assert inj.finish(leak_extra=(v1, v2)) == 0
    assert "refresh failed" not in inj.stderr_text()


def test_refresh_expand_entry_whose_secret_vanished_keeps_the_old_values(fake, write_config,
                                                                          sv):
    """An optional expand entry that had variables and whose secret is deleted fails the
    cycle: the values in force stay (a sibling's rotation waits)."""
    v1, v2 = value("expv-1"), value("expv-2")
    fake.state.add_secret("exp/van", string=json.dumps({"a": v1}))
    fake.state.add_secret("exp/tok3", string="t1")
    cfg = write_config("""
        version: 1
        supervise:
          refresh: 50ms
          on_change: restart
          restart_delay: 0s
        env:
          R: { from: exp/van, expand: true, optional: true }
          TOK: exp/tok3
        """)
    inj, log = sv(["-c", cfg], {"APP_ENV": "A,TOK"})
    assert wait_for("start", lambda: log.events("start"), inj)[0]["env"] == {"A": v1, "TOK": "t1"}
    fake.state.delete_secret("exp/van")
    # The rotation after a refused cycle: a cycle that read exp/van just before the delete and
    # exp/tok3 just after the rotation would rightly apply it.
    wait_for("the refresh refused", lambda: "refresh failed" in inj.stderr_text(), inj)
    fake.state.put_secret_value("exp/tok3", v2)
    n = inj.stderr_text().count("refresh failed")
    wait_for("a cycle refused after the rotation",
             lambda: inj.stderr_text().count("refresh failed") >= n + 2, inj)
    assert len(log.events("start")) == 1
    inj.kill(signal.SIGTERM)
    assert inj.finish(leak_extra=(v1, v2)) == 0
    assert "refresh: exp/van: not found" in inj.stderr_text()


def test_refresh_new_key_on_an_inherited_variable_needs_overwrite(fake, write_config, sv):
    """A key that appears at refresh and maps to a variable injector inherited is refused as
    at start (add overwrite: true): the cycle fails, the values in force stay, the inherited
    value is not replaced; once the key is gone the rotation goes through."""
    v1, v2, v3 = value("expi-1"), value("expi-2"), value("expi-3")
    fake.state.add_secret("exp/inh", string=json.dumps({"a": v1}))
    cfg = write_config("""
        version: 1
        supervise:
          refresh: 50ms
          on_change: restart
          restart_delay: 0s
        env:
          R: { from: exp/inh, expand: true }
        """)
    inj, log = sv(["-c", cfg], {"APP_ENV": "A,FOO", "FOO": "inherited"})
    first = wait_for("start", lambda: log.events("start"), inj)[0]
    assert first["env"] == {"A": v1, "FOO": "inherited"}
    fake.state.put_secret_value("exp/inh", json.dumps({"a": v2, "foo": v3}))
    wait_for("the refresh refused", lambda: 'env FOO (key "foo" of env R): FOO is already set '
             'in the environment; unset it or add "overwrite: true" to the entry' in
             inj.stderr_text(), inj)
    assert len(log.events("start")) == 1          # no restart: the old values stay
    fake.state.put_secret_value("exp/inh", json.dumps({"a": v2}))
    starts = wait_for("restart", lambda: len(log.events("start")) >= 2 and log.events("start"),
                      inj)
    assert starts[1]["env"] == {"A": v2, "FOO": "inherited"}
    inj.kill(signal.SIGTERM)
    assert inj.finish(leak_extra=(v1, v2, v3)) == 0


def test_refresh_new_key_with_overwrite_replaces_the_inherited_variable(fake, write_config, sv):
    v1, v2 = value("expw-1"), value("expw-2")
    fake.state.add_secret("exp/ow", string=json.dumps({"a": v1}))
    cfg = write_config("""
        version: 1
        supervise:
          refresh: 50ms
          on_change: restart
          restart_delay: 0s
        env:
          R: { from: exp/ow, expand: true, overwrite: true }
        """)
    inj, log = sv(["-c", cfg], {"APP_ENV": "A,FOO", "FOO": "inherited"})
    assert wait_for("start", lambda: log.events("start"), inj)[0]["env"]["FOO"] == "inherited"
    fake.state.put_secret_value("exp/ow", json.dumps({"a": v1, "foo": v2}))
    starts = wait_for("restart", lambda: len(log.events("start")) >= 2 and log.events("start"),
                      inj)
    assert starts[1]["env"] == {"A": v1, "FOO": v2}
    inj.kill(signal.SIGTERM)
    assert inj.finish(leak_extra=(v1, v2)) == 0
