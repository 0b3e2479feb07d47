"""Reproduce fsdp-lora-dtype: FSDP cannot flatten a LoRA / QLoRA model's mixed parameters.

FSDP (torch.distributed.fsdp, v1) concatenates the parameters of each wrapped
module into one flat tensor, which needs them to agree: the same dtype, no
integer storage, and (with ``use_orig_params=False``) the same
``requires_grad``.  A LoRA model has frozen base weights next to trainable
adapters; a QLoRA model stores its 4-bit weights as ``torch.uint8``.

    python examples/fsdp-lora-dtype.py          # LoRA on GPT-2, FSDP(use_orig_params=False): requires_grad differ
    python examples/fsdp-lora-dtype.py qlora    # 4-bit Llama (bitsandbytes' CPU backend) + LoRA: uint8 weights

Runs as one process with the gloo backend on this CPU; the tiny models are
built locally (examples/tiny_models.py).
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
os.environ.setdefault("MASTER_PORT", str(29500 + os.getpid() % 1000))
for name, value in (("RANK", "0"), ("LOCAL_RANK", "0"), ("WORLD_SIZE", "1")):  # what torchrun would set
    os.environ.setdefault(name, value)
sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
from peft import LoraConfig, get_peft_model  # noqa: E402
from tiny_models import model_dir  # noqa: E402
from torch.distributed.fsdp import FullyShardedDataParallel as FSDP  # noqa: E402
from transformers import AutoModelForCausalLM, BitsAndBytesConfig  # noqa: E402

dist.init_process_group("gloo")
if sys.argv[1:] == ["qlora"]:
    bnb_config = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.float32)
    model = AutoModelForCausalLM.from_pretrained(model_dir("llama"), quantization_config=bnb_config)
    target_modules = ["q_proj", "v_proj"]
else:
    model = AutoModelForCausalLM.from_pretrained(model_dir("gpt2"))
    target_modules = ["c_attn"]
model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_modules=target_modules, task_type="CAUSAL_LM"))
model = FSDP(model, device_id=torch.device("cpu"), use_orig_params=False)
print(model)
