# Gemma LoRA sweep script: rank and alpha from the command line.
import argparse

from peft import LoraConfig, get_peft_model
from transformers import GemmaConfig, GemmaForCausalLM

parser = argparse.ArgumentParser()
parser.add_argument("--rank", default="8")
parser.add_argument("--alpha", type=int, default=16)
args = parser.parse_args([])

model = GemmaForCausalLM(GemmaConfig(vocab_size=256, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                     num_attention_heads=2, num_key_value_heads=1, head_dim=16))
model = get_peft_model(model, LoraConfig(r=args.rank, lora_alpha=args.alpha, target_modules=["q_proj", "v_proj"]))
model.print_trainable_parameters()
