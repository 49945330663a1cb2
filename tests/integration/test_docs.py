"""The docs are checked, not trusted: the man page passes `mandoc -T lint`; `--help`, the man
page and README.md list the same options and exit codes; `injector help config` prints
docs/config.md exactly; `make install` installs the binary and the man page; the README's
troubleshooting headings are messages the C sources really print."""
import json
import os
import re
import shutil
import subprocess

import pytest

from conftest import INJECTOR, ROOT, run

MAN = os.path.join(ROOT, "docs", "injector.1")
README = os.path.join(ROOT, "README.md")
CONFIG_MD = os.path.join(ROOT, "docs", "config.md")


def _read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def _help():
    res = run(["--help"], {"PATH": "/usr/bin:/bin"})
    assert res.rc == 0 and res.err == "", res
    return res.out


def _section(text, start, stop_re):
    i = text.index(start) + len(start)
    m = re.compile(stop_re, re.M).search(text, i)
    return text[i:m.start() if m else len(text)]


def help_options(text):
    opts = set()
    for line in _section(text, "\noptions:\n", r"^\S|^$").splitlines():
        if not re.match(r"^ {2,6}-", line):
            continue  # a continuation line
        first = re.split(r" {2,}", line.strip())[0]
        opts.update(re.findall(r"(?<![\w-])(--?[A-Za-z][a-z-]*)", first))
    return opts


def man_options(text):
    opts = set()
    body = _section(text, "The options are as follows:", r"^\.El")
    for line in body.splitlines():
        if not line.startswith(".It "):
            continue
        for dashes, name in re.findall(r"Fl (\\-)?([A-Za-z][A-Za-z\\-]*)", line):
            name = name.replace("\\-", "-")
            opts.add(("--" if dashes else "-") + name)
    return opts


def readme_options(text):
    opts = set()
    for line in _section(text, "\n## Command line\n", r"^## ").splitlines():
        if line.startswith("| `"):
            cell = line.split("|")[1]
            opts.update(re.findall(r"`(--?[A-Za-z][a-z-]*)", cell))
    return opts


def test_man_page_lints_clean():
    if not shutil.which("mandoc"):
        pytest.skip("mandoc not installed (Debian: apt-get install mandoc)")
    r = subprocess.run(["mandoc", "-T", "lint", "-W", "all", MAN], capture_output=True,
                       text=True)
    # Cross-references to pages this host may not have installed are not about our page.
    msgs = [m for m in (r.stdout + r.stderr).splitlines()
            if m and "mandoc.db" not in m and "referenced manual not found" not in m]
    assert msgs == [], "\n".join(msgs)
    r = subprocess.run(["mandoc", "-T", "utf8", MAN], capture_output=True, text=True)
    assert r.returncode == 0 and "--from-env" in re.sub(r".\x08", "", r.stdout)


def test_help_man_and_readme_list_the_same_options():
    h = help_options(_help())
    m = man_options(_read(MAN))
    r = readme_options(_read(README))
    assert "--config" in h and "-c" in h and "--format" in h, h
    assert h == m, f"--help vs man page: only in --help {h - m}, only in man {m - h}"
    assert h == r, f"--help vs README: only in --help {h - r}, only in README {r - h}"


def test_every_option_is_accepted_by_the_parser():
    """Each documented long option is known to getopt (no 'unknown option')."""
    for opt in help_options(_help()):
        res = run([opt], {"PATH": "/usr/bin:/bin"})
        assert "unknown option" not in res.err, opt


def test_subcommands_documented_everywhere():
    h, m, r = _help(), _read(MAN), _read(README)
    for cmd in ("check", "export", "help", "version"):
        assert f"injector {cmd}" in h, cmd
        assert f".Cm {cmd}" in m, cmd
        assert f"injector {cmd}" in r, cmd


def _exit_codes_readme(text):
    return {int(c) for c in re.findall(r"^\| (\d+) \|", _section(text, "\n## Exit codes\n",
                                                                   r"^## "), re.M)}


def test_exit_codes_agree():
    readme = _exit_codes_readme(_read(README))
    man = {int(c) for c in re.findall(r"^\.It (\d+)$",
                                      _section(_read(MAN), ".Sh EXIT STATUS", r"^\.Sh"), re.M)}
    helptext = _section(_help(), "exit codes:", r"^$")
    assert readme == man, (readme ^ man)
    assert {int(c) for c in re.findall(r"\b(\d{1,3}) ", helptext)} == readme


def test_readme_keeps_the_two_commands():
    text = _read(README)
    sec = _section(text, "## Fresh Debian bookworm machine: the two commands\n", r"^## ")
    assert "    ./scripts/setup-debian.sh && make demo" in sec
    assert "sudo ./scripts" not in sec  # bookworm images have no sudo; the script asks itself
    assert "make check-all" in sec


def test_help_config_prints_docs_config_md():
    res = run(["help", "config"], {"PATH": "/usr/bin:/bin"})
    assert res.rc == 0
    assert res.out == _read(CONFIG_MD)
    for key in ("template", "encoding", "child_env", "drop_aws_credentials", "INJECTOR_CONFIG_YAML",
                "sm://", "urlencode"):
        assert key in res.out, key


def _c_text():
    """Every string literal in injector/*.c, adjacent literals joined, escapes for quotes and
    backslashes undone: the text messages are made of."""
    parts = []
    for name in sorted(os.listdir(os.path.join(ROOT, "injector"))):
        if name.endswith(".c"):
            src = _read(os.path.join(ROOT, "injector", name))
            src = re.sub(r'"\s*\n\s*"', "", src)  # "abc "\n    "def" -> "abc def"
            for lit in re.findall(r'"((?:[^"\\\n]|\\.)*)"', src):
                parts.append(lit.replace('\\"', '"').replace("\\\\", "\\"))
    return "\n".join(parts)


def test_troubleshooting_messages_are_real():
    text = _section(_read(README), "\n## Troubleshooting\n", r"^## ")
    headings = re.findall(r"^### `(.+)`$", text, re.M)
    assert len(headings) >= 15, headings
    c = _c_text()
    for h in headings:
        for piece in h.split("..."):
            piece = piece.strip()
            if len(piece) < 3:
                continue
            assert piece in c, f"README troubleshooting: {piece!r} (from {h!r}) is not in injector/*.c"


def test_make_install(tmp_path):
    if not os.access(INJECTOR, os.X_OK):
        pytest.skip("no binary")
    prefix = tmp_path / "prefix"
    dest = tmp_path / "dest"
    # The binary is already built; install only copies (no rebuild in another build dir).
    for extra in ([f"PREFIX={prefix}"], [f"PREFIX=/opt/inj", f"DESTDIR={dest}"]):
        r = subprocess.run(["make", "-C", ROOT, "--no-print-directory", "install"] + extra,
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
    for root in (prefix, dest / "opt" / "inj"):
        binary = root / "bin" / "injector"
        page = root / "share" / "man" / "man1" / "injector.1"
        assert binary.is_file() and os.access(binary, os.X_OK)
        assert oct(page.stat().st_mode & 0o777) == "0o644"
        assert page.read_bytes() == open(MAN, "rb").read()
        r = subprocess.run([str(binary), "--version"], capture_output=True, text=True)
        assert r.returncode == 0 and r.stdout.startswith("injector ")
    if shutil.which("man"):
        r = subprocess.run(["man", "-M", str(prefix / "share" / "man"), "-P", "cat", "injector"],
                           capture_output=True, text=True, env={"PATH": "/usr/bin:/bin",
                                                                "MANWIDTH": "80"})
        if r.returncode == 0:
            assert "--pristine" in re.sub(r".\x08", "", r.stdout)


def _ecs_snippets(text):
    """Every ```json block that holds ECS containerDefinitions (or a piece of one)."""
    for block in re.findall(r"```json\n(.*?)```", text, re.S):
        if '"entryPoint"' not in block:
            continue
        body = block.strip()
        if not body.startswith("{"):
            body = "{" + body + "}"
        yield json.loads(body)


def _containers(doc):
    return doc.get("containerDefinitions", [doc]) if isinstance(doc, dict) else []


@pytest.mark.parametrize("path", [README, os.path.join(ROOT, "docs", "supervise.md")])
def test_ecs_examples_in_docs_parse_and_their_configs_check(path, base_env, tmp_path):
    """The ECS snippets are valid JSON; injector is their entry point; an inline config
    (INJECTOR_CONFIG_YAML) passes `injector check`, and a --supervise one refreshes."""
    seen = 0
    for doc in _ecs_snippets(_read(path)):
        for c in _containers(doc):
            assert "injector" in c["entryPoint"][0], c["entryPoint"]
            assert c["entryPoint"][-1] == "--", c["entryPoint"]
            for var in c.get("environment", []):
                if var["name"] != "INJECTOR_CONFIG_YAML":
                    continue
                env = dict(base_env, INJECTOR_CONFIG_YAML=var["value"])
                res = run(["check"], env)
                assert res.rc == 0, (path, res)
                if "--supervise" in c["entryPoint"]:
                    assert "refresh:" in var["value"]
                seen += 1
    assert seen >= 1, f"{path}: no ECS example with an inline config"


def test_every_variable_injector_reads_is_documented():
    """Each AWS_*/INJECTOR_*/SSL_*/HTTPS_PROXY name in the sources is in --help and in
    README's tables (childenv.c only lists names to drop, it reads none)."""
    names = set()
    for f in os.listdir(os.path.join(ROOT, "injector")):
        if f.endswith(".c") and f != "childenv.c":
            text = _read(os.path.join(ROOT, "injector", f))
            names |= set(re.findall(r'"((?:AWS|INJECTOR|SSL)_[A-Z0-9_]*[A-Z0-9]|HTTPS_PROXY)"',
                                    text))
    assert len(names) > 30, names
    readme = _read(README)
    # --help writes NAME[_SUFFIX] for NAME and NAME_SUFFIX.
    helptext = re.sub(r"\b([A-Z0-9_]+)\[(_[A-Z0-9_]+)\]", r"\1 \1\2", _help())
    assert {n for n in names if not re.search(rf"\b{n}\b", helptext)} == set()
    assert {n for n in names if f"`{n}`" not in readme} == set()
