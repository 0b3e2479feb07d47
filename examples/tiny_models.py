"""Build tiny language models from config objects into a local folder.

The examples and tests never reach the hub: each model is built with random
weights from a real transformers config, written with the real
``save_pretrained`` and loaded back with the real ``from_pretrained``, so the
loading, PEFT-wrapping and training code paths are the ones users run.

    python examples/tiny_models.py            # builds all into .tiny-models/
    python -c "from tiny_models import model_dir; print(model_dir('gpt2'))"
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(os.environ.get("TINY_MODELS_DIR", Path(__file__).resolve().parent.parent / ".tiny-models"))

# vocab 512 keeps every model well under a megabyte while still holding the
# GPT-2 tokenizer-free ids the examples feed.
VOCAB = 512


def _configs():
    from transformers import GPT2Config, LlamaConfig, OPTConfig, Qwen2Config

    return {
        "gpt2": GPT2Config(
            n_layer=2, n_embd=32, n_head=2, n_positions=64, vocab_size=VOCAB, bos_token_id=0, eos_token_id=0,
        ),
        "llama": LlamaConfig(
            hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
            num_key_value_heads=2, max_position_embeddings=64, vocab_size=VOCAB,
        ),
        "qwen2": Qwen2Config(
            hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
            num_key_value_heads=2, max_position_embeddings=64, vocab_size=VOCAB,
        ),
        "opt": OPTConfig(
            hidden_size=32, ffn_dim=64, num_hidden_layers=2, num_attention_heads=2,
            max_position_embeddings=64, vocab_size=VOCAB, word_embed_proj_dim=32,
        ),
    }


NAMES = ("gpt2", "llama", "qwen2", "opt")


def model_dir(name: str) -> str:
    """Folder of the tiny ``name`` model, built on first use."""
    if name not in NAMES:
        raise KeyError(f"no tiny model {name!r}; choose from {', '.join(NAMES)}")
    folder = ROOT / name
    if not (folder / "config.json").exists():
        build(name, folder)
    return str(folder)


def build(name: str, folder: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(_configs()[name])
    tmp = folder.with_name(folder.name + f".tmp{os.getpid()}")
    model.save_pretrained(tmp)
    try:
        tmp.replace(folder)  # atomic: a reader never sees a half-written model
    except OSError:  # another process built it first (parallel tests)
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str]) -> int:
    for name in argv or NAMES:
        print(f"{name:6} {model_dir(name)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
