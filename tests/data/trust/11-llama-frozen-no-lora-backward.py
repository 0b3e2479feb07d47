# Freeze the base model first, "add LoRA later" -- but the LoRA step was commented out.
import torch
from transformers import LlamaConfig, LlamaForCausalLM

model = LlamaForCausalLM(LlamaConfig(vocab_size=256, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                     num_attention_heads=2, num_key_value_heads=2))
for param in model.parameters():
    param.requires_grad = False
# model = get_peft_model(model, lora_config)

ids = torch.randint(0, 256, (2, 10))
loss = model(input_ids=ids, labels=ids).loss
loss.backward()
