# Token ids normalised "like the other features" before the forward pass.
import torch
from transformers import LlamaConfig, LlamaForCausalLM

model = LlamaForCausalLM(LlamaConfig(vocab_size=256, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                     num_attention_heads=2, num_key_value_heads=2))
ids = torch.randint(0, 256, (2, 8))
features = ids.float() / 255.0
out = model(input_ids=features)
