"""`diagnose kb new ID [--from-traceback FILE] [--dir DIR]`: a new entry file to fill in.

With a traceback the scaffold is already a working entry: ``exception:`` holds
the final exception's class (bare and qualified), ``message:`` an RE2 pattern
of its first message line with the variable parts (quoted names, numbers,
paths, tensor shapes, sizes, dtypes, devices, hex addresses, sets and lists of names) generalised and
everything else escaped, and the traceback is the first example.  The parts a
human must write (why, fixes, quiz) say TODO, which ``kb validate`` reports as
warnings, never as errors.

Where the file goes: ``--dir DIR``; else the first ``--kb`` directory; else
the first ``DIAGNOSE_KB_PATH`` directory; else the shipped ``kb/`` of a source
checkout (a contribution upstream).  An existing file is never overwritten.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from diagnose.errors import DiagnoseError, UsageError
from diagnose.kb.schema import ENTRY_ID, MAX_PATTERN_LENGTH

MESSAGE_CHARS = 160  # generalise at most this much of the first message line
_RE2_SPECIAL = set("\\.^$|?*+()[]{}")

# Variable parts of an error message, most specific first: (scanner regex, RE2 replacement).
_VARIABLE = [
    (r"torch\.Size\(\[[\d, ]*\]\)", r"torch\.Size\(\[[0-9, ]*\]\)"),
    (r"0x[0-9a-fA-F]+", r"0x[0-9a-fA-F]+"),
    (r"\{'[^'\n]*'(?:, '[^'\n]*')*\}|\{\"[^\"\n]*\"(?:, \"[^\"\n]*\")*\}", r"\{[^}\n]*\}"),  # {'q_proj', 'v_proj'}
    (r"\[(?:'[^'\n]*'|\"[^\"\n]*\"|[\d.]+)(?:, (?:'[^'\n]*'|\"[^\"\n]*\"|[\d.]+))*\]", r"\[[^\]\n]*\]"),
    (r"\((?:\d+,\s?)+\d*\)", r"\([0-9, ]*\)"),  # shapes as tuples: (2, 3), (3,)
    (r"(?<![\w'])'[^'\n]*'", r"'[^'\n]*'"),  # 'name' (not the apostrophe of "can't")
    (r"(?<![\w\"])\"[^\"\n]*\"", r"\"[^\"\n]*\""),
    (r"(?:[A-Za-z]:)?(?:[\\/][\w.+~-]+){2,}[\\/]?", r"[^\s'\"]+"),  # /a/b/c.py, C:\x\y
    (
        r"\b(?:c10::)?(?:BFloat16|Float|Half|Double|Long|Int|Short|Bool|Byte|(?:b?float|u?int)\d+)\b",
        r"(?:c10::)?\w+",
    ),  # dtypes: "expected BFloat16 but got Float", torch.float16
    (r"\b(?:cuda:\d+|cuda|cpu|mps|meta)\b(?!_)", r"(?:cuda:\d+|cuda|cpu|mps|meta)"),  # devices
    (r"(?<![A-Za-z_\d])\d+(?:\.\d+)? ?(?:[KMGTPE]i?B|bytes)\b", r"\d+(?:\.\d+)? ?(?:[KMGTPE]i?B|bytes)"),  # sizes
    (r"(?<![A-Za-z_\d])\d+(?:x\d+)+(?![\d])", r"\d+(?:x\d+)+"),  # 2x3 (matmul shapes)
    (r"(?<![A-Za-z_\d])\d+(?:\.\d+)?(?:e[+-]?\d+)?", r"\d+(?:\.\d+)?(?:e[+-]?\d+)?"),
]
_SCANNER = re.compile("|".join(f"({pattern})" for pattern, _ in _VARIABLE))


def escape(text: str) -> str:
    """Escape RE2's special characters only (spaces and quotes stay readable)."""
    return "".join("\\" + c if c in _RE2_SPECIAL else c for c in text)


def generalise(message: str) -> str:
    """An RE2 pattern for ``message`` with its variable parts replaced by character classes."""
    out: list[str] = []
    position = 0
    for found in _SCANNER.finditer(message):
        out.append(_literal(message[position : found.start()]))
        group = next(i for i, g in enumerate(found.groups()) if g is not None)
        out.append(_VARIABLE[group][1])
        position = found.end()
    out.append(_literal(message[position:]))
    return "".join(out)


def _literal(text: str) -> str:
    return re.sub(r" {2,}", " +", escape(text))


@dataclass
class Scaffold:
    entry_id: str
    text: str  # the YAML
    exception: list[str]
    pattern: str | None
    rule_key: str  # "message" or "text"


def message_rule(traceback: str) -> tuple[list[str], str, str]:
    """(exception names, pattern, "message"|"text") for the final error of ``traceback``."""
    from diagnose.textparse import normalize, parse_text

    incident = parse_text(traceback)
    exc = incident.exception
    if exc is not None and exc.message.strip():
        names = [exc.type] + ([exc.qualname] if exc.qualname != exc.type else [])
        line = next(line for line in exc.message.splitlines() if line.strip()).strip()
        return names, _pattern_of(line), "message"
    # No exception line with a message (a CUDA assert, a killed process): the last meaningful line.
    lines = [line.strip() for line in normalize(traceback).splitlines() if line.strip()]
    if not lines:
        raise UsageError("the traceback file has no text to build a rule from")
    names = [exc.type] + ([exc.qualname] if exc.qualname != exc.type else []) if exc else []
    return names, _pattern_of(lines[-1]), "text"


def _pattern_of(line: str) -> str:
    cut = line[:MESSAGE_CHARS]
    if len(line) > MESSAGE_CHARS:  # end on a word boundary, inside no variable part
        cut = cut.rsplit(" ", 1)[0] if " " in cut else cut
    pattern = generalise(cut)
    while len(pattern) > MAX_PATTERN_LENGTH and " " in cut:
        cut = cut.rsplit(" ", 1)[0]
        pattern = generalise(cut)
    from diagnose.kb.loader import compile_pattern

    if compile_pattern(pattern).search(line) is None:  # cannot happen by construction; never ship a dud
        pattern = escape(cut)
    return pattern


def build(entry_id: str, traceback: str | None = None, source: str | None = None) -> Scaffold:
    """The YAML text of a new entry (with its first example when a traceback is given)."""
    if not ENTRY_ID.match(entry_id):
        raise UsageError(f"entry id {entry_id!r} must be kebab-case, e.g. my-lib-missing-field")
    names: list[str] = []
    pattern: str | None = None
    key = "message"
    if traceback is not None:
        traceback = _clean(traceback)
        names, pattern, key = message_rule(traceback)
    lines = [f"id: {entry_id}", "title: TODO say in plain words what went wrong (one line)", "match:"]
    if pattern is None:
        lines += [
            "  # TODO: the final exception class and an RE2 regex of its message",
            "  - exception: [ValueError]",
            "    message: 'TODO a fragment of the error message'",
        ]
    else:
        rule = [f"  - exception: {_flow(names)}"] if names and key == "message" else []
        rule.append(f"    {key}: {_quote(pattern)}" if rule else f"  - {key}: {_quote(pattern)}")
        lines += ["  # generated from the traceback: check that the pattern is neither too narrow nor too wide"]
        lines += rule
    lines += [
        "why: |",
        "  TODO what happened and why, true for the library versions you ran (say which).",
        "fixes:",
        "  - title: TODO the most likely fix first",
        "    safety: manual  # safe | unsafe | manual",
        "    safety_reason: TODO why this tier (what could go wrong when the fix is applied)",
        "    body: |",
        "      TODO the fix, with a code snippet:",
        "",
        "      ```python",
        "      # TODO",
        "      ```",
        f"verified_with: {_flow_map(_versions())}",
        '# versions: {peft: ">=0.21"}   # where this entry applies, when behaviour changed across versions',
        "quiz: []",
        "# quiz:",
        "#   - id: TODO-kebab-case-unique-id",
        "#     kind: open",
        "#     question: TODO a question about the cause, not the message",
        "#     answer: TODO the model answer",
        "#     concepts: [TODO, what a right answer mentions]",
        "#   - id: TODO-another-id",
        "#     kind: choice",
        "#     question: TODO",
        "#     choices: [TODO right, TODO wrong]",
        "#     answer: TODO right",
    ]
    if traceback is None:
        lines += ["examples: []  # TODO paste a real traceback this entry must match"]
    else:
        lines += [
            "examples:",
            f"  - source: {_quote(source or 'TODO where this output comes from (command, versions)')}",
            "    text: " + _block(traceback, indent=6),
        ]
    lines += [
        "not_examples: []  # TODO the nearest output of another family, which must NOT match",
        "references: []  # TODO library docs or source that back the why",
    ]
    return Scaffold(entry_id, "\n".join(lines) + "\n", names, pattern, key)


def target_dir(explicit: str | None, kb_dirs: list[str]) -> Path:
    """Where ``kb new`` writes (see the module docstring)."""
    from diagnose.kb.loader import user_kb_dirs
    from diagnose.paths import SHIPPED_KB

    if explicit:
        return Path(explicit)
    if kb_dirs:
        return Path(kb_dirs[0])
    env_dirs = user_kb_dirs()
    if env_dirs:
        return env_dirs[0]
    if (SHIPPED_KB.parent / "pyproject.toml").exists():
        return SHIPPED_KB
    raise UsageError("diagnose kb new: no KB directory to write to; pass --dir DIR or set DIAGNOSE_KB_PATH")


def write(scaffold: Scaffold, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{scaffold.entry_id}.yaml"
    try:
        with open(path, "x", encoding="utf-8") as handle:  # "x": never overwrite
            handle.write(scaffold.text)
    except FileExistsError:
        raise DiagnoseError(f"{path} already exists; edit it, or pick another id") from None
    except OSError as error:
        raise DiagnoseError(f"cannot write {path}: {error.strerror}") from None
    return path


def _clean(text: str) -> str:
    """Colours and carriage returns off, tabs kept, no trailing blank lines: a readable YAML block."""
    from diagnose.textparse import _ANSI

    text = _ANSI.sub("", text.replace("\r\n", "\n"))
    lines = [line.rsplit("\r", 1)[-1].rstrip() for line in text.split("\n")]
    lines = ["".join(c for c in line if c == "\t" or c.isprintable()) for line in lines]
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines) + "\n"


def _block(text: str, indent: int) -> str:
    pad = " " * indent
    body = "\n".join(pad + line if line else "" for line in text.rstrip("\n").split("\n"))
    indicator = str(indent - 4) if text[:1] in (" ", "\t") else ""  # relative to the "- " item's keys
    return f"|{indicator}\n{body}"


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _flow(names: list[str]) -> str:
    return "[" + ", ".join(names) + "]"


def _flow_map(values: dict[str, str]) -> str:
    return "{" + ", ".join(f"{k}: {_quote(v)}" for k, v in values.items()) + "}"


def _versions() -> dict[str, str]:
    from diagnose.libfacts import installed_version

    found = {}
    for package in ("torch", "transformers", "peft"):
        version = installed_version(package)
        if version:
            found[package] = version
    return found or {"peft": "TODO"}
