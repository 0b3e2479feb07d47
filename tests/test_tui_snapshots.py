"""Snapshots of every screen at 80×24 and 120×40 (pytest-textual-snapshot).

No clock or absolute path is on screen: the elapsed time comes from a fixed
clock, scripts are shown relative to the repository, the history has fixed
times (in UTC), and the KB is the one shipped entry the screens show.
Read the diff before updating (``make snapshot-update``).
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from diagnose.tui.app import make_app
from tui_helpers import (
    ENTRY_ID,
    EXAMPLE,
    FIXED_NOW,
    ROOT,
    SCRIPTS,
    fixed_clock,
    fixed_now,
    one_entry_kb,
    recording_of,
    replay_app,
    settle,
    wait_for_run,
)

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


@pytest.fixture(autouse=True)
def _stable(monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("TZ", "UTC")
    # the example prints a Python set ({'q_proj', 'v_proj'}): its order follows the child's hash seed
    monkeypatch.setenv("PYTHONHASHSEED", "0")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def no_blink(app) -> None:
    for widget in app.screen.query("Input, TextArea"):
        widget.cursor_blink = False


def plain_app(tmp_path, target=(), **options):
    return make_app(
        list(target), kb=one_entry_kb(tmp_path), clock=fixed_clock, now=fixed_now, start_dir=SCRIPTS, **options
    )


def example_app(tmp_path):
    if not (ROOT / "kb" / f"{ENTRY_ID}.yaml").exists():
        pytest.skip("the KB entry is not written yet")
    return replay_app(tmp_path, recording_of(EXAMPLE))[0]


async def finished(pilot) -> None:
    await wait_for_run(pilot)
    no_blink(pilot.app)


@pytest.mark.parametrize("size", SIZES)
def test_start_screen(snap_compare, tmp_path, size):
    async def ready(pilot):
        await settle(pilot)
        await pilot.pause(0.3)  # the directory tree loads its folder

    assert snap_compare(plain_app(tmp_path), terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", SIZES)
def test_run_output_of_a_successful_script(snap_compare, tmp_path, size):
    app = plain_app(tmp_path, ["tests/data/tui/scripts/progress_ok.py"])
    assert snap_compare(app, terminal_size=size, run_before=finished)


@pytest.mark.parametrize("size", SIZES)
def test_run_diagnosis(snap_compare, tmp_path, size):
    assert snap_compare(example_app(tmp_path), terminal_size=size, run_before=finished)


@pytest.mark.parametrize("size", SIZES)
def test_run_quiz(snap_compare, tmp_path, size):
    async def quiz(pilot):
        await finished(pilot)
        await pilot.press("3")
        await pilot.pause()
        no_blink(pilot.app)

    assert snap_compare(example_app(tmp_path), terminal_size=size, run_before=quiz)


@pytest.mark.parametrize("size", SIZES)
def test_patch_confirmation(snap_compare, tmp_path, size):
    from diagnose.tui import patching

    if patching.applier() is None:
        pytest.skip("no patch-apply API")

    async def confirm(pilot):
        await finished(pilot)
        await pilot.press("A")
        await pilot.pause()

    assert snap_compare(example_app(tmp_path), terminal_size=size, run_before=confirm)


@pytest.mark.parametrize("size", SIZES)
def test_abstention(snap_compare, tmp_path, size):
    app = plain_app(tmp_path, ["tests/data/tui/scripts/unknown_error.py"])
    assert snap_compare(app, terminal_size=size, run_before=finished)


@pytest.mark.parametrize("size", SIZES)
def test_kb_browser(snap_compare, tmp_path, size):
    async def kb(pilot):
        await pilot.press("b")
        await pilot.pause()
        no_blink(pilot.app)

    assert snap_compare(plain_app(tmp_path), terminal_size=size, run_before=kb)


@pytest.mark.parametrize("size", SIZES)
def test_history(snap_compare, tmp_path, size):
    from diagnose.quiz.store import record_incident

    record_incident(
        command="python train_llama.py --epochs 3",
        source="capture",
        entry_ids=[ENTRY_ID],
        when=FIXED_NOW - timedelta(days=2),
    )
    record_incident(command="explain forum-post.txt", source="text", entry_ids=[], when=FIXED_NOW - timedelta(hours=5))

    async def history(pilot):
        await pilot.press("i")
        await settle(pilot)

    assert snap_compare(plain_app(tmp_path), terminal_size=size, run_before=history)


@pytest.mark.parametrize("size", SIZES)
def test_help(snap_compare, tmp_path, size):
    async def help_screen(pilot):
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(plain_app(tmp_path), terminal_size=size, run_before=help_screen)


@pytest.mark.parametrize("size", SIZES)
def test_explain(snap_compare, tmp_path, size):
    async def explain(pilot):
        await pilot.press("x")
        await pilot.pause()
        no_blink(pilot.app)

    assert snap_compare(plain_app(tmp_path), terminal_size=size, run_before=explain)


def test_review_with_nothing_due(snap_compare, tmp_path):
    async def review(pilot):
        await pilot.press("v")
        await settle(pilot)

    assert snap_compare(plain_app(tmp_path), terminal_size=(80, 24), run_before=review)


def test_run_diagnosis_in_the_light_theme(snap_compare, tmp_path):
    async def light(pilot):
        await finished(pilot)
        await pilot.press("ctrl+t")
        await pilot.pause()

    assert snap_compare(example_app(tmp_path), terminal_size=(80, 24), run_before=light)


@pytest.mark.parametrize("size", SIZES)
def test_run_diagnosis_without_colour(snap_compare, tmp_path, size, monkeypatch):
    """NO_COLOR: Textual greys every colour; the failure still reads (bold, underlined, framed)."""
    monkeypatch.setenv("NO_COLOR", "1")
    assert snap_compare(example_app(tmp_path), terminal_size=size, run_before=finished)


@pytest.mark.parametrize("size", SIZES)
def test_abstention_without_colour(snap_compare, tmp_path, size, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = plain_app(tmp_path, ["tests/data/tui/scripts/unknown_error.py"])
    assert snap_compare(app, terminal_size=size, run_before=finished)
