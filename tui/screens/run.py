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

from diagnose.tui.child import STOP_SIGNALS
from diagnose.tui.lines import LineAssembler
from diagnose.tui.messages import (
    ApplyPatch,
    Diagnosed,
    OutputBatch,
    PatchApplied,
    RunFailedToStart,
    RunFinished,
    RunStarted,
)
from diagnose.tui.screens.report import REPORT_BINDINGS, ReportScreen
from rich.text import Text
from textual import work
from textual.binding import Binding
from textual.worker import Worker, WorkerState, get_current_worker

from diagnose.errors import DiagnoseError
from diagnose.runner import TAIL_BYTES, RunResult

STOP_GRACE = 3.0  # seconds between SIGINT and SIGTERM
READ_TIMEOUT = 0.05
READ_AHEAD_LINES = 20_000  # lines parsed ahead while the screen is busy with the previous batch


class RunScreen(ReportScreen, inherit_bindings=False):
    BINDINGS = [
        Binding("s", "stop", "Stop"),
        Binding("r", "rerun", "Rerun"),
        *[b for b in REPORT_BINDINGS if b.key not in ("f", "escape")],
        Binding("f", "toggle_follow", "Follow"),
        Binding("escape", "back", "Back", show=False),
        Binding("a", "apply_patch", "Apply patch", show=False),
        Binding("A", "apply_patch(True)", "Apply patch and rerun", show=False),
    ]
    LOG_TITLE = "Output"

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

    async def on_mount(self) -> None:
        await super().on_mount()
        self.set_interval(0.5, self.update_status)
        self.start()

    # -- the child

    def start(self) -> None:
        self.state, self.result, self.stop_requested, self._stop_signals = "starting", None, False, 0
        self.started_at, self.ended_at = self.app.clock(), None
        self._taken.set()
        self.log_view.clear()
        self.update_status()
        width = max(self.log_view.scrollable_content_region.width, self.app.size.width - 2, 40)
        self.run_child(self.target, width, max(self.app.size.height - 6, 10))

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

    def on_output_batch(self, message: OutputBatch) -> None:
        self.log_view.append(message.lines, message.live)
        self._taken.set()

    def on_run_started(self, message: RunStarted) -> None:
        self.state = "running"
        self.update_status()

    async def on_run_failed_to_start(self, message: RunFailedToStart) -> None:
        self.state = "failed-to-start"
        self.ended_at = self.app.clock()
        self.log_view.append([f"Could not start: {message.error}"])
        self.update_status()

    async def on_run_finished(self, message: RunFinished) -> None:
        self.result = message.result
        self.state = "exited"
        self.ended_at = self.app.clock()
        self.child = None
        self.update_status()
        if not message.result.failed:
            await self.diagnosis_panel.show_waiting("The run succeeded: nothing to diagnose.")
        elif self.stop_requested:
            await self.diagnosis_panel.show_waiting("You stopped the run, so there is nothing to diagnose.")
        else:
            await self.diagnosis_panel.show_waiting("Diagnosing…")
        if self._pending_rerun:
            self._pending_rerun = False
            self.start()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A failed child worker ends the run on screen; the app's handler tells the user what broke."""
        if event.state == WorkerState.ERROR and event.worker.group == "child" and self.running:
            self.state = "exited"
            self.ended_at = self.app.clock()
            self.update_status()

    def on_unmount(self) -> None:
        if self.child is not None and self.running:
            self.child.send_signal(signal.SIGTERM)  # leaving the app ends the run it started

    # -- status

    @property
    def running(self) -> bool:
        return self.state in ("starting", "running", "stopping")

    def status_text(self) -> Text:
        end = self.ended_at if self.ended_at is not None else self.app.clock()
        elapsed = max(0.0, end - self.started_at) if self.started_at is not None else 0.0
        status, style = self._status()
        log = self.log_view if self.is_mounted else None
        follow = "" if log is None or log.follow or not self.running else "   follow off (f)"
        matches = ""
        if log is not None and log.match_count:
            matches = f"   match {log.current_match + 1}/{log.match_count}"
        return Text.assemble(
            (self.heading, "bold"),
            "   ",
            (status, style),
            (f"   {elapsed:.0f}s", "dim"),
            (follow, "yellow"),
            (matches, "dim"),
        )

    def _status(self) -> tuple[str, str]:
        if self.state == "starting":
            return "starting", "dim"
        if self.state == "running":
            return "running", "bold cyan"
        if self.state == "stopping":
            return f"stopping ({signal.Signals(self._last_signal).name} sent)", "bold yellow"
        if self.state == "failed-to-start":
            return "could not start", "bold red"
        result = self.result
        if result is None:
            return "ended", "dim"
        if result.signal is not None:
            return f"killed by {result.signal_name}", "bold red"
        if result.exit_code == 0:
            return "exited 0", "bold green"
        return f"exited {result.exit_code}", "bold red"

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

    # -- patches

    def action_apply_patch(self, rerun: bool = False) -> None:
        best = self.report.diagnoses[0] if self.report and self.report.diagnoses else None
        if best is None or best.patch is None:
            self.notify("No patch to apply.")
            return
        from diagnose.tui import patching

        if patching.applier() is None:
            self.notify("Applying patches is not available in this installation.", severity="warning")
            return
        self.post_message(ApplyPatch(best.patch, rerun=rerun))

    async def on_apply_patch(self, message: ApplyPatch) -> None:
        from pathlib import Path

        from diagnose.tui.screens.confirm import ConfirmScreen

        patch = message.patch
        question = (
            f"Apply the patch to {Path(patch.path).name}?\n\n{patch.title} [{patch.safety}]: "
            f"{patch.safety_reason}\n\nA backup of the script is kept."
        )
        if message.rerun:
            question += " The script runs again afterwards."

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.apply_patch(patch, message.rerun)

        self.app.push_screen(ConfirmScreen(question, yes="Apply" + (" and rerun" if message.rerun else "")), confirmed)

    @work(thread=True, exclusive=True, exit_on_error=False, group="patch")
    def apply_patch(self, patch, rerun: bool) -> None:
        from diagnose.tui import patching

        try:
            applied = patching.apply(patch)
        except DiagnoseError as error:  # the engine refused (script changed, read-only…): nothing written
            self.app.call_from_thread(self.notify, f"Not patched: {error}", severity="error", timeout=10)
            return
        self.post_message(PatchApplied(str(applied.path), str(applied.backup), rerun))

    def on_patch_applied(self, message: PatchApplied) -> None:
        from pathlib import Path

        backup = f"; backup: {Path(message.backup).name}" if message.backup else ""
        self.notify(f"Patched {Path(message.path).name}{backup}")
        if message.rerun:
            self.action_rerun()
