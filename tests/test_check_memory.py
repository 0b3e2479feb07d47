"""The memory model of ``diagnose check``: exact against the CPU allocator, byte-exact for bitsandbytes 4-bit.

The accuracy tests train tiny models for real (two AdamW steps on CPU) and
compare the allocator's peak, read from the profiler's allocation events,
with the fake-tensor replay of the same model built on the meta device
(tests/memory_support.py).  bench/bench_check.py prints the full table.
"""

from __future__ import annotations

import pytest

from diagnose.check import memory

torch = pytest.importorskip("torch")
pytest.importorskip("peft")


@pytest.mark.slow
@pytest.mark.parametrize(
    "arch, batch, seq, r, targets, checkpointing",
    [
        ("llama-gqa", 2, 128, 8, "qv", False),  # GQA: k/v projections narrower than q
        ("gpt2", 1, 256, 16, "all-linear", True),  # Conv1D layers, checkpointing on
        ("qwen2", 4, 64, 4, "all-linear", False),
    ],
)
def test_replay_matches_the_cpu_allocator_peak(arch, batch, seq, r, targets, checkpointing):
    from memory_support import Setup, measured_peak, predicted_peak

    setup = Setup(arch, batch, seq, r, targets, checkpointing)
    measured = measured_peak(setup)
    assert predicted_peak(setup) == pytest.approx(measured, rel=0.02), setup.label()


@pytest.mark.parametrize("rows, cols", [(1024, 512), (352, 128)])
@pytest.mark.parametrize("double_quant", [False, True])
def test_nf4_bytes_are_what_bitsandbytes_allocates(rows, cols, double_quant):
    functional = pytest.importorskip("bitsandbytes.functional")
    packed, state = functional.quantize_4bit(
        torch.randn(rows, cols, dtype=torch.bfloat16), quant_type="nf4", compress_statistics=double_quant
    )
    tensors = [packed, state.absmax, state.code]
    if double_quant:
        tensors += [state.state2.absmax, state.state2.code, state.offset.reshape(1)]
    assert memory.nf4_bytes(rows * cols, double_quant) == sum(t.numel() * t.element_size() for t in tensors)


def test_gpu_names_and_sizes():
    assert memory.gpu_bytes("a100-40gb") == memory.GPUS["A100-40GB"]
    assert memory.gpu_bytes("RTX 4090") == memory.GPUS["RTX-4090"]
    assert memory.gpu_bytes("TPU") is None
    assert memory.parse_size("24GiB") == 24 * 2**30
    assert memory.parse_size("24 GB") == 24 * 10**9
    assert memory.parse_size("16") == 16 * 2**30
    assert memory.parse_size("lots") is None


def test_verdict_keeps_headroom_apart_from_the_peak():
    def verdict(peak_gib: float, gpu_gib: float) -> str | None:
        est = memory.Estimate([], peak_gib * memory.GIB, "closed form", gpu="x", gpu_bytes=int(gpu_gib * memory.GIB))
        return est.verdict

    assert verdict(10, 24) == "fits"  # 1.15 × 10 + 0.5 = 12 GiB ≤ 24
    assert verdict(22, 24) == "tight"  # the peak fits, the advised 25.8 GiB does not
    assert verdict(30, 24) == "does not fit"


def test_closed_form_checkpointing_keeps_one_layer_and_the_head():
    shape = memory.Shape.from_dims(
        {
            "hidden_size": 4096,
            "intermediate_size": 11008,
            "num_hidden_layers": 32,
            "num_attention_heads": 32,
            "vocab_size": 32000,
        }
    )
    lora = memory.Lora(d_in=2 * 4096, modules=2, r=8)
    full = memory.activations(shape, 2048, lora, 2, checkpointing=False)
    checkpointed = memory.activations(shape, 2048, lora, 2, checkpointing=True)
    # llama2-7b b1 s2048 q,v r8: 11.3 GiB of activations without checkpointing, ~1.3 GiB with (fake replay)
    assert 10.5 * memory.GIB < full < 12 * memory.GIB
    assert checkpointed < full / 5
