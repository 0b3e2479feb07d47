"""Reproduce embedding-index-out-of-range: a token id >= the number of embedding rows, on a CPU.

The tokenizer has no padding token (like Llama's and GPT-2's), so the script
adds one with ``tokenizer.add_special_tokens({"pad_token": "[PAD]"})``.  The
model's embedding table has exactly ``len(tokenizer)`` rows before that call
(as Llama-2 has 32000 rows for its 32000 tokens), so "[PAD]" gets id
``len(tokenizer) - 1`` == the old vocabulary size: one past the last row.
``model.resize_token_embeddings(len(tokenizer))`` is never called, so the
first padded batch makes ``torch.nn.functional.embedding`` raise

    IndexError: index out of range in self

(on a GPU the same lookup trips ``Assertion `srcIndex < srcSelectDimSize`
failed`` and ``CUDA error: device-side assert triggered`` instead).
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).parent))

from peft import LoraConfig, get_peft_model  # noqa: E402
from tiny_models import model_dir  # noqa: E402
from tiny_tokenizer import tokenizer_dir  # noqa: E402
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer  # noqa: E402

tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir("nopad"))
# A tiny Llama whose embedding table has one row per token of this tokenizer.
config = AutoConfig.from_pretrained(model_dir("llama"), vocab_size=len(tokenizer))
model = AutoModelForCausalLM.from_config(config)

tokenizer.add_special_tokens({"pad_token": "[PAD]"})  # new id: len(tokenizer) - 1 == vocab_size
# The bug: no model.resize_token_embeddings(len(tokenizer)) here.
model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))

batch = tokenizer(["hello world", "the model is a lora adapter"], return_tensors="pt", padding=True)
loss = model(**batch, labels=batch["input_ids"]).loss
loss.backward()
