"""Replay a recorded run: the chunks a real child wrote and its real result.

Tests record a real run once (``record``) and replay it in many app tests, so
only a few tests pay for starting torch.  The replay keeps the recorded
command, exit status, output and captures; it does not invent any of them.
"""

from __future__ import annotations

import signal
import threading
from dataclasses import dataclass, field

from diagnose.runner import RunResult


@dataclass
class Recording:
    chunks: list[bytes]
    result: RunResult
    target: list[str] = field(default_factory=list)


def record(target: list[str], columns: int = 100, rows: int = 30) -> Recording:
    """Run ``target`` for real on a pty and keep everything it wrote."""
    from diagnose.tui.child import PtyChild

    child = PtyChild(target, columns, rows)
    chunks = []
    while True:
        data = child.read(0.1)
        if data is None:
            break
        if data:
            chunks.append(data)
    return Recording(chunks, child.wait(), list(target))


class ReplayRunner:
    """A runner that plays recordings back instead of starting processes.

    ``recordings`` maps the first target word (the script) to a Recording;
    ``delay`` is the pause between chunks (0: as fast as the app takes them).
    """

    def __init__(self, recordings: dict[str, Recording], delay: float = 0.0) -> None:
        self.recordings = recordings
        self.delay = delay
        self.started: list[list[str]] = []

    def start(self, target: list[str], columns: int = 100, rows: int = 30) -> ReplayChild:
        from diagnose.errors import UsageError

        key = target[0] if target else ""
        if key not in self.recordings:
            raise UsageError(f"diagnose tui: no such script: {key}")
        self.started.append(list(target))
        return ReplayChild(self.recordings[key], self.delay)


class ReplayChild:
    def __init__(self, recording: Recording, delay: float) -> None:
        self.recording = recording
        self.command = recording.result.command
        self.script = recording.result.script
        self.pid = None
        self.delay = delay
        self._next = 0
        self._stopped: int | None = None
        self._wake = threading.Event()
        self.sizes: list[tuple[int, int]] = []  # what resize() was told, for the tests

    def read(self, timeout: float) -> bytes | None:
        if self._stopped is not None or self._next >= len(self.recording.chunks):
            return None
        if self.delay:
            if self._wake.wait(self.delay):
                return None
        chunk = self.recording.chunks[self._next]
        self._next += 1
        return chunk

    def send_signal(self, signum: int) -> None:
        if signum == signal.SIGWINCH:  # a resize, not a stop
            return
        self._stopped = signum
        self._wake.set()

    def resize(self, columns: int, rows: int) -> None:
        self.sizes.append((columns, rows))

    def abandon(self) -> None:
        self.send_signal(signal.SIGTERM)

    def wait(self) -> RunResult:
        if self._stopped is not None and self._next < len(self.recording.chunks):
            recorded = self.recording.result  # stopped early: killed by the signal, nothing captured
            return RunResult(
                command=recorded.command,
                exit_code=None,
                signal=int(signal.Signals(self._stopped)),
                tail=b"".join(self.recording.chunks[: self._next]),
                captures=[],
                script=recorded.script,
            )
        return self.recording.result
