"""Start the user's command for the TUI: on a pseudo-terminal of its own, with the capture hook.

The child's output must never reach the real terminal (Textual owns it), so it
writes to a pty whose other end only we read: ``isatty()`` is true, tqdm draws
its bars and libraries keep their colours, exactly as in a terminal.  It runs
in a session of its own, so stopping it signals the whole process group
(torchrun ranks included) and a Ctrl-C typed in the app never reaches it.

The same capture hook and capture directory as ``diagnose run`` are used
(``runner.child_environment`` / ``runner.read_captures``), so the result is an
ordinary :class:`diagnose.runner.RunResult`.

A runner is anything with ``start(target, columns, rows) -> Child``; the app
takes one, so tests can replay a recorded run (:mod:`tui.replay`).
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import tempfile
from typing import Protocol

from diagnose.runner import TAIL_BYTES, RunResult, build_command, child_environment, read_captures

EOF_GRACE = 0.3  # after the child exits, drain output this long (a grandchild may hold the pty)


class Child(Protocol):
    command: list[str]
    script: str | None
    pid: int | None

    def read(self, timeout: float) -> bytes | None:
        """Output bytes (b"" when none arrived in ``timeout``); None at the end of output."""

    def send_signal(self, signum: int) -> None: ...

    def resize(self, columns: int, rows: int) -> None:
        """The terminal the child sees changed size (the app's window did)."""

    def abandon(self) -> None:
        """The app is leaving: end the child and leave nothing of the run behind."""

    def wait(self) -> RunResult: ...


class Runner(Protocol):
    def start(self, target: list[str], columns: int, rows: int) -> Child: ...


class PtyRunner:
    """Real child processes."""

    def start(self, target: list[str], columns: int = 100, rows: int = 30) -> PtyChild:
        return PtyChild(target, columns, rows)


class PtyChild:
    def __init__(self, target: list[str], columns: int, rows: int) -> None:
        import pty
        import termios

        self.command, self.script = build_command(target, "diagnose tui")  # UsageError for a missing script/command
        self.capture_dir = tempfile.mkdtemp(prefix="diagnose-capture-")
        os.chmod(self.capture_dir, 0o700)
        self._tail = bytearray()
        master, slave = pty.openpty()
        attrs = termios.tcgetattr(slave)
        attrs[1] &= ~termios.OPOST  # bytes pass as written (no \n -> \r\n)
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        _set_window_size(slave, columns, rows)
        env = child_environment(self.capture_dir)
        env.setdefault("COLUMNS", str(columns))
        env.setdefault("LINES", str(rows))
        env.setdefault("TERM", "xterm-256color")
        try:
            self._process = subprocess.Popen(
                self.command,
                stdin=subprocess.DEVNULL,
                stdout=slave,
                stderr=slave,
                env=env,
                start_new_session=True,
                close_fds=True,
            )
        except OSError:
            os.close(master)
            shutil.rmtree(self.capture_dir, ignore_errors=True)
            raise
        finally:
            os.close(slave)
        self._master: int | None = master
        self.pid = self._process.pid
        self._exited_at: float | None = None

    def read(self, timeout: float) -> bytes | None:
        import time

        if self._master is None:
            return None
        if self._exited_at is None and self._process.poll() is not None:
            self._exited_at = time.monotonic()
        ready, _, _ = select.select([self._master], [], [], timeout)
        if not ready:
            if self._exited_at is not None and time.monotonic() - self._exited_at > EOF_GRACE:
                self._close()
                return None
            return b""
        try:
            data = os.read(self._master, 65536)
        except OSError:  # EIO: every writer closed the pty
            self._close()
            return None
        if not data:
            self._close()
            return None
        self._tail += data
        if len(self._tail) > 2 * TAIL_BYTES:
            del self._tail[: len(self._tail) - TAIL_BYTES]
        return data

    def _close(self) -> None:
        if self._master is not None:
            os.close(self._master)
            self._master = None
        return None

    def send_signal(self, signum: int) -> None:
        """Signal the child's whole process group (its own session)."""
        if self._process.poll() is not None:
            return
        try:
            os.killpg(self._process.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass

    def resize(self, columns: int, rows: int) -> None:
        """New window size on the pty, and SIGWINCH: the child has no controlling terminal (a session of
        its own), so the kernel does not send it; tqdm and rich read the new size when it arrives."""
        if self._master is None:
            return
        _set_window_size(self._master, columns, rows)
        self.send_signal(signal.SIGWINCH)

    def abandon(self) -> None:
        """SIGTERM to the process group, and the capture folder removed now (the app may exit before
        the reader thread gets to ``wait``)."""
        self.send_signal(signal.SIGTERM)
        shutil.rmtree(self.capture_dir, ignore_errors=True)

    @property
    def running(self) -> bool:
        return self._process.poll() is None

    def wait(self) -> RunResult:
        status = self._process.wait()
        self._close()
        captures = read_captures(self.capture_dir)
        shutil.rmtree(self.capture_dir, ignore_errors=True)
        exit_code, signum = (None, -status) if status < 0 else (status, None)
        return RunResult(
            command=self.command,
            exit_code=exit_code,
            signal=signum,
            tail=bytes(self._tail[-TAIL_BYTES:]),
            captures=captures,
            script=self.script,
        )


def _set_window_size(fd: int, columns: int, rows: int) -> None:
    import fcntl
    import struct
    import termios

    try:
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", max(rows, 1), max(columns, 20), 0, 0))
    except OSError:
        pass


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGKILL)
