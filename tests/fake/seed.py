"""Seed data for the fake Secrets Manager (tests/fake/sm_server.py).

Plain data only, so the server can rebuild its state from it on every reset and
tests can import the same constants to know what to expect.

Every sensitive value carries a canary ("CANARY-<8 hex>", unique per value) so a
test can grep any output (logs, stderr, core files, /proc, ...) for leaks; the
canaries are derived from fixed labels so they are stable across runs.
ALL_SECRET_VALUES lists every string that must never show up in output.
"""

import base64
import hashlib
import json

REGION = "eu-central-1"
ACCOUNT = "111122223333"
ARN_PREFIX = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:"
# The identity AccessDenied messages name (what an ECS task role looks like).
PRINCIPAL_ARN = f"arn:aws:sts::{ACCOUNT}:assumed-role/app-task-role/abc"
KMS_KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/5e1f3a2b-7c4d-4e8f-9a0b-1c2d3e4f5a6b"


def canary(label):
    """Stable unique canary for a label."""
    return "CANARY-" + hashlib.sha256(("injector-fake/" + label).encode()).hexdigest()[:8].upper()


def arn(name, suffix):
    return f"{ARN_PREFIX}{name}-{suffix}"


def _j(obj):
    # Secrets stored by the console or the SDKs are compact-ish JSON text; non-ASCII
    # stays raw UTF-8 inside the secret text.
    return json.dumps(obj, ensure_ascii=False)


# Fixed times (epoch seconds) so responses are deterministic.
T_CREATED = 1700000000.123
T_ROTATED = 1717000000.456
T_CHANGED = 1718000000.789

C_MOMENTUM = canary("momentum")
C_RDS_CURRENT = canary("rds-current")
C_RDS_PREVIOUS = canary("rds-previous")
C_PGMASTER = canary("pgmaster")
C_API = canary("api")
C_NESTED_DB = canary("nested-db")
C_NESTED_AB = canary("nested-ab")
C_NESTED_MN = canary("nested-mn")
C_NESTED_LIST = canary("nested-list")
C_BLOB = canary("blob")
C_PLAIN = canary("plain")
C_PG_E2E = canary("pg-e2e")

MOMENTUM_DB_URL = ("jdbc:postgresql://fcj-db.example.eu-central-1.rds.amazonaws.com:5432/"
                   f"FCJMomentum?user=postgres&password={C_MOMENTUM}")
RDS_PASSWORD = f"Rds{C_RDS_CURRENT}x9"
RDS_PASSWORD_PREVIOUS = f"Old{C_RDS_PREVIOUS}q1"
PGMASTER_PASSWORD = f"Mu{C_PGMASTER}z"
API_TOKEN = f"tok_{C_API}"
# Characters that break naive URL/shell/env handling, plus a non-ASCII one.
PG_E2E_PASSWORD = f"p@ss:w/rd?#%&+=ü-{C_PG_E2E}"
PLAIN_TEXT = f"plain secret text {C_PLAIN}"
BLOB = b"\x00\x01\x02BIN\xff\xfe" + C_BLOB.encode() + b"\x00tail\x80"

RDS_NAME = "rds!db-8fcc3794-ab80-4353-86fb-641f99a65793"

# Each secret: name, arn_suffix, versions (first one listed is created first), plus
# DescribeSecret metadata. A version holds exactly one of "string" / "binary".
SECRETS = [
    {
        "name": "dev/fcj/momentum",
        "arn_suffix": "Ab12Cd",
        "description": "FCJ Momentum database connection",
        "versions": [
            {"version_id": "a1b2c3d4-0001-4000-8000-000000000001", "stages": ["AWSCURRENT"],
             "created": T_CREATED,
             "string": _j({"DB_CONNECTION_STRING": MOMENTUM_DB_URL})},
        ],
    },
    {
        # RDS-managed master user secret: owned by RDS, rotated, customer KMS key.
        "name": RDS_NAME,
        "arn_suffix": "Qw3rTy",
        "description": "Secret associated with primary RDS DB instance: "
                       "arn:aws:rds:eu-central-1:111122223333:db:fcj-db",
        "owning_service": "rds",
        "kms_key_id": KMS_KEY_ARN,
        "rotation_enabled": True,
        "rotation_rules": {"AutomaticallyAfterDays": 7},
        "last_rotated": T_ROTATED,
        "versions": [
            {"version_id": "a1b2c3d4-0002-4000-8000-000000000001", "stages": ["AWSPREVIOUS"],
             "created": T_CREATED,
             "string": _j({"username": "postgres", "password": RDS_PASSWORD_PREVIOUS})},
            {"version_id": "a1b2c3d4-0002-4000-8000-000000000002", "stages": ["AWSCURRENT"],
             "created": T_ROTATED,
             "string": _j({"username": "postgres", "password": RDS_PASSWORD})},
        ],
    },
    {
        # What the console's "Credentials for Amazon RDS database" produces: port is a number.
        "name": "secretPostgresqlMasterUser",
        "arn_suffix": "Mn4Op5",
        "description": "Credentials for RDS database",
        "versions": [
            {"version_id": "a1b2c3d4-0003-4000-8000-000000000001", "stages": ["AWSCURRENT"],
             "created": T_CREATED,
             "string": _j({"username": "masteruser", "password": PGMASTER_PASSWORD,
                           "engine": "postgres", "host": "127.0.0.1", "port": 5432,
                           "dbname": "postgres", "dbInstanceIdentifier": "rdspg-fcj-labs"})},
        ],
    },
    {
        "name": "api",
        "arn_suffix": "Xy12Zz",
        "versions": [
            {"version_id": "a1b2c3d4-0004-4000-8000-000000000001", "stages": ["AWSCURRENT"],
             "created": T_CREATED, "string": _j({"token": API_TOKEN})},
        ],
    },
    {
        # Nested objects, keys with '/' and '~' (JSON-pointer escapes), arrays, non-strings.
        "name": "app/nested",
        "arn_suffix": "Nst3dQ",
        "versions": [
            {"version_id": "a1b2c3d4-0005-4000-8000-000000000001", "stages": ["AWSCURRENT"],
             "created": T_CREATED,
             "string": _j({"db": {"primary": {"password": f"pw-{C_NESTED_DB}"}},
                           "a/b": f"ab-{C_NESTED_AB}",
                           "m~n": f"mn-{C_NESTED_MN}",
                           "list": [1, 2, {"x": f"x-{C_NESTED_LIST}"}],
                           "flag": True, "count": 42, "nothing": None})},
        ],
    },
    {
        "name": "bin/blob",
        "arn_suffix": "B1nB1n",
        "versions": [
            {"version_id": "a1b2c3d4-0006-4000-8000-000000000001", "stages": ["AWSCURRENT"],
             "created": T_CREATED, "binary": BLOB},
        ],
    },
    {
        "name": "plain/text",
        "arn_suffix": "Pl4inT",
        "versions": [
            {"version_id": "a1b2c3d4-0007-4000-8000-000000000001", "stages": ["AWSCURRENT"],
             "created": T_CREATED, "string": PLAIN_TEXT},
        ],
    },
    {
        # Tests create a PostgreSQL role with these credentials.
        "name": "pg/e2e",
        "arn_suffix": "E2eP9x",
        "versions": [
            {"version_id": "a1b2c3d4-0008-4000-8000-000000000001", "stages": ["AWSCURRENT"],
             "created": T_CREATED,
             "string": _j({"username": "injector_e2e", "password": PG_E2E_PASSWORD})},
        ],
    },
]

SECRET_NAMES = [s["name"] for s in SECRETS]
SECRET_ARNS = {s["name"]: arn(s["name"], s["arn_suffix"]) for s in SECRETS}

# ---------------------------------------------------------------------------
# SSM Parameter Store (the AmazonSSM part of sm_server.py)
# ---------------------------------------------------------------------------

SSM_ARN_PREFIX = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter"
# The AWS managed key SecureStrings use unless told otherwise (no kms:Decrypt grant needed).
SSM_DEFAULT_KEY = "alias/aws/ssm"
# A customer managed key: reading a SecureString under it needs kms:Decrypt on it.
SSM_CMK_ARN = KMS_KEY_ARN
# Another account that shares a parameter with this one (reachable by full ARN only).
SHARED_ACCOUNT = "444455556666"


def ssm_arn(name, account=ACCOUNT, region=REGION):
    """A parameter's ARN: "/a/b" -> ...:parameter/a/b, "flat" -> ...:parameter/flat."""
    return f"arn:aws:ssm:{region}:{account}:parameter" + ("" if name.startswith("/") else "/") + name


T_P1 = 1701000000.5
T_P2 = 1702000000.25
T_P3 = 1703000000.125

C_P_DB_V1 = canary("ssm-db-v1")
C_P_DB_V2 = canary("ssm-db-v2")
C_P_DB_V3 = canary("ssm-db-v3")
C_P_HOST = canary("ssm-host")
C_P_HOSTS = canary("ssm-hosts")
C_P_CONFIG = canary("ssm-config")
C_P_DEEP = canary("ssm-deep")
C_P_CMK = canary("ssm-cmk")
C_P_FLAT = canary("ssm-flat")
C_P_BIG = canary("ssm-big")
C_P_SHARED = canary("ssm-shared")

P_DB_PASSWORD_V1 = f"v1-{C_P_DB_V1}"
P_DB_PASSWORD_V2 = f"v2-{C_P_DB_V2}"
P_DB_PASSWORD = f"S3cr3t!{C_P_DB_V3}"            # version 3, the current one
P_DB_HOST = f"db-{C_P_HOST}.prod.internal"
P_APP_HOSTS = f"a-{C_P_HOSTS}.example,b.example,c.example"   # StringList: comma separated
P_APP_CONFIG = _j({"user": "app", "password": f"pw-{C_P_CONFIG}", "port": 5432})
P_DEEP_TOKEN = f"deep-{C_P_DEEP}"
P_CMK_KEY = f"cmk-{C_P_CMK}"
P_FLAT = f"flat-{C_P_FLAT}"
# Advanced tier: exactly 8 KiB, the largest value SSM stores.
P_BIG = (f"big-{C_P_BIG}-" + "0123456789abcdef" * 512)[:8192]
P_SHARED = f"shared-{C_P_SHARED}"

# Each parameter: name, type, versions (1, 2, ... in order; "labels" per version), plus
# key_id (SecureString), tier, data_type, account (default ACCOUNT: this one).
PARAMETERS = [
    {"name": "/prod/db/password", "type": "SecureString",
     "versions": [{"value": P_DB_PASSWORD_V1, "labels": ["old"], "created": T_P1},
                  {"value": P_DB_PASSWORD_V2, "labels": [], "created": T_P2},
                  {"value": P_DB_PASSWORD, "labels": ["live", "Prod-2024.1"], "created": T_P3}]},
    {"name": "/prod/db/host", "type": "String",
     "versions": [{"value": P_DB_HOST, "labels": [], "created": T_P1}]},
    {"name": "/prod/app/hosts", "type": "StringList",
     "versions": [{"value": P_APP_HOSTS, "labels": [], "created": T_P1}]},
    {"name": "/prod/app/config", "type": "SecureString",
     "versions": [{"value": P_APP_CONFIG, "labels": [], "created": T_P2}]},
    {"name": "/prod/app/nested/deep/token", "type": "String",
     "versions": [{"value": P_DEEP_TOKEN, "labels": [], "created": T_P1}]},
    {"name": "/prod/cmk/api-key", "type": "SecureString", "key_id": SSM_CMK_ARN,
     "versions": [{"value": P_CMK_KEY, "labels": [], "created": T_P1}]},
    {"name": "flat", "type": "String",
     "versions": [{"value": P_FLAT, "labels": [], "created": T_P1}]},
    {"name": "/big/advanced", "type": "SecureString", "tier": "Advanced",
     "versions": [{"value": P_BIG, "labels": [], "created": T_P1}]},
    {"name": "/shared/db/password", "type": "SecureString", "account": SHARED_ACCOUNT,
     "versions": [{"value": P_SHARED, "labels": [], "created": T_P1}]},
]
PARAMETER_NAMES = [p["name"] for p in PARAMETERS if p.get("account", ACCOUNT) == ACCOUNT]
PARAMETER_ARNS = {p["name"]: ssm_arn(p["name"], p.get("account", ACCOUNT)) for p in PARAMETERS}


def _secret_key(label):
    # 40 characters like a real secret access key, canary inside.
    c = canary(label)
    return (c + "/K7MDENG+bPxRfiCYEXAMPLEKEYwJalrXUtnFEMI")[:40]


def _session_token(label):
    return "IQoJb3JpZ2luX2VjEFAKE" + canary(label) + "//////////wEaDGV1LWNlbnRyYWwtMSJHMEUCIQD" + "A" * 40


# name -> credential. "denied_actions": actions refused outright; "denied": (action,
# secret name or ARN) pairs refused (GetSecretValue pairs also apply to batch entries).
CREDENTIALS = {
    "default": {
        "access_key_id": "AKIAINJECTORTEST0001",
        "secret_access_key": _secret_key("key-default"),
        "session_token": None,
        "expired": False,
        "principal": PRINCIPAL_ARN,
        "denied_actions": [],
        "denied": [],
    },
    "temporary": {
        "access_key_id": "ASIAINJECTORTEST0002",
        "secret_access_key": _secret_key("key-temp"),
        "session_token": _session_token("token-temp"),
        "expired": False,
        "principal": PRINCIPAL_ARN,
        "denied_actions": [],
        "denied": [],
    },
    "expired": {
        "access_key_id": "ASIAINJECTORTEST0003",
        "secret_access_key": _secret_key("key-expired"),
        "session_token": _session_token("token-expired"),
        "expired": True,
        "principal": PRINCIPAL_ARN,
        "denied_actions": [],
        "denied": [],
    },
    "restricted": {
        "access_key_id": "AKIAINJECTORTEST0004",
        "secret_access_key": _secret_key("key-restricted"),
        "session_token": None,
        "expired": False,
        "principal": PRINCIPAL_ARN,
        "denied_actions": [],
        "denied": [("GetSecretValue", SECRET_ARNS["api"])],
    },
    "nobatch": {
        "access_key_id": "AKIAINJECTORTEST0005",
        "secret_access_key": _secret_key("key-nobatch"),
        "session_token": None,
        "expired": False,
        "principal": PRINCIPAL_ARN,
        "denied_actions": ["BatchGetSecretValue"],
        "denied": [],
    },
    # SSM: may call the SSM actions but not decrypt under the customer managed key.
    "nokms": {
        "access_key_id": "AKIAINJECTORTEST0006",
        "secret_access_key": _secret_key("key-nokms"),
        "session_token": None,
        "expired": False,
        "principal": PRINCIPAL_ARN,
        "denied_actions": [],
        "denied": [("kms:Decrypt", SSM_CMK_ARN)],
    },
    # SSM: no ssm:GetParameters on /prod/db/password (every other parameter is fine).
    "nossm": {
        "access_key_id": "AKIAINJECTORTEST0007",
        "secret_access_key": _secret_key("key-nossm"),
        "session_token": None,
        "expired": False,
        "principal": PRINCIPAL_ARN,
        "denied_actions": [],
        "denied": [("ssm:GetParameters", ssm_arn("/prod/db/password")),
                   ("ssm:GetParameter", ssm_arn("/prod/db/password"))],
    },
}
DEFAULT_CREDENTIAL = "default"


def _all_secret_values():
    vals = [
        MOMENTUM_DB_URL, RDS_PASSWORD, RDS_PASSWORD_PREVIOUS, PGMASTER_PASSWORD, API_TOKEN,
        PG_E2E_PASSWORD, PLAIN_TEXT, base64.b64encode(BLOB).decode(),
        f"pw-{C_NESTED_DB}", f"ab-{C_NESTED_AB}", f"mn-{C_NESTED_MN}", f"x-{C_NESTED_LIST}",
    ]
    vals += [canary(l) for l in ("momentum", "rds-current", "rds-previous", "pgmaster", "api",
                                 "nested-db", "nested-ab", "nested-mn", "nested-list", "blob",
                                 "plain", "pg-e2e")]
    vals += [P_DB_PASSWORD_V1, P_DB_PASSWORD_V2, P_DB_PASSWORD, P_DB_HOST, P_APP_HOSTS,
             P_APP_CONFIG, f"pw-{C_P_CONFIG}", P_DEEP_TOKEN, P_CMK_KEY, P_FLAT, P_BIG, P_SHARED]
    vals += [canary(l) for l in ("ssm-db-v1", "ssm-db-v2", "ssm-db-v3", "ssm-host", "ssm-hosts",
                                 "ssm-config", "ssm-deep", "ssm-cmk", "ssm-flat", "ssm-big",
                                 "ssm-shared")]
    # Canaries inside credentials too: a truncated key or token in a log still shows.
    vals += [canary(l) for l in ("key-default", "key-temp", "token-temp", "key-expired",
                                 "token-expired", "key-restricted", "key-nobatch", "key-nokms",
                                 "key-nossm")]
    for s in SECRETS:
        for v in s["versions"]:
            if "string" in v:
                vals.append(v["string"])
    for c in CREDENTIALS.values():
        vals.append(c["secret_access_key"])
        if c["session_token"]:
            vals.append(c["session_token"])
    out = []
    for v in vals:
        if v not in out:
            out.append(v)
    return out


# Every sensitive string: secret values (whole and their parts), canaries, secret
# access keys and session tokens. A leak check is `assert v not in output` for each.
ALL_SECRET_VALUES = _all_secret_values()
# Just the canaries, of secret values and of credentials (short, handy for grep -F).
CANARIES = [v for v in ALL_SECRET_VALUES if v.startswith("CANARY-")]
# Byte form, for checking binary outputs (core dumps, memory) too.
ALL_SECRET_BYTES = [v.encode() for v in ALL_SECRET_VALUES] + [BLOB]
