"""`injector policy` from the command line: offline (no credentials, no endpoint), the exit
codes of its refusals, and the options that shape it. The policy's content is unit-tested
(tests/unit/test_policy.c); manifests/iam-policy.json is checked in test_manifests.py."""
import json

from conftest import run


def offline_env(tmp_path):
    """No credentials, no region, an endpoint nobody listens on: policy needs none of it."""
    return {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_ENDPOINT_URL": "https://127.0.0.1:9"}


def test_policy_is_offline_and_deterministic(tmp_path, write_config):
    cfg = write_config("""
        version: 1
        env:
          B: { from: app/b, key: x }
          A: "arn:aws:secretsmanager:us-east-1:111122223333:secret:app/a-Ab12Cd:y::"
        """)
    env = offline_env(tmp_path)
    first = run(["policy", "-c", cfg, "--region", "us-east-1", "--account", "111122223333"], env)
    assert first.rc == 0, first
    again = run(["policy", "--region=us-east-1", "--account=111122223333", "-c", cfg], env)
    assert again.out == first.out
    doc = json.loads(first.out)
    res = doc["Statement"][0]["Resource"]
    assert res == ["arn:aws:secretsmanager:us-east-1:111122223333:secret:app/a-Ab12Cd",
                   "arn:aws:secretsmanager:us-east-1:111122223333:secret:app/b-??????"]
    assert first.err == ""


def test_policy_region_from_environment_and_fetch_single(tmp_path, write_config):
    cfg = write_config("""
        version: 1
        env:
          A: app/a
          B: app/b
        """)
    env = dict(offline_env(tmp_path), AWS_REGION="eu-west-1")
    res = run(["policy", "-c", cfg], env)
    assert res.rc == 0, res
    assert ":eu-west-1:*:secret:app/a-??????" in res.out
    assert "secretsmanager:BatchGetSecretValue" in res.out
    res = run(["policy", "-c", cfg, "--fetch", "single"], env)
    assert res.rc == 0, res
    assert "BatchGetSecretValue" not in res.out


def test_policy_refusals(tmp_path, write_config):
    cfg = write_config("""
        version: 1
        env:
          PGUSER: { from: prod/db, key: username }
        """)
    env = offline_env(tmp_path)
    res = run(["policy", "-c", cfg], env)
    assert res.rc == 64, res
    assert 'env PGUSER: "prod/db" is a secret name' in res.err and "--region" in res.err
    assert res.out == ""
    res = run(["policy", "-c", cfg, "--region", "eu-west-1", "--account", "42"], env)
    assert res.rc == 64 and "12-digit" in res.err, res
    res = run(["policy", "-c", cfg, "--region", "eu-west-1", "--", "true"], env)
    assert res.rc == 64 and "policy takes no command" in res.err, res
    res = run(["-c", cfg, "--account", "111122223333", "--", "true"], env)
    assert res.rc == 64 and "--account" in res.err, res
    res = run(["policy", "-c", str(tmp_path / "missing.yaml"), "--region", "eu-west-1"], env)
    assert res.rc == 66, res
