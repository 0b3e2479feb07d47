"""A LoraConfig with a keyword argument that LoraConfig does not have.

Reproduces: ``peft-config-unknown-field``.

``dropout=`` is the name other libraries use; PEFT's field is
``lora_dropout``.  ``LoraConfig`` is a dataclass, so an unknown keyword is
rejected by its generated ``__init__``:
``TypeError: LoraConfig.__init__() got an unexpected keyword argument 'dropout'``.
The same error appears when a script written for a newer PEFT passes a field
the installed PEFT does not know yet.  CPU, no hub, no model needed.
"""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from peft import LoraConfig

lora_config = LoraConfig(
    r=8,
    lora_alpha=16,
    target_modules=["c_attn"],
    dropout=0.05,
    bias="none",
    task_type="CAUSAL_LM",
)
print(lora_config)
