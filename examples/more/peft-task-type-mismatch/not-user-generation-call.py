"""Not this family: the user's own line calls a generation method on a classifier.

The message is the one peft raises for a wrong task_type, but here the
failing lookup is in the script itself; it must not be diagnosed as
``peft-task-type-mismatch``.  Tiny BERT built from its config, CPU.
"""

from transformers import BertConfig, BertForSequenceClassification

config = BertConfig(vocab_size=512, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64)
model = BertForSequenceClassification(config)
inputs = model.prepare_inputs_for_generation(input_ids=None)
