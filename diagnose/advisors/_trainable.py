"""Why a model has nothing to train: shared by the empty-optimizer and no-grad-fn advisors.

Reads the model probe's parameter summary (total / trainable counts, the
names of the trainable ones, the LoRA layers among its modules) and the PEFT
config (``inference_mode``) to name the cause and the line that fixes it.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from diagnose.advisors._common import fmt_count, main_model, model_var, script_call_args
from diagnose.incident import Incident
from diagnose.report import Finding, FixView


class Trainable(NamedTuple):
    model: dict[str, Any]
    total: int
    trainable: int
    lora_layers: int  # modules named lora_A (one per wrapped layer)
    inference_mode: bool | None
    is_peft: bool
    var: str
    loaded_from: list[str] | None = None  # the script's own `PeftModel.from_pretrained(base, path)` arguments

    @property
    def cause(self) -> str:
        if self.trainable:
            return "has-trainable"
        if self.lora_layers == 0:
            return "no-adapter"
        if self.inference_mode:
            return "inference-mode"
        return "frozen-after-wrapping"


def read(incident: Incident) -> Trainable | None:
    model = main_model(incident)
    if model is None:
        return None
    params = model.get("parameters", {})
    lora = sum(
        group.get("count", 0)
        for suffix, group in model.get("suffixes", {}).items()
        if suffix in ("lora_A", "lora_embedding_A")
    )
    if not lora:  # suffix groups key on the last name part: lora_A.default -> count the "default" under lora_A
        lora = sum(1 for name, *_ in model.get("modules", []) if name.endswith(".lora_A") or ".lora_A." in name + ".")
    inference = None
    for config in (model.get("peft_config") or {}).values():
        inference = bool(config.get("fields", {}).get("inference_mode"))
    if inference is None:
        for config in incident.probes.get("peft_configs", []):
            if "inference_mode" in config.get("fields", {}):
                inference = bool(config["fields"]["inference_mode"])
                break
    return Trainable(
        model=model,
        total=int(params.get("total", 0)),
        trainable=int(params.get("trainable", 0)),
        lora_layers=lora,
        inference_mode=inference,
        is_peft=bool(model.get("is_peft")),
        var=model_var(incident),
        loaded_from=script_call_args(incident, "PeftModel.from_pretrained"),
    )


def count_finding(t: Trainable) -> Finding:
    label = t.model.get("class", "model")
    rows = [
        ["parameters", fmt_count(t.total)],
        ["trainable (requires_grad=True)", fmt_count(t.trainable)],
        ["LoRA layers (lora_A modules)", str(t.lora_layers)],
    ]
    if t.inference_mode is not None:
        rows.append(["adapter inference_mode", str(t.inference_mode)])
    return Finding(title=f"Trainable parameters of `{t.var}` ({label})", columns=["", ""], rows=rows)


def explain(t: Trainable) -> Finding:
    v = t.var
    text = {
        "no-adapter": (
            f"`{v}` has no LoRA layers and every parameter is frozen: the base model was frozen "
            "but no adapter was added (or the adapter's model was not the one passed on)."
        ),
        "inference-mode": (
            "The adapter was loaded for inference (`inference_mode=True`): "
            "`PeftModel.from_pretrained` freezes every parameter, LoRA included, unless it is given "
            "`is_trainable=True`."
        ),
        "frozen-after-wrapping": (
            f"`{v}` has {t.lora_layers} LoRA layers, but they are frozen too. Something set "
            "`requires_grad = False` on all parameters after `get_peft_model` — usually a "
            '"freeze the base model" loop over `model.parameters()`, which also walks the '
            "LoRA weights. `get_peft_model` already freezes the base weights."
        ),
        "has-trainable": f"`{v}` has {fmt_count(t.trainable)} trainable parameters.",
    }[t.cause]
    return Finding(title="Why there is nothing to train", text=text)


def fix(t: Trainable) -> FixView | None:
    v = t.var
    if t.cause == "inference-mode":
        return FixView(
            title="Load the adapter as trainable",
            safety="safe",
            safety_reason="only how the adapter is loaded changes; its weights are the same",
            body=f"```python\n{v} = PeftModel.from_pretrained({_base_and_path(t)}, is_trainable=True)\n"
            f"{v}.print_trainable_parameters()\n```",
            tailored=True,
        )
    if t.cause == "frozen-after-wrapping":
        return FixView(
            title="Remove the freezing loop (get_peft_model already froze the base)",
            safety="manual",
            safety_reason="you choose which loop to delete; to keep it, re-enable the LoRA weights after it",
            body=(
                "Delete the loop that sets `requires_grad = False` after `get_peft_model`, or re-enable the adapter "
                f"after it:\n\n```python\nfor name, param in {v}.named_parameters():\n"
                f'    if "lora_" in name:\n        param.requires_grad = True\n{v}.print_trainable_parameters()\n```'
            ),
            tailored=True,
        )
    if t.cause == "no-adapter":
        return FixView(
            title="Add the LoRA adapter and train the model it returns",
            safety="manual",
            safety_reason="the LoRA settings (r, target_modules) are yours to choose",
            body=(
                f"```python\nfrom peft import LoraConfig, get_peft_model\n\n"
                f'{v} = get_peft_model({v}, LoraConfig(r=8, lora_alpha=16, task_type="CAUSAL_LM"))\n'
                f"{v}.print_trainable_parameters()\n```"
            ),
            tailored=True,
        )
    return None


def _base_and_path(t: Trainable) -> str:
    if t.loaded_from and len(t.loaded_from) >= 2:
        return ", ".join(t.loaded_from[:2])
    return "<base model>, <adapter folder>"
