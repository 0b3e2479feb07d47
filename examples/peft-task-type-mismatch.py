"""A LoRA task_type that does not fit the model class.

Reproduces: ``peft-task-type-mismatch``.

``task_type`` picks the PeftModel class that ``get_peft_model`` builds:
``CAUSAL_LM`` builds a ``PeftModelForCausalLM``, whose constructor keeps the
base model's ``prepare_inputs_for_generation`` (generation needs it).  A
sequence classifier has no such method, so wrapping an
``OPTForSequenceClassification`` with ``task_type="CAUSAL_LM"`` fails inside
peft:
``AttributeError: 'OPTForSequenceClassification' object has no attribute 'prepare_inputs_for_generation'``.
The right task_type for this model is ``SEQ_CLS``.  Tiny OPT, CPU, no hub.
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from peft import LoraConfig, get_peft_model
from transformers import AutoModelForSequenceClassification

from tiny_models import model_dir

model = AutoModelForSequenceClassification.from_pretrained(model_dir("opt"), num_labels=2)

lora_config = LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM")
model = get_peft_model(model, lora_config)
model.print_trainable_parameters()
