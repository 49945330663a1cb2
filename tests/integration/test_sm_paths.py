"""Secrets Manager secrets by name prefix or tags (issue 16 item 2, second half): `from:
PREFIX` with `path: true` (and/or `tags:`) reads every secret whose name starts with the
prefix through BatchGetSecretValue with Filters (20 a page, every page), names each variable
from the name below the prefix by expand's rule, in name order, with prefix/only/except and
expand's collision checks, and the required bound `max:`. Every run's output is grepped for
every canary (conftest.run); values here all carry canaries."""
import json
import signal

import pytest

import seed
from conftest import run
from test_policy import offline_env
from test_supervise import sv, value, wait_for  # noqa: F401  (sv is a fixture)


def c(label):
    return f"s-{seed.canary('smpaths/' + label)}"


def filtered_calls(fake):
    return [r for r in fake.state.requests
            if r["action"] == "BatchGetSecretValue" and not r.get("secret_ids")]


def list_calls(fake):
    return [r for r in fake.state.requests if r["action"] == "ListSecrets"]


def by_id_calls(fake):
    """BatchGetSecretValue calls with a SecretIdList: a read by tags reads its matches so."""
    return [r for r in fake.state.requests
            if r["action"] == "BatchGetSecretValue" and r.get("secret_ids")]


# The read of seed_app's secrets that most tests here make.
APP_CONFIG = """
        version: 1
        env:
          APP: { from: smp/app/, path: true, max: 10 }
        """


def seed_app(fake):
    fake.state.add_secret("smp/app/db_password", string=c("pw"))
    fake.state.add_secret("smp/app/api.key", string=c("api"))
    fake.state.add_secret("smp/app/nested/token", string=c("tok"))
    fake.state.add_secret("smp/app/json", string=json.dumps({"user": c("json")}))
    fake.state.add_secret("smp/application/other", string=c("other"))   # not under smp/app/


def test_prefix_names_values_one_filtered_call(fake, base_env, write_config, probe):
    seed_app(fake)
    cfg = write_config(APP_CONFIG)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    env = probe.read()["env"]
    assert env["DB_PASSWORD"] == c("pw")
    assert env["API_KEY"] == c("api")
    assert env["NESTED_TOKEN"] == c("tok")                  # nested names: '/' -> '_'
    assert json.loads(env["JSON"]) == {"user": c("json")}   # a JSON secret is one variable
    assert "OTHER" not in env and "APP" not in env
    calls = filtered_calls(fake)
    assert len(calls) == 1
    # No GetSecretValue and no per-id batch: the one filtered call read them all.
    assert not [r for r in fake.state.requests if r["action"] == "GetSecretValue"]


def test_prefix_without_slash_matches_as_aws_does(fake, base_env, write_config, probe):
    seed_app(fake)
    cfg = write_config("""
        version: 1
        env:
          APP: { from: smp/app, path: true, max: 10, only: [db_password, lication/other] }
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    env = probe.read()["env"]
    # "smp/app" is a plain prefix: smp/application/other matches too (key "lication/other").
    assert env["DB_PASSWORD"] == c("pw") and env["LICATION_OTHER"] == c("other")


def test_pagination_over_more_than_twenty(fake, base_env, write_config, probe):
    for i in range(45):
        fake.state.add_secret(f"smp/many/k{i:02d}", string=c(f"many-{i}"))
    cfg = write_config("""
        version: 1
        env:
          M: { from: smp/many/, path: true, max: 45, prefix: M_ }
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    env = probe.read()["env"]
    for i in range(45):
        assert env[f"M_K{i:02d}"] == c(f"many-{i}")
    calls = filtered_calls(fake)
    assert len(calls) == 3                       # pages of 20, 20, 5 (NextToken)


def test_max_exceeded_names_the_count_and_stops_reading(fake, base_env, write_config, probe):
    for i in range(45):
        fake.state.add_secret(f"smp/many/k{i:02d}", string=c(f"many-{i}"))
    cfg = write_config("""
        version: 1
        env:
          M: { from: smp/many/, path: true, max: 5 }
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 78, res
    assert "secrets smp/many/*: at least 20 secrets match, more than max: 5" in res.err
    assert not probe.path.exists()
    assert len(filtered_calls(fake)) == 1        # no page after the bound is passed


def test_tags_with_prefix_and_tags_alone(fake, base_env, write_config, probe):
    fake.state.add_secret("smt/a", string=c("ta"), tags={"team": "api", "env": "prod"})
    fake.state.add_secret("smt/b", string=c("tb"), tags={"team": "web", "env": "prod"})
    fake.state.add_secret("smt/c", string=c("tc"), tags={"team": "api", "env": "dev"})
    fake.state.add_secret("other/d", string=c("td"), tags={"team": "api", "env": "prod"})
    cfg = write_config("""
        version: 1
        env:
          T: { from: smt/, path: true, max: 5, tags: { team: api, env: prod } }
          ALL: { path: true, max: 5, tags: { team: api, env: prod }, prefix: ALL_ }
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    env = probe.read()["env"]
    assert env["A"] == c("ta") and "B" not in env and "C" not in env and "D" not in env
    # Tags alone: the key is the whole name.
    assert env["ALL_SMT_A"] == c("ta") and env["ALL_OTHER_D"] == c("td")
    assert "ALL_SMT_B" not in env and "ALL_SMT_C" not in env
    # Tags: ListSecrets (one page each), then the exact matches by ARN; no filtered batch.
    assert len(list_calls(fake)) == 2 and not filtered_calls(fake)
    ids = sorted(i for r in by_id_calls(fake) for i in r["secret_ids"])
    assert ids == sorted([fake.state.resolve_arn("smt/a"), fake.state.resolve_arn("smt/a"),
                          fake.state.resolve_arn("other/d")])


def seed_over_match(fake):
    """team=api exactly (among other tags), and three secrets AWS's prefix filters also list
    for {team: api}: a longer value, a longer key, the key and value on two tags."""
    fake.state.add_secret("sme/exact", string=c("exact"), tags={"owner": "web", "team": "api"})
    fake.state.add_secret("sme/apiary", string=c("apiary"), tags={"team": "apiary"})
    fake.state.add_secret("sme/teams", string=c("teams"), tags={"teams": "api"})
    fake.state.add_secret("sme/split", string=c("split"), tags={"owner": "api", "team": "web"})
    return (c("apiary"), c("teams"), c("split"))


def test_tags_match_exactly_not_as_prefixes(fake, base_env, write_config, probe):
    # AWS matches tag-key and tag-value as independent prefixes: {team: api} lists all four.
    # Only sme/exact carries team=api; the others' values are never asked for nor shown.
    over = seed_over_match(fake)
    cfg = write_config("""
        version: 1
        env:
          T: { from: sme/, path: true, max: 5, tags: { team: api } }
          ALL: { path: true, max: 5, tags: { team: api }, prefix: ALL_ }
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env, leak_extra=over)
    assert res.rc == 0, res
    env = probe.read()["env"]
    assert env["EXACT"] == c("exact") and env["ALL_SME_EXACT"] == c("exact")
    assert not [k for k in env if "APIARY" in k or "TEAMS" in k or "SPLIT" in k]
    assert not set(over) & set(env.values())
    exact = fake.state.resolve_arn("sme/exact")
    assert [r["secret_ids"] for r in by_id_calls(fake)] == [[exact], [exact]]
    assert len(list_calls(fake)) == 2 and not filtered_calls(fake)
    # The same read with --dry-run and export: the over-matched secrets are not there either.
    res = run(["export", "--format", "json", "-c", cfg], base_env, check_leaks=False)
    assert res.rc == 0, res
    assert json.loads(res.out) == {"EXACT": c("exact"), "ALL_SME_EXACT": c("exact")}
    assert not [v for v in over if v in res.out or v in res.err]


def test_tags_max_counts_exact_matches_only(fake, base_env, write_config, probe):
    # Three over-matched secrets do not count against max: 1 ...
    over = seed_over_match(fake)
    cfg = write_config("""
        version: 1
        env:
          T: { from: sme/, path: true, max: 1, tags: { team: api } }
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env, leak_extra=over)
    assert res.rc == 0, res
    assert probe.read()["env"]["EXACT"] == c("exact")
    # ... but two exact matches are more than max: 1, failed before any value is read.
    fake.state.add_secret("sme/exact2", string=c("exact2"), tags={"team": "api"})
    before = len(by_id_calls(fake))
    probe.path.unlink()
    res = run(["-c", cfg, "--"] + probe(base_env), base_env, leak_extra=over)
    assert res.rc == 78, res
    assert "secrets sme/* tagged team=api: at least 2 secrets match, more than max: 1" in res.err
    assert len(by_id_calls(fake)) == before
    assert not probe.path.exists()


def test_tags_list_pages_and_batches_of_twenty(fake, base_env, write_config, probe):
    # 150 exact matches and 10 over-matched: ListSecrets pages of 100 (160 listed: 2 calls),
    # then the 150 matches by ARN, 20 a call (8 calls). Before: 8 filtered pages of 20 (and
    # the 10 over-matched read too).
    for i in range(150):
        fake.state.add_secret(f"smg/k{i:03d}", string=c(f"g-{i}"), tags={"team": "api"})
    over = []
    for i in range(10):
        fake.state.add_secret(f"smg/o{i:02d}", string=c(f"go-{i}"), tags={"team": "apiary"})
        over.append(c(f"go-{i}"))
    cfg = write_config("""
        version: 1
        env:
          G: { from: smg/, path: true, max: 150, tags: { team: api }, prefix: G_ }
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env, leak_extra=tuple(over))
    assert res.rc == 0, res
    env = probe.read()["env"]
    for i in range(150):
        assert env[f"G_K{i:03d}"] == c(f"g-{i}")
    assert not [k for k in env if k.startswith("G_O")]
    assert len(list_calls(fake)) == 2
    batches = by_id_calls(fake)
    assert len(batches) == 8 and all(len(r["secret_ids"]) <= 20 for r in batches)
    assert sum(len(r["secret_ids"]) for r in batches) == 150
    assert not filtered_calls(fake)


def test_tags_secret_listed_twice_is_one_match(fake, base_env, write_config, probe):
    # An endpoint that pages by offset lists a secret again when one is created meanwhile: the
    # secret is one match (counted once towards max, asked for once), not a key collision.
    arn = fake.state.add_secret("smd/a", string=c("d-a"), tags={"team": "api"})
    item = {"Name": "smd/a", "ARN": arn, "Tags": [{"Key": "team", "Value": "api"}]}
    fake.state.add_fault("garbage", action="ListSecrets", status=200, count=1,
                         body=json.dumps({"SecretList": [item], "NextToken": "T1"}))
    fake.state.add_fault("garbage", action="ListSecrets", status=200, count=1,
                         body=json.dumps({"SecretList": [item]}))
    cfg = write_config("""
        version: 1
        env:
          D: { from: smd/, path: true, max: 1, tags: { team: api }, prefix: D_ }
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    assert probe.read()["env"]["D_A"] == c("d-a")
    assert len(list_calls(fake)) == 2
    assert [r["secret_ids"] for r in by_id_calls(fake)] == [[arn]]


@pytest.mark.parametrize("n", [1, 25])
def test_tags_call_cost(fake, base_env, write_config, probe, n):
    # What a read by tags costs: one ListSecrets call per 100 listed, one BatchGetSecretValue
    # per 20 matches (1 secret: 2 calls, 25: 3; 150: 10, test_tags_list_pages_and_batches_...).
    for i in range(n):
        fake.state.add_secret(f"smn/k{i:02d}", string=c(f"n-{n}-{i}"), tags={"team": "api"})
    cfg = write_config(f"""
        version: 1
        env:
          N: {{ from: smn/, path: true, max: {n}, tags: {{ team: api }} }}
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    assert len(probe.read()["env"]) >= n
    assert (len(list_calls(fake)), len(by_id_calls(fake))) == (1, (n + 19) // 20)
    assert len(fake.state.requests) == 1 + (n + 19) // 20


def test_tags_match_refused_by_iam_fails_naming_the_secret(fake, base_env, write_config, probe):
    # A secret carrying the tags that the role may not read (GetSecretValue denied on it): the
    # batch answer's Errors fail the entry, naming the secret and the action.
    fake.state.add_secret("smo/ok", string=c("ok"), tags={"team": "api"})
    fake.state.add_secret("smo/x", string=c("x"), tags={"team": "api", "owner": "web"})
    fake.state.deny(base_env["AWS_ACCESS_KEY_ID"], "GetSecretValue", "smo/x")
    cfg = write_config("""
        version: 1
        env:
          T: { from: smo/, path: true, max: 5, tags: { team: api } }
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 77, res
    assert "a secret it matched could not be read" in res.err
    assert fake.state.resolve_arn("smo/x") in res.err
    assert "secretsmanager:GetSecretValue" in res.err
    assert not probe.path.exists()


def test_tags_match_deleted_after_listing_fails_naming_it(fake, base_env, write_config, probe,
                                                          monkeypatch):
    # Deleted between ListSecrets and BatchGetSecretValue: the answer's Errors name it.
    import sm_server

    fake.state.add_secret("smd/ok", string=c("d-ok"), tags={"team": "api"})
    gone = fake.state.add_secret("smd/gone", string=c("d-gone"), tags={"team": "api"})
    listed = sm_server.Operations.ListSecrets

    def list_then_delete(self, cred, params):
        out = listed(self, cred, params)
        if gone in fake.state._secrets:
            fake.state.delete_secret(gone)
        return out

    monkeypatch.setattr(sm_server.Operations, "ListSecrets", list_then_delete)
    cfg = write_config("""
        version: 1
        env:
          T: { from: smd/, path: true, max: 5, tags: { team: api } }
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc != 0, res
    assert "secrets smd/* tagged team=api: a secret it matched could not be read: " + gone \
        in res.err
    assert not probe.path.exists()


def test_tags_list_secrets_denied_names_list_secrets(fake, base_env, write_config, probe):
    fake.state.add_secret("sml/a", string=c("l-a"), tags={"team": "api"})
    fake.state.deny(base_env["AWS_ACCESS_KEY_ID"], "ListSecrets")
    cfg = write_config("""
        version: 1
        env:
          T: { from: sml/, path: true, max: 5, tags: { team: api } }
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 77, res
    assert "secretsmanager:ListSecrets denied" in res.err
    assert "kms:Decrypt" not in res.err      # a listing decrypts nothing
    assert not [r for r in fake.state.requests
                if r["action"] in ("BatchGetSecretValue", "GetSecretValue")]
    assert not probe.path.exists()


def test_tags_list_secrets_throttled_is_retried(fake, base_env, write_config, probe):
    fake.state.add_secret("smh/a", string=c("h-a"), tags={"team": "api"})
    fake.state.add_fault("throttle", action="ListSecrets", count=2)
    cfg = write_config("""
        version: 1
        env:
          T: { from: smh/, path: true, max: 5, tags: { team: api } }
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    assert probe.read()["env"]["A"] == c("h-a")
    assert len(list_calls(fake)) == 3


def test_list_secrets_denied_names_both_actions(fake, base_env, write_config):
    seed_app(fake)
    fake.state.deny(base_env["AWS_ACCESS_KEY_ID"], "ListSecrets")
    cfg = write_config(APP_CONFIG)
    res = run(["-c", cfg, "--", "/bin/true"], base_env)
    assert res.rc == 77, res
    assert "secretsmanager:ListSecrets and secretsmanager:BatchGetSecretValue" in res.err
    # No fallback to GetSecretValue: a filtered read has no ids to fall back on.
    assert not [r for r in fake.state.requests if r["action"] == "GetSecretValue"]


def test_collisions_are_listed_before_anything_is_written(fake, base_env, write_config, probe):
    fake.state.add_secret("smc/db_password", string=c("col-a"))
    fake.state.add_secret("smc/db/password", string=c("col-b"))
    cfg = write_config("""
        version: 1
        env:
          C: { from: smc/, path: true, max: 5 }
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 78, res
    assert '"db/password" and "db_password" -> DB_PASSWORD' in res.err
    assert not probe.path.exists()
    # Two names, one key: "smc/x" and "smcx"... under the prefix "smc": "/x" and "x".
    fake.state.add_secret("smk/x", string=c("k1"))
    fake.state.add_secret("smkx", string=c("k2"))
    cfg = write_config("""
        version: 1
        env:
          K: { from: smk, path: true, max: 5 }
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 78, res
    assert 'both have the key "x" below the prefix' in res.err
    assert not probe.path.exists()


def test_name_outside_the_prefix_is_refused(fake, base_env, write_config, probe):
    body = json.dumps({"SecretValues": [{
        "ARN": seed.arn("elsewhere/x", "AbCdEf"), "Name": "elsewhere/x",
        "VersionId": "a" * 32, "SecretString": c("outside"), "VersionStages": ["AWSCURRENT"]}],
        "Errors": []})
    fake.state.add_fault("garbage", action="BatchGetSecretValue", status=200, body=body,
                         content_type="application/x-amz-json-1.1")
    cfg = write_config("""
        version: 1
        env:
          A: { from: smp/app/, path: true, max: 5 }
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env, leak_extra=(c("outside"),))
    assert res.rc == 69, res
    assert "answered the secret elsewhere/x, whose name does not start with the prefix" in res.err
    assert not probe.path.exists()


def test_dry_run_and_export(fake, base_env, write_config):
    seed_app(fake)
    cfg = write_config("""
        version: 1
        env:
          APP: { from: smp/app/, path: true, max: 10, except: [json] }
        """)
    res = run(["--dry-run", "-c", cfg], base_env)
    assert res.rc == 0, res
    assert "expands to 3 variable(s)" in res.out
    assert f'env DB_PASSWORD: key "db_password" of APP {len(c("pw"))} bytes' in res.out
    order = ["API_KEY", "DB_PASSWORD", "NESTED_TOKEN"]
    pos = [res.out.index(f"env {n}:") for n in order]
    assert pos == sorted(pos)
    res = run(["export", "--format", "json", "-c", cfg], base_env, check_leaks=False)
    assert res.rc == 0, res
    assert json.loads(res.out) == {"API_KEY": c("api"), "DB_PASSWORD": c("pw"),
                                   "NESTED_TOKEN": c("tok")}


def test_check_validates_offline(tmp_path, write_config):
    cfg = write_config("""
        version: 1
        env:
          APP: { from: prod/app/, path: true, max: 10, tags: { team: api } }
          T: { path: true, max: 3, tags: { "aws:cloudformation:stack-name": web } }
        """)
    res = run(["check", "-c", cfg], offline_env(tmp_path))
    assert res.rc == 0, res
    bad = write_config("""
        version: 1
        env:
          T: { path: true, max: 3, tags: { team: "a*b" } }
        """)
    res = run(["check", "-c", bad], offline_env(tmp_path))
    assert res.rc == 78 and "holds a character outside" in res.err, res


def test_policy_prefix_tags_list_secrets_and_decrypt(tmp_path, write_config):
    cfg = write_config("""
        version: 1
        env:
          APP: { from: prod/app/, path: true, max: 50 }
          T: { from: prod/, path: true, max: 50, tags: { team: api, env: prod } }
          ALL: { path: true, max: 5, tags: { owner: web } }
        """)
    res = run(["policy", "-c", cfg, "--region", "eu-central-1", "--account", "111122223333"],
              offline_env(tmp_path))
    assert res.rc == 0, res
    st = {s["Sid"]: s for s in json.loads(res.out)["Statement"]}
    arn = "arn:aws:secretsmanager:eu-central-1:111122223333:secret:"
    assert st["ReadSecrets"]["Resource"] == [arn + "prod/app/*"]
    assert st["ReadSecretsByTag1"]["Action"] == "secretsmanager:GetSecretValue"
    assert st["ReadSecretsByTag1"]["Resource"] == arn + "prod/*"
    assert st["ReadSecretsByTag1"]["Condition"] == {"StringEquals": {
        "secretsmanager:ResourceTag/team": "api", "secretsmanager:ResourceTag/env": "prod"}}
    assert st["ReadSecretsByTag2"]["Resource"] == arn + "*"
    assert st["ReadSecretsByTag2"]["Condition"] == {"StringEquals": {
        "secretsmanager:ResourceTag/owner": "web"}}
    assert st["BatchReadSecrets"]["Action"] == "secretsmanager:BatchGetSecretValue"
    assert st["BatchReadSecrets"]["Resource"] == "*"
    assert st["ListSecretsForFilters"]["Action"] == "secretsmanager:ListSecrets"
    assert st["ListSecretsForFilters"]["Resource"] == "*"
    assert st["DecryptSecretsViaSecretsManager"]["Condition"] == {"StringEquals": {
        "kms:ViaService": ["secretsmanager.eu-central-1.amazonaws.com"]}}
    assert "CheckSecretVersions" not in st


def test_policy_refresh_reads_again_no_describe(tmp_path, write_config):
    # supervise.refresh checks a filtered read by reading it again: no DescribeSecret statement
    # (an empty Resource list would make the policy invalid); a plain secret beside it has one.
    cfg = write_config("""
        version: 1
        supervise: { refresh: 1m }
        env:
          APP: { from: prod/app/, path: true, max: 5 }
        """)
    res = run(["policy", "-c", cfg, "--region", "eu-central-1"], offline_env(tmp_path))
    assert res.rc == 0, res
    st = {s["Sid"]: s for s in json.loads(res.out)["Statement"]}
    assert "CheckSecretVersions" not in st
    assert all(s["Resource"] for s in st.values())
    cfg = write_config("""
        version: 1
        supervise: { refresh: 1m }
        env:
          APP: { from: prod/app/, path: true, max: 5 }
          DB: prod/db
        """)
    res = run(["policy", "-c", cfg, "--region", "eu-central-1"], offline_env(tmp_path))
    assert res.rc == 0, res
    st = {s["Sid"]: s for s in json.loads(res.out)["Statement"]}
    assert st["CheckSecretVersions"]["Resource"] == [
        "arn:aws:secretsmanager:eu-central-1:*:secret:prod/db-??????"]


def test_refresh_secrets_rotated_added_removed(fake, write_config, sv):
    v1, v2 = value("smp-1"), value("smp-2")
    fake.state.add_secret("smr/a", string=v1)
    fake.state.add_secret("smr/gone", string=value("smp-g"))
    cfg = write_config("""
        version: 1
        supervise:
          refresh: 50ms
          on_change: restart
          restart_delay: 0s
        env:
          R: { from: smr/, path: true, max: 5 }
        """)
    inj, log = sv(["-c", cfg], {"APP_ENV": "A,GONE,NEW"})
    first = wait_for("start", lambda: log.events("start"), inj)[0]
    assert first["env"] == {"A": v1, "GONE": value("smp-g"), "NEW": None}
    with fake.state.lock:   # one change: a cycle never reads a half-made one
        fake.state.put_secret_value("smr/a", v2)
        fake.state.delete_secret("smr/gone")
        fake.state.add_secret("smr/new", string=value("smp-n"))
    starts = wait_for("restart", lambda: len(log.events("start")) >= 2 and log.events("start"),
                      inj)
    assert starts[-1]["env"] == {"A": v2, "GONE": None, "NEW": value("smp-n")}
    err = inj.stderr_text()
    assert "variables added: NEW; removed: GONE" in err
    inj.kill(signal.SIGTERM)
    assert inj.finish(leak_extra=(v1, v2, value("smp-g"), value("smp-n"))) == 0


def test_refresh_tag_changed_to_a_prefix_match_drops_the_secret(fake, write_config, sv):
    # smq/b's tag changes from team=api to team=apiary: AWS's filters still list it, the exact
    # match does not, so the next cycle reads it no more.
    va, vb = value("smq-a"), value("smq-b")
    fake.state.add_secret("smq/a", string=va, tags={"team": "api"})
    fake.state.add_secret("smq/b", string=vb, tags={"team": "api"})
    cfg = write_config("""
        version: 1
        supervise:
          refresh: 50ms
          on_change: restart
          restart_delay: 0s
        env:
          Q: { from: smq/, path: true, max: 5, tags: { team: api } }
        """)
    inj, log = sv(["-c", cfg], {"APP_ENV": "A,B"})
    first = wait_for("start", lambda: log.events("start"), inj)[0]
    assert first["env"] == {"A": va, "B": vb}
    fake.state.set_tags("smq/b", {"team": "apiary"})
    starts = wait_for("restart", lambda: len(log.events("start")) >= 2 and log.events("start"),
                      inj)
    assert starts[-1]["env"] == {"A": va, "B": None}
    assert "removed: B)" in inj.stderr_text()
    inj.kill(signal.SIGTERM)
    assert inj.finish(leak_extra=(va, vb)) == 0


def test_next_token_given_back_stops_the_read(fake, base_env, write_config, probe):
    # An endpoint (or proxy) answering the NextToken it was sent: the pages would never end.
    # Before, the read called until the start deadline (thousands of calls).
    body = json.dumps({"SecretValues": [], "Errors": [], "NextToken": "SAME"})
    fake.state.add_fault("garbage", action="BatchGetSecretValue", status=200, body=body,
                         content_type="application/x-amz-json-1.1")
    cfg = write_config("""
        version: 1
        env:
          A: { from: smp/app/, path: true, max: 5 }
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 69, res
    assert "env A: secrets smp/app/*: page 2 of the answer gave back the NextToken" in res.err
    assert len(filtered_calls(fake)) == 2
    assert not probe.path.exists()


def test_pages_that_never_end_are_bounded(fake, base_env, write_config, probe, monkeypatch):
    # Empty pages with ever new tokens: at most max + 1 pages with values plus 100 empty ones.
    import sm_server

    def endless(self, filters, max_results, next_token):
        return [], str(int(next_token or 0) + 1)

    monkeypatch.setattr(sm_server.Operations, "_filter_ids", endless)
    cfg = write_config("""
        version: 1
        env:
          A: { from: smp/app/, path: true, max: 2 }
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 69, res
    assert "env A: secrets smp/app/*: 103 pages read and the answer has not ended, more than " \
           "max: 2 allows" in res.err
    assert len(filtered_calls(fake)) == 103
    assert not probe.path.exists()


def test_failover_regions_do_not_shrink_a_prefix_reads_deadline(fake, base_env, write_config,
                                                                 probe):
    # A read by prefix is never failed over, so a config's failover_regions must not cut its
    # share of the start deadline (before: 5 s / 4 regions, and a 2 s answer timed out).
    seed_app(fake)
    fake.state.add_fault("slow", action="BatchGetSecretValue", seconds=2)
    cfg = write_config("""
        version: 1
        timeout: 5s
        failover_regions: [eu-west-1, us-east-1, us-west-2]
        env:
          APP: { from: smp/app/, path: true, max: 10 }
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    assert probe.read()["env"]["DB_PASSWORD"] == c("pw")


def test_list_secrets_denied_for_two_reads_grouped_line_names_both_actions(fake, base_env,
                                                                          write_config):
    # Two reads refused alike are reported in one line: it must still say ListSecrets, and a
    # read by tags alone (no name) shows as its entry, not "()".
    seed_app(fake)
    fake.state.deny(base_env["AWS_ACCESS_KEY_ID"], "ListSecrets")
    cfg = write_config("""
        version: 1
        env:
          A: { path: true, max: 3, tags: { team: a } }
          B: { path: true, max: 3, tags: { team: b } }
        """)
    res = run(["-c", cfg, "--", "/bin/true"], base_env)
    assert res.rc == 77, res
    line = [ln for ln in res.err.splitlines() if "2 entries failed" in ln]
    assert line, res.err
    assert "secretsmanager:ListSecrets and secretsmanager:BatchGetSecretValue" in line[0]
    assert "()" not in line[0] and "env A" in line[0] and "env B" in line[0]


def test_secret_named_as_the_prefix_says_end_it_with_a_slash(fake, base_env, write_config,
                                                             probe):
    # "smp/app" beside "smp/app/db_password" (a common layout): the secret named as the prefix
    # has no key; the message says how to leave it out (a config fix: exit 78).
    seed_app(fake)
    fake.state.add_secret("smp/app", string=c("parent"))
    cfg = write_config("""
        version: 1
        env:
          APP: { from: smp/app, path: true, max: 10 }
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 78, res
    assert "the secret smp/app is named as the prefix itself, so it has no key below it; end " \
           "the prefix with '/' (smp/app/) to read only the secrets under it" in res.err
    assert not probe.path.exists()


def get_calls(fake):
    return [r for r in fake.state.requests if r["action"] == "GetSecretValue"]


def test_prefix_per_secret_internal_error_is_read_again_by_id(fake, base_env, write_config,
                                                              probe):
    # A filtered page's Errors give one secret InternalServiceError (once): the read goes on,
    # then reads that secret by its id in a batch by ids, and every variable is there.
    seed_app(fake)
    fake.state.add_fault("item_error", action="BatchGetSecretValue",
                         secret="smp/app/api.key", count=1)
    cfg = write_config(APP_CONFIG)
    res = run(["-v", "-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    env = probe.read()["env"]
    assert env["API_KEY"] == c("api") and env["DB_PASSWORD"] == c("pw")
    assert "secrets smp/app/*: " in res.err and "reading it again by its id" in res.err
    assert len(filtered_calls(fake)) == 1
    again = by_id_calls(fake)
    # By the id the Errors item gave (this endpoint gives the name, as it does for values).
    assert len(again) == 1 and again[0]["secret_ids"] == ["smp/app/api.key"]
    assert not get_calls(fake)


def test_prefix_per_secret_throttle_in_every_batch_falls_back_to_get(fake, base_env,
                                                                     write_config, probe):
    # Every batch answer throttles the secret: after the batch by id, GetSecretValue (its own
    # retries) reads it.
    seed_app(fake)
    fake.state.add_fault("item_error", action="BatchGetSecretValue", secret="smp/app/json",
                         code="ThrottlingException", message="Rate exceeded")
    cfg = write_config(APP_CONFIG)
    res = run(["-v", "-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    assert json.loads(probe.read()["env"]["JSON"]) == {"user": c("json")}
    assert "trying GetSecretValue" in res.err
    assert len(by_id_calls(fake)) == 1 and len(get_calls(fake)) == 1


def test_prefix_per_secret_error_that_persists_fails_naming_it(fake, base_env, write_config,
                                                               probe):
    # InternalServiceError on every call for that secret, GetSecretValue too (HTTP 500): the
    # read fails, naming the secret; nothing is exec'd.
    seed_app(fake)
    fake.state.add_fault("item_error", secret="smp/app/nested/token")
    env = dict(base_env, AWS_MAX_ATTEMPTS="2")
    cfg = write_config(APP_CONFIG)
    res = run(["-c", cfg, "--"] + probe(env), env)
    assert res.rc == 69, res
    assert "secrets smp/app/*: a secret it matched could not be read" in res.err
    assert ": smp/app/nested/token: " in res.err
    assert "InternalServiceError" in res.err
    assert len(get_calls(fake)) == 2            # AWS_MAX_ATTEMPTS
    assert not probe.path.exists()


def test_prefix_per_secret_denial_is_not_read_again(fake, base_env, write_config, probe):
    # A denial is no reason to try again: the filtered page fails the read at once.
    seed_app(fake)
    fake.state.deny(base_env["AWS_ACCESS_KEY_ID"], "GetSecretValue", "smp/app/api.key")
    cfg = write_config(APP_CONFIG)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 77, res
    assert "a secret it matched could not be read" in res.err
    assert not by_id_calls(fake) and not get_calls(fake)
    assert not probe.path.exists()


def test_tags_match_per_secret_internal_error_falls_back_to_get(fake, base_env, write_config,
                                                                probe):
    # A read with tags: the batch by ARN gives one match InternalServiceError; GetSecretValue
    # reads it.
    fake.state.add_secret("smi/a", string=c("i-a"), tags={"team": "api"})
    fake.state.add_secret("smi/b", string=c("i-b"), tags={"team": "api"})
    fake.state.add_fault("item_error", action="BatchGetSecretValue", secret="smi/b")
    cfg = write_config("""
        version: 1
        env:
          T: { from: smi/, path: true, max: 5, tags: { team: api } }
        """)
    res = run(["-v", "-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    env = probe.read()["env"]
    assert env["A"] == c("i-a") and env["B"] == c("i-b")
    assert "trying GetSecretValue" in res.err
    gets = get_calls(fake)
    assert len(gets) == 1 and gets[0]["secret_ids"] == [fake.state.resolve_arn("smi/b")]


def test_prefix_secret_retried_and_on_a_later_page_is_one(fake, base_env, write_config, probe):
    # An endpoint paging by offset: page 1's Errors throttle smx/a, page 2 gives smx/a's value,
    # and the read by id gives it again. One secret, one variable: no key collision.
    arn = fake.state.add_secret("smx/a", string=c("x-a"))
    fake.state.add_fault("garbage", action="BatchGetSecretValue", status=200, count=1,
                         body=json.dumps({"SecretValues": [], "NextToken": "T1", "Errors": [
                             {"SecretId": "smx/a", "ErrorCode": "ThrottlingException",
                              "Message": "Rate exceeded"}]}))
    fake.state.add_fault("garbage", action="BatchGetSecretValue", status=200, count=1,
                         body=json.dumps({"SecretValues": [
                             {"ARN": arn, "Name": "smx/a", "VersionId": "v-page2",
                              "SecretString": c("x-a")}]}))
    cfg = write_config("""
        version: 1
        env:
          X: { from: smx/, path: true, max: 5 }
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    assert probe.read()["env"]["A"] == c("x-a")
    assert [r["secret_ids"] for r in by_id_calls(fake)] == [["smx/a"]]


def test_tags_match_per_secret_error_under_fetch_batch_fails(fake, base_env, write_config,
                                                             probe):
    # fetch: batch never calls GetSecretValue: the match's batch error fails the read.
    fake.state.add_secret("smj/a", string=c("j-a"), tags={"team": "api"})
    fake.state.add_fault("item_error", action="BatchGetSecretValue", secret="smj/a")
    cfg = write_config("""
        version: 1
        fetch: batch
        env:
          T: { from: smj/, path: true, max: 5, tags: { team: api } }
        """)
    res = run(["-c", cfg, "--"] + probe(base_env), base_env)
    assert res.rc == 69, res
    assert "a secret it matched could not be read" in res.err
    assert not get_calls(fake)
    assert not probe.path.exists()
