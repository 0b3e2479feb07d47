"""Adapter weights saved with r=8 loaded into a PEFT model built with r=16.

Reproduces: ``adapter-size-mismatch`` (second variant).

The script re-creates the PEFT model from a *new* config (r=16) and then
loads the old adapter's tensors into it with ``set_peft_model_state_dict``.
``lora_A`` is ``[r, in]``: the checkpoint holds ``[8, 32]``, the model
expects ``[16, 32]``, so ``load_state_dict`` raises a size mismatch.
(``PeftModel.from_pretrained`` would have used the saved config and r=8.)
Tiny Llama, CPU, no hub.
"""

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from peft import LoraConfig, get_peft_model, set_peft_model_state_dict
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM

from tiny_models import model_dir

adapter_dir = Path(tempfile.mkdtemp(prefix="rank-mismatch-"))
old = get_peft_model(
    AutoModelForCausalLM.from_pretrained(model_dir("llama")),
    LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"),
)
old.save_pretrained(adapter_dir)

model = get_peft_model(
    AutoModelForCausalLM.from_pretrained(model_dir("llama")),
    LoraConfig(r=16, lora_alpha=32, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"),
)
set_peft_model_state_dict(model, load_file(adapter_dir / "adapter_model.safetensors"))
