"""NOT this family: the *base model* (not an adapter) cannot be found offline.

``AutoModelForCausalLM.from_pretrained("my-user/gpt2-lora")`` with
``HF_HUB_OFFLINE=1`` and nothing cached fails in transformers/huggingface_hub
(an OSError about the model's files), before PEFT or any adapter is involved.
"""

import os

os.environ["HF_HUB_OFFLINE"] = "1"

from transformers import AutoModelForCausalLM

model = AutoModelForCausalLM.from_pretrained("my-user/gpt2-lora")
