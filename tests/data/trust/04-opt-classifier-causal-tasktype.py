# Sentiment classifier on OPT with LoRA; the LoraConfig came from a chat fine-tuning notebook.
import tempfile

from peft import LoraConfig, get_peft_model
from transformers import AutoModelForSequenceClassification, OPTConfig, OPTForSequenceClassification

folder = tempfile.mkdtemp()
OPTForSequenceClassification(OPTConfig(vocab_size=256, hidden_size=32, ffn_dim=64, num_hidden_layers=1,
                                       num_attention_heads=2, word_embed_proj_dim=32, num_labels=3)).save_pretrained(folder)

model = AutoModelForSequenceClassification.from_pretrained(folder, num_labels=3)
lora_config = LoraConfig(
    r=8,
    lora_alpha=16,
    target_modules=["q_proj", "v_proj"],
    lora_dropout=0.05,
    bias="none",
    task_type="CAUSAL_LM",
)
model = get_peft_model(model, lora_config)
