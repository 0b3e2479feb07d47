"""A causal language model fed one class label per sentence.

Reproduces: ``label-shape-mismatch``.  ``Qwen2ForCausalLM`` computes its loss
over every token (batch 2 x 12 positions = 24 rows of logits); the labels
hold one class id per sentence (2):
``ValueError: Expected input batch_size (24) to match target batch_size (2).``
Tiny Qwen2 from examples/tiny_models.py, CPU, no hub.
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM

from tiny_models import model_dir

model = AutoModelForCausalLM.from_pretrained(model_dir("qwen2"))
model = get_peft_model(model, LoraConfig(r=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))

sentiment = torch.tensor([1, 0])  # positive, negative
input_ids = torch.randint(0, 500, (2, 12))
loss = model(input_ids=input_ids, labels=sentiment).loss
loss.backward()
