"""Reproduce fp16-unscale: GradScaler asked to unscale float16 gradients.

Mixed-precision training with loss scaling (torch.amp.GradScaler) expects the
*trainable* parameters, and so their gradients, to be float32; only the
computation runs in float16 under autocast.  Here the LoRA model is cast to
float16 as a whole after ``get_peft_model`` (``model.half()``), which also
turns the LoRA weights, the only trainable parameters, into float16 (PEFT
had created them in float32).  ``scaler.step`` unscales the gradients first
and refuses:

    ValueError: Attempting to unscale FP16 gradients.

The scaler here is ``torch.amp.GradScaler("cpu")`` so that the script runs on
a CPU; ``GradScaler("cuda")`` (what Trainer/accelerate use for ``fp16=True``
on a GPU) runs the same check.
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).parent))

import torch  # noqa: E402
from peft import LoraConfig, get_peft_model  # noqa: E402
from tiny_models import model_dir  # noqa: E402
from transformers import AutoModelForCausalLM  # noqa: E402

model = AutoModelForCausalLM.from_pretrained(model_dir("llama"), dtype=torch.float16)
model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
model.half()  # the bug: also casts the float32 LoRA weights to float16
model.train()

optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
scaler = torch.amp.GradScaler("cpu")
input_ids = torch.randint(0, model.config.vocab_size, (2, 16))
with torch.autocast("cpu", dtype=torch.float16):
    loss = model(input_ids=input_ids, labels=input_ids).loss
scaler.scale(loss).backward()
scaler.step(optimizer)
scaler.update()
