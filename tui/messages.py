"""Messages between the child worker, the screens and the panels: small dataclasses, nothing else."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from diagnose.report import Diagnosis, Patch, Report
from diagnose.runner import RunResult


@dataclass
class RunStarted(Message):
    """The child process started (``command`` as the user gave it)."""

    command: str
    pid: int | None


@dataclass
class OutputBatch(Message):
    """Finished output lines, and the live bottom rows (progress bars still moving) as they are now."""

    lines: list[str]
    live: list[str]
    nbytes: int


@dataclass
class RunFinished(Message):
    """The child ended: exit code or signal, output tail and captures (diagnose.runner.RunResult)."""

    result: RunResult
    elapsed: float


@dataclass
class RunFailedToStart(Message):
    error: str


@dataclass
class Diagnosed(Message):
    """The engine's report for a failed run or a pasted traceback (diagnoses empty: it abstained)."""

    report: Report

    @property
    def best_id(self) -> str | None:
        return self.report.diagnoses[0].id if self.report.diagnoses else None


@dataclass
class ShowEvidence(Message):
    """Highlight the line a diagnosis matched in the log."""

    diagnosis: Diagnosis


@dataclass
class ApplyPatch(Message):
    """The user asked to apply a diagnosis' patch (and maybe rerun after)."""

    patch: Patch
    rerun: bool


@dataclass
class PatchApplied(Message):
    path: str
    backup: str | None
    rerun: bool
    patched_sha256: str = ""  # of the script as the patch left it: Undo refuses if it changed since


@dataclass
class PatchUndone(Message):
    path: str


@dataclass
class QuizAnswered(Message):
    """An answer was graded and recorded (``rating`` is what the scheduler got)."""

    question_id: str
    correct: bool
    score: float
    rating: str
