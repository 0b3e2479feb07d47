"""LoRA asked to wrap whole attention and MLP blocks of a Llama model.

Reproduces: ``peft-unsupported-target-module``.

``target_modules`` names are matched against *every* module name, not only
the layers.  ``"self_attn"`` and ``"mlp"`` are the container modules
(``LlamaAttention``, ``LlamaMLP``), not linear layers.  LoRA can only wrap
layers that compute ``x @ W`` (``nn.Linear``, ``nn.Embedding``,
``nn.Conv1d/2d/3d``, transformers' ``Conv1D``, ``nn.MultiheadAttention``), so
``get_peft_model`` raises ``ValueError: Target module LlamaAttention(...) is
not supported``.  Tiny Llama, CPU, no hub.
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM

from tiny_models import model_dir

model = AutoModelForCausalLM.from_pretrained(model_dir("llama"))

# "adapt the attention and the MLP of every layer"
lora_config = LoraConfig(
    r=8,
    lora_alpha=16,
    target_modules=["self_attn", "mlp"],
    lora_dropout=0.05,
    task_type="CAUSAL_LM",
)
model = get_peft_model(model, lora_config)
model.print_trainable_parameters()
