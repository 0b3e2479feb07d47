# T5 + LoRA summariser: the batch dict uses the tokenizer's old key name.
import torch
from peft import LoraConfig, get_peft_model
from transformers import T5Config, T5ForConditionalGeneration

model = T5ForConditionalGeneration(T5Config(vocab_size=256, d_model=32, d_ff=64, d_kv=16, num_layers=1, num_heads=2,
                                            decoder_start_token_id=0))
model = get_peft_model(model, LoraConfig(r=4, target_modules=["q", "v"], task_type="SEQ_2_SEQ_LM"))
batch = {"source_ids": torch.randint(0, 256, (2, 12)), "labels": torch.randint(0, 256, (2, 6))}
out = model(input_ids=batch.get("input_ids"), labels=batch["labels"])
