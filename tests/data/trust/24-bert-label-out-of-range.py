# 3 sentiment classes in the data (0, 1, 2) but the head was created with num_labels=2.
import torch
from transformers import BertConfig, BertForSequenceClassification

model = BertForSequenceClassification(BertConfig(vocab_size=256, hidden_size=32, num_hidden_layers=1,
                                                 num_attention_heads=2, intermediate_size=64, num_labels=2))
ids = torch.randint(0, 256, (3, 8))
loss = model(input_ids=ids, labels=torch.tensor([0, 1, 2])).loss
