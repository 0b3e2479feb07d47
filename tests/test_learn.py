"""`diagnose learn`: exercises built from the KB's example scripts, checked by the run → diagnosis loop."""

from __future__ import annotations

import subprocess
import sys

import pytest

from diagnose import paths
from diagnose.cli import main
from diagnose.learn import Progress, exercise_ids, workspace

EXERCISE = "peft-target-modules-not-found"


def test_every_cpu_example_is_an_exercise():
    ids = exercise_ids()
    assert EXERCISE in ids and "dtype-mismatch" in ids
    assert "hub-gated-repo" not in ids  # needs the Hub


def test_list_start_and_hints(capsys):
    assert main(["learn"]) == 0
    assert f"0 of {len(exercise_ids())} solved" in capsys.readouterr().out
    assert main(["learn", EXERCISE]) == 0
    folder = workspace(EXERCISE)
    assert (folder / f"{EXERCISE}.py").read_text() == (
        paths.SHIPPED_KB.parent / "examples" / f"{EXERCISE}.py"
    ).read_text()
    assert (folder / "tiny_models.py").exists()
    assert "Edit it until it runs" in capsys.readouterr().out
    for number in (1, 2, 3):
        assert main(["learn", EXERCISE, "--hint"]) == 0
        assert f"Hint {number}/3" in capsys.readouterr().out
    assert main(["learn", EXERCISE, "--hint"]) == 0
    assert "No more hints" in capsys.readouterr().out
    assert Progress.read(folder) == Progress(started=True, hints=3, solved=False, checks=0)
    assert main(["learn"]) == 0
    assert "started" in capsys.readouterr().out
    assert main(["learn", EXERCISE, "--reset"]) == 0
    assert Progress.read(folder).hints == 0


def test_bad_input_is_one_line_and_exit_2():
    for argv in (["learn", "no-such-exercise"], ["learn", "--check"]):
        result = subprocess.run([sys.executable, "-m", "diagnose.cli", *argv], capture_output=True, text=True)
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_check_runs_the_copy_through_the_diagnosis_loop(capsys):
    assert main(["learn", EXERCISE]) == 0
    script = workspace(EXERCISE) / f"{EXERCISE}.py"
    assert main(["learn", EXERCISE, "--check"]) == 1
    out = capsys.readouterr().out
    assert "Not yet" in out
    script.write_text(script.read_text().replace('target_modules=["q_proj", "v_proj"]', 'target_modules=["c_attn"]'))
    assert main(["learn", EXERCISE, "--check"]) == 0
    out = capsys.readouterr().out
    assert "Solved" in out and "Reference fix" in out
    assert Progress.read(workspace(EXERCISE)).solved
