"""Issue 11 §2 and §4, fast: where an error was raised decides its family; task_type, label-shape and
config-type advice, their patches and the static check (real tracebacks from kb/, real scripts).
The config_types probe on live objects is exercised by tests/data/trust/18-qwen2-alpha-from-json.py, whose
``LoraConfig(**settings)`` only the live probe can see (tests/test_trust_corpus.py)."""

from __future__ import annotations

import pytest
import yaml

from diagnose.advisors.config_type import declared_types, static_mistyped
from diagnose.capture.hookdir._diagnose_probes import _fits
from diagnose.engine import diagnose_incident, explain_text
from diagnose.kb.loader import load_kb
from diagnose.origin import raised_in
from diagnose.paths import SHIPPED_KB
from diagnose.textparse import parse_text
from tests.helpers import EXAMPLES, KB_DIR, ROOT

KB = load_kb(shipped=SHIPPED_KB, use_env=False)


def _example(entry_id: str, index: int = 0, key: str = "examples") -> str:
    return yaml.safe_load((KB_DIR / f"{entry_id}.yaml").read_text(encoding="utf-8"))[key][index]["text"]


def _ids(text: str) -> list[str]:
    return [d.id for d in explain_text(text, KB).diagnoses]


# ------------------------------------------------------------------ §2 origin


def test_the_same_message_raised_inside_peft_is_a_task_type_mismatch():
    text = _example("peft-task-type-mismatch")  # raised inside get_peft_model
    assert raised_in(parse_text(text)) == "library"
    report = explain_text(text, KB)
    assert [d.id for d in report.diagnoses][:1] == ["peft-task-type-mismatch"]
    assert "peft-model-missing-attribute" not in [d.id for d in report.diagnoses]
    bodies = " ".join(f.body for d in report.diagnoses for f in d.fixes)
    assert "prepare_inputs_for_generation()" not in bodies  # never "call the line that crashed"


def test_the_users_own_call_is_not_a_task_type_mismatch():
    text = _example("peft-task-type-mismatch", 0, "not_examples")
    assert raised_in(parse_text(text)) == "user"
    assert "peft-task-type-mismatch" not in _ids(text)


def test_forwarded_attribute_lookups_count_as_the_users_line():
    misspelt = _example("peft-model-missing-attribute", 3)  # user line, then three __getattr__ frames
    assert raised_in(parse_text(misspelt)) == "user"
    assert _ids(misspelt)[:1] == ["peft-model-missing-attribute"]


def test_no_frames_means_no_origin_and_a_user_line_that_never_names_the_attribute_is_not_its_origin():
    assert raised_in(parse_text("AttributeError: 'X' object has no attribute 'y'")) is None
    cut = (
        "Traceback (most recent call last):\n"
        '  File "/home/me/train.py", line 30, in <module>\n'
        "    model = get_peft_model(model, lora_config)\n"
        "AttributeError: 'OPTForSequenceClassification' object has no attribute 'prepare_inputs_for_generation'\n"
    )
    assert raised_in(parse_text(cut)) == "library"
    assert _ids(cut)[:1] == ["peft-task-type-mismatch"]


# ------------------------------------------------------------------ task_type advice and patch


@pytest.mark.parametrize(
    ("written", "fixed"),
    [('task_type="CAUSAL_LM"', 'task_type="SEQ_CLS"'), ("task_type=TaskType.CAUSAL_LM", "task_type=TaskType.SEQ_CLS")],
)
def test_task_type_patch_sets_the_task_of_the_model_class(tmp_path, written, fixed):
    source = (EXAMPLES / "peft-task-type-mismatch.py").read_text(encoding="utf-8")
    script = tmp_path / "train.py"
    script.write_text(source.replace('task_type="CAUSAL_LM"', written), encoding="utf-8")
    text = _example("peft-task-type-mismatch").replace("/work/main/examples/peft-task-type-mismatch.py", str(script))
    best = diagnose_incident(parse_text(text), KB, script=str(script)).diagnoses[0]
    assert best.id == "peft-task-type-mismatch"
    assert "OPTForSequenceClassification" in best.findings[0].title
    assert any('task_type="SEQ_CLS"' in f.body for f in best.fixes)
    changed = [line for line in best.patch.diff.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    assert len(changed) == 2 and written in changed[0] and fixed in changed[1]
    assert changed[0].replace(written, fixed)[1:] == changed[1][1:]  # only the value changed


# ------------------------------------------------------------------ label shape


def test_label_shape_reads_the_head_from_the_frames():
    best = explain_text(_example("label-shape-mismatch"), KB).diagnoses[0]
    assert best.id == "label-shape-mismatch"
    assert "sequence classifier" in best.findings[0].title and "[4]" in best.findings[0].text


def test_a_users_own_cross_entropy_on_bare_tensors_is_abstained():
    text = (ROOT / "tests" / "data" / "abstain" / "045-cross-entropy-batch-size.txt").read_text(encoding="utf-8")
    assert _ids(text) == []


# ------------------------------------------------------------------ §4 config value types


def test_declared_types_come_from_the_installed_libraries():
    assert declared_types("LoraConfig")["lora_dropout"] == "float"
    assert declared_types("LoraConfig")["r"] == "int"
    assert declared_types("TrainingArguments")["learning_rate"] == "float"


@pytest.mark.parametrize(
    ("actual", "declared", "fits"),
    [
        ("str", "float", False),
        ("str", "int", False),
        ("float", "int", False),
        ("int", "float", True),
        ("str", "Optional[Union[list[str], str]]", True),
        ("str", "bool | Literal['gaussian', 'eva']", True),
        ("str", "Any", True),
        ("str", "QuantizationMethod", True),
    ],
)
def test_fits(actual, declared, fits):
    assert _fits(actual, declared) is fits


def test_static_reading_sees_literals_and_environment_reads_only():
    source = (
        "import os\n"
        "from peft import LoraConfig\n"
        'a = LoraConfig(r=8.0, lora_alpha="16", init_lora_weights="gaussian", target_modules="all-linear")\n'
        'b = LoraConfig(lora_dropout=os.environ.get("DROPOUT", "0.05"))\n'
        "c = LoraConfig(**settings, lora_dropout=dropout)\n"
    )
    found = {(m.field, m.actual, m.expected, m.line) for m in static_mistyped(source)}
    assert found == {("r", "float", "int", 3), ("lora_alpha", "str", "int", 3), ("lora_dropout", "str", "float", 4)}


def test_config_type_advice_and_patch_from_the_script(tmp_path):
    script = tmp_path / "train.py"
    script.write_text((EXAMPLES / "config-value-wrong-type.py").read_text(encoding="utf-8"), encoding="utf-8")
    text = _example("config-value-wrong-type").replace("/work/main/examples/config-value-wrong-type.py", str(script))
    best = diagnose_incident(parse_text(text), KB, script=str(script)).diagnoses[0]
    assert best.id == "config-value-wrong-type"
    assert best.findings[0].rows == [["LoraConfig", "lora_dropout", "'0.05'", "str", "float"]]
    assert 'lora_dropout=float(os.environ.get("LORA_DROPOUT", "0.05")),' in best.patch.new_text


def test_a_library_type_error_with_no_mistyped_config_is_abstained(tmp_path):
    script = tmp_path / "train.py"
    source = (EXAMPLES / "config-value-wrong-type.py").read_text(encoding="utf-8")
    script.write_text(source.replace('os.environ.get("LORA_DROPOUT", "0.05")', "0.05"), encoding="utf-8")
    text = _example("config-value-wrong-type").replace("/work/main/examples/config-value-wrong-type.py", str(script))
    assert _ids(text) == [] or "config-value-wrong-type" not in [
        d.id for d in diagnose_incident(parse_text(text), KB, script=str(script)).diagnoses
    ]


def test_diagnose_check_reports_the_mistyped_field():
    from diagnose.check.static import check_script, read_script

    path = EXAMPLES / "config-value-wrong-type.py"
    found = [
        f for f in check_script(read_script(path), path, target_modules=False) if f.id == "config-value-wrong-type"
    ]
    assert [(f.line, "lora_dropout" in f.message, f.fix.startswith("lora_dropout=float(")) for f in found] == [
        (30, True, True)
    ]
