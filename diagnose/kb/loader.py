"""Load KB entries from YAML: shipped ones, then user directories that override by id.

A broken file is reported as ``file:line: problem`` and skipped; the rest
still load.  Every regex is compiled with RE2 (linear time: no catastrophic
backtracking on any input), so a contributed pattern cannot hang a run.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import re2
import yaml

from diagnose.kb.schema import Entry, MatchRule
from diagnose.paths import SHIPPED_KB

MAX_FILE_BYTES = 1_000_000
KB_PATH_ENV = "DIAGNOSE_KB_PATH"
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Problem:
    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass(frozen=True)
class CompiledRule:
    rule: MatchRule
    index: int
    message: object | None  # re2 pattern
    text: object | None


@dataclass
class LoadedEntry:
    entry: Entry
    path: Path
    origin: str  # "shipped" or the user directory it came from
    rules: list[CompiledRule]
    overrides: Path | None = None

    @property
    def id(self) -> str:
        return self.entry.id


@dataclass
class KnowledgeBase:
    entries: dict[str, LoadedEntry] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def get(self, entry_id: str) -> Entry | None:
        loaded = self.entries.get(entry_id)
        return loaded.entry if loaded else None

    def __iter__(self):
        return iter(self.entries.values())

    def __len__(self) -> int:
        return len(self.entries)


def user_kb_dirs(extra: Sequence[Path | str] = ()) -> list[Path]:
    dirs = [Path(p) for p in os.environ.get(KB_PATH_ENV, "").split(os.pathsep) if p]
    return dirs + [Path(p) for p in extra]


def load_kb(extra_dirs: Sequence[Path | str] = (), *, shipped: Path | None = SHIPPED_KB) -> KnowledgeBase:
    """The shipped KB, then DIAGNOSE_KB_PATH, then ``extra_dirs`` (later ones override)."""
    kb = KnowledgeBase()
    sources: list[tuple[Path, str]] = [(shipped, "shipped")] if shipped else []
    sources += [(d, str(d)) for d in user_kb_dirs(extra_dirs)]
    for directory, origin in sources:
        if not directory.is_dir():
            kb.problems.append(Problem(directory, 0, "KB directory not found"))
            continue
        seen_here: dict[str, Path] = {}
        for path in sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml")):
            loaded, problems = load_entry_file(path, origin)
            kb.problems.extend(problems)
            if loaded is None:
                continue
            if loaded.id in seen_here:
                kb.problems.append(Problem(path, 1, f"duplicate id {loaded.id!r} (also in {seen_here[loaded.id]})"))
                continue
            seen_here[loaded.id] = path
            if loaded.id in kb.entries:
                loaded.overrides = kb.entries[loaded.id].path
            kb.entries[loaded.id] = loaded
    return kb


def load_entry_file(path: Path, origin: str = "shipped") -> tuple[LoadedEntry | None, list[Problem]]:
    """One entry file, or the problems that keep it out (each with a line number)."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return None, [Problem(path, 1, f"file is {size:,} bytes; an entry is at most {MAX_FILE_BYTES:,}")]
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return None, [Problem(path, 1, f"cannot read: {error}")]
    try:
        node = yaml.compose(source, Loader=_SafeLoader)
        data = yaml.load(source, Loader=_SafeLoader)  # noqa: S506 - a SafeLoader (C or Python)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        reason = getattr(error, "problem", None) or str(error).splitlines()[0]
        return None, [Problem(path, line, f"malformed YAML: {reason}")]
    if not isinstance(data, dict):
        return None, [Problem(path, 1, "an entry must be a YAML mapping")]
    from pydantic import ValidationError

    try:
        entry = Entry.model_validate(data)
    except ValidationError as error:
        return None, [Problem(path, _line_of(node, err["loc"]), _describe(err)) for err in error.errors()]
    problems = []
    if entry.id != path.stem:
        problems.append(Problem(path, _line_of(node, ("id",)), f"id {entry.id!r} must equal the file name {path.stem!r}"))
    rules = []
    for index, rule in enumerate(entry.match):
        compiled = {}
        for key in ("message", "text"):
            pattern = getattr(rule, key)
            if pattern is None:
                compiled[key] = None
                continue
            try:
                compiled[key] = compile_pattern(pattern)
            except ValueError as error:
                problems.append(Problem(path, _line_of(node, ("match", index, key)), f"regex {pattern!r}: {error}"))
                compiled[key] = None
        rules.append(CompiledRule(rule, index, compiled["message"], compiled["text"]))
    if problems:
        return None, problems
    return LoadedEntry(entry=entry, path=path, origin=origin, rules=rules), []


def compile_pattern(pattern: str):
    """Compile with RE2: linear-time matching; lookarounds and backreferences are refused."""
    options = re2.Options()
    options.log_errors = False
    options.max_mem = 8 << 20
    try:
        return re2.compile(pattern, options)
    except re2.error as error:
        raise ValueError(f"not a valid RE2 pattern ({error}); lookarounds and backreferences are not supported") from None


def _describe(error: dict) -> str:
    where = ".".join(str(p) for p in error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def _line_of(node, loc: Iterable) -> int:
    """The 1-based line of the YAML node at ``loc`` (or of its nearest parent that exists)."""
    line = node.start_mark.line + 1 if node is not None else 1
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if k.value == key:
                    line, node = k.start_mark.line + 1, v
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            return line
    return line
