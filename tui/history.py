"""Past incidents, as the progress store keeps them (the JSON report, schema 1), back into report objects."""

from __future__ import annotations

import os
import shlex
import sys
from typing import Any

from diagnose.incident import ExceptionInfo, Incident
from diagnose.report import Diagnosis, Finding, FixView, Patch, Report


def report_from_dict(data: dict[str, Any]) -> Report:
    """Rebuild a Report from ``Report.to_dict()`` output (what history stores)."""
    raw = data.get("incident") or {}
    exception = raw.get("exception")
    chain = [ExceptionInfo.from_dict(e) for e in (exception or {}).get("chain", [])]
    incident = Incident(source=raw.get("source", "text"),
                        exception=ExceptionInfo.from_dict(exception) if exception else None, chain=chain,
                        exit_code=raw.get("exit_code"), signal=raw.get("signal"), rank=raw.get("rank"))
    return Report(incident=incident, diagnoses=[_diagnosis(d) for d in data.get("diagnoses", [])],
                  script=data.get("script"))


def _diagnosis(d: dict[str, Any]) -> Diagnosis:
    target = d.get("patch_target")
    patch = None
    if target and d.get("patch"):
        patch = Patch(path=target["path"], sha256=target["sha256"], diff=d["patch"], new_text=target["new_text"],
                      title=target["title"], safety=target["safety"], safety_reason=target["safety_reason"])
    return Diagnosis(
        id=d["id"], title=d["title"], confidence=float(d["confidence"]), evidence=d.get("evidence", ""),
        matched=d.get("matched", ""), why=d.get("why", ""),
        fixes=[FixView(**f) for f in d.get("fixes", [])],
        findings=[Finding(**f) for f in d.get("findings", [])],
        patch=patch, quiz=list(d.get("quiz", [])), version_note=d.get("version_note"),
        advisor_note=d.get("advisor_note"), origin=d.get("origin", "shipped"),
    )


def short_command(command: str) -> str:
    """``/venv/bin/python /home/me/proj/train.py`` → ``python train.py`` (relative to here when inside)."""
    try:
        words = shlex.split(command)
    except ValueError:
        return command
    out = []
    for i, word in enumerate(words):
        if i == 0 and (word == sys.executable or os.path.basename(word).startswith("python")):
            out.append("python")
        elif os.path.isabs(word):
            relative = os.path.relpath(word)
            out.append(relative if not relative.startswith("..") else os.path.basename(word))
        else:
            out.append(word)
    return shlex.join(out)
