"""Fast commands import no torch; the engine never imports the UI (harlequin-style contract)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.helpers import ROOT, env

PROBE = """
import io, json, sys, contextlib
sys.argv = ["diagnose", *json.loads(sys.argv[1])]
from diagnose.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
    try:
        code = main(sys.argv[1:])
    except SystemExit as stop:
        code = stop.code
heavy = sorted(m for m in ("torch", "transformers", "peft", "accelerate", "bitsandbytes", "textual") if m in sys.modules)
print(json.dumps({"code": code, "heavy": heavy}))
"""


def _imports_of(args: list[str], stdin: bytes | None = None) -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE, json.dumps(args)], capture_output=True, input=stdin,
                          env=env(), cwd=ROOT, timeout=120)
    return json.loads(done.stdout.decode().strip().splitlines()[-1])


@pytest.mark.parametrize("args", [["--help"], ["kb", "list"], ["quiz", "--json", "--all"], ["explain", "--json", "-"],
                                  ["explain", "-"], ["env", "--help"]],
                         ids=lambda a: " ".join(a))
def test_fast_commands_import_no_heavy_library(args):
    paste = b"peft.utils.error.NoMatchingPeftModuleError: Target modules {'q_proj'} not found in the base model."
    result = _imports_of(args, stdin=paste)
    assert result["heavy"] == []


def test_engine_never_imports_the_ui():
    code = ("import sys, diagnose.cli, diagnose.engine, diagnose.workflow, diagnose.present, diagnose.matcher, "
            "diagnose.kb.loader, diagnose.quiz.command; print('textual' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, env=env(), cwd=ROOT)
    assert done.stdout == b"False\n"
