# Add a second adapter for another task -- under the same name.
from peft import LoraConfig, get_peft_model
from transformers import Qwen2Config, Qwen2ForCausalLM

model = Qwen2ForCausalLM(Qwen2Config(vocab_size=256, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                     num_attention_heads=2, num_key_value_heads=2))
model = get_peft_model(model, LoraConfig(r=4, target_modules=["q_proj"]))
model.add_adapter("default", LoraConfig(r=8, target_modules=["v_proj"]))
