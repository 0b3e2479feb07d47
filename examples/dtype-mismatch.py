"""Reproduce dtype-mismatch: a float32 head on top of a bfloat16 LoRA model.

The base model is loaded in bfloat16 and wrapped with LoRA (PEFT keeps the
LoRA weights in float32 and casts the LoRA input itself, so the LoRA layers
are fine).  The user's own code then mixes dtypes: a reward/classification
head made with ``nn.Linear`` (float32 by default, with a bias) is applied to
the model's bfloat16 hidden states, with no autocast active:

    RuntimeError: mat1 and mat2 must have the same dtype, but got BFloat16 and Float

(from addmm, since the head has a bias).  examples/more/dtype-mismatch/ has a
variant that fails inside a PEFT-wrapped projection.
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).parent))

import torch  # noqa: E402
from peft import LoraConfig, get_peft_model  # noqa: E402
from tiny_models import model_dir  # noqa: E402
from transformers import AutoModelForCausalLM  # noqa: E402

model = AutoModelForCausalLM.from_pretrained(model_dir("llama"), dtype=torch.bfloat16)
model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
model.train()
input_ids = torch.randint(0, model.config.vocab_size, (2, 16))

# a reward head on top of the LoRA model: nn.Linear defaults to float32
reward_head = torch.nn.Linear(model.config.hidden_size, 1)
hidden = model(input_ids=input_ids, output_hidden_states=True).hidden_states[-1]
reward = reward_head(hidden[:, -1])
loss = torch.nn.functional.mse_loss(reward.squeeze(-1), torch.ones(2))
loss.backward()
