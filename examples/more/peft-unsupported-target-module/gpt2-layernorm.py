"""LoRA asked to wrap GPT-2's LayerNorms as well as its attention.

Reproduces: ``peft-unsupported-target-module`` (second variant).

``ln_1`` is a ``torch.nn.LayerNorm``: it has a weight vector, not a weight
matrix, so there is no low-rank update ``B @ A`` to add and LoRA has no layer
class for it.  ``get_peft_model`` raises ``ValueError: Target module
LayerNorm(...) is not supported``.  (To train norms next to LoRA, list them in
``modules_to_save``.)  Tiny GPT-2, CPU, no hub.
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

lora_config = LoraConfig(r=8, lora_alpha=16, target_modules=["c_attn", "ln_1"], task_type="CAUSAL_LM")
model = get_peft_model(model, lora_config)
model.print_trainable_parameters()
