# Pick a learning rate by the LoRA rank read from a CLI-like dict.
from peft import LoraConfig

cli = {"rank": "16"}
lora_config = LoraConfig(r=int(cli["rank"]), lora_alpha=32, target_modules=["c_attn"], task_type="CAUSAL_LM")
learning_rate = 2e-4 if cli["rank"] > 8 else 1e-4
