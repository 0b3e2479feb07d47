"""Reproduce bf16-unsupported: mixed precision asked for on a device that cannot do it.

``TrainingArguments(bf16=True)`` checks in ``__post_init__`` that the GPU can
compute in bfloat16; without a GPU (or on a pre-Ampere one) it raises
``ValueError: Your setup doesn't support bf16/gpu ...``.  trl 1.x's configs
(``SFTConfig``, ``GRPOConfig``, ...) default to ``bf16=True``, so a plain
``SFTConfig(output_dir=...)`` fails the same way on a machine without a
bf16-capable GPU.

    python examples/bf16-unsupported.py            # TrainingArguments(bf16=True) on this CPU
    python examples/bf16-unsupported.py sft        # trl SFTConfig() with its defaults on this CPU

Nothing is downloaded; no model is needed: the check runs when the
arguments are built.
"""

import os
import sys
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")
output_dir = tempfile.mkdtemp()

if sys.argv[1:] == ["sft"]:
    from trl import SFTConfig

    args = SFTConfig(output_dir=output_dir, max_steps=10)
else:
    from transformers import TrainingArguments

    args = TrainingArguments(output_dir=output_dir, max_steps=10, bf16=True)
print(args.bf16, args.fp16)
