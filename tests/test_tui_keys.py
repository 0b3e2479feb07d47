"""The TUI driven from the keyboard only (Pilot): focus, safe runs, the patch lifecycle, keys that apply.

Each test follows one key path a user takes; the failing example is replayed from
one real run (tui_helpers.recording_of), the short scripts of
tests/data/tui/scripts run for real.
"""

from __future__ import annotations

import shutil
import signal
from pathlib import Path

import pytest
from diagnose.tui.app import make_app
from diagnose.tui.messages import Diagnosed, QuizAnswered, RunFinished
from textual.widgets import Button, Input
from textual.widgets._collapsible import CollapsibleTitle
from tui_helpers import (
    ENTRY_ID,
    EXAMPLE,
    ROOT,
    SCRIPTS,
    async_test,
    fixed_clock,
    fixed_now,
    one_entry_kb,
    recording_of,
    replay_app,
    settle,
    wait_for_run,
    wait_until,
)

from diagnose.quiz.store import ProgressStore


@pytest.fixture(autouse=True)
def _at_repo_root(monkeypatch):
    monkeypatch.chdir(ROOT)


@pytest.fixture
def example_recording():
    if not (ROOT / "kb" / f"{ENTRY_ID}.yaml").exists():
        pytest.skip("the KB entry is not written yet")
    return recording_of(EXAMPLE)


class Seen(list):
    def __call__(self, message) -> None:
        if isinstance(message, (Diagnosed, RunFinished, QuizAnswered)) and message not in self:
            self.append(message)

    def of(self, kind):
        return [m for m in self if isinstance(m, kind)]


def script_app(tmp_path, name, **options):
    options.setdefault("kb", one_entry_kb(tmp_path))
    return make_app([f"tests/data/tui/scripts/{name}"], clock=fixed_clock, now=fixed_now, start_dir=SCRIPTS, **options)


def footer_keys(screen) -> dict[str, str]:
    """The keys the footer shows now, with their labels."""
    return {key: active.binding.description for key, active in screen.active_bindings.items() if active.binding.show}


def inside(widget, container) -> bool:
    return widget is not None and (widget is container or container in widget.ancestors)


# -- focus


@async_test
async def test_tab_reaches_every_fix_and_button_and_fix_3_opens_from_the_keyboard(tmp_path, example_recording):
    app, _ = replay_app(tmp_path, example_recording)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_run(pilot)
        screen = app.screen
        panel = screen.diagnosis_panel
        assert screen.active_tab == "diagnosis" and app.focused is panel  # the automatic switch moved the focus
        fixes = list(panel.query(".fix"))
        assert len(fixes) >= 3
        reached = set()
        for _ in range(len([w for w in screen.focus_chain if inside(w, panel)])):
            await pilot.press("tab")
            if inside(app.focused, panel):
                reached.add(app.focused)
        titles = {fix.query_one(CollapsibleTitle) for fix in fixes}
        buttons = set(panel.query(Button))
        assert titles <= reached and buttons <= reached
        assert {b.id for b in buttons} >= {"show-evidence", "apply", "apply-rerun"}
        third = panel.query_one("#fix-3")
        assert third.collapsed
        while app.focused is not third.query_one(CollapsibleTitle):
            await pilot.press("shift+tab")
        await pilot.press("enter")
        assert not third.collapsed
        # every tab change hands the focus to the pane it shows
        await pilot.press("1")
        assert app.focused is screen.log_view
        log = screen.log_view
        assert log.max_scroll_y > 0
        await pilot.press("g")
        await wait_until(pilot, lambda: log.scroll_y == 0 and not log.follow, 10, "the top of the log")
        await pilot.press("j")
        await wait_until(pilot, lambda: log.scroll_y == 1, 10, "j to scroll the log")
        await pilot.press("2")
        assert app.focused is panel
        await pilot.press("g", "j", "j")
        await wait_until(pilot, lambda: panel.scroll_y == 2, 10, "g, then j to scroll the diagnosis")
        await pilot.press("G")
        await wait_until(pilot, lambda: panel.scroll_y == panel.max_scroll_y, 10, "G to reach the end")
        await pilot.press("3")
        await pilot.pause()
        assert inside(app.focused, screen.quiz_panel)


# -- safe runs


@async_test
async def test_escape_never_ends_a_run_ctrl_c_stops_it_and_a_stopped_run_is_not_an_incident(tmp_path):
    app = script_app(tmp_path, "endless.py")
    seen = Seen()
    async with app.run_test(size=(100, 30), message_hook=seen) as pilot:
        screen = app.screen
        await wait_until(pilot, lambda: screen.log_view.total_lines >= 3, 30, "output")
        assert app.focused is screen.log_view  # the pane shown has the keys from the start
        keys = footer_keys(screen)
        assert keys.get("s") == "Stop" and "r" not in keys and keys.get("q") == "Quit"
        await pilot.press("slash")
        await pilot.pause()
        await pilot.press(*"step", "escape")  # closes the search …
        assert not screen.query_one("#search").display and screen.running
        await pilot.press("escape")  # … and a second Escape does not end the run
        await pilot.press("escape")
        assert app.screen is screen and screen.running
        await pilot.press("ctrl+q")  # asks first
        await pilot.pause()
        assert type(app.screen).__name__ == "ConfirmScreen"
        assert "Stop the run and quit?" in str(app.screen.query_one("#question").render())
        await pilot.press("escape")  # no: the run goes on
        assert app.screen is screen and screen.running
        await pilot.press("q")  # q while running asks the same
        await pilot.pause()
        assert type(app.screen).__name__ == "ConfirmScreen"
        await pilot.press("n")
        assert screen.running
        await pilot.press("ctrl+c")  # on the run screen Ctrl+C is Stop
        await wait_for_run(pilot, timeout=30)
        assert screen.result.exit_code == 130 and "interrupted, cleaning up" in screen.log_view.lines()
        keys = footer_keys(screen)
        assert "s" not in keys and keys.get("r") == "Rerun" and keys.get("q") == "Back"
        assert not seen.of(Diagnosed)
    with ProgressStore() as store:
        assert store.list_incidents() == []


@async_test
async def test_quit_confirmed_mid_run_ends_the_child_and_leaves_no_capture_folder(tmp_path):
    app = script_app(tmp_path, "endless.py")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        await wait_until(pilot, lambda: screen.log_view.total_lines >= 3, 30, "output")
        child = screen.child
        await pilot.press("ctrl+q")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
    assert not Path(child.capture_dir).exists()
    while child.read(1) is not None:  # SIGTERM went to its process group: its output ends
        pass
    assert child.wait().signal == signal.SIGTERM
    with ProgressStore() as store:
        assert store.list_incidents() == []


# -- the patch: apply, applied, undo (a reopened report; the real apply-and-rerun is in test_tui_flows)


@async_test
async def test_apply_and_undo_from_the_keyboard_in_a_reopened_report(tmp_path, example_recording):
    from diagnose.tui.screens.report import ReportScreen

    from diagnose.report import Report

    app, _ = replay_app(tmp_path, example_recording)
    seen = Seen()
    async with app.run_test(size=(100, 30), message_hook=seen) as pilot:
        await wait_for_run(pilot)
        [diagnosed] = seen.of(Diagnosed)
        # The same report as History reopens it, for a byte-identical copy of the script (the repo's stays as is).
        report = Report.from_dict(diagnosed.report.to_dict())
        patch = report.diagnoses[0].patch
        script = tmp_path / Path(patch.path).name
        shutil.copy(patch.path, script)
        original = script.read_bytes()
        patch.path = str(script)
        await pilot.press("q")  # the run ended: q goes back
        app.push_screen(ReportScreen(report, title="reopened", text=example_recording.result.tail.decode()))
        await settle(pilot)
        screen = app.screen
        assert not screen.diagnosis_panel.query("#apply-rerun")  # nothing to rerun here: not offered
        assert footer_keys(screen).get("a") == "Apply" and "u" not in footer_keys(screen)
        await pilot.press("a")
        await pilot.pause()
        assert type(app.screen).__name__ == "ConfirmScreen"
        await pilot.press("y")
        await wait_until(pilot, lambda: screen.applied is not None, 30, "the patch")
        assert script.read_bytes() != original and script.with_name(script.name + ".diagnose-bak").exists()
        state = str(screen.query_one("#patch-state").render())
        assert "Applied ✓" in state and "u Undo" in state
        assert screen.query_one("#apply", Button).disabled
        keys = footer_keys(screen)
        assert "a" not in keys and keys.get("u") == "Undo"
        await pilot.press("u")
        await wait_until(pilot, lambda: screen.applied is None, 30, "the undo")
        assert script.read_bytes() == original
        assert not list(tmp_path.glob("*.diagnose-bak*"))  # restored from the backup, which is gone
        assert not screen.query_one("#apply", Button).disabled and "a" in footer_keys(screen)


# -- quiz


@async_test
async def test_a_choice_question_is_answered_and_rated_with_keys(tmp_path):
    from diagnose.tui.screens.review import ReviewScreen

    from diagnose.kb.loader import load_kb

    kb = load_kb([])
    choice = next(((loaded.id, q) for loaded in kb for q in loaded.entry.quiz if q.kind == "choice"), None)
    if choice is None:
        pytest.skip("no choice question in the KB yet")
    entry_id, question = choice
    app = make_app(start_dir=SCRIPTS, kb=one_entry_kb(tmp_path, entry_id), now=fixed_now)
    seen = Seen()
    async with app.run_test(size=(100, 30), message_hook=seen) as pilot:
        await settle(pilot)
        app.push_screen(ReviewScreen(include_all=True))
        await settle(pilot)
        panel = app.screen.query_one("QuizPanel")
        total = len(panel.items)
        assert f"{total} to go" in str(app.screen.query_one("#status").render())
        while panel.item is not None and panel.item.id != question.id:
            await pilot.pause()
            await panel.next_question()
        await pilot.pause()
        left = total - panel.index
        assert f"{left} to go" in str(app.screen.query_one("#status").render())  # it counts down
        options = panel.query_one("#quiz-choices")
        assert options.highlighted is None  # nothing chosen for the user
        if question.hint:
            await pilot.press("ctrl+g")
            assert question.hint in str(panel.query_one("#quiz-hint-text").render())
        shown = panel.item.question  # its choices in the order asked (shuffled)
        await pilot.press("abcd"[shown.choices.index(shown.answer)])
        await pilot.pause()
        assert panel.grade is not None and panel.grade.correct
        await pilot.press("4")  # Easy
        await wait_until(pilot, lambda: seen.of(QuizAnswered), 10, "the review to be saved")
        assert seen.of(QuizAnswered)[0].rating == "easy"


@async_test
async def test_an_open_question_on_the_run_screen_answered_and_rated_by_number(tmp_path, example_recording):
    app, _ = replay_app(tmp_path, example_recording)
    seen = Seen()
    async with app.run_test(size=(100, 30), message_hook=seen) as pilot:
        await wait_for_run(pilot)
        await pilot.press("3")
        await pilot.pause()
        panel = app.screen.quiz_panel
        if panel.item is None or panel.item.question.kind != "open":
            pytest.skip("the entry's first question is not an open one")
        answer = panel.query_one("#quiz-answer", Input)
        await wait_until(pilot, lambda: app.focused is answer, 10, "focus on the answer")
        await pilot.press(*"c_attn 1", "enter")  # digits typed into the answer stay there
        await pilot.pause()
        assert panel.grade is not None and "1" in answer.value
        await pilot.press("1")  # Again
        await wait_until(pilot, lambda: seen.of(QuizAnswered), 10, "the review to be saved")
        assert seen.of(QuizAnswered)[0].rating == "again"
        await pilot.press("escape")  # the run has ended: back to the start screen
        assert type(app.screen).__name__ == "StartScreen"


# -- help, navigation, the footer


@async_test
async def test_help_is_focused_and_scrolls_at_80x24(tmp_path):
    app = script_app(tmp_path, "progress_ok.py")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_run(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        body = app.screen.query_one("#help")
        assert app.focused is body and body.max_scroll_y > 0
        await pilot.press("j", "pagedown")
        assert body.scroll_y > 1
        await pilot.press("G")
        assert body.scroll_y == body.max_scroll_y
        text = app.screen.query_one("Markdown").source
        for label in ("Rerun", "Apply", "Undo", "Evidence in log", "Knowledge base", "History", "Light/dark theme"):
            assert label in text
        await pilot.press("q")
        assert type(app.screen).__name__ == "RunScreen"


@async_test
async def test_lists_move_with_vim_keys_and_q_goes_back(tmp_path):
    from diagnose.kb.loader import load_kb

    app = make_app(start_dir=SCRIPTS, kb=load_kb([]), now=fixed_now)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.pause(0.3)
        tree = app.screen.query_one("#tree")
        assert app.focused is tree
        await pilot.press("j")
        assert tree.cursor_line == 1
        await pilot.press("k")
        assert tree.cursor_line == 0
        await pilot.press("b")  # the KB (k is vim's up)
        await pilot.pause()
        assert type(app.screen).__name__ == "KBScreen"
        await pilot.press("down")  # from the search box to the list
        options = app.screen.query_one("#kb-list")
        assert app.focused is options
        await pilot.press("j", "j", "k")
        assert options.highlighted == 1
        await pilot.press("G")
        assert options.highlighted == options.option_count - 1
        await pilot.press("q")
        assert type(app.screen).__name__ == "StartScreen"
        await pilot.press("i")  # History (h is vim's left)
        await settle(pilot)
        assert type(app.screen).__name__ == "HistoryScreen"
        await pilot.press("q")
        assert type(app.screen).__name__ == "StartScreen"


@async_test
async def test_a_rerun_clears_the_search_and_the_old_diagnosis(tmp_path, example_recording):
    app, runner = replay_app(tmp_path, example_recording)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for_run(pilot)
        screen = app.screen
        await pilot.press("slash")
        await pilot.pause()
        await pilot.press(*"peft", "enter", "escape")
        assert screen.log_view.match_count > 0 and "match" in str(screen.status_text())
        runner.delay = 30.0  # the rerun's output would come slowly: the screen between runs can be seen
        await pilot.press("r")
        await pilot.pause()
        assert screen.active_tab == "log" and app.focused is not None
        assert screen.log_view.match_count == 0 and screen.log_view.search_term is None
        assert "match" not in str(screen.status_text())
        assert screen.report is None and "Running" in str(screen.diagnosis_panel.query_one(".placeholder").render())
        assert screen.diagnosis_panel.query("LoadingIndicator")  # "Running…" with a spinner
        assert screen.query_one("#starting").display  # no output yet: the log shows it is starting
        await pilot.press("s")  # stopped before any output: nothing to diagnose
        await wait_for_run(pilot)
        assert not screen.query_one("#starting").display and screen.report is None
        assert "stopped" in str(screen.diagnosis_panel.query_one(".placeholder").render())


@async_test
async def test_theme_is_saved_and_no_color_keeps_text_readable(tmp_path, monkeypatch):
    app = make_app(start_dir=SCRIPTS, kb=one_entry_kb(tmp_path), now=fixed_now)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+t")
        assert app.theme == "textual-light"
    again = make_app(start_dir=SCRIPTS, kb=one_entry_kb(tmp_path), now=fixed_now)
    async with again.run_test(size=(80, 24)):
        assert again.theme == "textual-light"
    monkeypatch.setenv("NO_COLOR", "1")
    plain = make_app(start_dir=SCRIPTS, kb=one_entry_kb(tmp_path), now=fixed_now)
    async with plain.run_test(size=(80, 24)):
        from textual.color import Color

        theme = plain.current_theme
        assert plain.no_color and theme.name == "diagnose-no-color"
        background = Color.parse(theme.background)
        for colour in (theme.error, theme.warning, theme.success, theme.accent, theme.primary):
            # Textual greys every colour under NO_COLOR: each keeps a strong contrast with the background
            assert Color.parse(colour).brightness - background.brightness > 0.6, colour


# -- the child's terminal


def test_the_child_pty_follows_the_window_size(tmp_path):
    from diagnose.tui.child import PtyRunner

    script = tmp_path / "size.py"
    script.write_text(
        "import os, signal, sys, time\n"
        "def show(*_):\n    print('size', *os.get_terminal_size(1), flush=True)\n"
        "signal.signal(signal.SIGWINCH, show)\nshow()\n"
        "for _ in range(200):\n    time.sleep(0.05)\n"
    )
    child = PtyRunner().start([str(script)], 80, 24)
    seen = b""
    while b"size 80 24" not in seen:
        seen += child.read(5) or b""
    child.resize(132, 40)
    while b"size 132 40" not in seen:
        data = child.read(5)
        assert data is not None, seen
        seen += data
    child.abandon()
    assert not Path(child.capture_dir).exists()
    while child.read(1) is not None:
        pass
    assert child.wait().signal == signal.SIGTERM


def test_tui_with_a_missing_script_is_one_line_and_exit_2(capsys):
    from diagnose.cli import main

    assert main(["tui", "nothere.py"]) == 2
    assert capsys.readouterr().err == "diagnose tui: no such script: nothere.py\n"


@async_test
async def test_a_deliberate_exit_is_not_offered_as_a_new_kb_entry(tmp_path):
    script = tmp_path / "exits.py"
    script.write_text("raise SystemExit(3)\n")
    app = make_app([str(script)], kb=one_entry_kb(tmp_path), clock=fixed_clock, now=fixed_now, start_dir=SCRIPTS)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for_run(pilot)
        panel = app.screen.diagnosis_panel
        assert app.screen.result.exit_code == 3
        text = " ".join(str(w.render()) for w in panel.query("Static"))
        assert text.count("No confident diagnosis") == 1
        assert not panel.query("#save-traceback")
