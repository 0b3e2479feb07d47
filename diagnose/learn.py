"""`diagnose learn`: fix-this-script exercises, rustlings-style, one per error family.

    diagnose learn                 the exercises and your progress
    diagnose learn ID              copy the broken script into your workspace (once) and say what to do
    diagnose learn ID --check      run your copy through `diagnose run`: the same run → diagnosis loop
    diagnose learn ID --hint       the next hint (each one says more)
    diagnose learn ID --reset      start the exercise again from the broken script

An exercise is a KB entry's example script (``examples/<id>.py``, the CPU
reproduction every entry ships): it fails with that entry's error.  The
learner edits a copy until it runs; ``--check`` runs the copy with the
wrapper, so a failure is diagnosed exactly as their own script would be.
After a passing check the entry's fixes are shown as the reference solution.

The workspace is ``<user dir>/exercises/<id>/``; progress (started, hints
used, solved) is a small JSON file beside the copy.  No torch import here:
the exercise script runs in its own process.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from diagnose import paths
from diagnose.errors import UsageError

# Example scripts that need the Hugging Face Hub (or a network failure of it): not offline exercises.
NEEDS_NETWORK = frozenset({"hub-gated-repo", "hub-offline", "hub-model-not-found"})
HELPERS = ("tiny_models.py", "tiny_tokenizer.py")  # what the example scripts import beside them
PROGRESS = "progress.json"


def examples_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "examples"


def exercise_ids() -> list[str]:
    """Entry ids with a CPU example script, in name order."""
    folder = examples_dir()
    if not folder.is_dir():
        return []
    shipped = {p.stem for p in paths.SHIPPED_KB.glob("*.yaml")} if paths.SHIPPED_KB.is_dir() else set()
    return sorted(p.stem for p in folder.glob("*.py") if p.stem in shipped and p.stem not in NEEDS_NETWORK)


@dataclass
class Progress:
    started: bool = False
    hints: int = 0
    solved: bool = False
    checks: int = 0

    @classmethod
    def read(cls, folder: Path) -> Progress:
        try:
            data = json.loads((folder / PROGRESS).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls()
        if not isinstance(data, dict):
            return cls()
        return cls(
            bool(data.get("started")), int(data.get("hints", 0)), bool(data.get("solved")), int(data.get("checks", 0))
        )

    def write(self, folder: Path) -> None:
        data = {"started": self.started, "hints": self.hints, "solved": self.solved, "checks": self.checks}
        paths.write_private(folder / PROGRESS, json.dumps(data) + "\n")


def workspace(exercise_id: str) -> Path:
    return paths.user_dir() / "exercises" / exercise_id


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("exercise", nargs="?", metavar="ID", help="the exercise (a KB entry id); none: list them")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="run your copy through `diagnose run`")
    mode.add_argument("--hint", action="store_true", help="show the next hint")
    mode.add_argument("--reset", action="store_true", help="start again from the broken script")


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    console = Console(highlight=False)
    ids = exercise_ids()
    if not ids:
        raise UsageError("diagnose learn: no exercises here (they are built from examples/ of a source checkout)")
    if args.exercise is None:
        if args.check or args.hint or args.reset:
            raise UsageError("diagnose learn: --check, --hint and --reset need an exercise ID")
        return _list(console, ids)
    if args.exercise not in ids:
        raise UsageError(f"diagnose learn: no exercise {args.exercise!r}; `diagnose learn` lists them")
    entry = _entry(args.exercise)
    folder = workspace(args.exercise)
    script = folder / f"{args.exercise}.py"
    if args.reset and folder.exists():
        shutil.rmtree(folder)
    progress = Progress.read(folder)
    if not script.exists():
        _start(args.exercise, folder, script)
        progress = Progress(started=True)
        progress.write(folder)
        _explain_start(console, entry, script)
        if not (args.check or args.hint):
            return 0
    if args.hint:
        return _hint(console, entry, folder, progress)
    if args.check:
        return _check(console, entry, folder, script, progress)
    _explain_start(console, entry, script)
    return 0


def _list(console: Any, ids: list[str]) -> int:
    from rich.table import Table

    table = Table(box=None, show_header=True, header_style="bold")
    table.add_column("exercise")
    table.add_column("the error")
    table.add_column("progress")
    solved = 0
    for exercise_id in ids:
        progress = Progress.read(workspace(exercise_id))
        solved += progress.solved
        if progress.solved:
            state = "[green]solved[/green]" + (
                f" ({progress.hints} hint{'s' * (progress.hints != 1)})" if progress.hints else ""
            )
        elif progress.started:
            state = f"[yellow]started[/yellow], {progress.checks} check(s), {progress.hints} hint(s)"
        else:
            state = "[dim]not started[/dim]"
        table.add_row(exercise_id, _escape(_entry(exercise_id).title), state)
    console.print(table)
    console.print(
        f"\n{solved} of {len(ids)} solved. `diagnose learn ID` starts one; "
        "edit the copy, then `diagnose learn ID --check`."
    )
    return 0


def _start(exercise_id: str, folder: Path, script: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    source = examples_dir()
    shutil.copyfile(source / f"{exercise_id}.py", script)
    for helper in HELPERS:
        if (source / helper).exists():
            shutil.copyfile(source / helper, folder / helper)


def _explain_start(console: Any, entry: Any, script: Path) -> None:
    console.print(f"[bold]Exercise {entry.id}[/bold]: {_escape(entry.title)}")
    console.print(f"The script [cyan]{_escape(str(script))}[/cyan] fails with this error. Edit it until it runs.")
    console.print(
        f"Then: `diagnose learn {entry.id} --check` (runs it through `diagnose run`); "
        f"`diagnose learn {entry.id} --hint` if you are stuck."
    )


def _hints(entry: Any) -> list[str]:
    """From vague to explicit: the error's family, the entry's first quiz hint, then the first fix."""
    hints = [f"The error is: {entry.title}. Run the check and read the diagnosis's first paragraph."]
    hints += [q.hint for q in entry.quiz if q.hint][:1]
    if entry.fixes:
        hints.append(f"The usual fix: {entry.fixes[0].title}.")
    return hints


def _hint(console: Any, entry: Any, folder: Path, progress: Progress) -> int:
    hints = _hints(entry)
    if progress.hints >= len(hints):
        console.print("[dim]No more hints: the reference fix is shown once the script runs.[/dim]")
        for number, text in enumerate(hints, 1):
            console.print(f"Hint {number}/{len(hints)}: {_escape(text)}")
        return 0
    progress.hints += 1
    progress.write(folder)
    console.print(f"[yellow]Hint {progress.hints}/{len(hints)}:[/yellow] {_escape(hints[progress.hints - 1])}")
    return 0


def _check(console: Any, entry: Any, folder: Path, script: Path, progress: Progress) -> int:
    from diagnose import workflow

    progress.checks += 1
    progress.write(folder)
    # The copy builds its tiny models where the examples do, so a check does not rebuild them.
    os.environ.setdefault("TINY_MODELS_DIR", str(examples_dir().parent / ".tiny-models"))
    code = workflow.run([sys.executable, str(script)], workflow.Options(quiz=False))
    console.print()
    if code != 0:
        console.print(
            f"[bold yellow]Not yet[/bold yellow] (exit status {code}). Edit {_escape(script.name)} and check again"
            f"; `diagnose learn {entry.id} --hint` gives a hint."
        )
        return code
    progress.solved = True
    progress.write(folder)
    console.print(f"[bold green]Solved[/bold green]: {_escape(entry.title)} no more.")
    console.print("[bold]Reference fix[/bold] (the KB entry's fixes):")
    for fix in entry.fixes[:2]:
        console.print(f"\n[bold]{_escape(fix.title)}[/bold] ({fix.safety})")
        console.print(_escape(fix.body.strip()))
    console.print(f"\n`diagnose quiz --entry {entry.id}` checks that it stays learnt.")
    return 0


def _entry(entry_id: str) -> Any:
    from diagnose.quiz.session import load_entries

    return load_entries()[entry_id]


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
