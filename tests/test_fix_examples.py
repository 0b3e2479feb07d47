"""Each patch on the real example scripts, end to end, through the command line.

For every family with a patcher: copy ``examples/<id>.py`` to a temporary
folder, run it under ``diagnose run --json`` (a real child process with the
capture hook), apply the diagnosis's patch with ``diagnose fix --yes
--report``, and run the patched script again.  The original family must be
gone (the script may fail later for another reason), the lines outside the
diff's hunks must be byte-identical, and the backup must restore the original
exactly.  Runs are shared between the tests of one example (module cache).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
FAMILIES = [
    "peft-target-modules-not-found",
    "bnb-quantization-args",
    "pad-token-missing",
    "peft-model-missing-attribute",
    "device-mismatch",
    "no-grad-fn",
    "peft-unsupported-target-module",
    "peft-config-unknown-field",
]

pytestmark = pytest.mark.slow


@dataclass
class Outcome:
    script: Path
    original: bytes
    first: dict
    fix: subprocess.CompletedProcess
    patched: bytes
    second: dict | None
    second_exit: int


def _env(user_dir: Path) -> dict[str, str]:
    env = dict(
        os.environ,
        HF_HUB_OFFLINE="1",
        DIAGNOSE_USER_DIR=str(user_dir),
        TINY_MODELS_DIR=str(REPO / ".tiny-models"),
        TOKENIZERS_PARALLELISM="false",
    )
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def diagnose(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "diagnose.cli", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=240
    )


def _report(run: subprocess.CompletedProcess) -> dict | None:
    """The JSON report: the last document on stdout, after the script's own output."""
    text = run.stdout
    start = 0 if text.startswith("{") else text.rfind("\n{\n") + 1
    return json.loads(text[start:]) if start or text.startswith("{") else None


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    cache: dict[str, Outcome | BaseException] = {}

    def get(family: str) -> Outcome:
        if family not in cache:
            try:
                cache[family] = _run(family)
            except (AssertionError, subprocess.TimeoutExpired, ValueError) as error:
                cache[family] = error  # fail every test of this example once, without rerunning it
        found = cache[family]
        if isinstance(found, BaseException):
            raise found
        return found

    def _run(family: str) -> Outcome:
        example = EXAMPLES / f"{family}.py"
        folder = tmp_path_factory.mktemp(family)
        for helper in ("tiny_models.py", "tiny_tokenizer.py"):
            shutil.copy(EXAMPLES / helper, folder / helper)
        script = folder / "train.py"
        shutil.copy(example, script)
        env = _env(folder / "user")
        first = diagnose("run", "--json", "--no-quiz", str(script), env=env, cwd=folder)
        report = _report(first)
        assert report is not None, first.stderr[-3000:]
        saved = folder / "report.json"
        saved.write_text(first.stdout)
        original = script.read_bytes()
        fix = diagnose("fix", "--yes", "--report", str(saved), env=env, cwd=folder)
        patched = script.read_bytes()
        second = diagnose("run", "--json", "--no-quiz", str(script), env=env, cwd=folder)
        return Outcome(
            script=script,
            original=original,
            first=report,
            fix=fix,
            patched=patched,
            second=_report(second),
            second_exit=second.returncode,
        )

    return get


def _diagnosis(report: dict, family: str) -> dict:
    found = [d for d in report["diagnoses"] if d["id"] == family]
    assert found, f"{family} not diagnosed: {[d['id'] for d in report['diagnoses']]}"
    return found[0]


@pytest.mark.parametrize("family", FAMILIES)
def test_patch_makes_the_family_go_away(outcome, family):
    result = outcome(family)
    diagnosis = _diagnosis(result.first, family)
    assert result.first["diagnoses"][0]["id"] == family
    assert diagnosis["patch"], f"no patch for {family}"
    assert diagnosis["patch_target"]["safety"] in ("safe", "unsafe", "manual")
    assert result.fix.returncode == 0, result.fix.stderr
    assert result.patched != result.original
    if result.second_exit != 0:
        ids = [d["id"] for d in (result.second or {"diagnoses": []})["diagnoses"]]
        assert family not in ids, f"{family} still there after its patch"


@pytest.mark.parametrize("family", FAMILIES)
def test_unpatched_lines_are_byte_identical(outcome, family):
    result = outcome(family)
    diff = _diagnosis(result.first, family)["patch"]
    old = result.original.decode().splitlines(keepends=True)
    new = result.patched.decode().splitlines(keepends=True)
    touched_old, touched_new = set(), set()
    for hunk in re.finditer(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@", diff, re.M):
        start_old, count_old = int(hunk[1]), int(hunk[2] or 1)
        start_new, count_new = int(hunk[3]), int(hunk[4] or 1)
        touched_old |= set(range(start_old, start_old + count_old))
        touched_new |= set(range(start_new, start_new + count_new))
    before = [line for i, line in enumerate(old, 1) if i not in touched_old]
    after = [line for i, line in enumerate(new, 1) if i not in touched_new]
    assert before == after
    assert before, "the patch should leave most of the script alone"


@pytest.mark.parametrize("family", FAMILIES)
def test_backup_restores_the_original(outcome, family):
    result = outcome(family)
    backup = result.script.with_name(result.script.name + ".diagnose-bak")
    assert backup.read_bytes() == result.original


def test_until_fixed_patches_and_reruns(tmp_path):
    """Round 1 fails and is patched; round 2 trains; the exit status is the last run's."""
    family = "peft-target-modules-not-found"
    for helper in ("tiny_models.py", "tiny_tokenizer.py"):
        shutil.copy(EXAMPLES / helper, tmp_path / helper)
    script = tmp_path / "train.py"
    shutil.copy(EXAMPLES / f"{family}.py", script)
    env = dict(_env(tmp_path / "user"), DIAGNOSE_ASSUME_YES="1")
    run = diagnose("run", "--until-fixed", "--no-quiz", str(script), env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "round 1: applied: Set target_modules" in run.stderr
    assert "round 2: succeeded" in run.stderr
    assert "step 2: loss" in run.stdout
    assert script.with_name("train.py.diagnose-bak").read_bytes() == (EXAMPLES / f"{family}.py").read_bytes()


def test_until_fixed_without_a_terminal_applies_nothing(tmp_path):
    family = "peft-target-modules-not-found"
    for helper in ("tiny_models.py", "tiny_tokenizer.py"):
        shutil.copy(EXAMPLES / helper, tmp_path / helper)
    script = tmp_path / "train.py"
    shutil.copy(EXAMPLES / f"{family}.py", script)
    env = _env(tmp_path / "user")
    env.pop("DIAGNOSE_ASSUME_YES", None)
    run = diagnose("run", "--until-fixed", "--no-quiz", str(script), env=env, cwd=tmp_path)
    assert run.returncode == 1
    assert "not a terminal, so nobody can confirm" in run.stderr
    assert script.read_bytes() == (EXAMPLES / f"{family}.py").read_bytes()
