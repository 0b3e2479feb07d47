"""Resuming training of a LoRA adapter that was loaded frozen (inference mode).

Reproduces: ``no-grad-fn``.

``PeftModel.from_pretrained`` loads an adapter with ``is_trainable=False`` by
default, so every parameter, LoRA included, has ``requires_grad=False``.  The
optimizer is built over ``model.parameters()`` (all of them, so it does not
complain), the forward pass records no autograd graph because nothing in it
needs a gradient, and ``loss.backward()`` raises
``RuntimeError: element 0 of tensors does not require grad and does not have a grad_fn``.
Tiny Llama, CPU, no hub.
"""

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import AutoModelForCausalLM

from tiny_models import model_dir

adapter_dir = Path(tempfile.mkdtemp(prefix="no-grad-fn-")) / "checkpoint-500"
get_peft_model(
    AutoModelForCausalLM.from_pretrained(model_dir("llama")),
    LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"),
).save_pretrained(adapter_dir)

# --- resume training from the saved adapter
base = AutoModelForCausalLM.from_pretrained(model_dir("llama"))
model = PeftModel.from_pretrained(base, adapter_dir)
model.train()
optimizer = torch.optim.AdamW(model.parameters(), lr=2e-4)

input_ids = torch.randint(0, model.config.vocab_size, (2, 16))
for step in range(3):
    loss = model(input_ids=input_ids, labels=input_ids).loss
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    print(f"step {step}: loss {loss.item():.4f}")
