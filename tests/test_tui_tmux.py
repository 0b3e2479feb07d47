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


def test_tui_in_a_real_terminal_shows_the_diagnosis_and_the_quiz(tmp_path):
    from diagnose.kb.loader import load_kb

    entry = load_kb([]).get(ENTRY_ID)
    if entry is None:
        pytest.skip("the KB entry is not written yet")
    socket = f"diagnose-test-{os.getpid()}"
    tmux = ["tmux", "-L", socket, "-f", "/dev/null"]
    env = {"DIAGNOSE_USER_DIR": str(tmp_path / "user"), "HF_HUB_OFFLINE": "1", "TERM": "xterm-256color"}
    command = " ".join(
        [f"{k}={shlex.quote(v)}" for k, v in env.items()]
        + [shlex.quote(sys.executable), "-m", "diagnose.cli", "tui", shlex.quote(str(EXAMPLE.relative_to(ROOT)))]
    )

    def screen() -> str:
        return subprocess.run(
            [*tmux, "capture-pane", "-p", "-t", "tui"], capture_output=True, text=True, check=True
        ).stdout

    def wait_for(text: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        shown = ""
        while time.monotonic() < deadline:
            shown = screen()
            if text in shown:
                return shown
            time.sleep(0.5)
        raise AssertionError(f"{text!r} not on screen after {timeout:.0f}s; the screen shows:\n{shown}")

    subprocess.run(
        [*tmux, "new-session", "-d", "-s", "tui", "-x", "100", "-y", "30", "-c", str(ROOT), command], check=True
    )
    try:
        wait_for("running", 60)
        shown = wait_for(entry.title[:40], 240)
        assert "target_modules" in shown and "exited 1" in shown
        subprocess.run([*tmux, "send-keys", "-t", "tui", "3"], check=True)
        question = entry.quiz[0].question.split()[:4] if entry.quiz else ["Question"]
        wait_for(" ".join(question), 30)
        subprocess.run([*tmux, "send-keys", "-t", "tui", "C-q"], check=True)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            alive = subprocess.run([*tmux, "has-session", "-t", "tui"], capture_output=True)
            if alive.returncode != 0:
                break
            time.sleep(0.3)
        else:
            raise AssertionError("the app did not quit on ctrl+q")
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)
