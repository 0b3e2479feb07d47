# Wrap Mistral with LoRA and report the trainable parameters.
from peft import LoraConfig, get_peft_model
from transformers import MistralConfig, MistralForCausalLM

model = MistralForCausalLM(MistralConfig(vocab_size=256, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                         num_attention_heads=4, num_key_value_heads=2, sliding_window=None))
peft_config = LoraConfig(r=16, lora_alpha=32, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"])
get_peft_model(model, peft_config)
model.print_trainable_parameters()
