"""Reproduce peft-target-modules-unspecified: LoraConfig without target_modules on a model peft has no default for.

peft knows default LoRA targets for the architectures in its mapping
(``TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING``: llama → q_proj/v_proj,
gpt2 → c_attn, ...).  For any other model (your own ``nn.Module``, a new or
remote-code architecture) ``LoraConfig()`` without ``target_modules`` fails in
``get_peft_model`` with ``ValueError: Please specify `target_modules` in `peft_config```.

    python examples/peft-target-modules-unspecified.py        # LoraConfig()
    python examples/peft-target-modules-unspecified.py ia3    # IA3Config(): peft's other wording

The model is a tiny custom transformer block stack built here with random
weights; nothing is downloaded.
"""

import sys

import torch
from peft import IA3Config, LoraConfig, get_peft_model
from torch import nn


class Block(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.ff_in = nn.Linear(dim, 4 * dim)
        self.ff_out = nn.Linear(4 * dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        attn = torch.softmax(q @ k.transpose(-1, -2) / q.shape[-1] ** 0.5, dim=-1)
        x = x + self.proj(attn @ v)
        return x + self.ff_out(torch.relu(self.ff_in(x)))


class TinyLM(nn.Module):
    def __init__(self, vocab: int = 64, dim: int = 16, layers: int = 2) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.blocks = nn.ModuleList(Block(dim) for _ in range(layers))
        self.head = nn.Linear(dim, vocab)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        x = self.embed(input_ids)
        for block in self.blocks:
            x = block(x)
        return self.head(x)


torch.manual_seed(0)
model = TinyLM()
if sys.argv[1:] == ["ia3"]:
    model = get_peft_model(model, IA3Config())
else:
    lora_config = LoraConfig(r=8, lora_alpha=16, lora_dropout=0.05)  # no target_modules: fine for Llama, not here
    model = get_peft_model(model, lora_config)
model.print_trainable_parameters()
