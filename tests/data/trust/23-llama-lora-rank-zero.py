# Rank sweep: the first value of the grid is 0 ("no adapter" baseline).
from peft import LoraConfig, get_peft_model
from transformers import LlamaConfig, LlamaForCausalLM

for rank in [0, 4, 8]:
    model = LlamaForCausalLM(LlamaConfig(vocab_size=256, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                         num_attention_heads=2, num_key_value_heads=2))
    model = get_peft_model(model, LoraConfig(r=rank, target_modules=["q_proj", "v_proj"]))
