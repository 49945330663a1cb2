#!/usr/bin/python3
"""A local fake of AWS Secrets Manager (and SSM Parameter Store) for testing injector.

It speaks the JSON 1.1 protocol over HTTPS (a throwaway CA made with the openssl
CLI), verifies SigV4 signatures independently with botocore's signer, answers
GetSecretValue, BatchGetSecretValue, DescribeSecret and ListSecrets from seeded secrets
(tests/fake/seed.py), and can be told to misbehave: AWS errors, slow or broken
transports, malformed bodies, per-action rate limits, a skewed clock.
The same port also answers SSM Parameter Store (X-Amz-Target AmazonSSM.*: GetParameters,
GetParameter, GetParametersByPath, signed for service "ssm"); how to seed parameters and
select its error modes is in the protocol note at the top of the SSM section below.

In-process (pytest):

    srv = FakeSecretsManager(tmp_path, cert_mode="normal")
    srv.start()
    env = srv.env()                       # AWS_ENDPOINT_URL, AWS_CA_BUNDLE, keys, region
    srv.state.add_fault("throttle", action="GetSecretValue", count=2)
    ... run injector ...
    srv.state.stats(); srv.state.requests
    srv.stop()

Standalone (bench scripts, other languages):

    /usr/bin/python3 tests/fake/sm_server.py --dir DIR [--port 0] [--cert-mode normal]
        [--rate-limit Action=N ...] [--clock-skew SECONDS]

writes DIR/ca.pem, DIR/port and DIR/env (`export NAME='value'` lines), prints
`READY <port>` and serves until SIGTERM/SIGINT. Unsigned control endpoints on the
same port: GET /__fake/stats, /__fake/requests, /__fake/faults; POST
/__fake/reset, /__fake/fault, /__fake/clear_faults, /__fake/rate_limit,
/__fake/clock, /__fake/put_secret_value, /__fake/add_secret, /__fake/put_parameter,
/__fake/label_parameter. `--rate-limit ssm=RPS` is the quota the SSM actions share.

Faults: state.add_fault(kind, action=None, secret=None, count=None, region=None, **params).
They apply to authenticated, well-formed requests for the four actions, first
matching fault first; `secret` matches any id form (and a batch naming it); `region`
only requests signed for that region (primary or replica); count None means until
removed. Every kind takes `delay` (seconds to wait first).
  throttle      400 ThrottlingException "Rate exceeded"
  internal      500 InternalServiceError
  unavailable   503 ServiceUnavailableException
  error         any error: status, code, message, message_key ("message"/"Message");
                the three above take status/code/message overrides too
  echo          an error whose message is `message` (default "request rejected") then
                ": " and every request header as "Name: value" lines, the Authorization
                and X-Amz-Security-Token headers included (a proxy or server echoing the
                request); status (400), code (UnrecognizedClientException) overrides;
                escaped=True: the headers as a JSON object in the message, '/' '+' '='
                written as JSON escapes: backslash-slash, u002b, u003d
  html          502 text/html error page (status, body, content_type)
  xml_error     403 XML <ErrorResponse><Error><Code>AccessDenied</Code><Message>...
                as AWS's Query/XML front ends send (status, code, message)
  empty         403 with an empty body (status, content_type)
  header_only   400 with an empty body, the code only in x-amzn-ErrorType
                ("Code:http://internal..." form; status, code)
  Every body-replacing kind (html, garbage, xml_error, empty, header_only) also takes
  `headers`: a dict of extra response headers.
  garbage       200 with a non-JSON body (status, body, content_type)
  oversize      the real answer padded with a "Padding" member to exactly `size`
                bytes of valid JSON (default 65537 = 64 KiB + 1)
  invalid_utf8  the real answer with invalid UTF-8 (`bytes`) inside SecretString
  nul_value     a string value of the SecretString JSON (`key`, default the first)
                gets `value` appended (default "\u0000tail"); in a batch only the
                entry of `secret` when given, else every entry
  slow          the normal answer after `seconds` (default 2)
  slow_body     head at once, then the body one byte every `interval` s (default 1)
  truncated     Content-Length of the whole body, `send_bytes` (default half) sent,
                then the connection is shut down
  reset         half the body, then after `rst_after` s (0.1) an RST (SO_LINGER 0)
  drop          the request is read and the connection closed unanswered
                (`rst`: True for an RST instead of a FIN)
  close         the normal answer with "Connection: close", then close
  kms           per secret, while answering GetSecretValue/BatchGetSecretValue:
                mode "decrypt" (default) DecryptionFailure, mode "access"
                AccessDeniedException naming kms:Decrypt; `message` overrides
  item_error    per secret, likewise: the error `code` (InternalServiceError) with
                `message`, in a batch answer's Errors; give action= to keep it there
Rate limits: state.set_rate_limit(action, rps, burst=None) / set_rate_limits({...}).

Replica regions: state.replica_regions = ["eu-west-1", ...] serves requests signed for
those regions too (even with enforce_region), as if every secret were replicated there:
names resolve as usual, full and partial ARNs must carry the replica region, and every
ARN in the answer carries it; values and version ids are the primary's. A (region, name)
pair in state.unreplicated is missing from that replica (ResourceNotFoundException).

Nothing here logs request bodies or secret values; per-request logging is off.
Must run on Debian's /usr/bin/python3 with python3-botocore.
"""

import argparse
import base64
import collections
import copy
import datetime
import decimal
import email.utils
import functools
import hashlib
import hmac
import http
import http.server
import json
import os
import re
import secrets as _random
import signal
import socket
import socketserver
import ssl
import string
import struct
import subprocess
import sys
import threading
import time
import traceback
import uuid
from xml.sax.saxutils import escape as xml_escape

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

try:  # imported as part of a package (tests.fake.sm_server)
    from . import seed
except ImportError:  # imported from tests/fake on sys.path, or run as a script
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import seed

SERVICE = "secretsmanager"
TARGET_PREFIX = "secretsmanager."
CT_JSON = "application/x-amz-json-1.1"
ACTIONS = ("GetSecretValue", "BatchGetSecretValue", "DescribeSecret", "ListSecrets")
# SSM Parameter Store on the same port (see the SSM section below).
SSM_SERVICE = "ssm"
SSM_TARGET_PREFIX = "AmazonSSM."
SSM_ACTIONS = ("GetParameters", "GetParameter", "GetParametersByPath")
SSM_QUOTA = "ssm"           # the rate-limit bucket the three SSM actions share
CERT_MODES = ("normal", "expired", "wronghost", "untrusted")

# Fault kinds. Each is taken (and counted down) at most once per request, after the
# request authenticated, in the order faults were added.
ERROR_FAULTS = ("throttle", "internal", "unavailable", "error", "echo")
REPLACE_FAULTS = ("html", "garbage", "xml_error", "empty",   # the body is replaced wholesale
                  "header_only")
MUTATE_FAULTS = ("oversize", "invalid_utf8", "nul_value")   # the real answer, altered
TRANSPORT_FAULTS = ("slow", "slow_body", "truncated", "reset", "drop", "close")
SECRET_FAULTS = ("kms", "item_error")            # taken per secret while answering
REQUEST_FAULTS = ERROR_FAULTS + REPLACE_FAULTS + MUTATE_FAULTS + TRANSPORT_FAULTS
FAULT_KINDS = REQUEST_FAULTS + SECRET_FAULTS

MSG_NOT_FOUND = "Secrets Manager can't find the specified secret."
MSG_BAD_SIGNATURE = ("The request signature we calculated does not match the signature you "
                     "provided. Check your AWS Secret Access Key and signing method. Consult "
                     "the service documentation for details.")
MSG_BAD_TOKEN = "The security token included in the request is invalid."
MSG_EXPIRED_TOKEN = "The security token included in the request is expired"
MSG_DECRYPTION = "Secrets Manager can't decrypt the protected secret text using the provided KMS key."

HANDSHAKE_TIMEOUT = 10.0
IDLE_TIMEOUT = 60.0          # keep-alive connections idle longer than this are closed
MAX_BODY = 1 << 20
LOG_LIMIT = 200000           # request log entries kept (bench runs can be long)

# Where each error code lives, for the optional namespaced "__type" form that some
# AWS JSON services send ("com.amazon.coral.service#UnrecognizedClientException").
_CORAL_NS = {
    "ValidationException": "com.amazon.coral.validate",
    "ThrottlingException": "com.amazon.coral.availability",
    "ServiceUnavailableException": "com.amazon.coral.availability",
}
_SM_CODES = {"ResourceNotFoundException", "InvalidParameterException", "InvalidRequestException",
             "DecryptionFailure", "InternalServiceError", "InvalidNextTokenException"}


class AwsError(Exception):
    """An AWS-style error answer: HTTP status, code ("__type") and message.

    message_key is "Message" for Secrets Manager's own errors (the member name in its
    service model) and "message" for those of the AWS front end (auth, throttling,
    validation), as in captured real answers; clients must take either.
    """

    def __init__(self, status, code, message, message_key="message"):
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.message_key = message_key


def sm_error(code, message, status=400):
    return AwsError(status, code, message, "Message")


def front_error(code, message, status=400):
    return AwsError(status, code, message, "message")


def validation_error(field, constraint, value_repr="null"):
    return front_error("ValidationException",
                       f"1 validation error detected: Value {value_repr} at '{field}' failed to "
                       f"satisfy constraint: {constraint}")


# ---------------------------------------------------------------------------
# Time and JSON helpers
# ---------------------------------------------------------------------------

class Epoch(float):
    """A timestamp; serialized the way AWS JSON services do (1.700000000123E9)."""


@functools.lru_cache(maxsize=1024)
def _aws_epoch(value):
    # Shortest round-trip digits, in Java Double.toString's scientific form, which is
    # what the real service emits; clients must parse exponents.
    d = decimal.Decimal(repr(float(value)))
    if d == 0:
        return "0.0"
    sign, digits, _ = d.normalize().as_tuple()
    ds = "".join(map(str, digits))
    mant = ds[0] + "." + (ds[1:] or "0")
    return ("-" if sign else "") + f"{mant}E{d.adjusted()}"


_EPOCH_MARK = uuid.uuid4().hex  # placeholders for timestamps; no secret can guess it
_EPOCH_RE = re.compile(f'"{_EPOCH_MARK}([0-9]+)"')


def encode_json(obj, ascii_only=False, epoch_style="aws"):
    """Compact JSON as UTF-8 bytes, with AWS-style timestamps. One json.dumps call for the
    whole answer (a call per value cost half a millisecond for a 20-secret batch): each
    timestamp goes in as a placeholder string and its text replaces the quoted placeholder."""
    stamps = []

    def mark(o):
        t = type(o)
        if t is str or t is int or o is None or t is bool:
            return o
        if t is Epoch:
            stamps.append(_aws_epoch(o) if epoch_style == "aws" else repr(float(o)))
            return f"{_EPOCH_MARK}{len(stamps) - 1}"
        if isinstance(o, dict):
            return {str(k): mark(v) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [mark(v) for v in o]
        return o

    text = json.dumps(mark(obj), ensure_ascii=ascii_only, separators=(",", ":"))
    if stamps:
        text = _EPOCH_RE.sub(lambda m: stamps[int(m.group(1))], text)
    return text.encode("utf-8")


def _amz_date(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _random_suffix():
    alphabet = string.ascii_letters + string.digits
    return "".join(_random.choice(alphabet) for _ in range(6))


# ---------------------------------------------------------------------------
# State
# ---------------------------------------------------------------------------

class Version:
    __slots__ = ("version_id", "string", "binary", "created", "stages")

    def __init__(self, version_id, string=None, binary=None, created=None, stages=()):
        if (string is None) == (binary is None):
            raise ValueError("a version holds exactly one of string / binary")
        self.version_id = version_id
        self.string = string
        self.binary = bytes(binary) if binary is not None else None
        self.created = float(created if created is not None else time.time())
        self.stages = list(stages)


class Secret:
    def __init__(self, name, arn, **meta):
        self.name = name
        self.arn = arn
        self.description = meta.get("description")
        self.kms_key_id = meta.get("kms_key_id")
        self.owning_service = meta.get("owning_service")
        self.rotation_enabled = bool(meta.get("rotation_enabled", False))
        self.rotation_rules = meta.get("rotation_rules")
        self.last_rotated = meta.get("last_rotated")
        # Tags: {key: value} (DescribeSecret lists them; BatchGetSecretValue's tag-key and
        # tag-value filters match them).
        self.tags = dict(meta.get("tags") or {})
        self.created = None
        self.last_changed = None
        self.last_accessed = None
        self.versions = collections.OrderedDict()

    def by_stage(self, stage):
        for v in self.versions.values():
            if stage in v.stages:
                return v
        return None


class ParamVersion:
    __slots__ = ("version", "value", "labels", "created")

    def __init__(self, version, value, labels=(), created=None):
        self.version = int(version)
        self.value = value
        self.labels = list(labels)
        self.created = float(created if created is not None else time.time())


class Parameter:
    """An SSM parameter: versions 1, 2, ... (the last one is current), labels per version."""

    def __init__(self, name, ptype, account, key_id=None, tier="Standard", data_type="text"):
        if ptype not in ("String", "StringList", "SecureString"):
            raise ValueError(f"parameter type {ptype!r}")
        self.name = name
        self.type = ptype
        self.account = account
        self.key_id = key_id if key_id is not None else (
            seed.SSM_DEFAULT_KEY if ptype == "SecureString" else None)
        self.tier = tier
        self.data_type = data_type
        self.versions = collections.OrderedDict()   # int -> ParamVersion

    @property
    def current(self):
        return next(reversed(self.versions.values()))

    def by_label(self, label):
        for v in self.versions.values():
            if label in v.labels:
                return v
        return None


class Fault:
    def __init__(self, fid, kind, action, secret, count, params, region=None):
        self.id = fid
        self.kind = kind
        self.action = action
        self.secret = secret
        self.region = region            # None: any region
        self.remaining = count          # None: until removed
        self.params = params
        self.fired = 0
        self.secret_arn = None          # on snapshots: what `secret` resolved to

    def as_dict(self):
        return {"id": self.id, "kind": self.kind, "action": self.action, "secret": self.secret,
                "region": self.region, "remaining": self.remaining, "fired": self.fired,
                "params": dict(self.params)}


class _Bucket:
    """Token bucket: `rate` requests per second, bursts up to `burst`."""

    def __init__(self, rate, burst):
        self.rate = float(rate)
        self.burst = float(burst)
        self.tokens = self.burst
        self.last = time.monotonic()

    def take(self):
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class FakeState:
    """Everything the fake knows; all methods are thread-safe (one lock).

    Tunables tests may set directly:
      clock_skew_seconds  server clock = real clock + this (Date header, SigV4 window)
      max_skew_seconds    allowed X-Amz-Date distance (300, like AWS)
      enforce_region      reject credential scopes for other regions (True)
      replica_regions     regions served as replicas of every secret ([]; see the
                          module docstring)
      unreplicated        {(region, secret name)} missing from that replica (empty)
      qualified_error_types  "__type" as "com.amazon.coral.service#Code" etc. (False)
      error_type_header   also send x-amzn-ErrorType (False)
      require_signed_token  refuse a session token that is not a signed header (False:
                          AWS takes it either way; the log's token_signed tells)
      json_ascii          \\u-escape non-ASCII in responses (False: raw UTF-8)
      epoch_style         "aws" (1.7E9 scientific) or "plain" timestamps
      ssm_arn_name        SSM, a parameter asked for by ARN: "asked" answers Name as the ARN
                          asked for (selector cut off), "name" as the bare name (see the
                          SSM section)
    """

    def __init__(self, region=seed.REGION, account=seed.ACCOUNT):
        self.lock = threading.RLock()
        self.region = region
        self.account = account
        self._conn_seq = 0
        self._fault_seq = 0
        # Access keys handed out by isolate() and replaced since: requests signed with them
        # come from processes of earlier tests and are neither logged nor counted.
        self._retired = set()
        self._strays = 0
        self._isolated = None     # the default credential isolate() minted, kept over resets
        # Time each AWS request takes before its answer (make bench's realistic profile models
        # the service's own time with it; --service-time). Kept over resets.
        self.service_time = 0.0
        self._reset_locked()

    # -- reset / seed ------------------------------------------------------

    def reset(self):
        """Faults, rate limits, counters, log, tunables, secrets and credentials back to seed."""
        with self.lock:
            self._reset_locked()

    def _reset_locked(self):
        self.clock_skew_seconds = 0.0
        self.max_skew_seconds = 300.0
        self.enforce_region = True
        self.replica_regions = []
        self.unreplicated = set()
        self.qualified_error_types = False
        self.error_type_header = False
        self.require_signed_token = False
        self.json_ascii = False
        self.epoch_style = "aws"
        self.ssm_arn_name = "asked"
        self._faults = []
        self._buckets = {}
        self._connections = 0
        self._handshakes = 0
        self._resumed = 0
        self._handshake_failures = 0
        self._total = 0
        self._control = 0
        self._by_action = collections.Counter()
        self._errors = collections.Counter()
        self._faults_fired = collections.Counter()
        self._log = collections.deque(maxlen=LOG_LIMIT)
        self._secrets = collections.OrderedDict()   # arn -> Secret
        for s in seed.SECRETS:
            sec = Secret(s["name"], seed.arn(s["name"], s["arn_suffix"]),
                         **{k: v for k, v in s.items() if k not in ("name", "arn_suffix", "versions")})
            for v in s["versions"]:
                sec.versions[v["version_id"]] = Version(v["version_id"], v.get("string"),
                                                        v.get("binary"), v["created"], v["stages"])
            sec.created = min(v.created for v in sec.versions.values())
            sec.last_changed = max(v.created for v in sec.versions.values())
            self._secrets[sec.arn] = sec
        self._params = collections.OrderedDict()    # (account, name) -> Parameter
        for sp in seed.PARAMETERS:
            prm = Parameter(sp["name"], sp["type"], sp.get("account", self.account),
                            sp.get("key_id"), sp.get("tier", "Standard"),
                            sp.get("data_type", "text"))
            for i, v in enumerate(sp["versions"], 1):
                prm.versions[i] = ParamVersion(i, v["value"], v.get("labels", ()), v["created"])
            self._params[(prm.account, prm.name)] = prm
        self._creds = {}                            # access key id -> dict
        for name, c in seed.CREDENTIALS.items():
            if name == seed.DEFAULT_CREDENTIAL and self._isolated:
                c = dict(c, **self._isolated)
            self._add_credential_locked(name, **c)

    # -- clock -------------------------------------------------------------

    def now(self):
        return time.time() + float(self.clock_skew_seconds)

    # -- credentials -------------------------------------------------------

    def _add_credential_locked(self, name, access_key_id, secret_access_key, session_token=None,
                               expired=False, principal=seed.PRINCIPAL_ARN, denied_actions=(),
                               denied=()):
        self._creds[access_key_id] = {
            "name": name, "access_key_id": access_key_id, "secret_access_key": secret_access_key,
            "session_token": session_token, "expired": bool(expired), "principal": principal,
            "denied_actions": set(denied_actions),
            "denied": {(a, s) for a, s in denied},
        }

    def add_credential(self, name, access_key_id, secret_access_key, session_token=None,
                       expired=False, principal=seed.PRINCIPAL_ARN, denied_actions=(), denied=()):
        with self.lock:
            self._add_credential_locked(name, access_key_id, secret_access_key, session_token,
                                        expired, principal, denied_actions, denied)

    def credential(self, who):
        """A copy of a credential, by name ("default", ...) or access key id; None if unknown."""
        with self.lock:
            c = self._find_cred(who)
            return copy.deepcopy(c) if c else None

    def _find_cred(self, who):
        if who in self._creds:
            return self._creds[who]
        for c in self._creds.values():
            if c["name"] == who:
                return c
        return None

    def set_expired(self, who, expired=True):
        with self.lock:
            self._need_cred(who)["expired"] = bool(expired)

    def deny(self, who, action, secret=None):
        """Refuse `action` for credential `who` (name or AKID): everywhere, or for one secret
        (name, partial or full ARN; resolved now when it exists)."""
        with self.lock:
            c = self._need_cred(who)
            if secret is None:
                c["denied_actions"].add(action)
            else:
                c["denied"].add((action, self._deny_resource(action, secret)))

    def allow(self, who, action, secret=None):
        with self.lock:
            c = self._need_cred(who)
            if secret is None:
                c["denied_actions"].discard(action)
            else:
                c["denied"].discard((action, self._deny_resource(action, secret)))

    def _deny_resource(self, action, resource):
        """The ARN a denial applies to: "ssm:..." actions take a parameter name or ARN (or a
        path for ssm:GetParametersByPath), "kms:..." a key ARN, others a secret."""
        if action.startswith("kms:"):
            return resource
        if action.startswith("ssm:"):
            return resource if resource.startswith("arn:") else seed.ssm_arn(resource, self.account,
                                                                               self.region)
        sec = self._resolve(resource)
        return sec.arn if sec else resource

    def _need_cred(self, who):
        c = self._find_cred(who)
        if c is None:
            raise KeyError(f"no such credential: {who}")
        return c

    # -- secrets -----------------------------------------------------------

    def replica(self, region):
        """region when requests signed for it are served as a replica, else None."""
        return region if region != self.region and region in self.replica_regions else None

    def _arn_in(self, arn, region):
        """arn as seen in `region` (a replica: its region component replaced)."""
        if self.replica(region) is None:
            return arn
        parts = arn.split(":", 4)
        parts[3] = region
        return ":".join(parts)

    def _resolve(self, secret_id, region=None):
        """Secret for a name, full ARN, or partial ARN (no -XXXXXX suffix); else None.
        region: the request's; in a replica region ARNs must name that region."""
        if not isinstance(secret_id, str) or not secret_id:
            return None
        prefix = f"arn:aws:secretsmanager:{self.region}:{self.account}:secret:"
        replica = self.replica(region)
        if replica is not None and secret_id.startswith("arn:"):
            # A replica knows its secrets by ARNs of its own region only.
            here = f"arn:aws:secretsmanager:{replica}:{self.account}:secret:"
            if not secret_id.startswith(here):
                return None
            secret_id = prefix + secret_id[len(here):]
        sec = self._secrets.get(secret_id)
        if sec:
            return sec
        if secret_id.startswith("arn:"):
            if not secret_id.startswith(prefix):
                return None
            name = secret_id[len(prefix):]
        else:
            name = secret_id
        for sec in self._secrets.values():
            if sec.name == name:
                return sec
        return None

    def resolve_arn(self, secret_id):
        with self.lock:
            sec = self._resolve(secret_id)
            return sec.arn if sec else None

    def add_secret(self, name, string=None, binary=None, arn_suffix=None, version_id=None,
                   account=None, **meta):
        """Adds (or replaces) a secret with one AWSCURRENT version; returns its ARN.
        account: another account's secret (found by its full ARN only, as a cross-account
        secret is). meta: description, kms_key_id, owning_service, rotation_enabled, ..."""
        if isinstance(binary, str):
            binary = binary.encode()
        with self.lock:
            old = self._resolve(name)
            if old is not None and old.name == name:
                del self._secrets[old.arn]
            sec = Secret(name, f"arn:aws:secretsmanager:{self.region}:"
                               f"{account or self.account}:secret:"
                               f"{name}-{arn_suffix or _random_suffix()}", **meta)
            v = Version(version_id or str(uuid.uuid4()), string, binary, self.now(), ["AWSCURRENT"])
            sec.versions[v.version_id] = v
            sec.created = sec.last_changed = v.created
            self._secrets[sec.arn] = sec
            return sec.arn

    def delete_secret(self, secret_id):
        with self.lock:
            sec = self._resolve(secret_id)
            if sec is None:
                raise KeyError(secret_id)
            del self._secrets[sec.arn]

    def set_tags(self, secret_id, tags):
        """Replaces a secret's tags ({key: value}), as TagResource/UntagResource would."""
        with self.lock:
            sec = self._resolve(secret_id)
            if sec is None:
                raise KeyError(secret_id)
            sec.tags = dict(tags)
            sec.last_changed = self.now()

    def put_secret_value(self, secret_id, value, version_id=None, stages=("AWSCURRENT",)):
        """Rotation helper: a new version (str -> SecretString, bytes -> SecretBinary) gets
        `stages`; moving AWSCURRENT also moves AWSPREVIOUS to the old current version.
        Returns the new version id."""
        with self.lock:
            sec = self._resolve(secret_id)
            if sec is None:
                raise KeyError(secret_id)
            if isinstance(value, (bytes, bytearray)):
                v = Version(version_id or str(uuid.uuid4()), binary=value, created=self.now())
            else:
                v = Version(version_id or str(uuid.uuid4()), string=value, created=self.now())
            old_current = sec.by_stage("AWSCURRENT")
            for stage in stages:
                for other in sec.versions.values():
                    if stage in other.stages:
                        other.stages.remove(stage)
                v.stages.append(stage)
            if "AWSCURRENT" in stages and old_current is not None:
                for other in sec.versions.values():
                    if "AWSPREVIOUS" in other.stages:
                        other.stages.remove("AWSPREVIOUS")
                old_current.stages.append("AWSPREVIOUS")
            sec.versions[v.version_id] = v
            sec.last_changed = v.created
            return v.version_id

    def secret_info(self, secret_id):
        """Metadata of a secret (no values): arn, name, versions {id: stages}."""
        with self.lock:
            sec = self._resolve(secret_id)
            if sec is None:
                return None
            return {"arn": sec.arn, "name": sec.name,
                    "versions": {vid: list(v.stages) for vid, v in sec.versions.items()}}

    @property
    def secret_names(self):
        with self.lock:
            return [s.name for s in self._secrets.values()]

    # -- faults --------------------------------------------------------------

    def add_fault(self, kind, action=None, secret=None, count=None, region=None, **params):
        """Adds a fault; returns its id. kind: see FAULT_KINDS. action/secret/region
        restrict which requests match (secret: name or any ARN form; a batch matches when
        any of its ids is that secret; region: the request's credential scope). count: how
        many matching requests (None: all until removed). params depend on kind: see the
        module docstring."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {', '.join(FAULT_KINDS)}")
        if count is not None and int(count) < 1:
            raise ValueError("count must be >= 1 or None")
        with self.lock:
            self._fault_seq += 1
            self._faults.append(Fault(self._fault_seq, kind, action, secret,
                                      int(count) if count is not None else None, params,
                                      region))
            return self._fault_seq

    def remove_fault(self, fault_id):
        with self.lock:
            self._faults = [f for f in self._faults if f.id != fault_id]

    def clear_faults(self):
        with self.lock:
            self._faults = []

    @property
    def faults(self):
        with self.lock:
            return [f.as_dict() for f in self._faults]

    def take_fault(self, action, secret_ids, kinds, region=None):
        """Atomically finds the first fault of `kinds` matching, counts it down, returns
        a snapshot (or None). region: the request's credential scope region."""
        ssm = action in SSM_ACTIONS
        with self.lock:
            arns = {self._fault_key(sid, ssm, region) for sid in secret_ids}
            for f in self._faults:
                if f.kind not in kinds:
                    continue
                if f.action is not None and f.action != action:
                    continue
                if f.region is not None and f.region != region:
                    continue
                service = f.params.get("service")
                if service is not None and service != (SSM_SERVICE if ssm else SERVICE):
                    continue
                if f.secret is not None:
                    if self._fault_key(f.secret, ssm, region) not in arns:
                        continue
                f.fired += 1
                self._faults_fired[f.kind] += 1
                snap = Fault(f.id, f.kind, f.action, f.secret, f.remaining, dict(f.params),
                             f.region)
                if f.secret is not None and ssm:
                    snap.secret_arn = self._fault_key(f.secret, ssm, region)
                elif f.secret is not None:
                    sec = self._resolve(f.secret)
                    # As the answer names it (nul_value picks its entry by ARN).
                    snap.secret_arn = self._arn_in(sec.arn, region) if sec else f.secret
                if f.remaining is not None:
                    f.remaining -= 1
                    if f.remaining <= 0:
                        self._faults.remove(f)
                return snap
            return None

    def _fault_key(self, ref, ssm, region):
        """What a fault's `secret` and a request's ids are compared by: a secret's ARN, or for
        SSM requests a parameter's ARN (any name, ARN or selector form of it)."""
        if not ssm:
            sec = self._resolve(ref, region)
            return sec.arn if sec else ref
        found = self._find_param(ref, region or self.region)
        if found is None:
            return ref
        prm, _, _ = found
        return seed.ssm_arn(prm.name, prm.account, region or self.region) \
            if isinstance(prm, Parameter) else prm

    # -- SSM parameters ------------------------------------------------------

    def _find_param(self, ref, region):
        """(Parameter, selector or None, by_arn) for a name or ARN with an optional
        ":VERSION"/":LABEL" selector; None when malformed or unknown. A Secrets Manager
        reference (/aws/reference/secretsmanager/NAME) gives its name (a str) instead of a
        Parameter."""
        if not isinstance(ref, str) or not ref:
            return None
        by_arn = ref.startswith("arn:")
        account = self.account
        rest = ref
        if by_arn:
            parts = ref.split(":", 5)
            if len(parts) != 6 or parts[1] != "aws" or parts[2] != "ssm" or \
                    parts[3] != region or not parts[5].startswith("parameter/"):
                return None
            account = parts[4]
            rest = parts[5][len("parameter"):]
        name, sep, selector = rest.partition(":")
        if not name or (sep and not selector):
            return None
        if name.startswith(SM_REFERENCE) and not by_arn:
            return name, (selector if sep else None), by_arn
        prm = self._params.get((account, name))
        if prm is None and by_arn and name.count("/") == 1:
            prm = self._params.get((account, name[1:]))   # ...:parameter/flat is "flat"
        if prm is None:
            return None
        return prm, (selector if sep else None), by_arn

    def put_parameter(self, name, value, ptype=None, labels=(), key_id=None, tier=None,
                      data_type=None, account=None):
        """Creates a parameter (version 1) or adds a version (which becomes current);
        `labels` move to the new version. No size or name checks: tests may store what AWS
        would refuse (oversize values). Returns the new version number."""
        with self.lock:
            acct = account or self.account
            prm = self._params.get((acct, name))
            if prm is None:
                prm = Parameter(name, ptype or "String", acct, key_id, tier or "Standard",
                                data_type or "text")
                self._params[(acct, name)] = prm
            else:
                if ptype is not None:
                    prm.type = ptype
                    if ptype == "SecureString" and prm.key_id is None:
                        prm.key_id = seed.SSM_DEFAULT_KEY
                for attr, val in (("key_id", key_id), ("tier", tier), ("data_type", data_type)):
                    if val is not None:
                        setattr(prm, attr, val)
            n = (max(prm.versions) + 1) if prm.versions else 1
            for other in prm.versions.values():
                other.labels = [lb for lb in other.labels if lb not in labels]
            prm.versions[n] = ParamVersion(n, value, labels, self.now())
            return n

    def label_parameter(self, name, version, labels, account=None):
        """Moves `labels` to `version` of a parameter."""
        with self.lock:
            prm = self._params[(account or self.account, name)]
            target = prm.versions[int(version)]
            for v in prm.versions.values():
                v.labels = [lb for lb in v.labels if lb not in labels]
            target.labels += [lb for lb in labels if lb not in target.labels]

    def delete_parameter(self, name, account=None):
        with self.lock:
            del self._params[(account or self.account, name)]

    def parameter_info(self, name, account=None):
        """Metadata of a parameter (no values): arn, name, type, key_id, versions {n: labels}."""
        with self.lock:
            prm = self._params.get((account or self.account, name))
            if prm is None:
                return None
            return {"arn": seed.ssm_arn(prm.name, prm.account, self.region), "name": prm.name,
                    "type": prm.type, "key_id": prm.key_id, "tier": prm.tier,
                    "versions": {n: list(v.labels) for n, v in prm.versions.items()}}

    @property
    def parameter_names(self):
        with self.lock:
            return [p.name for p in self._params.values() if p.account == self.account]

    # -- rate limits ---------------------------------------------------------

    def set_rate_limit(self, action, rps, burst=None):
        """At most `rps` requests/s for `action` (token bucket, bursts up to `burst`,
        default max(1, rps)); excess gets ThrottlingException. rps None removes it."""
        with self.lock:
            if rps is None:
                self._buckets.pop(action, None)
            else:
                rps = float(rps)
                self._buckets[action] = _Bucket(rps, burst if burst is not None else max(1.0, rps))

    def set_rate_limits(self, limits):
        for action, rps in dict(limits).items():
            self.set_rate_limit(action, rps)

    def clear_rate_limits(self):
        with self.lock:
            self._buckets = {}

    @property
    def rate_limits(self):
        with self.lock:
            return {a: {"rps": b.rate, "burst": b.burst} for a, b in self._buckets.items()}

    def take_token(self, action):
        with self.lock:
            b = self._buckets.get(action)
            return True if b is None else b.take()

    # -- counters and log ------------------------------------------------------

    def note_connection(self):
        with self.lock:
            self._conn_seq += 1
            self._connections += 1
            return self._conn_seq

    def note_handshake(self, ok, resumed=False):
        with self.lock:
            if ok:
                self._handshakes += 1
                self._resumed += int(bool(resumed))
            else:
                self._handshake_failures += 1

    def note_control(self):
        with self.lock:
            self._control += 1

    def isolate(self):
        """Gives the "default" credential a fresh access key (its secret holds a canary) and
        retires the earlier ones: a process left over from an earlier test (still retrying or
        refreshing against this shared endpoint) cannot show up in this test's log or counters.
        Returns the new access key id."""
        with self.lock:
            old = self._find_cred(seed.DEFAULT_CREDENTIAL)
            if old is not None:
                self._retired.add(old["access_key_id"])
                del self._creds[old["access_key_id"]]
            akid = "AKIA" + uuid.uuid4().hex[:16].upper()
            secret = (seed.canary("isolated-" + akid) + "/" + uuid.uuid4().hex)[:40]
            self._isolated = {"access_key_id": akid, "secret_access_key": secret}
            c = dict(seed.CREDENTIALS[seed.DEFAULT_CREDENTIAL], **self._isolated)
            self._add_credential_locked(seed.DEFAULT_CREDENTIAL, **c)
            return akid

    @property
    def strays(self):
        """Requests signed with retired keys (not in the log or the counters)."""
        with self.lock:
            return self._strays

    def record(self, entry):
        with self.lock:
            if entry.get("access_key_id") in self._retired:
                self._strays += 1
                return
            self._total += 1
            self._by_action[entry.get("action") or "<none>"] += 1
            if entry.get("error_type"):
                self._errors[entry["error_type"]] += 1
            self._log.append(entry)

    @property
    def requests(self):
        """Snapshot of the request log (dicts; never holds secret values)."""
        with self.lock:
            return [dict(e) for e in self._log]

    def stats(self):
        with self.lock:
            return {
                "connections": self._connections,
                "handshakes": self._handshakes,
                "resumed_handshakes": self._resumed,
                "handshake_failures": self._handshake_failures,
                "total_requests": self._total,
                "requests_by_action": dict(self._by_action),
                "errors_by_type": dict(self._errors),
                "faults_fired": dict(self._faults_fired),
                "control_requests": self._control,
            }


# ---------------------------------------------------------------------------
# SigV4 verification
# ---------------------------------------------------------------------------

class _ExactSigV4(SigV4Auth):
    """botocore's signer, told to sign exactly the headers the client says it signed
    (botocore would otherwise pick its own set and skip e.g. user-agent)."""

    def __init__(self, credentials, service, region, signed_names):
        super().__init__(credentials, service, region)
        self._signed_names = signed_names

    def headers_to_sign(self, request):
        hm = HTTPHeaders()
        for name in self._signed_names:
            for value in request.headers.get_all(name) or []:
                hm[name] = value
        return hm


def _parse_authorization(value):
    algorithm, _, rest = value.strip().partition(" ")
    parts = {}
    for item in rest.split(","):
        k, eq, v = item.strip().partition("=")
        if eq:
            parts[k.strip()] = v.strip()
    return algorithm, parts


def verify_sigv4(state, method, raw_path, headers, body, expected_service=SERVICE):
    """Verifies a request the way AWS does; returns an info dict or raises AwsError.
    expected_service: the signing name of the service the request is for ("secretsmanager",
    or "ssm" for AmazonSSM targets); a scope naming another is refused.

    headers: http.client.HTTPMessage. The info dict (access_key_id, region, service,
    token_signed, signed_headers, credential) is also filled as far as parsing got,
    via the `partial` attribute of the raised error, for the request log."""
    info = {"access_key_id": None, "region": None, "service": None, "token_signed": None,
            "signed_headers": None, "credential": None}

    def fail(err):
        err.partial = info
        return err

    auth = headers.get("Authorization")
    if not auth:
        raise fail(front_error("MissingAuthenticationTokenException", "Missing Authentication Token"))
    algorithm, parts = _parse_authorization(auth)
    if algorithm != "AWS4-HMAC-SHA256":
        raise fail(front_error("IncompleteSignatureException",
                               f"Unsupported AWS 'algorithm': '{algorithm}'"))
    missing = [f"Authorization header requires '{p}' parameter."
               for p in ("Credential", "Signature", "SignedHeaders") if not parts.get(p)]
    amz_date = headers.get("X-Amz-Date")
    if not amz_date:
        missing.append("Authorization header requires existence of either a 'X-Amz-Date' or "
                       "a 'Date' header.")
    if missing:
        raise fail(front_error("IncompleteSignatureException",
                               " ".join(missing) + f" Authorization={algorithm}"))
    scope = parts["Credential"].split("/")
    if len(scope) != 5:
        raise fail(front_error("IncompleteSignatureException",
                               "Credential should be scoped to a valid region. "))
    akid, scope_date, region, service, terminator = scope
    signed = [h.strip() for h in parts["SignedHeaders"].split(";") if h.strip()]
    info.update(access_key_id=akid, region=region, service=service, signed_headers=signed,
                token_signed=("x-amz-security-token" in signed)
                if headers.get("X-Amz-Security-Token") is not None else None)
    if terminator != "aws4_request":
        raise fail(front_error("IncompleteSignatureException",
                               f"Credential should be scoped with a valid terminator: "
                               f"'aws4_request', not '{terminator}'. "))
    if "host" not in signed:
        raise fail(front_error("IncompleteSignatureException",
                               "'Host' or ':authority' must be a 'SignedHeader' in the AWS "
                               "Authorization."))
    if "x-amz-date" not in signed:
        raise fail(front_error("IncompleteSignatureException",
                               "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization."))
    try:
        req_time = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()
    except ValueError:
        raise fail(front_error("IncompleteSignatureException",
                               f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'. "
                               "See http://en.wikipedia.org/wiki/ISO_8601"))
    if service != expected_service:
        raise fail(front_error("InvalidSignatureException",
                               f"Credential should be scoped to correct service: "
                               f"'{expected_service}'. "))
    if state.enforce_region and region != state.region and not state.replica(region):
        raise fail(front_error("InvalidSignatureException",
                               f"Credential should be scoped to a valid region, not '{region}'. "))
    if scope_date != amz_date[:8]:
        raise fail(front_error("InvalidSignatureException",
                               "Date in Credential scope does not match YYYYMMDD from ISO-8601 "
                               f"version of date from HTTP: '{scope_date}' != '{amz_date[:8]}', "
                               f"from '{amz_date}'."))
    now = state.now()
    window = float(state.max_skew_seconds)
    mins = f"{window / 60:g} min."
    if req_time < now - window:
        raise fail(front_error("InvalidSignatureException",
                               f"Signature expired: {amz_date} is now earlier than "
                               f"{_amz_date(now - window)} ({_amz_date(now)} - {mins})"))
    if req_time > now + window:
        raise fail(front_error("InvalidSignatureException",
                               f"Signature not yet current: {amz_date} is still later than "
                               f"{_amz_date(now + window)} ({_amz_date(now)} + {mins})"))

    with state.lock:
        cred = state._creds.get(akid)
        cred = copy.deepcopy(cred) if cred else None
    if cred is None:
        raise fail(front_error("UnrecognizedClientException", MSG_BAD_TOKEN))
    info["credential"] = cred
    token = headers.get("X-Amz-Security-Token")
    want = cred["session_token"]
    if want is None and token is not None:
        raise fail(front_error("UnrecognizedClientException", MSG_BAD_TOKEN))
    if want is not None and (token is None or not hmac.compare_digest(token.encode(), want.encode())):
        raise fail(front_error("UnrecognizedClientException", MSG_BAD_TOKEN))
    if cred["expired"]:
        raise fail(front_error("ExpiredTokenException", MSG_EXPIRED_TOKEN))
    if token is not None and state.require_signed_token and not info["token_signed"]:
        raise fail(front_error("InvalidSignatureException", MSG_BAD_SIGNATURE))

    content_sha = headers.get("X-Amz-Content-SHA256")
    if content_sha is not None and content_sha != hashlib.sha256(body).hexdigest():
        raise fail(front_error("InvalidSignatureException", MSG_BAD_SIGNATURE))
    for name in signed:
        if headers.get(name) is None:
            raise fail(front_error("InvalidSignatureException", MSG_BAD_SIGNATURE))

    # Rebuild the request with only the signed headers and let botocore compute the
    # canonical request, string to sign and signature for the key we know.
    request = AWSRequest(method=method, url=f"https://{headers.get('Host', '')}{raw_path}",
                         data=body)
    hm = HTTPHeaders()
    for name in signed:
        for value in headers.get_all(name) or []:
            hm[name] = value
    request.headers = hm
    request.context["timestamp"] = amz_date
    signer = _ExactSigV4(Credentials(akid, cred["secret_access_key"], token), service, region,
                         signed)
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected.encode(), parts["Signature"].encode()):
        raise fail(front_error("InvalidSignatureException", MSG_BAD_SIGNATURE))
    return info


# ---------------------------------------------------------------------------
# Operations
# ---------------------------------------------------------------------------

def _check_string(params, key, field, lo, hi, required):
    v = params.get(key)
    if v is None:
        if required:
            raise validation_error(field, "Member must not be null")
        return None
    if not isinstance(v, str):
        raise front_error("SerializationException",
                          f"STRING_VALUE can not be converted to a {type(v).__name__}")
    if len(v) < lo:
        raise validation_error(field, f"Member must have length greater than or equal to {lo}",
                               f"'{v}'")
    if len(v) > hi:
        raise validation_error(field, f"Member must have length less than or equal to {hi}",
                               f"'{v[:64]}...'")
    return v


def _access_denied(cred, action, resource=None):
    where = f" on resource: {resource}" if resource is not None else ""
    return sm_error("AccessDeniedException",
                    f"User: {cred['principal']} is not authorized to perform: "
                    f"secretsmanager:{action}{where} because no identity-based policy allows "
                    f"the secretsmanager:{action} action")


def _kms_error(cred, fault):
    mode = fault.params.get("mode", "decrypt")
    if mode == "access":
        msg = fault.params.get("message") or (
            f"User: {cred['principal']} is not authorized to perform: kms:Decrypt on resource: "
            f"{seed.KMS_KEY_ARN} because no identity-based policy allows the kms:Decrypt action")
        return sm_error("AccessDeniedException", msg)
    return sm_error("DecryptionFailure", fault.params.get("message") or MSG_DECRYPTION)


def _value_entry(sec, v, arn):
    out = {"ARN": arn, "Name": sec.name, "VersionId": v.version_id}
    if v.binary is not None:
        out["SecretBinary"] = base64.b64encode(v.binary).decode()
    else:
        out["SecretString"] = v.string
    out["VersionStages"] = list(v.stages)
    out["CreatedDate"] = Epoch(v.created)
    return out


class Operations:
    """The four actions, against FakeState. Each returns a response dict or raises
    AwsError. `cred` is the verified credential; `region` the request's (a replica
    region: ARNs carry it, unreplicated secrets are missing)."""

    def __init__(self, state, region=None):
        self.state = state
        self.region = region

    def _find(self, secret_id):
        """The secret as this request's region sees it (None: not found there)."""
        st = self.state
        sec = st._resolve(secret_id, self.region)
        if sec is not None and st.replica(self.region) and \
                (self.region, sec.name) in st.unreplicated:
            return None
        return sec

    def _get_version(self, sec, version_id, stage):
        if version_id is not None:
            v = sec.versions.get(version_id)
            if v is None:
                raise sm_error("ResourceNotFoundException",
                               f"Secrets Manager can't find the specified secret value for "
                               f"VersionId: {version_id}")
            if stage is not None and stage not in v.stages:
                raise sm_error("InvalidRequestException",
                               "You provided a VersionStage that is not associated to the "
                               "provided VersionId.")
            return v
        stage = stage or "AWSCURRENT"
        v = sec.by_stage(stage)
        if v is None:
            raise sm_error("ResourceNotFoundException",
                           f"Secrets Manager can't find the specified secret value for "
                           f"staging label: {stage}")
        return v

    def _fetch_value(self, cred, action, secret_id, version_id=None, stage=None):
        """(entry dict) for one secret, or raises AwsError; shared by Get and Batch."""
        st = self.state
        with st.lock:
            sec = self._find(secret_id)
            if sec is not None and ("GetSecretValue", sec.arn) in cred["denied"]:
                raise _access_denied(cred, "GetSecretValue", secret_id)
            if sec is None:
                if ("GetSecretValue", secret_id) in cred["denied"]:
                    raise _access_denied(cred, "GetSecretValue", secret_id)
                raise sm_error("ResourceNotFoundException", MSG_NOT_FOUND)
            v = self._get_version(sec, version_id, stage)
            arn = sec.arn
        fault = st.take_fault(action, [arn], SECRET_FAULTS, self.region)
        if fault is not None and fault.kind == "item_error":
            code = fault.params.get("code", "InternalServiceError")
            raise sm_error(code, fault.params.get("message") or "An error occurred on the server "
                           "side.", 500 if code == "InternalServiceError" else 400)
        if fault is not None:
            raise _kms_error(cred, fault)
        with st.lock:
            sec.last_accessed = st.now()
            return _value_entry(sec, v, st._arn_in(arn, self.region))

    def GetSecretValue(self, cred, params):
        sid = _check_string(params, "SecretId", "secretId", 1, 2048, True)
        vid = _check_string(params, "VersionId", "versionId", 32, 64, False)
        stage = _check_string(params, "VersionStage", "versionStage", 1, 256, False)
        return self._fetch_value(cred, "GetSecretValue", sid, vid, stage)

    def DescribeSecret(self, cred, params):
        sid = _check_string(params, "SecretId", "secretId", 1, 2048, True)
        st = self.state
        with st.lock:
            sec = self._find(sid)
            if sec is not None and ("DescribeSecret", sec.arn) in cred["denied"]:
                raise _access_denied(cred, "DescribeSecret", sid)
            if sec is None:
                raise sm_error("ResourceNotFoundException", MSG_NOT_FOUND)
            out = {"ARN": st._arn_in(sec.arn, self.region), "Name": sec.name}
            if sec.description is not None:
                out["Description"] = sec.description
            if sec.kms_key_id is not None:
                out["KmsKeyId"] = sec.kms_key_id
            out["RotationEnabled"] = sec.rotation_enabled
            if sec.rotation_rules:
                out["RotationRules"] = dict(sec.rotation_rules)
            if sec.last_rotated is not None:
                out["LastRotatedDate"] = Epoch(sec.last_rotated)
            out["LastChangedDate"] = Epoch(sec.last_changed)
            if sec.last_accessed is not None:
                # AWS reports the access day only (midnight UTC).
                out["LastAccessedDate"] = Epoch(sec.last_accessed // 86400 * 86400)
            out["Tags"] = [{"Key": k, "Value": v} for k, v in sec.tags.items()]
            out["VersionIdsToStages"] = {vid: list(v.stages) for vid, v in sec.versions.items()
                                         if v.stages}
            if sec.owning_service:
                out["OwningService"] = sec.owning_service
            out["CreatedDate"] = Epoch(sec.created)
            return out

    def BatchGetSecretValue(self, cred, params):
        ids = params.get("SecretIdList")
        filters = params.get("Filters")
        if ids is not None and filters is not None:
            raise sm_error("InvalidParameterException",
                           "Either 'SecretIdList' or 'Filters' must be provided, but not both.")
        if ids is None and filters is None:
            raise sm_error("InvalidParameterException",
                           "Either 'SecretIdList' or 'Filters' must be provided.")
        if ids is not None:
            if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
                raise front_error("SerializationException",
                                  "Expected list of strings for SecretIdList")
            shown = "'[" + ", ".join(ids) + "]'"
            if len(ids) < 1:
                raise validation_error("secretIdList",
                                       "Member must have length greater than or equal to 1", shown)
            if len(ids) > 20:
                raise validation_error("secretIdList",
                                       "Member must have length less than or equal to 20", shown)
            if params.get("MaxResults") is not None:
                raise sm_error("InvalidParameterException",
                               "MaxResults can only be used with Filters.")
            next_token = None
        else:
            # AWS: "To use Filters, you must also have secretsmanager:ListSecrets".
            if "ListSecrets" in cred["denied_actions"]:
                raise _access_denied(cred, "ListSecrets")
            ids, next_token = self._filter_ids(filters, params.get("MaxResults"),
                                               params.get("NextToken"))
        values, errors = [], []
        for sid in ids:
            try:
                values.append(self._fetch_value(cred, "BatchGetSecretValue", sid))
            except AwsError as e:
                errors.append({"SecretId": sid, "ErrorCode": e.code, "Message": e.message})
        out = {"SecretValues": values, "Errors": errors}
        if next_token:
            out["NextToken"] = next_token
        return out

    def ListSecrets(self, cred, params):
        """Filters as BatchGetSecretValue's (the same prefix matches), MaxResults 1-100
        (default 100), NextToken; SecretList items carry ARN, Name, Tags (only when the
        secret has tags) and dates, never a value. IncludePlannedDeletion is validated and
        otherwise moot (deleted secrets are gone at once here)."""
        planned = params.get("IncludePlannedDeletion")
        if planned is not None and not isinstance(planned, bool):
            raise front_error("SerializationException", "Expected boolean for "
                              "IncludePlannedDeletion")
        secs, next_token = self._filter_page(params.get("Filters") or [],
                                             params.get("MaxResults"), params.get("NextToken"),
                                             100)
        st = self.state
        out = []
        with st.lock:
            for sec in secs:
                item = {"ARN": st._arn_in(sec.arn, self.region), "Name": sec.name,
                        "LastChangedDate": Epoch(sec.last_changed),
                        "CreatedDate": Epoch(sec.created)}
                if sec.description is not None:
                    item["Description"] = sec.description
                if sec.tags:
                    item["Tags"] = [{"Key": k, "Value": v} for k, v in sec.tags.items()]
                item["SecretVersionsToStages"] = {vid: list(v.stages)
                                                  for vid, v in sec.versions.items() if v.stages}
                out.append(item)
        res = {"SecretList": out}
        if next_token:
            res["NextToken"] = next_token
        return res

    def _filter_ids(self, filters, max_results, next_token):
        secs, next_token = self._filter_page(filters, max_results, next_token, 20)
        return [s.name for s in secs], next_token

    def _filter_page(self, filters, max_results, next_token, limit):
        """One page (at most max_results, default and bound limit) of the secrets every
        filter matches, and the next page's token (None: the last)."""
        if not isinstance(filters, list):
            raise front_error("SerializationException", "Expected list for Filters")
        if max_results is None:
            max_results = limit
        if not isinstance(max_results, int) or not 1 <= max_results <= limit:
            raise validation_error("maxResults",
                                   f"Member must have value less than or equal to {limit}",
                                   str(max_results))
        try:
            start = int(next_token) if next_token is not None else 0
        except (TypeError, ValueError):
            raise sm_error("InvalidNextTokenException", "The NextToken value is invalid.")

        def matches(sec, f):
            key, values = f.get("Key"), f.get("Values") or []
            for val in values:
                neg = val.startswith("!")
                val = val[1:] if neg else val
                if key == "name":
                    hit = sec.name.startswith(val)
                elif key == "description":
                    hit = (sec.description or "").lower().startswith(val.lower())
                elif key == "all":
                    hit = val.lower() in (sec.name + " " + (sec.description or "")).lower()
                elif key == "owning-service":
                    hit = (sec.owning_service or "").startswith(val)
                elif key == "tag-key":
                    # AWS matches tag keys and tag values as prefixes, each on its own: a
                    # secret tagged {team: api, owner: web} matches team=web.
                    hit = any(k.startswith(val) for k in sec.tags)
                elif key == "tag-value":
                    hit = any(v.startswith(val) for v in sec.tags.values())
                else:
                    hit = False
                if hit != neg:
                    return True
            return False

        with self.state.lock:
            secs = [s for s in self.state._secrets.values()
                    if all(matches(s, f) for f in filters)]
        page = secs[start:start + max_results]
        more = start + max_results < len(secs)
        return page, (str(start + max_results) if more else None)



# ---------------------------------------------------------------------------
# SSM Parameter Store (AmazonSSM JSON 1.1, same port)
# ---------------------------------------------------------------------------
#
# Protocol note for tests (what the Secrets Manager part's module docstring is for SM):
#
# Requests with `X-Amz-Target: AmazonSSM.<Action>` are SSM requests, signed for service
# `ssm` (a signature scoped to another service, "secretsmanager" included, is refused with
# InvalidSignatureException "Credential should be scoped to correct service: 'ssm'. ", as
# AWS does). AWS_ENDPOINT_URL (srv.env()) already reaches both services; set
# AWS_ENDPOINT_URL_SSM=srv.url to exercise the per-service variable.
# Actions: GetParameters (Names: 1-10, more is ValidationException), GetParameter,
# GetParametersByPath (Path, Recursive, WithDecryption, MaxResults 1-10, NextToken;
# ParameterFilters accepted and ignored). Answers follow botocore's ssm model: Parameter
# {Name, Type, Value, Version, Selector (only when one was asked), SourceResult (only for
# /aws/reference/secretsmanager/...), LastModifiedDate, ARN, DataType}; GetParameters always
# has Parameters (sorted by Name) and InvalidParameters (as asked, selector included).
#
# Seeded parameters: seed.PARAMETERS (values in seed.P_*, every one canaried and in
# seed.ALL_SECRET_VALUES). /prod/db/password has versions 1-3 (labels "old" on 1, "live"
# and "Prod-2024.1" on 3); /prod/cmk/api-key is a SecureString under the customer managed
# key seed.SSM_CMK_ARN; /big/advanced holds 8192 bytes (advanced tier);
# /shared/db/password lives in seed.SHARED_ACCOUNT and is reachable only by its full ARN
# (seed.PARAMETER_ARNS). At run time:
#   srv.state.put_parameter(name, value, ptype="SecureString", labels=("x",), key_id=...,
#                           tier=..., account=...)   -> new version number (no size checks:
#                           oversize values are possible); label_parameter(name, version,
#                           labels); delete_parameter(name); parameter_info(name)
#   standalone: POST /__fake/put_parameter {"name", "value", "type", "labels", "key_id"},
#               POST /__fake/label_parameter {"name", "version", "labels"}
#
# Semantics: selectors "NAME:3" (version) and "NAME:LABEL", also after an ARN; unknown name /
# version / label: InvalidParameters (GetParameters), ParameterNotFound (no message, as AWS)
# or ParameterVersionNotFound (GetParameter). Names given as ARNs are accepted (the region
# must be the request's); the answer's Name is the ARN asked for (selector cut off) while
# state.ssm_arn_name == "asked" (default), the bare name with "name". SecureString without
# WithDecryption answers a base64 ciphertext (never the plaintext), with it the plaintext;
# String/StringList ignore the flag. /aws/reference/secretsmanager/NAME[:VERSIONID|:STAGE]
# answers the Secrets Manager secret from the same store (Type SecureString, Version 0,
# SourceResult: the GetSecretValue answer as JSON text; ARN: the secret's); without
# WithDecryption it is the ValidationException AWS gives. GetParametersByPath: Path must
# start with "/"; one level below it, or all levels with Recursive; own account only,
# sorted by name, pages of MaxResults (default 10) with an opaque NextToken (a bad one:
# InvalidNextToken).
#
# Error modes a test selects:
#   AccessDenied        state.deny(cred, "ssm:GetParameters"[, name or ARN]) (also
#                       "ssm:GetParameter", "ssm:GetParametersByPath" with the path);
#                       credential "nossm" is denied both on /prod/db/password. 400
#                       AccessDeniedException "User: <principal> is not authorized to
#                       perform: ssm:GetParameters on resource: <parameter ARN> because no
#                       identity-based policy allows the ssm:GetParameters action"; the
#                       whole call fails.
#   KMS denial          decrypting a SecureString under a key the credential has a
#                       ("kms:Decrypt", key ARN) denial for: credential "nokms" on
#                       seed.SSM_CMK_ARN, or state.deny(cred, "kms:Decrypt", key_arn). 400
#                       AccessDeniedException "User: ... is not authorized to perform:
#                       kms:Decrypt on resource: <key ARN> because no identity-based policy
#                       allows the kms:Decrypt action (Service: AWSKMS; Status Code: 400;
#                       Error Code: AccessDeniedException; Request ID: <uuid>; Proxy:
#                       null)"; the whole call fails. The AWS managed key alias/aws/ssm
#                       needs no grant. Fault "kms" with secret=<parameter> (mode "access",
#                       default for SSM, or "legacy": the older "The ciphertext refers to a
#                       customer master key that does not exist, ..." text) does the same
#                       per parameter.
#   Faults              every fault kind of the module docstring applies to SSM actions
#                       too; action="GetParameters" etc., or service="ssm" (a fault
#                       parameter) to keep it off Secrets Manager requests (a fault with
#                       neither matches both services); secret=<parameter name or ARN>
#                       matches a request naming it. "throttle" (400 ThrottlingException
#                       "Rate exceeded"), "internal" (500 InternalServerError for SSM),
#                       "unavailable" (503), "oversize", "truncated", "nul_value" and
#                       "invalid_utf8" (in Value) ...
#   Quota               state.set_rate_limit("ssm", rps) (or --rate-limit ssm=RPS): one
#                       token bucket shared by the three actions, as SSM's 40/s per account
#                       and region is; per-action buckets ("GetParameters") also work.
SM_REFERENCE = "/aws/reference/secretsmanager/"
MSG_SM_REFERENCE = "WithDecryption flag must be True for retrieving a Secret Manager secret."
MSG_KMS_LEGACY = ("The ciphertext refers to a customer master key that does not exist, does "
                  "not exist in this region, or you are not allowed to access.")
_SSM_CODES = {"ParameterNotFound", "ParameterVersionNotFound", "InvalidKeyId",
              "InternalServerError", "InvalidNextToken", "InvalidFilterKey"}


def ssm_error(code, message, status=400, message_key="message"):
    return AwsError(status, code, message, message_key)


def _ssm_access_denied(cred, action, resource):
    return ssm_error("AccessDeniedException",
                     f"User: {cred['principal']} is not authorized to perform: ssm:{action} on "
                     f"resource: {resource} because no identity-based policy allows the "
                     f"ssm:{action} action")


def _ssm_kms_denied(cred, key_arn, mode="access", message=None):
    if message is None:
        text = MSG_KMS_LEGACY if mode == "legacy" else (
            f"User: {cred['principal']} is not authorized to perform: kms:Decrypt on resource: "
            f"{key_arn} because no identity-based policy allows the kms:Decrypt action")
        message = (f"{text} (Service: AWSKMS; Status Code: 400; Error Code: "
                   f"AccessDeniedException; Request ID: {uuid.uuid4()}; Proxy: null)")
    return ssm_error("AccessDeniedException", message)


def _ciphertext(prm, v):
    """What SSM answers for a SecureString read without WithDecryption: base64 of a KMS
    ciphertext blob. Here: a KMS-like header and pseudo-random bytes derived from the name
    and version (never from the value), about as long as a real blob would be."""
    seed_bytes = f"{prm.account}|{prm.name}|{v.version}".encode()
    blob, block = b"\x01\x02\x02\x00\x78", 0
    want = 5 + 180 + len(v.value.encode("utf-8"))
    while len(blob) < want:
        blob += hashlib.sha256(seed_bytes + block.to_bytes(4, "big")).digest()
        block += 1
    return base64.b64encode(blob[:want]).decode()


class SsmOperations:
    """The three SSM actions, against FakeState. Each returns a response dict or raises
    AwsError. `cred` is the verified credential; `region` the request's."""

    def __init__(self, state, region=None):
        self.state = state
        self.region = region or state.region

    def _arn(self, prm):
        return seed.ssm_arn(prm.name, prm.account, self.region)

    def _check_access(self, cred, action, arn):
        if f"ssm:{action}" in cred["denied_actions"] or (f"ssm:{action}", arn) in cred["denied"]:
            raise _ssm_access_denied(cred, action, arn)

    def _ref_arn(self, ref):
        """The ARN an access check names for a reference (also an unknown one)."""
        found = self.state._find_param(ref, self.region)
        if found is not None and isinstance(found[0], Parameter):
            return self._arn(found[0])
        if ref.startswith("arn:"):
            return ":".join(ref.split(":")[:6])      # the selector cut off
        return seed.ssm_arn(ref.partition(":")[0], self.state.account, self.region)

    def _decrypt_check(self, cred, action, prm):
        key = prm.key_id
        if key and key != seed.SSM_DEFAULT_KEY and ("kms:Decrypt", key) in cred["denied"]:
            raise _ssm_kms_denied(cred, key)
        f = self.state.take_fault(action, [self._arn(prm)], SECRET_FAULTS, self.region)
        if f is not None:
            raise _ssm_kms_denied(cred, key if key and key != seed.SSM_DEFAULT_KEY
                                  else seed.SSM_CMK_ARN, f.params.get("mode", "access"),
                                  f.params.get("message"))

    def _resolve(self, cred, action, ref, decrypt):
        """(entry dict) for one reference, None when not found (unknown name, version or
        label), or raises AwsError (access, KMS, validation)."""
        st = self.state
        with st.lock:
            found = st._find_param(ref, self.region)
        if found is not None and isinstance(found[0], str):
            return self._sm_reference(cred, action, ref, found[0], found[1], decrypt)
        self._check_access(cred, action, self._ref_arn(ref))
        if found is None:
            return None
        prm, selector, by_arn = found
        with st.lock:
            if selector is None:
                v = prm.current
            elif selector.isdigit():
                v = prm.versions.get(int(selector))
                if v is None:
                    raise _VersionNotFound(selector, prm.name)
            else:
                v = prm.by_label(selector)
            if v is None:
                return None
            value, ptype = v.value, prm.type
        if ptype == "SecureString" and decrypt:
            self._decrypt_check(cred, action, prm)
        elif ptype == "SecureString":
            value = _ciphertext(prm, v)
        arn = self._arn(prm)
        name = prm.name
        if by_arn and st.ssm_arn_name == "asked":
            name = ref.rpartition(":")[0] if selector is not None else ref
        out = {"Name": name, "Type": ptype, "Value": value, "Version": v.version}
        if selector is not None:
            out["Selector"] = ":" + selector
        out["LastModifiedDate"] = Epoch(v.created)
        out["ARN"] = arn
        out["DataType"] = prm.data_type
        return out

    def _sm_reference(self, cred, action, ref, name, selector, decrypt):
        self._check_access(cred, action, seed.ssm_arn(name, self.state.account, self.region))
        if not decrypt:
            raise front_error("ValidationException", MSG_SM_REFERENCE)
        sid = name[len(SM_REFERENCE):]
        vid = stage = None
        if selector is not None:
            if re.fullmatch(r"[0-9a-fA-F-]{32,64}", selector):
                vid = selector
            else:
                stage = selector
        try:
            ent = Operations(self.state, self.region)._fetch_value(cred, action, sid, vid, stage)
        except AwsError as e:
            if e.code in ("ResourceNotFoundException", "InvalidRequestException"):
                return None
            raise
        value = ent.get("SecretString")
        if value is None:
            value = ent["SecretBinary"]
        source = encode_json(ent, self.state.json_ascii, self.state.epoch_style).decode("utf-8")
        out = {"Name": name, "Type": "SecureString", "Value": value, "Version": 0}
        if selector is not None:
            out["Selector"] = ":" + selector
        out["SourceResult"] = source
        out["LastModifiedDate"] = ent["CreatedDate"]
        out["ARN"] = ent["ARN"]
        out["DataType"] = "text"
        return out

    @staticmethod
    def _decrypt_flag(params):
        v = params.get("WithDecryption")
        if v is not None and not isinstance(v, bool):
            raise front_error("SerializationException",
                              f"{type(v).__name__.upper()}_VALUE can not be converted to a Boolean")
        return bool(v)

    def GetParameters(self, cred, params):
        names = params.get("Names")
        if names is None:
            raise validation_error("names", "Member must not be null")
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise front_error("SerializationException", "Expected list of strings for Names")
        shown = "'[" + ", ".join(names) + "]'"
        if len(names) < 1:
            raise validation_error("names", "Member must have length greater than or equal to 1",
                                   shown)
        if len(names) > 10:
            raise validation_error("names", "Member must have length less than or equal to 10",
                                   shown)
        for n in names:
            if not 1 <= len(n) <= 2048:
                raise validation_error("names", "Member must satisfy constraint: [Member must "
                                       "have length less than or equal to 2048, Member must "
                                       "have length greater than or equal to 1]", shown)
        decrypt = self._decrypt_flag(params)
        seen, found, invalid = set(), [], []
        for ref in names:
            if ref in seen:
                continue
            seen.add(ref)
            try:
                ent = self._resolve(cred, "GetParameters", ref, decrypt)
            except _VersionNotFound:
                ent = None
            if ent is None:
                invalid.append(ref)
            else:
                found.append(ent)
        found.sort(key=lambda e: e["Name"])
        return {"Parameters": found, "InvalidParameters": invalid}

    def GetParameter(self, cred, params):
        ref = _check_string(params, "Name", "name", 1, 2048, True)
        decrypt = self._decrypt_flag(params)
        try:
            ent = self._resolve(cred, "GetParameter", ref, decrypt)
        except _VersionNotFound as e:
            raise ssm_error("ParameterVersionNotFound",
                            f"Systems Manager could not find version {e.version} of {e.name}. "
                            "Verify the version and try again.")
        if ent is None:
            raise ssm_error("ParameterNotFound", None)
        return {"Parameter": ent}

    def GetParametersByPath(self, cred, params):
        st = self.state
        path = _check_string(params, "Path", "path", 1, 2048, True)
        decrypt = self._decrypt_flag(params)
        recursive = params.get("Recursive")
        if recursive is not None and not isinstance(recursive, bool):
            raise front_error("SerializationException",
                              f"{type(recursive).__name__.upper()}_VALUE can not be converted to "
                              "a Boolean")
        max_results = params.get("MaxResults", 10)
        if not isinstance(max_results, int) or isinstance(max_results, bool):
            raise front_error("SerializationException",
                              "STRING_VALUE can not be converted to an Integer")
        if max_results > 10:
            raise validation_error("maxResults", "Member must have value less than or equal to "
                                   "10", str(max_results))
        if max_results < 1:
            raise validation_error("maxResults", "Member must have value greater than or equal "
                                   "to 1", str(max_results))
        if not path.startswith("/"):
            raise front_error("ValidationException",
                              "The parameter doesn't meet the parameter name requirements. The "
                              "parameter name must begin with a forward slash \"/\".")
        base = path.rstrip("/")
        self._check_access(cred, "GetParametersByPath",
                           f"arn:aws:ssm:{self.region}:{st.account}:parameter{base or '/'}")
        token = params.get("NextToken")
        start = 0
        if token is not None:
            start = _parse_token(token, path, bool(recursive))
        with st.lock:
            names = sorted(p.name for p in st._params.values()
                           if p.account == st.account and p.name.startswith(base + "/") and
                           (recursive or "/" not in p.name[len(base) + 1:]))
        page = names[start:start + max_results]
        out = []
        for name in page:
            ent = self._resolve(cred, "GetParametersByPath", name, decrypt)
            if ent is not None:          # deleted meanwhile
                out.append(ent)
        result = {"Parameters": out}
        if start + max_results < len(names):
            result["NextToken"] = _make_token(start + max_results, path, bool(recursive))
        return result


class _VersionNotFound(Exception):
    def __init__(self, version, name):
        super().__init__(version)
        self.version = version
        self.name = name


_TOKEN_KEY = _random.token_bytes(16)


def _make_token(offset, path, recursive):
    body = f"{offset}|{recursive:d}|{path}".encode()
    mac = hmac.new(_TOKEN_KEY, body, hashlib.sha256).hexdigest()[:16]
    return "AAEA" + base64.b64encode(body).decode() + "." + mac


def _parse_token(token, path, recursive):
    try:
        if not isinstance(token, str) or not token.startswith("AAEA"):
            raise ValueError
        b64, _, mac = token[4:].rpartition(".")
        body = base64.b64decode(b64, validate=True)
        if not hmac.compare_digest(hmac.new(_TOKEN_KEY, body, hashlib.sha256).hexdigest()[:16],
                                   mac):
            raise ValueError
        off, rec, tpath = body.decode().split("|", 2)
        if tpath != path or int(rec) != int(recursive):
            raise ValueError
        return int(off)
    except (ValueError, TypeError, UnicodeDecodeError):
        raise ssm_error("InvalidNextToken", "The nextToken is not valid.",
                        message_key="Message")


# ---------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------

def _mutate_string(s, suffix, key=None):
    """Appends `suffix` inside a secret string: to one string value when it is a JSON
    object (so the outer structure stays valid), else to the text itself."""
    try:
        obj = json.loads(s)
    except ValueError:
        obj = None
    if isinstance(obj, dict):
        k = key if key in obj else next((k for k, v in obj.items() if isinstance(v, str)), None)
        if k is not None:
            obj[k] = str(obj[k]) + suffix
            return json.dumps(obj, ensure_ascii=False)
    return s + suffix


_UTF8_MARKER = "\u2063INVALID-UTF8\u2063"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT

    # Quiet: tests read the request log instead; nothing per request goes to stderr.
    def log_message(self, format, *args):
        pass

    def date_time_string(self, timestamp=None):
        return email.utils.formatdate(self.server.state.now() if timestamp is None else timestamp,
                                      usegmt=True)

    # -- plumbing ------------------------------------------------------------

    def do_POST(self):
        self._dispatch()

    def do_GET(self):
        self._dispatch()

    def do_PUT(self):
        self._dispatch()

    def do_DELETE(self):
        self._dispatch()

    def _read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks, total = [], 0
            while True:
                line = self.rfile.readline(1024)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > MAX_BODY:
                    return None
                chunks.append(self.rfile.read(size))
                self.rfile.readline(8)
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            return None
        return self.rfile.read(n) if n else b""

    def _dispatch(self):
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        if body is None:
            self._write(413, encode_json({"__type": "RequestEntityTooLarge",
                                          "message": "Request body too large"}), CT_JSON,
                        close=True)
            return
        path = self.path.split("?", 1)[0]
        if path.startswith("/__fake/"):
            self._control(path[len("/__fake/"):], body)
        else:
            self._aws(body)

    def _write(self, status, body, content_type, extra=(), close=False, transport=None):
        """Writes one whole response (head and body in one send: no Nagle stalls), or
        the broken variant a transport fault asks for."""
        kind = transport.kind if transport else None
        if kind == "close":
            close = True
        try:
            reason = http.HTTPStatus(status).phrase
        except ValueError:
            reason = "Unknown"
        lines = [f"HTTP/1.1 {status} {reason}", f"Date: {self.date_time_string()}",
                 f"Content-Type: {content_type}", f"Content-Length: {len(body)}"]
        lines += [f"{k}: {v}" for k, v in extra]
        if close:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        stop = self.server.stop_event
        if kind == "drop":
            if transport.params.get("rst"):
                self._abort()
            self.close_connection = True
            return
        if kind == "truncated":
            cut = int(transport.params.get("send_bytes", len(body) // 2))
            self.wfile.write(head + body[:max(0, min(cut, len(body) - 1))])
            self.close_connection = True
            _raw_shutdown(self.connection)
            return
        if kind == "reset":
            self.wfile.write(head + body[:len(body) // 2])
            # Let the partial body reach the peer before the abortive close discards it.
            stop.wait(float(transport.params.get("rst_after", 0.1)))
            self._abort()
            self.close_connection = True
            return
        if kind == "slow_body":
            interval = float(transport.params.get("interval", 1.0))
            self.wfile.write(head)
            for i in range(len(body)):
                if stop.wait(interval):
                    self.close_connection = True
                    return
                self.wfile.write(body[i:i + 1])
            if close:
                self.close_connection = True
            return
        self.wfile.write(head + body)
        if close:
            self.close_connection = True

    def _abort(self):
        # SO_LINGER 0 turns close() into a TCP RST.
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    # -- AWS requests ----------------------------------------------------------

    def _aws(self, body):
        st = self.server.state
        target = self.headers.get("X-Amz-Target") or ""
        ssm = target.startswith(SSM_TARGET_PREFIX)
        if ssm:
            action = target[len(SSM_TARGET_PREFIX):]
        else:
            action = target[len(TARGET_PREFIX):] if target.startswith(TARGET_PREFIX) else None
        try:
            params = json.loads(body.decode("utf-8")) if body.strip() else {}
        except ValueError:    # UnicodeDecodeError included
            params = None
        entry = {"time": st.now(), "conn": getattr(self.connection, "fake_conn_id", None),
                 "method": self.command, "path": self.path, "action": action or (target or None),
                 "secret_ids": self._secret_ids(action, params),
                 "access_key_id": None, "region": None, "service": None, "token_signed": None,
                 "signed_headers": None, "user_agent": self.headers.get("User-Agent"),
                 "status": None, "error_type": None, "fault": None}
        fault = None
        status, payload, ctype = 200, None, CT_JSON
        if st.service_time and self.server.stop_event.wait(st.service_time):
            self.close_connection = True
            return
        try:
            # The order follows AWS: authenticate, route, validate, then the operation.
            try:
                auth = verify_sigv4(st, self.command, self.path, self.headers, body,
                                    SSM_SERVICE if ssm else SERVICE)
            except AwsError as e:
                entry.update({k: v for k, v in e.partial.items() if k != "credential"})
                raise
            cred = auth.pop("credential")
            entry.update(auth)
            ctype_in = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if ctype_in not in ("application/x-amz-json-1.1", "application/x-amz-json-1.0"):
                # What AWS JSON services answer to a body they cannot route by its type.
                status, payload, ctype = 404, b"<UnknownOperationException/>\n", "application/xml"
                entry["error_type"] = "UnknownOperationException"
                raise _Answered()
            if action not in (SSM_ACTIONS if ssm else ACTIONS):
                raise front_error("UnknownOperationException",
                                  f"Unknown operation {target or '(no X-Amz-Target)'}")
            if not isinstance(params, dict):
                raise front_error("SerializationException",
                                  "Start of structure or map found where not expected.")

            fault = st.take_fault(action, entry["secret_ids"], REQUEST_FAULTS, entry["region"])
            if fault is not None:
                entry["fault"] = fault.kind
                # Any fault may carry "delay"; "slow" is a delay before a normal answer.
                delay = fault.params.get("delay")
                if fault.kind == "slow":
                    delay = fault.params.get("seconds", delay if delay is not None else 2.0)
                if delay and self.server.stop_event.wait(float(delay)):
                    self.close_connection = True
                    return
                if fault.kind in ERROR_FAULTS:
                    raise self._fault_error(fault, self.headers, ssm)
                if fault.kind in REPLACE_FAULTS:
                    status, payload, ctype = self._replacement(fault)
                    raise _Answered()

            if not st.take_token(action) or (ssm and not st.take_token(SSM_QUOTA)):
                entry["fault"] = entry["fault"] or "rate_limit"
                raise front_error("ThrottlingException", "Rate exceeded")
            if ssm:
                result = getattr(SsmOperations(st, entry["region"]), action)(cred, params)
                payload = self._encode_success(result, fault)
                raise _Answered()
            if action in cred["denied_actions"]:
                raise _access_denied(cred, action, params.get("SecretId")
                                     if action != "BatchGetSecretValue" else None)
            result = getattr(Operations(st, entry["region"]), action)(cred, params)
            payload = self._encode_success(result, fault)
        except _Answered:
            pass
        except AwsError as e:
            status = e.status
            entry["error_type"] = e.code
            payload = self._encode_error(e)
            if fault is not None and fault.kind == "oversize":
                payload = self._pad(json.loads(payload), fault)
        except Exception:
            # A bug in the fake: say so loudly instead of silently dropping the connection
            # (tests would then chase a client bug that is not there).
            traceback.print_exc(file=sys.stderr)
            status, fault = 500, None
            entry["error_type"] = "InternalFailure"
            payload = encode_json({"__type": "InternalFailure",
                                   "message": "fake Secrets Manager bug; see its stderr"})
        transport = fault if fault is not None and fault.kind in TRANSPORT_FAULTS else None
        entry["status"] = None if transport is not None and transport.kind == "drop" else status
        # Logged before answering, so a test that has its answer also sees the entry.
        st.record(entry)
        extra = [("x-amzn-RequestId", str(uuid.uuid4()))]
        if fault is not None and fault.kind in REPLACE_FAULTS:
            if fault.kind == "header_only":
                extra.append(("x-amzn-ErrorType",
                              fault.params.get("code", "AccessDeniedException") +
                              ":http://internal.amazon.com/coral/com.amazon.coral.service/"))
            extra += list(fault.params.get("headers", {}).items())
        if st.error_type_header and status >= 400 and entry["error_type"] and ctype == CT_JSON:
            extra.append(("x-amzn-ErrorType", entry["error_type"]))
        self._write(status, payload, ctype, extra, transport=transport)

    @staticmethod
    def _secret_ids(action, params):
        # Only ids go to the log, never anything else from the body.
        if not isinstance(params, dict):
            return []
        if action == "GetParameters":
            ids = params.get("Names")
            return [i for i in ids if isinstance(i, str)] if isinstance(ids, list) else []
        if action in ("GetParameter", "GetParametersByPath"):
            sid = params.get("Name" if action == "GetParameter" else "Path")
            return [sid] if isinstance(sid, str) else []
        if action == "BatchGetSecretValue":
            ids = params.get("SecretIdList")
            return [i for i in ids if isinstance(i, str)] if isinstance(ids, list) else []
        sid = params.get("SecretId")
        return [sid] if isinstance(sid, str) else []

    def _type(self, code):
        if not self.server.state.qualified_error_types:
            return code
        if code in _SM_CODES:
            return f"com.amazonaws.secretsmanager#{code}"
        if code in _SSM_CODES:
            return f"com.amazonaws.ssm#{code}"
        return f"{_CORAL_NS.get(code, 'com.amazon.coral.service')}#{code}"

    def _encode_error(self, e):
        st = self.server.state
        out = {"__type": self._type(e.code)}
        if e.message is not None:            # SSM's ParameterNotFound comes without one
            out[e.message_key] = e.message
        return encode_json(out, st.json_ascii, st.epoch_style)

    @staticmethod
    def _fault_error(fault, headers=None, ssm=False):
        p = fault.params
        if fault.kind == "echo":
            echoed = "\n".join(f"{k}: {v}" for k, v in (headers or {}).items())
            if p.get("escaped"):
                echoed = (json.dumps(dict(headers or {})).replace("/", "\\/")
                          .replace("+", "\\u002b").replace("=", "\\u003d"))
            return AwsError(int(p.get("status", 400)), p.get("code", "UnrecognizedClientException"),
                            f"{p.get('message', 'request rejected')}: {echoed}",
                            p.get("message_key", "message"))
        if fault.kind == "throttle":
            e = front_error("ThrottlingException", "Rate exceeded")
        elif fault.kind == "internal" and ssm:
            e = ssm_error("InternalServerError", "An error occurred on the server side.", 500,
                          "Message")
        elif fault.kind == "internal":
            e = sm_error("InternalServiceError", "An error occurred on the server side.", 500)
        elif fault.kind == "unavailable":
            e = front_error("ServiceUnavailableException", "Service Unavailable", 503)
        else:  # "error": anything a test wants
            e = AwsError(int(p.get("status", 400)), p.get("code", "InternalFailure"),
                         p.get("message", "injected error"), p.get("message_key", "message"))
        e.status = int(p.get("status", e.status))
        e.code = p.get("code", e.code)
        e.message = p.get("message", e.message)
        return e

    @staticmethod
    def _replacement(fault):
        p = fault.params
        if fault.kind == "xml_error":
            msg = p.get("message", "User: arn:aws:sts::111122223333:assumed-role/app/task is "
                                   "not authorized to perform this action")
            body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                    '<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
                    f'<Error><Type>Sender</Type><Code>{xml_escape(p.get("code", "AccessDenied"))}'
                    f'</Code><Message>{xml_escape(msg)}</Message></Error>'
                    f'<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>\n')
            return int(p.get("status", 403)), body.encode(), p.get("content_type", "text/xml")
        if fault.kind == "empty":
            return int(p.get("status", 403)), b"", p.get("content_type", "text/plain")
        if fault.kind == "header_only":
            return int(p.get("status", 400)), b"", p.get("content_type", CT_JSON)
        if fault.kind == "html":
            body = p.get("body", "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n"
                                 "<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n"
                                 "</body>\r\n</html>\r\n")
            return int(p.get("status", 502)), body.encode(), p.get("content_type", "text/html")
        body = p.get("body", "\x00\x01<<this is not JSON>> {\"SecretString\": ")
        return int(p.get("status", 200)), body.encode("latin-1", "replace"), \
            p.get("content_type", CT_JSON)

    def _encode_success(self, result, fault):
        st = self.server.state
        kind = fault.kind if fault is not None else None
        if kind in ("nul_value", "invalid_utf8"):
            suffix = (fault.params.get("value", "\u0000tail") if kind == "nul_value"
                      else _UTF8_MARKER)
            field = "SecretString"
            if "Parameters" in result or "Parameter" in result:     # SSM: the Value
                field = "Value"
                entries = result.get("Parameters") or [result.get("Parameter")]
            else:
                entries = result.get("SecretValues") if "SecretValues" in result else [result]
            for ent in entries:
                if not ent or field not in ent:
                    continue
                if fault.secret_arn is not None and ent.get("ARN") != fault.secret_arn:
                    continue
                ent[field] = _mutate_string(ent[field], suffix, fault.params.get("key"))
        payload = encode_json(result, st.json_ascii and kind != "invalid_utf8", st.epoch_style)
        if kind == "invalid_utf8":
            bad = fault.params.get("bytes", b"\xff\xfe\xc3\x28")
            if isinstance(bad, str):  # from the JSON control endpoint
                bad = bad.encode("latin-1")
            payload = payload.replace(_UTF8_MARKER.encode(), bad)
        if kind == "oversize":
            payload = self._pad(json.loads(payload), fault)
        return payload

    def _pad(self, obj, fault):
        """Valid JSON of exactly `size` bytes (default 64 KiB + 1): the answer plus a
        "Padding" member."""
        st = self.server.state
        size = int(fault.params.get("size", 65537))
        obj["Padding"] = ""
        base = len(encode_json(obj, st.json_ascii, st.epoch_style))
        obj["Padding"] = "x" * max(0, size - base)
        return encode_json(obj, st.json_ascii, st.epoch_style)

    # -- control endpoints -------------------------------------------------------

    def _control(self, name, body):
        st = self.server.state
        st.note_control()
        try:
            req = json.loads(body.decode("utf-8")) if body.strip() else {}
            method = self.command
            if method == "GET" and name == "stats":
                out = st.stats()
            elif method == "GET" and name == "requests":
                out = st.requests
            elif method == "GET" and name == "faults":
                out = st.faults
            elif method == "POST" and name == "reset":
                st.reset()
                out = {"ok": True}
            elif method == "POST" and name == "fault":
                req = dict(req)
                kind = req.pop("kind")
                out = {"id": st.add_fault(kind, req.pop("action", None), req.pop("secret", None),
                                          req.pop("count", None), **req)}
            elif (method == "POST" and name == "clear_faults") or \
                    (method == "DELETE" and name == "fault"):
                if "id" in req:
                    st.remove_fault(req["id"])
                else:
                    st.clear_faults()
                out = {"ok": True}
            elif method == "POST" and name == "rate_limit":
                if "limits" in req:
                    st.set_rate_limits(req["limits"])
                elif req.get("clear"):
                    st.clear_rate_limits()
                else:
                    st.set_rate_limit(req["action"], req.get("rps"), req.get("burst"))
                out = st.rate_limits
            elif method == "POST" and name == "clock":
                st.clock_skew_seconds = float(req.get("skew_seconds", 0))
                out = {"skew_seconds": st.clock_skew_seconds}
            elif method == "POST" and name == "put_secret_value":
                value = base64.b64decode(req["binary_b64"]) if "binary_b64" in req else req["string"]
                out = {"version_id": st.put_secret_value(req["secret_id"], value,
                                                         req.get("version_id"))}
            elif method == "POST" and name == "put_parameter":
                out = {"version": st.put_parameter(req["name"], req["value"], req.get("type"),
                                                   tuple(req.get("labels", ())),
                                                   req.get("key_id"), req.get("tier"),
                                                   req.get("data_type"), req.get("account"))}
            elif method == "POST" and name == "label_parameter":
                st.label_parameter(req["name"], req["version"], tuple(req["labels"]))
                out = {"ok": True}
            elif method == "POST" and name == "add_secret":
                out = {"arn": st.add_secret(req["name"], string=req.get("string"),
                                            binary=base64.b64decode(req["binary_b64"])
                                            if "binary_b64" in req else None,
                                            arn_suffix=req.get("arn_suffix"),
                                            tags=req.get("tags"))}
            else:
                self._write(404, encode_json({"error": f"no control endpoint {method} {name}"}),
                            "application/json")
                return
            self._write(200, encode_json(out), "application/json")
        except (KeyError, ValueError, TypeError) as e:
            self._write(400, encode_json({"error": f"{type(e).__name__}: {e}"}), "application/json")
        except Exception as e:
            traceback.print_exc(file=sys.stderr)
            self._write(500, encode_json({"error": f"{type(e).__name__}"}), "application/json")


def _raw_shutdown(sock):
    # socket-level shutdown (FIN) that leaves the SSL object alone: SSLSocket.shutdown
    # would drop it under a thread that may be reading from it.
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass


class _Answered(Exception):
    """Internal: the response is already decided (non-JSON answers)."""


class _TLSServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, state, ssl_context):
        self.state = state
        self.ssl_context = ssl_context
        self.stop_event = threading.Event()
        self.active = set()
        self.active_lock = threading.Lock()
        super().__init__(addr, Handler)

    def get_request(self):
        sock, addr = self.socket.accept()
        conn_id = self.state.note_connection()
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        # The handshake runs later, in the connection's own thread, so a stuck or
        # failing client never blocks accept().
        tls = self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        tls.fake_conn_id = conn_id
        return tls, addr

    def finish_request(self, request, client_address):
        with self.active_lock:
            self.active.add(request)
        try:
            request.settimeout(HANDSHAKE_TIMEOUT)
            try:
                request.do_handshake()
            except (ssl.SSLError, OSError):
                self.state.note_handshake(False)
                return
            self.state.note_handshake(True, request.session_reused)
            self.RequestHandlerClass(request, client_address, self)
        finally:
            with self.active_lock:
                self.active.discard(request)

    def handle_error(self, request, client_address):
        # Clients hanging up mid-response are expected here; stay quiet unless asked.
        if os.environ.get("FAKE_SM_DEBUG"):
            super().handle_error(request, client_address)

    def drop_connections(self):
        with self.active_lock:
            socks = list(self.active)
        for s in socks:
            _raw_shutdown(s)


# ---------------------------------------------------------------------------
# Certificates
# ---------------------------------------------------------------------------

def _openssl(*args):
    r = subprocess.run(["openssl", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed: {r.stderr.decode(errors='replace')}")


def _asn1(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y%m%d%H%M%SZ")


def make_certs(state_dir, cert_mode="normal"):
    """Creates (or reuses) the throwaway CA in state_dir and a server cert for cert_mode;
    returns (ca_file, cert_file, key_file). ECDSA P-256 throughout, for speed."""
    if cert_mode not in CERT_MODES:
        raise ValueError(f"cert_mode must be one of {CERT_MODES}")
    d = os.path.abspath(str(state_dir))
    os.makedirs(d, exist_ok=True)
    ca, ca_key = os.path.join(d, "ca.pem"), os.path.join(d, "ca.key")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    # Reusing an existing CA keeps clients of another server in this dir working.
    if not (os.path.exists(ca) and os.path.exists(ca_key)):
        _openssl("req", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-days", "30",
                 "-subj", "/O=injector tests/CN=injector fake Secrets Manager CA",
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                 "-addext", "subjectKeyIdentifier=hash")
    cert, key = os.path.join(d, f"server-{cert_mode}.pem"), os.path.join(d, f"server-{cert_mode}.key")
    if cert_mode == "wronghost":
        cn, san = "wrong.example.com", "DNS:wrong.example.com"
    else:
        # sm.injector.test: a name only an /etc/hosts line resolves (the image test's DNS).
        cn, san = "localhost", "DNS:localhost,DNS:sm.injector.test,IP:127.0.0.1"
    exts = (f"subjectAltName={san}\nbasicConstraints=critical,CA:FALSE\n"
            "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
            "subjectKeyIdentifier=hash\n")
    if cert_mode == "untrusted":
        # Self-signed: valid in every other way, just not from the CA in ca.pem.
        _openssl("req", "-x509", *ec, "-keyout", key, "-out", cert, "-days", "30",
                 "-subj", f"/CN={cn}", *sum((["-addext", e] for e in exts.strip().split("\n")), []))
        return ca, cert, key
    csr = os.path.join(d, f"server-{cert_mode}.csr")
    _openssl("req", "-new", *ec, "-keyout", key, "-out", csr, "-subj", f"/CN={cn}")
    # `openssl ca` (unlike `x509 -req`) takes explicit start/end dates, which is how
    # the expired certificate gets a validity period entirely in the past.
    cadir = os.path.join(d, "ca-db")
    os.makedirs(cadir, exist_ok=True)
    with open(os.path.join(cadir, "index.txt"), "w"):
        pass
    with open(os.path.join(cadir, "serial"), "w") as f:
        f.write(_random.token_hex(8).upper() + "\n")
    conf = os.path.join(cadir, "ca.cnf")
    with open(conf, "w") as f:
        f.write(f"[ca]\ndefault_ca = fake\n[fake]\ndatabase = {cadir}/index.txt\n"
                f"new_certs_dir = {cadir}\nserial = {cadir}/serial\ndefault_md = sha256\n"
                "policy = pol\nunique_subject = no\ncopy_extensions = none\n"
                "[pol]\ncommonName = supplied\n[srv]\n" + exts +
                "authorityKeyIdentifier=keyid\n")
    now = time.time()
    if cert_mode == "expired":
        start, end = now - 30 * 86400, now - 86400
    else:
        start, end = now - 3600, now + 30 * 86400
    _openssl("ca", "-batch", "-config", conf, "-cert", ca, "-keyfile", ca_key, "-in", csr,
             "-out", cert, "-startdate", _asn1(start), "-enddate", _asn1(end),
             "-extensions", "srv", "-notext")
    return ca, cert, key


# ---------------------------------------------------------------------------
# Server object
# ---------------------------------------------------------------------------

class FakeSecretsManager:
    """The fake, run in a background thread.

    srv = FakeSecretsManager(state_dir, cert_mode="normal", port=0); srv.start()
    srv.url, srv.port, srv.ca_file, srv.state, srv.env(credential="default"),
    srv.reset(), srv.drop_connections(), srv.stop(). Also a context manager.
    """

    def __init__(self, state_dir, cert_mode="normal", port=0, host="127.0.0.1", state=None):
        self.state_dir = os.path.abspath(str(state_dir))
        self.cert_mode = cert_mode
        self.host = host
        self._port = int(port)
        self.state = state or FakeState()
        self.ca_file = None
        self.cert_file = None
        self._server = None
        self._thread = None

    def start(self):
        self.ca_file, self.cert_file, key = make_certs(self.state_dir, self.cert_mode)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(self.cert_file, key)
        ctx.set_alpn_protocols(["http/1.1"])
        self._server = _TLSServer((self.host, self._port), self.state, ctx)
        self._port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"fake-sm-{self._port}", daemon=True)
        self._thread.start()
        return self

    @property
    def port(self):
        return self._port

    @property
    def url(self):
        return f"https://{self.host}:{self._port}"

    def env(self, credential=seed.DEFAULT_CREDENTIAL):
        """Environment for a client using this fake with the named credential."""
        c = self.state.credential(credential)
        if c is None:
            raise KeyError(credential)
        env = {"AWS_ENDPOINT_URL": self.url, "AWS_CA_BUNDLE": self.ca_file,
               "AWS_ACCESS_KEY_ID": c["access_key_id"],
               "AWS_SECRET_ACCESS_KEY": c["secret_access_key"], "AWS_REGION": self.state.region}
        if c["session_token"]:
            env["AWS_SESSION_TOKEN"] = c["session_token"]
        return env

    def reset(self):
        self.state.reset()

    def drop_connections(self):
        """Closes every open client connection (keep-alive ones included)."""
        if self._server:
            self._server.drop_connections()

    def stop(self):
        if self._server is None:
            return
        self._server.stop_event.set()
        self._server.shutdown()
        self._server.server_close()
        self._server.drop_connections()
        self._thread.join(5)
        self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


# ---------------------------------------------------------------------------
# Standalone
# ---------------------------------------------------------------------------

def _write_file(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def _sh_quote(v):
    return "'" + v.replace("'", "'\\''") + "'"


def main(argv=None):
    ap = argparse.ArgumentParser(description="Fake AWS Secrets Manager over HTTPS for injector tests.")
    ap.add_argument("--dir", required=True, help="state dir: CA, certs, port and env files")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--cert-mode", default="normal", choices=CERT_MODES)
    ap.add_argument("--rate-limit", action="append", default=[], metavar="ACTION=RPS")
    ap.add_argument("--clock-skew", type=float, default=0.0, metavar="SECONDS")
    ap.add_argument("--service-time", type=float, default=0.0, metavar="MS",
                    help="every AWS request waits this long before its answer (as AWS's own time)")
    args = ap.parse_args(argv)

    srv = FakeSecretsManager(args.dir, cert_mode=args.cert_mode, port=args.port)
    for spec in args.rate_limit:
        action, _, rps = spec.partition("=")
        srv.state.set_rate_limit(action, float(rps))
    srv.state.clock_skew_seconds = args.clock_skew
    srv.state.service_time = args.service_time / 1000.0
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    srv.start()
    # ca.pem is already in the dir (make_certs); port and env complete the hand-off.
    _write_file(os.path.join(srv.state_dir, "port"), f"{srv.port}\n")
    _write_file(os.path.join(srv.state_dir, "env"),
                "".join(f"export {k}={_sh_quote(v)}\n" for k, v in srv.env().items()))
    print(f"READY {srv.port}", flush=True)
    while not done.wait(0.5):
        pass
    srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
