"""NOT this family: user code indexes past the end of a model's layer list.

A script that freezes "the last 4 layers" of a 2-layer model indexes
``model.model.layers[-4]``; ``torch.nn.ModuleList`` raises
``IndexError: index -4 is out of range`` -- an ordinary indexing mistake in
user code, not an embedding lookup, so embedding-index-out-of-range must not
claim it.
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tiny_models import model_dir  # noqa: E402
from transformers import AutoModelForCausalLM  # noqa: E402

model = AutoModelForCausalLM.from_pretrained(model_dir("llama"))
for i in range(1, 5):
    for p in model.model.layers[-i].parameters():
        p.requires_grad = False
