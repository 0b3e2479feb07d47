"""Pilot tests of each flow of `diagnose tui`, asserting on behaviour (messages, app state) first.

The failing example is run for real once per test process (torch + peft: 10-25 s
on a CPU) and replayed into the app for the tests that only need its output
and captures; the short scripts of tests/data/tui/scripts run for real.
"""

from __future__ import annotations

import shutil

import pytest
from diagnose.tui.app import make_app
from diagnose.tui.child import PtyRunner
from diagnose.tui.messages import Diagnosed, QuizAnswered, RunFinished
from textual.widgets import Input, OptionList
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


class Messages(list):
    """message_hook that keeps the messages a test is about (each once: they bubble screen → app)."""

    def __call__(self, message) -> None:
        if isinstance(message, (Diagnosed, RunFinished, QuizAnswered)) and message not in self:
            self.append(message)

    def of(self, kind):
        return [m for m in self if isinstance(m, kind)]


def script_app(tmp_path, name, **options):
    options.setdefault("kb", one_entry_kb(tmp_path))
    return make_app([f"tests/data/tui/scripts/{name}"], clock=fixed_clock, now=fixed_now, start_dir=SCRIPTS, **options)


# -- run → diagnosis


@async_test
async def test_a_failing_example_is_diagnosed_with_its_entry(tmp_path, example_recording):
    app, runner = replay_app(tmp_path, example_recording)
    seen = Messages()
    async with app.run_test(size=(100, 30), message_hook=seen) as pilot:
        await wait_for_run(pilot)
        screen = app.screen
        diagnosed = seen.of(Diagnosed)
        assert [m.best_id for m in diagnosed] == [ENTRY_ID]
        assert screen.state == "exited" and screen.result.exit_code == 1
        assert screen.query_one("#tabs").active == "diagnosis"
        title = screen.diagnosis_panel.query_one(".diagnosis-title").render()
        assert "target_modules" in str(title)
        # the matched line of the traceback is highlighted in the log
        log = screen.log_view
        assert log.evidence_line is not None
        assert "not found in the base model" in log.lines()[log.evidence_line - log.dropped]
        # the advisor's findings name GPT-2's own modules
        findings = diagnosed[0].report.diagnoses[0].findings
        assert any("c_attn" in str(row) for finding in findings for row in finding.rows)
        assert len(screen.diagnosis_panel.query(".finding-table")) == sum(1 for f in findings if f.rows)
    with ProgressStore() as store:
        incidents = store.list_incidents()
    assert [i.entry_ids[0] for i in incidents] == [ENTRY_ID]


@async_test
async def test_show_evidence_switches_to_the_log(tmp_path, example_recording):
    app, _ = replay_app(tmp_path, example_recording)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for_run(pilot)
        await pilot.click("#show-evidence")
        await pilot.pause()
        assert app.screen.query_one("#tabs").active == "log"
        assert app.screen.log_view.evidence_line is not None


@async_test
async def test_a_succeeding_script_shows_its_bar_collapsed_and_no_diagnosis(tmp_path):
    app = script_app(tmp_path, "progress_ok.py")
    seen = Messages()
    async with app.run_test(size=(100, 30), message_hook=seen) as pilot:
        await wait_for_run(pilot)
        screen = app.screen
        assert screen.result.exit_code == 0 and not seen.of(Diagnosed)
        assert "exited 0" in str(screen.status_text())
        lines = screen.log_view.lines()
        assert lines == [
            "\x1b[32mloading model\x1b[0m done",
            "training: 100%|████████████████████| 100/100",
            "\x1b[1mfinished\x1b[0m: loss 0.1234",
        ]
        assert "succeeded" in str(screen.diagnosis_panel.query_one(".placeholder").render())


@async_test
async def test_an_unknown_error_abstains_and_offers_a_new_entry(tmp_path):
    app = script_app(tmp_path, "unknown_error.py")
    seen = Messages()
    async with app.run_test(size=(100, 30), message_hook=seen) as pilot:
        await wait_for_run(pilot)
        [diagnosed] = seen.of(Diagnosed)
        assert diagnosed.report.diagnoses == []
        panel = app.screen.diagnosis_panel
        text = " ".join(str(w.render()) for w in panel.query("Static"))
        assert "No confident diagnosis" in text and "FluxCapacitorError" in text
        assert "kb new" in panel.query_one("Markdown").source
        await pilot.click("#save-traceback")
        await pilot.pause()
        saved = list((tmp_path / "diagnose-user" / "tracebacks").glob("traceback-*.txt"))
        assert saved and "FluxCapacitorError" in saved[0].read_text()


@async_test
async def test_stop_interrupts_a_running_child(tmp_path):
    app = script_app(tmp_path, "endless.py")
    seen = Messages()
    async with app.run_test(size=(100, 30), message_hook=seen) as pilot:
        screen = app.screen
        await wait_until(pilot, lambda: screen.log_view.total_lines >= 5, 30, "output")
        await pilot.press("s")
        await wait_for_run(pilot, timeout=30)
        assert screen.result.exit_code == 130  # SIGINT reached it: its own KeyboardInterrupt handler ran
        assert "interrupted, cleaning up" in screen.log_view.lines()
        assert not seen.of(Diagnosed)  # a run the user stopped is not an error to diagnose
        await pilot.press("r")  # rerun
        await wait_until(pilot, lambda: screen.state == "running" and screen.log_view.total_lines >= 2, 30, "the rerun")
        await pilot.press("s")
        await wait_for_run(pilot, timeout=30)


def test_stop_escalates_to_sigterm_when_sigint_is_ignored(tmp_path):
    import signal
    import time

    script = tmp_path / "stubborn.py"
    script.write_text(
        "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "print('ready', flush=True)\ntime.sleep(60)\n"
    )
    child = PtyRunner().start([str(script)], 80, 24)
    assert child.read(10) is not None
    child.send_signal(signal.SIGINT)
    time.sleep(0.3)
    assert child.running
    child.send_signal(signal.SIGTERM)
    while child.read(0.1) is not None:
        pass
    assert child.wait().signal == signal.SIGTERM


# -- quiz


@async_test
async def test_the_quiz_grades_an_answer_and_the_rating_feeds_the_scheduler(tmp_path, example_recording):
    app, _ = replay_app(tmp_path, example_recording)
    seen = Messages()
    async with app.run_test(size=(100, 30), message_hook=seen) as pilot:
        await wait_for_run(pilot)
        await pilot.press("3")
        await pilot.pause()
        panel = app.screen.quiz_panel
        item = panel.item
        assert item is not None and item.entry_id == ENTRY_ID
        if item.question.kind == "open":
            answer = panel.query_one("#quiz-answer", Input)
            await wait_until(pilot, lambda: app.focused is answer, 10, "focus on the answer")  # set after a refresh
            await pilot.press(*"GPT-2 has c_attn not q_proj")
            await pilot.press("enter")
        else:  # a choice question (the one built from this run comes first): pick the highlighted choice
            choices = panel.query_one("#quiz-choices")
            await wait_until(pilot, lambda: app.focused is choices, 10, "focus on the choices")
            await pilot.press("down", "enter")  # nothing is highlighted for the learner: move, then choose
        await pilot.pause()
        assert panel.grade is not None
        assert panel.query_one("#quiz-feedback")
        assert panel.query_one("#quiz-model-answer").source.strip() == item.question.answer.strip()
        await pilot.click("#rate-good")
        await wait_until(pilot, lambda: seen.of(QuizAnswered), 10, "the review to be saved")
        assert seen.of(QuizAnswered)[0].rating == "good"
    with ProgressStore() as store:
        [review] = store.reviews()
    assert review.question_id == item.id


@async_test
async def test_review_asks_due_questions_from_met_entries(tmp_path, example_recording):
    app, _ = replay_app(tmp_path, example_recording)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for_run(pilot)  # meeting the error puts its entry in the history
        await pilot.press("escape", "v")
        await settle(pilot)
        panel = app.screen.query_one("QuizPanel")
        assert panel.items and panel.items[0].entry_id == ENTRY_ID


# -- KB, history, explain, help


@async_test
async def test_kb_search_finds_the_entry_and_shows_it(tmp_path):
    from diagnose.kb.loader import load_kb

    app = make_app(start_dir=SCRIPTS, kb=load_kb([]))
    if ENTRY_ID not in app.knowledge().entries:
        pytest.skip("the KB entry is not written yet")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("b")
        await pilot.pause()
        await pilot.press(*"target modules not found")
        await pilot.pause(0.4)
        options = app.screen.query_one("#kb-list", OptionList)
        count = f"{options.option_count} of {len(app.knowledge().entries)} entries"
        assert count in str(app.screen.query_one("#status").render())  # the header counts what the search shows
        assert options.get_option_at_index(0).id == ENTRY_ID
        markdown = app.screen.query_one("#kb-entry").source
        assert app.knowledge().get(ENTRY_ID).title in markdown and "All examples" in markdown
        app.screen.query_one("#kb-search").value = "zzzunknownword"
        await wait_until(pilot, lambda: options.option_count == 0, 10, "the list to empty (after the debounce)")
        assert "0 of" in str(app.screen.query_one("#status").render())


@async_test
async def test_history_lists_incidents_and_reopens_one(tmp_path, example_recording):
    app, _ = replay_app(tmp_path, example_recording)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for_run(pilot)
        await pilot.press("escape", "i")
        await settle(pilot)
        table = app.screen.query_one("DataTable")
        assert table.row_count == 1
        await pilot.press("enter")
        await pilot.pause()
        await settle(pilot)
        reopened = app.screen
        assert type(reopened).__name__ == "ReportScreen"
        assert reopened.report.diagnoses[0].id == ENTRY_ID
        assert reopened.query_one("#tabs").active == "diagnosis"
        assert "not found in the base model" in reopened.text  # the history keeps the run's log too


@async_test
async def test_explain_a_pasted_traceback(tmp_path):
    kb = one_entry_kb(tmp_path)
    text = kb.get(ENTRY_ID).examples[0].text
    app = make_app(start_dir=SCRIPTS, kb=kb, now=fixed_now)
    seen = Messages()
    async with app.run_test(size=(100, 30), message_hook=seen) as pilot:
        await pilot.press("x")
        await pilot.pause()
        app.screen.query_one("#paste").text = text
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: seen.of(Diagnosed), 30, "the diagnosis")
        await settle(pilot)
        assert seen.of(Diagnosed)[0].best_id == ENTRY_ID
        assert type(app.screen).__name__ == "ReportScreen"
        assert app.screen.log_view.evidence_line is not None


@async_test
async def test_help_and_the_command_palette_cover_the_actions(tmp_path):
    app = script_app(tmp_path, "progress_ok.py")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for_run(pilot)
        titles = {command.title for command in app.get_system_commands(app.screen)}
        assert not {"Stop", "Follow"} & titles  # the run has ended: the palette offers what applies now
        assert {
            "Rerun",
            "Search",
            "Diagnosis",
            "Quiz",
            "Knowledge base",
            "History",
            "Review questions",
            "Explain a traceback",
            "Help",
        } <= titles
        await pilot.press("question_mark")
        await pilot.pause()
        assert type(app.screen).__name__ == "HelpScreen"
        assert "Rerun" in app.screen.query_one("Markdown").source
        await pilot.press("escape")
        await pilot.press("ctrl+t")
        assert app.theme == "textual-light"


def test_a_missing_script_is_a_usage_error_before_the_screen_is_taken(tmp_path):
    from diagnose.tui.app import run_app

    from diagnose.errors import UsageError

    with pytest.raises(UsageError):
        run_app([str(tmp_path / "nope.py")], [])


# -- apply a patch, rerun: past the error (real runs)


@pytest.mark.slow
@async_test
async def test_apply_patch_and_rerun_gets_past_the_error(tmp_path, monkeypatch):
    from diagnose.tui import patching

    if patching.applier() is None:
        pytest.skip("no patch-apply API in this installation")
    if not (ROOT / "kb" / f"{ENTRY_ID}.yaml").exists():
        pytest.skip("the KB entry is not written yet")
    work = tmp_path / "project"
    work.mkdir()
    for name in ("peft-target-modules-not-found.py", "tiny_models.py"):
        shutil.copy(ROOT / "examples" / name, work / name)
    monkeypatch.setenv("TINY_MODELS_DIR", str(ROOT / ".tiny-models"))
    monkeypatch.chdir(work)
    app = make_app(["peft-target-modules-not-found.py"], kb=one_entry_kb(tmp_path), clock=fixed_clock)
    seen = Messages()
    async with app.run_test(size=(100, 30), message_hook=seen) as pilot:
        screen = app.screen
        await wait_for_run(pilot, timeout=240)
        [diagnosed] = seen.of(Diagnosed)
        assert diagnosed.best_id == ENTRY_ID and diagnosed.report.diagnoses[0].patch is not None
        assert screen.diagnosis_panel.query("#apply-rerun")  # the button, and its key:
        await pilot.press("A")
        await pilot.pause()
        assert type(app.screen).__name__ == "ConfirmScreen"
        await pilot.click("#yes")
        await wait_until(pilot, lambda: len(seen.of(RunFinished)) == 2, 240, "the rerun to end")
        await settle(pilot)
        assert (work / "peft-target-modules-not-found.py.diagnose-bak").exists()
        second = seen.of(RunFinished)[1].result
        output = "\n".join(screen.log_view.lines())
        assert "not found in the base model" not in output
        assert second.exit_code == 0, output[-2000:]
        banner = screen.query_one("#banner")
        assert banner.display and "Fixed: exit 0" in str(banner.render())
        await pilot.press("u")  # undo: the original script is back, no backup left
        await wait_until(pilot, lambda: screen.applied is None, 30, "the undo")
        assert (work / "peft-target-modules-not-found.py").read_bytes() == (
            ROOT / "examples" / "peft-target-modules-not-found.py"
        ).read_bytes()
        assert not list(work.glob("*.diagnose-bak*")) and not banner.display


@async_test
async def test_a_choice_question_is_answered_from_the_list(tmp_path):
    from diagnose.tui.screens.review import ReviewScreen

    from diagnose.kb.loader import load_kb

    kb = load_kb([])
    choice = next(((loaded.id, q) for loaded in kb for q in loaded.entry.quiz if q.kind == "choice"), None)
    if choice is None:
        pytest.skip("no choice question in the KB yet")
    entry_id, question = choice
    app = make_app(start_dir=SCRIPTS, kb=one_entry_kb(tmp_path, entry_id), now=fixed_now)
    seen = Messages()
    async with app.run_test(size=(100, 30), message_hook=seen) as pilot:
        await settle(pilot)
        app.push_screen(ReviewScreen(include_all=True))
        await pilot.pause()
        await settle(pilot)
        panel = app.screen.query_one("QuizPanel")
        while panel.item is not None and panel.item.id != question.id:
            await panel.next_question()
        await pilot.pause()
        options = panel.query_one("#quiz-choices", OptionList)
        await wait_until(pilot, lambda: app.focused is options, 10, "focus on the choices")  # set after a refresh
        shown = panel.item.question  # its choices in the order asked (shuffled)
        for _ in range(shown.choices.index(shown.answer) + 1):  # nothing is highlighted at first
            await pilot.press("down")
        await pilot.press("enter")
        await pilot.pause()
        assert panel.grade is not None and panel.grade.correct
        assert panel.grade.suggested_rating.name == "Good"
        await pilot.press("enter")  # the suggested rating has the focus
        await wait_until(pilot, lambda: seen.of(QuizAnswered), 10, "the review to be saved")
        assert seen.of(QuizAnswered)[0].correct
