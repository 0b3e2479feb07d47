"""Build a tiny real tokenizer into a local folder, like tiny_models does for models.

The tokenizer is a word-level ``tokenizers`` model wrapped in transformers'
``PreTrainedTokenizerFast`` and written with the real ``save_pretrained``, so
``AutoTokenizer.from_pretrained(tokenizer_dir("nopad"))`` runs the loading
code users run.  Like the Llama and GPT-2 tokenizers on the hub, the ``nopad``
tokenizer has an end-of-sequence token but no padding token.

    python examples/tiny_tokenizer.py          # builds it into .tiny-models/
    python -c "from tiny_tokenizer import tokenizer_dir; print(tokenizer_dir('nopad'))"
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tiny_models import ROOT  # noqa: E402  (same folder as the tiny models)

WORDS = (
    "the a an is are was to of and in on for with that this it model train lora adapter rank "
    "weight layer token pad batch data loss learning rate fine tune hello world"
).split()

NAMES = ("nopad",)


def tokenizer_dir(name: str = "nopad") -> str:
    """Folder of the tiny ``name`` tokenizer, built on first use."""
    if name not in NAMES:
        raise KeyError(f"no tiny tokenizer {name!r}; choose from {', '.join(NAMES)}")
    folder = ROOT / f"tokenizer-{name}"
    if not (folder / "tokenizer_config.json").exists():
        build(folder)
    return str(folder)


def build(folder: Path) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    specials = ["<unk>", "<s>", "</s>"]
    vocab = {token: index for index, token in enumerate(specials + list(WORDS))}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
    )
    tmp = folder.with_name(folder.name + f".tmp{os.getpid()}")
    tokenizer.save_pretrained(tmp)
    tmp.replace(folder) if not folder.exists() else None


def main(argv: list[str]) -> int:
    for name in argv or NAMES:
        print(f"{name:6} {tokenizer_dir(name)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
