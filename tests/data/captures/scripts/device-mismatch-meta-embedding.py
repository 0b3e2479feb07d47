"""device-mismatch on CPU: a weight left on the meta device by a fast "empty" load.

The model is built on the meta device (no memory) and a checkpoint is loaded
into it with ``load_state_dict(..., assign=True, strict=False)``.  The
checkpoint names the embedding differently (it came from another training
script), so ``model.embed_tokens.weight`` is never assigned and stays on
``meta`` while every other weight is on the CPU: ``RuntimeError: Tensor on
device meta is not on the expected device cpu!``.  On a GPU the same kind of
mistake (one module left behind) reads ``Expected all tensors to be on the
same device, but found at least two devices, cuda:0 and cpu!``.  Tiny Qwen2, CPU.
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[4] / "examples"))

import torch
from peft import LoraConfig, get_peft_model
from safetensors.torch import load_file
from transformers import AutoConfig, AutoModelForCausalLM

from tiny_models import model_dir

config = AutoConfig.from_pretrained(model_dir("qwen2"))
state_dict = load_file(Path(model_dir("qwen2")) / "model.safetensors")
state_dict["embeddings.weight"] = state_dict.pop("model.embed_tokens.weight")  # another script's key name
with torch.device("meta"):
    model = AutoModelForCausalLM.from_config(config)
model.load_state_dict(state_dict, assign=True, strict=False)
model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
input_ids = torch.randint(0, config.vocab_size, (2, 16))
outputs = model(input_ids=input_ids, labels=input_ids)
