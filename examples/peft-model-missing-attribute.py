"""PEFT method called on the plain transformers model.

Reproduces: ``peft-model-missing-attribute``.

``get_peft_model`` does not change the model in place into a PEFT model: it
*returns* a new ``PeftModelForCausalLM`` that wraps it.  The script below
drops the return value, so ``model`` is still the ``GPT2LMHeadModel`` (whose
layers were nevertheless wrapped with LoRA in place) and has no
``print_trainable_parameters``:
``AttributeError: 'GPT2LMHeadModel' object has no attribute 'print_trainable_parameters'``.
Tiny GPT-2, CPU, no hub.
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM

from tiny_models import model_dir

model = AutoModelForCausalLM.from_pretrained(model_dir("gpt2"))

lora_config = LoraConfig(r=8, lora_alpha=16, target_modules=["c_attn"], lora_dropout=0.05, task_type="CAUSAL_LM")
get_peft_model(model, lora_config)  # the PeftModel it returns is thrown away
model.print_trainable_parameters()
