"""Loading a LoRA adapter from the Trainer's output_dir instead of its checkpoint folder.

Reproduces: ``adapter-config-missing`` (variant through transformers'
``load_adapter``).

``Trainer`` writes each checkpoint of a PEFT model into
``output_dir/checkpoint-<step>/`` (``adapter_config.json``,
``adapter_model.safetensors``, optimizer state, ...); ``output_dir`` itself
gets the adapter only when ``trainer.save_model()`` is called.  Here the
adapter sits in ``checkpoint-500`` (saved the way the Trainer saves it) and
the script points at ``output_dir``, so transformers finds no
``adapter_config.json`` and raises ``ValueError: adapter model file not found
in <output_dir>``.  Tiny Llama, CPU, no hub.
"""

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM

from tiny_models import model_dir

output_dir = Path(tempfile.mkdtemp(prefix="lora-run-"))
get_peft_model(
    AutoModelForCausalLM.from_pretrained(model_dir("llama")),
    LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"),
).save_pretrained(output_dir / "checkpoint-500")

model = AutoModelForCausalLM.from_pretrained(model_dir("llama"))
model.load_adapter(str(output_dir))
