"""Reproduce bnb-quantization-args: bitsandbytes options passed the old way, or with wrong values.

transformers 4.x took ``load_in_8bit=True`` / ``load_in_4bit=True`` directly in
``from_pretrained`` (deprecated with a warning from 4.38 on).  transformers 5
removed that: the keyword is no longer recognised, so it travels on to the
model class's ``__init__`` and fails there with
``TypeError: LlamaForCausalLM.__init__() got an unexpected keyword argument 'load_in_8bit'``.
The options now go in ``quantization_config=BitsAndBytesConfig(...)``, whose own
argument checks fail for wrong values.

    python examples/bnb-quantization-args.py                 # load_in_8bit=True (as in many tutorials)
    python examples/bnb-quantization-args.py 4bit            # load_in_4bit=True + bnb_4bit_compute_dtype
    python examples/bnb-quantization-args.py compute-dtype   # BitsAndBytesConfig(bnb_4bit_compute_dtype="bf16")
    python examples/bnb-quantization-args.py both            # BitsAndBytesConfig(load_in_4bit=True, load_in_8bit=True)

The model is a tiny Llama built locally (examples/tiny_models.py); the errors
come before any quantization, so they are the same on a CPU and a GPU.
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402
from tiny_models import model_dir  # noqa: E402
from transformers import AutoModelForCausalLM, BitsAndBytesConfig  # noqa: E402

model_name = model_dir("llama")  # stands in for "meta-llama/Llama-2-7b-hf"
variant = sys.argv[1] if len(sys.argv) > 1 else "8bit"

if variant == "8bit":
    model = AutoModelForCausalLM.from_pretrained(
        model_name,
        device_map="auto",
        dtype=torch.bfloat16,
        load_in_8bit=True,
    )
elif variant == "4bit":
    model = AutoModelForCausalLM.from_pretrained(
        model_name,
        load_in_4bit=True,
        bnb_4bit_compute_dtype=torch.bfloat16,
        device_map="auto",
    )
elif variant == "compute-dtype":
    bnb_config = BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_compute_dtype="bf16",
    )
    model = AutoModelForCausalLM.from_pretrained(model_name, quantization_config=bnb_config, device_map="auto")
elif variant == "both":
    bnb_config = BitsAndBytesConfig(load_in_4bit=True, load_in_8bit=True)
    model = AutoModelForCausalLM.from_pretrained(model_name, quantization_config=bnb_config, device_map="auto")
else:
    sys.exit(f"unknown variant {variant!r}")

print(model.model.layers[0].self_attn.q_proj)
