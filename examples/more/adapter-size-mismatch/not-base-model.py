"""NOT this family: a base-model checkpoint loaded into a differently sized model.

The size mismatch is on ordinary weights (``transformer.wte.weight``), no LoRA
tensor is involved: it is a model/checkpoint mix-up, not an adapter problem.
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from transformers import AutoModelForCausalLM, GPT2Config

from tiny_models import model_dir

state = AutoModelForCausalLM.from_pretrained(model_dir("gpt2")).state_dict()
wider = AutoModelForCausalLM.from_config(GPT2Config(n_layer=2, n_embd=64, n_head=2, n_positions=64, vocab_size=512))
wider.load_state_dict(state)
