# Feed a long document in one go to a model with a short context (absolute positions in OPT).
import torch
from transformers import OPTConfig, OPTForCausalLM

model = OPTForCausalLM(OPTConfig(vocab_size=256, hidden_size=32, ffn_dim=64, num_hidden_layers=1, num_attention_heads=2,
                                 word_embed_proj_dim=32, max_position_embeddings=16))
document = torch.randint(0, 256, (1, 40))
out = model(input_ids=document)
