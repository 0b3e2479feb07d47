# Custom loss on top of a RoBERTa + LoRA classifier; labels were padded per token by the collator.
import torch
import torch.nn.functional as F
from peft import LoraConfig, get_peft_model
from transformers import RobertaConfig, RobertaForSequenceClassification

model = RobertaForSequenceClassification(RobertaConfig(vocab_size=256, hidden_size=32, num_hidden_layers=1,
                                                       num_attention_heads=2, intermediate_size=64, num_labels=3))
model = get_peft_model(model, LoraConfig(r=4, target_modules=["query", "value"], task_type="SEQ_CLS"))
ids = torch.randint(3, 256, (2, 6))
labels = torch.randint(0, 3, (2, 6))
logits = model(input_ids=ids).logits
loss = F.cross_entropy(logits, labels.view(-1), label_smoothing=0.1)
