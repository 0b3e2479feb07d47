"""An argparse option without ``type=`` gives TrainingArguments a string learning rate.

Reproduces: ``config-value-wrong-type``.  ``TrainingArguments`` keeps
``learning_rate="2e-4"``; the Trainer builds its AdamW optimizer with it and
torch's range check compares it with a float:
``TypeError: '<=' not supported between instances of 'float' and 'str'``.
Tiny GPT-2, one step, CPU, no hub.
"""

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import tempfile

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, Trainer, TrainingArguments

from tiny_models import model_dir

parser = argparse.ArgumentParser()
parser.add_argument("--lr", default="2e-4")
parser.add_argument("--epochs", type=int, default=1)
cli = parser.parse_args()

model = AutoModelForCausalLM.from_pretrained(model_dir("gpt2"))
model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_modules=["c_attn"], task_type="CAUSAL_LM"))

ids = torch.randint(0, 500, (8,)).tolist()
train_data = [{"input_ids": ids, "labels": ids} for _ in range(4)]

args = TrainingArguments(
    output_dir=tempfile.mkdtemp(),
    learning_rate=cli.lr,
    num_train_epochs=cli.epochs,
    per_device_train_batch_size=2,
    max_steps=1,
    report_to=[],
)
trainer = Trainer(model=model, args=args, train_dataset=train_data)
trainer.train()
