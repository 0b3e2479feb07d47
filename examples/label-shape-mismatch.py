"""A sequence classifier fed language-model labels.

Reproduces: ``label-shape-mismatch``.

A tokenizer/collator set up for language modelling copies ``input_ids`` into
``labels`` (one label per token).  A ``RobertaForSequenceClassification``
makes one row of logits per sequence (batch 4) and flattens the labels for
its cross-entropy, 4 sequences x 16 tokens = 64 of them:
``ValueError: Expected input batch_size (4) to match target batch_size (64).``
Tiny RoBERTa built from its config, LoRA on query/value, CPU, no hub.
"""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch
from peft import LoraConfig, get_peft_model
from transformers import RobertaConfig, RobertaForSequenceClassification

torch.manual_seed(0)
config = RobertaConfig(
    vocab_size=512, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, num_labels=2
)
model = RobertaForSequenceClassification(config)
model = get_peft_model(model, LoraConfig(r=4, target_modules=["query", "value"], task_type="SEQ_CLS"))

input_ids = torch.randint(3, 512, (4, 16))
batch = {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids), "labels": input_ids.clone()}
outputs = model(**batch)
outputs.loss.backward()
