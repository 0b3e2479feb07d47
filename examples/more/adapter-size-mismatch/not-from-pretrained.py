"""NOT this family: a base checkpoint loaded with a config override that changes shapes.

``from_pretrained(path, n_embd=64)`` asks for a wider GPT-2 than the one
saved; transformers' load report marks the *base* weights MISMATCH and raises
the same RuntimeError as for an adapter, but no LoRA tensor is involved.
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from transformers import AutoModelForCausalLM

from tiny_models import model_dir

model = AutoModelForCausalLM.from_pretrained(model_dir("gpt2"), n_embd=64)
