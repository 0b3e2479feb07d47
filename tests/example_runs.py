"""Real runs of the example scripts, bare and under `diagnose run --json`, made once per test session.

Several slow tests need the same runs (the family is diagnosed; the wrapper is
invisible). Each script is run once per session, also across pytest-xdist
workers: the results are kept in a file under the session's shared temporary
root, and a per-script file lock makes a second worker wait for the first
instead of running the script again.
"""

from __future__ import annotations

import fcntl
import json
import os
import pickle
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import DIAGNOSE, ROOT, env

TIMEOUT_S = 300


@dataclass(frozen=True)
class ScriptRuns:
    bare: subprocess.CompletedProcess
    wrapped: subprocess.CompletedProcess

    @property
    def report_start(self) -> int:
        """Where `diagnose run --json` starts its report on stdout, after the script's own output (a run
        that passed has none: the end)."""
        start = self.wrapped.stdout.rfind(b'{\n  "schema"')
        return start if start >= 0 else len(self.wrapped.stdout)

    @property
    def report(self) -> dict:
        report = self.wrapped.stdout[self.report_start :]
        assert report, f"no JSON report on stdout; stderr:\n{self.wrapped.stderr.decode()[-3000:]}"
        return json.loads(report)


def _run(argv: list[str], user_dir: Path) -> subprocess.CompletedProcess:
    # One hash seed for both runs: a message that prints a set must print it in the same order.
    environment = env(PYTHONHASHSEED="0", DIAGNOSE_USER_DIR=str(user_dir))
    return subprocess.run(argv, capture_output=True, timeout=TIMEOUT_S, env=environment, cwd=ROOT)


def script_runs(script: Path, cache_root: Path) -> ScriptRuns:
    name = "-".join(script.relative_to(ROOT).with_suffix("").parts)
    folder = cache_root / "script-runs"
    folder.mkdir(exist_ok=True)
    result = folder / f"{name}.pickle"
    with open(folder / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not result.exists():
            user_dir = folder / f"{name}-user"
            runs = ScriptRuns(
                bare=_run([sys.executable, str(script)], user_dir),
                wrapped=_run([*DIAGNOSE, "run", "--json", "--no-quiz", str(script)], user_dir),
            )
            result.write_bytes(pickle.dumps(runs))
        return pickle.loads(result.read_bytes())


@pytest.fixture(scope="session")
def runs_of(tmp_path_factory):
    """runs_of(script) -> ScriptRuns, shared by every test (and xdist worker) of the session."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    return lambda script: script_runs(script, shared)
