"""A LoRA setting read from the environment reaches LoraConfig as a string.

Reproduces: ``config-value-wrong-type``.

``os.environ.get`` always returns a string, and ``LoraConfig`` (a dataclass)
does not convert its fields, so ``lora_dropout`` is ``"0.05"``.  peft
compares it with a float when it builds the LoRA layers, deep inside
``get_peft_model``:
``TypeError: '>' not supported between instances of 'str' and 'float'``.
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

lora_config = LoraConfig(
    r=8,
    lora_alpha=16,
    lora_dropout=os.environ.get("LORA_DROPOUT", "0.05"),
    target_modules=["c_attn"],
    task_type="CAUSAL_LM",
)
model = get_peft_model(model, lora_config)
model.print_trainable_parameters()
