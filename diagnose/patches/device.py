"""Put the tensors of the failing call where the model is.

Two causes, told apart by the probes:

* parameters on the ``meta`` device (shapes without storage) created by
  ``get_peft_model(..., low_cpu_mem_usage=True)`` for a *new* adapter: the
  keyword is removed, so the LoRA weights get real storage;
* inputs on another device than the model's parameters: the arguments of the
  failing call ``model(...)`` / ``model.generate(...)`` get ``.to(model.device)``.
"""

from __future__ import annotations

from collections import Counter

import libcst as cst

from diagnose.incident import Incident
from diagnose.patches._cst import Edit, Script, call_name, dotted, failing_lines, keyword
from diagnose.report import Advice

SKIP_CALLS = {"to", "cuda", "cpu", "backward", "item", "float", "half", "print", "len"}


def _model_devices(incident: Incident) -> Counter:
    places: Counter = Counter()
    for model in incident.probes.get("models", []):
        for place, count in (model.get("parameters", {}).get("by_place") or {}).items():
            places[place.split("/", 1)[0]] += count
    return places


def make_patch(script: Script, incident: Incident, advice: Advice, path: str) -> Edit | None:
    devices = _model_devices(incident)
    message = incident.exception.message if incident.exception else ""
    if "meta" in devices or "device meta" in message or "on device meta" in message:
        edit = _no_meta_adapter(script)
        if edit is not None:
            return edit
    return _inputs_to_model_device(script, incident, path, devices)


def _no_meta_adapter(script: Script) -> Edit | None:
    calls = [
        c
        for c in script.calls(lambda c: call_name(c).rsplit(".", 1)[-1] == "get_peft_model")
        if keyword(c, "low_cpu_mem_usage") is not None
    ]
    if not calls:
        return None
    for call in calls:
        arg = keyword(call, "low_cpu_mem_usage")
        args = [a for a in call.args if a is not arg]
        if call.args[-1] is arg and args:  # the new last argument closes the call as the removed one did
            args[-1] = args[-1].with_changes(comma=arg.comma)
        script.replace(call, call.with_changes(args=args))
    return Edit(
        new_text=script.code(),
        title="Create the new LoRA weights for real: drop low_cpu_mem_usage=True from get_peft_model",
        safety="safe",
        safety_reason="low_cpu_mem_usage=True only skips allocating adapter weights that a checkpoint "
        "load is meant to fill; for a new adapter they are then initialised as usual",
    )


def _inputs_to_model_device(script: Script, incident: Incident, path: str, devices: Counter) -> Edit | None:
    lines = failing_lines(incident, path)
    calls = [
        c
        for c in script.on_lines(script.calls(), lines[:1])
        if call_name(c).rsplit(".", 1)[-1] not in SKIP_CALLS and _model_name(c)
    ]
    if not calls:
        return None
    call = calls[0]
    model = _model_name(call)
    home = next((d for d, _ in devices.most_common() if d != "meta"), None)
    elsewhere = {
        t["name"] for t in incident.probes.get("tensors", []) if t.get("user_code") and home and t.get("device") != home
    }
    args, moved = [], []
    for arg in call.args:
        name = dotted(arg.value)
        if (
            name
            and (not elsewhere or name in elsewhere or any(e.startswith(f"{name}[") for e in elsewhere))
            and name != model
        ):
            if arg.star == "**":
                value = cst.parse_expression(f"{{key: value.to({model}.device) for key, value in {name}.items()}}")
            elif arg.star == "":
                value = cst.parse_expression(f"{name}.to({model}.device)")
            else:
                args.append(arg)
                continue
            args.append(arg.with_changes(value=value))
            moved.append(name)
        else:
            args.append(arg)
    if not moved:
        return None
    script.replace(call, call.with_changes(args=args))
    return Edit(
        new_text=script.code(),
        title=f"Move {', '.join(moved)} to {model}.device before calling it",
        safety="safe",
        safety_reason="only where the inputs live changes; their values and the model are untouched",
    )


def _model_name(call: cst.Call) -> str:
    """``model`` for ``model(...)`` / ``model.generate(...)`` / ``self.model(...)``."""
    name = call_name(call)
    if not name:
        return ""
    parts = name.split(".")
    if parts[-1] in ("generate", "forward", "__call__") and len(parts) > 1:
        parts = parts[:-1]
    head = ".".join(parts)
    return head if head and head[0].islower() and head.split(".")[0] not in ("torch", "F", "nn", "np") else ""
