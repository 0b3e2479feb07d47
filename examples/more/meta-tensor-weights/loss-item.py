"""Variant of meta-tensor-weights: training a model whose weights are all on meta.

The model skeleton is built with ``accelerate.init_empty_weights()`` and
``from_config`` and then never loaded (no ``load_checkpoint_and_dispatch``,
no ``load_state_dict(..., assign=True)``).  torch 2.13 runs the forward on the
meta device without complaint -- the loss is a meta tensor with a shape and
no value -- so the first thing that needs a number fails:

    RuntimeError: Tensor.item() cannot be called on meta tensors
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import torch  # noqa: E402
from accelerate import init_empty_weights  # noqa: E402
from peft import LoraConfig, get_peft_model  # noqa: E402
from tiny_models import model_dir  # noqa: E402
from transformers import AutoConfig, AutoModelForCausalLM  # noqa: E402

config = AutoConfig.from_pretrained(model_dir("llama"))
with init_empty_weights():
    model = AutoModelForCausalLM.from_config(config)
# The bug: the skeleton's weights are never loaded before training.
model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)

input_ids = torch.randint(0, config.vocab_size, (2, 16))
loss = model(input_ids=input_ids, labels=input_ids).loss
loss.backward()
optimizer.step()
print(f"step 0 loss {loss.item():.4f}")
