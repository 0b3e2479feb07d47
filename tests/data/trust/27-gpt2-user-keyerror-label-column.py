# Manual training loop over a list of examples.
import torch
from peft import LoraConfig, get_peft_model
from transformers import GPT2Config, GPT2LMHeadModel

model = GPT2LMHeadModel(GPT2Config(vocab_size=256, n_embd=32, n_layer=1, n_head=2, n_positions=64))
model = get_peft_model(model, LoraConfig(r=4, target_modules=["c_attn"], fan_in_fan_out=True, task_type="CAUSAL_LM"))
data = [{"input_ids": torch.randint(0, 256, (8,)), "labels": torch.randint(0, 256, (8,))} for _ in range(4)]
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
for example in data:
    loss = model(input_ids=example["input_ids"][None], labels=example["label"][None]).loss
    loss.backward()
    optimizer.step()
