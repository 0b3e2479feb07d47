"""The numbers stated in kb/cuda-out-of-memory.yaml, recomputed with the installed peft.

A Llama-2-7B shape (hidden 4096, 32 layers, intermediate 11008, vocab 32000)
is built on the meta device, so nothing is allocated and the test is fast.
LoRA targets q_proj and v_proj; PEFT keeps LoRA weights in fp32 on a bf16
base, so the trainable state is 16 bytes per LoRA parameter (weight, grad,
AdamW m and v).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
peft = pytest.importorskip("peft")

KB_FILE = Path(__file__).resolve().parent.parent / "kb" / "cuda-out-of-memory.yaml"

BASE_PARAMS = 6_738_415_616
LORA_PARAMS = {16: 8_388_608, 8: 4_194_304}
MIB = 2**20
GIB = 2**30


@pytest.fixture(scope="module")
def counts():
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        hidden_size=4096,
        intermediate_size=11008,
        num_hidden_layers=32,
        num_attention_heads=32,
        num_key_value_heads=32,
        vocab_size=32000,
    )
    result = {}
    for r in (16, 8):
        with torch.device("meta"):
            model = LlamaForCausalLM(config).to(torch.bfloat16)
        base = sum(p.numel() for p in model.parameters())
        model = get_peft_model(
            model, LoraConfig(r=r, lora_alpha=2 * r, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM")
        )
        trainable = [p for p in model.parameters() if p.requires_grad]
        result[r] = {
            "base": base,
            "lora": sum(p.numel() for p in trainable),
            "lora_dtypes": {p.dtype for p in trainable},
            "base_bytes": sum(p.numel() * p.element_size() for p in model.parameters() if not p.requires_grad),
        }
    return result


def test_lora_parameter_counts(counts):
    for r, expected in LORA_PARAMS.items():
        assert counts[r]["lora"] == expected
        assert counts[r]["base"] == BASE_PARAMS
        assert counts[r]["lora_dtypes"] == {torch.float32}  # fp32 adapters on a bf16 base


def test_memory_difference(counts):
    per_param = 4 * 4  # fp32 weight + grad + AdamW exp_avg + exp_avg_sq
    state = {r: counts[r]["lora"] * per_param for r in counts}
    assert state[16] == 128 * MIB and state[8] == 64 * MIB
    saved = state[16] - state[8]
    assert saved == 64 * MIB
    base_gib = counts[8]["base_bytes"] / GIB
    assert round(base_gib, 2) == 12.55
    assert round(100 * saved / counts[8]["base_bytes"], 1) == 0.5


def test_yaml_states_these_numbers():
    text = KB_FILE.read_text()
    entry = yaml.safe_load(text)
    quiz = {q["id"]: q for q in entry["quiz"]}
    choice = quiz["oom-rank-halving-saves"]
    assert choice["answer"].startswith("About 64 MiB") and "12.55 GiB" in choice["answer"]
    assert "0.5%" in choice["answer"]
    for number in ("8,388,608", "4,194,304", "6,738,415,616", "128 MiB", "64 MiB", "12.55 GiB"):
        assert number in choice["explanation"], number
    assert quiz["oom-lora-param-count"]["concepts"] == [str(LORA_PARAMS[16])]
    assert "8,388,608" in quiz["oom-lora-param-count"]["answer"]
    for number in ("6,738,415,616", "12.55 GiB", "4,194,304", "64 MiB", "0.5%"):
        assert number in entry["why"], number
