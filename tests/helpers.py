"""Helpers shared by the engine tests: run the real CLI in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
KB_DIR = ROOT / "kb"
DIAGNOSE = [sys.executable, "-m", "diagnose.cli"]


def env(**extra: str) -> dict[str, str]:
    base = dict(os.environ)
    base.setdefault("HF_HUB_OFFLINE", "1")
    base.setdefault("TINY_MODELS_DIR", str(ROOT / ".tiny-models"))
    base.update(extra)
    return base


def diagnose(*args: str, input: bytes | None = None, timeout: float = 180, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([*DIAGNOSE, *args], input=input, capture_output=True, timeout=timeout, env=env(), **kw)


def run_json(script: Path | str, *extra: str, timeout: float = 240) -> tuple[dict, subprocess.CompletedProcess]:
    """`diagnose run --json SCRIPT`: the report and the finished process."""
    done = diagnose("run", "--json", "--no-quiz", *extra, str(script), timeout=timeout)
    stdout = done.stdout.decode("utf-8", "replace")
    start = stdout.find('{\n  "schema"')
    assert start >= 0, f"no JSON report on stdout:\n{stdout[-2000:]}\nstderr:\n{done.stderr.decode()[-3000:]}"
    return json.loads(stdout[start:]), done
