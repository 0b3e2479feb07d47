# Phi-3 + LoRA, config written from memory.
from peft import LoraConfig, get_peft_model
from transformers import Phi3Config, Phi3ForCausalLM

model = Phi3ForCausalLM(Phi3Config(vocab_size=256, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                   num_attention_heads=2, num_key_value_heads=2, pad_token_id=0))
lora = LoraConfig(lora_rank=8, lora_alpha=16, target_modules=["qkv_proj", "o_proj"], task_type="CAUSAL_LM")
model = get_peft_model(model, lora)
