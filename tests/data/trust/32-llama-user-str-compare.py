# Resume logic: the last epoch is read back from a text file.
import tempfile
from pathlib import Path

from transformers import LlamaConfig, LlamaForCausalLM

model = LlamaForCausalLM(LlamaConfig(vocab_size=256, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                     num_attention_heads=2, num_key_value_heads=2))
state = Path(tempfile.mkdtemp()) / "last_epoch.txt"
state.write_text("2")
last_epoch = state.read_text()
for epoch in range(3):
    if epoch <= last_epoch:
        continue
