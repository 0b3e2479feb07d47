"""Every computed answer is checked against the real library.

The parameterised scaling question is built from probes shaped like the
capture hook's (a LoraConfig's fields); its answer must equal the ``scaling``
that peft itself sets on a LoRA layer of a real (tiny) model.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))

torch = pytest.importorskip("torch")
peft = pytest.importorskip("peft")
transformers = pytest.importorskip("transformers")

from diagnose.quiz.grading import grade  # noqa: E402
from diagnose.quiz.params import SCALING_ID, build, from_probes, scaling_factor  # noqa: E402


@pytest.fixture(scope="module")
def gpt2_dir():
    from tiny_models import model_dir

    return model_dir("gpt2")


def _probes_from_live_config(config) -> dict:
    """What a capture records of a PEFT config: its class and JSON-able fields."""
    fields = json.loads(json.dumps(config.to_dict(), default=lambda v: sorted(v) if isinstance(v, set) else str(v)))
    return {"peft_configs": [{"class": type(config).__name__, "fields": fields}]}


@pytest.mark.parametrize(
    ("r", "lora_alpha", "use_rslora"),
    [
        (8, 16, False),
        (16, 16, False),
        (4, 32, False),
        (3, 16, False),
        (64, 16, False),
        (16, 8, True),
        (8, 16, True),
        (1, 1, False),
    ],
)
def test_scaling_answer_equals_peft_layer_scaling(gpt2_dir, r, lora_alpha, use_rslora):
    from peft import LoraConfig, get_peft_model
    from peft.tuners.lora import LoraLayer
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(gpt2_dir)
    config = LoraConfig(
        r=r, lora_alpha=lora_alpha, use_rslora=use_rslora, target_modules=["c_attn"], fan_in_fan_out=True
    )
    peft_model = get_peft_model(model, config)
    layers = [m for m in peft_model.modules() if isinstance(m, LoraLayer)]
    assert layers, "no LoRA layer was created"
    real = layers[0].scaling["default"]
    assert all(layer.scaling["default"] == real for layer in layers)

    [(template, params)] = from_probes(_probes_from_live_config(peft_model.peft_config["default"]))
    assert template.id == SCALING_ID
    assert scaling_factor(params) == pytest.approx(real, rel=1e-12)
    question = build(SCALING_ID, params)
    [concept] = question.concepts
    assert float(concept) == pytest.approx(real, rel=1e-3)
    assert grade(question, repr(real)).correct  # the exact real value is accepted
    assert grade(question, f"{real:.3f}").correct
    assert not grade(question, repr(real * 2)).correct


def test_scaling_question_from_the_capture_hooks_own_probe(gpt2_dir):
    """The same check with the config recorded by the capture hook's probe code."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from diagnose.capture.hookdir._diagnose_probes import _config_fields as config_fields

    model = get_peft_model(
        AutoModelForCausalLM.from_pretrained(gpt2_dir),
        LoraConfig(r=8, lora_alpha=16, target_modules=["c_attn"], fan_in_fan_out=True),
    )
    probe = json.loads(json.dumps(config_fields(model.peft_config["default"])))
    [(_, params)] = from_probes({"peft_configs": [probe]})
    layer = model.base_model.model.transformer.h[0].attn.c_attn
    assert scaling_factor(params) == layer.scaling["default"] == 2.0


def test_element_wise_promotes_and_matmul_refuses():
    """dtype-why-no-implicit-cast and the your-dtype-pair template: checked against torch itself."""
    from diagnose.quiz.params import DTYPE_ID, promoted

    x, w = torch.ones(2, 3, dtype=torch.bfloat16), torch.ones(4, 3)
    assert (x[:, :1] * w[:2]).dtype == torch.float32
    with pytest.raises(RuntimeError, match="same dtype"):
        torch.nn.functional.linear(x, w)
    for a, b in [("bfloat16", "float32"), ("float16", "float32"), ("bfloat16", "float16"), ("float32", "float64")]:
        assert promoted(a, b) == str(torch.promote_types(getattr(torch, a), getattr(torch, b))).removeprefix("torch.")
    facts = {"exception_message": "mat1 and mat2 must have the same dtype, but got BFloat16 and Float"}
    [(template, params)] = [(t, p) for t, p in from_probes(facts) if t.id == DTYPE_ID]
    question = template.build(params)
    assert question.answer.startswith("A float32 result")


def test_an_out_of_range_label_on_the_cpu_is_an_index_error():
    """dsa-label-out-of-range-on-cpu."""
    with pytest.raises(IndexError, match="Target 2 is out of bounds"):
        torch.nn.functional.cross_entropy(torch.randn(2, 2), torch.tensor([0, 2]))


def test_the_pad_template_id_is_the_tokenizers_next_id():
    """your-pad-token-id: the new token's id is len(tokenizer); the model needs len + 1 rows."""
    from tiny_tokenizer import tokenizer_dir

    from diagnose.quiz.params import PAD_ID

    tokenizer = transformers.AutoTokenizer.from_pretrained(tokenizer_dir())
    size = len(tokenizer)
    probes = {"tokenizers": [{"pad_token": None, "eos_token": tokenizer.eos_token, "len": size}]}
    [(template, params)] = [(t, p) for t, p in from_probes(probes) if t.id == PAD_ID]
    tokenizer.add_special_tokens({"pad_token": "[PAD]"})
    assert grade(template.build(params), f"id {tokenizer.pad_token_id}, then resize_token_embeddings").correct
