"""Reproduce meta-tensor-weights: a model whose weights were never loaded, moved to a device.

``accelerate.init_empty_weights()`` is meant for building a model *skeleton*
(``from_config``) whose parameters live on the meta device: shapes and dtypes
only, no storage.  Wrapping ``from_pretrained`` in it "to save memory" looks
harmless -- with transformers 5.24 the load prints its progress bar and
returns without a warning -- but every parameter is still on meta: the
checkpoint's tensors were never kept.  LoRA wraps it (the new LoRA weights
land on meta too), and the first ``model.to(device)`` has nothing to copy:

    NotImplementedError: Cannot copy out of meta tensor; no data! Please use
    torch.nn.Module.to_empty() instead of torch.nn.Module.to() when moving
    module from meta to a different device.

(``"cpu"`` here; on a GPU machine the same line is ``model.to("cuda")``.)
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).parent))

from accelerate import init_empty_weights  # noqa: E402
from peft import LoraConfig, get_peft_model  # noqa: E402
from tiny_models import model_dir  # noqa: E402
from transformers import AutoModelForCausalLM  # noqa: E402

# The bug: from_pretrained inside init_empty_weights leaves every weight on meta.
with init_empty_weights():
    model = AutoModelForCausalLM.from_pretrained(model_dir("llama"))
model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
model.to("cpu")
