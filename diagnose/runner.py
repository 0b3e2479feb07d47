"""Run the user's command exactly as if they had run it, with the capture hook.

Output: when our stdout/stderr is a terminal, the child gets a pseudo-terminal
of the same size for it (so ``isatty``, tqdm and colours behave as without the
wrapper) with output post-processing off, so its bytes reach the real terminal
unchanged; otherwise a pipe.  Either way every byte is copied as read, and a
bounded tail is kept for diagnosis.  stdin is inherited untouched.

Signals: the child stays in our process group, so a Ctrl-C at the terminal
reaches it directly, exactly as without us.  SIGINT/SIGTERM sent to the
wrapper by another process (``kill``) are forwarded.  Telling the two apart
needs the sender, so the signals are blocked and read with ``sigtimedwait``.
A child that ignores Ctrl-C is stopped the way a user expects: the second
SIGINT sends it SIGTERM, the third SIGKILL.  A child killed by a signal is
reported as such, and the wrapper ends the same way so that its own parent
sees the same status.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import threading
from pathlib import Path

from diagnose.errors import UsageError

HOOK_DIR = Path(__file__).resolve().parent / "capture" / "hookdir"
CAPTURE_ENV = "DIAGNOSE_CAPTURE_DIR"
TAIL_BYTES = 256 * 1024
PRIVATE_PREFIX = "diagnose-capture-"
STALE_PRIVATE_S = 24 * 3600  # a run's private folder is removed when it ends; an older one is a killed wrapper's
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# si_code values (Linux): sent by kill()/sigqueue()/tgkill() vs. by the kernel (a terminal's Ctrl-C).
_SENT_BY_PROCESS = {0, -1, -6}


class RunResult:
    """How the child ended, the tail of its output, and the capture files it left.

    A plain class, not a dataclass: importing dataclasses (and inspect) would
    add ~10 ms to every passing run, which should cost only the runner.
    """

    __slots__ = ("command", "exit_code", "signal", "tail", "captures", "script", "interrupts")

    def __init__(
        self,
        command: list[str],
        exit_code: int | None,
        signal: int | None,
        tail: bytes,
        captures: list[dict] | None = None,
        script: str | None = None,
        interrupts: int = 0,
    ) -> None:
        self.command, self.exit_code, self.signal, self.tail = command, exit_code, signal, tail
        self.captures = captures if captures is not None else []
        self.script = script
        self.interrupts = interrupts  # SIGINTs (Ctrl-C) the run received

    @property
    def interrupted(self) -> bool:
        """The user stopped the run (Ctrl-C): not an error to diagnose."""
        return self.interrupts > 0 or self.signal == signal.SIGINT or self.exit_code == 128 + signal.SIGINT

    @property
    def failed(self) -> bool:
        return self.exit_code != 0

    @property
    def signal_name(self) -> str | None:
        if self.signal is None:
            return None
        try:
            return signal.Signals(self.signal).name
        except ValueError:
            return f"signal {self.signal}"


def build_command(target: list[str], program: str = "diagnose run") -> tuple[list[str], str | None]:
    """TARGET [ARGS...] -> argv, and the user's script when there is one (``program`` names the command in errors)."""
    if not target:
        raise UsageError(f"{program}: give a script, -m module, or a command to run")
    first = target[0]
    if first == "-m":
        if len(target) < 2:
            raise UsageError(f"{program}: -m needs a module name")
        return [sys.executable, *target], None
    if first.endswith(".py"):
        path = Path(first)
        if not path.is_file():
            raise UsageError(f"{program}: no such script: {first}")
        return [sys.executable, *target], str(path.resolve())
    executable = shutil.which(first)
    if executable is None:
        raise UsageError(f"{program}: command not found: {first}")
    return target, _script_in(target[1:])


def _script_in(args: list[str]) -> str | None:
    """The training script of ``python x.py`` / ``torchrun ... x.py`` / ``accelerate launch x.py``."""
    for arg in args:
        if arg.endswith(".py") and Path(arg).is_file():
            return str(Path(arg).resolve())
    return None


def child_environment(capture_dir: str, base: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    existing = env.get("PYTHONPATH")
    env["PYTHONPATH"] = str(HOOK_DIR) + (os.pathsep + existing if existing else "")
    env[CAPTURE_ENV] = capture_dir
    return env


class _Tail:
    """The last TAIL_BYTES of the combined output, for the text parser."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.lock = threading.Lock()

    def add(self, data: bytes) -> None:
        with self.lock:
            self.buffer += data
            if len(self.buffer) > 2 * TAIL_BYTES:
                del self.buffer[: len(self.buffer) - TAIL_BYTES]

    def bytes(self) -> bytes:
        with self.lock:
            return bytes(self.buffer[-TAIL_BYTES:])


def _private_directory(base: str | None = None, prefix: str = PRIVATE_PREFIX) -> str:
    """A new owner-only folder for the capture files, as tempfile.mkdtemp makes one (a random name that
    mkdir refuses if it exists) without importing tempfile (random, weakref: ~2 ms of every run)."""
    if base is not None and not os.path.isdir(base):
        raise UsageError(f"diagnose run: {CAPTURE_ENV}={base} is not a folder")
    base = base or os.environ.get("TMPDIR") or "/tmp"
    for _ in range(100):
        path = os.path.join(base, f"{prefix}{os.urandom(6).hex()}")
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            continue
        os.chmod(path, 0o700)  # whatever the umask
        return path
    raise UsageError(f"diagnose run: cannot create a folder for capture files in {base}")


def remove_stale_private_folders(now: float) -> None:
    """Private capture folders of runs whose wrapper was killed (SIGKILL, power loss) before it removed them:
    this user's, older than a day (the folder of a run still in progress is younger)."""
    try:
        entries = list(os.scandir(os.environ.get("TMPDIR") or "/tmp"))
    except OSError:
        return
    for entry in entries:
        if not entry.name.startswith(PRIVATE_PREFIX):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if entry.is_dir(follow_symlinks=False) and info.st_uid == os.getuid() and now - info.st_mtime > STALE_PRIVATE_S:
            shutil.rmtree(entry.path, ignore_errors=True)


def _open_output(real_fd: int) -> tuple[int, int]:
    """(our read end, the child's write end) for one of stdout/stderr."""
    if os.isatty(real_fd):
        import pty
        import termios

        master, slave = pty.openpty()
        attrs = termios.tcgetattr(slave)
        attrs[1] &= ~termios.OPOST  # no \n -> \r\n: bytes pass as written
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        _copy_window_size(real_fd, slave)
        return master, slave
    read_end, write_end = os.pipe()
    return read_end, write_end


def _copy_window_size(from_fd: int, to_fd: int) -> None:
    import fcntl
    import termios

    try:
        size = fcntl.ioctl(from_fd, termios.TIOCGWINSZ, b"\0" * 8)
        fcntl.ioctl(to_fd, termios.TIOCSWINSZ, size)
    except OSError:
        pass


def _pump(source: int, dest: int, tail: _Tail, sink=None) -> None:
    """Copy bytes from the child to our fd until EOF (EIO on a closed pty)."""
    while True:
        try:
            data = os.read(source, 65536)
        except OSError:
            break
        if not data:
            break
        tail.add(data)
        if sink is not None:
            sink(data)
        view = memoryview(data)
        while view:
            try:
                written = os.write(dest, view)
            except BlockingIOError:
                continue
            except OSError:  # our own output closed (e.g. `| head`): keep draining the child
                break
            view = view[written:]
    os.close(source)


def run(target: list[str], *, on_output=None) -> RunResult:
    """Run TARGET to completion; stream its output; return status, tail and captures.

    ``on_output(stream, data)`` sees every chunk too (the TUI uses its own
    runner; this hook is for tests and tools).
    """
    command, script = build_command(target)
    shared = os.environ.get(CAPTURE_ENV)
    # A DIAGNOSE_CAPTURE_DIR of the user's (a shared filesystem for a multi-node run): every host's ranks write
    # into one run folder there, which is kept for `diagnose explain --captures`; otherwise a private folder.
    capture_dir = _private_directory(shared, "run-") if shared else _private_directory()
    tail = _Tail()
    pipes = [_open_output(1), _open_output(2)]
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, [*FORWARDED, signal.SIGCHLD, signal.SIGWINCH])
    try:
        try:
            child = _Child.spawn(command, pipes[0][1], pipes[1][1], child_environment(capture_dir), blocked)
        except OSError as error:
            raise UsageError(f"diagnose run: cannot start {command[0]}: {error.strerror}") from None
        finally:
            for _, child_end in pipes:
                os.close(child_end)
        pumps = [
            threading.Thread(
                target=_pump,
                args=(read_end, fd, tail, (lambda d, s=fd: on_output(s, d)) if on_output else None),
                daemon=True,
            )
            for (read_end, _), fd in zip(pipes, (1, 2))
        ]
        for pump in pumps:
            pump.start()
        terminals = [(fd, read_end) for (read_end, _), fd in zip(pipes, (1, 2)) if os.isatty(fd)]

        def on_resize() -> None:
            for fd, pty in terminals:
                _copy_window_size(fd, pty)

        status, interrupts = _wait_forwarding_signals(child, on_resize)
        for pump in pumps:
            pump.join(timeout=2.0)  # a grandchild may still hold the output open: don't hang on it
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
    captures = read_captures(capture_dir)
    if not shared:
        shutil.rmtree(capture_dir, ignore_errors=True)
        if status != 0:  # tidying scans the temporary folder: paid by failing runs only
            import time

            remove_stale_private_folders(time.time())
    elif not captures:
        try:
            os.rmdir(capture_dir)  # nothing failed: leave no empty run folder behind
        except OSError:
            pass
    exit_code, signum = (None, -status) if status < 0 else (status, None)
    return RunResult(
        command=command,
        exit_code=exit_code,
        signal=signum,
        tail=tail.bytes(),
        captures=captures,
        script=script,
        interrupts=interrupts,
    )


class _Child:
    """The started command (pid), and its status once reaped: negative for a signal, as in subprocess.

    Started with posix_spawn, not subprocess: no fork of this process and no
    Python code between fork and exec, and nothing to import (~5 ms of every run).
    """

    # What a shell gives a command it starts; Python itself ignores SIGPIPE and SIGXFSZ, and an ignored
    # signal stays ignored across exec (subprocess's restore_signals does the same).
    DEFAULT_SIGNALS = tuple(getattr(signal, name) for name in ("SIGPIPE", "SIGXFSZ") if hasattr(signal, name))

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.status: int | None = None

    @classmethod
    def spawn(cls, command: list[str], stdout_fd: int, stderr_fd: int, env: dict[str, str], signal_mask) -> _Child:
        """Start ``command`` with its stdout/stderr on these fds and the caller's original signal mask.

        Like a command started by a shell, and unlike subprocess's default
        ``close_fds``, it inherits the fds the user made inheritable; ours are not.
        """
        actions = [(os.POSIX_SPAWN_DUP2, stdout_fd, 1), (os.POSIX_SPAWN_DUP2, stderr_fd, 2)]
        pid = os.posix_spawnp(
            command[0], command, env, file_actions=actions, setsigmask=signal_mask, setsigdef=cls.DEFAULT_SIGNALS
        )
        return cls(pid)

    def poll(self) -> int | None:
        if self.status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)
        return self.status

    def send_signal(self, signum: int) -> None:
        if self.status is None:
            os.kill(self.pid, signum)


# What the n-th Ctrl-C does to a child that is still running: the first is the child's own (it got it
# from the terminal, or we forward it); a child that ignored it gets SIGTERM, then SIGKILL.
_ESCALATION = {2: signal.SIGTERM, 3: signal.SIGKILL}


def _wait_forwarding_signals(child: _Child, on_resize) -> tuple[int, int]:
    """Wait for the child; forward signals sent to us; escalate repeated Ctrl-C. Returns (status, SIGINTs seen)."""
    watched = [*FORWARDED, signal.SIGCHLD, signal.SIGWINCH]
    interrupts = 0
    while True:
        code = child.poll()
        if code is not None:
            return code, interrupts
        info = signal.sigtimedwait(watched, 0.2)
        if info is None or info.si_signo == signal.SIGCHLD:
            continue
        if info.si_signo == signal.SIGWINCH:
            on_resize()  # the user's terminal changed size: so does the child's pty (it gets SIGWINCH)
            continue
        sent_by_process = info.si_code in _SENT_BY_PROCESS and info.si_pid != child.pid
        signum = info.si_signo
        if signum == signal.SIGINT:
            interrupts += 1
            signum = _ESCALATION.get(min(interrupts, 3), signal.SIGINT)
            sent_by_process = sent_by_process or interrupts > 1
        if sent_by_process:
            try:
                child.send_signal(signum)
            except ProcessLookupError:
                pass


def read_captures(directory: str) -> list[dict]:
    """Capture files, first failure first (the root cause of a multi-rank crash)."""
    found = []
    for path in sorted(Path(directory).glob("capture-*.json")):
        import json  # only when a process failed: a passing run imports nothing more

        try:
            found.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue  # a half-written capture (killed mid-write) is no worse than none
    found.sort(key=lambda c: c.get("time", 0))
    return found


def end_like(result: RunResult) -> int:
    """Exit the way the child did: same code, or die by the same signal."""
    if result.signal is None:
        return result.exit_code or 0
    import resource

    signum = result.signal
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # the child's crash, not a core of ours
        if signum not in (signal.SIGKILL, signal.SIGSTOP):  # those two cannot be caught or blocked anyway
            signal.signal(signum, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, [signum])
        sys.stdout.flush()
        sys.stderr.flush()
        os.kill(os.getpid(), signum)
    except (OSError, ValueError):
        pass
    return 128 + signum
