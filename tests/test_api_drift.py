"""API drift: the harvested history (diagnose/api_history.json) against the installed libraries, and its advice.

The history is made by tools/harvest_api.py from released wheels (never
imported); here it is checked against what the installed releases really
accept, and the api_drift advisor is run on real messages.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import json

import pytest
from helpers import EXAMPLES, diagnose, run_json

from diagnose import apidrift
from diagnose.libfacts import installed_version

HISTORY = apidrift.history()


def test_every_library_is_harvested_from_its_floor():
    floors = {"transformers": "4.30", "peft": "0.4", "trl": "0.7", "accelerate": "0.20", "bitsandbytes": "0.40"}
    for package, floor in floors.items():
        versions = HISTORY[package]["versions"]
        assert versions[0].startswith(floor + "."), (package, versions[0])
        minors = [tuple(map(int, v.split(".")[:2])) for v in versions]
        assert minors == sorted(set(minors)), f"{package}: one release per minor version"


def _names_at_installed(package: str, api: str) -> set[str] | None:
    """The history's names of ``api`` in the harvested release of the installed minor version."""
    installed = installed_version(package)
    versions = HISTORY[package]["versions"]
    minor = ".".join(installed.split(".")[:2]) + "." if installed else None
    index = next((i for i, v in enumerate(versions) if minor and v.startswith(minor)), None)
    if index is None:
        return None
    names = HISTORY[package]["apis"][api]["names"]
    return {name for name, spans in names.items() if any(a <= index <= b for a, b in spans)}


LIVE_DATACLASSES = [
    ("transformers", "TrainingArguments", "transformers", "TrainingArguments"),
    ("trl", "SFTConfig", "trl", "SFTConfig"),
    ("peft", "LoraConfig", "peft", "LoraConfig"),
]


@pytest.mark.slow
@pytest.mark.parametrize("package,api,module,name", LIVE_DATACLASSES, ids=[row[1] for row in LIVE_DATACLASSES])
def test_history_matches_the_installed_dataclass(package, api, module, name):
    recorded = _names_at_installed(package, api)
    if recorded is None:
        pytest.fail(f"the installed {package} {installed_version(package)} is newer than the harvest: rerun it")
    cls = getattr(importlib.import_module(module), name)
    live = {f.name for f in dataclasses.fields(cls) if f.init and not f.name.startswith("_")}
    if package == "trl":  # trl's configs are recorded with trl's fields; the rest is TrainingArguments' history
        live &= {a for k in cls.__mro__ if k.__module__.startswith("trl") for a in vars(k).get("__annotations__", {})}
    assert recorded == live


@pytest.mark.slow
def test_history_matches_the_installed_signatures_and_imports():
    import peft
    import trl

    assert _names_at_installed("trl", "SFTTrainer") == set(inspect.signature(trl.SFTTrainer.__init__).parameters) - {
        "self"
    }
    assert _names_at_installed("peft", "get_peft_model") == set(inspect.signature(peft.get_peft_model).parameters)
    exported = _names_at_installed("peft", "import")
    assert exported and exported <= set(dir(peft)), sorted(exported - set(dir(peft)))[:10]


def test_the_renames_users_meet_are_recorded():
    renames = {(r["api"], r["old"]): r for p in HISTORY.values() for r in p["renames"]}
    assert renames[("TrainingArguments", "evaluation_strategy")]["new"] == "eval_strategy"
    assert renames[("import", "prepare_model_for_int8_training")]["new"] == "prepare_model_for_kbit_training"
    drift = apidrift.lookup("transformers", "TrainingArguments", "evaluation_strategy", "5.24.0")
    assert drift and drift.removed_in and drift.renamed_to == "eval_strategy"
    moved = apidrift.lookup("trl", "SFTTrainer", "dataset_text_field", "1.16.0")
    assert moved and moved.moved_to == "SFTConfig"


def test_a_trl_config_inherits_trainingarguments_history(tmp_path):
    report = _explain(
        "TypeError: SFTConfig.__init__() got an unexpected keyword argument 'evaluation_strategy'\n", tmp_path
    )
    assert "renamed `eval_strategy`" in json.dumps(report["diagnoses"][0]["findings"])


def _explain(text: str, tmp_path) -> dict:
    paste = tmp_path / "paste.txt"
    paste.write_text(text, encoding="utf-8")
    done = diagnose("explain", "--json", str(paste))
    return json.loads(done.stdout)


@pytest.mark.parametrize(
    "message,family,says",
    [
        (
            "TypeError: TrainingArguments.__init__() got an unexpected keyword argument 'evaluation_strategy'",
            "api-argument-removed",
            ["renamed `eval_strategy`", "removed in"],
        ),
        (
            "TypeError: SFTTrainer.__init__() got an unexpected keyword argument 'tokenizer'",
            "api-argument-removed",
            ["`processing_class`"],
        ),
        (
            "TypeError: SFTTrainer.__init__() got an unexpected keyword argument 'dataset_text_field'",
            "api-argument-removed",
            ["moved into `SFTConfig`"],
        ),
        (
            "ImportError: cannot import name 'prepare_model_for_int8_training' from 'peft' (/x/peft/__init__.py)",
            "api-import-removed",
            ["renamed `prepare_model_for_kbit_training`", "removed in"],
        ),
    ],
)
def test_drift_diagnosis_names_the_release_and_the_new_name(message, family, says, tmp_path):
    report = _explain(message + "\n", tmp_path)
    best = report["diagnoses"][0]
    assert best["id"] == family and best["confidence"] >= 0.6
    text = json.dumps(best["findings"]) + json.dumps(best["fixes"])
    for phrase in says:
        assert phrase in text, (phrase, text[:600])


def test_a_name_the_installed_release_has_is_not_called_drift(tmp_path):
    # output_dir is a field of every TrainingArguments: whatever failed, it is not API drift.
    report = _explain(
        "TypeError: TrainingArguments.__init__() got an unexpected keyword argument 'output_dir'\n", tmp_path
    )
    assert not report["diagnoses"] or report["diagnoses"][0]["id"] != "api-argument-removed"


@pytest.mark.slow
def test_the_rename_patch_makes_the_example_run(tmp_path):
    script = tmp_path / "train.py"
    script.write_text((EXAMPLES / "api-argument-removed.py").read_text(encoding="utf-8"), encoding="utf-8")
    report, done = run_json(script)
    assert report["diagnoses"][0]["id"] == "api-argument-removed"
    assert done.returncode == 1
    fixed = diagnose("fix", "--yes", cwd=tmp_path)
    assert fixed.returncode == 0, fixed.stderr
    assert 'eval_strategy="steps"' in script.read_text(encoding="utf-8")
    rerun = diagnose("run", "--no-quiz", str(script), cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr.decode()[-2000:]


@pytest.mark.slow
def test_one_patch_fixes_every_drifted_keyword_of_the_call(tmp_path):
    # trl 0.8-era SFT: tokenizer= (renamed processing_class in 0.12) and dataset_text_field= (moved into
    # SFTConfig in 0.13) in one call: the patch fixes both, so the rerun does not stop at the second.
    source = (EXAMPLES / "more" / "api-argument-removed" / "sft-tokenizer.py").read_text(encoding="utf-8")
    script = tmp_path / "sft.py"
    script.write_text(
        source.replace('os.path.join(os.path.dirname(__file__), "..", "..")', repr(str(EXAMPLES))), encoding="utf-8"
    )
    report, _ = run_json(script)
    best = report["diagnoses"][0]
    assert best["id"] == "api-argument-removed"
    assert "Also in this call" in json.dumps(best["findings"])
    fixed = diagnose("fix", "--yes", cwd=tmp_path)
    assert fixed.returncode == 0, fixed.stderr
    text = script.read_text(encoding="utf-8")
    assert "processing_class=tokenizer" in text and 'args=SFTConfig(dataset_text_field="text")' in text
    assert "from trl import SFTTrainer, SFTConfig" in text
    compile(text, str(script), "exec")
