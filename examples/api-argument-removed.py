"""A fine-tuning script from a transformers-4 tutorial: TrainingArguments(evaluation_strategy=...).

Reproduces: ``api-argument-removed``.

transformers 4.41 renamed ``evaluation_strategy`` to ``eval_strategy`` (with
a deprecation warning) and 4.46 removed the old name.  ``TrainingArguments``
is a dataclass, so on transformers 5 the old keyword fails in its generated
``__init__``:
``TypeError: TrainingArguments.__init__() got an unexpected keyword argument 'evaluation_strategy'``.
CPU, no hub, no model needed.
"""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from transformers import TrainingArguments

args = TrainingArguments(
    output_dir="outputs/gpt2-lora",
    per_device_train_batch_size=4,
    learning_rate=2e-4,
    num_train_epochs=1,
    evaluation_strategy="steps",
    eval_steps=50,
    report_to=[],
)
print(args.eval_strategy)
