"""The memory model of a LoRA/QLoRA training step: one model for ``diagnose check`` and the CUDA OOM advisor.

Plain arithmetic (no torch): what the parts of a training step's peak weigh,
the GPUs users name, the verdict against a GPU, and the changes that make a
run fit.  ``diagnose check`` measures the activations with a fake-tensor replay
of two training steps (diagnose/check/replay.py) and uses the closed form
below only to price the changes and when the replay cannot run; the CUDA OOM
advisor, which has only a capture's probes, uses the closed form.

The closed form (per token, per layer; Llama-like decoder, sdpa/flash,
unpadded batch, CUDA's fused dropout that saves a bool mask), as measured
against fake-tensor replays that matched real allocator peaks exactly:

    a_layer = 8h                       two RMSNorms keep a fp32 copy of their input
            + e(2h + 2kv) + 4 n_heads  sdpa saves q, k, v, out and a fp32 logsumexp
            + 3 e i                    gate out, silu(gate), up out
            + Σ_LoRA (5 d_in + 4 r)    bool dropout mask + fp32 dropout output, fp32 lora_A output
    head    = e V + 12 V               logits, fp32 log_softmax, its grad, grad in
    peak    = weights + 16 B per LoRA parameter (fp32 param, grad, AdamW m, v)
            + T (L a_layer + head)                             without gradient checkpointing
            + T (L e h + max(head, a_layer + 4 max(i, h)))     with it

e is the compute dtype's size, T = batch × sequence tokens.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

GIB = 2**30
MIB = 2**20
GB = 10**9

# total_memory as torch reports it for the common cards (a little under the marketed size: ECC, reserved)
GPUS: dict[str, int] = {
    "T4": 15_828_320_256,
    "V100-16GB": 16_935_419_904,
    "V100-32GB": 34_089_730_048,
    "P100": 17_071_734_784,
    "L4": 23_580_639_232,
    "A10": 23_827_906_560,
    "A10G": 23_609_475_072,
    "RTX-3090": 25_447_170_048,
    "RTX-4090": 25_393_692_672,
    "RTX-4080": 16_852_254_720,
    "RTX-3060": 12_622_168_064,
    "A6000": 51_041_271_808,
    "L40S": 47_697_362_944,
    "A100-40GB": 42_298_834_944,
    "A100-80GB": 85_051_572_224,
    "H100": 85_032_042_496,
    "H200": 150_110_011_392,
}

NF4_DOUBLE_QUANT = 0.5159  # bytes per weight (4-bit with double quant), the limit of nf4_bytes for large layers
HEADROOM = 1.15  # allocated → what to keep free: fragmentation, cuBLAS workspaces
CUDA_CONTEXT = 0.5 * GIB


def gpu_bytes(name: str) -> int | None:
    wanted = re.sub(r"[^a-z0-9]", "", name.lower())
    for known, size in GPUS.items():
        if re.sub(r"[^a-z0-9]", "", known.lower()) == wanted:
            return size
    return None


def parse_size(text: str) -> int | None:
    """'24GiB' / '24 GB' / '24000MiB' / '24' (GiB) -> bytes."""
    found = re.fullmatch(r"\s*([\d.]+)\s*([kmgt]i?b?)?\s*", text.lower())
    if not found:
        return None
    number, unit = float(found.group(1)), (found.group(2) or "gib")
    scale = {"k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12}[unit[0]]
    if "i" in unit:
        scale = {"k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}[unit[0]]
    return int(number * scale)


# ------------------------------------------------------------------ weights


def nf4_bytes(numel: int, double_quant: bool) -> int:
    """Bytes of one bitsandbytes 4-bit weight of ``numel`` values (blocksize 64; bitsandbytes 0.50.2,
    functional.py quantize_4bit): packed uint8 + fp32 absmax per block, or with double quant a uint8 absmax
    per block + fp32 absmax per 256 blocks + a 256-entry fp32 code."""
    if double_quant:
        return numel // 2 + numel // 64 + 4 * -(-numel // 16384) + 1024 + 64 + 4
    return numel // 2 + 4 * numel // 64 + 64


def int8_bytes(rows: int, cols: int) -> int:
    """LLM.int8 weight: int8 values + one fp32 scale (SCB) per output row."""
    return rows * cols + 4 * rows


# ------------------------------------------------------------------ activations (closed form)


@dataclass(slots=True)
class Shape:
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    intermediate: int
    vocab: int

    @classmethod
    def from_dims(cls, dims: dict[str, Any]) -> Shape | None:
        """From a config's fields (Llama names, with GPT-2/OPT/Falcon/NeoX/BLOOM aliases)."""

        def first(*names: str) -> int | None:
            for name in names:
                value = dims.get(name)
                if isinstance(value, int) and value > 0:
                    return value
            return None

        hidden = first("hidden_size", "n_embd", "d_model", "dim")
        layers = first("num_hidden_layers", "n_layer", "num_layers", "n_layers")
        if not hidden or not layers:
            return None
        heads = first("num_attention_heads", "n_head", "num_heads", "n_heads") or max(1, hidden // 64)
        kv_heads = first("num_key_value_heads", "num_kv_heads", "n_head_kv") or heads
        if dims.get("multi_query") and not dims.get("new_decoder_architecture"):
            kv_heads = 1
        inter = first("intermediate_size", "n_inner", "ffn_dim", "ffn_hidden_size", "d_ff") or 4 * hidden
        vocab = first("vocab_size", "padded_vocab_size") or 32000
        return cls(hidden, layers, heads, kv_heads, inter, vocab)


@dataclass(slots=True)
class Lora:
    """The LoRA layers of one decoder layer: Σ input widths, how many, rank, whether dropout is on."""

    d_in: float = 0.0
    modules: float = 0.0
    r: int = 8
    dropout: bool = True


def activations(shape: Shape, tokens: int, lora: Lora, elt: int = 2, checkpointing: bool = False) -> float:
    """Activation bytes at the peak of a training step (closed form above)."""
    h, inter = shape.hidden, shape.intermediate
    kv = shape.kv_heads * h // shape.heads
    per_lora_input = 5 if lora.dropout else 4
    lora_part = per_lora_input * lora.d_in + 4 * lora.r * lora.modules
    a_layer = 8 * h + elt * (2 * h + 2 * kv) + 4 * shape.heads + 3 * elt * inter + lora_part
    head = elt * shape.vocab + 12 * shape.vocab
    if checkpointing:
        return tokens * (shape.layers * elt * h + max(head, a_layer + 4 * max(inter, h)))
    return tokens * (shape.layers * a_layer + head)


def optimizer_state_bytes(optimizer: str, trainable_numel: int, trainable_bytes: float) -> tuple[float, str]:
    """Bytes of the optimizer's states and how they were counted."""
    low = optimizer.lower()
    if "8bit" in low or "8_bit" in low:
        return 2.0 * trainable_numel, "2 states × 1 byte per trainable parameter (8-bit)"
    if "sgd" in low:
        return float(trainable_bytes), "momentum: 1 state per trainable parameter, at most"
    if "adafactor" in low:
        return 0.0, "Adafactor: factored states, negligible for LoRA matrices"
    return 2.0 * trainable_bytes, "2 states per trainable parameter, in its dtype"


# ------------------------------------------------------------------ estimate, verdict, changes


@dataclass(slots=True)
class Part:
    name: str
    bytes: float
    detail: str = ""


@dataclass(slots=True)
class Change:
    title: str
    saves: float
    new_peak: float
    fits: bool | None
    how: str
    safety: str  # safe | manual | unsafe


@dataclass(slots=True)
class Estimate:
    parts: list[Part]
    peak: float
    method: str  # "fake-tensor replay" | "closed form"
    batch: int | None = None
    seq: int | None = None
    checkpointing: bool = False
    gpu: str | None = None
    gpu_bytes: int | None = None
    changes: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def suggested_free(self) -> float:
        return HEADROOM * self.peak + CUDA_CONTEXT

    @property
    def fits(self) -> bool | None:
        return None if self.gpu_bytes is None else self.suggested_free <= self.gpu_bytes

    @property
    def verdict(self) -> str | None:
        """fits (with the advised headroom) | tight (the peak fits, the headroom does not) | does not fit."""
        if self.gpu_bytes is None:
            return None
        if self.suggested_free <= self.gpu_bytes:
            return "fits"
        return "tight" if self.peak <= self.gpu_bytes else "does not fit"

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["suggested_free"] = self.suggested_free
        out["fits"] = self.fits
        out["verdict"] = self.verdict
        out["margin"] = None if self.gpu_bytes is None else self.gpu_bytes - self.suggested_free
        out["scope"] = SCOPE
        return out


SCOPE = (
    "predicted allocated peak (torch.cuda.max_memory_allocated) of a training step; not reserved memory, "
    "fragmentation or the CUDA context, which the suggested free memory (1.15 × peak + 0.5 GiB) covers. "
    "Exact against the CPU allocator (fake-tensor replay); the CUDA-specific terms (fused dropout, "
    "bitsandbytes transients) are not yet validated on a GPU."
)


def fmt(size: float) -> str:
    if abs(size) >= GIB:
        return f"{size / GIB:.2f} GiB"
    return f"{size / MIB:.1f} MiB"
