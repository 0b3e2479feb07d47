"""The run view: the child's output live, its status, stop and rerun; the diagnosis when it fails.

The child runs in a thread worker.  It reads the pty, turns bytes into display
lines (``tui.lines``) and posts them in batches; a new batch is posted only
when the screen has taken the previous one, so a child printing as fast as it
can never floods the message queue: batches just grow, and the UI stays
responsive.  After the child ends the same worker builds the incident and
asks the engine for the diagnosis.
"""

from __future__ import annotations

import shlex
import signal
import threading
from pathlib import Path

from diagnose.tui.child import STOP_SIGNALS
from diagnose.tui.lines import LineAssembler
from diagnose.tui.messages import (
    Diagnosed,
    OutputBatch,
    RunFailedToStart,
    RunFinished,
    RunStarted,
)
from diagnose.tui.screens.report import ReportScreen, report_bindings
from diagnose.tui.widgets.log_view import plain
from textual import events, work
from textual.binding import Binding
from textual.content import Content
from textual.widgets import Input
from textual.worker import Worker, WorkerState, get_current_worker

from diagnose.errors import DiagnoseError
from diagnose.runner import TAIL_BYTES, RunResult

STOP_GRACE = 3.0  # seconds between SIGINT and SIGTERM
READ_TIMEOUT = 0.05
READ_AHEAD_LINES = 20_000  # lines parsed ahead while the screen is busy with the previous batch


class RunScreen(ReportScreen):
    # Only the keys that apply now are live and in the footer (check_action): Stop and Ctrl+C while
    # the child runs, Rerun after it ended; q quits (after a confirmation) while it runs, else goes back.
    BINDINGS = [
        Binding("s", "stop", "Stop"),
        Binding("ctrl+c", "stop", "Stop", show=False, priority=True),
        Binding("r", "rerun", "Rerun"),
        *[binding for binding in report_bindings("Output") if binding.key != "q"],
        Binding("A", "apply_patch(True)", "Apply and rerun", show=False),
        Binding("f", "toggle_follow", "Follow"),
        Binding("q", "quit_run", "Quit"),
        Binding("q", "back", "Back"),
    ]
    LOG_TITLE = "Output"
    CAN_RERUN = True

    def __init__(self, target: list[str]) -> None:
        super().__init__(title=shlex.join(target))
        self.target = list(target)
        self.child = None
        self.state = "starting"  # starting | running | stopping | exited | failed-to-start
        self.result: RunResult | None = None
        self.started_at: float | None = None
        self.ended_at: float | None = None
        self.stop_requested = False
        self._stop_signals = 0
        self._taken = threading.Event()
        self._taken.set()
        self._pending_rerun = False
        self.patched_run = False  # this run is of a script the screen patched

    async def on_mount(self) -> None:
        await super().on_mount()
        self.set_interval(0.5, self.update_status)
        self.start()

    # -- the child

    def start(self) -> None:
        self.state, self.result, self.stop_requested, self._stop_signals = "starting", None, False, 0
        self.started_at, self.ended_at = self.app.clock(), None
        self.patched_run = self.applied is not None
        self._taken.set()
        self.query_one("#search", Input).display = False
        self.log_view.clear()  # the search goes with the old output
        self.query_one("#starting").display = True  # until the first output (torch alone takes seconds)
        self.show_banner(
            Content.assemble("Running the patched script…   ", ("u", "bold"), " undoes the patch")
            if self.patched_run
            else None
        )
        # The last run's diagnosis and question are gone: they were about output no longer shown.
        self.run_worker(self.diagnosis_panel.show_waiting("Running…", busy=True), group="panel")
        self.run_worker(self.quiz_panel.set_items([], empty="The quiz appears after a diagnosis."), group="panel")
        self.report = None
        self.action_tab("log")
        self.update_status()
        self.refresh_bindings()
        columns, rows = self.child_size()
        self.run_child(self.target, columns, rows)

    def child_size(self) -> tuple[int, int]:
        """The terminal the child sees: as wide as the log, as tall as the app less its chrome."""
        width = self.log_view.scrollable_content_region.width or self.app.size.width - 4
        return max(width, 40), max(self.app.size.height - 8, 10)

    def on_resize(self, event: events.Resize) -> None:
        if self.child is not None and self.running:
            self.call_after_refresh(self._resize_child)

    def _resize_child(self) -> None:
        if self.child is not None and self.running:
            self.child.resize(*self.child_size())

    @work(thread=True, exclusive=True, exit_on_error=False, group="child")
    def run_child(self, target: list[str], columns: int, rows: int) -> None:
        app = self.app
        worker = get_current_worker()
        try:
            child = app.runner.start(target, columns, rows)
        except (DiagnoseError, OSError) as error:
            self.post_message(RunFailedToStart(str(error)))
            return
        self.child = child
        self.post_message(RunStarted(shlex.join(target), child.pid))
        assembler = LineAssembler()
        lines: list[str] = []
        live: list[str] = []
        shown_live: list[str] = []
        nbytes = 0
        while True:
            data = child.read(READ_TIMEOUT)
            if data is None:
                break
            if data:
                chunk = assembler.feed(data)
                lines.extend(chunk.lines)
                live = chunk.live
                nbytes += len(data)
            if lines or live != shown_live:
                # While the screen is still taking the last batch, read ahead a bounded amount, then
                # stop reading: like a busy terminal, the pty fills and the child waits.  Keys stay
                # answered during a flood, and batches are big enough for one frame to show many lines.
                if not self._taken.is_set() and len(lines) < READ_AHEAD_LINES:
                    continue
                while not self._taken.wait(0.5):
                    if worker.is_cancelled:
                        child.send_signal(signal.SIGTERM)
                        return
                self._taken.clear()
                self.post_message(OutputBatch(lines, live, nbytes))
                lines, shown_live, nbytes = [], live, 0
        lines.extend(assembler.finish().lines)
        if lines or shown_live:
            self._taken.wait(2.0)
            self.post_message(OutputBatch(lines, [], nbytes))
        result = child.wait()
        if len(result.tail) > TAIL_BYTES:
            result.tail = result.tail[-TAIL_BYTES:]
        self.post_message(RunFinished(result, app.clock() - (self.started_at or 0)))
        if result.failed and not self.stop_requested:
            self.post_message(Diagnosed(app.diagnose_run(result)))

    def output_arrived(self) -> None:
        self.query_one("#starting").display = False

    def on_output_batch(self, message: OutputBatch) -> None:
        if message.lines or any(plain(row).strip() for row in message.live):  # not just a hidden cursor
            self.output_arrived()
        self.log_view.append(message.lines, message.live)
        self._taken.set()

    def on_run_started(self, message: RunStarted) -> None:
        self.state = "running"
        self.update_status()
        self.refresh_bindings()

    async def on_run_failed_to_start(self, message: RunFailedToStart) -> None:
        self.state = "failed-to-start"
        self.ended_at = self.app.clock()
        self.output_arrived()
        self.log_view.append([f"Could not start: {message.error}"])
        await self.diagnosis_panel.show_waiting("The command could not start, so there is nothing to diagnose.")
        self.update_status()
        self.refresh_bindings()

    async def on_run_finished(self, message: RunFinished) -> None:
        self.result = message.result
        self.state = "exited"
        self.ended_at = self.app.clock()
        self.child = None
        self.output_arrived()
        self.update_status()
        self.refresh_bindings()
        if not message.result.failed:
            if self.patched_run and self.applied is not None:
                fixed = Content.assemble(
                    ("Fixed: exit 0", "bold"),
                    f"   the patched {Path(self.applied.path).name} ran to the end.   ",
                    ("u", "bold"),
                    " Undo puts the original back.",
                )
                self.show_banner(fixed, classes="fixed")
                await self.diagnosis_panel.show_waiting(fixed)
            else:
                self.show_banner(None)
                await self.diagnosis_panel.show_waiting("The run succeeded: nothing to diagnose.")
        elif self.stop_requested:
            self.show_banner(None)
            await self.diagnosis_panel.show_waiting("You stopped the run, so there is nothing to diagnose.")
        else:
            self.show_banner(None)
            await self.diagnosis_panel.show_waiting("Diagnosing…", busy=True)
        if self._pending_rerun:
            self._pending_rerun = False
            self.start()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A failed child worker ends the run on screen; the app's handler tells the user what broke."""
        if event.state == WorkerState.ERROR and event.worker.group == "child" and self.running:
            self.output_arrived()
            self.state = "exited"
            self.ended_at = self.app.clock()
            self.update_status()

    def on_unmount(self) -> None:
        self.end_for_exit()

    def end_for_exit(self) -> None:
        """Leaving the app ends the run it started: stopped by the user, so it is not diagnosed or recorded,
        and nothing of it (process group, capture folder) stays behind."""
        if self.child is not None and self.running:
            self.stop_requested = True
            self.child.abandon()

    # -- status

    @property
    def running(self) -> bool:
        return self.state in ("starting", "running", "stopping")

    def status_text(self) -> Content:
        end = self.ended_at if self.ended_at is not None else self.app.clock()
        elapsed = max(0.0, end - self.started_at) if self.started_at is not None else 0.0
        status, style = self._status()
        log = self.log_view if self.is_mounted else None
        follow = "" if log is None or log.follow or not self.running else "   follow off (f)"
        matches = ""
        if log is not None and log.match_count:
            matches = f"   match {log.current_match + 1}/{log.match_count}"
        return Content.assemble(
            (self.heading, "bold"),
            "   ",
            (status, style),
            (f"   {elapsed:.0f}s", "$text-muted"),
            (follow, "$warning"),
            (matches, "$text-muted"),
        )

    # Failures are bold and underlined as well as red: readable without colour (NO_COLOR).
    FAILED = "bold underline $error"

    def _status(self) -> tuple[str, str]:
        if self.state == "starting":
            return "starting…", "$text-muted"
        if self.state == "running":
            return "running", "bold $accent"
        if self.state == "stopping":
            return f"stopping ({signal.Signals(self._last_signal).name} sent)", "bold $warning"
        if self.state == "failed-to-start":
            return "could not start", self.FAILED
        result = self.result
        if result is None:
            return "ended", "$text-muted"
        if result.signal is not None:
            return f"killed by {result.signal_name}", self.FAILED
        if result.exit_code == 0:
            return "exited 0", "bold $success"
        return f"exited {result.exit_code}", self.FAILED

    # -- which keys apply now

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "stop":
            return self.running
        if action in ("rerun", "back"):
            return not self.running
        if action == "quit_run":
            return self.running
        if action == "toggle_follow":
            return self.running
        return super().check_action(action, parameters)

    def action_escape(self) -> None:
        if self.close_search():
            return
        if self.running:  # Escape is easy to hit: it never ends a run
            self.notify("The run is still going: s stops it, q or ctrl+q quits (after asking).")
            return
        self.action_back()

    async def action_quit_run(self) -> None:
        await self.app.action_quit()

    # -- stop / rerun

    _last_signal = signal.SIGINT

    def action_stop(self) -> None:
        """SIGINT first (the script's own Ctrl-C handling runs), SIGTERM if it is still there later."""
        if self.child is None or not self.running:
            self.notify("Nothing is running.")
            return
        self.stop_requested = True
        signum = STOP_SIGNALS[min(self._stop_signals, len(STOP_SIGNALS) - 1)]
        self._stop_signals += 1
        self._last_signal = signum
        self.child.send_signal(signum)
        self.state = "stopping"
        self.update_status()
        if signum == signal.SIGINT:
            self.set_timer(STOP_GRACE, self._escalate)

    def _escalate(self) -> None:
        if self.running and self._stop_signals == 1:
            self.action_stop()

    def action_rerun(self) -> None:
        if self.running:
            self.notify("Still running: press s to stop it first.")
            return
        self.start()

    def rerun_after_patch(self) -> None:
        self.action_rerun()

    def action_toggle_follow(self) -> None:
        self.log_view.follow = not self.log_view.follow
        self.update_status()
