# LoRA settings stored as a JSON string in the experiment tracker (all values quoted).
import json

from peft import LoraConfig, get_peft_model
from transformers import Qwen2Config, Qwen2ForCausalLM

settings = json.loads('{"r": 8, "lora_alpha": "16", "target_modules": ["q_proj", "k_proj"]}')
model = Qwen2ForCausalLM(Qwen2Config(vocab_size=256, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                     num_attention_heads=2, num_key_value_heads=2))
model = get_peft_model(model, LoraConfig(**settings))
