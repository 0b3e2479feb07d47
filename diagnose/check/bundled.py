"""The config.json of base models most used with LoRA, shipped so that ``diagnose check`` works offline.

One JSON file per model in diagnose/check/configs/, the fields of the
published config.json that decide the architecture and its sizes, with the
repository it was taken from under ``_source``.  A name is found by its repo id
(``meta-llama/Llama-2-7b-hf``) or by the part after the organisation
(``Llama-2-7b-hf``), case-insensitively.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def _index() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for entry in resources.files("diagnose.check").joinpath("configs").iterdir():
        if entry.name.endswith(".json"):
            data = json.loads(entry.read_text(encoding="utf-8"))
            repo = data["_source"].lower()
            found[repo] = data
            found.setdefault(repo.rsplit("/", 1)[-1], data)
    return found


def lookup(name: str) -> dict[str, Any] | None:
    key = name.strip().rstrip("/").lower()
    index = _index()
    return index.get(key) or index.get(key.rsplit("/", 1)[-1])


def names() -> list[str]:
    return sorted({data["_source"] for data in _index().values()})
