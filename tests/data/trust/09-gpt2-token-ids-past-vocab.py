# GPT-2 with a vocabulary shrunk for a toy corpus; ids come from a bigger tokenizer.
import torch
from peft import LoraConfig, get_peft_model
from transformers import GPT2Config, GPT2LMHeadModel

model = GPT2LMHeadModel(GPT2Config(vocab_size=128, n_embd=32, n_layer=1, n_head=2, n_positions=64))
model = get_peft_model(model, LoraConfig(r=4, target_modules=["c_attn"], task_type="CAUSAL_LM", fan_in_fan_out=True))
input_ids = torch.tensor([[50256, 464, 2068, 7586, 21831]])  # from the GPT-2 tokenizer
loss = model(input_ids=input_ids, labels=input_ids).loss
