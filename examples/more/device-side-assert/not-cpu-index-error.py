"""NOT this family (its CPU counterpart): a token id beyond the embedding table, on a CPU.

A "[PAD]" token was added to a tokenizer whose vocabulary already filled the
embedding table (like Llama-2's 32000 entries), so it got id == vocab_size,
and ``model.resize_token_embeddings(len(tokenizer))`` was never called.  Padded
batches then contain an id one past the last embedding row.  On a GPU the
embedding's index kernel trips ``Assertion `srcIndex < srcSelectDimSize`
failed`` and torch reports ``CUDA error: device-side assert triggered``; on a
CPU the same lookup is bounds-checked on the host and raises

    IndexError: index out of range in self

which has its own message, so it is not matched as device-side-assert.
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

model = AutoModelForCausalLM.from_pretrained(model_dir("llama"))
model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
pad_token_id = model.config.vocab_size  # the id a newly added [PAD] token gets: one past the table

input_ids = torch.randint(0, model.config.vocab_size, (2, 16))
input_ids[1, 12:] = pad_token_id  # right padding of the shorter example
attention_mask = (input_ids != pad_token_id).long()
loss = model(input_ids=input_ids, attention_mask=attention_mask, labels=input_ids).loss
