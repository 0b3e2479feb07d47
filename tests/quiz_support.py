"""Fixture KB entries for the quiz tests (the shipped KB is written in parallel).

The entries are validated by the real schema; ``write_kb`` writes them as YAML
files so the real loader reads them through ``--kb``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import yaml

from diagnose.kb.schema import Entry

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)

_ENTRIES = [
    {
        "id": "peft-target-modules-not-found",
        "title": "target_modules names no layer of this model",
        "match": [{"exception": ["ValueError"], "message": "Target modules? .* not found in the base model"}],
        "why": "The names in target_modules are matched against the model's module names.",
        "fixes": [
            {
                "title": "Use your model's own layer names",
                "safety": "safe",
                "safety_reason": "only the config changes",
                "body": "Print model.named_modules().",
            }
        ],
        "quiz": [
            {
                "id": "gpt2-attention-module-names",
                "question": "Why does target_modules=['q_proj', 'v_proj'] fail on GPT-2, and what do you target instead?",
                "kind": "open",
                "answer": "GPT-2 has no q_proj or v_proj: its attention projects query, key and value with one "
                "fused Conv1D called c_attn, so target c_attn (and c_proj, c_fc for more); check the "
                "module names with model.named_modules().",
                "concepts": ["c_attn", "module names", "named_modules"],
                "synonyms": {
                    "module names": ["layer names", "names of the modules", "layer name"],
                    "named_modules": ["print(model)", "print the model"],
                },
                "hint": "Look at the names GPT-2 gives its attention layers.",
            },
            {
                "id": "target-modules-match-rule",
                "question": "How does PEFT match a string in target_modules against the model?",
                "kind": "choice",
                "choices": [
                    "Against the class name of each module",
                    "Against the end of each module's full name",
                    "Against the parameter names only",
                ],
                "answer": "Against the end of each module's full name",
            },
        ],
    },
    {
        "id": "cuda-out-of-memory",
        "title": "CUDA ran out of memory",
        "match": [{"exception": ["torch.OutOfMemoryError"]}],
        "why": "The step needed more GPU memory than was free.",
        "fixes": [
            {
                "title": "Lower the batch size",
                "safety": "safe",
                "safety_reason": "training semantics kept with gradient accumulation",
                "body": "per_device_train_batch_size=1",
            }
        ],
        "quiz": [
            {
                "id": "lora-memory-savings",
                "question": "With LoRA, which memory shrinks the most compared with full fine-tuning, and which does not?",
                "kind": "open",
                "answer": "Optimizer states and gradients shrink (only the adapter parameters train); the frozen "
                "base weights and the activations stay.",
                "concepts": ["optimizer state", "gradients", "frozen weights", "activations"],
                "synonyms": {
                    "optimizer state": ["adam moments", "adam states"],
                    "frozen weights": ["base weights", "base model weights"],
                    "activations": ["activation memory"],
                },
            },
            {
                "id": "rank-halving-scaling",
                "question": "At a fixed lora_alpha you change r from 8 to 16. By what factor does the update's scaling change?",
                "kind": "open",
                "answer": "It halves: scaling = lora_alpha / r goes from alpha/8 to alpha/16, a factor of 0.5.",
                "concepts": ["0.5"],
            },
        ],
    },
    {
        "id": "pad-token-missing",
        "title": "The tokenizer has no pad token",
        "match": [{"message": "Asking to pad but the tokenizer does not have a padding token"}],
        "why": "GPT-2 style tokenizers ship without a pad token.",
        "fixes": [
            {
                "title": "Reuse EOS as pad",
                "safety": "safe",
                "safety_reason": "labels mask the pads",
                "body": "tokenizer.pad_token = tokenizer.eos_token",
            }
        ],
        "quiz": [],
    },
]


def entries(*, without: tuple[str, ...] = ()) -> dict[str, Entry]:
    """The fixture entries; ``without`` drops questions by id (an edited KB)."""
    out = {}
    for raw in _ENTRIES:
        data = dict(raw)
        data["quiz"] = [q for q in raw["quiz"] if q["id"] not in without]
        entry = Entry.model_validate(data)
        out[entry.id] = entry
    return out


def question(question_id: str):
    for entry in entries().values():
        for q in entry.quiz:
            if q.id == question_id:
                return q
    raise KeyError(question_id)


def write_kb(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for raw in _ENTRIES:
        (folder / f"{raw['id']}.yaml").write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return folder


def lora_probes(r=8, lora_alpha=16, **more) -> dict:
    fields = {"r": r, "lora_alpha": lora_alpha, "target_modules": ["c_attn"], "lora_dropout": 0.05}
    fields.update(more)
    return {"peft_configs": [{"class": "LoraConfig", "fields": fields}]}


def recorded_run(name: str) -> tuple[dict, str | None]:
    """(probes, exception message) recorded from a real example run (tests/data/quiz_probes_<name>.json)."""
    import json

    data = json.loads((Path(__file__).parent / "data" / f"quiz_probes_{name}.json").read_text(encoding="utf-8"))
    return data["probes"], data["exception_message"]


def gpt2_probes() -> dict:
    return recorded_run("gpt2_target_modules")[0]
