"""Which patch to apply: read from a JSON report (the last one, or a saved ``--json`` one)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from diagnose.errors import DiagnoseError, UsageError

FIELDS = ("path", "sha256", "new_text", "title", "safety", "safety_reason")


@dataclass
class PatchChoice:
    entry_id: str
    path: str
    sha256: str
    diff: str
    new_text: str
    title: str
    safety: str
    safety_reason: str

    @property
    def name(self) -> str:
        return Path(self.path).name

    @classmethod
    def from_patch(cls, entry_id: str, patch) -> PatchChoice:
        return cls(
            entry_id=entry_id,
            path=patch.path,
            sha256=patch.sha256,
            diff=patch.diff,
            new_text=patch.new_text,
            title=patch.title,
            safety=patch.safety,
            safety_reason=patch.safety_reason,
        )


def read_report(report: str | None) -> dict:
    from diagnose.paths import last_report_path

    path = Path(report) if report else last_report_path()
    if not path.exists():
        if report:
            raise UsageError(f"diagnose fix: no such report: {report}")
        raise UsageError("diagnose fix: no diagnosis yet; run `diagnose run SCRIPT` first")
    try:
        data = _last_json_document(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise UsageError(f"diagnose fix: {path} is not a diagnose JSON report ({error})") from None
    if not isinstance(data, dict) or data.get("schema") != 1 or not isinstance(data.get("diagnoses"), list):
        raise UsageError(f"diagnose fix: {path} is not a diagnose JSON report (schema 1)")
    return data


def _last_json_document(text: str):
    """The report, also from ``diagnose run --json train.py > report.json``, where the script's own
    stdout comes first: the report is the last document, starting at a line that is just "{"."""
    try:
        return json.loads(text)
    except ValueError:
        start = text.rfind("\n{\n")
        if start < 0:
            raise
        return json.loads(text[start + 1 :])


def load(report: str | None, entry_id: str | None = None) -> PatchChoice:
    data = read_report(report)
    diagnoses = [d for d in data["diagnoses"] if isinstance(d, dict)]
    if entry_id:
        diagnoses = [d for d in diagnoses if d.get("id") == entry_id]
        if not diagnoses:
            raise UsageError(f"diagnose fix: the report has no diagnosis {entry_id!r}")
    if not diagnoses:
        raise DiagnoseError("the last run had no diagnosis, so there is no patch to apply")
    for diagnosis in diagnoses:
        target = diagnosis.get("patch_target")
        if isinstance(target, dict) and all(isinstance(target.get(k), str) for k in FIELDS):
            return PatchChoice(
                entry_id=str(diagnosis.get("id")),
                diff=str(diagnosis.get("patch") or ""),
                **{k: target[k] for k in FIELDS},
            )
    best = diagnoses[0].get("id")
    raise DiagnoseError(
        f"the diagnosis ({best}) has no patch to apply; its fixes are manual (see `diagnose run` output or the report)"
    )


@dataclass
class Restored:
    path: Path
    backup: Path


def undo(path_text: str) -> Restored:
    """Put back the newest backup of ``path_text`` (atomically, mode kept) and remove that backup."""
    from diagnose.patches._cst import PatchError
    from diagnose.patches.apply import backups, restore

    path = Path(path_text)
    found = backups(path)
    if not found:
        raise PatchError(f"no backup of {path.name} to restore ({path.name}.diagnose-bak)")
    if path.exists() and not os.access(path, os.W_OK):
        raise PatchError(f"{path} is read-only; not restored")
    restore(path, found[-1])
    return Restored(path=path, backup=found[-1])


def undo_target(script: str | None, report: str | None) -> str:
    """The script ``diagnose fix --undo`` restores: the one named, else the one the backups say.

    The backups decide, not the last report alone: after a patch the script is rerun and
    its new diagnosis (another error, or none) replaces the report that had the patch.
    """
    from diagnose.patches.apply import BACKUP_SUFFIX, backups

    if script:
        return script
    try:
        data = read_report(report)
    except UsageError:
        data = {}
    targets = [d.get("patch_target") for d in data.get("diagnoses", []) if isinstance(d, dict)]
    named = [t.get("path") for t in targets if isinstance(t, dict)]
    for candidate in [*named, data.get("script")]:
        if isinstance(candidate, str) and backups(Path(candidate)):
            return candidate
    here = sorted({str(b).split(BACKUP_SUFFIX)[0] for b in Path.cwd().glob(f"*{BACKUP_SUFFIX}*")})
    here = [name for name in here if backups(Path(name))]
    if len(here) == 1:
        return here[0]
    if not here:
        raise UsageError(
            "diagnose fix --undo: no backup (.diagnose-bak) found here; name the script: diagnose fix --undo SCRIPT"
        )
    raise UsageError(
        f"diagnose fix --undo: backups of several scripts here ({', '.join(Path(n).name for n in here)}); name one"
    )
