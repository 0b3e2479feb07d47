"""Variant of embedding-index-out-of-range: a sequence longer than GPT-2's position table.

GPT-2 learns absolute positions: it looks up one row of the position
embedding ``wpe`` per token position, and the table has ``config.n_positions``
rows (1024 for gpt2, 64 for the tiny one here; OPT fails the same way).  The
batch is tokenized without ``truncation=True, max_length=...``, so one
example has more positions than rows, and ``wpe(position_ids)`` raises the
same ``IndexError: index out of range in self`` as a token id past the vocab.
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import torch  # noqa: E402
from peft import LoraConfig, get_peft_model  # noqa: E402
from tiny_models import model_dir  # noqa: E402
from transformers import AutoModelForCausalLM  # noqa: E402

model = AutoModelForCausalLM.from_pretrained(model_dir("gpt2"))
model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_modules=["c_attn"], task_type="CAUSAL_LM"))
print("position rows:", model.config.n_positions)

input_ids = torch.randint(0, model.config.vocab_size, (1, model.config.n_positions + 16))  # 80 tokens, 64 rows
loss = model(input_ids=input_ids, labels=input_ids).loss
