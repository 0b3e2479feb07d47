"""NOT this family: TrainingArguments with an argument transformers 5 removed.

``evaluation_strategy`` was renamed ``eval_strategy`` in transformers; 5.x no
longer accepts the old name.  The TypeError looks like the LoraConfig one but
comes from transformers' TrainingArguments, not from a PEFT config.
"""

import os
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from transformers import TrainingArguments

args = TrainingArguments(output_dir=tempfile.mkdtemp(), evaluation_strategy="steps", eval_steps=50)
