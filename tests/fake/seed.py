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
    # Canaries inside credentials too: a truncated key or token in a log still shows.
    vals += [canary(l) for l in ("key-default", "key-temp", "token-temp", "key-expired",
                                 "token-expired", "key-restricted", "key-nobatch")]
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
