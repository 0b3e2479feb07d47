"""Reproduce bnb-gpu-unavailable: 4-bit bitsandbytes loading where bitsandbytes has no backend for the device.

This is the right way to ask for QLoRA-style 4-bit loading.  Whether it works
without an NVIDIA GPU depends on the versions:

- bitsandbytes < 0.46 (CUDA-only builds) with transformers 4.4x: on a machine
  without CUDA, transformers' bitsandbytes check raises
  ``RuntimeError: CUDA is required but not available for bitsandbytes...``
  (older transformers: ``RuntimeError: No GPU found. A GPU is needed for
  quantization.``), after bitsandbytes warned that it "was compiled without GPU
  support".
- bitsandbytes >= 0.46.1 (the minimum transformers 5 accepts) has a CPU
  backend: with transformers 5.24 and bitsandbytes 0.50.2 this script loads
  the model in 4 bit on a CPU, runs a LoRA forward and backward step, and exits 0.

    python examples/bnb-gpu-unavailable.py
    # fails in: pip install torch==2.13.0 transformers==4.46.3 bitsandbytes==0.43.3 accelerate==1.0.1

The model is a tiny Llama built locally (examples/tiny_models.py).
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402
from tiny_models import model_dir  # noqa: E402
from transformers import AutoModelForCausalLM, BitsAndBytesConfig  # noqa: E402

bnb_config = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.bfloat16)
model = AutoModelForCausalLM.from_pretrained(model_dir("llama"), quantization_config=bnb_config)

ids = torch.randint(0, 512, (2, 16))
model.train()  # a training step, as in a QLoRA script
try:
    from peft import LoraConfig, get_peft_model
except ImportError:
    out = model(input_ids=ids, labels=ids)
    print(f"4-bit load and forward worked on {model.device}")
else:
    model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"]))
    out = model(input_ids=ids, labels=ids)
    out.loss.backward()
    layer = model.get_base_model().model.layers[0].self_attn.q_proj.base_layer
    print(f"4-bit load and LoRA step worked on {model.device}: q_proj is {type(layer).__name__}")
