"""Freezing "the base model" after wrapping it with LoRA: nothing is left to train.

Reproduces: ``empty-optimizer``.

The freezing loop runs *after* ``get_peft_model``, so it walks the PEFT model,
whose parameters include the LoRA matrices, and freezes those too.  The
optimizer is then built from the parameters that still require gradients:
none.  ``torch.optim.Optimizer.__init__`` raises
``ValueError: optimizer got an empty parameter list``.
(``get_peft_model`` already freezes the base weights; the loop is not needed.)
Tiny GPT-2, CPU, no hub.
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

model = AutoModelForCausalLM.from_pretrained(model_dir("gpt2"))
lora_config = LoraConfig(r=8, lora_alpha=16, target_modules=["c_attn"], lora_dropout=0.05, task_type="CAUSAL_LM")
model = get_peft_model(model, lora_config)

# freeze the base model
for param in model.parameters():
    param.requires_grad = False

optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-4)
