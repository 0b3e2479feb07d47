# Qwen2: freeze everything, then build the optimizer over the trainable parameters.
import torch
from transformers import Qwen2Config, Qwen2ForCausalLM

model = Qwen2ForCausalLM(Qwen2Config(vocab_size=256, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                     num_attention_heads=2, num_key_value_heads=2))
model.requires_grad_(False)
optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-4)
