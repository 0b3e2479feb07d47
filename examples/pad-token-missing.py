"""Reproduce pad-token-missing: batching text with a tokenizer that has no pad token.

Llama, Mistral and GPT-2 tokenizers ship an end-of-sequence token but no
padding token.  Tokenizing a batch of texts of different lengths with
``padding=True`` needs one, so transformers raises
``ValueError: Asking to pad but the tokenizer does not have a padding token``.

    python examples/pad-token-missing.py            # tokenizer(batch, padding=True)
    python examples/pad-token-missing.py collator   # DataCollatorForLanguageModeling on lists of ids

The tokenizer is a tiny real one built locally (examples/tiny_tokenizer.py),
loaded with AutoTokenizer like a hub tokenizer; nothing is downloaded.
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from tiny_tokenizer import tokenizer_dir  # noqa: E402
from transformers import AutoTokenizer, DataCollatorForLanguageModeling  # noqa: E402

tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir("nopad"))
texts = ["the model is fine", "train the lora adapter with a learning rate of this"]

if sys.argv[1:] == ["collator"]:
    # Pre-tokenized rows of different lengths, collated for causal LM training.
    rows = [tokenizer(text)["input_ids"] for text in texts]
    collator = DataCollatorForLanguageModeling(tokenizer=tokenizer, mlm=False)
    batch = collator(rows)
else:
    batch = tokenizer(texts, padding=True, return_tensors="pt")
print(batch["input_ids"].shape)
