# RoBERTa intent classifier; the LoRA config was reused from a T5 project.
from peft import LoraConfig, TaskType, get_peft_model
from transformers import RobertaConfig, RobertaForSequenceClassification

model = RobertaForSequenceClassification(RobertaConfig(vocab_size=256, hidden_size=32, num_hidden_layers=1,
                                                       num_attention_heads=2, intermediate_size=64, num_labels=5))
config = LoraConfig(task_type=TaskType.SEQ_2_SEQ_LM, r=8, lora_alpha=16, target_modules=["query", "value"])
model = get_peft_model(model, config)
