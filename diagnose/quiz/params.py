"""Questions parameterised by the user's own incident.

A :class:`Template` reads an incident's probes (the JSON dict the capture hook
wrote) and, when they hold what it needs, yields *parameters*; ``build`` turns
parameters into an ordinary :class:`QuizQuestion` whose answer is computed
from them.  The card of a parameterised question is keyed by the template id
(stable across incidents) and keeps the parameters it was last asked with, so a
later review asks about the same config.

Probe shape used here (DESIGN.md, "Probes")::

    {"peft_configs": [{"class": "LoraConfig",
                       "fields": {"r": 8, "lora_alpha": 16, "use_rslora": false, ...}}]}

To add a template: write ``extract`` (probes → params or None, never raising
on odd probes) and ``build`` (params → QuizQuestion), register it in
``TEMPLATES`` and add a test in tests/test_quiz_truth.py that checks the
computed answer against the real library.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from diagnose.kb.schema import QuizQuestion


@dataclass(frozen=True)
class Template:
    id: str
    extract: Callable[[Mapping[str, Any]], dict | None]
    build: Callable[[Mapping[str, Any]], QuizQuestion]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _show(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.4g}"


def lora_config_fields(probes: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The ``fields`` of every LoRA config in the probes, in order."""
    found = []
    configs = probes.get("peft_configs") if isinstance(probes, Mapping) else None
    if not isinstance(configs, list):
        return found
    for config in configs:
        if not isinstance(config, Mapping):
            continue
        fields = config.get("fields")
        if not isinstance(fields, Mapping):
            continue
        cls = str(config.get("class", ""))
        if cls == "LoraConfig" or (not cls and "lora_alpha" in fields):
            found.append(fields)
    return found


# ---------------------------------------------------------------- LoRA scaling


def scaling_factor(params: Mapping[str, Any]) -> float:
    """What peft's LoraLayer.update_layer sets as ``scaling``: alpha/r, or alpha/sqrt(r) with rsLoRA."""
    r, alpha = float(params["r"]), float(params["lora_alpha"])
    return alpha / math.sqrt(r) if params.get("use_rslora") else alpha / r


def _scaling_extract(probes: Mapping[str, Any]) -> dict | None:
    for fields in lora_config_fields(probes):
        r, alpha = _number(fields.get("r")), _number(fields.get("lora_alpha"))
        if r is None or alpha is None or r <= 0:
            continue
        if fields.get("rank_pattern") or fields.get("alpha_pattern"):
            continue  # per-layer overrides: no single factor to ask about
        return {
            "r": int(r) if r.is_integer() else r,
            "lora_alpha": int(alpha) if alpha.is_integer() else alpha,
            "use_rslora": bool(fields.get("use_rslora", False)),
        }
    return None


def _scaling_build(params: Mapping[str, Any]) -> QuizQuestion:
    r, alpha, rslora = params["r"], params["lora_alpha"], bool(params.get("use_rslora"))
    factor = _show(scaling_factor(params))
    formula = "lora_alpha / sqrt(r)" if rslora else "lora_alpha / r"
    worked = f"{alpha} / sqrt({r})" if rslora else f"{alpha} / {r}"
    setting = f"r={r}, lora_alpha={alpha}" + (", use_rslora=True" if rslora else "")
    return QuizQuestion(
        id=SCALING_ID,
        kind="open",
        question=(
            f"Your LoraConfig had {setting}. By what factor does PEFT multiply the LoRA "
            f"update (B·A·x) before adding it to the frozen layer's output?"
        ),
        answer=f"{factor}: PEFT scales the update by {formula} = {worked} = {factor}.",
        concepts=[factor],
        hint="The factor is the `scaling` a LoRA layer stores; it combines lora_alpha and r.",
        explanation=(
            "A LoRA layer computes W·x + scaling·B·A·x. Raising lora_alpha raises the update's "
            "weight in proportion; raising r at a fixed lora_alpha lowers it (by sqrt(r) with rsLoRA). "
            "Changing either after training changes how strongly the learned update acts."
        ),
    )


SCALING_ID = "your-lora-scaling-factor"

TEMPLATES: dict[str, Template] = {
    SCALING_ID: Template(SCALING_ID, _scaling_extract, _scaling_build),
}


def from_probes(probes: Mapping[str, Any] | None) -> list[tuple[Template, dict]]:
    """Every template these probes can fill, with its parameters."""
    if not isinstance(probes, Mapping):
        return []
    out = []
    for template in TEMPLATES.values():
        params = template.extract(probes)
        if params is not None:
            out.append((template, params))
    return out


def build(template_id: str, params: Mapping[str, Any]) -> QuizQuestion | None:
    """The question of a stored card; None when the template or its params are gone."""
    template = TEMPLATES.get(template_id)
    if template is None:
        return None
    try:
        return template.build(params)
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
