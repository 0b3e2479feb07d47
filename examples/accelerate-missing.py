"""Reproduce accelerate-missing: device_map="auto" or Trainer without accelerate installed.

transformers does placement across devices (``device_map``) and the Trainer's
device setup through the ``accelerate`` library, which is not one of
transformers' own install requirements (``pip install transformers`` does not
bring it; ``pip install 'transformers[torch]'`` does).  Without it:

    python examples/accelerate-missing.py            # from_pretrained(..., device_map="auto") -> ValueError
    python examples/accelerate-missing.py trainer    # TrainingArguments/Trainer -> ImportError
    python examples/accelerate-missing.py bnb        # quantization_config=BitsAndBytesConfig(...) -> ImportError

It only fails in an environment without accelerate, e.g.
    python -m venv /tmp/noacc && /tmp/noacc/bin/pip install torch transformers
    /tmp/noacc/bin/python examples/accelerate-missing.py
Where accelerate is installed the same calls succeed (that is the fix), and the
script says so and exits 0.
"""

import importlib.util
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from tiny_models import model_dir  # noqa: E402
from transformers import AutoModelForCausalLM  # noqa: E402

if sys.argv[1:] == ["trainer"]:
    import torch
    from transformers import Trainer, TrainingArguments

    model = AutoModelForCausalLM.from_pretrained(model_dir("llama"))
    ids = torch.randint(0, 512, (4, 16))
    train_data = [{"input_ids": row, "labels": row} for row in ids]
    args = TrainingArguments(output_dir="/tmp/accelerate-missing-out", max_steps=1, report_to=[])
    trainer = Trainer(model=model, args=args, train_dataset=train_data)
    trainer.train()
elif sys.argv[1:] == ["bnb"]:
    from transformers import BitsAndBytesConfig

    model = AutoModelForCausalLM.from_pretrained(
        model_dir("llama"), quantization_config=BitsAndBytesConfig(load_in_4bit=True)
    )
else:
    model = AutoModelForCausalLM.from_pretrained(model_dir("llama"), device_map="auto")
    print(model.device)

if importlib.util.find_spec("accelerate") is not None:
    print("accelerate is installed here, so nothing failed; run this without accelerate", file=sys.stderr)
