"""A LoRA adapter trained on one base model loaded onto a bigger one.

Reproduces: ``adapter-size-mismatch``.

LoRA's matrices are shaped by the layer they adapt: for a linear layer
``in -> out`` with rank ``r``, ``lora_A`` is ``[r, in]`` and ``lora_B`` is
``[out, r]``.  An adapter trained on a model with hidden size 32 (think
Llama-2-7B, hidden 4096) has ``lora_A`` ``[8, 32]``; the model it is loaded
onto here has hidden size 64 (think Llama-2-13B, hidden 5120), whose layers
need ``[8, 64]``.  The module names are identical, so PEFT finds every key,
and ``load_state_dict`` raises ``RuntimeError: Error(s) in loading state_dict
for PeftModelForCausalLM: size mismatch for ...lora_A.default.weight``.
Tiny Llamas, CPU, no hub.
"""

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import AutoModelForCausalLM, LlamaConfig

from tiny_models import model_dir

work = Path(tempfile.mkdtemp(prefix="adapter-size-mismatch-"))

# --- earlier, in the training script: LoRA on the small base model, adapter saved
small = AutoModelForCausalLM.from_pretrained(model_dir("llama"))
peft_model = get_peft_model(small, LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
peft_model.save_pretrained(work / "my-lora-adapter")

# --- the bigger sibling of that base model (same architecture, wider layers)
torch.manual_seed(0)
big_config = LlamaConfig(
    hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
    num_key_value_heads=4, max_position_embeddings=64, vocab_size=512,
)
AutoModelForCausalLM.from_config(big_config).save_pretrained(work / "bigger-base")

# --- the inference script: adapter loaded onto the wrong base
base = AutoModelForCausalLM.from_pretrained(work / "bigger-base")
model = PeftModel.from_pretrained(base, work / "my-lora-adapter")
print(model.generate(torch.tensor([[1, 2, 3]]), max_new_tokens=5))
