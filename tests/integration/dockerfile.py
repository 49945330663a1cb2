"""A small Dockerfile reader for the tests (no Docker engine here): instructions with
continuation lines joined and comments dropped, stages, exec-form arguments, COPY lines.
Only what our Dockerfiles use; anything else is an assertion failure, never a guess."""
import json
import re


def dockerfile_instructions(text):
    """[(KEYWORD, args)] with comments dropped and continuation lines joined."""
    out, cur = [], ""
    for line in text.splitlines():
        if not cur and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if cur and line.lstrip().startswith("#"):
            continue  # a comment inside a continued instruction
        if line.rstrip().endswith("\\"):
            cur += line.rstrip()[:-1] + " "
            continue
        cur += line
        kw, _, args = cur.strip().partition(" ")
        out.append((kw.upper(), args.strip()))
        cur = ""
    assert not cur, "Dockerfile ends inside a continued line"
    return out


def dockerfile_stages(text):
    """[{"from": image, "name": alias or None, "platform": --platform or None,
    "ins": [(KW, args)]}] in order."""
    stages = []
    for kw, args in dockerfile_instructions(text):
        if kw == "FROM":
            m = re.fullmatch(r"(?:--platform=(\S+)\s+)?(\S+)(?:\s+[Aa][Ss]\s+(\S+))?", args)
            assert m, f"cannot parse FROM {args}"
            stages.append({"from": m.group(2), "name": m.group(3), "platform": m.group(1),
                           "ins": []})
        elif kw != "ARG" or stages:
            assert stages, f"{kw} before the first FROM"
            stages[-1]["ins"].append((kw, args))
    return stages


def exec_form(args):
    v = json.loads(args)
    assert isinstance(v, list) and all(isinstance(x, str) for x in v), args
    return v


def parse_copy(args):
    """COPY [--from=X] [--chmod=M] [--chown=U] SRC... DEST -> (flags, srcs, dest)."""
    flags = {}
    words = args.split()
    while words and words[0].startswith("--"):
        k, _, v = words.pop(0)[2:].partition("=")
        flags[k] = v
    rest = " ".join(words)
    parts = exec_form(rest) if rest.startswith("[") else rest.split()
    assert len(parts) >= 2, f"COPY needs a source and a destination: {args}"
    return flags, parts[:-1], parts[-1]


def markdown_dockerfiles(text):
    """The instructions of every ```dockerfile block in a Markdown text, block by block."""
    blocks = re.findall(r"^```dockerfile\n(.*?)^```", text, re.M | re.S)
    return [dockerfile_instructions(b) for b in blocks]
