"""What a diagnosis says, and the JSON report (schema 1, DESIGN.md)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from diagnose.incident import Incident

SCHEMA = 1


@dataclass
class Finding:
    """A fact computed for this incident: text (markdown) and/or a small table."""

    title: str
    text: str = ""
    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)


@dataclass
class FixView:
    title: str
    safety: str
    safety_reason: str
    body: str
    tailored: bool = False  # computed for this incident by an advisor, not the KB's static text


@dataclass
class Patch:
    """An edit of the user's script, shown as a diff and applied only when they say so."""

    path: str
    sha256: str  # of the script as it was when diagnosed; fix refuses if it changed
    diff: str
    new_text: str
    title: str
    safety: str
    safety_reason: str


@dataclass
class Advice:
    """An advisor's output: findings, tailored fixes (shown first), and what a patcher needs."""

    findings: list[Finding] = field(default_factory=list)
    fixes: list[FixView] = field(default_factory=list)
    note: str | None = None  # e.g. "from the text alone: the model's own names were not available"
    params: dict[str, Any] = field(default_factory=dict)  # what a patch needs, e.g. {"target_modules": [...]}


@dataclass
class Diagnosis:
    id: str
    title: str
    confidence: float
    evidence: str
    matched: str
    why: str
    fixes: list[FixView]
    findings: list[Finding] = field(default_factory=list)
    patch: Patch | None = None
    quiz: list[str] = field(default_factory=list)
    version_note: str | None = None
    advisor_note: str | None = None
    origin: str = "shipped"

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Diagnosis":
        """The inverse of ``to_dict`` (saved reports, incident history)."""
        target = d.get("patch_target")
        patch = None
        if target and d.get("patch"):
            patch = Patch(path=target["path"], sha256=target["sha256"], diff=d["patch"], new_text=target["new_text"],
                          title=target["title"], safety=target["safety"], safety_reason=target["safety_reason"])
        return cls(
            id=d["id"], title=d["title"], confidence=float(d["confidence"]), evidence=d.get("evidence", ""),
            matched=d.get("matched", ""), why=d.get("why", ""),
            fixes=[FixView(**f) for f in d.get("fixes", [])],
            findings=[Finding(**f) for f in d.get("findings", [])],
            patch=patch, quiz=list(d.get("quiz", [])), version_note=d.get("version_note"),
            advisor_note=d.get("advisor_note"), origin=d.get("origin", "shipped"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "title": self.title, "confidence": self.confidence, "evidence": self.evidence,
            "matched": self.matched, "why": self.why,
            "fixes": [asdict(f) for f in self.fixes],
            "findings": [asdict(f) for f in self.findings],
            "patch": self.patch.diff if self.patch else None,
            "patch_target": ({"path": self.patch.path, "sha256": self.patch.sha256, "title": self.patch.title,
                              "safety": self.patch.safety, "safety_reason": self.patch.safety_reason,
                              "new_text": self.patch.new_text} if self.patch else None),
            "quiz": self.quiz, "version_note": self.version_note, "advisor_note": self.advisor_note,
            "origin": self.origin,
        }


@dataclass
class Report:
    incident: Incident
    diagnoses: list[Diagnosis]
    script: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Report":
        """The inverse of ``to_dict``: a saved JSON report back into objects."""
        from diagnose.incident import ExceptionInfo

        raw = data.get("incident") or {}
        exception = raw.get("exception")
        chain = [ExceptionInfo.from_dict(e) for e in (exception or {}).get("chain", [])]
        incident = Incident(source=raw.get("source", "text"),
                            exception=ExceptionInfo.from_dict(exception) if exception else None, chain=chain,
                            exit_code=raw.get("exit_code"), signal=raw.get("signal"), rank=raw.get("rank"))
        return cls(incident=incident, diagnoses=[Diagnosis.from_dict(d) for d in data.get("diagnoses", [])],
                   script=data.get("script"))

    def to_dict(self) -> dict[str, Any]:
        return {"schema": SCHEMA, "incident": self.incident.to_dict(), "script": self.script,
                "diagnoses": [d.to_dict() for d in self.diagnoses]}

    def to_json(self) -> str:
        from diagnose.capture.hookdir._diagnose_capture import scrub

        return scrub(json.dumps(self.to_dict(), indent=2, ensure_ascii=False))


def abstention_facts(incident: Incident) -> list[str]:
    """What can still be said when no entry matched: the signal and the error line."""
    lines = []
    if incident.signal:
        oom = " (SIGKILL usually means the kernel's out-of-memory killer)" if incident.signal == "SIGKILL" else ""
        lines.append(f"The process was killed by {incident.signal}{oom}.")
    if incident.exception:
        message = incident.exception.message.splitlines()[0][:200] if incident.exception.message else ""
        lines.append(f"No confident diagnosis for {incident.exception.qualname}: {message}")
    elif not incident.signal:
        lines.append("No Python error was found in this output.")
    return lines
