"""Real and predicted peak memory of LoRA training steps on tiny models (tests/test_check_memory.py, bench/).

The reference is the CPU allocator itself: ``torch.profiler`` with
``profile_memory=True`` records every allocation and free of the real run, and
their running sum is the CPU analogue of ``torch.cuda.max_memory_allocated``
(allocation tracking, not RSS, which glibc caching and oneDNN inflate).  What
was allocated before the steps (weights, the batch) is counted from the
tensors.  The prediction is diagnose.check.replay on the same model built on
the meta device, with the CPU's own kernels (``cuda_like=False``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from peft import LoraConfig, get_peft_model
from torch._C._profiler import _EventType
from torch.profiler import ProfilerActivity, profile
from transformers import AutoModelForCausalLM, GPT2Config, LlamaConfig, MistralConfig, Qwen2Config

from diagnose.check.replay import replay_peak

ALL_LINEAR = "all-linear"


def configs():
    """Tiny shapes of the architectures the accuracy tests cover (GQA where the family has it)."""
    common = dict(vocab_size=512, max_position_embeddings=1024)
    return {
        "llama-gqa": LlamaConfig(
            hidden_size=128,
            intermediate_size=352,
            num_hidden_layers=2,
            num_attention_heads=8,
            num_key_value_heads=2,
            **common,
        ),
        "gpt2": GPT2Config(
            n_embd=128, n_layer=2, n_head=4, n_positions=1024, vocab_size=512, bos_token_id=0, eos_token_id=0
        ),
        "qwen2": Qwen2Config(
            hidden_size=128,
            intermediate_size=320,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            **common,
        ),
        "mistral": MistralConfig(
            hidden_size=128,
            intermediate_size=448,
            num_hidden_layers=2,
            num_attention_heads=8,
            num_key_value_heads=2,
            sliding_window=None,
            **common,
        ),
    }


@dataclass(frozen=True)
class Setup:
    arch: str
    batch: int
    seq: int
    r: int
    targets: str  # "qv" | "all-linear"
    checkpointing: bool
    dropout: float = 0.05

    def label(self) -> str:
        gc = " GC" if self.checkpointing else ""
        return f"{self.arch} b{self.batch} s{self.seq} r{self.r} {self.targets}{gc}"


def _targets(arch: str, targets: str):
    if targets == ALL_LINEAR:
        return ALL_LINEAR
    return ["c_attn"] if arch == "gpt2" else ["q_proj", "v_proj"]


def build(setup: Setup, meta: bool):
    config = configs()[setup.arch]
    config._attn_implementation = "sdpa"
    torch.manual_seed(0)
    if meta:
        with torch.device("meta"):
            model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    else:
        model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    lora = LoraConfig(
        r=setup.r,
        lora_alpha=2 * setup.r,
        lora_dropout=setup.dropout,
        target_modules=_targets(setup.arch, setup.targets),
        task_type="CAUSAL_LM",
    )
    model = get_peft_model(model, lora)
    if setup.checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
    return model


def _profiled_peak(prof) -> int:
    sizes = []

    def walk(events):
        for event in events:
            if event.tag == _EventType.Allocation:
                sizes.append((event.start_time_ns, event.extra_fields.alloc_size))
            walk(event.children)

    walk(prof.profiler.kineto_results.experimental_event_tree())
    current = peak = 0
    for _, size in sorted(sizes):
        current += size
        peak = max(peak, current)
    return peak


def measured_peak(setup: Setup, steps: int = 2) -> int:
    """Allocator peak (bytes) of ``steps`` real AdamW steps on CPU, weights and batch included."""
    model = build(setup, meta=False)
    model.train()
    ids = torch.randint(0, 512, (setup.batch, setup.seq))
    before = sum(
        t.untyped_storage().nbytes() for t in {id(t): t for t in [*model.parameters(), *model.buffers()]}.values()
    )
    before += ids.untyped_storage().nbytes()
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
        for _ in range(steps):
            loss = model(input_ids=ids, labels=ids).loss
            loss.backward()
            del loss
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
    return before + _profiled_peak(prof)


def predicted_peak(setup: Setup, steps: int = 2) -> int:
    return replay_peak(build(setup, meta=True), setup.batch, setup.seq, steps=steps, cuda_like=False).peak
