"""LoRA on a Llama model with BERT's attention names ("query", "value").

Reproduces: ``peft-target-modules-not-found`` (second variant).

BERT calls its attention projections ``query``/``key``/``value``; Llama calls
them ``q_proj``/``k_proj``/``v_proj``/``o_proj``.  A config written for BERT
matches no module of a Llama model, so ``get_peft_model`` raises
``NoMatchingPeftModuleError`` (a ``ValueError``).  Tiny Llama, CPU, no hub.
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM

from tiny_models import model_dir

model = AutoModelForCausalLM.from_pretrained(model_dir("llama"))

lora_config = LoraConfig(r=16, lora_alpha=32, target_modules=["query", "value"], task_type="CAUSAL_LM")
model = get_peft_model(model, lora_config)
model.print_trainable_parameters()
