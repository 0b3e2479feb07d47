"""Loading a merged model's folder as if it were a LoRA adapter.

Reproduces: ``adapter-config-missing``.

After training, the script merged the LoRA weights into the base model
(``merge_and_unload``) and saved the result: that folder holds a full model
(``config.json``, ``model.safetensors``), not an adapter.  A later script
calls ``PeftModel.from_pretrained(base, folder)``, which needs the adapter's
``adapter_config.json``.  PEFT looks for it locally, then asks the hub, which
rejects a local path as a repo id, and raises
``ValueError: Can't find 'adapter_config.json' at '<folder>'``.
Tiny GPT-2, CPU, no hub.
"""

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from peft import LoraConfig, PeftModel, get_peft_model
from transformers import AutoModelForCausalLM

from tiny_models import model_dir

output_dir = Path(tempfile.mkdtemp(prefix="adapter-config-missing-")) / "gpt2-lora-merged"

# --- end of the training script: merge the adapter into the model and save it
model = get_peft_model(
    AutoModelForCausalLM.from_pretrained(model_dir("gpt2")),
    LoraConfig(r=8, lora_alpha=16, target_modules=["c_attn"], task_type="CAUSAL_LM"),
)
model.merge_and_unload().save_pretrained(output_dir)

# --- the evaluation script: treats that folder as an adapter
base = AutoModelForCausalLM.from_pretrained(model_dir("gpt2"))
model = PeftModel.from_pretrained(base, str(output_dir))
