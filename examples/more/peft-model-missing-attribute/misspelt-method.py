"""A misspelt PEFT method on a real PeftModel.

Reproduces: ``peft-model-missing-attribute`` (third variant).

``PeftModel.__getattr__`` forwards unknown names to the ``LoraModel`` inside
it, which forwards them to the transformers model; when none of the three has
the name, the error names the *innermost* class (``GPT2LMHeadModel``) and the
chained traceback shows ``'LoraModel' object has no attribute ...``.
Tiny GPT-2, CPU, no hub.
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
model.print_trainable_params()
