"""`injector export --format shell|dotenv|json|github`: every special character, newlines,
quotes, `$`, backticks and non-ASCII go through each format and come back out of a real
consumer unchanged: dash and bash (eval / set -a; .), python-dotenv (Debian's python3-dotenv)
and docker compose's dotenv rules (a port of compose-go's parser) for dotenv, which refuses
(exit 65) what they cannot all read the same, Python's json, and a port of the GitHub
runner's $GITHUB_ENV parser. Export prints secrets on stdout by design, so these
runs skip the stdout leak check and assert instead that stderr holds none."""
import json
import os
import pty
import re
import select
import subprocess

import pytest

import seed
from conftest import INJECTOR, WRAPPER, assert_no_leak, run

VALUES = {
    "PLAIN": "simple",
    "EMPTY": "",
    "SQUOTE": "it's 'quoted'",
    "DQUOTE": 'say "hi"',
    "DOLLAR": "$HOME ${HOME} $(id) $$ $ $1",
    "BACKTICK": "`id` and `uname -a`",
    "BACKSLASH": "C:\\path\\n\\t \\ end\\",
    "NEWLINES": "line1\nline2\n\nline4\n",
    "CRLF": "a\r\nb\r",
    "TAB": "\ta\tb\t",
    "HASH": "#not a comment # x",
    "EQUALS": "a=b==c",
    "SPACES": "  lead and trail  ",
    "UNICODE": "ü€😀 ünïcödé",
    "SHELLMETA": "; rm -rf / | & < > * ? [ ] ~ ! %s %n",
    "MIXED": "a'b\"c$d\\e\nf ${X} \\$ \\\" \\'",
    "MIXED_BACKTICK": "a'b`c`\\d",
    "DELIMITERISH": "EOF\nghadelimiter_\nNAME<<EOF\nX=1",
    "LEADING_QUOTE": "'starts and ends'",
    "PG_PASSWORD": seed.PG_E2E_PASSWORD,
}
# dotenv holds what sh, bash, python-dotenv and compose all read back unchanged: VALUES
# without "${" (python-dotenv expands it, quoted or not), CR, ' or \ next to $ or `, or a
# trailing backslash. The canaries would create a file if anything ran them.
CANARY_FILE = "/tmp/injector-pwned-dotenv"
DOTENV_VALUES = {
    "PLAIN": "simple",
    "EMPTY": "",
    "SQUOTE": "it's 'quoted'",
    "DQUOTE": 'say "hi"',
    "DOLLAR": "$HOME $(id) $$ $ $1 $USER{x}",
    "BACKTICK": "`id` and `uname -a`",
    "SUBST": f"$(touch {CANARY_FILE}-1) `touch {CANARY_FILE}-2` $(`touch {CANARY_FILE}-3`)",
    "BACKSLASH": "C:\\path\\n\\t \\ end\\ x",
    "NEWLINES": "line1\nline2\n\nline4\n",
    "TAB": "\ta\tb\t",
    "HASH": "#not a comment # x",
    "EQUALS": "a=b==c",
    "SPACES": "  lead and trail  ",
    "UNICODE": "ü€😀 ünïcödé",
    "SHELLMETA": "; rm -rf / | & < > * ? [ ] ~ ! %s %n",
    "MIXED": "a'b\"c\\e\nf \\\" \\' \\\\ end",
    "LEADING_QUOTE": "'starts and ends'",
    "PG_PASSWORD": seed.PG_E2E_PASSWORD,
}


@pytest.fixture
def special(fake, write_config):
    fake.state.add_secret("export/special", string=json.dumps(VALUES, ensure_ascii=False))
    lines = ["version: 1", "env:"]
    for k in VALUES:
        lines.append(f"  {k}: {{ from: export/special, key: {k} }}")
    return write_config("\n".join(lines) + "\n")


@pytest.fixture
def dotenv_special(fake, write_config):
    fake.state.add_secret("export/dotenv", string=json.dumps(DOTENV_VALUES, ensure_ascii=False))
    lines = ["version: 1", "env:"]
    for k in DOTENV_VALUES:
        lines.append(f"  {k}: {{ from: export/dotenv, key: {k} }}")
    return write_config("\n".join(lines) + "\n")


def _export(cfg, env, fmt, *extra):
    res = run(["export", "-c", cfg, "--format", fmt] + list(extra), env, check_leaks=False)
    # stdout is the product; stderr must never carry a value.
    assert_no_leak(res.err, extra=[v for v in list(VALUES.values()) + list(DOTENV_VALUES.values())
                                   if len(v) > 3])
    return res


def _sh_value(shell, script, out_file, name):
    r = subprocess.run([shell, "-c", script + '; printf %s "$' + name + '"', "sh", str(out_file)],
                       capture_output=True, env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"})
    assert r.returncode == 0, r.stderr
    return r.stdout.decode("utf-8")


@pytest.mark.parametrize("shell", ["/bin/sh", "/bin/bash"])
def test_shell_format_eval_round_trip(special, base_env, tmp_path, shell):
    res = _export(special, base_env, "shell")
    assert res.rc == 0, res.err
    out = tmp_path / "out.sh"
    out.write_text(res.out, encoding="utf-8")
    assert res.out.startswith("export PLAIN='simple'\n")
    for name, want in VALUES.items():
        got = _sh_value(shell, 'eval "$(cat "$1")"', out, name)
        assert got == want, (name, got)
    # Nothing ran: $(id) and `id` stayed text.
    assert "uid=" not in res.out


# ---- dotenv: docker compose's rules ----

_ESC = re.compile(r'\\(?:[abcfnrtv$"\\]|0[0-7]{0,3})')
_SIMPLE = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
           '"': '"', "\\": "\\"}


def _compose_expand_escapes(s):
    def sub(m):
        t = m.group(0)[1:]
        if t == "$":
            return "$$"
        if t[0] == "0":
            return chr(int(t[1:] or "0", 8))
        return _SIMPLE[t]
    return _ESC.sub(sub, s)


def _compose_interpolate(s):
    out, i = [], 0
    while i < len(s):
        if s[i] == "$":
            if s[i + 1:i + 2] == "$":
                out.append("$")
                i += 2
                continue
            raise AssertionError(f"unescaped $ would be interpolated by compose: {s!r}")
        out.append(s[i])
        i += 1
    return "".join(out)


def compose_dotenv_parse(text):
    """docker compose's .env reading (compose-go dotenv: parser.go), for the forms we emit:
    NAME='...' (literal; \\' escapes a quote) and NAME="..." (\\" kept as ", other \\x left for
    the escape pass: \\\\ \\$ \\n ...; then $ interpolation, $$ for a literal $)."""
    out, i, n = {}, 0, len(text)
    while True:
        while i < n and text[i] in " \t\r\n":
            i += 1
        if i >= n:
            return out
        if text[i] == "#":
            i = text.find("\n", i)
            i = n if i < 0 else i
            continue
        eq = text.index("=", i)
        key = text[i:eq].strip()
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key), key
        i = eq + 1
        q = text[i]
        assert q in "'\"", f"unquoted value for {key}"
        i += 1
        chars, esc = [], False
        while True:
            c = text[i]
            i += 1
            if esc:
                esc = False
                if c != q:
                    chars.append("\\")
                chars.append(c)
                continue
            if c == "\\":
                esc = True
            elif c == q:
                break
            else:
                chars.append(c)
        value = "".join(chars)
        if q == '"':
            value = _compose_interpolate(_compose_expand_escapes(value))
        out[key] = value
        # the rest of the line must be empty
        nl = text.find("\n", i)
        assert text[i:nl if nl >= 0 else n].strip() == "", key
        i = n if nl < 0 else nl + 1


def test_dotenv_format_compose_rules(dotenv_special, base_env):
    res = _export(dotenv_special, base_env, "dotenv")
    assert res.rc == 0, res.err
    assert compose_dotenv_parse(res.out) == DOTENV_VALUES
    # Single quotes whenever the value allows (no ' and no \\); else double quotes, \\ and \"
    # escaped, nothing else.
    assert "BACKTICK='`id` and `uname -a`'\n" in res.out
    assert "DOLLAR='$HOME $(id) $$ $ $1 $USER{x}'\n" in res.out
    assert "SQUOTE=\"it's 'quoted'\"\n" in res.out


def _no_canary():
    for i in (1, 2, 3):
        assert not os.path.exists(f"{CANARY_FILE}-{i}"), "a value was executed"


@pytest.mark.parametrize("shell", ["/bin/sh", "/bin/bash"])
@pytest.mark.parametrize("how", ['. "$1"', 'set -a; . "$1"'], ids=["dot", "set-a"])
def test_dotenv_format_sourced_by_shell(dotenv_special, base_env, tmp_path, shell, how):
    res = _export(dotenv_special, base_env, "dotenv")
    assert res.rc == 0, res.err
    out = tmp_path / "app.env"
    out.write_text(res.out, encoding="utf-8")
    for name, want in DOTENV_VALUES.items():
        assert _sh_value(shell, how, out, name) == want, name
    _no_canary()


def test_dotenv_format_read_by_python_dotenv(dotenv_special, base_env, tmp_path):
    import dotenv  # Debian's python3-dotenv (scripts/setup-debian.sh)

    res = _export(dotenv_special, base_env, "dotenv")
    assert res.rc == 0, res.err
    out = tmp_path / "app.env"
    out.write_bytes(res.out.encode("utf-8"))
    # Its default (interpolate=True) and without interpolation: the same bytes.
    assert dict(dotenv.dotenv_values(str(out))) == DOTENV_VALUES
    assert dict(dotenv.dotenv_values(str(out), interpolate=False)) == DOTENV_VALUES
    _no_canary()


@pytest.mark.parametrize("value,why", [
    ("x ${HOME} CANARY-d1", "python-dotenv expands"),
    ("a\r\nb CANARY-d2", "carriage return"),
    ("it's $HOME CANARY-d3", "together with $ or `"),
    ("C:\\`id` CANARY-d4", "together with $ or `"),
    ("CANARY-d5 C:\\", "ends with a backslash"),
], ids=["interpolation", "cr", "quote-dollar", "backslash-backtick", "trailing-backslash"])
def test_dotenv_refuses_what_readers_disagree_on(fake, base_env, write_config, value, why):
    fake.state.add_secret("export/bad", string=json.dumps({"v": value}))
    cfg = write_config("""
        version: 1
        env:
          OK: { from: api, key: token }
          DB_PASSWORD: { from: export/bad, key: v }
        """)
    res = run(["export", "-c", cfg, "--format", "dotenv"], base_env, leak_extra=[value])
    assert res.rc == 65 and res.out == "", res
    assert "DB_PASSWORD: the value " in res.err and why in res.err, res.err
    assert "--format shell or json, or encoding: base64" in res.err
    # The shell format holds it.
    res = _export(cfg, base_env, "shell")
    assert res.rc == 0 and "DB_PASSWORD=" in res.out


def test_json_format(special, base_env):
    res = _export(special, base_env, "json")
    assert res.rc == 0, res.err
    got = json.loads(res.out)
    assert got == VALUES
    assert list(got) == list(VALUES)  # config order


# ---- $GITHUB_ENV: the runner's parser (actions/runner FileCommandManager.cs) ----

def github_env_parse(text):
    out, index = {}, 0

    def read_line():
        nonlocal index
        if index >= len(text):
            return None
        lf = text.find("\n", index)
        if lf < 0:
            line, index = text[index:], len(text)
            return line
        line, index = text[index:lf], lf + 1
        return line

    line = read_line()
    while line is not None:
        if line:
            eq, hd = line.find("="), line.find("<<")
            if eq >= 0 and (hd < 0 or eq < hd):
                name, value = line.split("=", 1)
                out[name] = value
            elif hd >= 0 and (eq < 0 or hd < eq):
                name, delim = line.split("<<", 1)
                assert name and delim
                start = end = index
                tmp = read_line()
                while tmp != delim:
                    assert tmp is not None, f"Matching delimiter not found '{delim}'"
                    end = index - 1
                    tmp = read_line()
                out[name] = text[start:end] if end > start else ""
            else:
                raise AssertionError(f"Invalid environment variable format '{line}'")
        line = read_line()
    return out


def test_github_format(special, base_env):
    res = _export(special, base_env, "github")
    assert res.rc == 0, res.err
    assert github_env_parse(res.out) == VALUES
    delims = re.findall(r"^PLAIN<<(ghadelimiter_[0-9a-f]{32})$", res.out, re.M)
    assert len(delims) == 1
    # A fresh random delimiter for every variable and every run.
    heads = r"^[A-Z_]+<<(ghadelimiter_[0-9a-f]{32})$"
    again = _export(special, base_env, "github")
    assert set(re.findall(heads, again.out, re.M)).isdisjoint(re.findall(heads, res.out, re.M))
    assert len(set(re.findall(heads, res.out, re.M))) == len(VALUES)


# ---- --mask: the runner's reading of the step's stdout (actions/runner ActionCommand.cs
# TryParseV2 and UnescapeData; AddMaskCommandExtension masks the data) ----

def github_command(line):
    """(name, data) of a workflow command line as the runner parses it, else None."""
    msg = line.lstrip()
    if not msg.startswith("::"):
        return None
    end = msg.find("::", 2)
    if end < 0:
        return None
    info = msg[2:end]
    name = info.split(" ", 1)[0]
    data = msg[end + 2:]
    for token, repl in (("\r", "%0D"), ("\n", "%0A"), ("%", "%25")):
        data = data.replace(repl, token)
    return name, data


def value_lines(v):
    """The lines a value prints as (the runner reads stdout line by line at CR, LF, CRLF),
    but for empty or blank ones (the runner refuses to mask those)."""
    return {ln for ln in re.split(r"\r\n|\r|\n", v) if ln.strip()}


def _mask_export(cfg, env, tmp_path):
    genv = tmp_path / "github_env"
    genv.write_text("")
    res = _export(cfg, dict(env, GITHUB_ENV=str(genv)), "github", "--mask")
    return res, genv.read_bytes().decode("utf-8")  # no newline translation: CR stays


def test_github_mask_exact_output(fake, base_env, write_config, tmp_path):
    cfg = write_config("""
        version: 1
        env:
          TOKEN: { from: api, key: token }
        """)
    res, envfile = _mask_export(cfg, base_env, tmp_path)
    assert res.rc == 0, res.err
    assert res.out == f"::add-mask::{seed.API_TOKEN}\n"
    assert github_env_parse(envfile) == {"TOKEN": seed.API_TOKEN}
    assert re.fullmatch(r"TOKEN<<ghadelimiter_[0-9a-f]{32}\n" + re.escape(seed.API_TOKEN) +
                        r"\nghadelimiter_[0-9a-f]{32}\n", envfile)


def test_github_mask_every_line_of_every_value(special, base_env, tmp_path):
    res, envfile = _mask_export(special, base_env, tmp_path)
    assert res.rc == 0, res.err
    assert res.out.endswith("\n")
    masks = []
    for line in res.out.split("\n")[:-1]:
        cmd = github_command(line)
        assert cmd is not None and cmd[0] == "add-mask", line
        assert cmd[1].strip(), line
        masks.append(cmd[1])
    want = set()
    for v in VALUES.values():
        want |= value_lines(v)
    assert set(masks) == want
    # The values went to $GITHUB_ENV, not stdout.
    assert github_env_parse(envfile) == VALUES


MASK_TRAPS = {
    "STOP": "::stop-commands::pwned",
    "CMDS": "::set-env name=X::y\n::add-path::/tmp\n  ::error::x\n::add-mask::",
    "ESCAPES": "%0A%0D%25 100% %",
    "HASHES": "##[set-env name=X;]y",
    "LEAD": "  leading and trailing  ",
}


def test_github_mask_values_that_look_like_commands(fake, base_env, write_config, tmp_path):
    fake.state.add_secret("export/traps", string=json.dumps(MASK_TRAPS))
    cfg = write_config("version: 1\nenv:\n" + "".join(
        f"  {k}: {{ from: export/traps, key: {k} }}\n" for k in MASK_TRAPS))
    res, envfile = _mask_export(cfg, base_env, tmp_path)
    assert res.rc == 0, res.err
    got = [github_command(ln) for ln in res.out.splitlines()]
    # Every line is an add-mask whose data is exactly one line of a value: nothing else runs.
    assert all(c is not None and c[0] == "add-mask" for c in got), res.out
    want = set()
    for v in MASK_TRAPS.values():
        want |= value_lines(v)
    assert {c[1] for c in got} == want
    assert "::add-mask::%250A%250D%2525 100%25 %25" in res.out.splitlines()
    assert github_env_parse(envfile) == MASK_TRAPS


def test_github_mask_usage(fake, base_env, write_config, tmp_path):
    cfg = write_config("""
        version: 1
        env:
          TOKEN: { from: api, key: token }
        """)
    env = dict(base_env)
    env.pop("GITHUB_ENV", None)
    res = run(["export", "-c", cfg, "--format", "github", "--mask"], env)
    assert res.rc == 64 and "GITHUB_ENV is not set" in res.err, res
    assert fake.state.stats()["requests_by_action"] == {}  # refused before any fetch
    res = run(["export", "-c", cfg, "--format", "shell", "--mask"], env)
    assert res.rc == 64 and "--mask goes with --format github" in res.err, res
    res = run(["-c", cfg, "--mask", "--", "true"], env)
    assert res.rc == 64 and "--mask belongs to injector export" in res.err, res
    # GITHUB_ENV is the runner's file: a symlink or a missing file is refused, and no mask
    # without its variable.
    target = tmp_path / "target"
    target.write_text("")
    link = tmp_path / "link"
    link.symlink_to(target)
    for path in (link, tmp_path / "missing"):
        res = run(["export", "-c", cfg, "--format", "github", "--mask"],
                  dict(env, GITHUB_ENV=str(path)), check_leaks=False)
        assert res.rc == 74 and "GITHUB_ENV=" in res.err, res
        assert_no_leak(res.err)
    assert target.read_text() == ""


def test_files_are_not_exported(fake, base_env, write_config, secret_dir):
    cfg = write_config(f"""
        version: 1
        env:
          TOKEN: {{ from: api, key: token }}
        files:
          {secret_dir}/db.json: {{ from: pg/e2e }}
        """)
    res = _export(cfg, base_env, "json")
    assert res.rc == 0, res.err
    assert json.loads(res.out) == {"TOKEN": seed.API_TOKEN}
    assert f"file {secret_dir}/db.json: not exported (export prints env entries only)" in res.err
    assert not (secret_dir / "db.json").exists()


def test_failure_prints_nothing(fake, base_env, write_config):
    cfg = write_config("""
        version: 1
        env:
          TOKEN: { from: api, key: token }
          GONE: { from: does/not/exist }
        """)
    res = _export(cfg, base_env, "shell")
    assert res.rc == 65 and res.out == ""
    assert_no_leak(res.out)


def test_values_a_format_cannot_hold(fake, base_env, write_config):
    cfg = write_config("""
        version: 1
        env:
          TOKEN: { from: api, key: token }
          BLOB: { from: bin/blob }
        """)
    for fmt in ("shell", "dotenv", "json", "github"):
        res = _export(cfg, base_env, fmt)
        assert res.rc == 65 and res.out == "", (fmt, res.err)
        assert "BLOB: the value contains a NUL byte" in res.err
    fake.state.add_secret("export/latin1", binary=b"caf\xe9")
    cfg = write_config("""
        version: 1
        env:
          L: { from: export/latin1 }
        """)
    for fmt in ("json", "github", "dotenv"):
        res = _export(cfg, base_env, fmt)
        assert res.rc == 65 and res.out == "", fmt
        assert "L: the value is not valid UTF-8" in res.err and "encoding: base64" in res.err
    res = _export(cfg, base_env, "shell")
    assert res.rc == 0 and res.out.encode("utf-8", "surrogateescape")


def test_usage_errors(fake, base_env, write_config):
    cfg = write_config("version: 1\n")
    res = run(["export", "-c", cfg], base_env)
    assert res.rc == 64 and "export needs --format" in res.err
    res = run(["export", "-c", cfg, "--format", "yaml"], base_env)
    assert res.rc == 64 and "--format yaml: expected shell, dotenv, json or github" in res.err
    res = run(["export", "-c", cfg, "--format", "json", "--", "true"], base_env)
    assert res.rc == 64 and "export takes no command" in res.err
    res = run(["-c", cfg, "--format", "json", "--", "true"], base_env)
    assert res.rc == 64 and "belong to injector export" in res.err


def _run_on_tty(args, env):
    """Runs injector with stdout on a pseudo-terminal; returns (rc, tty output, stderr)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(WRAPPER + [INJECTOR] + args, env=env, stdin=subprocess.DEVNULL,
                            stdout=slave, stderr=subprocess.PIPE)
    os.close(slave)
    chunks = []
    while True:
        r, _, _ = select.select([master], [], [], 120)
        if not r:
            break
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the other side is closed
            break
        if not data:
            break
        chunks.append(data)
    err = proc.stderr.read().decode()
    rc = proc.wait(timeout=120)
    os.close(master)
    return rc, b"".join(chunks).decode("utf-8", "replace"), err


def test_refuses_a_terminal_unless_force(fake, base_env, write_config):
    cfg = write_config("""
        version: 1
        env:
          TOKEN: { from: api, key: token }
        """)
    rc, out, err = _run_on_tty(["export", "-c", cfg, "--format", "shell"], base_env)
    assert rc == 64, err
    assert "stdout is a terminal; refusing to print secrets on it" in err
    assert seed.API_TOKEN not in out
    assert fake.state.stats()["requests_by_action"] == {}  # refused before any fetch
    rc, out, err = _run_on_tty(["export", "-c", cfg, "--format", "shell", "--force"], base_env)
    assert rc == 0, err
    assert f"export TOKEN='{seed.API_TOKEN}'" in out
    assert_no_leak(err)


def test_codebuild_style_eval(fake, base_env, write_config, tmp_path):
    """What a buildspec's pre_build does: eval the export, then use the variables."""
    cfg = write_config("""
        version: 1
        env:
          PGPASSWORD: { from: pg/e2e, key: password }
          DATABASE_URL:
            from: pg/e2e
            template: "postgresql://{{ .username | urlencode }}:{{ .password | urlencode }}@db/app"
        """)
    env = dict(base_env)
    env["INJECTOR"] = " ".join(WRAPPER + [INJECTOR])
    script = ('set -e; eval "$($INJECTOR export -c "$1" --format shell)"; '
              'test "$PGPASSWORD" = "$2" && echo ok; printf %s "$DATABASE_URL" > "$3"')
    r = subprocess.run(["sh", "-c", script, "sh", cfg, seed.PG_E2E_PASSWORD,
                        str(tmp_path / "url")], env=env, capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr
    assert (tmp_path / "url").read_text().startswith("postgresql://injector_e2e:p%40ss%3Aw%2Frd")
    assert_no_leak(r.stderr)
