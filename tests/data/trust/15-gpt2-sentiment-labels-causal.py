# "Classify" reviews with GPT-2 + LoRA by passing the sentiment as labels.
import torch
from peft import LoraConfig, get_peft_model
from transformers import GPT2Config, GPT2LMHeadModel

model = GPT2LMHeadModel(GPT2Config(vocab_size=256, n_embd=32, n_layer=1, n_head=2, n_positions=64))
model = get_peft_model(model, LoraConfig(r=8, target_modules=["c_attn"], task_type="CAUSAL_LM", fan_in_fan_out=True))

reviews = torch.randint(0, 256, (3, 16))
sentiment = torch.tensor([1, 0, 1])
outputs = model(input_ids=reviews, labels=sentiment)
outputs.loss.backward()
