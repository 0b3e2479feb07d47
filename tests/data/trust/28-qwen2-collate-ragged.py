# Hand-written collate function for variable-length examples.
import torch
from transformers import Qwen2Config, Qwen2ForCausalLM

model = Qwen2ForCausalLM(Qwen2Config(vocab_size=256, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                     num_attention_heads=2, num_key_value_heads=2))
examples = [torch.randint(0, 256, (n,)) for n in (7, 9, 5)]


def collate(batch):
    return torch.stack(batch)


input_ids = collate(examples)
loss = model(input_ids=input_ids, labels=input_ids).loss
