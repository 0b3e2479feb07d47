"""cuda-out-of-memory advisor: the memory breakdown and the fixes priced in MiB for this model.

No GPU here, so no capture of a real CUDA OOM: the estimator is checked against
peaks measured by fake-tensor replay of two AdamW steps (which matched real
allocator peaks exactly on CPU; tests/memory_support.py replays them),
and the advisor is run on the probes of a real LoRA training capture (the
cpu-out-of-memory example) together with a real OOM message pasted from a GPU run.
"""

from __future__ import annotations

import re

import pytest
from advisor_captures import OUTPUTS, all_text, load_capture

from diagnose.advisors import cuda_oom
from diagnose.incident import ExceptionInfo, Incident

P_7B = 6_738_415_616  # llama2-7b parameters (memory-estimation.md §1)
LAYERS = 32
QV = ["self_attn.q_proj", "self_attn.v_proj"]
ALL = [
    "self_attn.q_proj",
    "self_attn.k_proj",
    "self_attn.v_proj",
    "self_attn.o_proj",
    "mlp.gate_proj",
    "mlp.up_proj",
    "mlp.down_proj",
]


def llama7b(batch: int, seq: int, checkpointing: bool, targets: list[str], trainable: int, r: int) -> Incident:
    """The probes a capture of this run would hold (shapes of the notes' configs)."""
    names = [f"base_model.model.model.layers.{i}.{m}.lora_A.default.weight" for i in range(LAYERS) for m in targets]
    model = {
        "class": "PeftModelForCausalLM",
        "is_peft": True,
        "model_type": "llama",
        "variables": ["model"],
        "dims": {
            "hidden_size": 4096,
            "intermediate_size": 11008,
            "num_hidden_layers": LAYERS,
            "num_attention_heads": 32,
            "num_key_value_heads": 32,
            "vocab_size": 32000,
        },
        "is_gradient_checkpointing": checkpointing,
        "suffixes": {
            "lora_A": {"count": LAYERS * len(targets), "types": {"ModuleDict": 1}, "leaf": False, "example": names[0]}
        },
        "parameters": {
            "total": P_7B + trainable,
            "trainable": trainable,
            "by_place": {"cuda:0/bfloat16": P_7B, "cuda:0/float32": trainable},
            "trainable_by_place": {"cuda:0/float32": trainable},
            "trainable_names": names[:200],
        },
    }
    probes = {
        "models": [model],
        "peft_configs": [{"fields": {"r": r, "target_modules": targets}}],
        "tensors": [
            {"name": "input_ids", "shape": [batch, seq], "dtype": "int64", "device": "cuda:0", "user_code": True}
        ],
        "optimizers": [{"class": "AdamW", "variable": "optimizer", "groups": []}],
    }
    exc = ExceptionInfo("OutOfMemoryError", "torch.OutOfMemoryError", "CUDA out of memory.")
    return Incident(source="capture", exception=exc, probes=probes)


@pytest.mark.parametrize(
    "batch, seq, gc, targets, trainable, r, measured_gib",
    [
        (1, 2048, False, QV, 4_194_304, 8, 23.98),
        (1, 2048, True, QV, 4_194_304, 8, 13.99),
        (2, 4096, False, ALL, 39_976_960, 16, 92.03),
        (4, 4096, True, ALL, 39_976_960, 16, 24.59),
    ],
)
def test_estimate_matches_the_measured_peaks(batch, seq, gc, targets, trainable, r, measured_gib):
    incident = llama7b(batch, seq, gc, targets, trainable, r)
    b = cuda_oom.breakdown(incident, incident.probes["models"][0])
    assert b.optimizer_bytes == 2 * 4 * trainable  # AdamW: two fp32 states per LoRA parameter
    peak = b.weights_total + b.trainable_bytes + b.optimizer_bytes + b.activations
    assert peak / 2**30 == pytest.approx(measured_gib, rel=0.03)


def saved_mib(title: str) -> float:
    return float(re.search(r"saves ≈([\d,]+) MiB", title).group(1).replace(",", ""))


def test_fixes_are_ranked_by_mib_saved_for_this_model():
    advice = cuda_oom.advise(llama7b(4, 2048, False, QV, 4_194_304, 8))
    priced = [f for f in advice.fixes if "saves ≈" in f.title]
    savings = [saved_mib(f.title) for f in priced]
    assert savings == sorted(savings, reverse=True)
    assert priced[0].title.startswith(("Gradient checkpointing", "Batch size"))
    rank = next(f for f in priced if f.title.startswith("Smaller LoRA rank"))
    assert "(small)" in rank.title and saved_mib(rank.title) < 0.05 * savings[0]
    batch = next(f for f in priced if f.title.startswith("Batch size 4 → 2"))
    assert "gradient_accumulation_steps=2" in batch.body and "effective batch stays 4" in batch.body
    four_bit = next(f for f in priced if "4-bit" in f.title)
    assert 8_000 < saved_mib(four_bit.title) < 10_000  # ~6.5B linear weights: 2 → 0.516 bytes each


def test_checkpointing_not_offered_when_already_on():
    advice = cuda_oom.advise(llama7b(1, 2048, True, QV, 4_194_304, 8))
    assert not any(f.title.startswith("Gradient checkpointing") for f in advice.fixes)
    assert "with checkpointing" in all_text(advice)


def test_real_capture_with_a_real_gpu_message():
    """Probes of a real LoRA forward (tiny Llama, cpu-out-of-memory example) + a real OOM paste from a GPU."""
    message = OUTPUTS / "cuda-out-of-memory" / "04.txt"
    incident = load_capture("cpu-out-of-memory")
    incident.text += "\n" + message.read_text()
    advice = cuda_oom.advise(incident)
    assert advice.note is None
    text = all_text(advice)
    assert "activations, batch 1 × 1048576 tokens" in text
    assert "allocated by PyTorch 18.71 GiB" in text
    assert advice.params["batch_size"] == 1 and advice.params["seq_len"] == 2**20
    priced = [saved_mib(f.title) for f in advice.fixes if "saves ≈" in f.title]
    assert priced == sorted(priced, reverse=True) and priced[0] > 0
