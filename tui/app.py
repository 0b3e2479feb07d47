"""``diagnose tui``: the app object, its factory, and the engine calls its screens share.

Screens live in ``tui/screens``, widgets in ``tui/widgets``, styles in
``app.tcss``.  ``make_app`` is the one factory: the CLI and the tests both use
it (tests may pass a replaying runner, a fixed clock, a KB of their own).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from functools import partial
from pathlib import Path

from diagnose.tui.child import PtyRunner, Runner
from diagnose.tui.widgets.log_view import DEFAULT_MAX_LINES
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from diagnose.errors import UsageError


class DiagnoseApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "lora-diagnose"
    # Letters that vim users move with (h j k l g G) are left to the panes; KB is b, History i.
    BINDINGS = [
        Binding("question_mark", "help", "Help"),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True),
        Binding("x", "explain", "Explain a traceback", show=False),
        Binding("b", "kb", "Knowledge base", show=False),
        Binding("v", "review", "Review questions", show=False),
        Binding("i", "history", "History", show=False),
        Binding("ctrl+t", "toggle_theme", "Light/dark theme", show=False),
    ]

    def __init__(
        self,
        target: Sequence[str] = (),
        kb_dirs: Sequence[str] = (),
        *,
        runner: Runner | None = None,
        kb=None,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] | None = None,
        start_dir: str | Path = ".",
        max_log_lines: int = DEFAULT_MAX_LINES,
    ) -> None:
        super().__init__()
        from diagnose.quiz.store import now_utc

        self.target = list(target)
        self.kb_dirs = list(kb_dirs)
        self.runner: Runner = runner or PtyRunner()
        self.clock = clock
        self.now = now or now_utc
        self.start_dir = Path(start_dir)
        self.max_log_lines = max_log_lines
        self._kb = kb
        self._kb_lock = threading.Lock()

    def on_mount(self) -> None:
        from diagnose.tui import settings
        from diagnose.tui.screens.start import StartScreen

        if self.no_color:  # NO_COLOR: a theme whose every colour stays readable once made grey
            self.register_theme(settings.NO_COLOR_THEME)
            self.theme = settings.NO_COLOR_THEME.name
        else:
            self.theme = settings.saved_theme(self.available_themes) or self.theme
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        self.push_screen(StartScreen())
        if self.target:
            self.run_target(self.target)

    def _theme_changed(self, theme) -> None:
        from diagnose.tui import settings

        if not self.no_color:
            error = settings.save_theme(theme.name)
            if error:
                self.notify(f"theme not saved: {error}", severity="warning")

    async def action_quit(self) -> None:
        """Quit; while a run is going, only after "Stop the run and quit?" is answered yes."""
        from diagnose.tui.screens.confirm import ConfirmScreen

        running = [screen for screen in self.screen_stack if getattr(screen, "running", False)]
        if not running:
            self.exit()
            return
        if isinstance(self.screen, ConfirmScreen):
            return  # the question is on screen already

        def answered(yes: bool | None) -> None:
            if yes:
                for screen in running:
                    screen.end_for_exit()
                self.exit()

        self.push_screen(ConfirmScreen("Stop the run and quit?", yes="Stop and quit", no="Keep running"), answered)

    # -- the engine, as the screens use it (call from worker threads: loading and matching take time)

    def knowledge(self):
        """The knowledge base, loaded once (shipped entries, DIAGNOSE_KB_PATH, --kb directories)."""
        with self._kb_lock:
            if self._kb is None:
                from diagnose.kb.loader import load_kb

                self._kb = load_kb(self.kb_dirs)
                if self._kb.problems:
                    first = self._kb.problems[0]
                    self._notify_any_thread(
                        f"{len(self._kb.problems)} KB file(s) skipped; first: {first}", severity="warning"
                    )
            return self._kb

    def diagnose_run(self, result):
        """RunResult → Report, saved as the last report and in the history (as ``diagnose run`` does)."""
        from diagnose.engine import diagnose_incident, incident_from_run

        report = diagnose_incident(incident_from_run(result), self.knowledge(), script=result.script)
        self._remember(report, result.command)
        return report

    def explain_text(self, text: str):
        from diagnose.engine import explain_text

        report = explain_text(text, self.knowledge())
        self._remember(report, ["explain", "(pasted in the TUI)"])
        return report

    def _remember(self, report, command: list[str]) -> None:
        from diagnose.workflow import record_history, save_last_report

        try:
            save_last_report(report)
        except OSError as error:
            self._notify_any_thread(f"last report not saved: {error}", severity="warning")
        warning = record_history(report, command)
        if warning:
            self._notify_any_thread(warning, severity="warning")

    def _notify_any_thread(self, message: str, severity: str = "information") -> None:
        if threading.get_ident() == self._thread_id:
            self.notify(message, severity=severity)
        else:
            self.call_from_thread(self.notify, message, severity=severity)

    def on_worker_state_changed(self, event) -> None:
        """The one place worker failures reach the user: every screen's workers report here."""
        from textual.worker import WorkerState

        if event.state == WorkerState.ERROR:
            error = event.worker.error
            self.notify(
                f"{event.worker.group or 'task'} failed: {type(error).__name__}: {error}", severity="error", timeout=10
            )

    # -- navigation

    def run_target(self, target: list[str]) -> None:
        from diagnose.tui.screens.run import RunScreen

        self.push_screen(RunScreen(target))

    def action_help(self) -> None:
        from diagnose.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_explain(self) -> None:
        from diagnose.tui.screens.explain import ExplainScreen

        if not isinstance(self.screen, ExplainScreen):
            self.push_screen(ExplainScreen())

    def action_kb(self) -> None:
        from diagnose.tui.screens.kb import KBScreen

        if not isinstance(self.screen, KBScreen):
            self.push_screen(KBScreen())

    def action_review(self) -> None:
        from diagnose.tui.screens.review import ReviewScreen

        if not isinstance(self.screen, ReviewScreen):
            self.push_screen(ReviewScreen())

    def action_history(self) -> None:
        from diagnose.tui.screens.history import HistoryScreen

        if not isinstance(self.screen, HistoryScreen):
            self.push_screen(HistoryScreen())

    def action_toggle_theme(self) -> None:
        self.theme = "textual-light" if self.theme == "textual-dark" else "textual-dark"

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Every key binding of the current screen and of the app is also a palette command."""
        from diagnose.tui.screens.help import applies, bindings_of

        seen = set()
        for node, binding in [(screen, b) for b in bindings_of(screen)] + [(self, b) for b in bindings_of(self)]:
            if (
                not binding.description
                or binding.description in seen
                or binding.action == "help"
                or (node is screen and binding.action.startswith("app."))
                or not applies(node, binding)
            ):
                continue  # app actions are listed once, under the app's own (full) names; only what applies now
            seen.add(binding.description)
            yield SystemCommand(
                binding.description, f"key: {self.get_key_display(binding)}", partial(node.run_action, binding.action)
            )
        yield SystemCommand("Help", "key: ?", self.action_help)
        yield from super().get_system_commands(screen)


def make_app(target: Sequence[str] = (), kb_dirs: Sequence[str] = (), **options) -> DiagnoseApp:
    """The app, as the CLI runs it; tests pass ``runner=``, ``kb=``, ``clock=``, ``now=``, ``start_dir=``."""
    target = list(target)
    if target[:1] == ["--"]:
        target = target[1:]
    return DiagnoseApp(target, kb_dirs, **options)


def run_app(target: list[str], kb_dirs: list[str]) -> int:
    """Entry point of ``diagnose tui [TARGET...]``."""
    import signal

    from diagnose.runner import build_command

    app = make_app(target, kb_dirs)
    if app.target:
        build_command(app.target, "diagnose tui")  # a missing script is a usage error before the screen is taken
    # The terminal closed: leave as on ctrl+q, so a run is ended and its capture folder removed.
    signal.signal(signal.SIGHUP, lambda signum, frame: app.call_later(app.exit))
    app.run()
    return app.return_code or 0


__all__ = ["DiagnoseApp", "make_app", "run_app", "UsageError"]
