# Encoder-only T5 loaded to save memory, then asked to write a summary.
import torch
from transformers import T5Config, T5EncoderModel

encoder = T5EncoderModel(T5Config(vocab_size=256, d_model=32, d_ff=64, d_kv=16, num_layers=1, num_heads=2))
summary = encoder.generate(input_ids=torch.randint(0, 256, (1, 10)), max_new_tokens=8)
