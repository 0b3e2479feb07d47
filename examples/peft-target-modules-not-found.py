"""LoRA fine-tuning setup copied from a Llama tutorial, pointed at GPT-2.

Reproduces: ``peft-target-modules-not-found``.

The LoRA config below is the one most tutorials show for Llama-2
(``target_modules=["q_proj", "v_proj"]``).  GPT-2 has no modules with those
names: its attention projects query, key and value together in one fused
``Conv1D`` called ``c_attn`` (plus ``c_proj`` for the output and ``c_fc`` /
``c_proj`` in the MLP).  ``get_peft_model`` finds nothing to wrap and raises
``peft.utils.error.NoMatchingPeftModuleError`` (a ``ValueError`` subclass):
"Target modules {'q_proj', 'v_proj'} not found in the base model."

Runs on CPU in a few seconds with a tiny GPT-2 built from a config (no hub).
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM

from tiny_models import model_dir

model_name = model_dir("gpt2")  # stands in for "gpt2" on the hub
model = AutoModelForCausalLM.from_pretrained(model_name, dtype=torch.float32)

lora_config = LoraConfig(
    r=8,
    lora_alpha=16,
    target_modules=["q_proj", "v_proj"],
    lora_dropout=0.05,
    bias="none",
    task_type="CAUSAL_LM",
)

model = get_peft_model(model, lora_config)
model.print_trainable_parameters()

optimizer = torch.optim.AdamW((p for p in model.parameters() if p.requires_grad), lr=2e-4)
input_ids = torch.randint(0, model.config.vocab_size, (2, 16))
for step in range(3):
    loss = model(input_ids=input_ids, labels=input_ids).loss
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    print(f"step {step}: loss {loss.item():.4f}")
