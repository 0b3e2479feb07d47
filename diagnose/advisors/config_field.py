"""peft-config-unknown-field: the fields this peft's config accepts, the closest one, and its history.

The accepted fields come from the callables probe (the live signature of the
class the failing line called) or, from text alone, statically from the
installed peft's source.  The closest field is found by known aliases first
(``dropout`` -> ``lora_dropout``) and spelling second.  For a field this
peft does not know but a later one does, the sampled peft release that
introduced it is given (diagnose/advisors/_lora_history.py).
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from diagnose.advisors._common import message, names, text_only_note, user_code, user_statement
from diagnose.advisors._lora_history import FIRST_SEEN, SAMPLED
from diagnose.advisors._static import peft_config_fields
from diagnose.incident import Incident
from diagnose.libfacts import installed_version
from diagnose.report import Advice, Finding, FixView

_UNEXPECTED = re.compile(r"(?:(\w+)\.)?__init__\(\) got an unexpected keyword argument '(\w+)'")
# words people use for a LoRA field (tutorials, other libraries' names)
ALIASES = {
    "dropout": "lora_dropout",
    "alpha": "lora_alpha",
    "rank": "r",
    "lora_r": "r",
    "lora_rank": "r",
    "target_module": "target_modules",
    "modules": "target_modules",
    "target_layers": "target_modules",
    "targets": "target_modules",
    "task": "task_type",
    "scaling": "lora_alpha",
    "lora_scaling": "lora_alpha",
    "init_weights": "init_lora_weights",
    "dora": "use_dora",
    "rslora": "use_rslora",
    "exclude": "exclude_modules",
    "lora_bias_term": "lora_bias",
    "modules_to_train": "modules_to_save",
    "trainable_modules": "modules_to_save",
}
# fields that belong elsewhere, not in a peft config
ELSEWHERE = {
    "load_in_8bit": "`BitsAndBytesConfig(load_in_8bit=True)` passed as `quantization_config` to `from_pretrained`",
    "load_in_4bit": "`BitsAndBytesConfig(load_in_4bit=True, ...)` passed as `quantization_config` to `from_pretrained`",
    "learning_rate": "the optimizer or `TrainingArguments(learning_rate=...)`",
    "lr": "the optimizer (`torch.optim.AdamW(..., lr=...)`) or `TrainingArguments(learning_rate=...)`",
    "gradient_checkpointing": "`TrainingArguments(activation_checkpointing=True)` or `model.activation_checkpointing_enable()`",
    "max_seq_length": "the tokenizer call or the trainer (`SFTConfig(max_length=...)`)",
    "quantization_config": "`from_pretrained(..., quantization_config=...)`",
}


def advise(incident: Incident) -> Advice:
    found = _UNEXPECTED.search(message(incident)) or _UNEXPECTED.search(incident.text)
    class_name = (found.group(1) if found and found.group(1) else None) or "LoraConfig"
    wrong = found.group(2) if found else None
    accepted, from_probe = _accepted(incident, class_name)
    if wrong is None:
        return Advice(note="The unexpected keyword was not found in the message.")
    suggestion = closest(wrong, accepted)
    findings = []
    version = (incident.probes.get("versions", {}) or {}).get("peft") or installed_version("peft") or "?"
    user = [f for f in accepted if not _internal(f)]
    findings.append(
        Finding(
            title=f"`{wrong}` is not a field of {class_name} (peft {version})",
            text=f"{class_name} accepts: {names(user)}.",
        )
    )
    history = _history(wrong, class_name, version)
    if history:
        findings.append(Finding(title="In other peft versions", text=history))
    if wrong in ELSEWHERE:
        findings.append(Finding(title=f"`{wrong}` belongs elsewhere", text=f"It is set with {ELSEWHERE[wrong]}."))
    fixes = []
    if suggestion:
        code = user_statement(incident) or user_code(incident)
        fixed = re.sub(rf"\b{re.escape(wrong)}\s*=", f"{suggestion}=", code) if code else ""
        body = (
            f"```python\n{fixed}\n```"
            if fixed and fixed != code
            else f"Use `{suggestion}=...` instead of `{wrong}=...`."
        )
        fixes.append(
            FixView(
                title=f"Rename `{wrong}` to `{suggestion}`",
                safety="safe",
                safety_reason="the same setting under the name this peft version uses",
                body=body,
                tailored=True,
            )
        )
    elif wrong not in ELSEWHERE:
        fixes.append(
            FixView(
                title=f"Remove `{wrong}`",
                safety="manual",
                safety_reason=f"{class_name} has no such setting; check what you meant it to do",
                body=f"Delete `{wrong}=...` from the `{class_name}(...)` call.",
                tailored=True,
            )
        )
    params: dict[str, Any] = {"config_class": class_name, "field": wrong}
    if suggestion:
        params["suggestion"] = suggestion
    note = (
        None
        if from_probe
        else text_only_note(
            f"the accepted fields were read from the installed peft's source ({version}), which may differ from "
            "the version that printed this error."
        )
    )
    return Advice(findings=findings, fixes=fixes, params=params, note=note)


def _internal(field: str) -> bool:
    return field in (
        "peft_type",
        "auto_mapping",
        "peft_version",
        "base_model_name_or_path",
        "revision",
        "megatron_config",
        "megatron_core",
        "runtime_config",
    )


def _accepted(incident: Incident, class_name: str) -> tuple[list[str], bool]:
    for call in incident.probes.get("callables", []):
        if call.get("name", "").rsplit(".", 1)[-1] == class_name or call.get("qualname", "").endswith("." + class_name):
            return list(call.get("parameters", [])), True
    return list(peft_config_fields(class_name)), False


def closest(wrong: str, accepted: list[str]) -> str | None:
    alias = ALIASES.get(wrong.lower())
    if alias and (alias in accepted or not accepted):
        return alias
    near = difflib.get_close_matches(wrong, accepted, n=1, cutoff=0.6)
    if near:
        return near[0]
    prefixed = f"lora_{wrong}"
    return prefixed if prefixed in accepted else None


def _history(wrong: str, class_name: str, version: str) -> str | None:
    if class_name != "LoraConfig":
        return None
    seen = FIRST_SEEN.get(wrong)
    sampled = f"peft {SAMPLED[0]}–{SAMPLED[-1]}"
    if seen is None:
        return f"No sampled release of {sampled} has a LoraConfig field `{wrong}`: it was never a field."
    before, first = seen
    since = f"added after {before}, present from {first} on" if before else f"present since {first}"
    return f"`{wrong}` is a LoraConfig field in newer peft ({since}); you have {version}: upgrade peft to use it."
