# Summarisation with T5 + LoRA; target names from a Llama guide.
from peft import LoraConfig, TaskType, get_peft_model
from transformers import T5Config, T5ForConditionalGeneration

model = T5ForConditionalGeneration(T5Config(vocab_size=256, d_model=32, d_ff=64, d_kv=16, num_layers=1,
                                            num_heads=2, decoder_start_token_id=0))
peft_config = LoraConfig(task_type=TaskType.SEQ_2_SEQ_LM, r=8, lora_alpha=32, target_modules=["q_proj", "v_proj"])
model = get_peft_model(model, peft_config)
