"""The training forward pass placed inside ``torch.no_grad()``.

Reproduces: ``no-grad-fn`` (second variant).

The block was copied from an evaluation loop: under ``torch.no_grad()``
autograd records nothing, even for the trainable LoRA weights, so the loss is
a plain tensor and ``loss.backward()`` raises
``RuntimeError: element 0 of tensors does not require grad and does not have a grad_fn``.
Tiny GPT-2 with LoRA, CPU, no hub.
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM

from tiny_models import model_dir

model = AutoModelForCausalLM.from_pretrained(model_dir("gpt2"))
model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_modules=["c_attn"], task_type="CAUSAL_LM"))
optimizer = torch.optim.AdamW((p for p in model.parameters() if p.requires_grad), lr=2e-4)

input_ids = torch.randint(0, model.config.vocab_size, (2, 16))
model.train()
with torch.no_grad():
    outputs = model(input_ids=input_ids, labels=input_ids)
loss = outputs.loss
loss.backward()
optimizer.step()
