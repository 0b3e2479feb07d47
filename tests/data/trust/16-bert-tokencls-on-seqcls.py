# NER with LoRA: task_type TOKEN_CLS, but the model was loaded with the sequence-classification head.
import torch
from peft import LoraConfig, get_peft_model
from transformers import BertConfig, BertForSequenceClassification

model = BertForSequenceClassification(BertConfig(vocab_size=256, hidden_size=32, num_hidden_layers=1,
                                                 num_attention_heads=2, intermediate_size=64, num_labels=9))
model = get_peft_model(model, LoraConfig(task_type="TOKEN_CLS", r=8, lora_alpha=16, target_modules=["query", "value"]))

tokens = torch.randint(0, 256, (2, 10))
tags = torch.randint(0, 9, (2, 10))  # one NER tag per token
loss = model(input_ids=tokens, labels=tags).loss
