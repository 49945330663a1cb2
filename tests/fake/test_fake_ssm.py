"""Self-tests of the fake's SSM Parameter Store part, with botocore's own `ssm` client
(Debian's python3-botocore, its ssm service model) and signer as the client.

Run: /usr/bin/python3 -m pytest -q tests/fake -k ssm
"""

import base64
import datetime
import http.client
import json
import os
import signal
import subprocess
import ssl
import sys
import time

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from botocore.session import get_session

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seed  # noqa: E402
import sm_server  # noqa: E402
from sm_server import FakeSecretsManager  # noqa: E402

CT = "application/x-amz-json-1.1"
DB = "/prod/db/password"
DB_ARN = seed.PARAMETER_ARNS[DB]


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = FakeSecretsManager(tmp_path_factory.mktemp("fake-ssm")).start()
    yield s
    s.stop()


@pytest.fixture(autouse=True)
def _fresh(srv):
    srv.reset()


@pytest.fixture
def make_ssm(srv):
    def make(cred="default", service="ssm", **over):
        c = dict(seed.CREDENTIALS[cred])
        c.update(over)
        return get_session().create_client(
            service, region_name=c.pop("region", seed.REGION), endpoint_url=srv.url,
            verify=srv.ca_file, aws_access_key_id=c["access_key_id"],
            aws_secret_access_key=c["secret_access_key"], aws_session_token=c["session_token"],
            config=Config(retries={"total_max_attempts": 1}, connect_timeout=3, read_timeout=5))
    return make


@pytest.fixture
def ssm(make_ssm):
    return make_ssm()


def error_of(excinfo):
    err = excinfo.value.response["Error"]
    return err["Code"], err.get("Message", "")


def status_of(excinfo):
    return excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"]


def sign(srv, action, payload, cred="default", service="ssm", region=seed.REGION,
         secret_key=None, prefix="AmazonSSM."):
    c = seed.CREDENTIALS[cred]
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    req = AWSRequest(method="POST", url=srv.url + "/", data=body,
                     headers={"Content-Type": CT, "X-Amz-Target": prefix + action,
                              "Host": f"127.0.0.1:{srv.port}"})
    SigV4Auth(Credentials(c["access_key_id"], secret_key or c["secret_access_key"],
                          c["session_token"]), service, region).add_auth(req)
    return body, dict(req.headers.items())


def send(srv, body, headers, path="/", method="POST"):
    ctx = ssl.create_default_context(cafile=srv.ca_file)
    conn = http.client.HTTPSConnection("127.0.0.1", srv.port, context=ctx, timeout=5)
    try:
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        return r.status, r.headers, r.read()
    finally:
        conn.close()


def call(srv, action, payload, **kw):
    return send(srv, *sign(srv, action, payload, **kw))


# -- reading parameters --------------------------------------------------------------

def test_ssm_get_parameters_types_versions_labels(srv, ssm):
    r = ssm.get_parameters(Names=[DB, f"{DB}:1", f"{DB}:live", "/prod/db/host", "flat",
                                  "/prod/app/hosts", "/prod/app/config", "no/such", f"{DB}:9",
                                  f"{DB}:nolabel"], WithDecryption=True)
    got = {(p["Name"], p.get("Selector")): p for p in r["Parameters"]}
    assert [p["Name"] for p in r["Parameters"]] == sorted(p["Name"] for p in r["Parameters"])
    assert got[(DB, None)]["Value"] == seed.P_DB_PASSWORD and got[(DB, None)]["Version"] == 3
    assert got[(DB, ":1")]["Value"] == seed.P_DB_PASSWORD_V1 and got[(DB, ":1")]["Version"] == 1
    assert got[(DB, ":live")]["Value"] == seed.P_DB_PASSWORD
    assert got[(DB, ":live")]["Version"] == 3
    assert got[("/prod/db/host", None)]["Type"] == "String"
    assert got[("/prod/app/hosts", None)] == {
        "Name": "/prod/app/hosts", "Type": "StringList", "Value": seed.P_APP_HOSTS, "Version": 1,
        "LastModifiedDate": got[("/prod/app/hosts", None)]["LastModifiedDate"],
        "ARN": seed.PARAMETER_ARNS["/prod/app/hosts"], "DataType": "text"}
    assert got[("/prod/app/hosts", None)]["LastModifiedDate"].timestamp() == \
        pytest.approx(seed.T_P1)
    assert json.loads(got[("/prod/app/config", None)]["Value"])["password"].endswith(
        seed.C_P_CONFIG)
    assert got[("flat", None)]["ARN"] == f"{seed.SSM_ARN_PREFIX}/flat"
    assert r["InvalidParameters"] == ["no/such", f"{DB}:9", f"{DB}:nolabel"]
    # Wire format: every member of the model's Parameter shape, AWS's epoch form.
    st, _, body = call(srv, "GetParameters", {"Names": [f"{DB}:old"], "WithDecryption": True})
    ent = json.loads(body)
    assert st == 200 and ent["InvalidParameters"] == []
    assert list(ent["Parameters"][0]) == ["Name", "Type", "Value", "Version", "Selector",
                                          "LastModifiedDate", "ARN", "DataType"]
    assert b'"LastModifiedDate":1.7010000005E9' in body
    assert srv.state.requests[-1]["secret_ids"] == [f"{DB}:old"]
    assert srv.state.requests[-1]["service"] == "ssm"


def test_ssm_securestring_without_decryption_is_ciphertext(srv, ssm):
    r = ssm.get_parameters(Names=[DB, "/prod/db/host", "/prod/cmk/api-key"])
    vals = {p["Name"]: p["Value"] for p in r["Parameters"]}
    assert vals["/prod/db/host"] == seed.P_DB_HOST           # String: the flag is moot
    for name, plain in ((DB, seed.P_DB_PASSWORD), ("/prod/cmk/api-key", seed.P_CMK_KEY)):
        blob = base64.b64decode(vals[name], validate=True)
        assert len(blob) > len(plain) and plain.encode() not in blob
        assert "CANARY-" not in vals[name] and plain not in vals[name]
    # Stable per version, different between versions.
    again = ssm.get_parameter(Name=DB)["Parameter"]["Value"]
    assert again == vals[DB] != ssm.get_parameter(Name=f"{DB}:1")["Parameter"]["Value"]
    page = ssm.get_parameters_by_path(Path="/prod/db")["Parameters"]
    assert {p["Name"]: p["Value"] for p in page}[DB] == vals[DB]
    assert ssm.get_parameter(Name=DB, WithDecryption=True)["Parameter"]["Value"] == \
        seed.P_DB_PASSWORD


def test_ssm_get_parameter_errors(srv, ssm):
    with pytest.raises(ClientError) as e:
        ssm.get_parameter(Name="/no/such")
    assert error_of(e) == ("ParameterNotFound", "")
    st, _, body = call(srv, "GetParameter", {"Name": "/no/such"})
    assert st == 400 and json.loads(body) == {"__type": "ParameterNotFound"}
    with pytest.raises(ClientError) as e:
        ssm.get_parameter(Name=f"{DB}:7")
    assert error_of(e) == ("ParameterVersionNotFound", f"Systems Manager could not find version 7 "
                           f"of {DB}. Verify the version and try again.")
    with pytest.raises(ClientError) as e:
        ssm.get_parameter(Name=f"{DB}:nolabel")
    assert error_of(e)[0] == "ParameterNotFound"
    with pytest.raises(ClientError) as e:       # an empty selector is no selector
        ssm.get_parameter(Name=f"{DB}:")
    assert error_of(e)[0] == "ParameterNotFound"
    assert ssm.get_parameter(Name=f"{DB}:2", WithDecryption=True)["Parameter"]["Value"] == \
        seed.P_DB_PASSWORD_V2


def test_ssm_names_as_arns(srv, ssm):
    r = ssm.get_parameters(Names=[DB_ARN, f"{DB_ARN}:1", seed.PARAMETER_ARNS["flat"]],
                           WithDecryption=True)
    by = {(p["Name"], p.get("Selector")): p for p in r["Parameters"]}
    assert by[(DB_ARN, None)]["Value"] == seed.P_DB_PASSWORD
    assert by[(DB_ARN, ":1")]["Value"] == seed.P_DB_PASSWORD_V1
    assert by[(seed.PARAMETER_ARNS["flat"], None)]["Value"] == seed.P_FLAT
    assert all(p["ARN"] in (DB_ARN, seed.PARAMETER_ARNS["flat"]) for p in r["Parameters"])
    # The other reading of AWS's behaviour: Name is the bare name.
    srv.state.ssm_arn_name = "name"
    p = ssm.get_parameter(Name=f"{DB_ARN}:live", WithDecryption=True)["Parameter"]
    assert (p["Name"], p["Selector"], p["ARN"]) == (DB, ":live", DB_ARN)
    srv.state.ssm_arn_name = "asked"
    # A shared parameter of another account: by its full ARN only.
    shared = seed.PARAMETER_ARNS["/shared/db/password"]
    assert seed.SHARED_ACCOUNT in shared
    r = ssm.get_parameters(Names=[shared, "/shared/db/password"], WithDecryption=True)
    assert [p["Value"] for p in r["Parameters"]] == [seed.P_SHARED]
    assert r["Parameters"][0]["ARN"] == shared
    assert r["InvalidParameters"] == ["/shared/db/password"]
    # ARNs for another region, partition or service, or not a parameter, are not found.
    bad = [DB_ARN.replace(seed.REGION, "us-east-1"), DB_ARN.replace("arn:aws:", "arn:aws-cn:"),
           DB_ARN.replace(":ssm:", ":secretsmanager:"),
           DB_ARN.replace(":parameter/", ":document/"), DB_ARN.replace(seed.ACCOUNT, "999999999999")]
    r = ssm.get_parameters(Names=bad)
    assert r["Parameters"] == [] and r["InvalidParameters"] == bad


def test_ssm_get_parameters_limits(srv, ssm):
    names = [f"/p{i}" for i in range(11)]
    st, _, body = call(srv, "GetParameters", {"Names": names})
    err = json.loads(body)
    assert st == 400 and err == {
        "__type": "ValidationException",
        "message": "1 validation error detected: Value '[" + ", ".join(names) + "]' at 'names' "
                   "failed to satisfy constraint: Member must have length less than or equal to 10"}
    st, _, body = call(srv, "GetParameters", {"Names": [DB] * 10})
    assert st == 200 and len(json.loads(body)["Parameters"]) == 1
    st, _, body = call(srv, "GetParameters", {"Names": []})
    assert st == 400 and json.loads(body)["__type"] == "ValidationException"
    st, _, body = call(srv, "GetParameters", {})
    assert st == 400 and "Member must not be null" in json.loads(body)["message"]
    st, _, body = call(srv, "GetParameters", {"Names": [DB], "WithDecryption": "yes"})
    assert st == 400 and json.loads(body)["__type"] == "SerializationException"


def test_ssm_values_up_to_8k_and_oversize(srv, ssm):
    p = ssm.get_parameter(Name="/big/advanced", WithDecryption=True)["Parameter"]
    assert p["Value"] == seed.P_BIG and len(p["Value"]) == 8192
    assert srv.state.parameter_info("/big/advanced")["tier"] == "Advanced"
    big = "x" * 70000 + seed.canary("oversize-test")
    v = srv.state.put_parameter("/big/oversize", big, "SecureString")
    assert v == 1
    assert ssm.get_parameter(Name="/big/oversize", WithDecryption=True)["Parameter"]["Value"] == big


def test_ssm_put_parameter_versions_and_labels(srv, ssm):
    assert srv.state.put_parameter(DB, "rotated", labels=("live",)) == 4
    assert ssm.get_parameter(Name=DB, WithDecryption=True)["Parameter"]["Value"] == "rotated"
    assert ssm.get_parameter(Name=f"{DB}:live", WithDecryption=True)["Parameter"]["Version"] == 4
    assert srv.state.parameter_info(DB)["versions"] == {1: ["old"], 2: [], 3: ["Prod-2024.1"],
                                                        4: ["live"]}
    srv.state.label_parameter(DB, 2, ["old"])
    assert ssm.get_parameter(Name=f"{DB}:old", WithDecryption=True)["Parameter"]["Value"] == \
        seed.P_DB_PASSWORD_V2
    # Over the control endpoints, as the standalone server takes it.
    st, _, out = send(srv, json.dumps({"name": "/new/one", "value": "v1", "type": "SecureString",
                                       "labels": ["a"]}).encode(),
                      {"Content-Type": "application/json"}, path="/__fake/put_parameter")
    assert st == 200 and json.loads(out) == {"version": 1}
    st, _, _ = send(srv, json.dumps({"name": "/new/one", "version": 1, "labels": ["b"]}).encode(),
                    {"Content-Type": "application/json"}, path="/__fake/label_parameter")
    assert st == 200
    p = ssm.get_parameter(Name="/new/one:b", WithDecryption=True)["Parameter"]
    assert (p["Type"], p["Value"]) == ("SecureString", "v1")
    srv.reset()
    assert srv.state.parameter_info(DB)["versions"][3] == ["live", "Prod-2024.1"]
    assert srv.state.parameter_info("/new/one") is None


def test_ssm_get_parameters_by_path(srv, ssm):
    one = ssm.get_parameters_by_path(Path="/prod/app", WithDecryption=True)["Parameters"]
    assert [p["Name"] for p in one] == ["/prod/app/config", "/prod/app/hosts"]
    assert "NextToken" not in ssm.get_parameters_by_path(Path="/prod/app/")
    pages = list(ssm.get_paginator("get_parameters_by_path").paginate(
        Path="/prod", Recursive=True, WithDecryption=True, PaginationConfig={"PageSize": 2}))
    names = [p["Name"] for page in pages for p in page["Parameters"]]
    assert names == sorted(n for n in seed.PARAMETER_NAMES if n.startswith("/prod/"))
    assert len(names) == 6 and [len(pg["Parameters"]) for pg in pages] == [2, 2, 2]
    assert {p["Name"]: p["Value"] for pg in pages for p in pg["Parameters"]}[DB] == \
        seed.P_DB_PASSWORD
    assert all("Selector" not in p for pg in pages for p in pg["Parameters"])
    root = ssm.get_parameters_by_path(Path="/", Recursive=True, MaxResults=5)
    assert "flat" not in [p["Name"] for p in root["Parameters"]] and "NextToken" in root
    assert [p["Name"] for p in ssm.get_parameters_by_path(Path="/prod")["Parameters"]] == []
    assert ssm.get_parameters_by_path(Path="/prod/app/nested/deep")["Parameters"][0]["Value"] \
        == seed.P_DEEP_TOKEN
    # ParameterFilters are accepted (and ignored here).
    ssm.get_parameters_by_path(Path="/prod/db", ParameterFilters=[{"Key": "Type",
                                                                    "Values": ["String"]}])
    for bad, code in (({"Path": "/prod", "MaxResults": 11}, "ValidationException"),
                      ({"Path": "/prod", "MaxResults": 0}, "ValidationException"),
                      ({"Path": "prod"}, "ValidationException"),
                      ({"Path": "/prod", "NextToken": "bogus"}, "InvalidNextToken"),
                      ({"Path": "/prod/db", "Recursive": True,
                        "NextToken": pages[0]["NextToken"]}, "InvalidNextToken")):
        st, _, body = call(srv, "GetParametersByPath", bad)
        assert st == 400 and json.loads(body)["__type"] == code, bad


def test_ssm_secretsmanager_reference(srv, ssm, make_ssm):
    ref = "/aws/reference/secretsmanager/api"
    p = ssm.get_parameter(Name=ref, WithDecryption=True)["Parameter"]
    assert (p["Name"], p["Type"], p["Version"]) == (ref, "SecureString", 0)
    assert json.loads(p["Value"]) == {"token": seed.API_TOKEN}
    assert p["ARN"] == seed.SECRET_ARNS["api"]
    src = json.loads(p["SourceResult"])
    assert src["Name"] == "api" and src["VersionStages"] == ["AWSCURRENT"]
    with pytest.raises(ClientError) as e:
        ssm.get_parameter(Name=ref)
    assert error_of(e) == ("ValidationException", sm_server.MSG_SM_REFERENCE)
    with pytest.raises(ClientError) as e:
        ssm.get_parameters(Names=[ref, DB])
    assert error_of(e) == ("ValidationException", sm_server.MSG_SM_REFERENCE)
    prev = ssm.get_parameter(Name=f"/aws/reference/secretsmanager/{seed.RDS_NAME}:AWSPREVIOUS",
                             WithDecryption=True)["Parameter"]
    assert json.loads(prev["Value"])["password"] == seed.RDS_PASSWORD_PREVIOUS
    assert prev["Selector"] == ":AWSPREVIOUS"
    r = ssm.get_parameters(Names=[ref, "/aws/reference/secretsmanager/no/such"],
                           WithDecryption=True)
    assert [x["Name"] for x in r["Parameters"]] == [ref]
    assert r["InvalidParameters"] == ["/aws/reference/secretsmanager/no/such"]
    # Secrets Manager's own denial applies through the reference.
    with pytest.raises(ClientError) as e:
        make_ssm("restricted").get_parameter(Name=ref, WithDecryption=True)
    assert error_of(e)[0] == "AccessDeniedException"
    assert "secretsmanager:GetSecretValue" in error_of(e)[1]


# -- access control ------------------------------------------------------------------

def test_ssm_access_denied(srv, make_ssm):
    nossm = make_ssm("nossm")
    assert nossm.get_parameter(Name="/prod/db/host")["Parameter"]["Value"] == seed.P_DB_HOST
    msg = (f"User: {seed.PRINCIPAL_ARN} is not authorized to perform: ssm:GetParameters on "
           f"resource: {DB_ARN} because no identity-based policy allows the ssm:GetParameters "
           "action")
    for names in ([DB], ["/prod/db/host", f"{DB}:1"], [DB_ARN]):
        with pytest.raises(ClientError) as e:
            nossm.get_parameters(Names=names, WithDecryption=True)
        assert error_of(e) == ("AccessDeniedException", msg) and status_of(e) == 400
    with pytest.raises(ClientError) as e:
        nossm.get_parameter(Name=DB)
    assert error_of(e)[1] == msg.replace("ssm:GetParameters", "ssm:GetParameter")
    # Denied everywhere; by path.
    srv.state.deny("default", "ssm:GetParametersByPath", "/prod")
    ssm = make_ssm()
    with pytest.raises(ClientError) as e:
        ssm.get_parameters_by_path(Path="/prod/")
    assert error_of(e)[1].startswith(f"User: {seed.PRINCIPAL_ARN} is not authorized to perform: "
                                     "ssm:GetParametersByPath on resource: "
                                     f"{seed.SSM_ARN_PREFIX}/prod because")
    assert ssm.get_parameters_by_path(Path="/prod/db")["Parameters"]
    srv.state.deny("default", "ssm:GetParameters")
    with pytest.raises(ClientError) as e:
        ssm.get_parameters(Names=["no/such"])
    assert error_of(e)[1].startswith("User: ") and ":parameter/no/such because" in error_of(e)[1]
    srv.state.allow("default", "ssm:GetParameters")
    assert ssm.get_parameters(Names=["flat"])["Parameters"]


def test_ssm_kms_denial(srv, make_ssm):
    nokms = make_ssm("nokms")
    cmk = "/prod/cmk/api-key"
    with pytest.raises(ClientError) as e:
        nokms.get_parameters(Names=[cmk, DB], WithDecryption=True)
    code, msg = error_of(e)
    assert code == "AccessDeniedException" and status_of(e) == 400
    assert msg.startswith(f"User: {seed.PRINCIPAL_ARN} is not authorized to perform: kms:Decrypt "
                          f"on resource: {seed.SSM_CMK_ARN} because no identity-based policy "
                          "allows the kms:Decrypt action (Service: AWSKMS; Status Code: 400; "
                          "Error Code: AccessDeniedException; Request ID: ")
    assert msg.endswith("; Proxy: null)")
    st, _, body = call(srv, "GetParameter", {"Name": cmk, "WithDecryption": True}, cred="nokms")
    assert st == 400 and set(json.loads(body)) == {"__type", "message"}
    # Without decryption there is nothing to decrypt; the AWS managed key needs no grant.
    assert "CANARY-" not in nokms.get_parameter(Name=cmk)["Parameter"]["Value"]
    assert nokms.get_parameter(Name=DB, WithDecryption=True)["Parameter"]["Value"] == \
        seed.P_DB_PASSWORD
    with pytest.raises(ClientError):
        nokms.get_parameters_by_path(Path="/prod/cmk", WithDecryption=True)
    # The same per parameter as a fault, in the older wording too.
    ssm = make_ssm()
    srv.state.add_fault("kms", secret=DB, count=1, mode="legacy")
    with pytest.raises(ClientError) as e:
        ssm.get_parameter(Name=DB_ARN, WithDecryption=True)
    assert error_of(e)[1].startswith(sm_server.MSG_KMS_LEGACY + " (Service: AWSKMS;")
    assert ssm.get_parameter(Name=DB, WithDecryption=True)["Parameter"]["Version"] == 3


# -- signatures ----------------------------------------------------------------------

def test_ssm_signature_checks(srv, make_ssm):
    # Signed for Secrets Manager, sent to SSM: refused as AWS does, and the other way round.
    st, _, body = call(srv, "GetParameter", {"Name": DB}, service="secretsmanager")
    assert st == 400 and json.loads(body) == {
        "__type": "InvalidSignatureException",
        "message": "Credential should be scoped to correct service: 'ssm'. "}
    st, _, body = call(srv, "GetSecretValue", {"SecretId": "api"}, service="ssm",
                       prefix="secretsmanager.")
    assert json.loads(body)["message"] == \
        "Credential should be scoped to correct service: 'secretsmanager'. "
    with pytest.raises(ClientError) as e:
        make_ssm(secret_access_key="x" * 40).get_parameter(Name=DB)
    assert error_of(e) == ("InvalidSignatureException", sm_server.MSG_BAD_SIGNATURE)
    body, headers = sign(srv, "GetParameter", {"Name": "/prod/db/host"})
    assert send(srv, body, headers)[0] == 200
    st, _, out = send(srv, json.dumps({"Name": DB}).encode(), headers)     # tampered body
    assert st == 400 and json.loads(out)["__type"] == "InvalidSignatureException"
    headers["X-Amz-Target"] = "AmazonSSM.GetParameters"                    # signed header
    assert send(srv, body, headers)[0] == 400
    with pytest.raises(ClientError) as e:
        make_ssm("expired").get_parameter(Name=DB)
    assert error_of(e)[0] == "ExpiredTokenException"
    assert make_ssm("temporary").get_parameter(Name="flat")["Parameter"]["Value"] == seed.P_FLAT
    st, _, body = call(srv, "PutParameter", {"Name": "/x", "Value": "y"})
    assert st == 400 and json.loads(body)["__type"] == "UnknownOperationException"
    log = srv.state.requests
    assert log[0]["error_type"] == "InvalidSignatureException" and log[0]["service"] == \
        "secretsmanager"


# -- faults and quotas ---------------------------------------------------------------

def test_ssm_error_faults(srv, ssm, make_ssm):
    sm = make_ssm(service="secretsmanager")
    srv.state.add_fault("throttle", service="ssm", count=2)
    assert sm.get_secret_value(SecretId="api")["Name"] == "api"      # not for Secrets Manager
    for call_ in (lambda: ssm.get_parameters(Names=[DB]), lambda: ssm.get_parameter(Name=DB)):
        with pytest.raises(ClientError) as e:
            call_()
        assert error_of(e) == ("ThrottlingException", "Rate exceeded") and status_of(e) == 400
    assert ssm.get_parameter(Name=DB)["Parameter"]["Version"] == 3
    srv.state.add_fault("internal", action="GetParameters", count=1)
    with pytest.raises(ClientError) as e:
        ssm.get_parameters(Names=[DB])
    assert error_of(e) == ("InternalServerError", "An error occurred on the server side.")
    assert status_of(e) == 500
    srv.state.add_fault("unavailable", action="GetParametersByPath", count=1)
    with pytest.raises(ClientError) as e:
        ssm.get_parameters_by_path(Path="/prod")
    assert status_of(e) == 503
    # A fault for one parameter matches any form of it, a batch naming it included.
    srv.state.add_fault("throttle", secret=DB, count=3)
    assert ssm.get_parameters(Names=["flat"])["Parameters"]
    for names in ([f"{DB}:live"], [DB_ARN], ["flat", DB]):
        with pytest.raises(ClientError):
            ssm.get_parameters(Names=names)
    assert srv.state.stats()["faults_fired"] == {"throttle": 5, "internal": 1, "unavailable": 1}


def test_ssm_body_and_transport_faults(srv):
    srv.state.add_fault("oversize", action="GetParameters", count=1, size=70000)
    st, _, out = call(srv, "GetParameters", {"Names": [DB]})
    assert st == 200 and len(out) == 70000 and json.loads(out)["Parameters"][0]["Name"] == DB
    srv.state.add_fault("nul_value", secret="flat", count=1)
    st, _, out = call(srv, "GetParameters", {"Names": ["flat", "/prod/db/host"]})
    vals = {p["Name"]: p["Value"] for p in json.loads(out)["Parameters"]}
    assert vals == {"flat": seed.P_FLAT + "\x00tail", "/prod/db/host": seed.P_DB_HOST}
    srv.state.add_fault("invalid_utf8", service="ssm", count=1)
    st, _, out = call(srv, "GetParameter", {"Name": "flat"})
    with pytest.raises(UnicodeDecodeError):
        out.decode("utf-8")
    srv.state.add_fault("truncated", service="ssm", count=1)
    body, headers = sign(srv, "GetParameters", {"Names": [DB], "WithDecryption": True})
    ctx = ssl.create_default_context(cafile=srv.ca_file)
    conn = http.client.HTTPSConnection("127.0.0.1", srv.port, context=ctx, timeout=5)
    conn.request("POST", "/", body=body, headers=headers)
    with pytest.raises(http.client.IncompleteRead):
        conn.getresponse().read()
    conn.close()
    assert [e["fault"] for e in srv.state.requests] == ["oversize", "nul_value", "invalid_utf8",
                                                        "truncated"]


def test_ssm_shared_quota(srv, ssm, make_ssm):
    # SSM's 40/s is one bucket for the three actions; scaled down here to 3 (burst 3).
    srv.state.set_rate_limit("ssm", 3)
    sm = make_ssm(service="secretsmanager")
    ssm.get_parameter(Name=DB)
    ssm.get_parameters(Names=[DB])
    ssm.get_parameters_by_path(Path="/prod/db")
    with pytest.raises(ClientError) as e:
        ssm.get_parameter(Name=DB)
    assert error_of(e) == ("ThrottlingException", "Rate exceeded")
    with pytest.raises(ClientError):
        ssm.get_parameters_by_path(Path="/prod/db")
    assert sm.get_secret_value(SecretId="api")["Name"] == "api"      # another service's quota
    assert srv.state.requests[-2]["fault"] == "rate_limit"
    time.sleep(0.4)    # one token back at 3/s
    ssm.get_parameters(Names=[DB])


def test_ssm_log_holds_no_values(srv, ssm, make_ssm):
    ssm.get_parameters(Names=seed.PARAMETER_NAMES[:10], WithDecryption=True)
    ssm.get_parameters_by_path(Path="/", Recursive=True, WithDecryption=True)
    ssm.get_parameter(Name="/aws/reference/secretsmanager/api", WithDecryption=True)
    ssm.get_parameter(Name=seed.PARAMETER_ARNS["/shared/db/password"], WithDecryption=True)
    dump = json.dumps(srv.state.requests) + json.dumps(srv.state.stats())
    assert "CANARY-" not in dump
    for v in seed.ALL_SECRET_VALUES:
        assert v not in dump


def test_ssm_seed_is_canaried():
    for p in seed.PARAMETERS:
        for v in p["versions"]:
            assert "CANARY-" in v["value"] and v["value"] in seed.ALL_SECRET_VALUES
    assert len(seed.P_BIG) == 8192
    assert datetime.datetime.utcfromtimestamp(seed.T_P3).year == 2023


def test_ssm_standalone_script(tmp_path):
    here = os.path.dirname(os.path.abspath(__file__))
    proc = subprocess.Popen(["/usr/bin/python3", os.path.join(here, "sm_server.py"),
                             "--dir", str(tmp_path), "--rate-limit", "ssm=2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        port = int(proc.stdout.readline().decode().split()[1])

        class Remote:
            ca_file = str(tmp_path / "ca.pem")
            url = f"https://127.0.0.1:{port}"

        Remote.port = port
        st, _, out = send(Remote, json.dumps({"name": "/bench/p000", "value": "v",
                                              "type": "SecureString"}).encode(),
                          {"Content-Type": "application/json"}, path="/__fake/put_parameter")
        assert st == 200 and json.loads(out) == {"version": 1}
        c = seed.CREDENTIALS["default"]
        client = get_session().create_client(
            "ssm", region_name=seed.REGION, endpoint_url=Remote.url, verify=Remote.ca_file,
            aws_access_key_id=c["access_key_id"], aws_secret_access_key=c["secret_access_key"],
            config=Config(retries={"total_max_attempts": 1}))
        r = client.get_parameters(Names=["/bench/p000"], WithDecryption=True)
        assert r["Parameters"][0]["Value"] == "v"
        client.get_parameter(Name="/bench/p000")
        with pytest.raises(ClientError) as e:        # the shared 2/s bucket is empty
            client.get_parameters_by_path(Path="/bench")
        assert error_of(e)[0] == "ThrottlingException"
        st, _, out = send(Remote, None, {}, path="/__fake/stats", method="GET")
        stats = json.loads(out)
        assert stats["requests_by_action"] == {"GetParameters": 1, "GetParameter": 1,
                                               "GetParametersByPath": 1}
        assert stats["errors_by_type"] == {"ThrottlingException": 1}
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0 and err == b""
