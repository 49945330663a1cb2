"""Self-tests of the fake Secrets Manager, with botocore's own client and signer as
the client: if these pass, the fake accepts what real AWS clients send and rejects
what AWS would reject.

Run: /usr/bin/python3 -m pytest -q tests/fake
"""

import datetime
import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time

import botocore
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError, SSLError
from botocore.session import get_session

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seed  # noqa: E402
import sm_server  # noqa: E402
from sm_server import FakeSecretsManager  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CT = "application/x-amz-json-1.1"

# botocore 1.29 predates BatchGetSecretValue (Nov 2023); these shapes are the
# published ones from the current Secrets Manager model, added so the real client
# can call it.
BATCH_OPERATION = {
    "name": "BatchGetSecretValue",
    "http": {"method": "POST", "requestUri": "/"},
    "input": {"shape": "BatchGetSecretValueRequest"},
    "output": {"shape": "BatchGetSecretValueResponse"},
    "errors": [{"shape": s} for s in ("ResourceNotFoundException", "InvalidParameterException",
                                      "InvalidRequestException", "DecryptionFailure",
                                      "InternalServiceError", "InvalidNextTokenException")],
}
BATCH_SHAPES = {
    "APIErrorListType": {"type": "list", "member": {"shape": "APIErrorType"}},
    "APIErrorType": {"type": "structure", "members": {
        "SecretId": {"shape": "SecretIdType"}, "ErrorCode": {"shape": "ErrorCode"},
        "Message": {"shape": "ErrorMessage"}}},
    "ErrorCode": {"type": "string"},
    "MaxResultsBatchType": {"type": "integer", "box": True, "max": 20, "min": 1},
    "SecretIdListType": {"type": "list", "member": {"shape": "SecretIdType"}, "max": 20, "min": 1},
    "BatchGetSecretValueRequest": {"type": "structure", "members": {
        "SecretIdList": {"shape": "SecretIdListType"}, "Filters": {"shape": "FiltersListType"},
        "MaxResults": {"shape": "MaxResultsBatchType"}, "NextToken": {"shape": "NextTokenType"}}},
    "SecretValueEntry": {"type": "structure", "members": {
        "ARN": {"shape": "SecretARNType"}, "Name": {"shape": "SecretNameType"},
        "VersionId": {"shape": "SecretVersionIdType"}, "SecretBinary": {"shape": "SecretBinaryType"},
        "SecretString": {"shape": "SecretStringType"},
        "VersionStages": {"shape": "SecretVersionStagesType"},
        "CreatedDate": {"shape": "CreatedDateType"}}},
    "SecretValuesType": {"type": "list", "member": {"shape": "SecretValueEntry"}},
    "BatchGetSecretValueResponse": {"type": "structure", "members": {
        "SecretValues": {"shape": "SecretValuesType"}, "NextToken": {"shape": "NextTokenType"},
        "Errors": {"shape": "APIErrorListType"}}},
}


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory):
    src = os.path.join(os.path.dirname(botocore.__file__), "data", "secretsmanager",
                       "2017-10-17", "service-2.json")
    with open(src) as f:
        model = json.load(f)
    if "BatchGetSecretValue" not in model["operations"]:
        model["operations"]["BatchGetSecretValue"] = BATCH_OPERATION
        for name, shape in BATCH_SHAPES.items():
            model["shapes"].setdefault(name, shape)
    d = tmp_path_factory.mktemp("botocore-data")
    os.makedirs(d / "secretsmanager" / "2017-10-17")
    with open(d / "secretsmanager" / "2017-10-17" / "service-2.json", "w") as f:
        json.dump(model, f)
    return str(d)


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = FakeSecretsManager(tmp_path_factory.mktemp("fake-sm")).start()
    yield s
    s.stop()


@pytest.fixture(autouse=True)
def _fresh(request):
    # Every test starts from the seed, whichever server fixture it uses.
    if "srv" in request.fixturenames:
        request.getfixturevalue("srv").reset()


@pytest.fixture
def make_client(srv, model_dir):
    def make(cred="default", **over):
        c = dict(seed.CREDENTIALS[cred])
        c.update(over)
        session = get_session()
        session.get_component("data_loader").search_paths.insert(0, model_dir)
        return session.create_client(
            "secretsmanager", region_name=c.pop("region", seed.REGION), endpoint_url=srv.url,
            verify=srv.ca_file, aws_access_key_id=c["access_key_id"],
            aws_secret_access_key=c["secret_access_key"], aws_session_token=c["session_token"],
            config=Config(retries={"total_max_attempts": 1}, connect_timeout=3, read_timeout=5))
    return make


@pytest.fixture
def client(make_client):
    return make_client()


def wait_for(pred, timeout=3.0):
    # Server-side bookkeeping of a connection the client gave up on lands a moment later.
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def error_of(excinfo):
    return excinfo.value.response["Error"]["Code"], excinfo.value.response["Error"]["Message"]


# -- raw requests (for what a well-behaved client cannot send) ---------------------

class _FixedTimeSigV4(SigV4Auth):
    """botocore's signer with a chosen X-Amz-Date instead of now."""

    def __init__(self, creds, service, region, timestamp):
        super().__init__(creds, service, region)
        self._ts = timestamp

    def add_auth(self, request):
        request.context["timestamp"] = self._ts
        self._modify_request_before_signing(request)
        cr = self.canonical_request(request)
        self._inject_signature_to_request(
            request, self.signature(self.string_to_sign(request, cr), request))


def sign(srv, action, payload, cred="default", when=None, headers=None, region=seed.REGION,
         service="secretsmanager", secret_key=None):
    """(body, headers) signed with botocore's SigV4Auth."""
    c = seed.CREDENTIALS[cred]
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    h = {"Content-Type": CT, "X-Amz-Target": f"secretsmanager.{action}",
         "Host": f"127.0.0.1:{srv.port}"}
    h.update(headers or {})
    req = AWSRequest(method="POST", url=srv.url + "/", data=body, headers=h)
    creds = Credentials(c["access_key_id"], secret_key or c["secret_access_key"], c["session_token"])
    ts = (when or datetime.datetime.utcnow()).strftime("%Y%m%dT%H%M%SZ")
    _FixedTimeSigV4(creds, service, region, ts).add_auth(req)
    return body, dict(req.headers.items())


def https(srv, timeout=5):
    ctx = ssl.create_default_context(cafile=srv.ca_file)
    return http.client.HTTPSConnection("127.0.0.1", srv.port, context=ctx, timeout=timeout)


def send(srv, body, headers, conn=None, method="POST", path="/"):
    """Sends one request; returns (status, headers, body bytes)."""
    own = conn is None
    conn = conn or https(srv)
    try:
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        return r.status, r.headers, r.read()
    finally:
        if own:
            conn.close()


def call(srv, action, payload, **kw):
    body, headers = sign(srv, action, payload, **kw)
    return send(srv, body, headers)


def control(srv, method, name, payload=None):
    body = json.dumps(payload).encode() if payload is not None else None
    st, _, out = send(srv, body, {"Content-Type": "application/json"}, method=method,
                      path=f"/__fake/{name}")
    return st, json.loads(out)


# -- reading secrets ---------------------------------------------------------------

def test_get_secret_by_name_arn_and_partial_arn(srv, client):
    arn = seed.SECRET_ARNS["dev/fcj/momentum"]
    for sid in ("dev/fcj/momentum", arn, arn[:-7]):
        r = client.get_secret_value(SecretId=sid)
        assert r["ARN"] == arn and r["Name"] == "dev/fcj/momentum"
        assert json.loads(r["SecretString"])["DB_CONNECTION_STRING"] == seed.MOMENTUM_DB_URL
        assert r["VersionStages"] == ["AWSCURRENT"]
        assert r["CreatedDate"].timestamp() == pytest.approx(seed.T_CREATED)
    log = srv.state.requests
    assert [e["secret_ids"] for e in log] == [["dev/fcj/momentum"], [arn], [arn[:-7]]]
    assert {e["access_key_id"] for e in log} == {"AKIAINJECTORTEST0001"}
    assert {e["region"] for e in log} == {"eu-central-1"}
    assert all(e["status"] == 200 and e["error_type"] is None for e in log)


def test_versions_and_stages(srv, client):
    rds = seed.RDS_NAME
    cur = client.get_secret_value(SecretId=rds)
    prev = client.get_secret_value(SecretId=rds, VersionStage="AWSPREVIOUS")
    assert json.loads(cur["SecretString"])["password"] == seed.RDS_PASSWORD
    assert json.loads(prev["SecretString"])["password"] == seed.RDS_PASSWORD_PREVIOUS
    assert prev["VersionStages"] == ["AWSPREVIOUS"]
    by_id = client.get_secret_value(SecretId=rds, VersionId=prev["VersionId"])
    assert by_id["SecretString"] == prev["SecretString"]
    with pytest.raises(ClientError) as e:
        client.get_secret_value(SecretId=rds, VersionStage="AWSPENDING")
    assert error_of(e) == ("ResourceNotFoundException", "Secrets Manager can't find the specified "
                           "secret value for staging label: AWSPENDING")
    vid = "00000000-0000-4000-8000-00000000dead"
    with pytest.raises(ClientError) as e:
        client.get_secret_value(SecretId=rds, VersionId=vid)
    assert error_of(e) == ("ResourceNotFoundException", "Secrets Manager can't find the specified "
                           f"secret value for VersionId: {vid}")
    with pytest.raises(ClientError) as e:
        client.get_secret_value(SecretId=rds, VersionId=prev["VersionId"], VersionStage="AWSCURRENT")
    assert error_of(e)[0] == "InvalidRequestException"


def test_not_found_wire_format(srv):
    st, h, body = call(srv, "GetSecretValue", {"SecretId": "no/such"})
    assert st == 400
    assert json.loads(body) == {"__type": "ResourceNotFoundException",
                                "Message": "Secrets Manager can't find the specified secret."}
    assert h["Content-Type"] == CT and h["x-amzn-RequestId"] and h["Date"]
    assert int(h["Content-Length"]) == len(body)
    # A full ARN with the wrong random suffix is a different secret.
    st, _, _ = call(srv, "GetSecretValue", {"SecretId": seed.SECRET_ARNS["api"][:-6] + "ZZZZZZ"})
    assert st == 400


def test_secret_shapes(srv, client):
    assert client.get_secret_value(SecretId="bin/blob")["SecretBinary"] == seed.BLOB
    assert client.get_secret_value(SecretId="plain/text")["SecretString"] == seed.PLAIN_TEXT
    nested = json.loads(client.get_secret_value(SecretId="app/nested")["SecretString"])
    assert nested["list"][2]["x"].endswith(seed.C_NESTED_LIST) and nested["nothing"] is None
    pg = json.loads(client.get_secret_value(SecretId="pg/e2e")["SecretString"])
    assert pg == {"username": "injector_e2e", "password": seed.PG_E2E_PASSWORD}
    master = json.loads(client.get_secret_value(SecretId="secretPostgresqlMasterUser")["SecretString"])
    assert master["port"] == 5432
    # Timestamps go out the way AWS writes them, and raw UTF-8 by default.
    _, _, body = call(srv, "GetSecretValue", {"SecretId": "pg/e2e"})
    assert b'"CreatedDate":1.700000000123E9' in body and "ü".encode() in body
    srv.state.json_ascii = True
    _, _, body = call(srv, "GetSecretValue", {"SecretId": "pg/e2e"})
    assert body.isascii() and json.loads(json.loads(body)["SecretString"]) == pg


def test_batch_get_secret_value(srv, client):
    r = client.batch_get_secret_value(SecretIdList=["api", "no/such", "bin/blob",
                                                    seed.SECRET_ARNS["pg/e2e"]])
    assert [v["Name"] for v in r["SecretValues"]] == ["api", "bin/blob", "pg/e2e"]
    assert r["SecretValues"][1]["SecretBinary"] == seed.BLOB
    assert all(v["VersionStages"] == ["AWSCURRENT"] for v in r["SecretValues"])
    assert r["Errors"] == [{"SecretId": "no/such", "ErrorCode": "ResourceNotFoundException",
                            "Message": "Secrets Manager can't find the specified secret."}]
    assert srv.state.requests[-1]["secret_ids"] == ["api", "no/such", "bin/blob",
                                                   seed.SECRET_ARNS["pg/e2e"]]
    r = client.batch_get_secret_value(Filters=[{"Key": "name", "Values": ["dev/", "api"]}])
    assert sorted(v["Name"] for v in r["SecretValues"]) == ["api", "dev/fcj/momentum"]


def test_batch_tag_filters_describe_tags_and_list_secrets(srv, client, make_client):
    """tag-key and tag-value filters match independent, case-sensitive prefixes, as AWS's;
    DescribeSecret lists the tags; a filtered call needs secretsmanager:ListSecrets."""
    srv.state.add_secret("tagged/a", string="a", tags={"team": "api", "owner": "web"})
    srv.state.add_secret("tagged/b", string="b", tags={"team": "web"})
    srv.state.add_secret("tagged/c", string="c", tags={"Team": "api"})
    st, out = control(srv, "POST", "add_secret", {"name": "tagged/d", "string": "d",
                                                  "tags": {"team": "apiary"}})
    assert st == 200 and out["arn"]

    def names(*filters):
        r = client.batch_get_secret_value(Filters=list(filters))
        assert r["Errors"] == []
        return sorted(v["Name"] for v in r["SecretValues"])

    pre = {"Key": "name", "Values": ["tagged/"]}
    assert names(pre, {"Key": "tag-key", "Values": ["team"]},
                 {"Key": "tag-value", "Values": ["api"]}) == ["tagged/a", "tagged/d"]
    # The pairs are not checked: a is tagged owner=web, and matches team=web.
    assert names(pre, {"Key": "tag-key", "Values": ["team"]},
                 {"Key": "tag-value", "Values": ["web"]}) == ["tagged/a", "tagged/b"]
    assert names(pre, {"Key": "tag-key", "Values": ["Team"]}) == ["tagged/c"]
    assert names(pre, {"Key": "tag-value", "Values": ["!api"]}) == ["tagged/b"]
    r = client.describe_secret(SecretId="tagged/a")
    assert r["Tags"] == [{"Key": "team", "Value": "api"}, {"Key": "owner", "Value": "web"}]
    assert client.describe_secret(SecretId="api")["Tags"] == []
    srv.state.deny("default", "ListSecrets")
    with pytest.raises(ClientError) as e:
        client.batch_get_secret_value(Filters=[pre])
    assert error_of(e)[0] == "AccessDeniedException"
    assert "secretsmanager:ListSecrets" in error_of(e)[1]
    # An id list needs no ListSecrets.
    assert client.batch_get_secret_value(SecretIdList=["tagged/a"])["SecretValues"]


def test_batch_limits(srv):
    st, _, body = call(srv, "BatchGetSecretValue", {"SecretIdList": [f"s{i}" for i in range(21)]})
    assert st == 400
    err = json.loads(body)
    assert err["__type"] == "ValidationException"
    assert "Member must have length less than or equal to 20" in err["message"]
    st, _, body = call(srv, "BatchGetSecretValue", {"SecretIdList": ["api"], "Filters": []})
    assert st == 400 and json.loads(body)["__type"] == "InvalidParameterException"
    st, _, body = call(srv, "BatchGetSecretValue", {"SecretIdList": ["api"] * 20})
    assert st == 200 and len(json.loads(body)["SecretValues"]) == 20


def test_describe_secret(srv, client):
    r = client.describe_secret(SecretId=seed.RDS_NAME)
    assert r["ARN"] == seed.SECRET_ARNS[seed.RDS_NAME]
    assert r["RotationEnabled"] is True and r["OwningService"] == "rds"
    assert sorted(sum(r["VersionIdsToStages"].values(), [])) == ["AWSCURRENT", "AWSPREVIOUS"]
    assert "LastChangedDate" in r and "SecretString" not in r
    with pytest.raises(ClientError) as e:
        client.describe_secret(SecretId="no/such")
    assert error_of(e)[0] == "ResourceNotFoundException"


def test_rotation_and_runtime_secrets(srv, client):
    old = client.get_secret_value(SecretId="api")
    vid = srv.state.put_secret_value("api", '{"token":"rotated"}')
    new = client.get_secret_value(SecretId="api")
    assert new["VersionId"] == vid and new["SecretString"] == '{"token":"rotated"}'
    prev = client.get_secret_value(SecretId="api", VersionStage="AWSPREVIOUS")
    assert prev["VersionId"] == old["VersionId"] and prev["SecretString"] == old["SecretString"]
    srv.state.put_secret_value("api", b"\x00bytes")
    assert client.get_secret_value(SecretId="api")["SecretBinary"] == b"\x00bytes"
    assert client.get_secret_value(SecretId="api", VersionStage="AWSPREVIOUS")["VersionId"] == vid
    assert len(client.describe_secret(SecretId="api")["VersionIdsToStages"]) == 2

    arn = srv.state.add_secret("extra/one", string="v1", arn_suffix="AbCdEf")
    assert arn.endswith(":secret:extra/one-AbCdEf")
    assert client.get_secret_value(SecretId=arn[:-7])["SecretString"] == "v1"
    srv.reset()
    with pytest.raises(ClientError):
        client.get_secret_value(SecretId="extra/one")
    assert client.get_secret_value(SecretId="api")["SecretString"] == old["SecretString"]


# -- authentication ------------------------------------------------------------------

def test_wrong_secret_key(srv, make_client):
    with pytest.raises(ClientError) as e:
        make_client(secret_access_key="x" * 40).get_secret_value(SecretId="api")
    assert error_of(e) == ("InvalidSignatureException", sm_server.MSG_BAD_SIGNATURE)
    # Front-end errors use a lower-case "message".
    st, _, body = call(srv, "GetSecretValue", {"SecretId": "api"}, secret_key="y" * 40)
    assert json.loads(body) == {"__type": "InvalidSignatureException",
                                "message": sm_server.MSG_BAD_SIGNATURE}


def test_unknown_access_key(srv, make_client):
    with pytest.raises(ClientError) as e:
        make_client(access_key_id="AKIAUNKNOWNKEY000000").get_secret_value(SecretId="api")
    assert error_of(e) == ("UnrecognizedClientException",
                           "The security token included in the request is invalid.")
    assert srv.state.requests[-1]["access_key_id"] == "AKIAUNKNOWNKEY000000"


def test_session_tokens(srv, make_client):
    assert make_client("temporary").get_secret_value(SecretId="api")["Name"] == "api"
    assert srv.state.requests[-1]["token_signed"] is True
    with pytest.raises(ClientError) as e:
        make_client("temporary", session_token=None).get_secret_value(SecretId="api")
    assert error_of(e)[0] == "UnrecognizedClientException"
    with pytest.raises(ClientError) as e:
        make_client("temporary", session_token="bogus").get_secret_value(SecretId="api")
    assert error_of(e)[0] == "UnrecognizedClientException"
    with pytest.raises(ClientError) as e:
        make_client("expired").get_secret_value(SecretId="api")
    assert error_of(e) == ("ExpiredTokenException",
                           "The security token included in the request is expired")
    # AWS also takes a token that is sent but not signed; the log says which it was.
    c = seed.CREDENTIALS["temporary"]
    body = b'{"SecretId": "api"}'
    creds = Credentials(c["access_key_id"], c["secret_access_key"])   # token not signed
    req = AWSRequest(method="POST", url=srv.url + "/", data=body,
                     headers={"Content-Type": CT, "X-Amz-Target": "secretsmanager.GetSecretValue"})
    SigV4Auth(creds, "secretsmanager", seed.REGION).add_auth(req)
    headers = dict(req.headers.items())
    headers["X-Amz-Security-Token"] = c["session_token"]
    assert send(srv, body, headers)[0] == 200
    assert srv.state.requests[-1]["token_signed"] is False
    srv.state.require_signed_token = True
    assert send(srv, body, headers)[0] == 400


def test_tampered_body_is_rejected(srv):
    body, headers = sign(srv, "GetSecretValue", {"SecretId": "api"})
    assert send(srv, body, headers)[0] == 200
    st, _, out = send(srv, json.dumps({"SecretId": "pg/e2e"}).encode(), headers)
    assert st == 400 and json.loads(out)["__type"] == "InvalidSignatureException"
    # A signed payload hash that does not match the body is caught even if "signed".
    body, headers = sign(srv, "GetSecretValue", {"SecretId": "api"},
                         headers={"X-Amz-Content-SHA256": "0" * 64})
    st, _, out = send(srv, body, headers)
    assert st == 400 and json.loads(out)["__type"] == "InvalidSignatureException"
    # An unsigned header may change freely; a signed one may not.
    body, headers = sign(srv, "GetSecretValue", {"SecretId": "api"})
    headers["X-Extra"] = "whatever"
    assert send(srv, body, headers)[0] == 200
    headers["X-Amz-Target"] = "secretsmanager.DescribeSecret"
    assert send(srv, body, headers)[0] == 400


def test_request_time_window(srv, make_client):
    now = datetime.datetime.utcnow()
    for delta, words in ((-600, "Signature expired"), (600, "Signature not yet current")):
        st, _, out = call(srv, "GetSecretValue", {"SecretId": "api"},
                          when=now + datetime.timedelta(seconds=delta))
        err = json.loads(out)
        assert st == 400 and err["__type"] == "InvalidSignatureException"
        assert err["message"].startswith(words)
    assert call(srv, "GetSecretValue", {"SecretId": "api"},
                when=now - datetime.timedelta(seconds=240))[0] == 200
    # The same from the server's side: its clock 10 minutes ahead of the client's.
    srv.state.clock_skew_seconds = 600
    with pytest.raises(ClientError) as e:
        make_client().get_secret_value(SecretId="api")
    code, msg = error_of(e)
    assert code == "InvalidSignatureException" and "is now earlier than" in msg
    # Date tells clients the server's time, so they can correct for skew.
    _, h, _ = call(srv, "GetSecretValue", {"SecretId": "api"})
    server_date = datetime.datetime.strptime(h["Date"], "%a, %d %b %Y %H:%M:%S GMT")
    assert abs((server_date - datetime.datetime.utcnow()).total_seconds() - 600) < 5


def test_malformed_authentication(srv):
    body = b'{"SecretId":"api"}'
    st, _, out = send(srv, body, {"Content-Type": CT, "X-Amz-Target": "secretsmanager.GetSecretValue"})
    assert st == 400 and json.loads(out)["__type"] == "MissingAuthenticationTokenException"
    body, headers = sign(srv, "GetSecretValue", {"SecretId": "api"}, region="us-east-1")
    st, _, out = send(srv, body, headers)
    assert json.loads(out)["message"] == "Credential should be scoped to a valid region, not 'us-east-1'. "
    body, headers = sign(srv, "GetSecretValue", {"SecretId": "api"}, service="kms")
    assert json.loads(send(srv, body, headers)[2])["__type"] == "InvalidSignatureException"
    body, headers = sign(srv, "GetSecretValue", {"SecretId": "api"})
    headers["Authorization"] = headers["Authorization"].replace("content-type;host;", "content-type;")
    assert json.loads(send(srv, body, headers)[2])["__type"] == "IncompleteSignatureException"
    log = srv.state.requests
    assert [e["error_type"] for e in log][:2] == ["MissingAuthenticationTokenException",
                                                  "InvalidSignatureException"]
    assert log[1]["region"] == "us-east-1"
    # Failed requests are still logged with what they asked for.
    assert {e["action"] for e in log} == {"GetSecretValue"}
    assert {tuple(e["secret_ids"]) for e in log} == {("api",)}
    assert srv.state.stats()["requests_by_action"] == {"GetSecretValue": 4}


def test_unknown_operation_and_content_type(srv):
    st, _, out = call(srv, "GetSecretValues", {"SecretId": "api"})
    assert st == 400 and json.loads(out)["__type"] == "UnknownOperationException"
    body, headers = sign(srv, "GetSecretValue", {"SecretId": "api"},
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    st, _, out = send(srv, body, headers)
    assert st == 404 and b"UnknownOperationException" in out
    st, _, out = call(srv, "GetSecretValue", b"not json")
    assert st == 400 and json.loads(out)["__type"] == "SerializationException"
    st, _, out = call(srv, "GetSecretValue", {})
    assert json.loads(out)["__type"] == "ValidationException"


def test_expect_100_continue_and_chunked(srv):
    body, headers = sign(srv, "GetSecretValue", {"SecretId": "api"})
    raw = ssl.create_default_context(cafile=srv.ca_file).wrap_socket(
        socket.create_connection(("127.0.0.1", srv.port), timeout=5), server_hostname="localhost")
    with raw:
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        raw.sendall(f"POST / HTTP/1.1\r\n{head}Content-Length: {len(body)}\r\n"
                    "Expect: 100-continue\r\n\r\n".encode())
        assert raw.recv(100).startswith(b"HTTP/1.1 100")
        raw.sendall(body)
        assert raw.recv(100).startswith(b"HTTP/1.1 200 OK")
    conn = https(srv)
    conn.request("POST", "/", body=iter([body[:5], body[5:]]), headers=headers,
                 encode_chunked=True)
    assert conn.getresponse().status == 200
    conn.close()


def test_error_format_switches(srv):
    srv.state.qualified_error_types = True
    srv.state.error_type_header = True
    st, h, out = call(srv, "GetSecretValue", {"SecretId": "no/such"})
    assert json.loads(out)["__type"] == "com.amazonaws.secretsmanager#ResourceNotFoundException"
    assert h["x-amzn-ErrorType"] == "ResourceNotFoundException"
    st, h, out = call(srv, "GetSecretValue", {"SecretId": "api"}, secret_key="z" * 40)
    assert json.loads(out)["__type"] == "com.amazon.coral.service#InvalidSignatureException"


# -- access control ------------------------------------------------------------------

def test_access_denied(srv, make_client):
    restricted = make_client("restricted")
    assert restricted.get_secret_value(SecretId="pg/e2e")["Name"] == "pg/e2e"
    with pytest.raises(ClientError) as e:
        restricted.get_secret_value(SecretId="api")
    assert error_of(e) == ("AccessDeniedException",
                           "User: arn:aws:sts::111122223333:assumed-role/app-task-role/abc is not "
                           "authorized to perform: secretsmanager:GetSecretValue on resource: api "
                           "because no identity-based policy allows the "
                           "secretsmanager:GetSecretValue action")
    r = restricted.batch_get_secret_value(SecretIdList=["api", "pg/e2e"])
    assert [v["Name"] for v in r["SecretValues"]] == ["pg/e2e"]
    assert r["Errors"][0]["ErrorCode"] == "AccessDeniedException"
    with pytest.raises(ClientError) as e:
        make_client("nobatch").batch_get_secret_value(SecretIdList=["api"])
    assert error_of(e)[0] == "AccessDeniedException"
    assert "secretsmanager:BatchGetSecretValue because" in error_of(e)[1]
    srv.state.deny("default", "DescribeSecret", "app/nested")
    with pytest.raises(ClientError):
        make_client().describe_secret(SecretId=seed.SECRET_ARNS["app/nested"])


def test_kms_fault(srv, client):
    srv.state.add_fault("kms", secret="api", count=1)
    with pytest.raises(ClientError) as e:
        client.get_secret_value(SecretId="api")
    assert error_of(e) == ("DecryptionFailure", sm_server.MSG_DECRYPTION)
    assert client.get_secret_value(SecretId="api")["Name"] == "api"
    srv.state.add_fault("kms", secret="pg/e2e", mode="access")
    with pytest.raises(ClientError) as e:
        client.get_secret_value(SecretId="pg/e2e")
    assert error_of(e)[0] == "AccessDeniedException" and "kms:Decrypt" in error_of(e)[1]
    r = client.batch_get_secret_value(SecretIdList=["api", "pg/e2e"])
    assert [v["Name"] for v in r["SecretValues"]] == ["api"]
    assert r["Errors"][0]["SecretId"] == "pg/e2e"
    assert r["Errors"][0]["ErrorCode"] == "AccessDeniedException"


# -- faults --------------------------------------------------------------------------

def test_error_faults(srv, client):
    srv.state.add_fault("throttle", action="GetSecretValue", count=2)
    for _ in range(2):
        with pytest.raises(ClientError) as e:
            client.get_secret_value(SecretId="api")
        assert error_of(e) == ("ThrottlingException", "Rate exceeded")
    assert client.get_secret_value(SecretId="api")["Name"] == "api"
    srv.state.add_fault("internal", count=1)
    with pytest.raises(ClientError) as e:
        client.describe_secret(SecretId="api")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert error_of(e)[0] == "InternalServiceError"
    srv.state.add_fault("unavailable", count=1)
    with pytest.raises(ClientError) as e:
        client.get_secret_value(SecretId="api")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    srv.state.add_fault("error", count=1, status=400, code="ExpiredTokenException",
                        message="The security token included in the request is expired")
    with pytest.raises(ClientError) as e:
        client.get_secret_value(SecretId="api")
    assert error_of(e)[0] == "ExpiredTokenException"
    stats = srv.state.stats()
    assert stats["errors_by_type"] == {"ThrottlingException": 2, "InternalServiceError": 1,
                                       "ServiceUnavailableException": 1,
                                       "ExpiredTokenException": 1}
    assert stats["faults_fired"] == {"throttle": 2, "internal": 1, "unavailable": 1, "error": 1}
    assert srv.state.faults == []


def test_fault_matching_by_secret_and_persistence(srv, client):
    fid = srv.state.add_fault("throttle", secret=seed.SECRET_ARNS["pg/e2e"])
    assert client.get_secret_value(SecretId="api")["Name"] == "api"
    for sid in ("pg/e2e", "pg/e2e", seed.SECRET_ARNS["pg/e2e"][:-7]):
        with pytest.raises(ClientError):
            client.get_secret_value(SecretId=sid)
    with pytest.raises(ClientError):   # a batch naming it matches too
        client.batch_get_secret_value(SecretIdList=["api", "pg/e2e"])
    assert srv.state.faults[0]["fired"] == 4
    srv.state.remove_fault(fid)
    assert client.get_secret_value(SecretId="pg/e2e")["Name"] == "pg/e2e"


def test_body_faults(srv):
    srv.state.add_fault("html", count=1)
    st, h, out = call(srv, "GetSecretValue", {"SecretId": "api"})
    assert st == 502 and h["Content-Type"] == "text/html" and b"Bad Gateway" in out
    srv.state.add_fault("garbage", count=1)
    st, _, out = call(srv, "GetSecretValue", {"SecretId": "api"})
    assert st == 200
    with pytest.raises(ValueError):
        json.loads(out)
    srv.state.add_fault("invalid_utf8", count=1)
    st, _, out = call(srv, "GetSecretValue", {"SecretId": "api"})
    assert st == 200
    with pytest.raises(UnicodeDecodeError):
        out.decode("utf-8")
    srv.state.add_fault("nul_value", count=1)
    st, _, out = call(srv, "GetSecretValue", {"SecretId": "api"})
    inner = json.loads(json.loads(out)["SecretString"])
    assert inner["token"] == seed.API_TOKEN + "\x00tail"
    srv.state.add_fault("nul_value", secret="pg/e2e", count=1)
    st, _, out = call(srv, "BatchGetSecretValue", {"SecretIdList": ["api", "pg/e2e"]})
    vals = json.loads(out)["SecretValues"]
    assert "\x00" not in vals[0]["SecretString"] and "\\u0000" in vals[1]["SecretString"]
    for size in (None, 300000):
        srv.state.add_fault("oversize", count=1, **({"size": size} if size else {}))
        st, _, out = call(srv, "GetSecretValue", {"SecretId": "api"})
        assert st == 200 and len(out) == (size or 65537)
        assert json.loads(out)["Name"] == "api"


def test_slow_faults(srv):
    srv.state.add_fault("slow", seconds=0.3, count=1)
    t = time.monotonic()
    assert call(srv, "GetSecretValue", {"SecretId": "api"})[0] == 200
    assert time.monotonic() - t >= 0.3
    # Slow-loris: the head comes at once, the body a byte per interval.
    srv.state.add_fault("slow_body", interval=0.1, count=1)
    body, headers = sign(srv, "GetSecretValue", {"SecretId": "api"})
    conn = https(srv, timeout=1)
    conn.request("POST", "/", body=body, headers=headers)
    t = time.monotonic()
    r = conn.getresponse()
    assert r.status == 200 and int(r.headers["Content-Length"]) > 100
    assert r.read(3) == b'{"A'
    assert 0.25 <= time.monotonic() - t < 2
    conn.sock.settimeout(0.05)     # less than the drip interval
    with pytest.raises((socket.timeout, TimeoutError)):
        r.read()
    conn.close()


def test_transport_faults(srv):
    srv.state.add_fault("truncated", count=1)
    body, headers = sign(srv, "GetSecretValue", {"SecretId": "api"})
    conn = https(srv)
    conn.request("POST", "/", body=body, headers=headers)
    r = conn.getresponse()
    with pytest.raises(http.client.IncompleteRead):
        r.read()
    conn.close()

    srv.state.add_fault("reset", count=1)
    with pytest.raises((ConnectionResetError, http.client.IncompleteRead, ssl.SSLError)):
        call(srv, "GetSecretValue", {"SecretId": "api"})

    srv.state.add_fault("drop", count=1)
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError, ssl.SSLError)):
        call(srv, "GetSecretValue", {"SecretId": "api"})

    srv.state.add_fault("close", count=1)
    st, h, _ = call(srv, "GetSecretValue", {"SecretId": "api"})
    assert st == 200 and h["Connection"] == "close"
    log = srv.state.requests
    assert [e["fault"] for e in log] == ["truncated", "reset", "drop", "close"]
    assert [e["status"] for e in log] == [200, 200, None, 200]


def test_rate_limit(srv, client):
    srv.state.set_rate_limits({"BatchGetSecretValue": 5, "GetSecretValue": 500})
    codes = []
    for _ in range(10):
        try:
            client.batch_get_secret_value(SecretIdList=["api"])
            codes.append("ok")
        except ClientError as e:
            codes.append(e.response["Error"]["Code"])
    assert codes[:5] == ["ok"] * 5                  # the burst
    assert "ThrottlingException" in codes[5:] and set(codes) == {"ok", "ThrottlingException"}
    assert srv.state.requests[-1]["fault"] in ("rate_limit", None)
    assert client.get_secret_value(SecretId="api")["Name"] == "api"
    time.sleep(0.25)   # one token back at 5/s
    client.batch_get_secret_value(SecretIdList=["api"])


# -- counters and TLS ----------------------------------------------------------------

def test_keep_alive_counts_one_handshake(srv, client):
    for _ in range(5):
        client.get_secret_value(SecretId="api")
    client.describe_secret(SecretId="api")
    with pytest.raises(ClientError):
        client.get_secret_value(SecretId="no/such")
    s = srv.state.stats()
    assert s["connections"] == 1 and s["handshakes"] == 1
    assert s["total_requests"] == 7
    assert s["requests_by_action"] == {"GetSecretValue": 6, "DescribeSecret": 1}
    assert s["errors_by_type"] == {"ResourceNotFoundException": 1}
    assert len({e["conn"] for e in srv.state.requests}) == 1
    srv.drop_connections()
    time.sleep(0.05)
    client.get_secret_value(SecretId="api")     # the client reconnects
    assert srv.state.stats()["handshakes"] == 2


def test_counters_under_concurrency(srv, make_client):
    clients = [make_client() for _ in range(8)]
    errors = []

    def work(c):
        try:
            for _ in range(10):
                c.get_secret_value(SecretId="api")
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    s = srv.state.stats()
    assert s["total_requests"] == 80 and s["requests_by_action"] == {"GetSecretValue": 80}
    assert s["connections"] == 8 and s["handshakes"] == 8
    assert len(srv.state.requests) == 80


@pytest.mark.parametrize("mode, verify_code", [("expired", 10), ("wronghost", 62),
                                               ("untrusted", 18)])
def test_bad_certificates(tmp_path, model_dir, mode, verify_code):
    with FakeSecretsManager(tmp_path, cert_mode=mode) as bad:
        ctx = ssl.create_default_context(cafile=bad.ca_file)
        with pytest.raises(ssl.SSLCertVerificationError) as e:
            with socket.create_connection(("127.0.0.1", bad.port), timeout=5) as s:
                ctx.wrap_socket(s, server_hostname="localhost")
        assert e.value.verify_code == verify_code
        session = get_session()
        c = session.create_client("secretsmanager", region_name=seed.REGION,
                                  endpoint_url=bad.url, verify=bad.ca_file,
                                  aws_access_key_id="AKIAINJECTORTEST0001",
                                  aws_secret_access_key=seed.CREDENTIALS["default"]["secret_access_key"],
                                  config=Config(retries={"total_max_attempts": 1}))
        with pytest.raises(SSLError):
            c.get_secret_value(SecretId="api")
        # (urllib3 checks the host name itself after the handshake, so only the raw
        # attempt above is sure to show as a failed handshake.)
        assert wait_for(lambda: bad.state.stats()["handshake_failures"] >= 1)
        assert bad.state.stats()["total_requests"] == 0


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_tls_versions(srv):
    # A client willing to speak TLS 1.1 (security level 0 lets OpenSSL 3 offer it) is
    # turned away by the server.
    ctx = ssl.create_default_context(cafile=srv.ca_file)
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    with pytest.raises(ssl.SSLError):
        with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as s:
            ctx.wrap_socket(s, server_hostname="localhost")
    assert wait_for(lambda: srv.state.stats()["handshake_failures"] == 1)
    ctx = ssl.create_default_context(cafile=srv.ca_file)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as s:
        with ctx.wrap_socket(s, server_hostname="localhost") as t:
            assert t.version() == "TLSv1.2"


# -- no leaks ------------------------------------------------------------------------

def test_request_log_holds_no_secret_values(srv, client, make_client):
    for sid in seed.SECRET_NAMES:
        client.get_secret_value(SecretId=sid)
    client.batch_get_secret_value(SecretIdList=seed.SECRET_NAMES)
    make_client("temporary").get_secret_value(SecretId="api")
    dump = json.dumps(srv.state.requests) + json.dumps(srv.state.stats())
    for v in seed.ALL_SECRET_VALUES:
        assert v not in dump


def test_seed_values_are_distinct_and_canaried():
    assert len(set(seed.CANARIES)) == len(seed.CANARIES) >= 12
    for s in seed.SECRETS:
        for v in s["versions"]:
            text = v.get("string") or v["binary"].decode("latin-1")
            assert "CANARY-" in text
    assert "ü" in seed.PG_E2E_PASSWORD and all(ch in seed.PG_E2E_PASSWORD for ch in "@:/?#%&+=")


# -- standalone ------------------------------------------------------------------------

def test_standalone_script(tmp_path, model_dir):
    proc = subprocess.Popen(["/usr/bin/python3", os.path.join(HERE, "sm_server.py"),
                             "--dir", str(tmp_path), "--rate-limit", "DescribeSecret=1000"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = proc.stdout.readline().decode()
        assert line.startswith("READY ")
        port = int(line.split()[1])
        assert (tmp_path / "port").read_text().strip() == str(port)
        env = {}
        for ln in (tmp_path / "env").read_text().splitlines():
            assert ln.startswith("export ")
            k, _, v = ln[len("export "):].partition("=")
            assert v.startswith("'") and v.endswith("'")
            env[k] = v[1:-1]
        assert env["AWS_ENDPOINT_URL"] == f"https://127.0.0.1:{port}"
        assert env["AWS_CA_BUNDLE"] == str(tmp_path / "ca.pem") and env["AWS_REGION"] == seed.REGION

        class Remote:   # what send()/control() need from a server object
            ca_file = env["AWS_CA_BUNDLE"]
            url = env["AWS_ENDPOINT_URL"]

        Remote.port = port
        assert control(Remote, "POST", "fault", {"kind": "throttle", "count": 1})[0] == 200
        assert control(Remote, "GET", "faults")[1][0]["kind"] == "throttle"
        session = get_session()
        session.get_component("data_loader").search_paths.insert(0, model_dir)
        c = session.create_client("secretsmanager", region_name=env["AWS_REGION"],
                                  endpoint_url=env["AWS_ENDPOINT_URL"], verify=env["AWS_CA_BUNDLE"],
                                  aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                                  aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                                  config=Config(retries={"total_max_attempts": 1}))
        with pytest.raises(ClientError):
            c.get_secret_value(SecretId="api")
        assert c.get_secret_value(SecretId="api")["Name"] == "api"
        stats = control(Remote, "GET", "stats")[1]
        assert stats["requests_by_action"] == {"GetSecretValue": 2}
        assert stats["errors_by_type"] == {"ThrottlingException": 1}
        assert control(Remote, "POST", "rate_limit", {"action": "GetSecretValue", "rps": 3})[1] == {
            "DescribeSecret": {"rps": 1000.0, "burst": 1000.0},
            "GetSecretValue": {"rps": 3.0, "burst": 3.0}}
        assert control(Remote, "POST", "put_secret_value",
                       {"secret_id": "api", "string": "new"})[0] == 200
        assert c.get_secret_value(SecretId="api")["SecretString"] == "new"
        assert control(Remote, "POST", "reset")[0] == 200
        assert control(Remote, "GET", "stats")[1]["total_requests"] == 0
        assert control(Remote, "POST", "nonsense")[0] == 404
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert out == b"" and err == b""
