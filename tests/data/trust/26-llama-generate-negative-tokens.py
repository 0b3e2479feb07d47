# Generate a continuation "up to the context size".
import torch
from transformers import LlamaConfig, LlamaForCausalLM

model = LlamaForCausalLM(LlamaConfig(vocab_size=256, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                     num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=16))
prompt = torch.randint(0, 256, (1, 20))
out = model.generate(prompt, max_new_tokens=model.config.max_position_embeddings - prompt.shape[1])
