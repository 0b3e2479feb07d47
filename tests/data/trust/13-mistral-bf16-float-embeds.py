# Mistral in bfloat16 to save memory; the soft-prompt embeddings are built in float32.
import torch
from peft import LoraConfig, get_peft_model
from transformers import MistralConfig, MistralForCausalLM

model = MistralForCausalLM(MistralConfig(vocab_size=256, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                         num_attention_heads=4, num_key_value_heads=2)).to(torch.bfloat16)
model = get_peft_model(model, LoraConfig(r=4, target_modules=["q_proj", "v_proj"]))
prompt = torch.randn(1, 6, 32)
out = model(inputs_embeds=prompt)
