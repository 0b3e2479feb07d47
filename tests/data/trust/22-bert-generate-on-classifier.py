# Try to get text out of a fine-tuned BERT classifier.
import torch
from peft import LoraConfig, get_peft_model
from transformers import BertConfig, BertForSequenceClassification

model = BertForSequenceClassification(BertConfig(vocab_size=256, hidden_size=32, num_hidden_layers=1,
                                                 num_attention_heads=2, intermediate_size=64))
model = get_peft_model(model, LoraConfig(r=4, target_modules=["query"], task_type="SEQ_CLS"))
text = model.generate(input_ids=torch.randint(0, 256, (1, 8)), max_new_tokens=10)
