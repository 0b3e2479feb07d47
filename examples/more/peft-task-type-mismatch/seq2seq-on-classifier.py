"""task_type="SEQ_2_SEQ_LM" on a BERT sequence classifier.

Reproduces: ``peft-task-type-mismatch``.  ``PeftModelForSeq2SeqLM`` keeps the
base model's generation hooks; a classifier has none:
``AttributeError: 'BertForSequenceClassification' object has no attribute 'prepare_inputs_for_generation'``.
Tiny BERT built from its config, CPU, no hub.
"""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from peft import LoraConfig, get_peft_model
from transformers import BertConfig, BertForSequenceClassification

config = BertConfig(
    vocab_size=512, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, num_labels=3
)
model = BertForSequenceClassification(config)

lora_config = LoraConfig(r=4, lora_alpha=8, target_modules=["query", "value"], task_type="SEQ_2_SEQ_LM")
model = get_peft_model(model, lora_config)
