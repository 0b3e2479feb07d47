# Hyper-parameters come from the job's environment (set by the cluster launcher).
import os

import torch
from peft import LoraConfig, TaskType, get_peft_model
from transformers import Qwen2Config, Qwen2ForCausalLM

RANK = int(os.environ.get("LORA_R", "8"))
DROPOUT = os.environ.get("LORA_DROPOUT", "0.1")

model = Qwen2ForCausalLM(Qwen2Config(vocab_size=256, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                     num_attention_heads=2, num_key_value_heads=2))
config = LoraConfig(task_type=TaskType.CAUSAL_LM, r=RANK, lora_alpha=2 * RANK, lora_dropout=DROPOUT,
                    target_modules=["q_proj", "v_proj"])
model = get_peft_model(model, config)
batch = torch.randint(0, 256, (2, 8))
model(input_ids=batch, labels=batch).loss.backward()
