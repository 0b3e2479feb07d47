"""Reproduce quantized-no-adapter: training a 4-bit/8-bit model without LoRA adapters.

Quantized (bitsandbytes) weights are frozen integer storage; gradients cannot
update them.  ``Trainer`` checks for this when it is built and raises
``ValueError: You cannot perform fine-tuning on purely quantized models. Please
attach trainable adapters on top of the quantized model ...`` when the model
is quantized and no PEFT adapter was attached (``get_peft_model`` forgotten,
or its result not used).

    python examples/quantized-no-adapter.py

The tiny Llama (examples/tiny_models.py) is quantized to 4 bit with
bitsandbytes' CPU backend; nothing is downloaded.
"""

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402
from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training  # noqa: E402
from tiny_models import model_dir  # noqa: E402
from transformers import AutoModelForCausalLM, BitsAndBytesConfig, Trainer, TrainingArguments  # noqa: E402

bnb_config = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.float32)
model = AutoModelForCausalLM.from_pretrained(model_dir("llama"), quantization_config=bnb_config)
model = prepare_model_for_kbit_training(model)
lora_config = LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM")
peft_model = get_peft_model(model, lora_config)  # the adapters are on peft_model ...

args = TrainingArguments(output_dir=tempfile.mkdtemp(), max_steps=1, use_cpu=True, report_to=[])
trainer = Trainer(model=model, args=args)  # ... but the bare quantized model is trained
