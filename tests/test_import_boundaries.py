"""Fast commands import no torch; the engine never imports the UI (harlequin-style contract)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.helpers import ROOT, env

# What `explain` (JSON, or text not on a terminal) must not import: each costs 5-80 ms of a ~35 ms budget
# (issue 3: explain within 3x a bare interpreter).  Rich is for terminals; pydantic and PyYAML only when a KB
# file changed; sqlite3/fsrs only when the progress store opens; dataclasses: see diagnose/record.py.
STARTUP_COSTS = (
    "rich",
    "pydantic",
    "yaml",
    "dataclasses",
    "sqlite3",
    "fsrs",
    "importlib.metadata",
    "libcst",
    "packaging.specifiers",
)

PROBE = """
import io, json, sys, contextlib
STARTUP_COSTS = %r
sys.argv = ["diagnose", *json.loads(sys.argv[1])]
from diagnose.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
    try:
        code = main(sys.argv[1:])
    except SystemExit as stop:
        code = stop.code
heavy = sorted(m for m in ("torch", "transformers", "peft", "accelerate", "bitsandbytes", "textual") if m in sys.modules)
startup = sorted(m for m in STARTUP_COSTS if m in sys.modules)
print(json.dumps({"code": code, "heavy": heavy, "startup": startup}))
"""


def _imports_of(args: list[str], stdin: bytes | None = None) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", PROBE % (STARTUP_COSTS,), json.dumps(args)],
        capture_output=True,
        input=stdin,
        env=env(),
        cwd=ROOT,
        timeout=120,
    )
    return json.loads(done.stdout.decode().strip().splitlines()[-1])


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["kb", "list"],
        ["quiz", "--json", "--all"],
        ["explain", "--json", "-"],
        ["explain", "-"],
        ["env", "--help"],
    ],
    ids=lambda a: " ".join(a),
)
def test_fast_commands_import_no_heavy_library(args):
    paste = b"peft.utils.error.NoMatchingPeftModuleError: Target modules {'q_proj'} not found in the base model."
    result = _imports_of(args, stdin=paste)
    assert result["heavy"] == []


@pytest.mark.parametrize(
    "example", sorted((ROOT / "tests" / "data" / "outputs").glob("*/01.txt")), ids=lambda p: p.parent.name
)
def test_explain_stays_on_the_lean_start_path(example):
    """Each family's first example, explained as JSON and as text for a pipe, after one warm-up run
    (which fills the KB and library-facts caches, as any earlier use would)."""
    _imports_of(["explain", "--json", str(example)])
    for args in (["explain", "--json", str(example)], ["explain", str(example)]):
        result = _imports_of(args)
        assert result["code"] == 0 and result["heavy"] == []
        assert result["startup"] == [], f"{' '.join(args)} imported {result['startup']}"


def test_engine_never_imports_the_ui():
    code = (
        "import sys, diagnose.cli, diagnose.engine, diagnose.workflow, diagnose.present, diagnose.matcher, "
        "diagnose.kb.loader, diagnose.quiz.command; print('textual' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, env=env(), cwd=ROOT)
    assert done.stdout == b"False\n"
