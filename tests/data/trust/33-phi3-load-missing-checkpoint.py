# Load the adapter weights saved by yesterday's run.
import torch
from transformers import Phi3Config, Phi3ForCausalLM

model = Phi3ForCausalLM(Phi3Config(vocab_size=256, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                   num_attention_heads=2, num_key_value_heads=2, pad_token_id=0))
state = torch.load("checkpoints/step-1000/adapter_model.bin", map_location="cpu")
model.load_state_dict(state, strict=False)
