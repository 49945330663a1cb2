"""FIPS and dual-stack endpoints (AWS_USE_FIPS_ENDPOINT, AWS_USE_DUALSTACK_ENDPOINT, the
profile keys use_fips_endpoint / use_dualstack_endpoint). The expected hosts are not ours:
they come from botocore's endpoint rule sets (Debian's botocore, its EndpointProvider with
the service's endpoint-rule-set-1 and partitions.json), for regions of every partition that
botocore knows. `injector check -v` prints the endpoints a run would reach, offline."""
import re

import pytest
from botocore.endpoint_provider import EndpointProvider
from botocore.exceptions import EndpointResolutionError
from botocore.loaders import create_loader

from conftest import run
from creds_fakes import write_aws

# Regions of each partition in Debian's botocore partitions.json.
REGIONS = ["us-east-1", "eu-west-1", "ca-central-1", "cn-north-1", "cn-northwest-1",
           "us-gov-west-1", "us-gov-east-1", "us-iso-east-1", "us-isob-east-1"]
VARIANTS = [(False, False), (True, False), (False, True), (True, True)]
_LOADER = create_loader()
_PROVIDERS = {}


def botocore_url(service, region, fips, dualstack):
    """The endpoint URL botocore's rule set gives, or None when it refuses the combination."""
    if service not in _PROVIDERS:
        _PROVIDERS[service] = EndpointProvider(
            _LOADER.load_service_model(service, "endpoint-rule-set-1"),
            _LOADER.load_data("partitions"))
    params = {"Region": region, "UseFIPS": fips, "UseDualStack": dualstack}
    if service == "sts":
        params["UseGlobalEndpoint"] = False   # regional STS, as injector and current SDKs
    try:
        return _PROVIDERS[service].resolve_endpoint(**params).url
    except EndpointResolutionError:
        return None


def no_endpoint_env(base_env):
    env = dict(base_env)
    for k in list(env):
        if k.startswith("AWS_ENDPOINT_URL"):
            del env[k]
    return env


def endpoints(res):
    """{(signing name, region): url} from check -v's "endpoint NAME REGION: URL" lines."""
    out = {}
    for m in re.finditer(r"info: endpoint (\S+) (\S+): (\S+)", res.err):
        out[(m.group(1), m.group(2))] = m.group(3).rstrip("/")
    return out


def flags(fips, dualstack):
    return {"AWS_USE_FIPS_ENDPOINT": "true" if fips else "false",
            "AWS_USE_DUALSTACK_ENDPOINT": "TRUE" if dualstack else "false"}


@pytest.mark.parametrize("region", REGIONS)
def test_hosts_are_botocores(region, base_env, write_config):
    cfg = write_config("""
        version: 1
        env:
          A: some/name
        """)
    env = no_endpoint_env(base_env)
    for fips, dualstack in VARIANTS:
        res = run(["check", "-v", "-c", cfg, "--region", region],
                  dict(env, **flags(fips, dualstack)))
        want = {s: botocore_url(s, region, fips, dualstack) for s in ("secretsmanager", "sts")}
        if None in want.values():
            # A combination the partition does not have: a clear error, no endpoint.
            assert want["secretsmanager"] is None and want["sts"] is None, want
            assert res.rc == 64, res
            assert "has no dual-stack endpoints" in res.err and region in res.err, res
            continue
        assert res.rc == 0, res
        got = endpoints(res)
        assert {("secretsmanager", region), ("sts", region)} <= set(got), res.err
        # Every service check lists (SSM too, once its row is in main.c's list), by its
        # signing name, which is botocore's service name for all of them.
        for (service, r), url in got.items():
            assert r == region, res.err
            assert url == botocore_url(service, region, fips, dualstack), (
                service, fips, dualstack, res.err)


def test_examples_from_the_issue(base_env, write_config):
    """The hosts issue 19 names, straight (they are also botocore's, checked above)."""
    cfg = write_config("version: 1\nenv:\n  A: some/name\n")
    env = no_endpoint_env(base_env)
    cases = [("us-east-1", True, False, "https://secretsmanager-fips.us-east-1.amazonaws.com"),
             ("us-east-1", False, True, "https://secretsmanager.us-east-1.api.aws"),
             ("us-east-1", True, True, "https://secretsmanager-fips.us-east-1.api.aws"),
             ("us-gov-west-1", True, False,
              "https://secretsmanager-fips.us-gov-west-1.amazonaws.com"),
             ("cn-north-1", False, True,
              "https://secretsmanager.cn-north-1.api.amazonwebservices.com.cn")]
    for region, fips, dualstack, url in cases:
        res = run(["check", "-v", "-c", cfg, "--region", region],
                  dict(env, **flags(fips, dualstack)))
        assert res.rc == 0, res
        assert endpoints(res)[("secretsmanager", region)] == url, res.err
    res = run(["check", "-v", "-c", cfg, "--region", "us-east-1"],
              dict(env, AWS_USE_FIPS_ENDPOINT="true"))
    assert endpoints(res)[("sts", "us-east-1")] == "https://sts-fips.us-east-1.amazonaws.com"


def test_failover_regions_and_arn_regions_take_the_same_variant(base_env, write_config):
    cfg = write_config("""
        version: 1
        failover_regions: [eu-west-1]
        env:
          A: some/name
          B:
            from: arn:aws:secretsmanager:ca-central-1:111122223333:secret:x-AbCdEf
            failover_regions: [us-west-2]
        """)
    res = run(["check", "-v", "-c", cfg, "--region", "us-east-1"],
              dict(no_endpoint_env(base_env), AWS_USE_FIPS_ENDPOINT="true",
                   AWS_USE_DUALSTACK_ENDPOINT="true"))
    assert res.rc == 0, res
    got = endpoints(res)
    for region in ("us-east-1", "eu-west-1", "ca-central-1", "us-west-2"):
        assert got[("secretsmanager", region)] == botocore_url("secretsmanager", region, True,
                                                               True), res.err
        assert "-fips." in got[("secretsmanager", region)] and ".api.aws" in got[
            ("secretsmanager", region)]


def test_profile_keys_and_the_variable_winning_over_them(base_env, write_config):
    cfg = write_config("version: 1\nenv:\n  A: some/name\n")
    env = no_endpoint_env(base_env)
    write_aws(env, "config", """
        [default]
        use_fips_endpoint = true
        use_dualstack_endpoint = true
        [profile plain]
        region = eu-west-1
        """)
    res = run(["check", "-v", "-c", cfg, "--region", "eu-west-1"], env)
    assert endpoints(res)[("secretsmanager", "eu-west-1")] == \
        "https://secretsmanager-fips.eu-west-1.api.aws", res.err
    assert endpoints(res)[("sts", "eu-west-1")] == "https://sts-fips.eu-west-1.api.aws"
    # The variable wins, "false" included (as the SDKs: env before the config file).
    res = run(["check", "-v", "-c", cfg, "--region", "eu-west-1"],
              dict(env, AWS_USE_FIPS_ENDPOINT="false"))
    assert endpoints(res)[("secretsmanager", "eu-west-1")] == \
        "https://secretsmanager.eu-west-1.api.aws", res.err
    # Another profile without the keys: plain hosts.
    res = run(["check", "-v", "-c", cfg, "--region", "eu-west-1"], dict(env, AWS_PROFILE="plain"))
    assert endpoints(res)[("secretsmanager", "eu-west-1")] == \
        "https://secretsmanager.eu-west-1.amazonaws.com", res.err


def test_an_endpoint_url_still_wins(fake, base_env, write_config):
    """With the fake's AWS_ENDPOINT_URL, FIPS and dual-stack change nothing: the fetch goes
    there, and -v says so."""
    cfg = write_config("version: 1\nenv:\n  A: plain/text\n")
    res = run(["-v", "--dry-run", "-c", cfg],
              dict(base_env, AWS_USE_FIPS_ENDPOINT="true", AWS_USE_DUALSTACK_ENDPOINT="true"))
    assert res.rc == 0, res
    assert f"Secrets Manager in {fake.state.region}: endpoint {base_env['AWS_ENDPOINT_URL']}" \
        in res.err, res.err
    assert [r["action"] for r in fake.state.requests] == ["GetSecretValue"]


def test_a_run_in_a_partition_without_dual_stack_fails_before_any_request(base_env,
                                                                          write_config):
    cfg = write_config("version: 1\nenv:\n  A: some/name\n")
    res = run(["--dry-run", "-c", cfg, "--region", "us-isob-east-1"],
              dict(no_endpoint_env(base_env), AWS_USE_DUALSTACK_ENDPOINT="true"))
    assert res.rc == 64, res
    assert "partition aws-iso-b has no dual-stack endpoints" in res.err, res
