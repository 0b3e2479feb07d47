"""Trainer resuming from a saved adapter that was loaded frozen.

Reproduces: ``no-grad-fn`` (variant through ``transformers.Trainer``).

``PeftModel.from_pretrained`` defaults to ``is_trainable=False``, so no
parameter requires a gradient.  The Trainer builds its optimizer from
parameter *groups*, which torch accepts even when the groups are empty, so
the first error comes from the first ``loss.backward()``:
``RuntimeError: element 0 of tensors does not require grad and does not have a grad_fn``.
Tiny GPT-2, CPU, no hub; one training step.
"""

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import torch
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import AutoModelForCausalLM, Trainer, TrainingArguments

from tiny_models import model_dir

run_dir = Path(tempfile.mkdtemp(prefix="trainer-frozen-"))
get_peft_model(
    AutoModelForCausalLM.from_pretrained(model_dir("gpt2")),
    LoraConfig(r=8, lora_alpha=16, target_modules=["c_attn"], task_type="CAUSAL_LM"),
).save_pretrained(run_dir / "checkpoint-500")

# --- second stage: continue training the saved adapter
base = AutoModelForCausalLM.from_pretrained(model_dir("gpt2"))
model = PeftModel.from_pretrained(base, run_dir / "checkpoint-500")

input_ids = torch.randint(0, 512, (16,))
train_dataset = [{"input_ids": input_ids, "labels": input_ids} for _ in range(8)]
args = TrainingArguments(
    output_dir=str(run_dir / "stage-2"), max_steps=2, per_device_train_batch_size=2, report_to=[], use_cpu=True,
)
Trainer(model=model, args=args, train_dataset=train_dataset).train()
