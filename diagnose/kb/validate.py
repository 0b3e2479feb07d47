"""`diagnose kb validate` and `diagnose kb test`: rules that lint KB entries.

Every finding is ``file:line: message`` with the line of the offending part of
the YAML (the example, the rule, the quiz id), so an editor can jump to it.

Errors (exit 1): the file does not load (YAML, schema, id = file name, regex
that RE2 refuses), a duplicate id, a regex that is slow on adversarial input,
an example that does not match its entry *first* against the whole KB, a
not_example that matches it, no example at all, a quiz id used twice in the
KB, a ``versions`` specifier that does not parse.  Warnings (exit 0): text
still marked TODO (a fresh ``kb new`` scaffold), no not_example, no quiz
question, no reference.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from diagnose.kb.loader import (
    KnowledgeBase,
    LoadedEntry,
    Problem,
    compose_node,
    line_of,
    load_entry_file,
    load_kb,
    user_kb_dirs,
)
from diagnose.paths import SHIPPED_KB

# Inputs that make backtracking engines explode; RE2 runs each in linear time.
ADVERSARIAL_LENGTH = 100_000
PATTERN_BUDGET_S = 0.25  # per pattern, all adversarial inputs together (RE2 needs ~1 ms)
TODO_MARK = "TODO"


def adversarial_inputs(pattern: str) -> list[str]:
    n = ADVERSARIAL_LENGTH
    literal = "".join(c for c in pattern if c.isalnum() or c in " _-:'\"{}[](),.") or "a"
    return [
        "a" * n,
        "a" * n + "b",
        "(" * (n // 2),
        "x " * (n // 2),
        "\n" * n,
        (literal * (n // len(literal) + 1))[:n],  # the pattern's own characters, over and over
    ]


class Issue(Problem):
    """A Problem with a severity: validation also warns (a slow pattern, an unmatched example...)."""

    __slots__ = ("severity",)

    def __init__(self, path: Path, line: int, message: str, severity: str = "error") -> None:
        super().__init__(path, line, message)
        self.severity = severity  # "error" | "warning"

    def __str__(self) -> str:
        tag = "" if self.severity == "error" else "warning: "
        return f"{self.path}:{self.line}: {tag}{self.message}"


@dataclass
class ExampleResult:
    """One example or not_example of an entry, run through parse_text + match."""

    entry_id: str
    path: Path
    line: int
    kind: str  # "examples" | "not_examples"
    index: int
    passed: bool
    detail: str


@dataclass
class Validation:
    issues: list[Issue] = field(default_factory=list)
    results: list[ExampleResult] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    entries: list[LoadedEntry] = field(default_factory=list)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors


def entry_files(paths: Iterable[Path]) -> tuple[list[Path], list[Issue]]:
    """YAML files named by ``paths`` (files, or directories of ``*.yaml``/``*.yml``), each once."""
    files: list[Path] = []
    issues: list[Issue] = []
    seen: set[Path] = set()
    for path in paths:
        path = Path(path)
        if path.is_dir():
            found = sorted(path.glob("*.yaml")) + sorted(path.glob("*.yml"))
        elif path.exists():
            found = [path]
        else:
            issues.append(Issue(path, 0, "no such file or directory"))
            continue
        for file in found:
            key = file.resolve()
            if key not in seen:
                seen.add(key)
                files.append(file)
    return files, issues


def default_paths(extra_dirs: Sequence[Path | str] = ()) -> list[Path]:
    return [SHIPPED_KB, *user_kb_dirs(extra_dirs)]


def validate(
    paths: Sequence[Path | str] = (),
    extra_dirs: Sequence[Path | str] = (),
    *,
    check_examples: bool = True,
    check_lint: bool = True,
    time_patterns: bool = True,
) -> Validation:
    """Check the entry files under ``paths`` (default: the shipped KB and the user KB dirs).

    Examples are matched against the whole KB as a run would see it: the
    shipped KB and the user dirs, with the checked files laid over it (an
    entry with the same id replaces the loaded one).
    """
    targets = [Path(p) for p in paths] or default_paths(extra_dirs)
    files, issues = entry_files(targets)
    result = Validation(issues=issues, files=files)
    loaded: list[LoadedEntry] = []
    for file in files:
        entry, problems = load_entry_file(file, origin=str(file.parent))
        result.issues += [Issue(p.path, p.line, p.message) for p in problems]
        if entry is not None:
            loaded.append(entry)
    result.issues += _duplicate_ids(files)
    result.entries = loaded
    kb = _reference_kb(loaded, extra_dirs)
    nodes = {e.path: compose_node(e.path) for e in loaded}
    for entry in loaded:
        node = nodes[entry.path]
        result.issues += _unknown_advisor(entry, node)
        if time_patterns:
            result.issues += _slow_patterns(entry, node)
        if check_examples:
            results, example_issues = run_examples(entry, kb, node)
            result.results += results
            result.issues += example_issues
        if check_lint:
            result.issues += _lint(entry, node)
    if check_lint:
        result.issues += _quiz_ids(loaded, kb, nodes)
    result.issues.sort(key=lambda i: (str(i.path), i.line, i.message))
    return result


def _reference_kb(loaded: list[LoadedEntry], extra_dirs: Sequence[Path | str]) -> KnowledgeBase:
    kb = load_kb(extra_dirs)
    for entry in loaded:
        current = kb.entries.get(entry.id)
        if current is not None and current.path.resolve() != entry.path.resolve():
            entry.overrides = current.path
        kb.entries[entry.id] = entry
    return kb


def _duplicate_ids(files: list[Path]) -> list[Issue]:
    """Two files of one directory that declare the same id (a user dir replacing a shipped id is fine)."""
    import yaml

    by_dir: dict[tuple[Path, str], list[tuple[Path, int]]] = {}
    for file in files:
        node = compose_node(file)
        if not isinstance(node, yaml.MappingNode):
            continue
        for key, value in node.value:
            if key.value == "id" and isinstance(value, yaml.ScalarNode):
                by_dir.setdefault((file.parent.resolve(), value.value), []).append((file, key.start_mark.line + 1))
    issues = []
    for (_, entry_id), where in by_dir.items():
        if len(where) > 1:
            for file, line in where:
                others = ", ".join(str(f) for f, _ in where if f != file)
                issues.append(Issue(file, line, f"duplicate id {entry_id!r} (also in {others})"))
    return issues


def _slow_patterns(entry: LoadedEntry, node) -> list[Issue]:
    """Time every pattern on adversarial input: RE2 is linear, this proves it for each pattern."""
    issues = []
    for compiled in entry.rules:
        for key in ("message", "text"):
            pattern = getattr(compiled, key)
            if pattern is None:
                continue
            source = pattern.source
            elapsed = pattern_time(pattern, source)
            if elapsed > PATTERN_BUDGET_S:
                issues.append(
                    Issue(
                        entry.path,
                        line_of(node, ("match", compiled.index, key)),
                        f"regex {source!r} takes {elapsed * 1000:.0f} ms on adversarial input "
                        f"(budget {PATTERN_BUDGET_S * 1000:.0f} ms)",
                    )
                )
    return issues


def pattern_time(compiled, source: str) -> float:
    """Seconds one compiled pattern's RE2 regex spends searching all the adversarial inputs.

    The regex itself is timed (not the loader's literal prefilter, which would
    skip most of these inputs).
    """
    regex = getattr(compiled, "regex", compiled)
    inputs = [text.encode("utf-8") for text in adversarial_inputs(source)]
    start = time.perf_counter()
    for data in inputs:
        regex.search(data)
    return time.perf_counter() - start


def run_examples(entry: LoadedEntry, kb: KnowledgeBase, node=None) -> tuple[list[ExampleResult], list[Issue]]:
    """Each example must match ``entry`` first; each not_example must not match it at all."""
    from diagnose.matcher import match
    from diagnose.textparse import parse_text

    node = node if node is not None else compose_node(entry.path)
    results: list[ExampleResult] = []
    issues: list[Issue] = []
    for kind in ("examples", "not_examples"):
        for index, example in enumerate(getattr(entry.entry, kind)):
            line = line_of(node, (kind, index, "text"))
            candidates = match(parse_text(example.text), kb)
            mine = next((c for c in candidates if c.id == entry.id), None)
            if kind == "examples":
                passed = bool(candidates) and candidates[0].id == entry.id
                if passed and mine is not None:
                    detail = f"matches first ({mine.confidence:.2f}: {mine.evidence})"
                elif mine is None:
                    best = f"; best: {candidates[0].id} ({candidates[0].confidence:.2f})" if candidates else ""
                    detail = f"{kind}[{index}] does not match this entry{best}"
                else:
                    first = candidates[0]
                    tie = " (a tie, broken by id)" if first.confidence == mine.confidence else ""
                    detail = (
                        f"{kind}[{index}] matches {first.id} ({first.confidence:.2f}) before this entry "
                        f"({mine.confidence:.2f}){tie}"
                    )
            else:
                passed = mine is None
                detail = (
                    "does not match this entry"
                    if mine is None
                    else f"{kind}[{index}] matches this entry ({mine.confidence:.2f} via match[{mine.rule_index}]: "
                    f"{mine.evidence})"
                )
            results.append(ExampleResult(entry.id, entry.path, line, kind, index, passed, detail))
            if not passed:
                issues.append(Issue(entry.path, line, detail))
    if not entry.entry.examples:
        issues.append(
            Issue(
                entry.path,
                line_of(node, ("examples",)),
                "no examples: add at least one real output this entry must match",
            )
        )
    return results, issues


def _unknown_advisor(entry: LoadedEntry, node) -> list[Issue]:
    """A misspelt ``advisor:`` would silently give only the static fixes: an error."""
    from diagnose.advisors import REGISTRY

    name = entry.entry.advisor
    if name is None or name in REGISTRY:
        return []
    known = ", ".join(sorted(REGISTRY))
    return [Issue(entry.path, line_of(node, ("advisor",)), f"advisor {name!r} does not exist (known: {known})")]


def _lint(entry: LoadedEntry, node) -> list[Issue]:
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    e = entry.entry
    issues = []
    for package, spec in e.versions.items():
        try:
            SpecifierSet(spec)
        except InvalidSpecifier:
            issues.append(
                Issue(
                    entry.path,
                    line_of(node, ("versions", package)),
                    f"versions.{package}: {spec!r} is not a version specifier (e.g. '>=0.21')",
                )
            )
    todo = [loc for loc, text in _texts(e) if TODO_MARK in text]
    for loc in todo:
        issues.append(
            Issue(entry.path, line_of(node, loc), f"{_where(loc)} is still marked {TODO_MARK}", severity="warning")
        )
    if not e.not_examples:
        issues.append(
            Issue(
                entry.path,
                line_of(node, ("not_examples",)),
                "no not_examples: add the nearest output of another family that must not match",
                severity="warning",
            )
        )
    if not e.quiz:
        issues.append(Issue(entry.path, line_of(node, ("quiz",)), "no quiz questions", severity="warning"))
    for index, question in enumerate(e.quiz):
        for message in choice_giveaways(question):
            issues.append(Issue(entry.path, line_of(node, ("quiz", index, "choices")), message, severity="warning"))
    if not e.references:
        issues.append(Issue(entry.path, line_of(node, ("references",)), "no references", severity="warning"))
    return issues


def choice_giveaways(question) -> list[str]:
    """What gives a choice question's answer away without knowing it.

    The quiz shuffles choices, but a learner reading the YAML, an export or
    another front end sees them in order; and a right answer that is the
    only long, careful choice is found by its length.
    """
    if question.kind != "choice":
        return []
    out = []
    wrong = [c for c in question.choices if c != question.answer]
    if question.choices and question.choices[0] == question.answer:
        out.append(f"quiz {question.id}: the right answer is the first choice; list it elsewhere")
    if wrong and len(question.answer) >= 1.6 * max(len(c) for c in wrong) and len(question.answer) > 25:
        out.append(f"quiz {question.id}: the right answer is the only long choice; make the others as careful")
    missing = [c for c in wrong if c not in question.why_wrong]
    if missing:
        out.append(f"quiz {question.id}: {len(missing)} wrong choice(s) without a why_wrong line")
    return out


def _texts(e) -> Iterable[tuple[tuple, str]]:
    yield ("title",), e.title
    yield ("why",), e.why
    for i, fix in enumerate(e.fixes):
        for key in ("title", "safety_reason", "body"):
            yield ("fixes", i, key), getattr(fix, key)
    for kind in ("examples", "not_examples"):
        for i, example in enumerate(getattr(e, kind)):
            yield (kind, i, "source"), example.source
    for i, question in enumerate(e.quiz):
        for key in ("question", "answer"):
            yield ("quiz", i, key), getattr(question, key)


def _where(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _quiz_ids(loaded: list[LoadedEntry], kb: KnowledgeBase, nodes: dict) -> list[Issue]:
    owners: dict[str, list[str]] = {}
    for other in kb:
        for question in other.entry.quiz:
            owners.setdefault(question.id, []).append(other.id)
    issues = []
    for entry in loaded:
        for index, question in enumerate(entry.entry.quiz):
            others = [o for o in owners.get(question.id, []) if o != entry.id]
            mine = [o for o in owners.get(question.id, []) if o == entry.id]
            if others or len(mine) > 1:
                where = ", ".join(sorted(set(others))) or "this entry"
                issues.append(
                    Issue(
                        entry.path,
                        line_of(nodes[entry.path], ("quiz", index, "id")),
                        f"quiz id {question.id!r} is also used by {where}; quiz ids are unique across the KB",
                    )
                )
    return issues
