"""A trl 0.8-era SFT script on a tiny local GPT-2: SFTTrainer(tokenizer=..., dataset_text_field=...).

Reproduces: ``api-argument-removed`` (trl 0.12 renamed ``tokenizer`` to
``processing_class``; trl 0.13 moved ``dataset_text_field`` into ``SFTConfig``).
CPU, no hub: the model is built by examples/tiny_models.py.
"""

import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))

from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import SFTTrainer

from tiny_models import model_dir

path = model_dir("gpt2")
model = AutoModelForCausalLM.from_pretrained(path)
tokenizer = AutoTokenizer.from_pretrained(path)
dataset = Dataset.from_dict({"text": ["### Question: 2+2? ### Answer: 4"] * 8})

trainer = SFTTrainer(
    model=model,
    tokenizer=tokenizer,
    train_dataset=dataset,
    dataset_text_field="text",
)
trainer.train()
