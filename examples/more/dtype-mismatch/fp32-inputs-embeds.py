"""Reproduce dtype-mismatch inside LoRA: float32 inputs_embeds fed to a bfloat16 LoRA model.

The base model is loaded in bfloat16 and wrapped with LoRA.  The user builds
``inputs_embeds`` in float32 (soft prompts, noised embeddings).  Llama's
RMSNorm multiplies its bfloat16 weight by the float32 activations, so float32
reaches the first projection: PEFT's ``lora.Linear.forward`` calls the frozen
bfloat16 ``base_layer`` first, which fails with

    RuntimeError: expected m1 and m2 to have the same dtype, but got: float != c10::BFloat16

(the CPU kernel's wording for a bias-free matmul).  No autocast is active.
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import torch  # noqa: E402
from peft import LoraConfig, get_peft_model  # noqa: E402
from tiny_models import model_dir  # noqa: E402
from transformers import AutoModelForCausalLM  # noqa: E402

model = AutoModelForCausalLM.from_pretrained(model_dir("llama"), dtype=torch.bfloat16)
model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
model.train()
input_ids = torch.randint(0, model.config.vocab_size, (2, 16))

# soft-prompt style embeddings built by the user in float32
embeds = model.get_input_embeddings()(input_ids).float() + 0.01 * torch.randn(2, 16, model.config.hidden_size)
loss = model(inputs_embeds=embeds, labels=input_ids).loss
loss.backward()
