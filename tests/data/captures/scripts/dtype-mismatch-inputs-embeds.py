"""dtype-mismatch on CPU: a bf16 LoRA model fed float32 embeddings built by hand.

The base model is loaded in bfloat16; the script computes ``inputs_embeds``
itself in float32 (a common pattern for prompt tuning / soft prompts) and the
first Linear sees a float32 input against bfloat16 weights:
``RuntimeError: mat1 and mat2 must have the same dtype``.  Tiny Llama, CPU.
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[4] / "examples"))

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM

from tiny_models import model_dir

model = AutoModelForCausalLM.from_pretrained(model_dir("llama"), dtype=torch.bfloat16)
model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
input_ids = torch.randint(0, 512, (2, 16))
inputs_embeds = torch.randn(2, 16, model.config.hidden_size)  # float32
outputs = model(inputs_embeds=inputs_embeds, labels=input_ids)
