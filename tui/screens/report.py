"""A report on screen: the log (run output or pasted traceback), the diagnosis, the quiz.

``ReportScreen`` shows a finished report (an explained paste, a reopened
incident); ``tui.screens.run.RunScreen`` extends it with a live child process.
Both apply a diagnosis' patch (after a confirmation) and undo it.

Keys: every pane can be reached with Tab / Shift+Tab, and whenever the tab
changes (a key, a click, or the automatic switch to the diagnosis) the pane
shown gets the focus, so the arrows, PageUp/PageDown and j/k/g/G act on it at
once.  The footer shows only the keys that apply now (``check_action``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from diagnose.tui.messages import ApplyPatch, Diagnosed, PatchApplied, PatchUndone, ShowEvidence
from diagnose.tui.widgets.diagnosis import DiagnosisPanel
from diagnose.tui.widgets.log_view import LogView
from diagnose.tui.widgets.quiz import QuizPanel
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Input, LoadingIndicator, Static, TabbedContent, TabPane

from diagnose.errors import DiagnoseError
from diagnose.report import Patch, Report


def report_bindings(log_title: str) -> list[Binding]:
    return [
        Binding("1", "tab('log')", log_title),
        Binding("2", "tab('diagnosis')", "Diagnosis"),
        Binding("3", "tab('quiz')", "Quiz"),
        Binding("e", "evidence", "Evidence in log", show=False),
        Binding("slash", "search", "Search"),
        Binding("n", "next_match", "Next match", show=False),
        Binding("N", "previous_match", "Previous match", show=False),
        Binding("a", "apply_patch", "Apply"),
        Binding("u", "undo_patch", "Undo"),
        Binding("m", "issue_report", "Issue report", show=False),
        Binding("escape", "escape", "Close search / back", show=False),
        Binding("q", "back", "Back"),
    ]


REPORT_BINDINGS = report_bindings("Traceback")


class ReportScreen(Screen):
    BINDINGS = REPORT_BINDINGS
    LOG_TITLE = "Traceback"
    CAN_RERUN = False  # a reopened or explained report has no command to run again

    def __init__(self, report: Report | None = None, *, title: str = "", text: str | None = None) -> None:
        super().__init__()
        self.report = report
        self.heading = title
        self.text = text
        self.applied: PatchApplied | None = None  # the patch this screen applied, until undone

    def compose(self) -> ComposeResult:
        yield Static(id="status")
        yield Static(id="banner")
        with TabbedContent(initial="log", id="tabs"):
            with TabPane(f"1 {self.LOG_TITLE}", id="log"):
                yield LoadingIndicator(id="starting")  # shown while a child starts (torch takes seconds)
                yield LogView(max_lines=self.app.max_log_lines, id="log-view")
                yield Input(placeholder="Search the log (Enter: next, Escape: close)", id="search")
            with TabPane("2 Diagnosis", id="diagnosis"):
                yield DiagnosisPanel(id="diagnosis-panel", can_rerun=self.CAN_RERUN)
            with TabPane("3 Quiz", id="quiz"):
                yield QuizPanel(id="quiz-panel", empty="The quiz appears after a diagnosis.")
        yield Footer()

    async def on_mount(self) -> None:
        self.query_one("#search", Input).display = False
        self.query_one("#banner", Static).display = False
        self.query_one("#starting").display = False
        self.update_status()
        self.log_view.focus()
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

    @property
    def active_tab(self) -> str:
        return self.query_one("#tabs", TabbedContent).active

    def status_text(self) -> Content:
        return Content.styled(self.heading, "bold")

    def update_status(self) -> None:
        self.query_one("#status", Static).update(self.status_text())

    def show_banner(self, content: Content | None, classes: str = "") -> None:
        banner = self.query_one("#banner", Static)
        banner.set_classes(classes)
        banner.display = content is not None
        if content is not None:
            banner.update(content)

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
        self.action_tab("diagnosis")
        self.update_status()
        self.refresh_bindings()

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
        if self.active_tab == "quiz":
            self.focus_pane("quiz")
        else:
            self.quiz_badge(item is not None)

    def quiz_badge(self, waiting: bool) -> None:
        """A dot on the Quiz tab while a question waits there unseen."""
        self.query_one("#tabs", TabbedContent).get_tab("quiz").label = "3 Quiz ●" if waiting else "3 Quiz"

    # -- which keys apply now (the footer shows those, the others fall through or do nothing)

    def best_patch(self) -> Patch | None:
        best = self.report.diagnoses[0] if self.report and self.report.diagnoses else None
        return best.patch if best else None

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "apply_patch":
            from diagnose.tui import patching

            rerun = bool(parameters and parameters[0])
            return (
                self.best_patch() is not None
                and patching.applier() is not None
                and self.applied is None
                and (self.CAN_RERUN or not rerun)
            )
        if action == "undo_patch":
            return self.applied is not None
        if action in ("evidence", "issue_report"):
            return bool(self.report and self.report.diagnoses)
        if action in ("next_match", "previous_match"):
            return self.is_mounted and self.log_view.match_count > 0
        return True

    # -- focus: the pane shown has it

    _focus_next = None  # a widget that takes the focus when the pending tab switch is done (the search box)

    @on(TabbedContent.TabActivated, "#tabs")
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        target, self._focus_next = self._focus_next, None
        if target is not None:
            target.focus()
        elif event.pane.id:
            self.focus_pane(event.pane.id)
        if event.pane.id == "quiz":
            self.quiz_badge(False)

    def focus_pane(self, name: str) -> None:
        if name == "log":
            self.log_view.focus()
        elif name == "diagnosis":
            self.diagnosis_panel.focus()
        else:
            panel = self.quiz_panel
            panel.focus()
            panel.call_after_refresh(panel.focus_answer)

    # -- actions

    def action_tab(self, name: str) -> None:
        tabs = self.query_one("#tabs", TabbedContent)
        if tabs.active != name:
            tabs.active = name  # TabActivated focuses the pane
        else:
            self.focus_pane(name)

    def close_search(self) -> bool:
        """Close the search box if it is open (True when it was)."""
        search = self.query_one("#search", Input)
        if not search.display:
            return False
        search.display = False
        self.log_view.focus()
        return True

    def action_escape(self) -> None:
        if not self.close_search():
            self.action_back()

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()

    def action_issue_report(self) -> None:
        """The copy-ready issue report of this diagnosis (`diagnose report`)."""
        import shlex

        from diagnose.tui.screens.issue import IssueReportScreen

        if self.report is not None:
            target = getattr(self, "target", None)
            self.app.push_screen(IssueReportScreen(self.report, shlex.join(target) if target else ""))

    def action_evidence(self) -> None:
        if self.report and self.report.diagnoses:
            self.post_message(ShowEvidence(self.report.diagnoses[0]))

    def on_show_evidence(self, message: ShowEvidence) -> None:
        line = self.log_view.mark_evidence(message.diagnosis.matched or message.diagnosis.evidence)
        self.action_tab("log")
        if line is None:
            self.notify("The matched text is not in the log that is kept.", severity="warning")

    def action_search(self) -> None:
        search = self.query_one("#search", Input)
        search.display = True
        if self.active_tab != "log":
            self._focus_next = search
            self.action_tab("log")
        else:
            search.focus()

    @on(Input.Submitted, "#search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        log = self.log_view
        if event.value.casefold() != (log.search_term or ""):
            count = log.search(event.value)
            self.notify(f"{count} matching line{'s' if count != 1 else ''}" if event.value else "Search cleared")
        else:
            log.next_match()
        self.update_status()
        self.refresh_bindings()

    def action_next_match(self) -> None:
        self.log_view.next_match()
        self.update_status()

    def action_previous_match(self) -> None:
        self.log_view.next_match(backwards=True)
        self.update_status()

    # -- the patch: apply (after a confirmation), undo

    def action_apply_patch(self, rerun: bool = False) -> None:
        patch = self.best_patch()
        if patch is None:
            self.notify("No patch to apply.")
            return
        from diagnose.tui import patching

        if patching.applier() is None:
            self.notify("Applying patches is not available in this installation.", severity="warning")
            return
        self.post_message(ApplyPatch(patch, rerun=rerun and self.CAN_RERUN))

    async def on_apply_patch(self, message: ApplyPatch) -> None:
        from diagnose.tui.screens.confirm import ConfirmScreen

        message.stop()
        if self.applied is not None:
            self.notify("Already applied: u undoes it.")
            return
        patch = message.patch
        question = (
            f"Apply the patch to {Path(patch.path).name}?\n\n{patch.title} [{patch.safety}]: "
            f"{patch.safety_reason}\n\nA backup of the script is kept (u undoes it)."
        )
        if message.rerun:
            question += " The script runs again afterwards."

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.apply_patch(patch, message.rerun)

        self.app.push_screen(ConfirmScreen(question, yes="Apply" + (" and rerun" if message.rerun else "")), confirmed)

    @work(thread=True, exclusive=True, exit_on_error=False, group="patch")
    def apply_patch(self, patch: Patch, rerun: bool) -> None:
        from diagnose.tui import patching

        try:
            applied = patching.apply(patch)
        except DiagnoseError as error:  # the engine refused (script changed, read-only…): nothing written
            self.app.call_from_thread(self.notify, f"Not patched: {error}", severity="error", timeout=10)
            return
        written = hashlib.sha256(Path(applied.path).read_bytes()).hexdigest()
        self.post_message(PatchApplied(str(applied.path), str(applied.backup), rerun, written))

    def on_patch_applied(self, message: PatchApplied) -> None:
        message.stop()
        self.applied = message
        backup = Path(message.backup).name if message.backup else None
        self.diagnosis_panel.patch_applied(backup)
        self.notify(f"Patched {Path(message.path).name}" + (f"; backup: {backup}" if backup else ""))
        self.refresh_bindings()
        if message.rerun:
            self.rerun_after_patch()

    def rerun_after_patch(self) -> None:
        """A run screen runs the script again; a report screen has nothing to run."""

    def action_undo_patch(self) -> None:
        if self.applied is not None:
            self.undo_patch(self.applied)

    @work(thread=True, exclusive=True, exit_on_error=False, group="patch")
    def undo_patch(self, applied: PatchApplied) -> None:
        from diagnose.patches.apply import restore

        path = Path(applied.path)
        try:
            current = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as error:
            self.app.call_from_thread(self.notify, f"Not restored: {error}", severity="error", timeout=10)
            return
        if applied.patched_sha256 and current != applied.patched_sha256:
            self.app.call_from_thread(
                self.notify,
                f"Not restored: {path.name} changed since it was patched (diagnose fix --undo {path} restores anyway)",
                severity="error",
                timeout=10,
            )
            return
        try:
            restore(path, Path(applied.backup))
        except DiagnoseError as error:
            self.app.call_from_thread(self.notify, f"Not restored: {error}", severity="error", timeout=10)
            return
        self.post_message(PatchUndone(str(path)))

    def on_patch_undone(self, message: PatchUndone) -> None:
        message.stop()
        self.applied = None
        self.diagnosis_panel.patch_undone()
        self.show_banner(None)
        self.notify(f"Restored {Path(message.path).name} from its backup (backup removed)")
        self.refresh_bindings()
