"""Reproduce device-mismatch in the forward: a LoRA embedding left on the meta device.

A fresh LoRA adapter is created with ``get_peft_model(..., low_cpu_mem_usage=True)``.
That option makes PEFT create the adapter weights on the *meta* device (shapes
only, no storage), to be filled by a checkpoint load right after; nothing is
loaded here, so the LoRA weights stay on meta while the base model and the
inputs are on the CPU.  embed_tokens is targeted too, so the forward already fails in the LoRA
embedding's ``result + ...`` with ``RuntimeError: Tensor on device meta is not
on the expected device cpu!`` (torch's Python meta check,
``torch._prims_common.check_same_device``).

On a GPU the same mistake class (weights on cuda:0, inputs on cpu) reads
``Expected all tensors to be on the same device, but ...``.
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import torch  # noqa: E402
from peft import LoraConfig, get_peft_model  # noqa: E402
from tiny_models import model_dir  # noqa: E402
from transformers import AutoModelForCausalLM  # noqa: E402

targets = ["q_proj", "v_proj", "embed_tokens"]

model = AutoModelForCausalLM.from_pretrained(model_dir("llama"))
config = LoraConfig(r=8, lora_alpha=16, target_modules=targets, task_type="CAUSAL_LM")
# The bug: low_cpu_mem_usage=True is meant for loading a saved adapter; for a
# new adapter it leaves the LoRA weights on the meta device.
model = get_peft_model(model, config, low_cpu_mem_usage=True)
model.train()
optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)

input_ids = torch.randint(0, model.config.vocab_size, (2, 16))
loss = model(input_ids=input_ids, attention_mask=torch.ones_like(input_ids), labels=input_ids).loss
loss.backward()
optimizer.step()
