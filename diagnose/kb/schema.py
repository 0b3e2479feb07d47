"""The knowledge-base entry schema (DESIGN.md, "Knowledge base entry").

Validated with pydantic when a YAML file is loaded; the matcher and the
presenters work on these objects.  Unknown keys are rejected so that a typo in
a contribution (``exmaples:``) is an error, not a silently ignored section.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ENTRY_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_PATTERN_LENGTH = 500


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MatchRule(_Strict):
    """One way an incident can hit an entry; any rule may hit, the best wins.

    ``exception`` lists class names (bare ``ValueError`` or qualified
    ``peft.utils.error.NoMatchingPeftModuleError``); a captured incident
    counts its live MRO.  ``message`` is a regex on the final exception's
    message; ``text`` a regex searched anywhere in the traceback text (for
    cut-off pastes and output that is not an exception, like a CUDA assert).
    """

    exception: list[str] = Field(default_factory=list)
    message: str | None = None
    text: str | None = None
    weight: float = Field(default=1.0, gt=0, le=1.0)

    @model_validator(mode="after")
    def _has_a_condition(self) -> "MatchRule":
        if not (self.exception or self.message or self.text):
            raise ValueError("a match rule needs at least one of exception, message, text")
        for pattern in (self.message, self.text):
            if pattern is not None and len(pattern) > MAX_PATTERN_LENGTH:
                raise ValueError(f"pattern longer than {MAX_PATTERN_LENGTH} characters")
        return self


class Fix(_Strict):
    title: str
    safety: Literal["safe", "unsafe", "manual"]
    safety_reason: str
    body: str


class QuizQuestion(_Strict):
    id: str
    question: str
    kind: Literal["open", "choice"]
    choices: list[str] = Field(default_factory=list)
    answer: str
    concepts: list[str] = Field(default_factory=list)
    # Words that count as a concept for the open-answer grader:
    # {"gradient checkpointing": ["activation checkpointing", "recompute"]}
    synonyms: dict[str, list[str]] = Field(default_factory=dict)
    hint: str | None = None
    explanation: str | None = None

    @field_validator("id")
    @classmethod
    def _kebab(cls, value: str) -> str:
        if not ENTRY_ID.match(value):
            raise ValueError(f"quiz id {value!r} is not kebab-case")
        return value

    @model_validator(mode="after")
    def _kind_fits(self) -> "QuizQuestion":
        if self.kind == "choice":
            if len(self.choices) < 2:
                raise ValueError("a choice question needs at least two choices")
            if self.answer not in self.choices:
                raise ValueError("the answer of a choice question must be one of its choices")
        elif not self.concepts:
            raise ValueError("an open question needs concepts the grader looks for")
        return self


class Example(_Strict):
    source: str
    text: str


class Entry(_Strict):
    id: str
    title: str
    match: list[MatchRule] = Field(min_length=1)
    why: str
    fixes: list[Fix] = Field(min_length=1)
    advisor: str | None = None
    versions: dict[str, str] = Field(default_factory=dict)
    verified_with: dict[str, str] = Field(default_factory=dict)
    quiz: list[QuizQuestion] = Field(default_factory=list)
    examples: list[Example] = Field(default_factory=list)
    not_examples: list[Example] = Field(default_factory=list)
    references: list[str] = Field(default_factory=list)

    @field_validator("id")
    @classmethod
    def _entry_id(cls, value: str) -> str:
        if not ENTRY_ID.match(value):
            raise ValueError(f"id {value!r} is not kebab-case")
        return value
