"""An adapter named by hub id, with the hub unreachable (offline mode).

Reproduces: ``adapter-config-missing`` (second variant).

``"my-user/gpt2-lora"`` is not a local folder, so PEFT asks the hub for its
``adapter_config.json``; in offline mode (``HF_HUB_OFFLINE=1``) the download
fails and PEFT turns that failure into
``ValueError: Can't find 'adapter_config.json' at 'my-user/gpt2-lora'``.
The underlying cause is shown above it in the chained traceback.
Tiny GPT-2, CPU, no network use.
"""

import os
import sys
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from peft import PeftModel
from transformers import AutoModelForCausalLM

from tiny_models import model_dir

base = AutoModelForCausalLM.from_pretrained(model_dir("gpt2"))
model = PeftModel.from_pretrained(base, "my-user/gpt2-lora")
