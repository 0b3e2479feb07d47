"""Each patcher on small scripts: the edit it makes, and that everything else stays byte-identical.

The incidents here are built from the same dataclasses a capture produces,
with frames pointing at the script's real lines; the end-to-end runs of the
real example scripts are in test_fix_examples.py.
"""

from __future__ import annotations

import difflib
import hashlib

import pytest

from diagnose import patches
from diagnose.incident import ExceptionInfo, Frame, Incident
from diagnose.patches._cst import PatchError, Script
from diagnose.report import Advice


def incident_at(path, line: int, message: str = "boom", kind: str = "RuntimeError", probes=None) -> Incident:
    code = path.read_text().splitlines()[line - 1].strip()
    frames = (
        Frame(file=str(path), line=line, function="<module>", code=code),
        Frame(file="/x/site-packages/lib.py", line=10, function="f", code="raise"),
    )
    return Incident(
        source="capture",
        exception=ExceptionInfo(type=kind, qualname=kind, message=message, frames=frames),
        probes=probes or {},
    )


def write(tmp_path, text: str, name: str = "train.py"):
    path = tmp_path / name
    path.write_bytes(text.encode())
    return path


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def changed_lines(old: str, new: str) -> tuple[list[str], list[str]]:
    removed, added = [], []
    for line in difflib.ndiff(old.splitlines(), new.splitlines()):
        if line.startswith("- "):
            removed.append(line[2:])
        elif line.startswith("+ "):
            added.append(line[2:])
    return removed, added


# ------------------------------------------------------------------ target_modules

TARGETS = """import torch
from peft import LoraConfig, get_peft_model

# the Llama tutorial's config
lora_config = LoraConfig(
    r=8,
    lora_alpha=16,
    target_modules=['q_proj', 'v_proj'],  # attention only
    task_type="CAUSAL_LM",
)
model = get_peft_model(model, lora_config)
"""


def test_target_modules_literal_keeps_everything_else(tmp_path):
    path = write(tmp_path, TARGETS)
    patch = patches.propose(
        "peft-target-modules-not-found",
        str(path),
        incident_at(path, line_of(TARGETS, "get_peft_model(model")),
        Advice(params={"target_modules": ["c_attn"]}),
    )
    assert patch is not None and patch.safety == "safe" and patch.safety_reason
    removed, added = changed_lines(TARGETS, patch.new_text)
    assert removed == ["    target_modules=['q_proj', 'v_proj'],  # attention only"]
    assert added == ["    target_modules=['c_attn'],  # attention only"]  # the script's quotes, its comment
    assert patch.sha256 == hashlib.sha256(TARGETS.encode()).hexdigest()
    assert patch.diff.startswith("--- a/train.py\n+++ b/train.py\n")


def test_target_modules_through_a_variable_and_a_dict(tmp_path):
    text = 'targets = ["q_proj"]\ncfg = LoraConfig(r=8, target_modules=targets)\nm = get_peft_model(m, cfg)\n'
    path = write(tmp_path, text)
    patch = patches.propose(
        "peft-target-modules-not-found",
        str(path),
        incident_at(path, 3),
        Advice(params={"target_modules": ["c_attn", "c_proj"]}),
    )
    assert patch.new_text == text.replace('["q_proj"]', '["c_attn", "c_proj"]')

    text = 'kw = {"r": 8, "target_modules": ("q_proj",)}\ncfg = LoraConfig(**kw)\n'
    path = write(tmp_path, text)
    patch = patches.propose(
        "peft-target-modules-not-found", str(path), incident_at(path, 2), Advice(params={"target_modules": ["c_attn"]})
    )
    assert patch.new_text == text.replace('("q_proj",)', '["c_attn"]')


def test_target_modules_without_names_or_config_gives_no_patch(tmp_path):
    path = write(tmp_path, TARGETS)
    assert patches.propose("peft-target-modules-not-found", str(path), incident_at(path, 11), Advice()) is None
    path = write(tmp_path, "x = 1\n")
    assert (
        patches.propose(
            "peft-target-modules-not-found",
            str(path),
            incident_at(path, 1),
            Advice(params={"target_modules": ["c_attn"]}),
        )
        is None
    )


# ------------------------------------------------------------------ quantization

QUANT = """import torch
from transformers import AutoModelForCausalLM  # noqa: E402

model = AutoModelForCausalLM.from_pretrained(
    "meta-llama/Llama-2-7b-hf",
    load_in_4bit=True,
    bnb_4bit_compute_dtype=torch.bfloat16,  # faster on Ampere
    device_map="auto",
)
"""


def test_quantization_args_move_into_bitsandbytes_config(tmp_path):
    path = write(tmp_path, QUANT)
    patch = patches.propose("bnb-quantization-args", str(path), incident_at(path, 4, kind="TypeError"), Advice())
    assert (
        patch.new_text
        == """import torch
from transformers import AutoModelForCausalLM, BitsAndBytesConfig  # noqa: E402

model = AutoModelForCausalLM.from_pretrained(
    "meta-llama/Llama-2-7b-hf",
    quantization_config=BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_compute_dtype=torch.bfloat16),  # faster on Ampere
    device_map="auto",
)
"""
    )
    compile(patch.new_text, "patched", "exec")


def test_quantization_adds_import_when_transformers_is_not_imported_by_name(tmp_path):
    text = "import os\nimport transformers as tf\nm = tf.AutoModel.from_pretrained('x', load_in_8bit=True)\n"
    path = write(tmp_path, text)
    patch = patches.propose("bnb-quantization-args", str(path), incident_at(path, 3), Advice())
    assert patch.new_text == (
        "import os\nimport transformers as tf\nfrom transformers import BitsAndBytesConfig\n"
        "m = tf.AutoModel.from_pretrained('x', quantization_config=BitsAndBytesConfig("
        "load_in_8bit=True))\n"
    )


# ------------------------------------------------------------------ pad token

PAD = """from transformers import AutoTokenizer

if True:
    tokenizer = AutoTokenizer.from_pretrained("meta-llama/Llama-2-7b-hf")  # no pad token
    texts = ["a", "b c"]
    batch = tokenizer(texts, padding=True)
"""


def test_pad_token_line_goes_right_after_the_tokenizer(tmp_path):
    path = write(tmp_path, PAD)
    incident = incident_at(
        path,
        6,
        kind="ValueError",
        probes={"tokenizers": [{"variable": "tokenizer", "pad_token": None, "eos_token": "</s>"}]},
    )
    patch = patches.propose("pad-token-missing", str(path), incident, Advice())
    assert patch.new_text == PAD.replace(
        "# no pad token\n", "# no pad token\n    tokenizer.pad_token = tokenizer.eos_token\n"
    )
    assert patch.safety == "unsafe" and "end-of-sequence" in patch.safety_reason
    already = PAD.replace("    texts", "    tokenizer.pad_token = tokenizer.unk_token\n    texts")
    path = write(tmp_path, already)
    assert patches.propose("pad-token-missing", str(path), incident_at(path, 7), Advice()) is None


# ------------------------------------------------------------------ PeftModel methods


def attribute_probe(name="print_trainable_parameters"):
    return {
        "attribute_error": {"name": name, "object_type": "GPT2LMHeadModel", "is_peft_model": False, "is_module": True}
    }


def test_dropped_get_peft_model_result_is_kept(tmp_path):
    text = "model = load()\nget_peft_model(model, cfg)  # wrap\nmodel.print_trainable_parameters()\n"
    path = write(tmp_path, text)
    patch = patches.propose(
        "peft-model-missing-attribute",
        str(path),
        incident_at(path, 3, kind="AttributeError", probes=attribute_probe()),
        Advice(),
    )
    assert (
        patch.new_text
        == "model = load()\nmodel = get_peft_model(model, cfg)  # wrap\nmodel.print_trainable_parameters()\n"
    )


def test_method_moves_to_the_peft_variable(tmp_path):
    text = "model = load()\npeft_model = get_peft_model(model, cfg)\nmodel.print_trainable_parameters()\n"
    path = write(tmp_path, text)
    patch = patches.propose(
        "peft-model-missing-attribute",
        str(path),
        incident_at(path, 3, kind="AttributeError", probes=attribute_probe()),
        Advice(),
    )
    assert patch.new_text.splitlines()[2] == "peft_model.print_trainable_parameters()"
    # an attribute that is not a PeftModel method (LoraConfig.get_submodules): nothing to patch
    assert (
        patches.propose(
            "peft-model-missing-attribute",
            str(path),
            incident_at(path, 3, probes=attribute_probe("get_submodules")),
            Advice(),
        )
        is None
    )


# ------------------------------------------------------------------ devices


def test_meta_adapter_weights_drop_low_cpu_mem_usage(tmp_path):
    text = "model = get_peft_model(model, config, low_cpu_mem_usage=True)\nloss.backward()\n"
    path = write(tmp_path, text)
    probes = {
        "models": [
            {"class": "PeftModelForCausalLM", "parameters": {"by_place": {"cpu/float32": 10, "meta/float32": 2}}}
        ]
    }
    patch = patches.propose("device-mismatch", str(path), incident_at(path, 2, probes=probes), Advice())
    assert patch.new_text == "model = get_peft_model(model, config)\nloss.backward()\n"


def test_inputs_move_to_the_model_device(tmp_path):
    text = "ids = make()\nout = model(input_ids=ids, labels=ids)  # forward\n"
    path = write(tmp_path, text)
    probes = {
        "models": [{"parameters": {"by_place": {"cuda:0/float16": 100}}}],
        "tensors": [{"name": "ids", "device": "cpu", "user_code": True}],
    }
    patch = patches.propose("device-mismatch", str(path), incident_at(path, 2, probes=probes), Advice())
    assert (
        patch.new_text.splitlines()[1]
        == "out = model(input_ids=ids.to(model.device), labels=ids.to(model.device))  # forward"
    )


# ------------------------------------------------------------------ gradients


def test_frozen_adapter_is_loaded_trainable(tmp_path):
    text = "model = PeftModel.from_pretrained(base, adapter_dir)\nloss.backward()\n"
    path = write(tmp_path, text)
    probes = {"models": [{"is_peft": True, "parameters": {"trainable": 0}}]}
    patch = patches.propose("no-grad-fn", str(path), incident_at(path, 2, probes=probes), Advice())
    assert (
        patch.new_text == "model = PeftModel.from_pretrained(base, adapter_dir, is_trainable=True)\nloss.backward()\n"
    )


def test_checkpointing_gets_enable_input_require_grads(tmp_path):
    text = "model.gradient_checkpointing_enable()\nmodel = get_peft_model(model, cfg)\nloss.backward()\n"
    path = write(tmp_path, text)
    probes = {"models": [{"is_peft": True, "parameters": {"trainable": 100}}]}
    patch = patches.propose("no-grad-fn", str(path), incident_at(path, 3, probes=probes), Advice())
    assert patch.new_text == (
        "model.gradient_checkpointing_enable()\nmodel.enable_input_require_grads()\n"
        "model = get_peft_model(model, cfg)\nloss.backward()\n"
    )


# ------------------------------------------------------------------ bad input


def test_unparsable_script_gives_no_patch_and_a_one_line_error(tmp_path):
    path = write(tmp_path, "cfg = LoraConfig(target_modules=[\n")
    assert (
        patches.propose(
            "peft-target-modules-not-found",
            str(path),
            incident_at(path, 1),
            Advice(params={"target_modules": ["c_attn"]}),
        )
        is None
    )
    with pytest.raises(PatchError) as error:
        Script(path.read_text(), "train.py")
    assert str(error.value).startswith("cannot parse train.py (line ") and "\n" not in str(error.value)


def test_library_code_is_never_patched(tmp_path):
    folder = tmp_path / "lib" / "site-packages" / "peft"
    folder.mkdir(parents=True)
    path = write(folder, TARGETS, "mapping.py")
    assert (
        patches.propose(
            "peft-target-modules-not-found",
            str(path),
            incident_at(path, 11),
            Advice(params={"target_modules": ["c_attn"]}),
        )
        is None
    )


def test_crlf_line_endings_survive(tmp_path):
    text = TARGETS.replace("\n", "\r\n")
    path = write(tmp_path, text)
    patch = patches.propose(
        "peft-target-modules-not-found", str(path), incident_at(path, 11), Advice(params={"target_modules": ["c_attn"]})
    )
    assert patch.new_text == text.replace("['q_proj', 'v_proj']", "['c_attn']")


def test_unknown_config_field_is_renamed(tmp_path):
    text = "cfg = LoraConfig(\n    r=8,\n    dropout=0.05,  # regularize\n)\n"
    path = write(tmp_path, text)
    patch = patches.propose(
        "peft-config-unknown-field",
        str(path),
        incident_at(path, 1, kind="TypeError"),
        Advice(params={"config_class": "LoraConfig", "field": "dropout", "suggestion": "lora_dropout"}),
    )
    assert patch.new_text == text.replace("dropout=", "lora_dropout=")
    assert patch.safety == "unsafe"
