"""The knowledge-base entry schema (DESIGN.md, "Knowledge base entry").

Entries are plain frozen dataclasses, so that ``explain`` can rebuild them
from the KB cache without importing pydantic.  pydantic validates them when a
YAML file is read (``validate_entry``): field types, unknown keys rejected (a
typo such as ``exmaples:`` is an error, not a silently ignored section), and
the checks in each ``__post_init__``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

ENTRY_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_PATTERN_LENGTH = 500
_STRICT = {"extra": "forbid"}  # read by pydantic when it validates these dataclasses


@dataclass(frozen=True)
class MatchRule:
    """One way an incident can hit an entry; any rule may hit, the best wins.

    ``exception`` lists class names (bare ``ValueError`` or qualified
    ``peft.utils.error.NoMatchingPeftModuleError``); a captured incident
    counts its live MRO.  ``message`` is a regex on the final exception's
    message; ``text`` a regex searched anywhere in the traceback text (for
    cut-off pastes and output that is not an exception, like a CUDA assert).
    ``origin`` says where the failing operation must have been made for the
    rule to count: ``user`` (the user's own line, attribute lookups forwarded
    by ``__getattr__`` included) or ``library`` (code inside a library); the
    rule is skipped when the frames show the other side, and counts as usual
    when the text shows no frames (diagnose/origin.py).
    """

    __pydantic_config__ = _STRICT
    exception: list[str] = field(default_factory=list)
    message: str | None = None
    text: str | None = None
    weight: float = 1.0
    origin: Literal["user", "library"] | None = None

    def __post_init__(self) -> None:
        if not (self.exception or self.message or self.text):
            raise ValueError("a match rule needs at least one of exception, message, text")
        if not 0 < self.weight <= 1:
            raise ValueError("weight must be in (0, 1]")
        for pattern in (self.message, self.text):
            if pattern is not None and len(pattern) > MAX_PATTERN_LENGTH:
                raise ValueError(f"pattern longer than {MAX_PATTERN_LENGTH} characters")


@dataclass(frozen=True)
class Runnable:
    """How the test suite runs a fix's first ```python block inside the entry's example script.

    The block replaces the example's lines ``replace`` (exact text), or is inserted after the line
    ``after``; then the script runs on a CPU with the real libraries.  ``expect: success`` means the
    patched script exits 0; ``expect: runs`` means the block's own lines raise nothing (a listing or
    a check that does not by itself fix the error).  A FutureWarning from the block's lines fails too.
    """

    __pydantic_config__ = _STRICT
    example: str  # path from the repository root, e.g. examples/no-grad-fn.py
    replace: str | None = None
    after: str | None = None
    expect: Literal["success", "runs"] = "success"
    args: list[str] = field(default_factory=list)  # the example's command-line arguments

    def __post_init__(self) -> None:
        if (self.replace is None) == (self.after is None):
            raise ValueError("runnable: give exactly one of replace, after")


@dataclass(frozen=True)
class Fix:
    __pydantic_config__ = _STRICT
    title: str
    safety: Literal["safe", "unsafe", "manual"]
    safety_reason: str
    body: str
    runnable: Runnable | None = None  # the body's python block runs on a CPU: the test suite checks it

    def __post_init__(self) -> None:
        if isinstance(self.runnable, dict):  # rebuilt from the KB cache (from_trusted)
            object.__setattr__(self, "runnable", Runnable(**self.runnable))
        if self.runnable is not None and "```python" not in self.body:
            raise ValueError("runnable: the body needs a ```python block to run")


@dataclass(frozen=True)
class QuizQuestion:
    __pydantic_config__ = _STRICT
    id: str
    question: str
    kind: Literal["open", "choice"]
    answer: str
    choices: list[str] = field(default_factory=list)
    concepts: list[str] = field(default_factory=list)
    # Words that count as a concept for the open-answer grader:
    # {"gradient checkpointing": ["activation checkpointing", "recompute"]}
    synonyms: dict[str, list[str]] = field(default_factory=dict)
    hint: str | None = None
    explanation: str | None = None
    # Choice questions: one line per wrong choice saying why it is wrong, keyed by the
    # choice's text; shown to a learner who picked it.
    why_wrong: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not ENTRY_ID.match(self.id):
            raise ValueError(f"quiz id {self.id!r} is not kebab-case")
        if self.kind == "choice":
            if len(self.choices) < 2:
                raise ValueError("a choice question needs at least two choices")
            if self.answer not in self.choices:
                raise ValueError("the answer of a choice question must be one of its choices")
            if len(set(self.choices)) != len(self.choices):
                raise ValueError("the choices of a choice question must differ")
        elif not self.concepts:
            raise ValueError("an open question needs concepts the grader looks for")
        for choice in self.why_wrong:
            if choice not in self.choices or choice == self.answer:
                raise ValueError(f"why_wrong: {choice[:40]!r} is not one of the wrong choices")


@dataclass(frozen=True)
class Example:
    __pydantic_config__ = _STRICT
    source: str
    text: str


@dataclass(frozen=True)
class Entry:
    __pydantic_config__ = _STRICT
    id: str
    title: str
    match: list[MatchRule]
    why: str
    fixes: list[Fix]
    advisor: str | None = None
    versions: dict[str, str] = field(default_factory=dict)
    verified_with: dict[str, str] = field(default_factory=dict)
    quiz: list[QuizQuestion] = field(default_factory=list)
    examples: list[Example] = field(default_factory=list)
    not_examples: list[Example] = field(default_factory=list)
    references: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not ENTRY_ID.match(self.id):
            raise ValueError(f"id {self.id!r} is not kebab-case")
        if not self.match:
            raise ValueError("match: an entry needs at least one rule")
        if not self.fixes:
            raise ValueError("fixes: an entry needs at least one fix")

    @classmethod
    def model_validate(cls, data: Any) -> Entry:
        """Validate a YAML mapping (pydantic.ValidationError on a bad one)."""
        return validate_entry(data)

    @classmethod
    def from_trusted(cls, data: dict[str, Any]) -> Entry:
        """Rebuild an entry that was validated before (the KB cache), without pydantic."""
        return cls(
            **{k: v for k, v in data.items() if k not in ("match", "fixes", "quiz", "examples", "not_examples")},
            match=[MatchRule(**r) for r in data["match"]],
            fixes=[Fix(**f) for f in data["fixes"]],
            quiz=[QuizQuestion(**q) for q in data.get("quiz", [])],
            examples=[Example(**e) for e in data.get("examples", [])],
            not_examples=[Example(**e) for e in data.get("not_examples", [])],
        )


_adapter = None


def validate_entry(data: Any) -> Entry:
    global _adapter
    if _adapter is None:
        from pydantic import TypeAdapter

        _adapter = TypeAdapter(Entry)
    return _adapter.validate_python(data)
