"""A LoraConfig with ``target_module`` (singular) instead of ``target_modules``.

Reproduces: ``peft-config-unknown-field`` (second variant).  The dataclass
``__init__`` rejects the misspelt keyword with a TypeError before any model is
touched.  CPU, no hub.
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
model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_module=["c_attn"], task_type="CAUSAL_LM"))
model.print_trainable_parameters()
