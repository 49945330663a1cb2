"""The bad-input matrix (issue 8): one row per way the input to injector can be wrong.

Each case says what goes in (a config, faults the fake endpoint injects, environment
changes, the command) and what must come out: the exit code and a fragment of the message
on stderr. tests/integration/test_bad_input.py runs every row and, for every row, also
checks that no secret value and no credential appears in stdout/stderr, that no secret
file is left behind and that the command was not started.

Placeholders in config, argv and env values (replaced by the test):
  @RDS@   the RDS-managed secret's name        @API@  the api secret's full ARN
  @DIR@   a private directory on tmpfs (files entries land here by default)
  @DISK@  a directory on a disk filesystem      @RO@   a read-only tmpfs mount
  @TINY@  a 4 KiB tmpfs                         @WW@   a world-writable dir without sticky bit
  @LINK@  a tmpfs dir holding a symlink "db" -> elsewhere
  @GW@    a group-writable dir without sticky bit   @ALIEN@ a dir owned by uid 65534 (a third user)
  @LINKDIR@ a symlink to a tmpfs dir (the parent of a file entry)
  @TMP@   the test's temp dir (scripts for the exec cases live here)
  @CMD@   the default command (a probe that records it ran)
  @FIFO@  a FIFO without a writer (setup "fifo"); config="@FIFO@" makes it the config file
A fragment "a|b" matches either alternative (for transport errors whose wording depends on
timing). setup "profile:TEXT" writes TEXT to $HOME/.aws/credentials.
"""
from dataclasses import dataclass, field

# Exit codes (README, injector/err.h).
USAGE, DATA, NOINPUT, UNAVAILABLE, SOFTWARE, IO, TEMPFAIL, NOPERM, CONFIG = \
    64, 65, 66, 69, 70, 74, 75, 77, 78
NOEXEC, NOTFOUND = 126, 127

ENTRY = "env:\n  PGUSER: { from: \"@RDS@\", key: username }\n"
FILE_ENTRY = "files:\n  @DIR@/db.json: secretPostgresqlMasterUser\n"
# A fetch that succeeds plus a file, so each failure also proves all-or-nothing.
STD = "version: 1\n" + ENTRY + FILE_ENTRY


@dataclass(frozen=True)
class Case:
    id: str
    category: str
    rc: int
    fragment: str
    config: str = STD            # YAML text with placeholders (ignored when raw is set)
    raw: bytes = None            # the config file's exact bytes
    faults: tuple = ()           # (kind, {params}) for fault_action on the fake
    fault_action: str = "GetSecretValue"   # "GetParameters" for the SSM rows
    parameters: tuple = ()       # (name, value) SSM String parameters added before the run
    secrets: tuple = ()          # (name, str or bytes[, {tags}]) added to the fake before the run
    deny: tuple = ()             # (action, secret or None) refused for the run's credentials
    env: dict = field(default_factory=dict)   # overrides; None removes the variable
    args: tuple = ()             # extra injector options before "-c"
    argv: tuple = ("@CMD@",)     # the command
    setup: tuple = ()            # names of environment fixtures the case needs
    endpoint: str = None         # "expired" | "wronghost" | "untrusted": a second fake
    max_seconds: float = 20.0    # wall-clock bound (slow loris, bombs)
    check_file: bool = True      # True: no file may appear in @DIR@


def _gen_bomb():
    # Billion laughs: nine levels of ten aliases each. libyaml keeps aliases as references
    # (no expansion), and the config refuses them, so this must fail fast and small.
    lines = ['version: 1', 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        refs = ",".join(f"*a{i - 1}" for _ in range(10))
        lines.append(f"a{i}: &a{i} [{refs}]")
    return "\n".join(lines) + "\n"


def _gen_many_entries(n):
    return "version: 1\nenv:\n" + "".join(f"  V{i}: plain/text\n" for i in range(n))


VID_OK = "a1b2c3d4-0002-4000-8000-000000000002"
# No keys in the environment: the chain goes on to files, web identity, the container.
NO_KEYS = {"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None, "AWS_SESSION_TOKEN": None}

CASES = [
    # ---- YAML: syntax, structure, types ------------------------------------------------
    Case("yaml-unclosed-flow", "yaml", CONFIG, "YAML syntax error",
         config="version: 1\nenv: { PGUSER: plain/text\n"),
    Case("yaml-bad-indent", "yaml", CONFIG, "YAML syntax error",
         config="version: 1\nenv:\n    A: plain/text\n  B: plain/text\n"),
    Case("yaml-unclosed-quote", "yaml", CONFIG, "YAML syntax error",
         config='version: 1\nenv:\n  A: "plain/text\n'),
    Case("yaml-tab-indent", "yaml", CONFIG, "YAML syntax error",
         config="version: 1\nenv:\n\tA: plain/text\n"),
    Case("yaml-tab-after-key", "yaml", CONFIG, "YAML syntax error",
         config="version: 1\nenv:\n  A:\n\tfrom: plain/text\n"),
    Case("yaml-alias-entry", "yaml", CONFIG, "aliases",
         config="version: 1\nenv:\n  A: &s plain/text\n  B: *s\n"),
    Case("yaml-alias-mapping", "yaml", CONFIG, "aliases",
         config="version: 1\nenv:\n  A: &m { from: plain/text }\n  B: *m\n"),
    Case("yaml-alias-bomb", "yaml", CONFIG, "aliases", config=_gen_bomb(),
         max_seconds=5),
    Case("yaml-undefined-alias", "yaml", CONFIG, "aliases",
         config="version: 1\nenv:\n  A: *nothing\n"),
    Case("yaml-deep-nesting", "yaml", CONFIG, "nested deeper than 32 levels",
         raw=b"version: 1\nenv: " + b"[" * 100000 + b"]" * 100000 + b"\n", max_seconds=5),
    Case("yaml-huge-document", "yaml", CONFIG, "larger than 1048576 bytes",
         raw=b"version: 1\n" + b"# " + b"x" * (1024 * 1024) + b"\n"),
    Case("yaml-too-many-entries", "yaml", CONFIG, "too many entries",
         config=_gen_many_entries(10001), max_seconds=10),
    Case("yaml-long-scalar", "yaml", CONFIG, ":3:6: A: ",
         config="version: 1\nenv:\n  A: " + "x" * 600000 + "\n"),
    Case("yaml-duplicate-top-key", "yaml", CONFIG, 'duplicate key "version"',
         config="version: 1\nversion: 1\n"),
    Case("yaml-duplicate-env-name", "yaml", CONFIG, 'duplicate key "A"',
         config="version: 1\nenv:\n  A: plain/text\n  A: api\n"),
    Case("yaml-duplicate-entry-field", "yaml", CONFIG, 'duplicate key "from"',
         config="version: 1\nenv:\n  A:\n    from: plain/text\n    from: api\n"),
    Case("yaml-duplicate-section", "yaml", CONFIG, 'duplicate key "env"',
         config="version: 1\nenv:\n  A: plain/text\nenv:\n  B: api\n"),
    Case("yaml-root-scalar", "yaml", CONFIG, "must be a mapping",
         config="just a string\n"),
    Case("yaml-root-list", "yaml", CONFIG, "must be a mapping",
         config="- version: 1\n"),
    Case("yaml-env-is-list", "yaml", CONFIG, "must be a mapping",
         config="version: 1\nenv:\n  - A: plain/text\n"),
    Case("yaml-version-list", "yaml", CONFIG, "version must be a string",
         config="version: [1]\n"),
    Case("yaml-version-2", "yaml", CONFIG, "unsupported config version",
         config="version: 2\n"),
    Case("yaml-timeout-not-duration", "yaml", CONFIG,
         ':2:10: timeout: "soon" is not a duration like 500ms, 30s or 2m',
         config="version: 1\ntimeout: soon\nenv:\n  A: plain/text\n"),
    Case("yaml-timeout-over-an-hour", "yaml", CONFIG, "more than 0 and at most 1h",
         config="version: 1\ntimeout: 2h\nenv:\n  A: plain/text\n"),
    Case("yaml-version-missing", "yaml", CONFIG, 'missing "version: 1"',
         config="env:\n  A: plain/text\n"),
    Case("yaml-entry-list", "yaml", CONFIG, "not a list",
         config="version: 1\nenv:\n  A: [plain/text]\n"),
    Case("yaml-optional-not-bool", "yaml", CONFIG, "must be true or false",
         config="version: 1\nenv:\n  A: { from: plain/text, optional: yes }\n"),
    Case("yaml-allow-disk-not-bool", "yaml", CONFIG, "must be true or false",
         config="version: 1\nfiles:\n  /run/x: { from: plain/text, allow_disk: 1 }\n"),
    Case("yaml-mode-not-octal", "yaml", CONFIG, "octal permission bits",
         config='version: 1\nfiles:\n  /run/x: { from: plain/text, mode: "rw" }\n'),
    Case("yaml-mode-world-writable", "yaml", CONFIG, "world-writable",
         config='version: 1\nfiles:\n  /run/x: { from: plain/text, mode: "0602" }\n'),
    Case("yaml-mode-setuid", "yaml", CONFIG, "octal permission bits",
         config='version: 1\nfiles:\n  /run/x: { from: plain/text, mode: "4400" }\n'),
    Case("yaml-key-not-string", "yaml", CONFIG, "key must be a string",
         config="version: 1\nenv:\n  A: { from: plain/text, key: { a: b } }\n"),
    Case("yaml-mapping-key-not-scalar", "yaml", CONFIG, "mapping keys must be strings",
         config="version: 1\nenv:\n  ? [a, b]\n  : plain/text\n"),
    Case("yaml-unknown-top-key", "yaml", CONFIG, 'unknown top-level key "secrets"',
         config="version: 1\nsecrets:\n  A: plain/text\n"),
    Case("yaml-log-format-unknown", "yaml", CONFIG,
         ':2:13: log_format must be text or json, not "xml"', config=STD.replace(
             "version: 1\n", "version: 1\nlog_format: xml\n")),
    Case("yaml-log-format-not-scalar", "yaml", CONFIG,
         ":2:13: log_format must be a string, not a list",
         config=STD.replace("version: 1\n", "version: 1\nlog_format: [json]\n")),
    Case("yaml-unknown-entry-key", "yaml", CONFIG, 'unknown key "kee"',
         config="version: 1\nenv:\n  A: { from: plain/text, kee: x }\n"),
    Case("yaml-file-key-in-env", "yaml", CONFIG, 'unknown key "mode"',
         config='version: 1\nenv:\n  A: { from: plain/text, mode: "0400" }\n'),
    Case("yaml-env-key-in-file", "yaml", CONFIG, 'unknown key "overwrite"',
         config="version: 1\nfiles:\n  /run/x: { from: plain/text, overwrite: true }\n"),
    Case("yaml-missing-from", "yaml", CONFIG, 'missing "from"',
         config="version: 1\nenv:\n  A: { key: password }\n"),
    Case("yaml-non-utf8", "yaml", CONFIG, "YAML syntax error",
         raw=b"version: 1\nenv:\n  A: plain/\xff\xfetext\n"),
    Case("yaml-latin1-name", "yaml", CONFIG, "YAML syntax error",
         raw=b"version: 1\nenv:\n  CAF\xc9: plain/text\n"),
    Case("yaml-nul-byte", "yaml", CONFIG, "control characters are not allowed",
         raw=b"version: 1\nenv:\n  A: plain\x00/text\n"),
    Case("yaml-escaped-nul", "yaml", CONFIG, "NUL",
         config='version: 1\nenv:\n  A: "plain\\0/text"\n'),
    Case("yaml-empty-file", "yaml", CONFIG, "empty", raw=b""),
    Case("yaml-only-comments", "yaml", CONFIG, "empty", raw=b"# nothing here\n\n"),
    Case("yaml-two-documents", "yaml", CONFIG, "more than one YAML document",
         config="version: 1\n---\nversion: 1\n"),
    Case("yaml-env-name-invalid", "yaml", CONFIG, "not a valid environment variable name",
         config="version: 1\nenv:\n  1ABC: plain/text\n"),
    Case("yaml-env-name-dash", "yaml", CONFIG, "not a valid environment variable name",
         config="version: 1\nenv:\n  MY-VAR: plain/text\n"),
    Case("yaml-env-ld-preload", "yaml", CONFIG, "loader/shell variable",
         config="version: 1\nenv:\n  LD_PRELOAD: plain/text\n"),
    Case("yaml-env-path", "yaml", CONFIG, "loader/shell variable",
         config="version: 1\nenv:\n  PATH: plain/text\n"),
    Case("yaml-env-bash-env", "yaml", CONFIG, "loader/shell variable",
         config="version: 1\nenv:\n  BASH_ENV: plain/text\n"),
    Case("yaml-file-relative", "yaml", CONFIG, "not an absolute, normalised file path",
         config="version: 1\nfiles:\n  run/secret: plain/text\n"),
    Case("yaml-file-dotdot", "yaml", CONFIG, "not an absolute, normalised file path",
         config="version: 1\nfiles:\n  /run/../etc/passwd: plain/text\n"),
    Case("yaml-file-trailing-slash", "yaml", CONFIG, "not an absolute, normalised file path",
         config="version: 1\nfiles:\n  /run/secrets/: plain/text\n"),
    Case("yaml-region-invalid", "yaml", CONFIG, "is not an AWS region name",
         config="version: 1\nregion: Frankfurt\nenv:\n  A: plain/text\n"),
    # Explicit YAML tags are refused where they stand (issue 21): scalar, mapping and sequence
    # tags, the non-specific "!", the core schema's own !!str. Each config would otherwise
    # fetch (the tag ignored), so the exit code proves the refusal.
    Case("yaml-tag-binary", "yaml", CONFIG, 'matrix.yaml:3:11: YAML tag "!!binary"',
         config="version: 1\nenv:\n  PGUSER: !!binary cGxhaW4vdGV4dA==\n" + FILE_ENTRY),
    Case("yaml-tag-python-object", "yaml", CONFIG,
         'matrix.yaml:3:11: YAML tag "!!python/object/apply:os.system"',
         config='version: 1\nenv:\n  PGUSER: !!python/object/apply:os.system ["id"]\n'
                + FILE_ENTRY),
    Case("yaml-tag-str", "yaml", CONFIG, 'matrix.yaml:3:11: YAML tag "!!str"',
         config='version: 1\nenv:\n  PGUSER: !!str "@RDS@:username"\n' + FILE_ENTRY),
    Case("yaml-tag-nonspecific", "yaml", CONFIG, 'matrix.yaml:3:11: YAML tag "!"',
         config='version: 1\nenv:\n  PGUSER: ! "@RDS@:username"\n' + FILE_ENTRY),
    Case("yaml-tag-local-mapping", "yaml", CONFIG, 'matrix.yaml:3:11: YAML tag "!custom"',
         config="version: 1\nenv:\n  PGUSER: !custom { from: \"@RDS@\", key: username }\n"
                + FILE_ENTRY),
    Case("yaml-tag-root-map", "yaml", CONFIG, 'matrix.yaml:1:5: YAML tag "!!map"',
         config="--- !!map\n" + STD),
    Case("yaml-tag-sequence", "yaml", CONFIG, 'matrix.yaml:2:19: YAML tag "!!seq"',
         config="version: 1\nfailover_regions: !!seq []\n" + ENTRY + FILE_ENTRY),
    Case("config-is-directory", "yaml", NOINPUT, "not a regular file", config=None),
    Case("config-is-fifo", "yaml", NOINPUT, "config @FIFO@: a FIFO, not a regular file",
         config="@FIFO@", setup=("fifo",)),

    # ---- references ----------------------------------------------------------------------
    Case("ref-arn-too-short", "ref", CONFIG, "bad ARN",
         config="version: 1\nenv:\n  A: arn:aws:secretsmanager:eu-central-1:111122223333:secret\n"),
    Case("ref-arn-wrong-partition", "ref", CONFIG, "is not in partition aws-cn",
         config="version: 1\nenv:\n  A: arn:aws-cn:secretsmanager:eu-central-1:111122223333:"
                "secret:api-Xy12Zz\n"),
    Case("ref-arn-unknown-partition", "ref", CONFIG, 'unknown partition "azure"',
         config="version: 1\nenv:\n  A: arn:azure:secretsmanager:eu-central-1:111122223333:"
                "secret:api-Xy12Zz\n"),
    Case("ref-arn-wrong-service", "ref", CONFIG, "not secretsmanager",
         config="version: 1\nenv:\n  A: arn:aws:s3:eu-central-1:111122223333:secret:api\n"),
    Case("ref-arn-bad-account", "ref", CONFIG, "12-digit account id",
         config="version: 1\nenv:\n  A: arn:aws:secretsmanager:eu-central-1:11112222333:"
                "secret:api-Xy12Zz\n"),
    Case("ref-arn-bad-region", "ref", CONFIG, "is not a region",
         config="version: 1\nenv:\n  A: arn:aws:secretsmanager:europe:111122223333:"
                "secret:api-Xy12Zz\n"),
    Case("ref-arn-parameter", "ref", CONFIG, 'resource type is "parameter"',
         config="version: 1\nenv:\n  A: arn:aws:secretsmanager:eu-central-1:111122223333:"
                "parameter:api\n"),
    Case("ref-arn-empty-name", "ref", CONFIG, "is not a valid secret name",
         config="version: 1\nenv:\n  A: \"arn:aws:secretsmanager:eu-central-1:111122223333:"
                "secret:\"\n"),
    Case("ref-too-many-fields", "ref", CONFIG, "too many ':' fields",
         config="version: 1\nenv:\n  A: \"api:token:AWSCURRENT:" + VID_OK + ":extra\"\n"),
    Case("ref-name-space", "ref", CONFIG, "not a valid secret name",
         config='version: 1\nenv:\n  A: "my secret"\n'),
    Case("ref-name-too-long", "ref", CONFIG, "not a valid secret name",
         config="version: 1\nenv:\n  A: " + "n" * 513 + "\n"),
    Case("ref-empty-from", "ref", CONFIG, "empty secret reference",
         config='version: 1\nenv:\n  A: { from: "" }\n'),
    Case("ref-empty-key", "ref", CONFIG, "key is empty",
         config='version: 1\nenv:\n  A: { from: api, key: "" }\n'),
    Case("ref-key-twice", "ref", CONFIG, "json key given both",
         config="version: 1\nenv:\n  A: { from: \"api:token\", key: token }\n"),
    Case("ref-key-and-pointer", "ref", CONFIG, "either",
         config="version: 1\nenv:\n  A: { from: api, key: token, pointer: /token }\n"),
    Case("ref-bad-pointer", "ref", CONFIG, "not an RFC 6901 JSON pointer",
         config="version: 1\nenv:\n  A: { from: api, pointer: token }\n"),
    Case("ref-bad-pointer-escape", "ref", CONFIG, "not an RFC 6901 JSON pointer",
         config="version: 1\nenv:\n  A: { from: api, pointer: /a~2 }\n"),
    Case("ref-bad-version-id-compact", "ref", CONFIG, "bad version id",
         config='version: 1\nenv:\n  A: "api:token::not-a-uuid"\n'),
    Case("ref-bad-version-id-field", "ref", CONFIG, "version_id given twice or invalid",
         config="version: 1\nenv:\n  A: { from: api, version_id: \"" + "z" * 65 + "\" }\n"),
    Case("ref-bad-version-id-chars", "ref", CONFIG, "bad version id",
         config='version: 1\nenv:\n  A: "api:token::' + "a" * 31 + '/"\n'),
    Case("ref-bad-stage", "ref", CONFIG, "version_stage given twice or invalid",
         config='version: 1\nenv:\n  A: { from: api, version_stage: "AWS CURRENT" }\n'),
    Case("ref-unknown-version-id", "ref", DATA, "not found",
         config="version: 1\nenv:\n  A: { from: api, version_id: "
                "a1b2c3d4-9999-4000-8000-000000000009 }\n"),

    # ---- service responses: every GetSecretValue / common error code -----------------------
    # A front end that echoes the request headers (Authorization, X-Amz-Security-Token) in
    # its error message: the message is printed with them cut out (issue 20 item 3).
    # Both entries fail alike: one line names the cause; what AWS said about each (the echo,
    # redacted) is in the entries' own lines, which -v prints.
    Case("aws-error-echoes-request-headers", "aws-error", NOPERM,
         "?Authorization: [redacted]?X-Amz-Date: ", args=("-v", "-v"),
         faults=(("echo", {}),), env={"@CRED@": "temporary"}),
    *[Case(f"aws-{code}", "aws-error", rc, frag,
           faults=(("error", {"status": status, "code": code, "message": "injected"}),),
           env={"AWS_MAX_ATTEMPTS": "1"})
      for code, status, rc, frag in [
          ("DecryptionFailure", 400, NOPERM, "cannot be decrypted"),
          ("InternalServiceError", 500, UNAVAILABLE, "HTTP 500 InternalServiceError"),
          ("InvalidParameterException", 400, CONFIG, "rejected as invalid"),
          ("InvalidRequestException", 400, DATA, "scheduled for deletion"),
          ("ResourceNotFoundException", 400, DATA, "not found"),
          ("AccessDeniedException", 400, NOPERM, "secretsmanager:GetSecretValue denied"),
          ("IncompleteSignature", 400, NOPERM, "not authenticated"),
          ("InternalFailure", 500, UNAVAILABLE, "HTTP 500 InternalFailure"),
          ("InternalServiceFailure", 500, UNAVAILABLE, "HTTP 500"),
          ("InvalidAction", 400, SOFTWARE, "does not know the action"),
          ("InvalidClientTokenId", 403, NOPERM, "is not valid"),
          ("NotAuthorized", 400, NOPERM, "not authorized"),
          ("OptInRequired", 403, NOPERM, "not opted in"),
          ("RequestExpired", 400, NOPERM, "NTP"),
          ("ServiceUnavailable", 503, UNAVAILABLE, "HTTP 503"),
          ("ThrottlingException", 400, TEMPFAIL, "throttled"),
          ("ValidationError", 400, CONFIG, "rejected as invalid"),
          ("ValidationException", 400, CONFIG, "rejected as invalid"),
          ("UnrecognizedClientException", 400, NOPERM, "is not valid"),
          ("ExpiredTokenException", 400, NOPERM, "has expired"),
          ("MissingAuthenticationToken", 403, NOPERM, "not authenticated"),
          ("InvalidSignatureException", 403, NOPERM, "signature rejected"),
          ("SomethingNewException", 400, UNAVAILABLE, "unexpected response"),
      ]],
    Case("aws-kms-access-denied", "aws-error", NOPERM, "kms:Decrypt denied",
         faults=(("kms", {"mode": "access"}),)),
    Case("aws-no-error-body", "aws-error", UNAVAILABLE, "HTTP 418",
         faults=(("garbage", {"status": 418, "body": ""}),)),

    # ---- service responses: every error shape (JSON __type, x-amzn-ErrorType, XML, none) ----
    Case("aws-xml-403-access-denied", "aws-error", NOPERM,
         "secretsmanager:GetSecretValue denied (AccessDenied",
         faults=(("xml_error", {}),)),
    Case("aws-xml-403-signature", "aws-error", NOPERM, "signature rejected",
         faults=(("xml_error", {"code": "SignatureDoesNotMatch",
                                "message": "The request signature we calculated does not "
                                           "match the signature you provided."}),)),
    Case("aws-xml-403-unknown-code", "aws-error", NOPERM,
         "HTTP 403 Forbidden: GetSecretValue refused: the role lacks "
         "secretsmanager:GetSecretValue, or the access key or its signature was refused",
         faults=(("xml_error", {"code": "Forbidden"}),)),
    Case("aws-html-403", "aws-error", NOPERM,
         "HTTP 403 (not an AWS error body): GetSecretValue refused: the role lacks "
         "secretsmanager:GetSecretValue",
         faults=(("html", {"status": 403, "body": "<html><body><h1>403 Forbidden</h1>"
                                                  "</body></html>"}),)),
    Case("aws-empty-403", "aws-error", NOPERM,
         "HTTP 403 (not an AWS error body): GetSecretValue refused",
         faults=(("empty", {}),)),
    Case("aws-empty-401", "aws-error", NOPERM,
         "HTTP 401 (not an AWS error body): GetSecretValue refused",
         faults=(("empty", {"status": 401}),)),
    Case("aws-header-only-code", "aws-error", NOPERM,
         "secretsmanager:GetSecretValue denied (AccessDeniedException",
         faults=(("header_only", {}),)),
    Case("aws-namespaced-code-extra", "aws-error", DATA, "not found in",
         faults=(("error", {"code": "com.amazonaws.secretsmanager#ResourceNotFoundException"
                                    ":http://internal.amazon.com/coral/", "message": "x"}),)),
    Case("aws-namespaced-access-denied", "aws-error", NOPERM,
         "secretsmanager:GetSecretValue denied (AccessDeniedException",
         faults=(("error", {"code": "com.amazon.coral.service#AccessDeniedException:extra",
                            "message": "no"}),)),
    # A throttle is retried until the start deadline, whatever AWS_MAX_ATTEMPTS says.
    Case("aws-html-429", "aws-error", TEMPFAIL, "deadline passed after",
         faults=(("html", {"status": 429, "body": "<html>Too Many Requests</html>"}),),
         env={"AWS_MAX_ATTEMPTS": "1"}, args=("--timeout", "2")),
    Case("aws-html-502-retried-out", "aws-error", UNAVAILABLE,
         "failed with HTTP 502 (no error code) after 2 attempt(s)",
         faults=(("html", {}),), env={"AWS_MAX_ATTEMPTS": "2"}),

    # ---- service responses: broken bodies and transports ----------------------------------
    Case("resp-html-502", "response", UNAVAILABLE, "HTTP 502",
         faults=(("html", {}),), env={"AWS_MAX_ATTEMPTS": "1"}),
    Case("resp-html-200", "response", UNAVAILABLE, "not a JSON object",
         faults=(("html", {"status": 200}),)),
    Case("resp-truncated-json", "response", UNAVAILABLE, "not a JSON object",
         faults=(("garbage", {"body": '{"ARN":"arn:x","Name":"x","SecretString":"ab'}),)),
    Case("resp-truncated-transport", "response", UNAVAILABLE, "truncated",
         faults=(("truncated", {}),), env={"AWS_MAX_ATTEMPTS": "1"}),
    Case("resp-invalid-utf8", "response", UNAVAILABLE, "UTF-8",
         faults=(("invalid_utf8", {}),)),
    Case("resp-garbage", "response", UNAVAILABLE, "not a JSON object",
         faults=(("garbage", {}),)),
    Case("resp-json-array", "response", UNAVAILABLE, "not a JSON object",
         faults=(("garbage", {"body": "[]"}),)),
    Case("resp-no-value", "response", UNAVAILABLE, "neither SecretString nor SecretBinary",
         faults=(("garbage", {"body": '{"ARN":"arn:x","Name":"x"}'}),)),
    Case("resp-secretstring-number", "response", UNAVAILABLE, "neither SecretString",
         faults=(("garbage", {"body": '{"ARN":"arn:x","Name":"x","SecretString":5}'}),)),
    Case("resp-bad-base64", "response", DATA, "not valid base64",
         config="version: 1\nfiles:\n  @DIR@/blob: bin/blob\n",
         faults=(("garbage", {"body": '{"ARN":"arn:x","Name":"x","SecretBinary":"!!!!"}'}),)),
    Case("resp-nul-value", "response", DATA, "NUL", faults=(("nul_value", {}),)),
    Case("resp-binary-nul-to-env", "response", DATA, "NUL",
         config="version: 1\nenv:\n  BLOB: bin/blob\n" + FILE_ENTRY),
    Case("resp-not-json-with-key", "response", DATA, "is not JSON",
         config="version: 1\nenv:\n  A: { from: plain/text, key: k }\n" + FILE_ENTRY),
    Case("resp-json-not-object-with-key", "response", DATA, "not an object",
         config="version: 1\nenv:\n  A: { from: matrix/array, key: k }\n" + FILE_ENTRY,
         secrets=(("matrix/array", '["CANARY-MATRIX1", 2]'),)),
    Case("resp-number-beyond-double", "response", DATA, "too large to pass on exactly",
         config="version: 1\nenv:\n  A: { from: matrix/bignum, key: id }\n" + FILE_ENTRY,
         secrets=(("matrix/bignum", '{"id": 12345678901234567891, "t": "CANARY-MATRIX5"}'),)),
    # Duplicate keys: Python, Go and JS take the last, cJSON the first; refused everywhere.
    Case("resp-duplicate-key", "response", DATA, 'has the key "password" twice',
         config="version: 1\nenv:\n  A: { from: matrix/dup, key: password }\n" + FILE_ENTRY,
         secrets=(("matrix/dup", '{"password": "CANARY-MATRIX6", "password": "CANARY-MATRIX7"}'),)),
    Case("resp-duplicate-key-on-pointer-path", "response", DATA, 'has the key "db" twice',
         config="version: 1\nenv:\n  A: { from: matrix/dup, pointer: /db/u }\n" + FILE_ENTRY,
         secrets=(("matrix/dup",
                   '{"db": {"u": "CANARY-MATRIX6"}, "db": {"u": "CANARY-MATRIX7"}}'),)),
    Case("resp-duplicate-key-off-path", "response", DATA, 'key "p" twice in the object at /x/0',
         config="version: 1\nenv:\n  A: { from: matrix/dup, key: u }\n" + FILE_ENTRY,
         secrets=(("matrix/dup",
                   '{"u": "a", "x": [{"p": "CANARY-MATRIX6", "p": "CANARY-MATRIX7"}]}'),)),
    Case("resp-duplicate-key-template", "response", DATA, 'key "u" twice in the object at /db',
         config="version: 1\nenv:\n  A: { from: matrix/dup, template: '{{ .db | json }}' }\n"
                + FILE_ENTRY,
         secrets=(("matrix/dup", '{"db": {"u": "CANARY-MATRIX6", "u": "CANARY-MATRIX7"}}'),)),
    Case("resp-key-missing", "response", DATA, 'key "passwd" not found',
         config="version: 1\nenv:\n  A: { from: \"@RDS@\", key: passwd }\n" + FILE_ENTRY),
    Case("resp-pointer-missing", "response", DATA, "not found",
         config="version: 1\nenv:\n  A: { from: app/nested, pointer: /db/replica }\n" + FILE_ENTRY),
    Case("resp-secret-64k-plus-1", "response", DATA, "larger than 65536 bytes",
         config="version: 1\nenv:\n  BIG: matrix/big\n" + FILE_ENTRY,
         secrets=(("matrix/big", "CANARY-MATRIX2" + "x" * (64 * 1024 + 1 - 14)),)),
    Case("resp-body-64k-plus-1-binary", "response", DATA, "too large",
         config="version: 1\nfiles:\n  @DIR@/big: matrix/bigbin\n",
         secrets=(("matrix/bigbin", b"CANARY-MATRIX3" + b"y" * (64 * 1024 + 1 - 14)),)),
    Case("resp-body-oversize", "response", DATA, "larger than 131072 bytes",
         faults=(("oversize", {"size": 128 * 1024 + 1}),)),
    Case("resp-slow-loris", "response", TEMPFAIL, "timed out", args=("--timeout", "2"),
         faults=(("slow_body", {"interval": 1.0}),), max_seconds=8),
    Case("resp-slow-headers", "response", TEMPFAIL, "timed out", args=("--timeout", "1.5"),
         faults=(("slow", {"seconds": 5}),), max_seconds=8),
    Case("resp-reset-mid-body", "response", UNAVAILABLE, "Connection reset|truncated",
         faults=(("reset", {}),), env={"AWS_MAX_ATTEMPTS": "1"}),
    Case("resp-dropped", "response", UNAVAILABLE, "Empty reply from server",
         faults=(("drop", {}),), env={"AWS_MAX_ATTEMPTS": "1"}),
    Case("tls-expired-cert", "tls", UNAVAILABLE, "TLS failure", endpoint="expired"),
    Case("tls-wrong-host", "tls", UNAVAILABLE, "TLS failure", endpoint="wronghost"),
    Case("tls-untrusted-cert", "tls", UNAVAILABLE, "TLS failure", endpoint="untrusted"),
    Case("tls-plain-http", "tls", USAGE, "only https:// endpoints",
         env={"AWS_ENDPOINT_URL": "http://127.0.0.1:9/"}),
    # OpenSSL opens the bundle blocking: a FIFO there hung the first request past --timeout.
    Case("tls-ca-bundle-fifo", "tls", UNAVAILABLE, "AWS_CA_BUNDLE=@FIFO@ is not a readable "
         "regular file", env={"AWS_CA_BUNDLE": "@FIFO@"}, setup=("fifo",)),

    # ---- credentials -----------------------------------------------------------------------
    Case("creds-expired", "creds", NOPERM, "expired", env={"@CRED@": "expired"}),
    Case("creds-missing", "creds", NOPERM, "no AWS credentials",
         env={"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None,
              "AWS_SESSION_TOKEN": None}),
    Case("creds-secret-missing", "creds", NOPERM, "AWS_SECRET_ACCESS_KEY",
         env={"AWS_SECRET_ACCESS_KEY": None}),
    Case("creds-wrong-secret", "creds", NOPERM, "signature rejected",
         env={"AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzzzzzzzzz"}),
    Case("creds-unknown-key-id", "creds", NOPERM, "is not valid",
         env={"AWS_ACCESS_KEY_ID": "AKIAUNKNOWNUNKNOWN00"}),
    Case("creds-malformed-key-id", "creds", NOPERM, "access key id has characters",
         env={"AWS_ACCESS_KEY_ID": "not a key"}),
    Case("creds-key-id-crlf", "creds", NOPERM, "access key id has characters",
         env={"AWS_ACCESS_KEY_ID": "AKIAINJECTORTEST0001\r\nX-Injected: 1"}),
    Case("creds-token-crlf", "creds", NOPERM, "session token has characters",
         env={"AWS_SESSION_TOKEN": "tok\r\nX-Injected: 1"}),
    Case("creds-bogus-token", "creds", NOPERM, "is not valid",
         env={"AWS_SESSION_TOKEN": "IQoJbogus"}),
    Case("creds-profile-malformed", "creds", CONFIG, "line 1: a [section] line must end with ]",
         env={"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None},
         setup=("profile:[default\naws_access_key_id = AKIAINJECTORTEST0001\n",)),
    # A failing credential_process whose stderr (collected logs) echoes a signed request and
    # its token (issue 20 item 3): shown as the helper's lines, the credentials cut out.
    Case("creds-process-stderr-echoes-credentials", "creds", NOPERM,
         "injector: credential_process: X-Amz-Security-Token: [redacted]",
         env=NO_KEYS,
         setup=("profile:[default]\ncredential_process = sh -c 'echo \"X-Amz-Security-Token: "
                "IQoJb3JpZ2luX2VjCANARY-PROCSTDERR/helper+token==\" >&2; echo \"Authorization: "
                "AWS4-HMAC-SHA256 Credential=AKIAINJECTORTEST0001/20240101/us-east-1/"
                "secretsmanager/aws4_request, SignedHeaders=host, Signature=" + "5e" * 32
                + "\" >&2; exit 3'\n",)),
    Case("creds-profile-no-secret", "creds", NOPERM, "aws_secret_access_key",
         env={"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None},
         setup=("profile:[default]\naws_access_key_id = AKIAINJECTORTEST0001\n",)),
    # A FIFO without a writer where a file is read (issue 21.2): refused at once by fstat,
    # never a hang in open() (the run's timeout is the failure detector).
    Case("creds-config-file-fifo", "creds", NOPERM, "shared config file @FIFO@: a FIFO, not a "
         "regular file", env=dict(NO_KEYS, AWS_CONFIG_FILE="@FIFO@"), setup=("fifo",)),
    Case("creds-credentials-file-fifo", "creds", NOPERM, "shared credentials file @FIFO@: a "
         "FIFO, not a regular file", env=dict(NO_KEYS, AWS_SHARED_CREDENTIALS_FILE="@FIFO@"),
         setup=("fifo",)),
    Case("creds-web-identity-token-fifo", "creds", NOPERM, "web identity token file @FIFO@: a "
         "FIFO, not a regular file",
         env=dict(NO_KEYS, AWS_WEB_IDENTITY_TOKEN_FILE="@FIFO@",
                  AWS_ROLE_ARN="arn:aws:iam::111122223333:role/fifo"), setup=("fifo",)),
    Case("creds-container-token-fifo", "creds", NOPERM, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE "
         "@FIFO@: a FIFO, not a regular file",
         env=dict(NO_KEYS, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="@FIFO@",
                  AWS_CONTAINER_CREDENTIALS_FULL_URI="http://127.0.0.1:9/creds"),
         setup=("fifo",)),

    # ---- exec ------------------------------------------------------------------------------
    Case("exec-missing-absolute", "exec", NOTFOUND, "command not found",
         argv=("/nonexistent/bin/app",)),
    Case("exec-missing-in-path", "exec", NOTFOUND, "command not found: no-such-app-xyz",
         argv=("no-such-app-xyz",)),
    Case("exec-not-executable", "exec", NOEXEC, "permission denied",
         argv=("@TMP@/noexec.sh",)),
    Case("exec-enoexec-no-shebang", "exec", NOEXEC, "#!", argv=("@TMP@/noshebang",)),
    Case("exec-directory", "exec", NOEXEC, "permission denied", argv=("@TMP@",)),
    Case("exec-empty-command", "exec", USAGE, "empty command", argv=("",)),

    # ---- files -----------------------------------------------------------------------------
    Case("file-read-only-fs", "files", IO, "Read-only file system",
         config=STD.replace("@DIR@", "@RO@"), setup=("ro",)),
    Case("file-no-space", "files", IO, "No space left on device",
         config="version: 1\nfiles:\n  @TINY@/big: matrix/medium\n",
         secrets=(("matrix/medium", "CANARY-MATRIX4" + "z" * 20000),), setup=("tiny",)),
    Case("file-existing-symlink", "files", IO, "symbolic link",
         config="version: 1\nfiles:\n  @LINK@/db: secretPostgresqlMasterUser\n",
         setup=("link",)),
    Case("file-not-tmpfs", "files", CONFIG, "not on tmpfs/ramfs",
         config="version: 1\nfiles:\n  @DISK@/db.json: secretPostgresqlMasterUser\n",
         setup=("disk",)),
    Case("file-world-writable-dir", "files", CONFIG, "world-writable without the sticky bit",
         config="version: 1\nfiles:\n  @WW@/db.json: secretPostgresqlMasterUser\n",
         setup=("ww",)),
    Case("file-group-writable-dir", "files", CONFIG, "@GW@ (owner uid 0, mode 0770) is "
         "group-writable without the sticky bit",
         config="version: 1\nfiles:\n  @GW@/db.json: secretPostgresqlMasterUser\n",
         setup=("gw",)),
    Case("file-third-user-dir", "files", CONFIG, "directory @ALIEN@ is owned by uid 65534",
         config="version: 1\nfiles:\n  @ALIEN@/sub/db.json: secretPostgresqlMasterUser\n",
         setup=("alien",)),
    Case("file-parent-is-symlink", "files", CONFIG, "@LINKDIR@ is a symbolic link",
         config="version: 1\nfiles:\n  @LINKDIR@/db.json: secretPostgresqlMasterUser\n",
         setup=("linkdir",)),
    Case("file-target-is-directory", "files", IO, "not a regular file",
         config="version: 1\nfiles:\n  @DIR@/sub: secretPostgresqlMasterUser\n",
         setup=("subdir",), check_file=False),
    Case("file-parent-is-file", "files", IO, "Not a directory",
         config="version: 1\nfiles:\n  @DIR@/plainfile/db: secretPostgresqlMasterUser\n",
         setup=("plainfile",), check_file=False),
    Case("file-second-fails-first-removed", "files", IO, "Read-only file system",
         config="version: 1\nfiles:\n  @DIR@/first.json: secretPostgresqlMasterUser\n"
                "  @RO@/second.json: api\n", setup=("ro",)),

    # ---- failover regions (validated with the config, before any fetch) ----------------------
    Case("yaml-failover-not-list", "yaml", CONFIG, "failover_regions must be a list",
         config="version: 1\nfailover_regions: eu-west-1\n" + ENTRY + FILE_ENTRY),
    Case("yaml-failover-not-strings", "yaml", CONFIG, "failover_regions must be a string",
         config="version: 1\nfailover_regions: [eu-west-1, { r: us-east-1 }]\n" + ENTRY
                + FILE_ENTRY),
    Case("yaml-failover-bad-region", "yaml", CONFIG,
         'failover_regions: "Ireland" is not an AWS region name',
         config="version: 1\nfailover_regions: [Ireland]\n" + ENTRY + FILE_ENTRY),
    Case("yaml-failover-duplicate", "yaml", CONFIG,
         'failover_regions: "eu-west-1" is listed twice',
         config="version: 1\nfailover_regions: [eu-west-1, us-east-1, eu-west-1]\n" + ENTRY
                + FILE_ENTRY),
    Case("yaml-failover-too-many", "yaml", CONFIG, "(at most 4)",
         config="version: 1\nfailover_regions: [eu-west-1, eu-west-2, eu-west-3, us-east-1, "
                "us-east-2]\n" + ENTRY + FILE_ENTRY),
    Case("yaml-failover-entry-not-list", "yaml", CONFIG, "A: failover_regions must be a list",
         config="version: 1\nenv:\n  A: { from: plain/text, failover_regions: eu-west-1 }\n"
                + FILE_ENTRY),
    Case("ref-failover-other-partition", "ref", CONFIG, "failover_regions",
         config="version: 1\nenv:\n  A: { from: \"@API@\", failover_regions: [cn-north-1] }\n"
                + FILE_ENTRY),

    # ---- refresh signal and sidecar mode (docs/supervise.md), before any fetch --------------
    Case("yaml-refresh-signal-term", "yaml", CONFIG, "refresh_signal: SIGTERM stops injector",
         config=STD + "supervise:\n  refresh_signal: SIGTERM\n"),
    Case("yaml-refresh-signal-unknown", "yaml", CONFIG,
         'refresh_signal: "SIGKILL" is not one of',
         config=STD + "supervise:\n  refresh_signal: SIGKILL\n"),
    Case("yaml-sidecar-not-mapping", "yaml", CONFIG, '"sidecar" must be a mapping',
         config=STD + "sidecar: true\n"),
    Case("yaml-sidecar-ready-relative", "yaml", CONFIG,
         'ready_file: "ready" is not an absolute',
         config=STD + "sidecar:\n  ready_file: ready\n"),
    Case("sidecar-env-entry", "yaml", CONFIG, "no process to give an environment variable to",
         args=("--sidecar",), argv=()),
    Case("sidecar-on-change-signal", "yaml", CONFIG,
         "on_change: signal needs a command, and sidecar mode runs none",
         config="version: 1\n" + FILE_ENTRY + "supervise:\n  on_change: signal\n",
         args=("--sidecar",), argv=()),
    Case("sidecar-no-files", "yaml", CONFIG, "the config has no files entry",
         config="version: 1\n", args=("--sidecar",), argv=()),
    Case("sidecar-with-command", "exec", USAGE, "--sidecar runs no command",
         config="version: 1\n" + FILE_ENTRY, args=("--sidecar",)),
    # ---- SSM Parameter Store references and answers (issue 15) ----------------------------
    Case("ssm-arn-double-slash", "ssm", CONFIG, "one slash",
         config="version: 1\nenv:\n  A: arn:aws:ssm:eu-central-1:111122223333:"
                "parameter//prod/db/password\n" + FILE_ENTRY),
    Case("ssm-arn-bad-account", "ssm", CONFIG, "12-digit account id",
         config="version: 1\nenv:\n  A: arn:aws:ssm:eu-central-1:11112222333:parameter/x\n"
                + FILE_ENTRY),
    Case("ssm-arn-not-a-parameter", "ssm", CONFIG, "bad SSM ARN",
         config="version: 1\nenv:\n  A: arn:aws:ssm:eu-central-1:111122223333:document/x\n"
                + FILE_ENTRY),
    Case("ssm-arn-wrong-partition", "ssm", CONFIG, "not in partition aws",
         config="version: 1\nenv:\n  A: arn:aws:ssm:cn-north-1:111122223333:parameter/x\n"
                + FILE_ENTRY),
    Case("ssm-name-relative-path", "ssm", CONFIG, "does not start with '/'",
         config="version: 1\nenv:\n  A: ssm:prod/db/password\n" + FILE_ENTRY),
    Case("ssm-name-reserved", "ssm", CONFIG, "starts with aws or ssm",
         config="version: 1\nenv:\n  A: ssm:/ssm/x\n" + FILE_ENTRY),
    Case("ssm-name-bad-char", "ssm", CONFIG, "character other than",
         config="version: 1\nenv:\n  A: \"ssm:/prod/db pw\"\n" + FILE_ENTRY),
    Case("ssm-name-too-deep", "ssm", CONFIG, "more than 15 levels",
         config="version: 1\nenv:\n  A: ssm:" + "/l" * 16 + "\n" + FILE_ENTRY),
    Case("ssm-name-too-long", "ssm", CONFIG, "longer than 2048",
         config="version: 1\nenv:\n  A: ssm:/" + "n" * 2048 + "\n" + FILE_ENTRY),
    Case("ssm-empty-name", "ssm", CONFIG, "expected ssm:NAME",
         config="version: 1\nenv:\n  A: \"ssm:\"\n" + FILE_ENTRY),
    Case("ssm-selector-zero", "ssm", CONFIG, "not a version number",
         config="version: 1\nenv:\n  A: \"ssm:/prod/db/password:0\"\n" + FILE_ENTRY),
    Case("ssm-selector-digit-label", "ssm", CONFIG, "labels cannot start with a digit",
         config="version: 1\nenv:\n  A: \"ssm:/prod/db/password:3x\"\n" + FILE_ENTRY),
    Case("ssm-selector-empty", "ssm", CONFIG, "is empty",
         config="version: 1\nenv:\n  A: \"ssm:/prod/db/password:\"\n" + FILE_ENTRY),
    Case("ssm-selector-twice", "ssm", CONFIG, "too many ':' fields",
         config="version: 1\nenv:\n  A: \"ssm:/prod/db/password:3:live\"\n" + FILE_ENTRY),
    Case("ssm-version-stage-field", "ssm", CONFIG, "ssm:NAME:3",
         config="version: 1\nenv:\n  A: { from: ssm:/prod/db/password, version_stage: x }\n"
                + FILE_ENTRY),
    Case("ssm-from-env-unparsable", "ssm", CONFIG, "--from-env: DB_PASSWORD",
         args=("--from-env",), env={"DB_PASSWORD": "ssm:prod/db/password"}),
    Case("ssm-from-env-missing", "ssm", DATA, "not found in eu-central-1",
         args=("--from-env",), env={"DB_PASSWORD": "ssm:/nope/missing"}),
    Case("ssm-invalid-parameters", "ssm", DATA, "/nope/missing: not found in eu-central-1",
         config="version: 1\n" + ENTRY + "  A: ssm:/nope/missing\n" + FILE_ENTRY),
    Case("ssm-unknown-version", "ssm", DATA, "/prod/db/password:9",
         config="version: 1\n" + ENTRY + "  A: \"ssm:/prod/db/password:9\"\n" + FILE_ENTRY),
    Case("ssm-oversize-value", "ssm", DATA, "larger than 65536 bytes",
         parameters=(("/huge/value", "x" * (64 * 1024 + 1)),),
         config="version: 1\n" + ENTRY + "  A: ssm:/huge/value\n" + FILE_ENTRY),
    Case("ssm-nul-value", "ssm", DATA, "contains a NUL character",
         parameters=(("/nul/value", "a\u0000b"),),
         config="version: 1\n" + ENTRY + "  A: ssm:/nul/value\n" + FILE_ENTRY),
    # A throttle is retried until the start deadline, whatever AWS_MAX_ATTEMPTS says.
    Case("ssm-throttled", "ssm", TEMPFAIL, "deadline passed after",
         faults=(("throttle", {}),), fault_action="GetParameters", args=("--timeout", "2"),
         config="version: 1\n" + ENTRY + "  A: ssm:/prod/db/host\n" + FILE_ENTRY),
    Case("ssm-internal-error", "ssm", UNAVAILABLE, "HTTP 500",
         faults=(("internal", {}),), fault_action="GetParameters",
         config="version: 1\n" + ENTRY + "  A: ssm:/prod/db/host\n" + FILE_ENTRY),
    Case("ssm-garbage-answer", "ssm", UNAVAILABLE, "not a GetParameters answer",
         faults=(("garbage", {"body": "[]"}),), fault_action="GetParameters",
         config="version: 1\n" + ENTRY + "  A: ssm:/prod/db/host\n" + FILE_ENTRY),
    Case("ssm-access-denied", "ssm", NOPERM, "ssm:GetParameters denied",
         env={"@CRED@": "nossm"},
         config="version: 1\n" + ENTRY + "  A: ssm:/prod/db/password\n" + FILE_ENTRY),
    Case("ssm-kms-denied", "ssm", NOPERM, "kms:Decrypt",
         env={"@CRED@": "nokms"},
         config="version: 1\n" + "env:\n  A: ssm:/prod/cmk/api-key\n" + FILE_ENTRY),
    Case("ssm-kms-legacy-message", "ssm", NOPERM, "kms:ViaService ssm.eu-central-1",
         faults=(("kms", {"mode": "legacy"}),), fault_action="GetParameters",
         config="version: 1\n" + ENTRY + "  A: ssm:/prod/db/password\n" + FILE_ENTRY),
    # ---- per-entry roles (validated with the config, before any call) ----------------------
    Case("yaml-role-undefined", "yaml", CONFIG, 'A: role "nope" is not defined under roles',
         config="version: 1\nenv:\n  A: { from: plain/text, role: nope }\n" + FILE_ENTRY),
    Case("yaml-role-and-role-arn", "yaml", CONFIG, 'give either "role" or "role_arn"',
         config="version: 1\nroles:\n  r: { role_arn: \"arn:aws:iam::111122223333:role/r\" }\n"
                "env:\n  A: { from: plain/text, role: r, "
                "role_arn: \"arn:aws:iam::111122223333:role/r\" }\n" + FILE_ENTRY),
    Case("yaml-role-arn-not-a-role", "yaml", CONFIG, "is not an IAM role ARN",
         config="version: 1\nenv:\n  A: { from: plain/text, "
                "role_arn: \"arn:aws:iam::111122223333:user/bob\" }\n" + FILE_ENTRY),
    Case("yaml-role-missing-arn", "yaml", CONFIG, "role r: missing role_arn",
         config="version: 1\nroles:\n  r: { external_id: abc }\n" + ENTRY + FILE_ENTRY),
    Case("yaml-role-duration-range", "yaml", CONFIG, "must be whole seconds from 15m",
         config="version: 1\nroles:\n  r: { role_arn: \"arn:aws:iam::111122223333:role/r\", "
                "duration: 13h }\n" + ENTRY + FILE_ENTRY),
    Case("yaml-role-session-name", "yaml", CONFIG, "session_name",
         config="version: 1\nroles:\n  r: { role_arn: \"arn:aws:iam::111122223333:role/r\", "
                "session_name: \"has space\" }\n" + ENTRY + FILE_ENTRY),
    Case("yaml-role-external-id", "yaml", CONFIG, "external_id must be 2 to 1224",
         config="version: 1\nroles:\n  r: { role_arn: \"arn:aws:iam::111122223333:role/r\", "
                "external_id: \"x\" }\n" + ENTRY + FILE_ENTRY),
    Case("yaml-role-not-mapping", "yaml", CONFIG, "role r: expected a mapping",
         config="version: 1\nroles:\n  r: arn:aws:iam::111122223333:role/r\n" + ENTRY
                + FILE_ENTRY),
    Case("yaml-roles-not-mapping", "yaml", CONFIG, '"roles" must be a mapping',
         config="version: 1\nroles: [r]\n" + ENTRY + FILE_ENTRY),
    Case("yaml-role-unknown-key", "yaml", CONFIG, 'unknown key "arn" in a role',
         config="version: 1\nroles:\n  r: { arn: \"arn:aws:iam::111122223333:role/r\" }\n"
                + ENTRY + FILE_ENTRY),

    # ---- endpoint variants --------------------------------------------------------------
    Case("env-dualstack-in-iso-b", "env", USAGE, "partition aws-iso-b has no dual-stack endpoints",
         env={"AWS_USE_DUALSTACK_ENDPOINT": "true", "AWS_ENDPOINT_URL": None,
              "AWS_ENDPOINT_URL_SECRETS_MANAGER": None},
         args=("--region", "us-isob-east-1")),

    # ---- expand: true (a JSON secret's keys as variables) --------------------------------
    Case("expand-with-key", "expand", CONFIG, "expand reads every top-level key itself",
         config="version: 1\nenv:\n  A: { from: matrix/exp, expand: true, key: a }\n"
                + FILE_ENTRY),
    Case("expand-prefix-without-expand", "expand", CONFIG, "go with \"expand: true\"",
         config="version: 1\nenv:\n  A: { from: matrix/exp, prefix: P_ }\n" + FILE_ENTRY),
    Case("expand-bad-prefix", "expand", CONFIG, "must start a valid variable name",
         config="version: 1\nenv:\n  A: { from: matrix/exp, expand: true, prefix: \"-\" }\n"
                + FILE_ENTRY),
    Case("expand-only-not-list", "expand", CONFIG, "only must be a list of keys",
         config="version: 1\nenv:\n  A: { from: matrix/exp, expand: true, only: a }\n"
                + FILE_ENTRY),
    Case("expand-on-file", "expand", CONFIG, 'unknown key "expand" in a files entry',
         config="version: 1\nfiles:\n  @DIR@/x: { from: matrix/exp, expand: true }\n"),
    Case("expand-not-json", "expand", DATA, "is not a JSON object",
         config="version: 1\n" + ENTRY + "  A: { from: plain/text, expand: true }\n"
                + FILE_ENTRY),
    Case("expand-json-array", "expand", DATA, "JSON but not an object",
         secrets=(("matrix/exp-list", '["a"]'),),
         config="version: 1\n" + ENTRY + "  A: { from: matrix/exp-list, expand: true }\n"
                + FILE_ENTRY),
    Case("expand-duplicate-key", "expand", DATA, "has the key \"a\" twice",
         secrets=(("matrix/exp-dup", '{"a": "x", "a": "y"}'),),
         config="version: 1\n" + ENTRY + "  A: { from: matrix/exp-dup, expand: true }\n"
                + FILE_ENTRY),
    Case("expand-reserved-names", "expand", CONFIG,
         '"ld_preload" -> LD_PRELOAD (a loader/shell variable), "path" -> PATH',
         secrets=(("matrix/exp-ld", '{"ld_preload": "x", "path": "y", "ok": "z"}'),),
         config="version: 1\n" + ENTRY + "  A: { from: matrix/exp-ld, expand: true }\n"
                + FILE_ENTRY),
    Case("expand-two-keys-one-name", "expand", CONFIG, '"db-host" and "DB_HOST" -> DB_HOST',
         secrets=(("matrix/exp-two", '{"db-host": "x", "DB_HOST": "y"}'),),
         config="version: 1\n" + ENTRY + "  A: { from: matrix/exp-two, expand: true }\n"
                + FILE_ENTRY),
    Case("expand-empty-key", "expand", CONFIG, '"" (no valid name)',
         secrets=(("matrix/exp-empty", '{"": "x"}'),),
         config="version: 1\n" + ENTRY + "  A: { from: matrix/exp-empty, expand: true }\n"
                + FILE_ENTRY),
    Case("expand-collides-with-entry", "expand", CONFIG,
         "PGUSER (env PGUSER and key \"pguser\" of env A (expand))",
         secrets=(("matrix/exp-pg", '{"pguser": "x"}'),),
         config="version: 1\n" + ENTRY + "  A: { from: matrix/exp-pg, expand: true }\n"
                + FILE_ENTRY),
    Case("expand-collides-with-environment", "expand", CONFIG, "HOME is already set",
         secrets=(("matrix/exp-home", '{"home": "x"}'),),
         config="version: 1\n" + ENTRY + "  A: { from: matrix/exp-home, expand: true }\n"
                + FILE_ENTRY),
    Case("expand-only-key-missing", "expand", DATA, 'has no key "nope" (listed in only)',
         config="version: 1\n" + ENTRY
                + "  A: { from: secretPostgresqlMasterUser, expand: true, only: [nope] }\n"
                + FILE_ENTRY),
    Case("expand-huge-number", "expand", DATA, "too large to pass on exactly",
         secrets=(("matrix/exp-num", '{"id": 123456789012345678901}'),),
         config="version: 1\n" + ENTRY + "  A: { from: matrix/exp-num, expand: true }\n"
                + FILE_ENTRY),

    # ---- path: true (every SSM parameter under a path, issue 16 item 2) --------------------
    Case("path-without-max", "path", CONFIG, "path: true needs max: N",
         config="version: 1\nenv:\n  A: { from: \"ssm:/m/p/\", path: true }\n" + FILE_ENTRY),
    Case("path-max-zero", "path", CONFIG, "max must be a whole number from 1 to 1000",
         config="version: 1\nenv:\n  A: { from: \"ssm:/m/p/\", path: true, max: 0 }\n"),
    Case("path-max-too-large", "path", CONFIG, "max must be a whole number from 1 to 1000",
         config="version: 1\nenv:\n  A: { from: \"ssm:/m/p/\", path: true, max: 1001 }\n"),
    Case("path-max-not-a-number", "path", CONFIG, "max must be a whole number",
         config="version: 1\nenv:\n  A: { from: \"ssm:/m/p/\", path: true, max: \"-3\" }\n"),
    Case("path-max-without-path", "path", CONFIG, "recursive/max/tags go with \"path: true\"",
         config="version: 1\nenv:\n  A: { from: \"ssm:/m/p\", max: 3 }\n"),
    Case("path-flat-name", "path", CONFIG, "needs a hierarchical path",
         config="version: 1\nenv:\n  A: { from: \"ssm:flat\", path: true, max: 3 }\n"),
    Case("path-with-selector", "path", CONFIG, "a path has no version or label",
         config="version: 1\nenv:\n  A: { from: \"ssm:/m/p:3\", path: true, max: 3 }\n"),
    Case("path-with-key", "path", CONFIG, "path: true sets one variable per parameter",
         config="version: 1\nenv:\n  A: { from: \"ssm:/m/p/\", path: true, max: 3, key: a }\n"),
    Case("path-with-expand", "path", CONFIG, "path: true expands by itself",
         config="version: 1\nenv:\n  A: { from: \"ssm:/m/p/\", path: true, max: 3, "
                "expand: true }\n"),
    Case("path-on-file", "path", CONFIG, 'unknown key "path" in a files entry',
         config="version: 1\nfiles:\n  @DIR@/x: { from: \"ssm:/m/p/\", path: true }\n"),
    Case("path-trailing-slash-without-path", "path", CONFIG, "add path: true and max: N",
         config="version: 1\nenv:\n  A: \"ssm:/m/p/\"\n"),
    Case("path-max-exceeded", "path", CONFIG, "at least 3 parameters, more than max: 2",
         parameters=(("/m/x/a", "1"), ("/m/x/b", "2"), ("/m/x/c", "3")),
         config="version: 1\n" + ENTRY + "  A: { from: \"ssm:/m/x/\", path: true, max: 2 }\n"
                + FILE_ENTRY),
    Case("path-two-parameters-one-name", "path", CONFIG, '"a-b" and "a_b" -> A_B',
         parameters=(("/m/y/a-b", "1"), ("/m/y/a_b", "2")),
         config="version: 1\n" + ENTRY + "  A: { from: \"ssm:/m/y/\", path: true, max: 5 }\n"
                + FILE_ENTRY),
    Case("path-collides-with-entry", "path", CONFIG,
         "PGUSER (env PGUSER and key \"pguser\" of env A (expand))",
         parameters=(("/m/z/pguser", "1"),),
         config="version: 1\n" + ENTRY + "  A: { from: \"ssm:/m/z/\", path: true, max: 5 }\n"
                + FILE_ENTRY),
    Case("path-reserved-name", "path", CONFIG, '"ld_preload" -> LD_PRELOAD (a loader/shell',
         parameters=(("/m/w/ld_preload", "1"),),
         config="version: 1\n" + ENTRY + "  A: { from: \"ssm:/m/w/\", path: true, max: 5 }\n"
                + FILE_ENTRY),
    Case("path-throttled", "path", TEMPFAIL,
         "GetParametersByPath in eu-central-1: the --timeout deadline passed after",
         faults=(("throttle", {}),), fault_action="GetParametersByPath", args=("--timeout", "2"),
         config="version: 1\n" + ENTRY + "  A: { from: \"ssm:/prod/app/\", path: true, max: 9 }\n"
                + FILE_ENTRY),
    Case("path-garbage-answer", "path", UNAVAILABLE, "not a GetParametersByPath answer",
         faults=(("garbage", {"body": "[]"}),), fault_action="GetParametersByPath",
         config="version: 1\n" + ENTRY + "  A: { from: \"ssm:/prod/app/\", path: true, max: 9 }\n"
                + FILE_ENTRY),
    Case("path-nul-value", "path", DATA, "holds a NUL character",
         parameters=(("/m/n/v", "a\u0000b"),),
         config="version: 1\n" + ENTRY + "  A: { from: \"ssm:/m/n/\", path: true, max: 5 }\n"
                + FILE_ENTRY),

    # ---- path: true on a Secrets Manager name prefix / tags (issue 16 item 2) --------------
    Case("smpath-prefix-arn", "smpath", CONFIG, "not an ARN",
         config="version: 1\nenv:\n  A: { from: \"arn:aws:secretsmanager:eu-central-1:"
                "111122223333:secret:prod/\", path: true, max: 3 }\n"),
    Case("smpath-prefix-colon", "smpath", CONFIG, "is a Secrets Manager name prefix",
         config="version: 1\nenv:\n  A: { from: \"prod/app:key\", path: true, max: 3 }\n"),
    Case("smpath-prefix-bad-char", "smpath", CONFIG, "is a Secrets Manager name prefix",
         config="version: 1\nenv:\n  A: { from: \"prod/a*\", path: true, max: 3 }\n"),
    Case("smpath-prefix-negated", "smpath", CONFIG, "is a name prefix and cannot start with '!'",
         config="version: 1\nenv:\n  A: { from: \"!zzz\", path: true, max: 3 }\n"),
    Case("smpath-without-max", "smpath", CONFIG, "path: true needs max: N, the most secrets",
         config="version: 1\nenv:\n  A: { from: prod/app/, path: true }\n" + FILE_ENTRY),
    Case("smpath-tags-without-path", "smpath", CONFIG, 'recursive/max/tags go with "path: true"',
         config="version: 1\nenv:\n  A: { from: api, tags: { team: api } }\n"),
    Case("smpath-tags-alone-without-max", "smpath", CONFIG, "path: true needs max: N",
         config="version: 1\nenv:\n  A: { path: true, tags: { team: api } }\n"),
    Case("smpath-tags-alone-without-path", "smpath", CONFIG, 'missing "from"',
         config="version: 1\nenv:\n  A: { max: 3, tags: { team: api } }\n"),
    Case("smpath-tags-not-a-mapping", "smpath", CONFIG, "tags must be a mapping",
         config="version: 1\nenv:\n  A: { path: true, max: 3, tags: [team] }\n"),
    Case("smpath-tag-value-bad-char", "smpath", CONFIG,
         "the value \"a*b\" holds a character outside letters, digits and space :_@/+=.-",
         config="version: 1\nenv:\n  A: { path: true, max: 3, tags: { team: \"a*b\" } }\n"),
    Case("smpath-tag-key-negation", "smpath", CONFIG, 'tag key "!team" holds a character',
         config="version: 1\nenv:\n  A: { path: true, max: 3, tags: { \"!team\": a } }\n"),
    Case("smpath-tag-value-empty", "smpath", CONFIG, "is empty",
         config="version: 1\nenv:\n  A: { path: true, max: 3, tags: { team: \"\" } }\n"),
    Case("smpath-too-many-tags", "smpath", CONFIG, "tags takes 1 to 4 pairs",
         config="version: 1\nenv:\n  A: { path: true, max: 3, tags: { a: 1, b: 2, c: 3, d: 4, "
                "e: 5 } }\n"),
    Case("smpath-tags-on-ssm-path", "smpath", CONFIG, "an SSM path takes none",
         config="version: 1\nenv:\n  A: { from: \"ssm:/m/p/\", path: true, max: 3, "
                "tags: { a: b } }\n"),
    Case("smpath-recursive", "smpath", CONFIG, "recursive is for SSM paths",
         config="version: 1\nenv:\n  A: { from: prod/, path: true, max: 3, recursive: true }\n"),
    Case("smpath-version-stage", "smpath", CONFIG, "takes no version_stage/version_id",
         config="version: 1\nenv:\n  A: { from: prod/, path: true, max: 3, "
                "version_stage: AWSPREVIOUS }\n"),
    Case("smpath-failover", "smpath", CONFIG, "is not failed over",
         config="version: 1\nenv:\n  A: { from: prod/, path: true, max: 3, "
                "failover_regions: [eu-west-1] }\n"),
    Case("smpath-max-exceeded", "smpath", CONFIG, "at least 3 secrets match, more than max: 2",
         secrets=(("mx/a", "1"), ("mx/b", "2"), ("mx/c", "3")),
         config="version: 1\n" + ENTRY + "  A: { from: mx/, path: true, max: 2 }\n" + FILE_ENTRY),
    Case("smpath-two-secrets-one-name", "smpath", CONFIG, '"a-b" and "a_b" -> A_B',
         secrets=(("mc/a-b", "1"), ("mc/a_b", "2")),
         config="version: 1\n" + ENTRY + "  A: { from: mc/, path: true, max: 5 }\n" + FILE_ENTRY),
    Case("smpath-two-names-one-key", "smpath", CONFIG, 'both have the key "x" below the prefix',
         secrets=(("mk/x", "1"), ("mkx", "2")),
         config="version: 1\n" + ENTRY + "  A: { from: mk, path: true, max: 5 }\n" + FILE_ENTRY),
    Case("smpath-collides-with-entry", "smpath", CONFIG,
         "PGUSER (env PGUSER and key \"pguser\" of env A (expand))",
         secrets=(("mp/pguser", "1"),),
         config="version: 1\n" + ENTRY + "  A: { from: mp/, path: true, max: 5 }\n" + FILE_ENTRY),
    Case("smpath-name-outside-prefix", "smpath", UNAVAILABLE,
         "answered the secret elsewhere/x, whose name does not start with the prefix",
         faults=(("garbage", {"status": 200, "content_type": "application/x-amz-json-1.1",
                              "body": '{"SecretValues": [{"ARN": "arn:aws:secretsmanager:'
                                      'eu-central-1:111122223333:secret:elsewhere/x-AbCdEf", '
                                      '"Name": "elsewhere/x", "VersionId": "' + "a" * 32 +
                                      '", "SecretString": "v"}], "Errors": []}'}),),
         fault_action="BatchGetSecretValue",
         config="version: 1\n" + ENTRY + "  A: { from: mo/, path: true, max: 5 }\n" + FILE_ENTRY),
    Case("smpath-throttled", "smpath", TEMPFAIL,
         "BatchGetSecretValue in eu-central-1: the --timeout deadline passed after",
         faults=(("throttle", {}),), fault_action="BatchGetSecretValue", args=("--timeout", "2"),
         config="version: 1\n" + ENTRY + "  A: { from: mt/, path: true, max: 5 }\n" + FILE_ENTRY),
    Case("smpath-garbage-answer", "smpath", UNAVAILABLE, "not a BatchGetSecretValue answer",
         faults=(("garbage", {"body": "[]"}),), fault_action="BatchGetSecretValue",
         config="version: 1\n" + ENTRY + "  A: { from: mo/, path: true, max: 5 }\n" + FILE_ENTRY),
    Case("smpath-errors-item", "smpath", NOPERM,
         "a secret it matched could not be read: md/x: secretsmanager:GetSecretValue denied",
         secrets=(("md/ok", "1"), ("md/x", "2")),
         deny=(("GetSecretValue", "md/x"),),
         config="version: 1\n" + ENTRY + "  A: { from: md/, path: true, max: 5 }\n" + FILE_ENTRY),
    # With tags: ListSecrets, then the exact matches by ARN (BatchGetSecretValue SecretIdList).
    Case("smpath-tags-errors-item", "smpath", NOPERM,
         "a secret it matched could not be read: arn:aws:secretsmanager:eu-central-1:"
         "111122223333:secret:me/x-",
         secrets=(("me/ok", "1", {"team": "api"}), ("me/x", "2", {"team": "api", "o": "web"})),
         deny=(("GetSecretValue", "me/x"),),
         config="version: 1\n" + ENTRY + "  A: { from: me/, path: true, max: 5, "
                "tags: { team: api } }\n" + FILE_ENTRY),
    Case("smpath-tags-max-exceeded", "smpath", CONFIG,
         "secrets mq/* tagged team=api: at least 3 secrets match, more than max: 2",
         secrets=(("mq/a", "1", {"team": "api"}), ("mq/b", "2", {"team": "api"}),
                  ("mq/c", "3", {"team": "api", "env": "x"}), ("mq/d", "4", {"team": "apiary"})),
         config="version: 1\n" + ENTRY + "  A: { from: mq/, path: true, max: 2, "
                "tags: { team: api } }\n" + FILE_ENTRY),
    Case("smpath-tags-list-denied", "smpath", NOPERM, "secretsmanager:ListSecrets denied",
         deny=(("ListSecrets", None),),
         config="version: 1\n" + ENTRY + "  A: { path: true, max: 5, tags: { team: api } }\n"
                + FILE_ENTRY),
    Case("smpath-tags-batch-denied", "smpath", NOPERM, "secretsmanager:BatchGetSecretValue denied",
         secrets=(("mz/a", "1", {"team": "api"}),), deny=(("BatchGetSecretValue", None),),
         config="version: 1\n" + ENTRY + "  A: { from: mz/, path: true, max: 5, "
                "tags: { team: api } }\n" + FILE_ENTRY),
    Case("smpath-tags-list-throttled", "smpath", TEMPFAIL,
         "ListSecrets in eu-central-1: the --timeout deadline passed after",
         faults=(("throttle", {}),), fault_action="ListSecrets", args=("--timeout", "2"),
         config="version: 1\n" + ENTRY + "  A: { path: true, max: 5, tags: { team: api } }\n"
                + FILE_ENTRY),
    Case("smpath-tags-list-garbage", "smpath", UNAVAILABLE, "not a ListSecrets answer",
         faults=(("garbage", {"body": "{\"SecretList\": {}}", "status": 200,
                              "content_type": "application/x-amz-json-1.1"}),),
         fault_action="ListSecrets",
         config="version: 1\n" + ENTRY + "  A: { path: true, max: 5, tags: { team: api } }\n"
                + FILE_ENTRY),
    Case("smpath-tags-name-outside-prefix", "smpath", UNAVAILABLE,
         "ListSecrets answered the secret elsewhere/x, whose name does not start with the prefix",
         faults=(("garbage", {"status": 200, "content_type": "application/x-amz-json-1.1",
                              "body": '{"SecretList": [{"ARN": "arn:aws:secretsmanager:'
                                      'eu-central-1:111122223333:secret:elsewhere/x-AbCdEf", '
                                      '"Name": "elsewhere/x", "Tags": [{"Key": "team", '
                                      '"Value": "api"}]}]}'}),),
         fault_action="ListSecrets",
         config="version: 1\n" + ENTRY + "  A: { from: mo/, path: true, max: 5, "
                "tags: { team: api } }\n" + FILE_ENTRY),
    Case("smpath-tags-next-token-given-back", "smpath", UNAVAILABLE,
         "page 2 of the answer gave back the NextToken it was asked with",
         faults=(("garbage", {"status": 200, "content_type": "application/x-amz-json-1.1",
                              "body": '{"SecretList": [], "NextToken": "SAME"}'}),),
         fault_action="ListSecrets",
         config="version: 1\n" + ENTRY + "  A: { path: true, max: 5, tags: { team: api } }\n"
                + FILE_ENTRY),
    Case("smpath-list-secrets-denied", "smpath", NOPERM,
         "needs both secretsmanager:ListSecrets and secretsmanager:BatchGetSecretValue",
         deny=(("ListSecrets", None),),
         config="version: 1\n" + ENTRY + "  A: { from: ml/, path: true, max: 5 }\n" + FILE_ENTRY),
    Case("smpath-binary-not-text", "smpath", DATA, "is a SecretBinary that is not UTF-8 text",
         secrets=(("mb/bin", b"\x00\xff\xfe"),),
         config="version: 1\n" + ENTRY + "  A: { from: mb/, path: true, max: 5 }\n" + FILE_ENTRY),
    Case("smpath-nul-value", "smpath", DATA, "SecretString contains a NUL character",
         secrets=(("mn/v", "a\u0000b"),),
         config="version: 1\n" + ENTRY + "  A: { from: mn/, path: true, max: 5 }\n" + FILE_ENTRY),

    # ---- template_file ---------------------------------------------------------------------
    Case("template-file-missing", "template", CONFIG, "template_file @TMP@/none.tmpl",
         config="version: 1\nfiles:\n  @DIR@/x: { from: api, template_file: @TMP@/none.tmpl }\n"),
    Case("template-file-is-dir", "template", CONFIG, "not a regular file",
         config="version: 1\nfiles:\n  @DIR@/x: { from: api, template_file: @TMP@ }\n"),
    Case("template-file-and-template", "template", CONFIG, "not both",
         config="version: 1\nfiles:\n  @DIR@/x: { from: api, template: a, "
                "template_file: /etc/hostname }\n"),
    Case("template-file-on-env", "template", CONFIG, 'unknown key "template_file"',
         config="version: 1\nenv:\n  X: { from: api, template_file: /etc/hostname }\n"),
    Case("template-file-fifo", "template", CONFIG, "not a regular file",
         setup=("fifo",),
         config="version: 1\nfiles:\n  @DIR@/x: { from: api, template_file: @FIFO@ }\n",
         max_seconds=5),
]

assert len({c.id for c in CASES}) == len(CASES), "duplicate case ids"
