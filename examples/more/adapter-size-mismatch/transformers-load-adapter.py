"""A LoRA adapter loaded onto a wider model through transformers' ``load_adapter``.

Reproduces: ``adapter-size-mismatch`` (third variant, transformers' own PEFT
integration).  ``PreTrainedModel.load_adapter`` in transformers 5 prints a
"LOAD REPORT" table whose rows mark each ``lora_A``/``lora_B`` tensor
``MISMATCH``, then raises ``RuntimeError: You set `ignore_mismatched_sizes` to
`False`, thus raising an error.``  Tiny Llamas, CPU, no hub.
"""

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, LlamaConfig

from tiny_models import model_dir

adapter_dir = Path(tempfile.mkdtemp(prefix="load-adapter-")) / "my-lora-adapter"
get_peft_model(
    AutoModelForCausalLM.from_pretrained(model_dir("llama")),
    LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"),
).save_pretrained(adapter_dir)

bigger = AutoModelForCausalLM.from_config(LlamaConfig(
    hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
    num_key_value_heads=4, max_position_embeddings=64, vocab_size=512,
))
bigger.load_adapter(str(adapter_dir))
