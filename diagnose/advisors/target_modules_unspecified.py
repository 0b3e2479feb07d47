"""No target_modules, and peft has no default for this architecture: list the model's own layers.

From a capture: the model's LoRA-wrappable layers grouped by suffix (the
target_modules advisor's table), with the attention projections suggested
(by role: a fused qkv or q/v), else every wrappable layer but the output
head; the corrected ``LoraConfig`` line, which the target_modules patch
writes into the script.  From text alone: how to list them.
"""

from __future__ import annotations

from typing import Any

from diagnose.advisors.target_modules import (
    ROLES,
    _config_line,
    _label,
    _lora_config,
    _names,
    _wrappable,
)
from diagnose.incident import Incident
from diagnose.report import Advice, Finding, FixView

_PEFT_WRAPPERS = ("Peft", "LoraModel", "IA3Model", "LoHaModel", "LoKrModel", "MixedModel")
_OUTPUT_HEADS = {"lm_head", "head", "classifier", "score", "output", "out", "fc_out"}
_LIST_LAYERS = (
    "```python\n"
    "import torch\n"
    "print(sorted({name.rsplit('.', 1)[-1] for name, m in model.named_modules()\n"
    "              if isinstance(m, (torch.nn.Linear, torch.nn.Conv1d, torch.nn.Conv2d))}))\n"
    "```"
)


def advise(incident: Incident) -> Advice:
    model = _base_model(incident)
    if model is None:
        return Advice(
            fixes=[
                FixView(
                    title="List your model's linear layers and name them in target_modules",
                    safety="manual",
                    safety_reason="only prints information; you pick the layers",
                    body=_LIST_LAYERS,
                )
            ],
            note="From the text alone: the model's own module names were not captured. "
            "Run the script under `diagnose run` to see them listed with a suggestion.",
        )
    wrappable = {s: g for s, g in _wrappable(model).items() if s not in _OUTPUT_HEADS}
    suggested = suggest(sorted(wrappable))
    label = "model" if _is_wrapper(model) else _label(model)
    rows = [
        [
            f"{suffix} ×{group['count']}",
            ", ".join(sorted(group["types"])),
            group["example"],
            "← suggested" if suffix in suggested else "",
        ]
        for suffix, group in sorted(wrappable.items(), key=lambda kv: kv[1]["example"])
    ]
    findings = [
        Finding(
            title=f"Your {label} has these LoRA-wrappable layers",
            text=f"peft has no default target_modules for {_kind(model)}, so LoraConfig must name them. "
            "peft matches each name against the end of the module names.",
            columns=["name (suffix ×count)", "layer type", "first full name", ""],
            rows=rows,
        )
    ]
    if not suggested:
        return Advice(findings=findings, note="No layer LoRA can wrap was found in the captured model.")
    findings.append(Finding(title="Suggested", text=f"{_names(suggested)}: {_why(suggested)}."))
    config_line = _config_line(_lora_config(incident) or _fields_of(incident), suggested)
    fix = FixView(
        title=f"Name the layers your {label} really has in target_modules",
        safety="safe",
        safety_reason="only the LoRA config changes; the model, data and weights are untouched",
        body=f"```python\n{config_line}\n```",
        tailored=True,
    )
    return Advice(findings=findings, fixes=[fix], params={"target_modules": suggested, "config_line": config_line})


def _base_model(incident: Incident) -> dict[str, Any] | None:
    """The user's model: get_peft_model failed half-way, so peft's LoraModel wrapper may be probed first."""
    models = [m for m in incident.probes.get("models", []) if m.get("suffixes")]
    own = [m for m in models if not _is_wrapper(m)]
    return (own or models or [None])[0]


def _is_wrapper(model: dict[str, Any]) -> bool:
    return model.get("class", "").startswith(_PEFT_WRAPPERS)


def suggest(names: list[str]) -> list[str]:
    """The attention projections when the names show them (fused qkv, or query and value), else all."""
    fused = [n for n in names if n in ROLES["fused-qkv"]]
    if fused:
        return fused
    query = [n for n in names if n in ROLES["query"]]
    value = [n for n in names if n in ROLES["value"]]
    if query and value:
        return query + value
    return names


def _why(suggested: list[str]) -> str:
    if set(suggested) & (set(ROLES["fused-qkv"]) | set(ROLES["query"])):
        return "the attention projections, the usual LoRA targets (add the MLP layers for more capacity)"
    return "every linear layer but the output head (their names show no attention projection to prefer)"


def _kind(model: dict[str, Any]) -> str:
    model_type = model.get("model_type")
    if model_type:
        return f"model_type '{model_type}'"
    return "this model (it has no config.model_type)" if _is_wrapper(model) else f"{model.get('class')} (no model_type)"


def _fields_of(incident: Incident) -> dict[str, Any]:
    """The LoraConfig fields captured even without a target_modules field in them."""
    for config in incident.probes.get("peft_configs", []):
        if config.get("fields"):
            return config["fields"]
    return {}
