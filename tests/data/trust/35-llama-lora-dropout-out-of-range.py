# Dropout given as a percentage.
from peft import LoraConfig, get_peft_model
from transformers import LlamaConfig, LlamaForCausalLM

model = LlamaForCausalLM(LlamaConfig(vocab_size=256, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                     num_attention_heads=2, num_key_value_heads=2))
model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, lora_dropout=5.0, target_modules=["q_proj", "v_proj"]))
