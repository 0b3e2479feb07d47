"""``diagnose run --until-fixed``: run, diagnose, patch (after confirmation), run again.

It stops when the script succeeds, when the best diagnosis has no patch (or
there is none), when the same diagnosis comes back right after its own patch
was applied (the patch did not fix it: no point patching again), when the
user declines, or after ``MAX_ROUNDS`` runs.  Each applied patch keeps a
backup (``apply``).  The return value is the last run's exit status.

Confirmation: on a terminal each patch is shown and asked about.  Without a
terminal (CI, a pipe) nobody can confirm, so nothing is applied unless
``--yes`` was given (``Options.yes`` when the CLI has it, or
``DIAGNOSE_ASSUME_YES=1``); the loop then stops after the first diagnosis and
says how to apply the patch.  Writing to someone's files is never the default.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field

MAX_ROUNDS = 5


@dataclass
class Round:
    number: int
    exit_code: int | None
    signal: str | None = None
    diagnosis: str | None = None
    applied: str | None = None  # the patch's title
    backup: str | None = None
    diff: str = ""


@dataclass
class LoopResult:
    rounds: list[Round] = field(default_factory=list)
    stopped: str = ""  # why the loop ended, in words
    status: int = 0


def _assume_yes(options) -> bool:
    return bool(options.yes) or os.environ.get("DIAGNOSE_ASSUME_YES") == "1"


def run_until_fixed(target: list[str], options, *, rounds: int = MAX_ROUNDS, assume_yes: bool | None = None) -> int:
    from diagnose import runner

    result, last = loop(
        target, options, rounds=rounds, assume_yes=_assume_yes(options) if assume_yes is None else assume_yes
    )
    summarize(result)
    if last is None:
        return result.status
    return runner.end_like(last)


def loop(target: list[str], options, *, rounds: int = MAX_ROUNDS, assume_yes: bool = False):
    """Run the rounds; returns (LoopResult, the last RunResult)."""
    from diagnose import runner, workflow
    from diagnose.engine import diagnose_incident, incident_from_run
    from diagnose.patches._cst import PatchError
    from diagnose.patches.apply import apply
    from diagnose.patches.command import show_patch
    from diagnose.patches.target import PatchChoice

    outcome = LoopResult()
    kb = None
    previous_patched: str | None = None
    last = None
    report = None
    for number in range(1, rounds + 1):
        _say(f"round {number}: running {' '.join(target)}")
        last = runner.run(target)
        current = Round(number=number, exit_code=last.exit_code, signal=last.signal_name)
        outcome.rounds.append(current)
        if not last.failed:
            outcome.stopped = "the script succeeded"
            break
        if kb is None:
            kb = workflow.load_knowledge(options.kb_dirs)
        report = diagnose_incident(incident_from_run(last), kb, script=last.script)
        if options.json:
            workflow.save_last_report(report)
        else:
            workflow.deliver(report, options.replace(quiz=False), command=last.command)
        if not report.diagnoses:
            outcome.stopped = "no diagnosis for this failure"
            break
        best = report.diagnoses[0]
        current.diagnosis = best.id
        if best.patch is None:
            outcome.stopped = f"{best.id} has no patch; its fixes are manual"
            break
        if best.id == previous_patched:
            outcome.stopped = f"{best.id} is still there after its patch; stopping rather than patching again"
            break
        choice = PatchChoice.from_patch(best.id, best.patch)
        show_patch(choice, sys.stderr)
        if not _confirmed(choice, assume_yes):
            outcome.stopped = "patch not applied"
            break
        try:
            applied = apply(choice.path, choice.sha256, choice.new_text)
        except PatchError as error:  # read-only, changed meanwhile…: the file is untouched
            outcome.stopped = f"not patched: {error}"
            break
        current.applied, current.backup, current.diff = choice.title, str(applied.backup), choice.diff
        previous_patched = best.id
        _say(f"round {number}: applied: {choice.title} (backup: {applied.backup.name})")
    else:
        outcome.stopped = f"stopped after {rounds} rounds"
    if options.json and report is not None and last is not None and last.failed:
        sys.stdout.write(report.to_json() + "\n")
        sys.stdout.flush()
    outcome.status = (last.exit_code or 0) if last is not None and last.signal is None else 1
    return outcome, last


def _confirmed(choice, assume_yes: bool) -> bool:
    if assume_yes:
        return True
    if sys.stdin is None or not sys.stdin.isatty():
        _say(
            f"not a terminal, so nobody can confirm: {choice.name} is unchanged. Apply it with "
            f"`diagnose fix --yes`, or rerun with DIAGNOSE_ASSUME_YES=1"
        )
        return False
    from diagnose.patches.command import confirm

    return confirm(f"Apply this patch to {choice.name} and run again?")


def summarize(outcome: LoopResult) -> None:
    _say("summary:")
    for item in outcome.rounds:
        status = (
            "succeeded"
            if item.exit_code == 0
            else (f"killed by {item.signal}" if item.signal else f"failed (exit {item.exit_code})")
        )
        line = f"  round {item.number}: {status}"
        if item.diagnosis:
            line += f", {item.diagnosis}"
        if item.applied:
            line += f" -> applied: {item.applied}"
        _say(line)
    _say(f"  {outcome.stopped}")


def _say(text: str) -> None:
    print(f"diagnose: {text}", file=sys.stderr, flush=True)
