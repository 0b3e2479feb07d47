"""task_type="SEQ_CLS" on a causal language model: the classification labels meet the LM head.

Reproduces: ``peft-task-type-mismatch`` (from a capture: the PeftModel class
disagrees with the model class it wraps).  ``SEQ_CLS`` builds a
``PeftModelForSequenceClassification``, but the model is still a
``LlamaForCausalLM``: its forward computes the language-model loss, whose
logits have one row per token (batch 4 x 8 positions = 32) while the
labels have one per sequence (4):
``ValueError: Expected input batch_size (32) to match target batch_size (4).``
Tiny Llama, CPU, no hub.
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import torch
from peft import LoraConfig, TaskType, get_peft_model
from transformers import AutoModelForCausalLM

from tiny_models import model_dir

model = AutoModelForCausalLM.from_pretrained(model_dir("llama"))
peft_config = LoraConfig(task_type=TaskType.SEQ_CLS, r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"])
model = get_peft_model(model, peft_config)

input_ids = torch.randint(0, 500, (4, 8))
labels = torch.tensor([0, 1, 1, 0])  # one class per sentence
outputs = model(input_ids=input_ids, labels=labels)
outputs.loss.backward()
