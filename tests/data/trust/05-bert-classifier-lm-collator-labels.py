# Spam classifier: BERT + LoRA. The batch was built like the language-model recipe (labels = input_ids).
import torch
from peft import LoraConfig, get_peft_model
from transformers import BertConfig, BertForSequenceClassification

model = BertForSequenceClassification(BertConfig(vocab_size=256, hidden_size=32, num_hidden_layers=1,
                                                 num_attention_heads=2, intermediate_size=64, num_labels=2))
model = get_peft_model(model, LoraConfig(task_type="SEQ_CLS", r=4, lora_alpha=8, target_modules=["query", "value"]))

input_ids = torch.randint(5, 256, (4, 12))
batch = {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids), "labels": input_ids.clone()}
out = model(**batch)
out.loss.backward()
