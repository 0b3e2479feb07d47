"""A report on screen: the log (run output or pasted traceback), the diagnosis, the quiz.

``ReportScreen`` shows a finished report (an explained paste, a reopened
incident); ``tui.screens.run.RunScreen`` extends it with a live child process.
"""

from __future__ import annotations

from diagnose.tui.messages import Diagnosed, ShowEvidence
from diagnose.tui.widgets.diagnosis import DiagnosisPanel
from diagnose.tui.widgets.log_view import LogView
from diagnose.tui.widgets.quiz import QuizPanel
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Input, Static, TabbedContent, TabPane

from diagnose.report import Report

REPORT_BINDINGS = [
    Binding("1", "tab('log')", "Log", show=False),
    Binding("2", "tab('diagnosis')", "Diagnosis"),
    Binding("3", "tab('quiz')", "Quiz"),
    Binding("e", "evidence", "Evidence in log", show=False),
    Binding("slash", "search", "Search"),
    Binding("n", "next_match", "Next match", show=False),
    Binding("N", "previous_match", "Previous match", show=False),
    Binding("f", "toggle_follow", "Follow", show=False),
    Binding("escape", "back", "Back"),
]


class ReportScreen(Screen):
    BINDINGS = REPORT_BINDINGS
    LOG_TITLE = "Traceback"

    def __init__(self, report: Report | None = None, *, title: str = "", text: str | None = None) -> None:
        super().__init__()
        self.report = report
        self.heading = title
        self.text = text

    def compose(self) -> ComposeResult:
        yield Static(id="status")
        with TabbedContent(initial="log", id="tabs"):
            with TabPane(f"1 {self.LOG_TITLE}", id="log"):
                yield LogView(max_lines=self.app.max_log_lines, id="log-view")
                yield Input(placeholder="Search the log (Enter: next, Escape: close)", id="search")
            with TabPane("2 Diagnosis", id="diagnosis"):
                yield DiagnosisPanel(id="diagnosis-panel")
            with TabPane("3 Quiz", id="quiz"):
                yield QuizPanel(id="quiz-panel", empty="The quiz appears after a diagnosis.")
        yield Footer()

    async def on_mount(self) -> None:
        self.query_one("#search", Input).display = False
        self.update_status()
        if self.text is not None:
            from diagnose.tui.lines import LineAssembler

            assembler = LineAssembler()
            chunk = assembler.feed(self.text.encode("utf-8", "replace"))
            self.log_view.append(chunk.lines + assembler.finish().lines)
        if self.report is not None:
            await self.show_report(self.report)

    # -- parts

    @property
    def log_view(self) -> LogView:
        return self.query_one("#log-view", LogView)

    @property
    def diagnosis_panel(self) -> DiagnosisPanel:
        return self.query_one("#diagnosis-panel", DiagnosisPanel)

    @property
    def quiz_panel(self) -> QuizPanel:
        return self.query_one("#quiz-panel", QuizPanel)

    def status_text(self) -> Text:
        return Text(self.heading, style="bold")

    def update_status(self) -> None:
        self.query_one("#status", Static).update(self.status_text())

    # -- report

    async def show_report(self, report: Report) -> None:
        self.report = report
        await self.diagnosis_panel.show_report(report)
        ranks = report.incident.ranks  # a multi-process failure: the root-cause rank's lines stand out in the log
        self.log_view.set_root_rank(ranks.root.rank if ranks is not None and ranks.root is not None else None)
        if report.diagnoses:
            best = report.diagnoses[0]
            if best.matched:
                self.log_view.mark_evidence(best.matched)
            exception = report.incident.exception
            message = exception.message if exception is not None else None
            self.load_quiz([d.id for d in report.diagnoses[:1]], report.incident.probes, message)
        else:
            await self.quiz_panel.set_items([], empty="No diagnosis, so no question this time.")
        self.query_one("#tabs", TabbedContent).active = "diagnosis"
        self.update_status()

    async def on_diagnosed(self, message: Diagnosed) -> None:
        await self.show_report(message.report)

    @work(thread=True, exclusive=True, exit_on_error=False, group="quiz-pick")
    def load_quiz(self, entry_ids: list[str], probes: dict, message: str | None = None) -> None:
        from diagnose.quiz.session import QuizEngine
        from diagnose.quiz.store import ProgressStore

        app = self.app
        with ProgressStore() as store:
            item = QuizEngine(app.knowledge(), store).for_diagnosis(entry_ids, probes, app.now(), message)
        app.call_from_thread(self._quiz_loaded, item)

    async def _quiz_loaded(self, item) -> None:
        await self.quiz_panel.set_items(
            [item] if item else [], "Nothing to ask now: you answered this entry's questions recently."
        )
        self.quiz_badge(item is not None and self.query_one("#tabs", TabbedContent).active != "quiz")

    def quiz_badge(self, waiting: bool) -> None:
        """A dot on the Quiz tab while a question waits there unseen."""
        self.query_one("#tabs", TabbedContent).get_tab("quiz").label = "3 Quiz ●" if waiting else "3 Quiz"

    # -- actions

    def action_tab(self, name: str) -> None:
        self.query_one("#tabs", TabbedContent).active = name
        if name == "quiz":
            self.quiz_badge(False)
        target = {"log": "#log-view", "diagnosis": "#diagnosis-panel"}.get(name)
        if target:
            self.query_one(target).focus()
        else:
            self.quiz_panel.call_after_refresh(self.quiz_panel.focus_answer)

    def action_back(self) -> None:
        search = self.query_one("#search", Input)
        if search.display:
            search.display = False
            self.log_view.focus()
            return
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()

    def action_evidence(self) -> None:
        if self.report and self.report.diagnoses:
            self.post_message(ShowEvidence(self.report.diagnoses[0]))

    def on_show_evidence(self, message: ShowEvidence) -> None:
        line = self.log_view.mark_evidence(message.diagnosis.matched or message.diagnosis.evidence)
        self.action_tab("log")
        if line is None:
            self.notify("The matched text is not in the log that is kept.", severity="warning")

    def action_search(self) -> None:
        self.action_tab("log")
        search = self.query_one("#search", Input)
        search.display = True
        search.focus()

    @on(Input.Submitted, "#search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        log = self.log_view
        if event.value.casefold() != (log._search or ""):
            count = log.search(event.value)
            self.notify(f"{count} matching line{'s' if count != 1 else ''}" if event.value else "Search cleared")
        else:
            log.next_match()
        self.update_status()

    def action_next_match(self) -> None:
        self.log_view.next_match()

    def action_previous_match(self) -> None:
        self.log_view.next_match(backwards=True)

    def action_toggle_follow(self) -> None:
        self.log_view.follow = not self.log_view.follow
        self.update_status()
