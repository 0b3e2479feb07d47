"""peft-model-missing-attribute: merge_and_unload() called on the base model, the PeftModel kept in another name.

``peft_model = get_peft_model(base, config)`` wraps ``base``; the script then
calls ``base.merge_and_unload()``, a PeftModel method, on the transformers
model: ``AttributeError: 'LlamaForCausalLM' object has no attribute
'merge_and_unload'``.  The fix (and the patch) is ``peft_model.merge_and_unload()``;
``base = get_peft_model(base, ...)`` would wrap a model that already has LoRA
layers a second time.  Tiny Llama, CPU.
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[4] / "examples"))

from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM

from tiny_models import model_dir

base = AutoModelForCausalLM.from_pretrained(model_dir("llama"))
config = LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM")
peft_model = get_peft_model(base, config)
merged = base.merge_and_unload()
merged.save_pretrained("merged")
