"""Which environment setting wins when several are set: the region chain, the endpoint
variables, the CA variables, HTTPS_PROXY / NO_PROXY, the default Secrets Manager and STS
hosts per partition, and the clock skew figure in the error. One test per rule; the losing
setting is always set to something that would work too (or fail in a way the test can tell
apart), so a wrong order shows up.

Regions are read off the Secrets Manager fake's request log (the region each request was
signed for; state.enforce_region = False makes the one fake serve every region). Hosts that
must never be reached (the real AWS endpoints) are read off a small CONNECT proxy below: it
records each CONNECT target and tunnels only to the fake's own port on 127.0.0.1, anything
else gets a 502, so no test touches the network."""
import os
import re
import select
import socket
import socketserver
import subprocess
import threading

import pytest

import seed
from conftest import run
from creds_fakes import closed_port, imds  # noqa: F401 (imds: a fixture)

RDS = seed.RDS_NAME
ARN = seed.SECRET_ARNS
HOME_REGION = seed.REGION  # the seeded secrets' own region (eu-central-1)

# One distinct region per source of the region chain, none of them the seed's region.
R_CLI, R_CONFIG, R_ENV, R_DEFAULT = "ap-southeast-2", "sa-east-1", "us-west-2", "eu-north-1"
R_PROFILE, R_IMDS = "ca-central-1", "ap-south-1"
R_PROFILE_DEFAULT = "us-east-2"   # the [default] profile's region: must lose to AWS_PROFILE
R_HOME_CONFIG = "eu-west-2"       # ~/.aws/config's region: must lose to AWS_CONFIG_FILE
IMDS_REGION_PATH = "/latest/meta-data/placement/region"
WEBID_ROLE = "arn:aws:iam::111122223333:role/app-role"


# ---- a CONNECT proxy ---------------------------------------------------------------------

class _ProxyHandler(socketserver.BaseRequestHandler):
    def handle(self):
        proxy = self.server.proxy
        sock = self.request
        sock.settimeout(10)
        head = b""
        try:
            while b"\r\n\r\n" not in head and len(head) < 16384:
                chunk = sock.recv(4096)
                if not chunk:
                    return
                head += chunk
        except OSError:
            return
        line = head.split(b"\r\n", 1)[0].decode("latin-1")
        parts = line.split()
        method, target = (parts[0], parts[1]) if len(parts) >= 2 else (line, "")
        proxy.record(method, target)
        host, _, port = target.rpartition(":")
        if method == "CONNECT" and host in ("localhost", "127.0.0.1") and \
                port == str(proxy.tunnel_port):
            try:
                up = socket.create_connection(("127.0.0.1", proxy.tunnel_port), timeout=10)
            except OSError:
                sock.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                return
            sock.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            rest = head.split(b"\r\n\r\n", 1)[1]
            if rest:
                up.sendall(rest)
            self._pump(sock, up)
            return
        # Everything else (the real AWS hosts above all) is refused: no network.
        body = b"no route from the test proxy\n"
        sock.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\n"
                     b"Content-Length: " + str(len(body)).encode() + b"\r\n"
                     b"Connection: close\r\n\r\n" + body)

    def _pump(self, a, b):
        stop = self.server.proxy.stop_event
        try:
            a.settimeout(None)
            b.settimeout(None)
            while not stop.is_set():
                ready, _, _ = select.select([a, b], [], [], 0.2)
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    (b if s is a else a).sendall(data)
        except OSError:
            pass
        finally:
            b.close()


class _ProxyServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass


class ConnectProxy:
    """HTTP proxy on 127.0.0.1 that records request lines; tunnels CONNECT only to
    localhost/127.0.0.1:tunnel_port, answers 502 to everything else."""

    def __init__(self, tunnel_port=None):
        self.tunnel_port = tunnel_port
        self.lock = threading.Lock()
        self.seen = []
        self.stop_event = threading.Event()
        self._server = _ProxyServer(("127.0.0.1", 0), _ProxyHandler)
        self._server.proxy = self
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def record(self, method, target):
        with self.lock:
            self.seen.append((method, target))

    def targets(self):
        with self.lock:
            return [t for m, t in self.seen]

    def stop(self):
        self.stop_event.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


@pytest.fixture
def proxy(fake):
    p = ConnectProxy(tunnel_port=fake.port)
    yield p
    p.stop()


# ---- helpers -----------------------------------------------------------------------------

def regions_by_id(fake):
    """{secret id: set of regions its requests were signed for}."""
    out = {}
    for r in fake.state.requests:
        for sid in r.get("secret_ids") or []:
            out.setdefault(sid, set()).add(r["region"])
    return out


def name_config(write_config, region=None):
    top = f"region: {region}\n        " if region else ""
    return write_config(f"""
        version: 1
        {top}env:
          U: {{ from: "{RDS}", key: username }}
        """)


def no_region_env(env):
    for k in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        env.pop(k, None)
    return env


def write_profiles(env):
    """AWS_CONFIG_FILE (in the temp HOME, not ~/.aws/config) with a [profile team] whose region
    is R_PROFILE; [default] and ~/.aws/config name other regions, so a wrong profile or file
    shows up. Sets AWS_PROFILE=team."""
    home = env["HOME"]
    os.makedirs(os.path.join(home, ".aws"), exist_ok=True)
    with open(os.path.join(home, ".aws", "config"), "w") as f:
        f.write(f"[default]\nregion = {R_HOME_CONFIG}\n[profile team]\nregion = {R_HOME_CONFIG}\n")
    path = os.path.join(home, "elsewhere", "aws-config")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(f"[default]\nregion = {R_PROFILE_DEFAULT}\n\n[profile team]\n"
                f"region = {R_PROFILE}\noutput = json\n")
    env["AWS_CONFIG_FILE"] = path
    env["AWS_PROFILE"] = "team"
    return env


def with_imds(env, imds_srv, region=R_IMDS):
    imds_srv.region = region
    env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = imds_srv.url
    env.pop("AWS_EC2_METADATA_DISABLED", None)
    return env


def imds_region_asked(imds_srv):
    return IMDS_REGION_PATH in [r["path"] for r in imds_srv.requests]


def other_ca(tmp_path):
    """A CA that did not sign the fake's certificate."""
    path = tmp_path / "other-ca.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(tmp_path / "other.key"),
                    "-out", str(path), "-subj", "/CN=unrelated test CA", "-days", "1"],
                   check=True, capture_output=True)
    return str(path)


# ---- 1. the region chain -----------------------------------------------------------------

# The chain, highest first. Case k sets up sources k..end (every lower source set and
# working), so the expected winner is source k: each case checks one "beats" rule.
CHAIN = ["cli", "config", "AWS_REGION", "AWS_DEFAULT_REGION", "profile", "imds"]
WINNER = {"cli": R_CLI, "config": R_CONFIG, "AWS_REGION": R_ENV,
          "AWS_DEFAULT_REGION": R_DEFAULT, "profile": R_PROFILE, "imds": R_IMDS}


@pytest.mark.parametrize("winner", CHAIN)
def test_region_chain_order(fake, base_env, imds, write_config, winner):
    fake.state.enforce_region = False  # the one fake stands in for every region
    env = no_region_env(dict(base_env))
    active = CHAIN[CHAIN.index(winner):]
    args = []
    if "cli" in active:
        args += ["--region", R_CLI]
    cfg = name_config(write_config, R_CONFIG if "config" in active else None)
    if "AWS_REGION" in active:
        env["AWS_REGION"] = R_ENV
    if "AWS_DEFAULT_REGION" in active:
        env["AWS_DEFAULT_REGION"] = R_DEFAULT
    if "profile" in active:
        write_profiles(env)
    with_imds(env, imds)  # always there: a chain that asks IMDS too early shows up
    res = run(args + ["-c", cfg, "--", "/bin/true"], env)
    assert res.rc == 0, res
    assert regions_by_id(fake) == {RDS: {WINNER[winner]}}, (fake.state.requests, res)
    assert all(r["status"] == 200 for r in fake.state.requests)
    # IMDS is asked for the region only when nothing above it named one.
    assert imds_region_asked(imds) == (winner == "imds"), imds.requests


def test_aws_default_region_alone(fake, base_env, write_config):
    fake.state.enforce_region = False
    env = no_region_env(dict(base_env))
    env["AWS_DEFAULT_REGION"] = R_DEFAULT
    res = run(["-c", name_config(write_config), "--", "/bin/true"], env)
    assert res.rc == 0, res
    assert regions_by_id(fake) == {RDS: {R_DEFAULT}}


def test_empty_aws_region_falls_through(fake, base_env, write_config):
    # An empty variable is unset, as in the SDKs: AWS_DEFAULT_REGION is next.
    fake.state.enforce_region = False
    env = no_region_env(dict(base_env))
    env.update(AWS_REGION="", AWS_DEFAULT_REGION=R_DEFAULT)
    res = run(["-c", name_config(write_config), "--", "/bin/true"], env)
    assert res.rc == 0, res
    assert regions_by_id(fake) == {RDS: {R_DEFAULT}}


def test_profile_region_alone(fake, base_env, write_config):
    # AWS_CONFIG_FILE beats ~/.aws/config; AWS_PROFILE's section beats [default].
    fake.state.enforce_region = False
    env = write_profiles(no_region_env(dict(base_env)))
    res = run(["-c", name_config(write_config), "--", "/bin/true"], env)
    assert res.rc == 0, res
    assert regions_by_id(fake) == {RDS: {R_PROFILE}}


def test_profile_region_beats_imds_placement(fake, base_env, imds, write_config):
    fake.state.enforce_region = False
    env = with_imds(no_region_env(dict(base_env)), imds)
    # Control: without the profile, the IMDS fake's placement region is used.
    res = run(["-c", name_config(write_config), "--", "/bin/true"], env)
    assert res.rc == 0, res
    assert regions_by_id(fake) == {RDS: {R_IMDS}}
    assert imds_region_asked(imds)
    before = len(fake.state.requests)
    imds.reset()
    imds.region = R_IMDS
    write_profiles(env)
    res = run(["-c", name_config(write_config), "--", "/bin/true"], env)
    assert res.rc == 0, res
    later = fake.state.requests[before:]
    assert later and {r["region"] for r in later} == {R_PROFILE}, later
    assert not imds_region_asked(imds), imds.requests


def test_arn_region_beats_whole_chain(fake, base_env, imds, write_config):
    fake.state.enforce_region = False
    env = write_profiles(with_imds(dict(base_env, AWS_REGION=R_ENV,
                                        AWS_DEFAULT_REGION=R_DEFAULT), imds))
    cfg = write_config(f"""
        version: 1
        region: {R_CONFIG}
        env:
          T: "{ARN['api']}:token"
          U: {{ from: "{RDS}", key: username }}
        """)
    res = run(["--region", R_CLI, "-c", cfg, "--", "/bin/true"], env)
    assert res.rc == 0, res
    assert regions_by_id(fake) == {ARN["api"]: {HOME_REGION}, RDS: {R_CLI}}
    assert not imds_region_asked(imds)


# ---- 2. endpoint variables ---------------------------------------------------------------

def _endpoint_env(base_env, sm_url, general_url):
    env = dict(base_env)
    env["AWS_ENDPOINT_URL_SECRETS_MANAGER"] = sm_url
    env["AWS_ENDPOINT_URL"] = general_url
    env["AWS_MAX_ATTEMPTS"] = "1"
    return env


def test_service_endpoint_beats_general_endpoint(fake, base_env, write_config):
    dead = f"127.0.0.1:{closed_port()}"
    env = _endpoint_env(base_env, fake.url, f"https://{dead}")
    res = run(["-c", name_config(write_config), "--", "/bin/true"], env)
    assert res.rc == 0, res
    assert regions_by_id(fake) == {RDS: {HOME_REGION}}
    assert dead not in res.err


def test_dead_service_endpoint_is_not_replaced_by_general(fake, base_env, write_config):
    dead = f"127.0.0.1:{closed_port()}"
    env = _endpoint_env(base_env, f"https://{dead}", fake.url)
    res = run(["-c", name_config(write_config), "--", "/bin/true"], env)
    assert res.rc == 69, res
    assert dead in res.err and "cannot connect" in res.err, res
    assert fake.state.requests == []


def test_empty_service_endpoint_falls_back_to_general(fake, base_env, write_config):
    env = _endpoint_env(base_env, "", fake.url)
    res = run(["-c", name_config(write_config), "--", "/bin/true"], env)
    assert res.rc == 0, res
    assert regions_by_id(fake) == {RDS: {HOME_REGION}}


# ---- 3. CA variables ---------------------------------------------------------------------

def _ca_env(base_env, **ca):
    env = dict(base_env)
    for k in ("AWS_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR"):
        env.pop(k, None)
    env.update(ca)
    env["AWS_MAX_ATTEMPTS"] = "1"
    return env


def test_ssl_cert_file_used_without_aws_ca_bundle(fake, base_env, write_config, tmp_path):
    env = _ca_env(base_env, SSL_CERT_FILE=fake.ca_file,
                  SSL_CERT_DIR=str(tmp_path / "no-such-dir"))  # SSL_CERT_FILE is first
    res = run(["-v", "-c", name_config(write_config), "--", "/bin/true"], env)
    assert res.rc == 0, res
    assert regions_by_id(fake) == {RDS: {HOME_REGION}}


def test_ssl_cert_file_with_unrelated_ca_is_a_tls_error(fake, base_env, write_config,
                                                         tmp_path):
    other = other_ca(tmp_path)
    env = _ca_env(base_env, SSL_CERT_FILE=other)
    res = run(["-c", name_config(write_config), "--", "/bin/true"], env)
    assert res.rc == 69, res
    assert "TLS failure" in res.err, res
    assert f"file {other} (SSL_CERT_FILE)" in res.err, res
    assert fake.state.requests == []


def test_aws_ca_bundle_beats_ssl_cert_file(fake, base_env, write_config, tmp_path):
    other = other_ca(tmp_path)
    env = _ca_env(base_env, AWS_CA_BUNDLE=fake.ca_file, SSL_CERT_FILE=other)
    res = run(["-c", name_config(write_config), "--", "/bin/true"], env)
    assert res.rc == 0, res
    # And the reverse: the bundle's CA is unrelated, SSL_CERT_FILE's would work.
    env = _ca_env(base_env, AWS_CA_BUNDLE=other, SSL_CERT_FILE=fake.ca_file)
    res = run(["-c", name_config(write_config), "--", "/bin/true"], env)
    assert res.rc == 69, res
    assert f"file {other} (AWS_CA_BUNDLE)" in res.err, res


def test_ssl_cert_dir_used_without_the_files(fake, base_env, write_config, tmp_path):
    d = tmp_path / "certs"
    d.mkdir()
    (d / "fake-ca.pem").write_bytes(open(fake.ca_file, "rb").read())
    subprocess.run(["openssl", "rehash", str(d)], check=True, capture_output=True)
    env = _ca_env(base_env, SSL_CERT_DIR=str(d))
    res = run(["-c", name_config(write_config), "--", "/bin/true"], env)
    assert res.rc == 0, res
    # SSL_CERT_FILE (unrelated) is used before the directory.
    env["SSL_CERT_FILE"] = other_ca(tmp_path)
    res = run(["-c", name_config(write_config), "--", "/bin/true"], env)
    assert res.rc == 69, res
    assert "(SSL_CERT_FILE)" in res.err, res


# ---- 4. HTTPS_PROXY and NO_PROXY ---------------------------------------------------------

@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_https_proxy_tunnels_to_the_endpoint(fake, base_env, write_config, proxy, host):
    # libcurl does not bypass the proxy for loopback names on its own: only NO_PROXY does.
    env = dict(base_env, HTTPS_PROXY=proxy.url,
               AWS_ENDPOINT_URL=f"https://{host}:{fake.port}")
    res = run(["-c", name_config(write_config), "--", "/bin/true"], env)
    assert res.rc == 0, res
    targets = proxy.targets()
    assert targets and set(targets) == {f"{host}:{fake.port}"}, proxy.seen
    assert all(m == "CONNECT" for m, _ in proxy.seen)
    assert [r["status"] for r in fake.state.requests] == [200]


@pytest.mark.parametrize("host,no_proxy", [
    ("127.0.0.1", "127.0.0.1"),
    ("localhost", "localhost"),
    ("localhost", "example.com,localhost"),
    ("127.0.0.1", "*"),
])
def test_no_proxy_bypasses_the_proxy(fake, base_env, write_config, proxy, host, no_proxy):
    env = dict(base_env, HTTPS_PROXY=proxy.url, NO_PROXY=no_proxy,
               AWS_ENDPOINT_URL=f"https://{host}:{fake.port}")
    res = run(["-c", name_config(write_config), "--", "/bin/true"], env)
    assert res.rc == 0, res
    assert proxy.seen == []
    assert [r["status"] for r in fake.state.requests] == [200]


def test_no_proxy_for_another_host_keeps_the_proxy(fake, base_env, write_config, proxy):
    env = dict(base_env, HTTPS_PROXY=proxy.url, NO_PROXY="example.com,10.0.0.1",
               AWS_ENDPOINT_URL=f"https://localhost:{fake.port}")
    res = run(["-c", name_config(write_config), "--", "/bin/true"], env)
    assert res.rc == 0, res
    assert set(proxy.targets()) == {f"localhost:{fake.port}"}


def _aws_host_env(base_env, proxy, region):
    """No endpoint override: the default AWS host for `region`, reached only via the proxy
    (which refuses it)."""
    env = dict(base_env, HTTPS_PROXY=proxy.url, AWS_REGION=region, AWS_MAX_ATTEMPTS="1")
    env.pop("AWS_ENDPOINT_URL", None)
    env.pop("AWS_DEFAULT_REGION", None)
    return env


@pytest.mark.parametrize("region,host", [
    ("eu-central-1", "secretsmanager.eu-central-1.amazonaws.com"),
    ("cn-north-1", "secretsmanager.cn-north-1.amazonaws.com.cn"),
    ("cn-northwest-1", "secretsmanager.cn-northwest-1.amazonaws.com.cn"),
    ("us-gov-west-1", "secretsmanager.us-gov-west-1.amazonaws.com"),
    ("us-iso-east-1", "secretsmanager.us-iso-east-1.c2s.ic.gov"),
    ("us-isob-east-1", "secretsmanager.us-isob-east-1.sc2s.sgov.gov"),
])
def test_default_endpoint_host_per_partition(fake, base_env, write_config, proxy, region, host):
    env = _aws_host_env(base_env, proxy, region)
    res = run(["-c", name_config(write_config), "--", "/bin/true"], env)
    assert res.rc != 0, res
    assert proxy.targets() == [f"{host}:443"], proxy.seen
    # A clear error naming the entry, the host and the proxy's refusal.
    assert f"env U: {RDS}" in res.err and f"{host}: " in res.err, res
    assert "CONNECT" in res.err and "502" in res.err, res
    assert "check HTTPS_PROXY and NO_PROXY" in res.err, res
    assert fake.state.requests == []


def test_arn_region_picks_the_default_host(fake, base_env, write_config, proxy):
    # A full ARN's region (and partition) decides the host, not AWS_REGION.
    arn = f"arn:aws-cn:secretsmanager:cn-north-1:{seed.ACCOUNT}:secret:app/cn-AbCdEf"
    env = _aws_host_env(base_env, proxy, "us-west-2")
    cfg = write_config(f"""
        version: 1
        env:
          C: "{arn}"
        """)
    res = run(["-c", cfg, "--", "/bin/true"], env)
    assert res.rc != 0, res
    assert proxy.targets() == ["secretsmanager.cn-north-1.amazonaws.com.cn:443"], proxy.seen


def test_ignore_configured_endpoint_urls(fake, base_env, write_config, proxy):
    # AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true: both endpoint variables are ignored and the
    # default host is used (seen at the proxy).
    env = _aws_host_env(base_env, proxy, "eu-west-3")
    env.update(AWS_ENDPOINT_URL=fake.url, AWS_ENDPOINT_URL_SECRETS_MANAGER=fake.url,
               AWS_IGNORE_CONFIGURED_ENDPOINT_URLS="true")
    res = run(["-c", name_config(write_config), "--", "/bin/true"], env)
    assert res.rc != 0, res
    assert proxy.targets() == ["secretsmanager.eu-west-3.amazonaws.com:443"], proxy.seen
    assert fake.state.requests == []


# ---- 5. the regional STS host for web identity -------------------------------------------

def _webid_env(base_env, tmp_path, proxy):
    env = dict(base_env, HTTPS_PROXY=proxy.url)
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
              "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS", "AWS_REGION", "AWS_DEFAULT_REGION"):
        env.pop(k, None)
    # Secrets Manager has its own variable (never reached: no credentials); STS has none.
    env["AWS_ENDPOINT_URL_SECRETS_MANAGER"] = base_env["AWS_ENDPOINT_URL"]
    tok = tmp_path / "webid-token"
    tok.write_text("eyJhbGciOiJSUzI1NiJ9.CANARY-webid-sts-host.sig\n")
    env.update(AWS_WEB_IDENTITY_TOKEN_FILE=str(tok), AWS_ROLE_ARN=WEBID_ROLE,
               AWS_ROLE_SESSION_NAME="env-precedence")
    return env


@pytest.mark.parametrize("region,host", [
    ("eu-west-3", "sts.eu-west-3.amazonaws.com"),
    ("cn-north-1", "sts.cn-north-1.amazonaws.com.cn"),
    ("us-gov-east-1", "sts.us-gov-east-1.amazonaws.com"),
])
def test_web_identity_uses_regional_sts_host(fake, base_env, write_config, tmp_path, proxy,
                                             region, host):
    env = _webid_env(base_env, tmp_path, proxy)
    env["AWS_REGION"] = region
    res = run(["-c", name_config(write_config), "--", "/bin/true"], env,
              leak_extra=["CANARY-webid-sts-host"])
    assert res.rc != 0, res
    targets = proxy.targets()
    assert targets and set(targets) == {f"{host}:443"}, proxy.seen
    assert "AssumeRoleWithWebIdentity" in res.err and f"{host}: " in res.err, res
    assert fake.state.requests == []


def test_web_identity_without_region_uses_global_sts_host(fake, base_env, write_config,
                                                           tmp_path, proxy):
    env = _webid_env(base_env, tmp_path, proxy)
    cfg = write_config(f"""
        version: 1
        env:
          T: "{ARN['api']}:token"
        """)
    res = run(["-c", cfg, "--", "/bin/true"], env, leak_extra=["CANARY-webid-sts-host"])
    assert res.rc != 0, res
    targets = proxy.targets()
    assert targets and set(targets) == {"sts.amazonaws.com:443"}, proxy.seen


# ---- 6. clock skew figure ----------------------------------------------------------------

@pytest.mark.parametrize("skew,direction", [(3600, "behind"), (-7200, "ahead of"),
                                            (5000, "behind")])
def test_clock_skew_error_shows_the_offset(fake, base_env, write_config, skew, direction):
    fake.state.clock_skew_seconds = skew
    res = run(["-c", name_config(write_config), "--", "/bin/true"], base_env)
    assert res.rc == 77, res
    m = re.search(r"the local clock is (\d+) s (behind|ahead of) the server's", res.err)
    assert m, res
    # The figure comes from the server's Date header (whole seconds) less the local clock:
    # within a minute of the skew (the run may be slow), whatever the run's own timing.
    assert abs(int(m.group(1)) - abs(skew)) <= 60, res
    assert m.group(2) == direction, res
    assert "NTP" in res.err
