"""Resuming training of a saved LoRA adapter loaded for inference.

Reproduces: ``empty-optimizer`` (second variant).

``PeftModel.from_pretrained(base, adapter_dir)`` defaults to
``is_trainable=False``: the adapter is loaded in inference mode with every
parameter frozen.  The optimizer over the trainable parameters is empty:
``ValueError: optimizer got an empty parameter list``.
Tiny Llama, CPU, no hub.
"""

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import torch
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import AutoModelForCausalLM

from tiny_models import model_dir

adapter_dir = Path(tempfile.mkdtemp(prefix="resume-")) / "checkpoint-500"
get_peft_model(
    AutoModelForCausalLM.from_pretrained(model_dir("llama")),
    LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"),
).save_pretrained(adapter_dir)

# --- resume training from the checkpoint
base = AutoModelForCausalLM.from_pretrained(model_dir("llama"))
model = PeftModel.from_pretrained(base, adapter_dir)
model.train()
optimizer = torch.optim.AdamW(filter(lambda p: p.requires_grad, model.parameters()), lr=2e-4)
