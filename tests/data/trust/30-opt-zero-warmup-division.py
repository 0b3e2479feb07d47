# Linear warmup schedule written by hand; warmup_steps came out as 0 for a tiny dataset.
import torch
from peft import LoraConfig, get_peft_model
from transformers import OPTConfig, OPTForCausalLM

model = OPTForCausalLM(OPTConfig(vocab_size=256, hidden_size=32, ffn_dim=64, num_hidden_layers=1, num_attention_heads=2,
                                 word_embed_proj_dim=32))
model = get_peft_model(model, LoraConfig(r=4, target_modules=["q_proj", "v_proj"]))
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
total_steps = 10
warmup_steps = int(0.05 * total_steps)
scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, step / warmup_steps))
