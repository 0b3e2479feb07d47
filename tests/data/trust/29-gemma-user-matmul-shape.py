# Score candidate tokens by hand with the output embedding.
import torch
from transformers import GemmaConfig, GemmaForCausalLM

model = GemmaForCausalLM(GemmaConfig(vocab_size=256, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                     num_attention_heads=2, num_key_value_heads=1, head_dim=16))
hidden = model.model(input_ids=torch.randint(0, 256, (1, 6))).last_hidden_state[:, -1]
scores = hidden @ model.lm_head.weight  # (1, 32) @ (256, 32)
