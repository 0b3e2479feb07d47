"""Variant of meta-tensor-weights: from_pretrained under ``with torch.device("meta")``.

transformers 5 checks for a meta default device before loading and refuses,
since a model created on meta would drop the checkpoint's weights:

    RuntimeError: You are using `from_pretrained` with a meta device context
    manager or `torch.set_default_device('meta')`.

(``accelerate.init_empty_weights()`` patches parameter registration instead of
setting the default device, so it is *not* caught by this check: see
examples/meta-tensor-weights.py.)
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import torch  # noqa: E402
from tiny_models import model_dir  # noqa: E402
from transformers import AutoModelForCausalLM  # noqa: E402

with torch.device("meta"):  # meant to avoid allocating memory while loading
    model = AutoModelForCausalLM.from_pretrained(model_dir("llama"))
