# Put LoRA "on the MLP" of a Llama.
from peft import LoraConfig, get_peft_model
from transformers import LlamaConfig, LlamaForCausalLM

model = LlamaForCausalLM(LlamaConfig(vocab_size=256, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                     num_attention_heads=2, num_key_value_heads=2))
model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_modules=["mlp"], task_type="CAUSAL_LM"))
