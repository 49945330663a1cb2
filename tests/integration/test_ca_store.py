"""A CA bundle file (issue 18): indexed by subject, so a handshake decodes only the issuers its
chain needs (Amazon Linux's ca-bundle.crt, distroless's ca-certificates.crt, AWS_CA_BUNDLE).
It must trust exactly what the bundle says: a chain to a root in a system-sized bundle, a
private CA present only in the bundle, several certificates with one subject; a CA not in the
bundle is refused; a bundle the index does not take is loaded by OpenSSL as before."""
import os
import subprocess

import seed
from conftest import run

RDS = seed.RDS_NAME
SYSTEM = "/etc/ssl/certs/ca-certificates.crt"


def config(write_config):
    return write_config(f"""
        version: 1
        env:
          PGUSER: {{ from: "{RDS}", key: username }}
        """)


def pem(path):
    with open(path) as f:
        return f.read()


def system_roots():
    return pem(SYSTEM) if os.path.exists(SYSTEM) else ""


def amazon_style(text):
    """As Amazon Linux's bundle: a comment before each certificate, CRLF line ends."""
    out = []
    for i, block in enumerate(text.split("-----BEGIN CERTIFICATE-----")[1:]):
        out.append(f"# Root {i}\n\n-----BEGIN CERTIFICATE-----{block}")
    return "".join(out).replace("\n", "\r\n")


def use_bundle(base_env, tmp_path, text, name="bundle.pem"):
    path = tmp_path / name
    path.write_text(text)
    base_env["AWS_CA_BUNDLE"] = str(path)
    return path


def test_chain_to_a_root_in_a_system_sized_bundle(fake, base_env, write_config, probe,
                                                  tmp_path):
    """The endpoint's CA among the system's roots (as Amazon Root CA 1 sits in a system
    bundle): trusted, and the bundle is indexed, not parsed whole."""
    roots = system_roots()
    n = roots.count("BEGIN CERTIFICATE")
    half = roots.find("-----BEGIN CERTIFICATE-----", len(roots) // 2)
    text = roots[:half] + pem(fake.ca_file) + roots[half:] if roots else pem(fake.ca_file)
    use_bundle(base_env, tmp_path, amazon_style(text))
    res = run(["-vv", "-c", config(write_config), "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    assert probe.read()["env"]["PGUSER"] == "postgres"
    assert f"CA store: {n + 1} certificates indexed by subject" in res.err


def test_private_ca_only_in_the_bundle(fake, base_env, write_config, probe, tmp_path):
    """A private CA (a proxy's, a private endpoint's) that no system store has, alone in the
    bundle: trusted as the bundle says."""
    use_bundle(base_env, tmp_path, pem(fake.ca_file))
    res = run(["-vv", "-c", config(write_config), "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    assert "CA store: 1 certificates indexed by subject" in res.err


def test_ca_not_in_the_bundle_is_refused(fake, base_env, write_config, tmp_path):
    """The system's roots without the endpoint's CA: the chain has no trusted root."""
    other = tmp_path / "other-ca.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(tmp_path / "k"),
                    "-out", str(other), "-days", "2", "-subj", "/CN=some other CA"],
                   check=True, capture_output=True)
    use_bundle(base_env, tmp_path, system_roots() + pem(other))
    res = run(["-c", config(write_config), "--", "/bin/true"], base_env)
    assert res.rc == 69, res
    assert "TLS failure" in res.err and "AWS_CA_BUNDLE" in res.err
    assert "postgres" not in res.err


def test_two_certificates_with_one_subject(fake, base_env, write_config, probe, tmp_path):
    """A bundle may hold several certificates with one subject (a renewed or cross-signed
    root). One with the endpoint CA's subject but another key comes first: the index hands
    OpenSSL every certificate of that subject, and the right one verifies."""
    subj = subprocess.run(["openssl", "x509", "-noout", "-subject", "-nameopt", "compat",
                           "-in", fake.ca_file], check=True, capture_output=True,
                          text=True).stdout.strip()[len("subject="):]
    twin = tmp_path / "twin.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(tmp_path / "k"),
                    "-out", str(twin), "-days", "2", "-subj", subj,
                    "-addext", "basicConstraints=critical,CA:TRUE"],
                   check=True, capture_output=True)
    use_bundle(base_env, tmp_path, pem(twin) + pem(fake.ca_file))
    res = run(["-vv", "-c", config(write_config), "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    assert "CA store: 2 certificates indexed by subject" in res.err
    # The twin alone is not enough: same name, wrong key.
    use_bundle(base_env, tmp_path, pem(twin), name="twin-only.pem")
    res = run(["-c", config(write_config), "--", "/bin/true"], base_env)
    assert res.rc == 69, res


def test_bundle_the_index_does_not_take_is_loaded_whole(fake, base_env, write_config, probe,
                                                        tmp_path):
    """A TRUSTED CERTIFICATE block (OpenSSL's trust settings) is not for the index: OpenSSL
    loads the bundle itself, trusting what it trusted before."""
    body = pem(fake.ca_file).split("-----BEGIN CERTIFICATE-----")[1].split("-----END")[0]
    trusted = ("-----BEGIN TRUSTED CERTIFICATE-----" + body +
               "-----END TRUSTED CERTIFICATE-----\n")
    use_bundle(base_env, tmp_path, trusted + pem(fake.ca_file))
    res = run(["-vv", "-c", config(write_config), "--"] + probe(base_env), base_env)
    assert res.rc == 0, res
    assert "indexed by subject" not in res.err
