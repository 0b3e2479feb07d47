"""Run the dry run (diagnose/check/_child.py) in a subprocess and read back what it saw.

A subprocess because the script runs for real (its imports, its argparse, its
side effects) with patched libraries: none of that may touch the diagnosing
process.  The script's own output goes to a log kept only for the report's
tail when something fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TIMEOUT_S = 1200  # a 70B replay takes about a minute on 2 idle cores; a loaded machine many times that


@dataclass(slots=True)
class DryRunFailed(Exception):
    reason: str


def dry_run(script: Path, args: list[str], options: dict[str, Any], timeout: float = TIMEOUT_S) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="diagnose-check-") as folder:
        out = Path(folder) / "report.json"
        env = {**os.environ, "DIAGNOSE_CHECK_OPTIONS": json.dumps(options)}
        env["HF_HUB_OFFLINE"] = "1"  # a preflight never downloads: local folder, HF cache or bundled configs
        env.setdefault("TOKENIZERS_PARALLELISM", "false")
        try:
            done = subprocess.run(
                [sys.executable, "-m", "diagnose.check._child", str(out), str(script), *args],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=timeout,
                env=env,
                cwd=os.getcwd(),
            )
        except subprocess.TimeoutExpired:
            raise DryRunFailed(f"the dry run did not reach a training step within {timeout:.0f} s") from None
        if not out.exists():
            tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
            raise DryRunFailed(f"the dry run ended without a report (exit {done.returncode}): " + " | ".join(tail))
        report = json.loads(out.read_text(encoding="utf-8"))
    report["output_tail"] = done.stderr.decode("utf-8", "replace")[-2000:]
    return report
