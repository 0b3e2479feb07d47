"""Reproduce cuda-unavailable: moving a LoRA model to "cuda" on a CPU-only torch build.

The script is written for a GPU box: it moves the PEFT model to "cuda".  The
installed torch wheel is the CPU build (torch.version.cuda is None), so the
first CUDA call goes through torch.cuda._lazy_init, which raises

    AssertionError: Torch not compiled with CUDA enabled

On a CUDA build of torch without a usable GPU/driver the same line fails with
a RuntimeError instead ("Found no NVIDIA driver on your system", "No CUDA
GPUs are available").
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
model.to("cuda")
