"""Real-terminal smoke test: `diagnose tui EXAMPLE` in tmux shows the diagnosis, then the quiz on a key.

Skipped when tmux is missing (.ci/run installs it).  The example really runs
(torch + peft on a CPU), so this is marked slow.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time

import pytest
from tui_helpers import ENTRY_ID, EXAMPLE, ROOT

pytestmark = [pytest.mark.slow, pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")]


class Tmux:
    """One tmux server of this test: start a command in a window of a given size, send keys, read the screen."""

    def __init__(self, tmp_path, columns: int, rows: int, args: list[str]) -> None:
        self.base = ["tmux", "-L", f"diagnose-test-{os.getpid()}", "-f", "/dev/null"]
        env = {"DIAGNOSE_USER_DIR": str(tmp_path / "user"), "HF_HUB_OFFLINE": "1", "TERM": "xterm-256color"}
        command = " ".join(
            [f"{k}={shlex.quote(v)}" for k, v in env.items()]
            + [shlex.quote(sys.executable), "-m", "diagnose.cli", "tui", *map(shlex.quote, args)]
        )
        subprocess.run(
            [
                *self.base,
                "new-session",
                "-d",
                "-s",
                "tui",
                "-x",
                str(columns),
                "-y",
                str(rows),
                "-c",
                str(ROOT),
                command,
            ],
            check=True,
        )

    def screen(self) -> str:
        return subprocess.run(
            [*self.base, "capture-pane", "-p", "-t", "tui"], capture_output=True, text=True, check=True
        ).stdout

    def keys(self, *keys: str) -> None:
        for key in keys:
            subprocess.run([*self.base, "send-keys", "-t", "tui", key], check=True)
            # A key right after Escape would be read as alt+key: leave the app time to take Escape alone.
            time.sleep(1.0 if key == "Escape" else 0.2)

    def wait_for(self, text: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        shown = ""
        while time.monotonic() < deadline:
            shown = self.screen()
            if text in shown:
                return shown
            time.sleep(0.3)
        raise AssertionError(f"{text!r} not on screen after {timeout:.0f}s; the screen shows:\n{shown}")

    def wait_without(self, text: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            shown = self.screen()
            if text not in shown:
                return shown
            time.sleep(0.3)
        raise AssertionError(f"{text!r} still on screen after {timeout:.0f}s")

    def alive(self) -> bool:
        return subprocess.run([*self.base, "has-session", "-t", "tui"], capture_output=True).returncode == 0

    def wait_gone(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                return
            time.sleep(0.3)
        raise AssertionError(f"the app is still there; the screen shows:\n{self.screen()}")

    def close(self) -> None:
        subprocess.run([*self.base, "kill-server"], capture_output=True)


def test_tui_in_a_real_terminal_shows_the_diagnosis_and_the_quiz_from_the_keyboard(tmp_path):
    from diagnose.kb.loader import load_kb

    entry = load_kb([]).get(ENTRY_ID)
    if entry is None:
        pytest.skip("the KB entry is not written yet")
    tmux = Tmux(tmp_path, 100, 30, [str(EXAMPLE.relative_to(ROOT))])
    try:
        tmux.wait_for("running", 60)
        tmux.wait_for(entry.title[:40], 240)
        shown = tmux.wait_for("a Apply", 30)  # the footer: the keys that apply now
        assert "target_modules" in shown and "exited 1" in shown and "s Stop" not in shown
        tmux.wait_for("┏", 30)  # the diagnosis pane has the focus (heavy frame) after the automatic switch
        tmux.keys("3")
        shown = tmux.wait_for("Submit", 30)  # the question built from this run, or one of the entry's
        if "Press a-" in shown:
            tmux.keys("a")  # a choice question: answered with its letter
        else:
            tmux.keys("c_attn", "Enter")
        tmux.wait_for("Model answer", 30)
        tmux.keys("3")  # rated Good with its number
        tmux.wait_for("Saved (good)", 30)
        tmux.keys("?")
        tmux.wait_for("Keys here", 30)
        tmux.keys("G")  # the help scrolls to its end
        tmux.wait_for("shows the hint", 30)
        tmux.keys("q")
        tmux.keys("C-q")  # nothing runs: quits at once
        tmux.wait_gone(15)
    finally:
        tmux.close()


def test_a_run_is_only_ended_after_stop_the_run_and_quit_is_answered(tmp_path):
    tmux = Tmux(tmp_path, 80, 24, ["tests/data/tui/scripts/endless.py"])
    try:
        tmux.wait_for("running", 60)
        tmux.keys("Escape", "Escape")  # never ends a run
        tmux.keys("C-q")
        tmux.wait_for("Stop the run and quit?", 30)
        tmux.keys("Escape")  # no: the dialog goes, the run goes on
        shown = tmux.wait_without("Stop the run and quit?", 30)
        assert "running" in shown
        tmux.keys("q")  # q asks the same while the run goes
        tmux.wait_for("Stop the run and quit?", 30)
        tmux.keys("y")
        tmux.wait_gone(15)
    finally:
        tmux.close()
