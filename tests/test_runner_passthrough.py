"""`diagnose run` is invisible: same bytes, exit status, signals, terminal and environment."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.helpers import DIAGNOSE, env


def _script(tmp_path: Path, body: str, name: str = "child.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return path


def _bare_and_wrapped(script: Path, *args: str, timeout: float = 120):
    bare = subprocess.run([sys.executable, str(script), *args], capture_output=True, timeout=timeout, env=env())
    wrapped = subprocess.run(
        [*DIAGNOSE, "run", "--no-quiz", str(script), *args], capture_output=True, timeout=timeout, env=env()
    )
    return bare, wrapped


def test_binary_carriage_returns_and_20mb_pass_byte_for_byte(tmp_path):
    script = _script(
        tmp_path,
        """
        import os, random, sys
        rng = random.Random(7)
        out = sys.stdout.buffer
        out.write(bytes(rng.randrange(256) for _ in range(65536)))   # arbitrary binary, not UTF-8
        for i in range(200):
            sys.stderr.write(f"\\rprogress {i:3d}%|{'#' * (i // 10)}")  # a tqdm-style bar
        sys.stderr.write("\\n\\x1b[31mcolour\\x1b[0m\\n")
        chunk = bytes(range(256)) * 4096                                   # 1 MiB
        for _ in range(20):
            out.write(chunk)
        out.flush()
    """,
    )
    bare, wrapped = _bare_and_wrapped(script)
    assert bare.returncode == wrapped.returncode == 0
    assert len(wrapped.stdout) == 65536 + 20 * 2**20
    assert wrapped.stdout == bare.stdout
    assert wrapped.stderr == bare.stderr


@pytest.mark.parametrize("code", [0, 1, 3, 130])
def test_exit_codes_are_the_childs(tmp_path, code):
    script = _script(tmp_path, f"import sys; print('bye'); sys.exit({code})")
    bare, wrapped = _bare_and_wrapped(script)
    assert wrapped.returncode == bare.returncode == code
    assert wrapped.stdout == bare.stdout == b"bye\n"


def test_child_killed_by_sigkill_is_reported_and_mirrored(tmp_path):
    script = _script(tmp_path, "import os, signal; print('x', flush=True); os.kill(os.getpid(), signal.SIGKILL)")
    wrapped = subprocess.run([*DIAGNOSE, "run", "--no-quiz", str(script)], capture_output=True, timeout=60, env=env())
    assert wrapped.returncode == -signal.SIGKILL  # the wrapper dies the same way, so its parent sees the same
    assert "killed by signal 9 (SIGKILL) — often the kernel's out-of-memory killer" in wrapped.stderr.decode()


def _start_wrapped_and_wait(script: Path, ready: Path) -> subprocess.Popen:
    """Start `diagnose run SCRIPT` and return once the child has written READY."""
    proc = subprocess.Popen(
        [*DIAGNOSE, "run", "--no-quiz", str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env()
    )
    deadline = time.monotonic() + 30
    while not ready.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return proc


def test_sigint_to_the_wrapper_reaches_the_child(tmp_path):
    ready = tmp_path / "ready"
    script = _script(
        tmp_path,
        f"""
        import pathlib, signal, sys, time
        def handler(signum, frame):
            print("child got SIGINT", flush=True)
            sys.exit(42)
        signal.signal(signal.SIGINT, handler)
        pathlib.Path({str(ready)!r}).write_text("1")
        time.sleep(30)
    """,
    )
    proc = _start_wrapped_and_wait(script, ready)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert out == b"child got SIGINT\n"
    assert proc.returncode == 42


def test_sigterm_is_forwarded_and_the_signal_death_mirrored(tmp_path):
    ready = tmp_path / "ready"
    script = _script(
        tmp_path,
        f"""
        import pathlib, time
        pathlib.Path({str(ready)!r}).write_text("1")
        time.sleep(30)
    """,
    )
    proc = _start_wrapped_and_wait(script, ready)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGTERM
    assert b"killed by SIGTERM" in err


def _run_in_pty(argv: list[str], timeout: float = 60) -> tuple[bytes, int]:
    """Run argv with stdout and stderr on a pseudo-terminal, as in a user's terminal."""
    pid, fd = pty.fork()
    if pid == 0:  # child: a 100x30 terminal
        import fcntl
        import struct
        import termios

        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        os.execve(argv[0], argv, env())
    chunks = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                data = os.read(fd, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
    _, status = os.waitpid(pid, 0)
    return b"".join(chunks), os.waitstatus_to_exitcode(status)


def test_child_sees_a_terminal_when_the_user_has_one(tmp_path):
    script = _script(
        tmp_path,
        """
        import os, sys
        print("isatty", sys.stdin.isatty(), sys.stdout.isatty(), sys.stderr.isatty())
        print("size", os.get_terminal_size(sys.stdout.fileno()).columns, os.get_terminal_size(sys.stderr.fileno()).lines)
    """,
    )
    out, code = _run_in_pty([*DIAGNOSE, "run", "--no-quiz", str(script)])
    assert code == 0
    assert b"isatty True True True" in out
    assert b"size 100 30" in out
    assert b"\r\n" in out  # the real terminal adds its own CR; the child's bytes were not doubled to \r\r\n
    assert b"\r\r\n" not in out


def test_child_sees_no_terminal_when_piped(tmp_path):
    script = _script(tmp_path, "import sys; print(sys.stdout.isatty(), sys.stderr.isatty())")
    bare, wrapped = _bare_and_wrapped(script)
    assert wrapped.stdout == bare.stdout == b"False False\n"


def test_environment_and_sys_path_are_the_users(tmp_path):
    script = _script(
        tmp_path,
        """
        import json, os, sys
        keep = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DIAGNOSE_CAPTURE_DIR")}
        print(json.dumps({"env": keep, "path": sys.path[1:]}, sort_keys=True))
    """,
    )
    bare, wrapped = _bare_and_wrapped(script)
    assert wrapped.stdout == bare.stdout


def test_success_prints_no_diagnosis_noise(tmp_path):
    script = _script(tmp_path, "print('trained')")
    bare, wrapped = _bare_and_wrapped(script)
    assert wrapped.stdout == bare.stdout
    assert wrapped.stderr == bare.stderr == b""


def test_dash_m_and_commands_are_targets(tmp_path):
    (tmp_path / "mymod.py").write_text("import sys; print('module', sys.argv[1:]); sys.exit(4)")
    done = subprocess.run(
        [*DIAGNOSE, "run", "--no-quiz", "-m", "mymod", "a", "--flag"],
        capture_output=True,
        cwd=tmp_path,
        timeout=60,
        env=env(PYTHONPATH=str(tmp_path)),
    )
    assert done.stdout == b"module ['a', '--flag']\n" and done.returncode == 4
    done = subprocess.run(
        [*DIAGNOSE, "run", "--no-quiz", "--", sys.executable, "-c", "print(6*7)"],
        capture_output=True,
        timeout=60,
        env=env(),
    )
    assert done.stdout == b"42\n" and done.returncode == 0


@pytest.mark.parametrize(
    "argv, message",
    [
        (["run", "no/such/script.py"], b"no such script"),
        (["run", "no-such-command-xyz"], b"command not found"),
        (["run"], b"give a script"),
        (["frobnicate"], b"invalid choice"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, message):
    done = subprocess.run([*DIAGNOSE, *argv], capture_output=True, timeout=60, env=env())
    assert done.returncode == 2
    assert message in done.stderr
    assert b"Traceback" not in done.stderr
    assert done.stderr.count(b"\n") == 1


class _Terminal:
    """`diagnose run` in a pseudo-terminal of its own, where Ctrl-C is a keypress (the line discipline sends
    SIGINT to the foreground process group: the wrapper and the child, as at a user's terminal)."""

    def __init__(self, argv: list[str], environment: dict[str, str]) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execve(argv[0], argv, environment)
        self.output = b""
        self.status: int | None = None

    def read_until(self, marker: bytes, timeout: float = 60) -> bool:
        deadline = time.monotonic() + timeout
        while marker not in self.output and time.monotonic() < deadline:
            ready, _, _ = select.select([self.fd], [], [], 0.2)
            if ready:
                try:
                    data = os.read(self.fd, 65536)
                except OSError:  # the terminal closed: everything was read
                    return marker in self.output
                if not data:
                    break
                self.output += data
        return marker in self.output

    def ctrl_c(self) -> None:
        os.write(self.fd, b"\x03")

    def ended(self) -> bool:
        if self.status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)
        return self.status is not None

    def wait(self, timeout: float = 60) -> int:
        deadline = time.monotonic() + timeout
        while not self.ended() and time.monotonic() < deadline:
            self.read_until(b"\0never\0", timeout=0.5)
        if not self.ended():
            os.kill(self.pid, signal.SIGKILL)
            raise AssertionError(f"diagnose run did not end; output:\n{self.output.decode(errors='replace')}")
        self.read_until(b"\0never\0", timeout=0.5)  # what is left in the terminal
        return self.status


def test_ctrl_c_is_not_an_error_no_diagnosis_and_no_record(tmp_path, _user_dir):
    script = _script(tmp_path, "import time\nprint('training', flush=True)\ntime.sleep(120)\n")
    terminal = _Terminal([*DIAGNOSE, "run", str(script)], env())
    assert terminal.read_until(b"training")
    terminal.ctrl_c()
    assert terminal.wait() == -signal.SIGINT  # a shell shows 130, as for the script alone
    assert b"KeyboardInterrupt" in terminal.output  # the child's own traceback, as without the wrapper
    assert b"diagnose" not in terminal.output.replace(str(script).encode(), b"")
    assert b"kb new" not in terminal.output and b"entry" not in terminal.output
    recorded = [p.name for p in _user_dir.rglob("*") if p.is_file()] if _user_dir.exists() else []
    assert recorded == []


def test_repeated_ctrl_c_escalates_to_sigterm_then_sigkill(tmp_path):
    """A child that ignores Ctrl-C: the second press sends it SIGTERM; one that survives that too, SIGKILL."""
    script = _script(
        tmp_path,
        """
        import signal, sys, time
        signal.signal(signal.SIGINT, lambda *_: print("ignoring SIGINT", flush=True))
        signal.signal(signal.SIGTERM, lambda *_: print("ignoring SIGTERM", flush=True))
        print("training", flush=True)
        while True:
            time.sleep(0.05)
    """,
    )
    terminal = _Terminal([*DIAGNOSE, "run", "--no-quiz", str(script)], env())
    assert terminal.read_until(b"training")
    # Press until each step shows: two presses in quick succession may reach the wrapper as one signal.
    for effect in (b"ignoring SIGINT", b"ignoring SIGTERM"):
        while not terminal.read_until(effect, timeout=20):
            terminal.ctrl_c()
    while not terminal.ended():
        terminal.ctrl_c()
        terminal.read_until(b"\0never\0", timeout=2)
    assert terminal.wait() == -signal.SIGKILL
    assert b"entry" not in terminal.output
