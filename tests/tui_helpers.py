"""Shared by the tests/test_tui_*.py files: fixed clocks, a one-entry KB, waiting on the app's work."""

from __future__ import annotations

import shutil
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "tests" / "data" / "tui" / "scripts"
EXAMPLE = ROOT / "examples" / "peft-target-modules-not-found.py"
ENTRY_ID = "peft-target-modules-not-found"
FIXED_NOW = datetime(2025, 11, 20, 9, 30, tzinfo=timezone.utc)


def fixed_clock() -> float:
    """Elapsed time on screen reads 0s: snapshots must not show a clock."""
    return 0.0


def fixed_now() -> datetime:
    return FIXED_NOW


def one_entry_kb(tmp_path: Path, entry_id: str = ENTRY_ID):
    """A KB of one shipped entry, so snapshots do not change when other entries land."""
    from diagnose.kb.loader import load_kb

    folder = tmp_path / "one-entry-kb"
    folder.mkdir(exist_ok=True)
    source = ROOT / "kb" / f"{entry_id}.yaml"
    if not source.exists():
        import pytest

        pytest.skip(f"kb/{entry_id}.yaml is not written yet")
    shutil.copy(source, folder / source.name)
    return load_kb([], shipped=folder)


def workers(app):
    """The app's own workers (DirectoryTree's directory loader never ends: not waited on)."""
    return [w for w in app.workers if w.group != "_loader"]


async def settle(pilot, timeout: float = 60.0) -> None:
    """Wait until the app's workers are done.  Polls rather than ``wait_for_complete``, which
    raises for a worker that is scheduled but not started yet (seen under load)."""
    from textual.worker import WorkerState

    deadline = time.monotonic() + timeout
    while any(w.state in (WorkerState.PENDING, WorkerState.RUNNING) for w in workers(pilot.app)):
        if time.monotonic() > deadline:
            raise AssertionError(f"workers still running after {timeout:.0f}s")
        await pilot.pause(0.05)
    await pilot.pause()


async def wait_until(pilot, predicate, timeout: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        await pilot.pause(0.05)


async def wait_for_run(pilot, timeout: float = 120.0) -> None:
    """Until the run screen's child has ended and its diagnosis (if any) is on screen."""
    screen = pilot.app.screen
    await wait_until(
        pilot, lambda: getattr(screen, "state", "") in ("exited", "failed-to-start"), timeout, "the child to end"
    )
    await settle(pilot)
    await settle(pilot)  # the diagnosis arrives after the exit, then the quiz question after it


def async_test(function):
    """Run an ``async def`` test on a fresh event loop (no pytest-asyncio in this project)."""
    import asyncio
    import functools

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        return asyncio.run(function(*args, **kwargs))

    return wrapper


_RECORDINGS: dict = {}


def recording_of(script: Path):
    """A real run of ``script``, recorded once per test process and replayed by many tests."""
    from diagnose.tui.replay import record

    key = str(script)
    if key not in _RECORDINGS:
        rec = record([str(script.relative_to(ROOT)) if script.is_relative_to(ROOT) else str(script)])
        _RECORDINGS[key] = rec
    return _RECORDINGS[key]


def replay_app(tmp_path, recording, **options):
    """The app as the CLI makes it, with the recorded run replayed instead of a new process."""
    from diagnose.tui.app import make_app
    from diagnose.tui.replay import ReplayRunner

    options.setdefault("kb", one_entry_kb(tmp_path))
    options.setdefault("clock", fixed_clock)
    options.setdefault("now", fixed_now)
    options.setdefault("start_dir", SCRIPTS)
    runner = ReplayRunner({recording.target[0]: recording})
    return make_app(recording.target, runner=runner, **options), runner
