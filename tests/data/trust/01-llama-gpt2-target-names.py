# Fine-tune a small Llama with LoRA, target_modules copied from a GPT-2 tutorial.
import torch
from peft import LoraConfig, get_peft_model
from transformers import LlamaConfig, LlamaForCausalLM

config = LlamaConfig(vocab_size=256, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                     num_attention_heads=2, num_key_value_heads=2)
model = LlamaForCausalLM(config)

lora = LoraConfig(r=8, lora_alpha=32, target_modules=["c_attn", "c_proj"], lora_dropout=0.1, task_type="CAUSAL_LM")
model = get_peft_model(model, lora)
model.print_trainable_parameters()
