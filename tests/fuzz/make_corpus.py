#!/usr/bin/python3
"""Regenerates the fuzz seed corpora in tests/fuzz/corpus/<target>/ from the tests: string
literals of the unit tests (tests/unit/test_*.c), the bad-input matrix
(tests/bad_input/cases.py), the fake endpoint's seed secrets and answers (tests/fake), the
example config, plus a few hand-written inputs. Deterministic; files are named by the SHA-1 of
their content, as libFuzzer names what it finds. Run: /usr/bin/python3 tests/fuzz/make_corpus.py
"""
import base64
import hashlib
import importlib.util
import json
import os
import re
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "fake"))

import seed  # noqa: E402
import sm_server  # noqa: E402

MAX = 16384  # FUZZ_MAX_LEN in mk/fuzz.mk: longer seeds would only be cut


def c_literals(path):
    """The C string literals of a file, adjacent ones joined ("a" "b" -> "ab"), decoded."""
    try:
        src = open(path, encoding="utf-8", errors="replace").read()
    except OSError:
        return []
    src = re.sub(r"/\*.*?\*/", " ", src, flags=re.S)
    src = re.sub(r"^\s*#.*$", " ", src, flags=re.M)
    out, cur, pos = [], None, 0
    lit = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
    while True:
        m = lit.search(src, pos)
        if not m:
            break
        between = src[pos:m.start()]
        if cur is not None and between.strip() == "":
            cur += _unescape(m.group(1))
        else:
            if cur is not None:
                out.append(cur)
            cur = _unescape(m.group(1))
        pos = m.end()
    if cur is not None:
        out.append(cur)
    return out


def _unescape(s):
    b = bytearray()
    i = 0
    simple = {"n": 10, "t": 9, "r": 13, "\\": 92, '"': 34, "'": 39, "a": 7, "b": 8, "f": 12,
              "v": 11, "?": 63}
    raw = s.encode("utf-8")
    while i < len(raw):
        c = raw[i]
        if c != 92 or i + 1 >= len(raw):
            b.append(c)
            i += 1
            continue
        n = chr(raw[i + 1])
        if n in simple:
            b.append(simple[n])
            i += 2
        elif n == "x":
            j = i + 2
            while j < len(raw) and chr(raw[j]) in "0123456789abcdefABCDEF" and j < i + 4:
                j += 1
            b.append(int(raw[i + 2:j], 16) & 0xFF if j > i + 2 else 0)
            i = j
        elif n in "01234567":
            j = i + 1
            while j < len(raw) and chr(raw[j]) in "01234567" and j < i + 4:
                j += 1
            b.append(int(raw[i + 1:j], 8) & 0xFF)
            i = j
        else:
            b.append(raw[i + 1])
            i += 2
    return bytes(b)


def unit(name):
    return c_literals(os.path.join(ROOT, "tests", "unit", name))


def load_cases():
    spec = importlib.util.spec_from_file_location(
        "bad_input_cases", os.path.join(ROOT, "tests", "bad_input", "cases.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.CASES


PH = {"@RDS@": seed.RDS_NAME, "@API@": seed.SECRET_ARNS["api"], "@DIR@": "/run/secrets",
      "@DISK@": "/var/lib/app", "@RO@": "/ro", "@TINY@": "/tiny", "@WW@": "/tmp/ww",
      "@LINK@": "/run/link", "@TMP@": "/tmp", "@CMD@": "/bin/true"}


def sub(text):
    for k, v in PH.items():
        text = text.replace(k, v)
    return text


def config_seeds():
    out = []
    for c in load_cases():
        if c.raw is not None:
            out.append(c.raw)
        elif c.config is not None:
            out.append(sub(c.config).encode())
    for f in sorted(os.listdir(os.path.join(ROOT, "examples"))):
        if f.endswith((".yaml", ".yml")):
            out.append(open(os.path.join(ROOT, "examples", f), "rb").read())
    out += [s for s in unit("test_config.c") if b"version" in s or b"env" in s]
    out.append(b"version: 1\nregion: eu-central-1\nenv:\n"
               b"  A: { from: api, key: token, optional: true, overwrite: true }\n"
               b"  B: { from: app/nested, pointer: /db/primary/password,\n"
               b"       version_stage: AWSPREVIOUS }\n"
               b"  C: \"rds!db-1:password::a1b2c3d4-0002-4000-8000-000000000002\"\n"
               b"  D: { from: x, template: \"{{ .a | urlencode }}\", encoding: base64 }\n"
               b"files:\n  /run/secrets/a: { from: api, mode: \"0440\", allow_disk: true }\n")
    return out


def ref_seeds():
    out = [sub(r).encode() for r in (
        "api", "@API@", "@API@:token", "@API@:token:AWSPREVIOUS:", "@RDS@:password::",
        "rds!db-1:password:AWSCURRENT:a1b2c3d4-0002-4000-8000-000000000002",
        "arn:aws-cn:secretsmanager:cn-north-1:111122223333:secret:x-AbCdEf",
        "arn:aws-us-gov:secretsmanager:us-gov-west-1:111122223333:secret:x",
        "arn:aws-iso-b:secretsmanager:us-isob-east-1:111122223333:secret:x:k:s:v",
        "a:b:c:d", "::::", "arn:", "")]
    out += list(seed.SECRET_ARNS.values())
    out = [o.encode() if isinstance(o, str) else o for o in out]
    out += [s for s in unit("test_ref.c") if 0 < len(s) < 1024]
    return out


def jx_seeds():
    secrets = []
    for s in seed.SECRETS:
        for v in s["versions"]:
            if "string" in v:
                secrets.append(v["string"].encode())
    secrets += [s for s in unit("test_jx.c") if s[:1] in (b"{", b"[", b'"') or s[:1].isdigit()]
    selectors = [(0, b"password"), (0, b"DB_CONNECTION_STRING"), (1, b"/db/primary/password"),
                 (1, b"/a~1b"), (1, b"/m~0n"), (1, b"/list/2/x"), (1, b""), (2, b"")]
    out = []
    for i, js in enumerate(secrets):
        mode, sel = selectors[i % len(selectors)]
        out.append(bytes([mode]) + sel + b"\0" + js)
        out.append(bytes([(mode + 1) % 3]) + b"username\0" + js)
    return out


def sm_seeds():
    out = []
    for s in seed.SECRETS:
        for v in s["versions"]:
            body = {"ARN": seed.arn(s["name"], s["arn_suffix"]), "Name": s["name"],
                    "VersionId": v["version_id"], "VersionStages": v["stages"],
                    "CreatedDate": sm_server.Epoch(v["created"])}
            if "string" in v:
                body["SecretString"] = v["string"]
            else:
                body["SecretBinary"] = base64.b64encode(v["binary"]).decode()
            out.append(sm_server.encode_json(body))
            out.append(sm_server.encode_json(body, ascii_only=True, epoch_style="plain"))
    out += [b"{}", b"[]", b'{"SecretString": 5}', b'{"SecretBinary": "!!!!"}',
            b'{"SecretBinary": "QQ=="}', b'{"SecretString": "a\\u0000b"}',
            b"<html><body>502 Bad Gateway</body></html>",
            b'{"ARN":"arn:x","Name":"x","SecretString":"ab']
    return [o if isinstance(o, bytes) else o.encode() for o in out]


def sm_batch_seeds():
    """BatchGetSecretValue answers for the ids fuzz_sm_batch_parse.c asks for."""
    vals = [json.loads(b) for b in sm_seeds()[:12] if b.startswith(b"{\"ARN")]
    errs = [{"SecretId": "does/not/exist", "ErrorCode": "ResourceNotFoundException",
             "Message": sm_server.MSG_NOT_FOUND},
            {"SecretId": "bin/blob", "ErrorCode": "AccessDeniedException",
             "Message": "User: x is not authorized to perform: secretsmanager:GetSecretValue"}]
    out = [sm_server.encode_json({"SecretValues": vals, "Errors": errs}),
           sm_server.encode_json({"SecretValues": vals[:2], "Errors": []}, ascii_only=True),
           sm_server.encode_json({"SecretValues": [], "Errors": errs}),
           b'{"SecretValues":[{"ARN":"a","Name":"bin/blob","SecretString":"x\\u0000"}]}',
           b'{"SecretValues":[{"Name":"SecretString","SecretString" : "a\u0000b"}]}',
           b'{"SecretValues":{},"Errors":[]}', b"{}", b"[]",
           b'{"SecretValues":[{"ARN":"x","SecretString":"a","SecretString":"b"}]}']
    return out


def ssm_seeds():
    """GetParameters answers for the parameters fuzz_ssm_parse.c asks for."""
    arn = "arn:aws:ssm:eu-central-1:111122223333:parameter"
    shared = "arn:aws:ssm:eu-central-1:444455556666:parameter/shared/db/password"
    p = [{"Name": "/prod/db/password", "Type": "SecureString", "Value": "S3cr3t!",
          "Version": 3, "ARN": arn + "/prod/db/password", "DataType": "text"},
         {"Name": "/prod/db/password", "Type": "SecureString", "Value": "v1", "Version": 1,
          "Selector": ":1", "ARN": arn + "/prod/db/password"},
         {"Name": "/prod/db/password", "Type": "SecureString", "Value": "S3cr3t!", "Version": 3,
          "Selector": ":live", "ARN": arn + "/prod/db/password"},
         {"Name": shared, "Type": "SecureString", "Value": "shared", "Version": 1, "ARN": shared},
         {"Name": "flat", "Type": "StringList", "Value": "a,b,c", "Version": 1,
          "ARN": arn + "/flat"}]
    out = [sm_server.encode_json({"Parameters": p, "InvalidParameters": ["/nope/missing"]}),
           sm_server.encode_json({"Parameters": p[:2], "InvalidParameters": []},
                                 ascii_only=True),
           sm_server.encode_json({"Parameters": [], "InvalidParameters": ["/nope/missing",
                                                                          "flat"]}),
           b'{"Parameters":[{"Name":"flat","Value":"x\\u0000y","Version":1}]}',
           b'{"Parameters":[{"Name":"flat","Value":"a","Value":"b"}]}',
           b'{"Parameters":[{"Name":"Value","Value" : "a\u0000b","Version":1.5}]}',
           b'{"Parameters":{},"InvalidParameters":[]}', b"{}", b"[]",
           b'{"Parameters":[{"Name":"flat","Value":"x","Version":-1}]}']
    return out


def sm_filter_seeds():
    """Filtered BatchGetSecretValue pages for fuzz_sm_filter_parse.c (prefix prod/app/)."""
    arn = "arn:aws:secretsmanager:eu-central-1:111122223333:secret:"
    v = [{"ARN": arn + "prod/app/db-Ab12Cd", "Name": "prod/app/db", "VersionId": "v1" * 16,
          "SecretString": '{"user":"u"}', "VersionStages": ["AWSCURRENT"]},
         {"ARN": arn + "prod/app/bin-Xy34Zz", "Name": "prod/app/bin", "VersionId": "v2" * 16,
          "SecretBinary": "aGk=", "VersionStages": ["AWSCURRENT"]}]
    return [sm_server.encode_json({"SecretValues": v, "Errors": [], "NextToken": "20"}),
            sm_server.encode_json({"SecretValues": v[:1], "Errors": []}, ascii_only=True),
            sm_server.encode_json({"SecretValues": [], "Errors": [
                {"SecretId": "prod/app/x", "ErrorCode": "AccessDeniedException",
                 "Message": "denied"}]}),
            b'{"SecretValues":[{"ARN":"a","Name":"other/x","VersionId":"v","SecretString":"s"}]}',
            b'{"SecretValues":[{"ARN":"a","Name":"prod/app/x","VersionId":"v",'
            b'"SecretString":"a\u0000b"}]}',
            b'{"SecretValues":[],"NextToken":""}', b"{}", b"[]"]


def sm_list_seeds():
    """ListSecrets pages for fuzz_sm_list_parse.c (tags team=api, env=prod; prefix prod/app/)."""
    arn = "arn:aws:secretsmanager:eu-central-1:111122223333:secret:"

    def item(name, tags):
        out = {"ARN": arn + name + "-Ab12Cd", "Name": name, "LastChangedDate": 1.7e9}
        if tags:
            out["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
        return out

    lst = [item("prod/app/db", {"team": "api", "env": "prod", "x": "y"}),
           item("prod/app/apiary", {"team": "apiary", "env": "prod"}),
           item("prod/app/split", {"team": "web", "owner": "api", "env": "prod"}),
           item("prod/app/none", None)]
    return [sm_server.encode_json({"SecretList": lst, "NextToken": "100"}),
            sm_server.encode_json({"SecretList": lst[:2]}, ascii_only=True),
            sm_server.encode_json({"SecretList": [item("other/x", {"team": "api",
                                                                   "env": "prod"})]}),
            sm_server.encode_json({"SecretList": [item("prod/app/", {"team": "api",
                                                                     "env": "prod"})]}),
            b'{"SecretList":[{"Name":"prod/app/a","ARN":"a","Tags":{"team":"api"}}]}',
            b'{"SecretList":[],"NextToken":""}', b"{}", b"[]"]


INI = [
    b"[default]\naws_access_key_id = AKIAINJECTORTEST0001\naws_secret_access_key = abc/def+ghi\n",
    b"[default]\r\naws_access_key_id=AKIA\r\naws_secret_access_key=x\r\naws_session_token=t\r\n",
    b"\xef\xbb\xbf# comment\n; other\n[dev]\naws_access_key_id: AKIA\naws_secret_access_key: x\n",
    b"[profile dev]\nrole_arn = arn:aws:iam::111122223333:role/r\nsource_profile = default\n"
    b"region = eu-central-1\n[default]\nregion=us-east-1\ns3 =\n  max_concurrent_requests = 10\n",
    b"[profile web]\nweb_identity_token_file = /var/run/token\nrole_arn = arn:aws:iam::1:role/r\n",
    b"[profile proc]\ncredential_process = /usr/bin/get-creds --profile \"a b\" 'c'\n",
    b"[default\naws_access_key_id = x\n", b"[default]\n[default]\n", b"key = value\n",
    b"[sso-session s]\nsso_start_url = https://x\n[profile p]\nsso_session = s\n",
]


def ini_seeds():
    out = []
    for i, t in enumerate(INI):
        out.append(bytes([i & 1]) + t)
    out += [bytes([0]) + s for s in unit("test_creds.c") if b"[" in s and b"=" in s]
    cmds = [b"/usr/bin/get-creds --profile \"a b\" 'c d' e\\ f", b"a", b"  ", b"'", b"\"x\\\"y\"",
            b"x\\", b"'' \"\" a"]
    out += [bytes([2]) + c for c in cmds]
    return out


def creds_json_seeds():
    docs = [
        (0, {"Version": 1, "AccessKeyId": "AKIA", "SecretAccessKey": "x", "SessionToken": "t",
             "Expiration": "2030-01-01T00:00:00Z"}),
        (0, {"Version": 1, "AccessKeyId": "AKIA", "SecretAccessKey": "x"}),
        (1, {"AccessKeyId": "ASIA", "SecretAccessKey": "x", "Token": "t",
             "Expiration": "2030-01-01T00:00:00.000+01:00"}),
        (2, {"Code": "Success", "LastUpdated": "2024-01-01T00:00:00Z", "Type": "AWS-HMAC",
             "AccessKeyId": "ASIA", "SecretAccessKey": "x", "Token": "t",
             "Expiration": "2030-01-01T00:00:00Z"}),
        (2, {"Code": "Failure", "Message": "no role"}),
        (0, {"Version": 2}),
    ]
    out = [bytes([k]) + json.dumps(d).encode() for k, d in docs]
    out += [bytes([1]) + s for s in unit("test_creds.c") if s[:1] == b"{"]
    return out


XML = [
    b"<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
    b"<AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>ASIA</AccessKeyId>"
    b"<SecretAccessKey>s&amp;k&#47;&#x2B;</SecretAccessKey><SessionToken>tok</SessionToken>"
    b"<Expiration>2030-01-01T00:00:00Z</Expiration></Credentials>"
    b"</AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>",
    b"<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>"
    b"<Message>Not authorized &lt;x&gt;</Message></Error><RequestId>1</RequestId></ErrorResponse>",
    b"<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"b\">]><Code>&a;</Code>",
    b"<Code><![CDATA[x]]></Code>", b"<Code/>", b"<Code>a<b/>c</Code>", b"<Code>",
]


def xml_seeds():
    return XML + [s for s in unit("test_xml.c") if b"<" in s]


def tmpl_seeds():
    out = [b"postgresql://{{ .username | urlencode }}:{{ .password | urlencode }}@{{ .host }}/db",
           b"{{ secret \"api\" .token }}", b"{{ . }}", b"{{ .port | json }}", b"{{", b"}}",
           b"{{ .a | base64 }}"]
    out += [s for s in unit("test_tmpl.c") if b"{{" in s or b"}}" in s]
    # A template, NUL, then the secret it renders against (fuzz_tmpl_parse.c).
    secrets = [s for s in unit("test_tmpl.c") if s[:1] in (b"{", b"[")][:20]
    secrets += [b'{"db":{"u":"x","u":"y"}}', b'{"l":[{"x":1},{"x":2,"x":3}]}', b"plain"]
    temps = [b"{{ .password | urlencode }}", b"{{ .db.u }}", b"{{ .l.1.x | json }}",
             b"{{ .nested.list.1 | json }}", b'{{ .nope | default "d" }}',
             b'{{ secret "api" .token }}', b"{{ .id }}:{{ .huge }}"]
    for i, js in enumerate(secrets):
        out.append(temps[i % len(temps)] + b"\0" + js)
    return out


def sm_error_seeds():
    """Error answers for fuzz_sm_error.c: 2 bytes of status, the x-amzn-ErrorType line, the
    body."""
    def st(n):
        return bytes([n >> 8, n & 0xff])
    # status = 100 + value % 500: these give 400, 403, 401, 429, 502, 503.
    out = [st(300) + b"\n" + b'{"__type":"AccessDeniedException","message":"no"}',
           st(300) + b"\n" + b'{"__type":"com.amazonaws.secretsmanager#DecryptionFailure'
                             b':http://x","Message":"k"}',
           st(300) + b"AccessDeniedException:http://internal/\n",
           st(303) + b"\n" + XML[1],
           st(303) + b"\n<html><h1>403 Forbidden</h1></html>", st(303) + b"\n", st(301) + b"\n",
           st(329) + b"\n<html>Too Many Requests</html>", st(402) + b"\n<html>502</html>",
           st(403) + b"\n"]
    return out + [st(300) + b"\n" + s for s in unit("test_awserr.c")
                  if s.startswith(b"{") or s.startswith(b"<")]


def convert_seeds():
    """`injector convert` inputs ('C' first: --container app, else none): the test inputs,
    the manifests (JSON task definitions, buildspecs) and small hand-written shapes."""
    out = []
    for d in (os.path.join(ROOT, "tests", "convert"), os.path.join(ROOT, "manifests")):
        for name in sorted(os.listdir(d)):
            if name.endswith((".json", ".yml")):
                with open(os.path.join(d, name), "rb") as f:
                    text = f.read()
                out += [b"-" + text, b"C" + text]
    out += [b'-{"containerDefinitions":[{"name":"app","secrets":[{"name":"A","valueFrom":"x"}]}]}',
            b"-env:\n  parameter-store:\n    A: /a\n  secrets-manager:\n    B: s:k\n",
            b'-{"taskDefinition":{"containerDefinitions":[]}}']
    return out


def redact_seeds():
    """fuzz_redact.c: a byte (output size, where the known secret goes), then server text: the
    unit test's literals, the matrix's echoes, JSON- and URL-escaped tokens."""
    texts = [t for t in unit("test_redact.c") if len(t) > 4]
    texts += [b'{"message":"The security token IQoJ\\/abc\\u002bdef\\u003D is invalid"}',
              b"Token=IQo%2Bshort%3D&X-Amz-Signature=0123abcd",
              b'{"m":"{\\"SessionToken\\":\\"a\\/b\\"}"}',
              b"Authorization: AWS4-HMAC-SHA256 Credential=ASIAX/1/r/s/aws4_request, "
              b"SignedHeaders=host, Signature=00ff"]
    return [bytes([k * 37 % 256]) + t for k, t in enumerate(texts)]


TARGETS = {
    "config_parse": config_seeds, "ref_parse": ref_seeds, "jx_extract": jx_seeds,
    "sm_parse": sm_seeds, "creds_ini": ini_seeds, "creds_json": creds_json_seeds,
    "xml_text": xml_seeds, "tmpl_parse": tmpl_seeds, "sm_batch_parse": sm_batch_seeds,
    "sm_error": sm_error_seeds, "ssm_parse": ssm_seeds, "convert": convert_seeds,
    "redact": redact_seeds, "sm_filter_parse": sm_filter_seeds, "sm_list_parse": sm_list_seeds,
}


def main():
    for target, gen in TARGETS.items():
        d = os.path.join(HERE, "corpus", target)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        n = 0
        for data in gen():
            if len(data) > MAX:
                continue
            name = hashlib.sha1(data).hexdigest()
            path = os.path.join(d, name)
            if not os.path.exists(path):
                with open(path, "wb") as f:
                    f.write(data)
                n += 1
        print(f"{target}: {n} seeds")


if __name__ == "__main__":
    main()
