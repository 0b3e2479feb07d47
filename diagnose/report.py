"""What a diagnosis says, and the JSON report (schema 1, DESIGN.md)."""

from __future__ import annotations

import json
from typing import Any

from diagnose.incident import Incident
from diagnose.record import Record

SCHEMA = 1

# Records, not dataclasses: a report is built on every diagnosis (see diagnose/record.py).


class Finding(Record):
    """A fact computed for this incident: text (markdown) and/or a small table."""

    __slots__ = ("title", "text", "columns", "rows")

    def __init__(
        self, title: str, text: str = "", columns: list[str] | None = None, rows: list[list[str]] | None = None
    ) -> None:
        self.title, self.text = title, text
        self.columns = [] if columns is None else columns
        self.rows = [] if rows is None else rows

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "text": self.text, "columns": self.columns, "rows": self.rows}


class FixView(Record):
    __slots__ = ("title", "safety", "safety_reason", "body", "tailored")

    def __init__(self, title: str, safety: str, safety_reason: str, body: str, tailored: bool = False) -> None:
        self.title, self.safety, self.safety_reason, self.body = title, safety, safety_reason, body
        self.tailored = tailored  # computed for this incident by an advisor, not the KB's static text

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "safety": self.safety,
            "safety_reason": self.safety_reason,
            "body": self.body,
            "tailored": self.tailored,
        }


class Patch(Record):
    """An edit of the user's script, shown as a diff and applied only when they say so."""

    __slots__ = ("path", "sha256", "diff", "new_text", "title", "safety", "safety_reason")

    def __init__(
        self, path: str, sha256: str, diff: str, new_text: str, title: str, safety: str, safety_reason: str
    ) -> None:
        self.path = path
        self.sha256 = sha256  # of the script as it was when diagnosed; fix refuses if it changed
        self.diff, self.new_text, self.title = diff, new_text, title
        self.safety, self.safety_reason = safety, safety_reason


class Advice(Record):
    """An advisor's output: findings, tailored fixes (shown first), and what a patcher needs."""

    __slots__ = ("findings", "fixes", "note", "params", "fit", "fit_reason", "static")

    def __init__(
        self,
        findings: list[Finding] | None = None,
        fixes: list[FixView] | None = None,
        note: str | None = None,
        params: dict[str, Any] | None = None,
        fit: float = 1.0,
        fit_reason: str | None = None,
        static: list[str] | None = None,
    ) -> None:
        self.findings = [] if findings is None else findings
        self.fixes = [] if fixes is None else fixes
        self.note = note  # e.g. "from the text alone: the model's own names were not available"
        self.params = {} if params is None else params  # what a patch needs, e.g. {"target_modules": [...]}
        # How well the evidence the advisor saw (probes, frames, the user's code) fits the entry: 1 = no
        # objection; below 1 it contradicts the entry and scales its confidence (the engine re-ranks).
        self.fit, self.fit_reason = fit, fit_reason
        # Titles of the entry's static fixes that fit this incident (None: all of them); a static fix
        # about another cause would contradict the tailored one.
        self.static = static


class Diagnosis(Record):
    __slots__ = (
        "id",
        "title",
        "confidence",
        "evidence",
        "matched",
        "why",
        "fixes",
        "findings",
        "patch",
        "quiz",
        "version_note",
        "advisor_note",
        "origin",
    )

    def __init__(
        self,
        id: str,
        title: str,
        confidence: float,
        evidence: str,
        matched: str,
        why: str,
        fixes: list[FixView],
        findings: list[Finding] | None = None,
        patch: Patch | None = None,
        quiz: list[str] | None = None,
        version_note: str | None = None,
        advisor_note: str | None = None,
        origin: str = "shipped",
    ) -> None:
        self.id, self.title, self.confidence, self.evidence = id, title, confidence, evidence
        self.matched, self.why, self.fixes = matched, why, fixes
        self.findings = [] if findings is None else findings
        self.patch = patch
        self.quiz = [] if quiz is None else quiz
        self.version_note, self.advisor_note, self.origin = version_note, advisor_note, origin

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Diagnosis:
        """The inverse of ``to_dict`` (saved reports, incident history)."""
        target = d.get("patch_target")
        patch = None
        if target and d.get("patch"):
            patch = Patch(
                path=target["path"],
                sha256=target["sha256"],
                diff=d["patch"],
                new_text=target["new_text"],
                title=target["title"],
                safety=target["safety"],
                safety_reason=target["safety_reason"],
            )
        return cls(
            id=d["id"],
            title=d["title"],
            confidence=float(d["confidence"]),
            evidence=d.get("evidence", ""),
            matched=d.get("matched", ""),
            why=d.get("why", ""),
            fixes=[FixView(**f) for f in d.get("fixes", [])],
            findings=[Finding(**f) for f in d.get("findings", [])],
            patch=patch,
            quiz=list(d.get("quiz", [])),
            version_note=d.get("version_note"),
            advisor_note=d.get("advisor_note"),
            origin=d.get("origin", "shipped"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "confidence": self.confidence,
            "evidence": self.evidence,
            "matched": self.matched,
            "why": self.why,
            "fixes": [f.to_dict() for f in self.fixes],
            "findings": [f.to_dict() for f in self.findings],
            "patch": self.patch.diff if self.patch else None,
            "patch_target": (
                {
                    "path": self.patch.path,
                    "sha256": self.patch.sha256,
                    "title": self.patch.title,
                    "safety": self.patch.safety,
                    "safety_reason": self.patch.safety_reason,
                    "new_text": self.patch.new_text,
                }
                if self.patch
                else None
            ),
            "quiz": self.quiz,
            "version_note": self.version_note,
            "advisor_note": self.advisor_note,
            "origin": self.origin,
        }


class Report(Record):
    __slots__ = ("incident", "diagnoses", "script")

    def __init__(self, incident: Incident, diagnoses: list[Diagnosis], script: str | None = None) -> None:
        self.incident, self.diagnoses, self.script = incident, diagnoses, script

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        """The inverse of ``to_dict``: a saved JSON report back into objects."""
        from diagnose.incident import ExceptionInfo

        raw = data.get("incident") or {}
        exception = raw.get("exception")
        chain = [ExceptionInfo.from_dict(e) for e in (exception or {}).get("chain", [])]
        incident = Incident(
            source=raw.get("source", "text"),
            exception=ExceptionInfo.from_dict(exception) if exception else None,
            chain=chain,
            exit_code=raw.get("exit_code"),
            signal=raw.get("signal"),
            rank=raw.get("rank"),
        )
        if raw.get("ranks"):
            from diagnose.ranks import RankAnalysis

            incident.ranks = RankAnalysis.from_dict(raw["ranks"])
        return cls(
            incident=incident,
            diagnoses=[Diagnosis.from_dict(d) for d in data.get("diagnoses", [])],
            script=data.get("script"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "incident": self.incident.to_dict(),
            "script": self.script,
            "diagnoses": [d.to_dict() for d in self.diagnoses],
        }

    def to_json(self) -> str:
        from diagnose.capture.hookdir._diagnose_capture import scrub

        return scrub(json.dumps(self.to_dict(), indent=2, ensure_ascii=False))


# Only "often": SIGKILL also comes from `kill -9`, a job scheduler's limit or a timeout; cpu-out-of-memory is
# diagnosed only when the output shows the memory evidence.
OOM_KILLER = "often the kernel's out-of-memory killer"


def abstention_facts(incident: Incident) -> list[str]:
    """What can still be said when no entry matched: the signal and the error line."""
    lines = []
    if incident.ranks is not None:
        lines.append(incident.ranks.summary())
    if incident.signal == "SIGKILL":
        lines.append(f"The process was killed by signal 9 (SIGKILL) — {OOM_KILLER}.")
    elif incident.signal:
        lines.append(f"The process was killed by {incident.signal}.")
    elif incident.exit_code == 137 and not incident.exception:  # a shell or launcher passing on its child's death
        lines.append(
            f"Exit status 137 = 128 + 9: a process it started was killed by signal 9 (SIGKILL) — {OOM_KILLER}."
        )
    if incident.exception:
        message = incident.exception.message.splitlines()[0][:200] if incident.exception.message else ""
        lines.append(f"No confident diagnosis for {incident.exception.qualname}: {message}")
    elif not incident.signal:
        lines.append("No Python error was found in this output.")
    return lines
