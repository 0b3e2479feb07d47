"""Advisors from the text alone: real outputs (tests/data/outputs), no probes.

Each must still say something useful and set ``note`` to say it worked from text.
"""

from __future__ import annotations

import pytest
from advisor_captures import OUTPUTS, all_text, load_text, output

from diagnose.advisors import get_advisor
from diagnose.advisors.cuda_oom import parse_message
from diagnose.incident import Incident


def advise(advisor: str, incident: Incident):
    advice = get_advisor(advisor)(incident)
    assert advice.note and advice.note.startswith("From the text alone")
    return advice, all_text(advice)


def test_pad_token_variable_from_the_failing_line():
    advice, _ = advise("pad-token-missing", output("pad-token-missing"))
    assert advice.params["tokenizer_var"] == "tokenizer"
    assert "tokenizer.pad_token = tokenizer.eos_token" in advice.fixes[0].body


def test_config_field_statically_from_peft_source():
    advice, text = advise("peft-config-unknown-field", output("peft-config-unknown-field"))
    assert advice.params["suggestion"] == "lora_dropout"
    assert "`lora_alpha`" in text and "`target_modules`" in text


def test_missing_attribute_did_you_mean_across_objects():
    advice, text = advise("peft-model-missing-attribute", output("peft-model-missing-attribute", "03"))
    assert advice.params["suggestion"] == "print_trainable_parameters"
    assert "print_trainable_parameters (PeftModel)" in text


def test_missing_attribute_base_model_text():
    advice, text = advise("peft-model-missing-attribute", output("peft-model-missing-attribute"))
    assert advice.params["object_kind"] == "transformers-model"
    assert "PeftModel method" in text


def test_unsupported_target_children_from_the_printed_repr():
    advice, _ = advise("peft-unsupported-target-module", output("peft-unsupported-target-module"))
    assert advice.params["target_modules"] == ["q_proj", "k_proj", "v_proj", "o_proj"]


def test_empty_optimizer_text_lists_causes():
    advice, text = advise("empty-optimizer", output("empty-optimizer"))
    assert "is_trainable=True" in text and "freeze" in text


def test_dtype_mismatch_roles_from_message():
    incident = load_text_from("RuntimeError: mat1 and mat2 must have the same dtype, but got BFloat16 and Float")
    advice, text = advise("dtype-mismatch", incident)
    assert "input is **bfloat16**" in text and "weight it meets is **float32**" in text


def test_device_mismatch_devices_from_message():
    incident = load_text_from(
        "RuntimeError: Expected all tensors to be on the same device, but found at least two "
        "devices, cuda:0 and cpu! (when checking argument for argument index in method "
        "wrapper_CUDA__index_select)"
    )
    advice, _ = advise("device-mismatch", incident)
    assert advice.params["devices"] == ["cuda:0", "cpu"]
    assert ".to(model.device)" in advice.fixes[-1].body


def test_fp16_unscale_text():
    advice, _ = advise("fp16-unscale", load_text_from("ValueError: Attempting to unscale FP16 gradients."))
    assert "cast_mixed_precision_params" in advice.fixes[0].body


def test_no_grad_fn_text():
    incident = load_text_from("RuntimeError: element 0 of tensors does not require grad and does not have a grad_fn")
    advice, text = advise("no-grad-fn", incident)
    assert "enable_input_require_grads" in text


def load_text_from(line: str) -> Incident:
    from diagnose.textparse import parse_text

    return parse_text(
        'Traceback (most recent call last):\n  File "train.py", line 1, in <module>\n'
        "    loss.backward()\n" + line + "\n"
    )


# ------------------------------------------------------------------ cuda-out-of-memory, real pastes

OOM = OUTPUTS / "cuda-out-of-memory"

GIB, MIB = 2**30, 2**20


@pytest.mark.parametrize(
    "name, allocated, reserved, total",
    [
        ("01.txt", 22.72 * GIB, 22.72 * GIB + 257.71 * MIB, 23.55 * GIB),  # newer format
        ("02.txt", 77.24 * GIB, 77.82 * GIB, 79.15 * GIB),  # older "(GPU 1; ...)" format
        ("03.txt", 21.13 * GIB, 21.13 * GIB + 458.98 * MIB, 22.02 * GIB),  # "total capacty" typo
        ("04.txt", 18.71 * GIB, 18.71 * GIB + 3.83 * GIB, 23.64 * GIB),  # wrapped under [rank3]: prefixes
        ("05.txt", 27.12 * GIB, 30.44 * GIB, 31.75 * GIB),
    ],
)
def test_oom_allocator_numbers_from_real_messages(name, allocated, reserved, total):
    alloc = parse_message((OOM / name).read_text())
    assert alloc is not None
    assert alloc.allocated == pytest.approx(allocated)
    assert alloc.reserved == pytest.approx(reserved)
    assert alloc.total == pytest.approx(total)


def test_oom_text_only_stage_and_fragmentation():
    advice, text = advise("cuda-out-of-memory", load_text(OOM / "04.txt"))
    assert "3.83 GiB" in text and any("expandable_segments" in f.body for f in advice.fixes)
    loading, _ = advise("cuda-out-of-memory", load_text(OOM / "01.txt"))
    assert "loading the model" in all_text(loading)
    assert loading.fixes[0].title.startswith("The weights alone do not fit")
    backward, _ = advise("cuda-out-of-memory", load_text(OOM / "02.txt"))
    assert "during **backward**" in all_text(backward)
