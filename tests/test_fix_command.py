"""``diagnose fix``: confirmation, backups, refusals (changed, read-only, library code), undo; ``diagnose check``."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from diagnose import patches
from diagnose.cli import main
from diagnose.report import Advice, Diagnosis, Report
from diagnose.workflow import save_last_report
from tests.test_patches_edits import TARGETS, incident_at

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def diagnosed(tmp_path):
    """A script, and the last report holding its target_modules patch."""
    path = tmp_path / "train.py"
    path.write_text(TARGETS)
    path.chmod(0o750)
    incident = incident_at(path, 11)
    patch = patches.propose(
        "peft-target-modules-not-found", str(path), incident, Advice(params={"target_modules": ["c_attn"]})
    )
    diagnosis = Diagnosis(
        id="peft-target-modules-not-found",
        title="t",
        confidence=0.9,
        evidence="e",
        matched="m",
        why="w",
        fixes=[],
        patch=patch,
    )
    save_last_report(Report(incident=incident, diagnoses=[diagnosis], script=str(path)))
    return path, patch


def test_fix_without_a_terminal_or_yes_is_one_line_exit_2(diagnosed, capsys):
    path, _ = diagnosed
    assert main(["fix"]) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        "diagnose fix: stdin is not a terminal, so nobody can confirm; pass --yes to apply (--show prints the patch)\n"
    )
    assert captured.out == ""
    assert path.read_text() == TARGETS


def test_fix_yes_applies_keeps_mode_and_numbered_backups(diagnosed, capsys):
    path, patch = diagnosed
    assert main(["fix", "--yes"]) == 0
    out = capsys.readouterr()
    assert "-    target_modules=['q_proj', 'v_proj'],  # attention only" in out.out
    assert path.read_text() == patch.new_text
    assert stat.S_IMODE(path.stat().st_mode) == 0o750
    backup = path.with_name("train.py.diagnose-bak")
    assert backup.read_bytes() == TARGETS.encode()
    # the file changed since the diagnosis: refused, untouched, backup kept
    assert main(["fix", "--yes"]) == 1
    assert "changed since it was diagnosed" in capsys.readouterr().err
    assert path.read_text() == patch.new_text
    # same original again (e.g. restored by hand): a second backup, the first never overwritten
    path.write_text(TARGETS)
    assert main(["fix", "--yes"]) == 0
    assert path.with_name("train.py.diagnose-bak.1").read_bytes() == TARGETS.encode()
    assert backup.read_bytes() == TARGETS.encode()


def test_undo_restores_the_original_exactly(diagnosed):
    path, _ = diagnosed
    original = path.read_bytes()
    assert main(["fix", "--yes"]) == 0
    assert path.read_bytes() != original
    assert main(["fix", "--undo"]) == 0
    assert path.read_bytes() == original
    assert not list(path.parent.glob("*.diagnose-bak*"))  # the backup was used up, none is left behind


def test_undo_finds_the_backup_after_another_diagnosis_replaced_the_report(diagnosed, tmp_path, monkeypatch, capsys):
    path, _ = diagnosed
    original = path.read_bytes()
    assert main(["fix", "--yes"]) == 0
    # the rerun of the patched script fails otherwise: its report (no patch, no script) replaces the last one
    other = Report(incident=incident_at(path, 11), diagnoses=[], script=None)
    save_last_report(other)
    monkeypatch.chdir(tmp_path)
    assert main(["fix", "--undo"]) == 0
    assert path.read_bytes() == original
    assert "backup removed" in capsys.readouterr().err
    assert main(["fix", "--undo"]) == 2  # nothing left to restore here: one line, exit 2
    assert "no backup (.diagnose-bak) found here" in capsys.readouterr().err


def test_undo_of_a_named_script_restores_backups_newest_first(diagnosed, tmp_path, monkeypatch):
    path, patch = diagnosed
    monkeypatch.chdir(REPO)  # not beside the script: the name given decides
    first = path.with_name("train.py.diagnose-bak")
    first.write_text("version 1\n")
    path.with_name("train.py.diagnose-bak.1").write_text("version 2\n")
    assert main(["fix", "--undo", str(path)]) == 0
    assert path.read_text() == "version 2\n" and first.exists()
    assert main(["fix", "--undo", str(path)]) == 0
    assert path.read_text() == "version 1\n" and not first.exists()


def test_read_only_script_is_refused(diagnosed, capsys):
    path, _ = diagnosed
    path.chmod(0o444)
    assert main(["fix", "--yes"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.endswith("is read-only; not patched") and len(err.splitlines()) == 1
    assert path.read_text() == TARGETS
    assert not path.with_name("train.py.diagnose-bak").exists()


def test_saved_report_and_show(diagnosed, tmp_path, capsys):
    path, patch = diagnosed
    from diagnose.paths import last_report_path

    saved = tmp_path / "report.json"
    saved.write_text(last_report_path().read_text())
    last_report_path().unlink()
    assert main(["fix", "--show", "--report", str(saved)]) == 0
    assert capsys.readouterr().out == patch.diff
    assert path.read_text() == TARGETS
    assert main(["fix", "--yes"]) == 2  # no last report any more
    assert "no diagnosis yet" in capsys.readouterr().err
    saved.write_text("{not json")
    assert main(["fix", "--report", str(saved)]) == 2


def test_report_without_patch(tmp_path, capsys):
    path = tmp_path / "train.py"
    path.write_text("x = 1\n")
    diagnosis = Diagnosis(
        id="cuda-out-of-memory", title="t", confidence=0.9, evidence="e", matched="m", why="w", fixes=[]
    )
    save_last_report(Report(incident=incident_at(path, 1), diagnoses=[diagnosis], script=str(path)))
    assert main(["fix", "--yes"]) == 1
    assert "cuda-out-of-memory) has no patch" in capsys.readouterr().err


def test_library_target_is_refused(tmp_path):
    from diagnose.patches._cst import PatchError
    from diagnose.patches.apply import apply

    folder = tmp_path / "site-packages"
    folder.mkdir()
    path = folder / "peft_thing.py"
    path.write_text("x = 1\n")
    import hashlib

    with pytest.raises(PatchError, match="installed library code"):
        apply(str(path), hashlib.sha256(b"x = 1\n").hexdigest(), "x = 2\n")
    assert path.read_text() == "x = 1\n"


def test_fix_help_does_not_import_libcst():
    code = (
        "import sys\nfrom diagnose.cli import build_parser\nbuild_parser()\n"
        "print('libcst' in sys.modules, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "False False"


# ------------------------------------------------------------------ diagnose check


@pytest.mark.slow  # two dry runs of the script (diagnose check runs its setup in a subprocess)
def test_check_finds_the_known_mistakes(tmp_path, capsys):
    models = REPO / ".tiny-models"
    assert (models / "gpt2" / "config.json").exists() and (models / "tokenizer-nopad").exists(), (
        "tiny models not built: make setup (python examples/tiny_models.py; examples/tiny_tokenizer.py)"
    )
    script = tmp_path / "train.py"
    script.write_text(f'''from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, AutoTokenizer

name = "{models / "gpt2"}"
tokenizer = AutoTokenizer.from_pretrained("{models / "tokenizer-nopad"}")
model = AutoModelForCausalLM.from_pretrained(name, load_in_8bit=True)
get_peft_model(model, LoraConfig(r=8, target_modules=["q_proj", "v_proj"]))
model.print_trainable_parameters()
batch = tokenizer(["a", "b c"], padding=True)
''')
    assert main(["check", str(script), "--json"]) == 1
    found = json.loads(capsys.readouterr().out)["findings"]
    assert [(f["id"], f["line"]) for f in found] == [
        ("bnb-quantization-args", 6),
        ("peft-target-modules-not-found", 7),
        ("peft-model-missing-attribute", 8),
        ("pad-token-missing", 9),
    ]
    assert "c_attn" in found[1]["fix"]
    fixed = tmp_path / "fixed.py"
    fixed.write_text(f'''from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM
model = AutoModelForCausalLM.from_pretrained("{models / "gpt2"}")
model = get_peft_model(model, LoraConfig(r=8, target_modules=["c_attn"]))
model.print_trainable_parameters()
''')
    assert main(["check", str(fixed)]) == 0


def test_check_bad_input(tmp_path, capsys):
    bad = tmp_path / "bad.py"
    bad.write_text("cfg = LoraConfig(\n")
    assert main(["check", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("diagnose check: cannot parse bad.py") and len(err.splitlines()) == 1
    assert main(["check", str(tmp_path / "missing.py")]) == 2


def test_report_saved_with_the_scripts_output_first(diagnosed, tmp_path, capsys):
    """`diagnose run --json train.py > report.json` also holds what train.py printed."""
    path, patch = diagnosed
    from diagnose.paths import last_report_path

    saved = tmp_path / "report.json"
    saved.write_text("step 0: loss 6.2\n{ not the report\n" + last_report_path().read_text() + "\n")
    assert main(["fix", "--yes", "--report", str(saved)]) == 0
    assert path.read_text() == patch.new_text


@pytest.mark.parametrize(
    "model, targets, expected",
    [
        ('"gpt2"', '["q_proj", "v_proj"]', "c_attn"),  # hub id: GPT-2 has c_attn
        ('"meta-llama/Llama-2-7b-hf"', '["query", "value"]', "q_proj"),  # BERT names on Llama
        ('"meta-llama/Llama-2-7b-hf"', '["q_proj", "v_proj"]', None),  # right names: nothing to say
    ],
)
@pytest.mark.slow
def test_check_guesses_the_architecture_from_a_hub_name(tmp_path, model, targets, expected):
    """No local folder, no network: the dry run builds the model on meta from check's bundled config.json."""
    script = tmp_path / "train.py"
    script.write_text(
        "from transformers import AutoModelForCausalLM\nfrom peft import LoraConfig, get_peft_model\n"
        f"model = AutoModelForCausalLM.from_pretrained({model})\n"
        f"model = get_peft_model(model, LoraConfig(r=8, target_modules={targets}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "diagnose.cli", "check", str(script)],
        capture_output=True,
        timeout=600,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert b"(config: bundled config of " in done.stdout
    if expected is None:
        assert done.returncode == 0, done.stdout
    else:
        assert done.returncode == 1
        assert b"peft-target-modules-not-found" in done.stdout and expected.encode() in done.stdout
