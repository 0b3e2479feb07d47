"""device-mismatch: which parameters and tensors sit on which devices, and the line that fixes it.

From a capture: the model's parameters by device (with the modules on each),
its ``hf_device_map`` when accelerate dispatched it, the module the failing
op ran in, and the user's tensors with their devices.  Then:
- the model is on one device and the user's inputs on another: move the
  inputs (``.to(model.device)``), the line written with their variable names;
- some of the model's own weights are elsewhere: name those modules; on
  ``meta`` (never loaded) say how they got there and how to load them; on
  another real device, move the whole model once, after every module is added.
From text: the devices the message names and the usual fixes.
"""

from __future__ import annotations

import re
from typing import Any

from diagnose.advisors._common import (
    fmt_count,
    main_model,
    message,
    model_var,
    script_call_args,
    split_place,
    tensors,
    text_only_note,
)
from diagnose.incident import Incident
from diagnose.report import Advice, Finding, FixView

_DEVICE = re.compile(r"\b(cuda(?::\d+)?|cpu|meta|mps|xpu(?::\d+)?|npu(?::\d+)?|hpu(?::\d+)?)\b")
_LEGACY_TYPE = re.compile(r"\b(torch\.(?:cuda\.)?)[A-Za-z]+Tensor\b")


def message_devices(text: str) -> list[str]:
    """Devices named in the message, in order; legacy ``torch.cuda.FloatTensor`` counts as cuda, ``torch.FloatTensor`` as cpu."""
    found: list[str] = []
    for word in _LEGACY_TYPE.findall(text):
        device = "cuda" if "cuda" in word else "cpu"
        if device not in found:
            found.append(device)
    for device in _DEVICE.findall(_LEGACY_TYPE.sub(" ", text)):
        if device not in found:
            found.append(device)
    return found


def by_device(model: dict[str, Any]) -> dict[str, dict[str, Any]]:
    params = model.get("parameters", {})
    out: dict[str, dict[str, Any]] = {}
    for place, count in params.get("by_place", {}).items():
        device, _ = split_place(place)
        row = out.setdefault(device, {"count": 0, "tensors": 0, "modules": []})
        row["count"] += count
        seen = params.get("place_modules", {}).get(place, {})
        row["tensors"] += seen.get("tensors", 0)
        row["modules"] += [m for m in seen.get("modules", []) if m not in row["modules"]]
    return out


def advise(incident: Incident) -> Advice:
    devices = message_devices(message(incident))
    model = main_model(incident)
    if model is None:
        return _from_text(incident, devices)
    var = model_var(incident)
    places = by_device(model)
    main = max(places, key=lambda d: places[d]["count"]) if places else None
    findings = [_device_table(places, var)]
    device_map = model.get("hf_device_map") or {}
    if device_map:
        used = sorted(set(device_map.values()))
        findings.append(
            Finding(
                title="accelerate dispatched the model (hf_device_map)",
                text=f"Its modules are spread over {', '.join(f'`{d}`' for d in used)}; accelerate's "
                "hooks move activations between them, so do not call `.to()` on this model.",
            )
        )
    failing = _failing_module(incident)
    if failing:
        where = ", ".join(f"{p.split('/')[0]}" for p in failing["places"]) or "no parameters"
        findings.append(
            Finding(
                title="Where it failed",
                text=f"in `{failing['name'] or failing['class']}` ({failing['class']}), parameters on {where}",
            )
        )
    user = [t for t in tensors(incident) if t.get("user_code") and "state_dict" not in t["name"]]
    if user:
        findings.append(
            Finding(
                title="Your tensors",
                columns=["tensor", "device", "shape", "dtype"],
                rows=[[t["name"], t["device"], str(t["shape"]), t["dtype"]] for t in user[:12]],
            )
        )
    fixes: list[FixView] = []
    params: dict[str, Any] = {"model_var": var, "target_device": main}
    stray = {d: row for d, row in places.items() if d != main}
    if "meta" in stray:
        fixes.append(_meta_fix(var, stray["meta"]["modules"], incident))
        params["meta_modules"] = stray["meta"]["modules"]
    elif stray and not device_map:
        modules = [m for row in stray.values() for m in row["modules"]]
        fixes.append(
            FixView(
                title=f"Move the whole model to {main} once, after every module is added",
                safety="safe",
                safety_reason="moves weights between devices; their values are unchanged",
                body=(
                    f"{_names(modules[:4])} are on {', '.join(f'`{d}`' for d in stray)} while the rest is on `{main}`. "
                    "A module created or loaded after `.to(...)` (a new head, the LoRA adapter) stays where it was made:\n\n"
                    f'```python\n{var} = {var}.to("{main}")  # after get_peft_model and any new modules\n```'
                ),
                tailored=True,
            )
        )
    off_inputs = [t for t in user if main and t["device"] != main and t["device"] != "meta"]
    if off_inputs and main is not None and main != "meta":
        fixes.insert(0, _input_fix(var, off_inputs, main, bool(device_map)))
        params["tensor_vars"] = [t["name"] for t in off_inputs]
    if not fixes:
        fixes.append(_generic_fix(var))
    return Advice(findings=findings, fixes=fixes, params=params)


def _names(items: list[str]) -> str:
    return ", ".join(f"`{n}`" for n in items) if items else "some modules"


def _device_table(places: dict[str, dict[str, Any]], var: str) -> Finding:
    rows = [
        [device, fmt_count(row["count"]), str(row["tensors"]), ", ".join(f"`{m}`" for m in row["modules"][:3])]
        for device, row in sorted(places.items(), key=lambda kv: -kv[1]["count"])
    ]
    return Finding(
        title=f"Parameters of `{var}` by device", columns=["device", "parameters", "tensors", "e.g."], rows=rows
    )


def _failing_module(incident: Incident) -> dict[str, Any] | None:
    model = main_model(incident)
    frames = (model or {}).get("frame_modules") or []
    return frames[0] if frames else None


def _input_fix(var: str, off: list[dict[str, Any]], device: str, dispatched: bool) -> FixView:
    batches = sorted({t["name"].split("[", 1)[0] for t in off if "[" in t["name"]})
    lines = [f"{b} = {{k: v.to({var}.device) for k, v in {b}.items()}}" for b in batches]
    lines += [f"{t['name']} = {t['name']}.to({var}.device)" for t in off if "[" not in t["name"]]
    note = (
        " With a dispatched model `model.device` is the device of its first module, where the inputs go."
        if dispatched
        else ""
    )
    return FixView(
        title=f"Move your inputs to the model's device ({device})",
        safety="safe",
        safety_reason="moves input tensors only; the model is unchanged",
        body="Before the forward pass:\n\n```python\n" + "\n".join(lines) + "\n```" + note,
        tailored=True,
    )


def _meta_fix(var: str, modules: list[str], incident: Incident) -> FixView:
    lora = [m for m in modules if "lora_" in m]
    text = incident.text
    if lora:
        args = script_call_args(incident, "get_peft_model") or []
        wrapped = ", ".join(args[:2]) if len(args) >= 2 else "<base model>, <your LoraConfig>"
        base = args[0] if args else "<base model>"
        body = (
            f"The LoRA weights ({_names(lora[:3])}) are on `meta`: shapes without storage. "
            "`get_peft_model(..., low_cpu_mem_usage=True)` (and `inject_adapter_in_model` with it) creates them "
            "there, expecting a checkpoint to be loaded right after. To train a new adapter, drop the option:\n\n"
            f"```python\n{var} = get_peft_model({wrapped})  # no low_cpu_mem_usage\n```\n\n"
            f"To resume one, load it: `PeftModel.from_pretrained({base}, <adapter folder>, is_trainable=True)`."
        )
        title, safety, reason = (
            "Create the LoRA weights for real (no low_cpu_mem_usage)",
            "safe",
            "a new adapter is initialised as usual; the base model is untouched",
        )
    else:
        body = (
            f"{_names(modules[:4])} never got weights: the model was built on the `meta` device "
            '(`torch.device("meta")`, `init_empty_weights`, or `load_state_dict(..., assign=True, strict=False)` '
            "with keys that did not match) and these were not loaded. Load the model with "
            "`from_pretrained(...)`, or check the missing keys that `load_state_dict` returns."
        )
        if "strict=False" in text:
            body += " Your traceback shows `strict=False`: print what it returns (`missing_keys`)."
        title, safety, reason = (
            "Load the weights that stayed on meta",
            "manual",
            "which checkpoint keys map to these modules is yours to check",
        )
    return FixView(title=title, safety=safety, safety_reason=reason, body=body, tailored=True)


def _generic_fix(var: str) -> FixView:
    return FixView(
        title="Put the model and its inputs on one device",
        safety="safe",
        safety_reason="moves tensors between devices; values are unchanged",
        body=(
            f'```python\n{var} = {var}.to("cuda")  # once, after get_peft_model\n'
            f"batch = {{k: v.to({var}.device) for k, v in batch.items()}}\n```\n\n"
            'For a model too big for one GPU load it with `device_map="auto"` instead and only move '
            "the inputs."
        ),
        tailored=True,
    )


def _from_text(incident: Incident, devices: list[str]) -> Advice:
    findings = []
    if devices:
        findings.append(Finding(title="Devices in the message", text=", ".join(f"`{d}`" for d in devices)))
    var = model_var(incident)
    fixes = []
    if "meta" in devices:
        fixes.append(_meta_fix(var, [], incident))
    fixes.append(_generic_fix(var))
    return Advice(
        findings=findings,
        fixes=fixes,
        params={"model_var": var, "devices": devices},
        note=text_only_note("which of your parameters and tensors sit on which device was not captured."),
    )
