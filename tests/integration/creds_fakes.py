"""Local fakes of the endpoints injector's credentials chain talks to, and their fixtures.

- FakeSTS: HTTPS with its own throwaway CA (tests/fake/sm_server.make_certs), Query protocol,
  XML answers shaped like AWS's. AssumeRoleWithWebIdentity must come unsigned and carry a
  registered token; AssumeRole must be SigV4-signed (service sts) by known source keys, and
  the signature is recomputed independently with botocore's SigV4Auth.
- FakeContainer: the ECS / EKS Pod Identity credentials endpoint (plain HTTP on 127.0.0.1,
  as the real ones are plain HTTP on link-local addresses); checks the Authorization header.
- FakeIMDS: IMDSv2 only: PUT /latest/api/token needs X-aws-ec2-metadata-token-ttl-seconds,
  and every GET without a valid token is refused with 401, as on an instance that requires
  IMDSv2.

The plain-HTTP fakes also answer proxy-style requests ("GET http://169.254.170.2/... "), so a
test can point http_proxy at them and check what injector asks the real link-local addresses.

mint() makes credentials whose secret parts carry a "CANARY-" marker, so conftest.run's leak
check catches them in any output; register them with the Secrets Manager fake to make them the
only keys it accepts. Use from a test module:

    from creds_fakes import cenv, container, imds, sts, mint  # noqa: F401 (fixtures)
"""

import atexit
import datetime
import hmac
import http.server
import json
import os
import secrets
import socketserver
import ssl
import string
import sys
import textwrap
import threading
import time
import urllib.parse
import uuid
from xml.sax.saxutils import escape

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "fake"))

import seed  # noqa: E402
from conftest import run  # noqa: E402
from sm_server import make_certs  # noqa: E402

STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
ACCOUNT = seed.ACCOUNT


def iso(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def mint(label, temporary=True, expires_in=3600):
    """Fresh credentials: {"access_key_id", "secret_access_key", "session_token", "expiration"}.
    The secret key and the token carry a unique canary."""
    c = "CANARY-" + secrets.token_hex(4).upper()
    alnum = string.ascii_uppercase + string.digits
    akid = ("ASIA" if temporary else "AKIA") + "".join(secrets.choice(alnum) for _ in range(16))
    secret = (c + "/" + secrets.token_urlsafe(40)).replace("-", "+")[:40]
    secret = "CANARY-" + secret[7:]  # keep the marker intact after the replace
    token = None
    if temporary:
        token = "IQoJb3JpZ2luX2Vj" + c + "/" + label[:20] + "+" + secrets.token_urlsafe(60) + "=="
    return {"access_key_id": akid, "secret_access_key": secret, "session_token": token,
            "expiration": iso(time.time() + expires_in)}


def secret_parts(creds):
    """The values of creds that must never be printed."""
    return [v for v in (creds["secret_access_key"], creds.get("session_token")) if v]


def register(sm, label, creds):
    """Makes the Secrets Manager fake accept these keys (and only fakes' keys are used)."""
    sm.state.add_credential(label, creds["access_key_id"], creds["secret_access_key"],
                            creds.get("session_token"))


# ---------------------------------------------------------------------------
# Plain threaded HTTP(S) server
# ---------------------------------------------------------------------------

class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        if os.environ.get("FAKE_CREDS_DEBUG"):
            super().handle_error(request, client_address)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as libcurl expects

    def log_message(self, format, *args):  # noqa: A002 (BaseHTTPRequestHandler's name)
        pass

    @property
    def fake(self):
        return self.server.fake

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _send(self, status, body, ctype="application/json", extra=()):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _echo_headers(self):
        """Every request header as "Name: value" lines: what a server echoing the request
        would print (Authorization and X-Amz-Security-Token included)."""
        return "\n".join(f"{k}: {v}" for k, v in self.headers.items())

    def _split_path(self):
        """(host, path) for origin-form and absolute-form (proxied) request targets."""
        u = urllib.parse.urlsplit(self.path)
        if u.scheme:
            return u.netloc, u.path, True
        return self.headers.get("Host", ""), u.path, False


class _Base:
    scheme = "http"

    def __init__(self, handler):
        self._handler = handler
        self._server = None
        self._thread = None
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.requests = []
        self.reset()

    def _wrap(self, sock):
        return sock

    def start(self):
        self._server = _Server(("127.0.0.1", 0), self._handler)
        self._server.fake = self
        self._server.socket = self._wrap(self._server.socket)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    @property
    def port(self):
        return self._server.server_address[1]

    @property
    def url(self):
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def record(self, entry):
        with self.lock:
            self.requests.append(entry)

    def stop(self):
        if self._server:
            self.stop_event.set()
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)
            self._server = None

    def reset(self):
        with self.lock:
            self.requests = []


# ---------------------------------------------------------------------------
# STS
# ---------------------------------------------------------------------------

class _ExactSigV4(SigV4Auth):
    """botocore's signer over exactly the headers the client says it signed."""

    def __init__(self, credentials, service, region, signed_names):
        super().__init__(credentials, service, region)
        self._signed_names = signed_names

    def headers_to_sign(self, request):
        hm = HTTPHeaders()
        for name in self._signed_names:
            for value in request.headers.get_all(name) or []:
                hm[name] = value
        return hm


class StsError(Exception):
    def __init__(self, status, code, message, type_="Sender"):
        super().__init__(code)
        self.status, self.code, self.message, self.type = status, code, message, type_


def _sts_error_xml(e):
    return (f'<ErrorResponse xmlns="{STS_NS}">\n  <Error>\n    <Type>{e.type}</Type>\n'
            f"    <Code>{escape(e.code)}</Code>\n    <Message>{escape(e.message)}</Message>\n"
            f"  </Error>\n  <RequestId>{uuid.uuid4()}</RequestId>\n</ErrorResponse>\n")


def _sts_creds_xml(action, role_arn, session, creds, extra=""):
    role_name = role_arn.rsplit("/", 1)[-1]
    return (f'<{action}Response xmlns="{STS_NS}">\n'
            f"  <{action}Result>\n{extra}"
            f"    <AssumedRoleUser>\n"
            f"      <AssumedRoleId>AROA3XFRBF535PLBIFPI4:{escape(session)}</AssumedRoleId>\n"
            f"      <Arn>arn:aws:sts::{ACCOUNT}:assumed-role/{escape(role_name)}/"
            f"{escape(session)}</Arn>\n"
            f"    </AssumedRoleUser>\n"
            f"    <Credentials>\n"
            f"      <SessionToken>{escape(creds['session_token'])}</SessionToken>\n"
            f"      <SecretAccessKey>{escape(creds['secret_access_key'])}</SecretAccessKey>\n"
            f"      <Expiration>{creds['expiration']}</Expiration>\n"
            f"      <AccessKeyId>{creds['access_key_id']}</AccessKeyId>\n"
            f"    </Credentials>\n"
            f"    <PackedPolicySize>6</PackedPolicySize>\n"
            f"  </{action}Result>\n"
            f"  <ResponseMetadata>\n    <RequestId>{uuid.uuid4()}</RequestId>\n"
            f"  </ResponseMetadata>\n</{action}Response>\n")


class _StsHandler(_Handler):
    def do_GET(self):
        self._send(404, _sts_error_xml(StsError(404, "InvalidAction", "Use POST")), "text/xml")

    def do_POST(self):
        body = self._body()
        st = self.fake
        entry = {"action": None, "role_arn": None, "session_name": None, "signed": False,
                 "verified": False, "access_key_id": None, "token_signed": None,
                 "region": None, "service": None, "duration": None, "external_id": None,
                 "content_type": self.headers.get("Content-Type"), "status": None,
                 "error": None, "path": self.path}
        try:
            try:
                params = urllib.parse.parse_qs(body.decode("utf-8"), keep_blank_values=True,
                                               strict_parsing=True)
            except (UnicodeDecodeError, ValueError):
                raise StsError(400, "MalformedInput", "could not parse the request body")
            p = {k: v[-1] for k, v in params.items()}
            entry.update(action=p.get("Action"), role_arn=p.get("RoleArn"),
                         session_name=p.get("RoleSessionName"),
                         duration=p.get("DurationSeconds"), external_id=p.get("ExternalId"))
            if p.get("Version") != "2011-06-15":
                raise StsError(400, "InvalidAction", "Could not find operation for version")
            fault = st.take_fault(entry["action"])
            if fault:
                raise StsError(fault["status"], fault["code"],
                               fault["message"].replace("{token}", p.get("WebIdentityToken", ""))
                               .replace("{headers}", self._echo_headers()))
            sn = p.get("RoleSessionName") or ""
            if not (2 <= len(sn) <= 64) or any(not (ch.isalnum() or ch in "_+=,.@-") for ch in sn):
                raise StsError(400, "ValidationError",
                               "1 validation error detected: Value at 'roleSessionName' failed "
                               "to satisfy constraint")
            if entry["action"] == "AssumeRoleWithWebIdentity":
                entry["signed"] = "Authorization" in self.headers
                xml = st.web_identity(p)
            elif entry["action"] == "AssumeRole":
                entry["signed"] = "Authorization" in self.headers
                src = self._verify(body, entry)
                xml = st.assume_role(p, src)
            else:
                raise StsError(400, "InvalidAction",
                               f"Could not find operation {entry['action']} for version "
                               "2011-06-15")
            entry["status"] = 200
            st.record(entry)
            self._send(200, xml, "text/xml", [("x-amzn-RequestId", str(uuid.uuid4()))])
        except StsError as e:
            entry["status"], entry["error"] = e.status, e.code
            st.record(entry)
            self._send(e.status, _sts_error_xml(e), "text/xml",
                       [("x-amzn-RequestId", str(uuid.uuid4()))])

    def _verify(self, body, entry):
        """SigV4 the way AWS checks it; returns the source credential dict."""
        st = self.fake
        auth = self.headers.get("Authorization")
        if not auth:
            raise StsError(403, "MissingAuthenticationToken", "Request is missing "
                           "Authentication Token")
        alg, _, rest = auth.strip().partition(" ")
        parts = {}
        for item in rest.split(","):
            k, eq, v = item.strip().partition("=")
            if eq:
                parts[k.strip()] = v.strip()
        amz_date = self.headers.get("X-Amz-Date")
        if alg != "AWS4-HMAC-SHA256" or not amz_date or not all(
                parts.get(k) for k in ("Credential", "SignedHeaders", "Signature")):
            raise StsError(400, "IncompleteSignature", "The request signature does not conform "
                           "to AWS standards.")
        scope = parts["Credential"].split("/")
        if len(scope) != 5 or scope[4] != "aws4_request":
            raise StsError(400, "IncompleteSignature", "Credential should be scoped properly.")
        akid, date, region, service, _ = scope
        signed = [h for h in parts["SignedHeaders"].split(";") if h]
        entry.update(access_key_id=akid, region=region, service=service,
                     token_signed="x-amz-security-token" in signed)
        if service != "sts":
            raise StsError(400, "SignatureDoesNotMatch", f"Credential should be scoped to "
                           f"correct service: 'sts', not '{service}'.")
        if st.region and region != st.region:
            raise StsError(400, "SignatureDoesNotMatch", f"Credential should be scoped to a "
                           f"valid region, not '{region}'.")
        if "host" not in signed or "x-amz-date" not in signed or date != amz_date[:8]:
            raise StsError(400, "IncompleteSignature", "Host and X-Amz-Date must be signed.")
        t = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()
        if abs(t - time.time()) > 300:
            raise StsError(403, "SignatureDoesNotMatch", "Signature expired")
        src = st.source(akid)
        token = self.headers.get("X-Amz-Security-Token")
        if src is None or (src.get("session_token") or None) != token:
            raise StsError(403, "InvalidClientTokenId", "The security token included in the "
                           "request is invalid.")
        req = AWSRequest(method="POST", url=f"https://{self.headers.get('Host')}{self.path}",
                         data=body)
        hm = HTTPHeaders()
        for name in signed:
            for value in self.headers.get_all(name) or []:
                hm[name] = value
        req.headers = hm
        req.context["timestamp"] = amz_date
        signer = _ExactSigV4(Credentials(akid, src["secret_access_key"], token), service, region,
                             signed)
        want = signer.signature(signer.string_to_sign(req, signer.canonical_request(req)), req)
        if not hmac.compare_digest(want.encode(), parts["Signature"].encode()):
            raise StsError(403, "SignatureDoesNotMatch", "The request signature we calculated "
                           "does not match the signature you provided.")
        entry["verified"] = True
        return src


class FakeSTS(_Base):
    scheme = "https"

    def __init__(self, state_dir, region=seed.REGION):
        self.region = region
        self.ca_file, cert, key = make_certs(state_dir)
        self._ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._ctx.load_cert_chain(cert, key)
        super().__init__(_StsHandler)

    def _wrap(self, sock):
        return self._ctx.wrap_socket(sock, server_side=True)

    def reset(self):
        super().reset()
        with self.lock:
            self._web = {}       # role arn -> (token, creds)
            self._roles = {}     # role arn -> {creds, trusted akids, external_id}
            self._sources = {}   # akid -> creds (keys STS knows, for AssumeRole)
            self._faults = []

    def add_web_identity_role(self, role_arn, token, creds):
        with self.lock:
            self._web[role_arn] = (token, creds)

    def add_role(self, role_arn, creds, trusted=None, external_id=None):
        """trusted: access key ids allowed to assume it (None: any known source)."""
        with self.lock:
            self._roles[role_arn] = {"creds": creds, "trusted": trusted,
                                     "external_id": external_id}

    def add_source(self, creds):
        with self.lock:
            self._sources[creds["access_key_id"]] = creds

    def fail(self, code, message, status=400, action=None, count=1):
        """The next `count` calls (of `action`, or any) answer this error. "{token}" in the
        message is replaced by the request's web identity token, "{headers}" by the request
        headers (a server that echoes them)."""
        with self.lock:
            self._faults.append({"code": code, "message": message, "status": status,
                                 "action": action, "count": count})

    def take_fault(self, action):
        with self.lock:
            for f in self._faults:
                if f["count"] > 0 and f["action"] in (None, action):
                    f["count"] -= 1
                    return f
        return None

    def source(self, akid):
        with self.lock:
            return self._sources.get(akid)

    def web_identity(self, p):
        with self.lock:
            known = self._web.get(p.get("RoleArn"))
        if known is None:
            raise StsError(403, "AccessDenied", "Not authorized to perform "
                           "sts:AssumeRoleWithWebIdentity")
        token, creds = known
        if not hmac.compare_digest((p.get("WebIdentityToken") or "").encode(), token.encode()):
            raise StsError(400, "InvalidIdentityToken", "Couldn't retrieve verification key "
                           "from your identity provider,  please reference "
                           "AssumeRoleWithWebIdentity documentation for requirements")
        extra = ("    <SubjectFromWebIdentityToken>system:serviceaccount:app:app"
                 "</SubjectFromWebIdentityToken>\n    <Audience>sts.amazonaws.com</Audience>\n"
                 "    <Provider>arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-central-1."
                 "amazonaws.com/id/EXAMPLE</Provider>\n")
        return _sts_creds_xml("AssumeRoleWithWebIdentity", p["RoleArn"], p["RoleSessionName"],
                              creds, extra)

    def assume_role(self, p, src):
        with self.lock:
            role = self._roles.get(p.get("RoleArn"))
        if role is None or (role["trusted"] is not None and
                            src["access_key_id"] not in role["trusted"]):
            raise StsError(403, "AccessDenied", f"User: arn:aws:iam::{ACCOUNT}:user/source is "
                           f"not authorized to perform: sts:AssumeRole on resource: "
                           f"{p.get('RoleArn')}")
        if role["external_id"] is not None and p.get("ExternalId") != role["external_id"]:
            raise StsError(403, "AccessDenied", "Not authorized: wrong external id")
        return _sts_creds_xml("AssumeRole", p["RoleArn"], p["RoleSessionName"], role["creds"])


# ---------------------------------------------------------------------------
# Container credentials endpoint (ECS, CodeBuild, EKS Pod Identity)
# ---------------------------------------------------------------------------

class _ContainerHandler(_Handler):
    def do_GET(self):
        st = self.fake
        host, path, proxied = self._split_path()
        auth = self.headers.get("Authorization")
        entry = {"host": host, "path": path, "proxied": proxied, "auth_present": auth is not None,
                 "auth_ok": None, "status": None}
        with st.lock:
            want, routes, status, message = st.token, dict(st.routes), st.status, st.message
        if want is not None:
            entry["auth_ok"] = auth is not None and hmac.compare_digest(auth.encode(),
                                                                      want.encode())
        if status is not None:
            code, body = status, {"code": "InternalError", "message": "endpoint trouble"}
        elif want is not None and not entry["auth_ok"]:
            code, body = 401, {"code": "InvalidToken",
                               "message": (message or "Authorization header is missing or "
                                           "invalid").replace("{headers}",
                                                              self._echo_headers())}
        elif path not in routes:
            code, body = 404, {"code": "NotFound", "message": "no credentials here"}
        else:
            c = routes[path]
            code, body = 200, {"RoleArn": f"arn:aws:iam::{ACCOUNT}:role/task-role",
                               "AccessKeyId": c["access_key_id"],
                               "SecretAccessKey": c["secret_access_key"],
                               "Token": c["session_token"], "Expiration": c["expiration"]}
        entry["status"] = code
        st.record(entry)
        self._send(code, json.dumps(body))


class FakeContainer(_Base):
    def __init__(self):
        super().__init__(_ContainerHandler)

    def reset(self):
        super().reset()
        with self.lock:
            self.routes = {}
            self.token = None
            self.status = None
            self.message = None  # the 401 message; "{headers}" echoes the request headers

    def serve(self, path, creds, token=None):
        with self.lock:
            self.routes[path] = creds
            self.token = token


# ---------------------------------------------------------------------------
# IMDSv2
# ---------------------------------------------------------------------------

IMDS_CREDS = "/latest/meta-data/iam/security-credentials/"


class _ImdsHandler(_Handler):
    def _delay(self):
        d = self.fake.delay
        if d:
            self.fake.stop_event.wait(d)

    def do_PUT(self):
        st = self.fake
        self._body()
        host, path, proxied = self._split_path()
        ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
        entry = {"method": "PUT", "host": host, "path": path, "proxied": proxied, "ttl": ttl,
                 "token_ok": None, "status": None}
        st.record(entry)  # before any delay: a client that gives up is still seen
        self._delay()
        if path != "/latest/api/token":
            code, body = 404, "Not Found"
        elif st.token_status is not None:
            code, body = st.token_status, "Forbidden" if st.token_status == 403 else "Not Found"
        elif self.headers.get("X-Forwarded-For"):
            code, body = 403, "Forbidden"
        elif ttl is None or not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
            code, body = 400, "Bad Request"
        else:
            tok = "CANARY-imds-" + secrets.token_urlsafe(24)
            with st.lock:
                st.tokens.add(tok)
            code, body = 200, tok
        entry["status"] = code
        extra = [("X-aws-ec2-metadata-token-ttl-seconds", ttl)] if code == 200 else []
        self._send(code, body, "text/plain", extra)

    def do_GET(self):
        st = self.fake
        host, path, proxied = self._split_path()
        tok = self.headers.get("X-aws-ec2-metadata-token")
        with st.lock:
            ok = tok is not None and tok in st.tokens
        entry = {"method": "GET", "host": host, "path": path, "proxied": proxied,
                 "token_ok": ok, "ttl": None, "status": None}
        st.record(entry)
        self._delay()
        ctype = "text/plain"
        if not ok:
            # An instance with HttpTokens=required: IMDSv1 GETs are refused.
            code, body = 401, "Unauthorized"
        elif path == IMDS_CREDS:
            code, body = (200, st.role) if st.role else (404, "Not Found")
        elif st.role and path == IMDS_CREDS + st.role and st.creds:
            c = st.creds
            code, ctype = 200, "application/json"
            body = json.dumps({"Code": st.code, "LastUpdated": iso(time.time()),
                               "Type": "AWS-HMAC", "AccessKeyId": c["access_key_id"],
                               "SecretAccessKey": c["secret_access_key"],
                               "Token": c["session_token"], "Expiration": c["expiration"]},
                              indent=2)
        elif path == "/latest/meta-data/placement/region" and st.region:
            code, body = 200, st.region
        else:
            code, body = 404, "Not Found"
        entry["status"] = code
        self._send(code, body, ctype)


class FakeIMDS(_Base):
    def __init__(self):
        super().__init__(_ImdsHandler)

    def reset(self):
        super().reset()
        with self.lock:
            self.tokens = set()
            self.role = None
            self.creds = None
            self.code = "Success"
            self.region = seed.REGION
            self.token_status = None
            self.delay = 0

    def serve(self, role, creds):
        with self.lock:
            self.role, self.creds = role, creds

    @property
    def endpoint(self):
        return self.url


# ---------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------

_servers = {}
_servers_lock = threading.Lock()


def _server(name, factory):
    """One server per kind for the whole session, started on first use (a test module
    imports only the fixtures below, so the servers are not fixtures themselves)."""
    with _servers_lock:
        if name not in _servers:
            srv = factory().start()
            atexit.register(srv.stop)
            _servers[name] = srv
        return _servers[name]


@pytest.fixture
def sts(tmp_path_factory):
    srv = _server("sts", lambda: FakeSTS(str(tmp_path_factory.mktemp("sts"))))
    srv.reset()
    yield srv
    srv.reset()


@pytest.fixture
def container():
    srv = _server("container", FakeContainer)
    srv.reset()
    yield srv
    srv.reset()


@pytest.fixture
def imds():
    srv = _server("imds", FakeIMDS)
    srv.reset()
    yield srv
    srv.reset()


@pytest.fixture
def cenv(base_env, sts, tmp_path):
    """base_env without credentials, trusting both fakes' CAs, STS pointed at its fake.
    IMDS stays disabled (base_env) unless a test turns it on."""
    env = dict(base_env)
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        env.pop(k, None)
    bundle = tmp_path / "ca-bundle.pem"
    with open(base_env["AWS_CA_BUNDLE"], "rb") as a, open(sts.ca_file, "rb") as b:
        bundle.write_bytes(a.read() + b"\n" + b.read())
    env["AWS_CA_BUNDLE"] = str(bundle)
    env["AWS_ENDPOINT_URL_STS"] = sts.url
    return env


# ---------------------------------------------------------------------------
# Helpers for the tests
# ---------------------------------------------------------------------------

CONFIG = """
    version: 1
    env:
      API_TOKEN: { from: api, key: token }
    """
# Full ARN only: no region needed for the secret itself.
CONFIG_ARN = f"""
    version: 1
    env:
      API_TOKEN: "{seed.SECRET_ARNS['api']}:token::"
    """


def write_aws(env, leaf, text):
    """Writes $HOME/.aws/<leaf>."""
    d = os.path.join(env["HOME"], ".aws")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, leaf)
    with open(path, "w") as f:
        f.write(textwrap.dedent(text))
    return path


def dry_run(env, write_config, creds=(), config=CONFIG, args=("-v",), timeout=None):
    """injector -v --dry-run -c CONFIG; every secret part of `creds` (dicts or strings) is
    grepped for in the output, besides conftest's own canaries."""
    extra = []
    for c in creds:
        extra += secret_parts(c) if isinstance(c, dict) else [c]
    cfg = write_config(config)
    return run(list(args) + ["--dry-run", "-c", cfg], env, timeout=timeout, leak_extra=extra)


def fails_with(res, *parts, code=77):
    """Exit code `code` and exactly one "error:" line (main.c's error print) holding every
    part; returns the line."""
    assert res.rc == code, res
    lines = [ln for ln in res.err.splitlines() if "error:" in ln]
    assert len(lines) == 1, res.err
    for p in parts:
        assert p in lines[0], lines[0]
    return lines[0]


def assert_signed_with(sm, creds):
    """Every Secrets Manager request was signed with these keys, and at least one happened."""
    reqs = [r for r in sm.state.requests if r.get("action")]
    assert reqs, "no Secrets Manager request"
    for r in reqs:
        assert r["access_key_id"] == creds["access_key_id"], r
        assert r["status"] == 200, r
        assert r["token_signed"] is (True if creds.get("session_token") else None), r


# Sockets that hold the ports closed_port() hands out, for the life of the test process.
_RESERVED = []


def closed_port():
    """A 127.0.0.1 port nobody listens on, reserved rather than assumed free: the socket stays
    bound (not listening, so a connect is refused) until the process ends, so no test server
    started later, in this worker or another, can be given the same port."""
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    _RESERVED.append(s)
    return s.getsockname()[1]
