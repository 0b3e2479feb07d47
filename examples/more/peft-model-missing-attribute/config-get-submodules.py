"""Seed card 1's parameter count: ``peft_config['default'].get_submodules()``.

Reproduces: ``peft-model-missing-attribute`` (second variant).

``model.peft_config`` maps adapter names to *configs* (``LoraConfig``): plain
dataclasses of settings.  They hold no modules or weights, and have no
``get_submodules`` method, so the line from the tutorial fails with
``AttributeError: 'LoraConfig' object has no attribute 'get_submodules'``.
The LoRA parameter count comes from the model itself, e.g.
``model.get_nb_trainable_parameters()``.  Tiny GPT-2, CPU, no hub.
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM

from tiny_models import model_dir

model = AutoModelForCausalLM.from_pretrained(model_dir("gpt2"))
model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_modules=["c_attn"], task_type="CAUSAL_LM"))

trainable_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
total_params = sum(p.numel() for p in model.parameters())
print(f"Trainable: {trainable_params:,} | Total: {total_params:,} | % trainable: {trainable_params/total_params*100:.2f}%")
print(f"LoRA params only: {sum(p.numel() for p in model.peft_config['default'].get_submodules())}")
