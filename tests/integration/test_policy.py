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


def test_policy_ssm_parameters(tmp_path, write_config):
    """SSM parameters (issue 15): ssm:GetParameters on exact parameter ARNs (one slash after
    "parameter" for a hierarchical name; a wildcard only for the unknown account), and
    kms:Decrypt via SSM in case one is a SecureString (unknowable offline); the
    pass-through also needs the secret it reads. Without --account: "*"."""
    cfg = write_config("""
        version: 1
        env:
          PW: "ssm:/prod/db/password:3"
          FLAT: ssm:flat
          SHARED: "arn:aws:ssm:eu-west-1:444455556666:parameter/shared/db/password:live"
          REF: ssm:/aws/reference/secretsmanager/prod/db
          USER: { from: app/a, key: user }
        """)
    env = offline_env(tmp_path)
    res = run(["policy", "-c", cfg, "--region", "eu-central-1", "--account", "111122223333"],
              env)
    assert res.rc == 0, res
    doc = json.loads(res.out)
    st = {s["Sid"]: s for s in doc["Statement"]}
    assert st["ReadParameters"]["Action"] == "ssm:GetParameters"
    assert st["ReadParameters"]["Resource"] == [
        "arn:aws:ssm:eu-central-1:111122223333:parameter/aws/reference/secretsmanager/prod/db",
        "arn:aws:ssm:eu-central-1:111122223333:parameter/flat",
        "arn:aws:ssm:eu-central-1:111122223333:parameter/prod/db/password",
        "arn:aws:ssm:eu-west-1:444455556666:parameter/shared/db/password"]
    dec = st["DecryptParametersViaSSM"]
    assert dec["Action"] == "kms:Decrypt"
    assert dec["Condition"] == {"StringEquals": {"kms:ViaService": [
        "ssm.eu-central-1.amazonaws.com", "ssm.eu-west-1.amazonaws.com"]}}
    assert dec["Resource"] == ["arn:aws:kms:eu-central-1:111122223333:key/*",
                               "arn:aws:kms:eu-west-1:444455556666:key/*"]
    # The pass-through reads the secret with the caller's rights.
    assert st["ReadSecrets"]["Resource"] == [
        "arn:aws:secretsmanager:eu-central-1:111122223333:secret:app/a-??????",
        "arn:aws:secretsmanager:eu-central-1:111122223333:secret:prod/db-??????"]
    # No account: a wildcard there only; China: its own DNS suffix in kms:ViaService.
    cfg = write_config("version: 1\nenv:\n  A: ssm:/x/y\n")
    res = run(["policy", "-c", cfg, "--region", "cn-north-1"], env)
    assert res.rc == 0, res
    doc = json.loads(res.out)
    assert [s["Sid"] for s in doc["Statement"]] == ["ReadParameters", "DecryptParametersViaSSM"]
    assert doc["Statement"][0]["Resource"] == ["arn:aws-cn:ssm:cn-north-1:*:parameter/x/y"]
    assert doc["Statement"][1]["Condition"]["StringEquals"]["kms:ViaService"] == [
        "ssm.cn-north-1.amazonaws.com.cn"]
    res = run(["policy", "-c", cfg], env)
    assert res.rc == 64, res
    assert '"ssm:/x/y" is a parameter name' in res.err


def test_policy_china_secrets_via_service_has_the_partition_suffix(tmp_path, write_config):
    # kms:ViaService ends in the partition's DNS suffix: secretsmanager.cn-north-1.amazonaws.com
    # names no service, so a condition with it would never match and the secret never decrypt.
    # A secret by name, one by full ARN and a prefix read all take the same value.
    cfg = write_config("""
        version: 1
        env:
          A: app/a
          B: "arn:aws-cn:secretsmanager:cn-northwest-1:111122223333:secret:app/b-Ab12Cd"
          P: { from: prod/app/, path: true, max: 5 }
        """)
    res = run(["policy", "-c", cfg, "--region", "cn-north-1"], offline_env(tmp_path))
    assert res.rc == 0, res
    st = {s["Sid"]: s for s in json.loads(res.out)["Statement"]}
    dec = st["DecryptSecretsViaSecretsManager"]
    assert dec["Condition"]["StringEquals"]["kms:ViaService"] == [
        "secretsmanager.cn-north-1.amazonaws.com.cn",
        "secretsmanager.cn-northwest-1.amazonaws.com.cn"]
    assert dec["Resource"] == ["arn:aws-cn:kms:cn-north-1:*:key/*",
                               "arn:aws-cn:kms:cn-northwest-1:111122223333:key/*"]
    assert "arn:aws-cn:secretsmanager:cn-north-1:*:secret:prod/app/*" in st["ReadSecrets"]["Resource"]
