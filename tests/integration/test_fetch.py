"""The fetch strategy (issue 6): BatchGetSecretValue for 2+ AWSCURRENT secrets (up to 20 a
call; the calls at once, one connection each, issue 18); GetSecretValue for version-pinned entries, for a role without
secretsmanager:BatchGetSecretValue and when the batch call is throttled; `fetch:` and
--fetch force either mode. The fake counts calls per action and TLS handshakes."""
import math

import pytest

import seed
from conftest import SLOW, WRAPPER, run

RDS = seed.RDS_NAME
ARN = seed.SECRET_ARNS


def add_secrets(fake, n, prefix="many"):
    """n secrets "prefix/NNN" holding {"v": "value-NNN"}; returns their names."""
    names = []
    for i in range(n):
        name = f"{prefix}/{i:03d}"
        fake.state.add_secret(name, string='{"v": "value-%03d"}' % i)
        names.append(name)
    return names


def env_config(names, extra=""):
    lines = ["version: 1", extra, "env:"] if extra else ["version: 1", "env:"]
    lines += [f"  V{i:03d}: {{ from: \"{n}\", key: v }}" for i, n in enumerate(names)]
    return "\n".join(lines) + "\n"


def by_action(fake):
    return fake.state.stats()["requests_by_action"]


def use_credential(env, fake, who):
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        env.pop(k, None)
    env.update(fake.env(credential=who))


@pytest.mark.parametrize("n", [2, 10, 20, 21, 45, 100])
def test_batch_calls_and_one_handshake(fake, base_env, write_config, probe, n):
    names = add_secrets(fake, n)
    cfg = write_config(env_config(names))
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    env = probe.read()["env"]
    for i in range(n):
        assert env[f"V{i:03d}"] == "value-%03d" % i
    assert by_action(fake) == {"BatchGetSecretValue": math.ceil(n / 20)}
    stats = fake.state.stats()
    # One connection when one call is enough; otherwise at most one per call (a call that
    # finds an idle connection of an earlier one takes it), each with one handshake.
    assert stats["handshakes"] == stats["connections"], stats
    assert 1 <= stats["connections"] <= (1 if n <= 20 else math.ceil(n / 20)), stats
    # Every secret asked for exactly once, at most 20 to a call.
    asked = [r["secret_ids"] for r in fake.state.requests]
    assert all(len(ids) <= 20 for ids in asked)
    assert sorted(sum(asked, [])) == sorted(names)


def test_batch_calls_run_at_once(fake, base_env, write_config, probe):
    """100 secrets: the 5 batch calls are all on their way together, one connection each
    (before issue 18 they went one after another on one connection). Each answer is held
    back, so only calls sent at once can overlap."""
    fake.state.add_fault("slow", action="BatchGetSecretValue", seconds=0.5)
    names = add_secrets(fake, 100)
    cfg = write_config(env_config(names))
    res = run(["-vv", "-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    env = probe.read()["env"]
    assert all(env[f"V{i:03d}"] == "value-%03d" % i for i in range(100))
    # Each call on its own connection. (Under valgrind five handshakes at once can outlast
    # the 3 s connect timeout and a call is tried again on another connection: the counts
    # are checked in the normal and ASan passes.)
    conns = {r["conn"] for r in fake.state.requests}
    stats = fake.state.stats()
    if SLOW and "valgrind" in WRAPPER:
        assert by_action(fake)["BatchGetSecretValue"] >= 5, stats
    else:
        assert by_action(fake) == {"BatchGetSecretValue": 5}
        assert len(conns) == 5
        assert stats["connections"] == stats["handshakes"] == 5, stats
    assert "value-0" not in res.err


def test_later_connections_resume_the_tls_session(fake, base_env, write_config, probe):
    """A connection opened after the first handshake resumes its TLS session (the pool's
    shared session cache): the throttled batch call's connection is done, then the
    GetSecretValue fan-out opens more."""
    fake.state.add_fault("throttle", action="BatchGetSecretValue")
    names = add_secrets(fake, 12)
    cfg = write_config(env_config(names))
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    assert all(probe.read()["env"][f"V{i:03d}"] == "value-%03d" % i for i in range(12))
    stats = fake.state.stats()
    assert stats["requests_by_action"] == {"BatchGetSecretValue": 1, "GetSecretValue": 12}
    if SLOW and "valgrind" in WRAPPER:
        return  # under valgrind a call can end before the next starts: one connection is enough
    assert stats["connections"] >= 2, stats
    # A later connection resumed instead of paying a full handshake (connections opened at
    # the same moment each take a ticket the server may accept once).
    assert stats["resumed_handshakes"] >= 1, stats


def test_one_secret_uses_get_secret_value(fake, base_env, write_config, probe):
    cfg = write_config(f"""
        version: 1
        env:
          A: {{ from: "{RDS}", key: username }}
          B: {{ from: "{RDS}", key: password }}
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    assert by_action(fake) == {"GetSecretValue": 1}


def test_batch_mixes_names_arns_partial_arns_and_binary(fake, base_env, write_config, probe,
                                                         secret_dir):
    partial = ARN["api"].rsplit("-", 1)[0]
    cfg = write_config(f"""
        version: 1
        env:
          DB_CONNECTION_STRING: {{ from: "{ARN['dev/fcj/momentum']}", key: DB_CONNECTION_STRING }}
          PGPASSWORD: {{ from: "{RDS}", key: password }}
          TOKEN: {{ from: "{partial}", key: token }}
          PLAIN: plain/text
        files:
          {secret_dir}/blob.bin: {{ from: bin/blob }}
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    env = probe.read()["env"]
    assert env["DB_CONNECTION_STRING"] == seed.MOMENTUM_DB_URL
    assert env["PGPASSWORD"] == seed.RDS_PASSWORD
    assert env["TOKEN"] == seed.API_TOKEN
    assert env["PLAIN"] == seed.PLAIN_TEXT
    assert (secret_dir / "blob.bin").read_bytes() == seed.BLOB
    assert by_action(fake) == {"BatchGetSecretValue": 1}


def test_dry_run_shows_batch_metadata(fake, base_env, write_config):
    cfg = write_config(f"""
        version: 1
        env:
          PGPASSWORD: {{ from: "{RDS}", key: password }}
          TOKEN: {{ from: api, key: token }}
        """)
    res = run(["--dry-run", "-c", cfg], base_env)
    assert res.rc == 0, res
    assert ARN[RDS] in res.out and "a1b2c3d4-0002-4000-8000-000000000002" in res.out
    assert "AWSCURRENT" in res.out and f"{len(seed.RDS_PASSWORD)} bytes" in res.out
    assert by_action(fake) == {"BatchGetSecretValue": 1}


def test_per_secret_errors_name_their_entry(fake, base_env, write_config):
    # "restricted" may not GetSecretValue on api: the batch answers that one in Errors.
    use_credential(base_env, fake, "restricted")
    cfg = write_config(f"""
        version: 1
        env:
          API_TOKEN: {{ from: "{ARN['api']}", key: token }}
          PGUSER: {{ from: "{RDS}", key: username }}
          GONE: {{ from: does/not/exist, optional: true }}
          DB: {{ from: dev/fcj/momentum, key: DB_CONNECTION_STRING }}
        """)
    res = run(["-c", cfg, "--", "/bin/true"], base_env)
    assert res.rc == 77, res
    assert by_action(fake) == {"BatchGetSecretValue": 1}
    # The failing entry is named with the fix GetSecretValue's error would give ...
    assert "env API_TOKEN" in res.err
    assert ARN["api"] + ": secretsmanager:GetSecretValue denied" in res.err
    assert "kms:Decrypt" in res.err and "task role" in res.err
    # ... the missing optional one is skipped, and the others resolved fine.
    assert "GONE" in res.err and "optional" in res.err
    assert "1 of 4 entries failed" in res.err
    assert "PGUSER" not in res.err and "env DB" not in res.err


def test_per_secret_errors_other_entries_delivered(fake, base_env, write_config, probe):
    cfg = write_config(f"""
        version: 1
        env:
          GONE: {{ from: does/not/exist, optional: true }}
          PGUSER: {{ from: "{RDS}", key: username }}
          TOKEN: {{ from: api, key: token }}
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    env = probe.read()["env"]
    assert env["PGUSER"] == "postgres" and env["TOKEN"] == seed.API_TOKEN and "GONE" not in env
    assert "does/not/exist" in res.err and "not found" in res.err
    assert by_action(fake) == {"BatchGetSecretValue": 1}


def test_per_secret_kms_error(fake, base_env, write_config):
    fake.state.add_fault("kms", action="BatchGetSecretValue", secret="api")
    cfg = write_config(f"""
        version: 1
        env:
          TOKEN: {{ from: api, key: token }}
          PGUSER: {{ from: "{RDS}", key: username }}
        """)
    res = run(["-c", cfg, "--", "/bin/true"], base_env)
    assert res.rc == 77, res
    assert "env TOKEN" in res.err and "cannot be decrypted" in res.err
    assert "1 of 2 entries failed" in res.err


@pytest.mark.parametrize("secret,entry", [
    ("plain/text", "TEXT: plain/text"),            # a NUL in SecretString itself
    ("api", "TEXT: { from: api, key: token }"),   # an escaped NUL in the secret's JSON
])
def test_nul_in_one_batched_secret(fake, base_env, write_config, secret, entry):
    fake.state.add_fault("nul_value", action="BatchGetSecretValue", secret=secret)
    cfg = write_config(f"""
        version: 1
        env:
          {entry}
          PGUSER: {{ from: "{RDS}", key: username }}
        """)
    res = run(["-c", cfg, "--", "/bin/true"], base_env)
    assert res.rc == 65, res
    assert "TEXT" in res.err and "NUL" in res.err
    assert "1 of 2 entries failed" in res.err


@pytest.mark.parametrize("entry,secret,dup", [
    ("{ from: fetch/dup, key: password }",
     '{"password": "CANARY-FDUP1", "password": "CANARY-FDUP2"}',
     'the key "password" twice in its top level'),
    ("{ from: fetch/dup, pointer: /db/u }",
     '{"db": {"u": "CANARY-FDUP1", "u": "CANARY-FDUP2"}}',
     'the key "u" twice in the object at /db'),
    ("{ from: fetch/dup, pointer: /db/u }",
     '{"db": {"u": "CANARY-FDUP1"}, "db": {"u": "CANARY-FDUP2"}}',
     'the key "db" twice in its top level'),
    ("{ from: fetch/dup, key: user }",
     '{"user": "u", "old": {"p": "CANARY-FDUP1", "p": "CANARY-FDUP2"}}',
     'the key "p" twice in the object at /old'),
    ("{ from: fetch/dup, pointer: /db }",
     '{"db": {"p": "CANARY-FDUP1", "p": "CANARY-FDUP2"}}',
     'the key "p" twice in the object at /db'),
    ("{ from: fetch/dup, pointer: /hosts/1/p }",
     '{"hosts": [{"p": "CANARY-FDUP1"}, {"p": "CANARY-FDUP2", "p": "CANARY-FDUP3"}]}',
     'the key "p" twice in the object at /hosts/1'),
])
@pytest.mark.parametrize("mode", ["batch", "single"])
def test_duplicate_keys_in_secret(fake, base_env, write_config, probe, entry, secret, dup, mode):
    """A secret whose JSON repeats a key is refused (exit 65), naming the entry, the secret
    and the key, never a value: consumers disagree on which of the two wins."""
    arn = fake.state.add_secret("fetch/dup", string=secret)
    cfg = write_config(f"""
        version: 1
        env:
          DUP: {entry}
          PGUSER: {{ from: "{RDS}", key: username }}
        """)
    res = run(["--fetch", mode, "-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 65, res
    assert f"env DUP: secret {arn} has {dup}" in res.err, res
    assert "1 of 2 entries failed" in res.err
    assert "CANARY-" not in res.out + res.err
    assert not probe.path.exists()


@pytest.mark.parametrize("kind,code,fragment", [
    ("garbage", 69, "not a BatchGetSecretValue answer"),
    ("invalid_utf8", 69, "UTF-8"),
    ("truncated", 69, "truncated"),
    ("html", 69, "HTTP 502"),
])
def test_bad_batch_responses_name_every_entry(fake, base_env, write_config, kind, code,
                                              fragment):
    fake.state.add_fault(kind, action="BatchGetSecretValue")
    base_env["AWS_MAX_ATTEMPTS"] = "1"
    cfg = write_config(f"""
        version: 1
        env:
          TOKEN: {{ from: api, key: token }}
          PGUSER: {{ from: "{RDS}", key: username }}
        """)
    res = run(["-c", cfg, "--", "/bin/true"], base_env)
    assert res.rc == code, res
    assert fragment in res.err, res
    assert "env TOKEN" in res.err and "env PGUSER" in res.err
    assert "2 of 2 entries failed" in res.err


def test_fallback_when_batch_is_denied(fake, base_env, write_config, probe):
    use_credential(base_env, fake, "nobatch")
    names = add_secrets(fake, 25)
    cfg = write_config(env_config(names))
    res = run(["-v", "-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    env = probe.read()["env"]
    assert all(env[f"V{i:03d}"] == "value-%03d" % i for i in range(25))
    # The two batch calls (sent at once) denied, then never again: every secret through
    # GetSecretValue, and one line about it.
    assert by_action(fake) == {"BatchGetSecretValue": 2, "GetSecretValue": 25}
    assert "denied" in res.err and "GetSecretValue instead" in res.err
    assert res.err.count("BatchGetSecretValue in") == 1
    assert "error" not in res.err.lower().replace("errors", "")


# Every shape a refusal of the batch call may take: JSON, the code only in x-amzn-ErrorType,
# a namespaced "ns#Code:extra" type, an XML ErrorResponse, an HTML page, an empty body.
REFUSAL_SHAPES = {
    "json-namespaced": ("error", {"status": 400, "message": "no",
                                  "code": "com.amazon.coral.service#AccessDeniedException:x"}),
    "header-only": ("header_only", {}),
    "xml-403": ("xml_error", {}),
    "xml-403-unknown-code": ("xml_error", {"code": "Forbidden"}),
    "html-403": ("html", {"status": 403, "body": "<html><h1>403 Forbidden</h1></html>"}),
    "empty-403": ("empty", {}),
    "empty-401": ("empty", {"status": 401}),
    # AWS's denial names the caller: a role with "kms" in its name is still an IAM refusal of
    # the batch call, not a key refusal.
    "json-role-named-kms": ("error", {
        "status": 400, "code": "AccessDeniedException",
        "message": "User: arn:aws:sts::111122223333:assumed-role/orders-kms-reader/task is not "
                   "authorized to perform: secretsmanager:BatchGetSecretValue because no "
                   "identity-based policy allows the secretsmanager:BatchGetSecretValue action"}),
}


@pytest.mark.parametrize("shape", sorted(REFUSAL_SHAPES))
def test_fallback_when_batch_is_refused_in_any_shape(fake, base_env, write_config, probe,
                                                     shape):
    """Least privilege (GetSecretValue only), and the refusal of the batch call is not a JSON
    AccessDeniedException: still every entry of a 25-entry config through GetSecretValue."""
    kind, params = REFUSAL_SHAPES[shape]
    use_credential(base_env, fake, "nobatch")
    fake.state.add_fault(kind, action="BatchGetSecretValue", **params)
    names = add_secrets(fake, 25)
    cfg = write_config(env_config(names))
    res = run(["-v", "-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    env = probe.read()["env"]
    assert all(env[f"V{i:03d}"] == "value-%03d" % i for i in range(25))
    assert by_action(fake) == {"BatchGetSecretValue": 2, "GetSecretValue": 25}
    assert res.err.count("GetSecretValue instead") == 1
    assert "value-0" not in res.err


def test_one_cause_one_line(fake, base_env, write_config):
    """25 entries denied for one reason: one line that lists them (capped), not 25."""
    fake.state.deny(base_env["AWS_ACCESS_KEY_ID"], "GetSecretValue")
    fake.state.deny(base_env["AWS_ACCESS_KEY_ID"], "BatchGetSecretValue")
    names = add_secrets(fake, 25)
    cfg = write_config(env_config(names))
    res = run(["-c", cfg, "--", "/bin/true"], base_env)
    assert res.rc == 77, res
    lines = [ln for ln in res.err.splitlines() if "error:" in ln]
    assert len(lines) == 2, res.err          # the cause, and the summary
    assert lines[0].startswith("injector: error: 25 entries failed: "
                               "secretsmanager:GetSecretValue denied (AccessDeniedException")
    assert "env V000 (many/000), env V001 (many/001)" in lines[0]
    assert "env V009 (many/009) and 15 more" in lines[0]
    assert "V010" not in lines[0]
    assert lines[1] == ("injector: error: 25 of 25 entries failed; nothing was written and the "
                        "command was not started")
    assert "value-0" not in res.err


def test_different_causes_keep_their_lines(fake, base_env, write_config):
    names = add_secrets(fake, 4)
    fake.state.deny(base_env["AWS_ACCESS_KEY_ID"], "GetSecretValue", names[0])
    fake.state.deny(base_env["AWS_ACCESS_KEY_ID"], "GetSecretValue", names[1])
    cfg = write_config(env_config(names[:2] + ["does/not/exist", names[3]]))
    res = run(["-c", cfg, "--", "/bin/true"], base_env)
    assert res.rc == 77, res                 # the first failing entry's
    lines = [ln for ln in res.err.splitlines() if "error:" in ln]
    assert len(lines) == 3, res.err
    assert lines[0].startswith("injector: error: 2 entries failed: secretsmanager:GetSecretValue "
                               "denied")
    assert lines[0].endswith("env V000 (many/000), env V001 (many/001)")
    assert lines[1].startswith("injector: error: env V002: does/not/exist: not found in ")
    assert "3 of 4 entries failed" in lines[2]


def test_fallback_message_is_info_level(fake, base_env, write_config, probe):
    use_credential(base_env, fake, "nobatch")
    cfg = write_config(env_config(add_secrets(fake, 3)))
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    assert res.err == ""


def test_forced_batch_denied_is_an_error(fake, base_env, write_config):
    use_credential(base_env, fake, "nobatch")
    cfg = write_config(env_config(add_secrets(fake, 3)))
    res = run(["--fetch", "batch", "-c", cfg, "--", "/bin/true"], base_env)
    assert res.rc == 77, res
    # One cause, one line, naming every entry and its secret.
    assert "3 entries failed: secretsmanager:BatchGetSecretValue denied" in res.err
    assert "env V000 (many/000), env V001 (many/001), env V002 (many/002)" in res.err
    assert res.err.count("denied") == 1
    assert "3 of 3 entries failed" in res.err
    assert by_action(fake) == {"BatchGetSecretValue": 1}


def test_version_pinned_entries_use_get_secret_value(fake, base_env, write_config, probe):
    cfg = write_config(f"""
        version: 1
        env:
          CUR: {{ from: "{RDS}", key: password }}
          CUR2: {{ from: "{RDS}", key: password, version_stage: AWSCURRENT }}
          PREV: {{ from: "{RDS}", key: password, version_stage: AWSPREVIOUS }}
          BYID: {{ from: "{RDS}", key: password, version_id: a1b2c3d4-0002-4000-8000-000000000001 }}
          TOKEN: {{ from: api, key: token }}
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    env = probe.read()["env"]
    assert env["CUR"] == env["CUR2"] == seed.RDS_PASSWORD
    assert env["PREV"] == env["BYID"] == seed.RDS_PASSWORD_PREVIOUS
    assert by_action(fake) == {"BatchGetSecretValue": 1, "GetSecretValue": 2}
    batch = [r for r in fake.state.requests if r["action"] == "BatchGetSecretValue"][0]
    assert sorted(batch["secret_ids"]) == sorted([RDS, "api"])


def test_config_forces_single(fake, base_env, write_config, probe):
    names = add_secrets(fake, 6)
    cfg = write_config(env_config(names, extra="fetch: single"))
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    assert all(probe.read()["env"][f"V{i:03d}"] == "value-%03d" % i for i in range(6))
    assert by_action(fake) == {"GetSecretValue": 6}
    # Concurrent, over a small pool: never more connections than the pool holds.
    assert 1 <= fake.state.stats()["handshakes"] <= 4


def test_flag_forces_batch_for_one_secret(fake, base_env, write_config, probe):
    cfg = write_config(f"""
        version: 1
        env:
          PGUSER: {{ from: "{RDS}", key: username }}
        """)
    res = run(["--fetch", "batch", "-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    assert probe.read()["env"]["PGUSER"] == "postgres"
    assert by_action(fake) == {"BatchGetSecretValue": 1}


def test_flag_overrides_config(fake, base_env, write_config, probe):
    cfg = write_config(env_config(add_secrets(fake, 3), extra="fetch: batch"))
    res = run(["--fetch", "single", "-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    assert by_action(fake) == {"GetSecretValue": 3}
    fake.state.reset()
    names = add_secrets(fake, 3)
    cfg = write_config(env_config(names, extra="fetch: single"))
    res = run(["--fetch", "auto", "-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    assert by_action(fake) == {"BatchGetSecretValue": 1}


def test_bad_fetch_mode(base_env, write_config):
    cfg = write_config("""
        version: 1
        fetch: sometimes
        env:
          A: plain/text
        """)
    res = run(["check", "-c", cfg], base_env)
    assert res.rc == 78, res
    assert f"{cfg}:3:8:" in res.err and "auto, batch or single" in res.err
    res = run(["--fetch", "fast", "-c", cfg, "--", "/bin/true"], base_env)
    assert res.rc == 64, res
    assert "--fetch fast" in res.err
    res = run(["--help"], base_env)
    assert "--fetch MODE" in res.out


def test_throttled_batch_falls_back_without_retrying_it(fake, base_env, write_config, probe):
    fake.state.add_fault("throttle", action="BatchGetSecretValue")
    names = add_secrets(fake, 30)
    cfg = write_config(env_config(names))
    res = run(["-v", "-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    assert all(probe.read()["env"][f"V{i:03d}"] == "value-%03d" % i for i in range(30))
    # The batch quota is spared: the two calls sent at once throttled, neither retried.
    assert by_action(fake) == {"BatchGetSecretValue": 2, "GetSecretValue": 30}
    assert "throttled" in res.err and res.err.count("GetSecretValue instead") == 1


def test_throttle_stops_the_batches_not_sent_yet(fake, base_env, write_config, probe):
    """130 secrets are 7 batch calls; 5 go at once. They are throttled: the other 2 are
    never sent, their secrets go through GetSecretValue like the rest."""
    fake.state.add_fault("throttle", action="BatchGetSecretValue")
    names = add_secrets(fake, 130)
    cfg = write_config(env_config(names))
    res = run(["-v", "-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    env = probe.read()["env"]
    assert all(env[f"V{i:03d}"] == "value-%03d" % i for i in range(130))
    assert by_action(fake) == {"BatchGetSecretValue": 5, "GetSecretValue": 130}
    assert res.err.count("GetSecretValue instead") == 1
    assert "fetching 130 secret(s) with GetSecretValue" in res.err


def test_rate_limited_batch_falls_back(fake, base_env, write_config, probe):
    # The batch call is the scarce one (as its real quota is): one token, refilled too slowly
    # to matter here; GetSecretValue has plenty.
    fake.state.set_rate_limits({"BatchGetSecretValue": 0.001, "GetSecretValue": 500})
    names = add_secrets(fake, 5)
    cfg = write_config(env_config(names))
    for _ in range(3):
        res = run(["-c", cfg, "--"] + probe(base_env), base_env)
        assert res.rc == 0, res
        assert all(probe.read()["env"][f"V{i:03d}"] == "value-%03d" % i for i in range(5))
    stats = fake.state.stats()
    # The first run got the token; the other two were throttled once and fell back at once.
    assert stats["requests_by_action"] == {"BatchGetSecretValue": 3, "GetSecretValue": 10}
    assert stats["errors_by_type"] == {"ThrottlingException": 2}


def test_forced_batch_retries_throttles(fake, base_env, write_config):
    """fetch: batch does not fall back: its throttled batch call is retried until the start
    deadline (past AWS_MAX_ATTEMPTS), and fails with it."""
    fake.state.add_fault("throttle", action="BatchGetSecretValue")
    base_env["AWS_MAX_ATTEMPTS"] = "1"
    cfg = write_config(env_config(add_secrets(fake, 3), extra="fetch: batch"))
    res = run(["--timeout", "4", "-c", cfg, "--", "/bin/true"], base_env)
    assert res.rc == 75, res
    assert "throttled" in res.err and "deadline passed after" in res.err, res.err
    assert set(by_action(fake)) == {"BatchGetSecretValue"}
    assert by_action(fake)["BatchGetSecretValue"] >= 2


def test_concurrent_get_secret_value_retries_each_call(fake, base_env, write_config, probe):
    fake.state.add_fault("throttle", action="GetSecretValue", count=2)
    cfg = write_config(env_config(add_secrets(fake, 5), extra="fetch: single"))
    res = run(["-v", "-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    log = [(r["secret_ids"], r["status"], r["error_type"], r["conn"]) for r in fake.state.requests]
    assert by_action(fake) == {"GetSecretValue": 7}, (log, res.err)


def test_concurrent_get_secret_value_errors_name_entries(fake, base_env, write_config):
    base_env["AWS_MAX_ATTEMPTS"] = "1"
    fake.state.add_fault("internal", action="GetSecretValue", secret="many/001")
    cfg = write_config(env_config(add_secrets(fake, 4), extra="fetch: single"))
    res = run(["-c", cfg, "--", "/bin/true"], base_env)
    assert res.rc == 69, res
    assert "env V001: many/001" in res.err and "HTTP 500" in res.err
    assert "1 of 4 entries failed" in res.err


def test_batch_server_error_is_retried(fake, base_env, write_config, probe):
    fake.state.add_fault("internal", action="BatchGetSecretValue", count=1)
    cfg = write_config(env_config(add_secrets(fake, 3)))
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    assert by_action(fake) == {"BatchGetSecretValue": 2}


def test_deadline_applies_to_batch(fake, base_env, write_config):
    fake.state.add_fault("slow", action="BatchGetSecretValue", seconds=5)
    cfg = write_config(env_config(add_secrets(fake, 3)))
    res = run(["--timeout", "1", "-c", cfg, "--", "/bin/true"], base_env)
    assert res.rc == 75, res
    assert "timed out" in res.err or "deadline" in res.err


def test_secrets_in_two_regions_batch_per_region(fake, base_env, write_config, probe):
    fake.state.enforce_region = False  # one fake endpoint stands in for every region
    base_env["AWS_REGION"] = "us-west-2"
    cfg = write_config(f"""
        version: 1
        env:
          T: "{ARN['api']}:token"
          M: {{ from: "{ARN['dev/fcj/momentum']}", key: DB_CONNECTION_STRING }}
          U: {{ from: "{RDS}", key: username }}
          P: plain/text
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    assert by_action(fake) == {"BatchGetSecretValue": 2}
    regions = {tuple(sorted(r["secret_ids"])): r["region"] for r in fake.state.requests}
    assert regions[tuple(sorted([ARN["api"], ARN["dev/fcj/momentum"]]))] == "eu-central-1"
    assert regions[tuple(sorted([RDS, "plain/text"]))] == "us-west-2"


@pytest.mark.skipif(SLOW, reason="debug log timing under a wrapper")
def test_tls13_and_keepalive_logged(fake, base_env, write_config, probe):
    cfg = write_config(env_config(add_secrets(fake, 41)))
    res = run(["-vv", "-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    # Three batch calls at once: each new connection logs its TLS version; a call that
    # found an idle one says so; the summary counts the same connections.
    fresh = res.err.count("1 new connection(s), TLSv1.3")
    assert 1 <= fresh <= 3
    assert res.err.count("0 new connection(s)") == 3 - fresh
    assert f"3 API call(s), {fresh} connection(s)" in res.err


def test_hashed_ca_directory(fake, base_env, write_config, probe, tmp_path):
    # A hashed directory is read lazily (only the issuers a chain needs), unlike a bundle,
    # which OpenSSL parses whole on every start.
    import subprocess
    h = subprocess.run(["openssl", "x509", "-hash", "-noout", "-in", fake.ca_file],
                       check=True, capture_output=True, text=True).stdout.strip()
    good = tmp_path / "certs"
    good.mkdir()
    (good / f"{h}.0").write_bytes(open(fake.ca_file, "rb").read())
    del base_env["AWS_CA_BUNDLE"]
    base_env["SSL_CERT_DIR"] = str(good)
    cfg = write_config(f"""
        version: 1
        env:
          PGUSER: {{ from: "{RDS}", key: username }}
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    empty = tmp_path / "empty"
    empty.mkdir()
    base_env["SSL_CERT_DIR"] = str(empty)
    res = run(["-c", cfg, "--", "/bin/true"], base_env)
    assert res.rc == 69, res
    assert "TLS" in res.err and f"directory {empty} (SSL_CERT_DIR)" in res.err


def test_ten_thousand_entries(fake, base_env, write_config, probe):
    """A config of 10,000 entries over 100 secrets (issue 18): `check`, --dry-run and a real
    run are right, each secret fetched once (5 batch calls). Correctness only: `make bench`
    prints how long they take (the fetch dedup and the environment were quadratic)."""
    names = add_secrets(fake, 100)
    lines = ["version: 1", "env:"]
    lines += [f"  E{i:05d}: {{ from: \"{names[i % 100]}\", key: v }}" for i in range(10000)]
    cfg = write_config("\n".join(lines) + "\n")
    res = run(["check", "-c", cfg], base_env)
    assert res.rc == 0, res
    assert "(10000 entries, 100 secret fetches)" in res.out
    res = run(["--dry-run", "-c", cfg], base_env)
    assert res.rc == 0, res
    out = res.out.splitlines()
    assert len(out) == 10000
    for i in (0, 1, 99, 100, 5555, 9999):
        assert out[i].startswith(f"env E{i:05d}: ") and "many/%03d" % (i % 100) in out[i]
    assert "value-" not in res.out + res.err
    assert by_action(fake) == {"BatchGetSecretValue": 5}
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    env = probe.read()["env"]
    assert all(env[f"E{i:05d}"] == "value-%03d" % (i % 100) for i in range(10000))
    assert by_action(fake) == {"BatchGetSecretValue": 10}
