# Sanity check before training: the loss of an untrained model should be about log(vocab).
import math

import torch
from transformers import MistralConfig, MistralForCausalLM

torch.manual_seed(0)
model = MistralForCausalLM(MistralConfig(vocab_size=256, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                         num_attention_heads=4, num_key_value_heads=2))
ids = torch.randint(0, 256, (2, 16))
loss = model(input_ids=ids, labels=ids).loss
assert abs(loss.item() - math.log(256)) < 1e-3, f"unexpected initial loss {loss.item():.3f}"
