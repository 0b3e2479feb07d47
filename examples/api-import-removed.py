"""A QLoRA notebook from 2023: ``prepare_model_for_int8_training`` imported from peft.

Reproduces: ``api-import-removed``.

peft 0.5 deprecated ``prepare_model_for_int8_training`` in favour of
``prepare_model_for_kbit_training`` and a later release removed it, so the
import fails before anything else runs:
``ImportError: cannot import name 'prepare_model_for_int8_training' from 'peft'``.
CPU, no hub, no model needed.
"""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from peft import LoraConfig, get_peft_model, prepare_model_for_int8_training

lora_config = LoraConfig(r=8, lora_alpha=16, target_modules=["c_attn"], task_type="CAUSAL_LM")
print(lora_config, get_peft_model, prepare_model_for_int8_training)
