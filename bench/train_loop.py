"""A ~10 s CPU LoRA training loop on the tiny GPT-2: the workload for bench_wrapper.py."""

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))

import torch  # noqa: E402
from peft import LoraConfig, get_peft_model  # noqa: E402
from tiny_models import model_dir  # noqa: E402
from transformers import AutoModelForCausalLM  # noqa: E402

SECONDS = float(os.environ.get("BENCH_TRAIN_SECONDS", "10"))

torch.manual_seed(0)
model = AutoModelForCausalLM.from_pretrained(model_dir("gpt2"))
model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_modules=["c_attn"], task_type="CAUSAL_LM"))
optimizer = torch.optim.AdamW((p for p in model.parameters() if p.requires_grad), lr=1e-3)
batch = torch.randint(0, 512, (8, 64))
steps = 0
start = time.perf_counter()
while time.perf_counter() - start < SECONDS:
    loss = model(input_ids=batch, labels=batch).loss
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    steps += 1
    print(f"\rstep {steps} loss {loss.item():.4f}", end="", file=sys.stderr)
print(f"\nsteps {steps}")
