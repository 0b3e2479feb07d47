"""peft-unsupported-target-module: which requested names hit which layer types, and what to target instead.

peft matches each ``target_modules`` name against the end of every module
name, containers included.  From a capture: for each requested name, the
modules it matched and their types, which of those LoRA cannot wrap, the
wrappable layers inside (for a container such as ``LlamaAttention``) and a
corrected ``target_modules``.  From text: the rejected module's class and the
wrappable layers its printed repr lists.
"""

from __future__ import annotations

import re
from typing import Any

from diagnose.advisors._common import names, peft_config_fields, text_only_note
from diagnose.advisors.target_modules import _config_line, _label
from diagnose.incident import Incident
from diagnose.libfacts import LORA_WRAPPABLE, peft_default_target_modules
from diagnose.report import Advice, Finding, FixView

_REJECTED = re.compile(r"Target module (\w+)\(")
_CHILD = re.compile(r"^\s*\((\w+)\): (\w+)\(", re.MULTILINE)
_LORA_PART = re.compile(r"(^|\.)(lora_\w+|base_layer|lora_dropout)(\.|$)")
SAFE = "only the LoRA config changes; the model, data and weights are untouched"


def advise(incident: Incident) -> Advice:
    requested = _requested(incident)
    model = _model(incident)
    if model is None or not requested:
        return _from_text(incident, requested)
    modules = [
        (name, type_name, leaf) for name, type_name, leaf in model.get("modules", []) if not _LORA_PART.search(name)
    ]
    rows, corrected, unsupported = [], [], []
    for wanted in requested:
        hits = [(n, t, leaf) for n, t, leaf in modules if n == wanted or n.endswith("." + wanted)]
        types = sorted({t for _, t, _ in hits})
        ok = bool(hits) and set(types) <= LORA_WRAPPABLE
        if ok:
            corrected.append(wanted)
            rows.append([wanted, f"{', '.join(types)} ×{len(hits)}", "✓ LoRA can wrap it", ""])
            continue
        inside = _wrappable_inside(modules, hits)
        corrected += [s for s in inside if s not in corrected]
        if hits:
            unsupported.append(wanted)
        kind = "container" if hits and not all(leaf for _, _, leaf in hits) else "layer"
        rows.append(
            [
                wanted,
                f"{', '.join(types)} ×{len(hits)}" if hits else "no module",
                f"✗ LoRA cannot wrap this {kind}" if hits else "✗ matches nothing",
                names(inside) if inside else ("use `modules_to_save` to train it" if hits else ""),
            ]
        )
    findings = [
        Finding(
            title=f"What your target_modules matched in your {_label(model)}",
            text="peft matches each name against the end of every module name, containers included. "
            f"LoRA can wrap only: {', '.join(sorted(_PUBLIC))}.",
            columns=["requested", "matched (type ×count)", "", "wrappable layers inside / instead"],
            rows=rows,
        )
    ]
    model_type = model.get("model_type")
    if not corrected:
        corrected = list(peft_default_target_modules().get(model_type or "", []))
    fixes = []
    if corrected:
        config_line = _config_line(peft_config_fields(incident), corrected)
        containers = [w for w in unsupported if _wrappable_inside(modules, _hits(modules, w))]
        title = (
            "Target the layers inside the blocks, not the blocks"
            if containers
            else f"Drop {names(unsupported)} from target_modules"
            if unsupported
            else "Target wrappable layers"
        )
        fixes.append(
            FixView(
                title=title, safety="safe", safety_reason=SAFE, body=f"```python\n{config_line}\n```", tailored=True
            )
        )
    leaves = [w for w in unsupported if not _wrappable_inside(modules, _hits(modules, w))]
    if leaves:
        fixes.append(
            FixView(
                title=f"Train {names(leaves)} fully instead",
                safety="manual",
                safety_reason="trains (and saves) those whole modules next to the adapter: more memory",
                body=f"```python\nLoraConfig(..., target_modules={corrected!r}, modules_to_save={leaves!r})\n```".replace(
                    "'", '"'
                ),
                tailored=True,
            )
        )
    return Advice(findings=findings, fixes=fixes, params={"target_modules": corrected, "unsupported": unsupported})


_PUBLIC = {"Linear", "Embedding", "Conv1d", "Conv2d", "Conv3d", "Conv1D (transformers)", "MultiheadAttention"}


def _hits(modules: list[tuple[str, str, bool]], wanted: str) -> list[tuple[str, str, bool]]:
    return [(n, t, leaf) for n, t, leaf in modules if n == wanted or n.endswith("." + wanted)]


def _wrappable_inside(modules: list[tuple[str, str, bool]], hits: list[tuple[str, str, bool]]) -> list[str]:
    """Suffixes of the wrappable leaf layers inside the matched containers (q_proj... inside self_attn)."""
    prefixes = tuple(n + "." for n, _, leaf in hits if not leaf)
    found: list[str] = []
    for name, type_name, leaf in modules:
        if leaf and prefixes and name.startswith(prefixes) and type_name in LORA_WRAPPABLE:
            suffix = name.rsplit(".", 1)[-1]
            if suffix not in found and not suffix.isdigit():
                found.append(suffix)
    return found


def _model(incident: Incident) -> dict[str, Any] | None:
    found = [m for m in incident.probes.get("models", []) if m.get("modules")]
    return max(found, key=lambda m: len(m["modules"])) if found else None


def _requested(incident: Incident) -> list[str]:
    targets = peft_config_fields(incident).get("target_modules")
    if isinstance(targets, list):
        return [str(t) for t in targets]
    return []


def _from_text(incident: Incident, requested: list[str]) -> Advice:
    text = incident.text
    rejected = _REJECTED.search(text)
    findings, fixes, params = [], [], {}
    if rejected:
        start = rejected.start()
        end = text.find("is not supported", start)
        repr_text = text[start : end if end > 0 else start + 5000]
        children = [(name, kind) for name, kind in _CHILD.findall(repr_text)]
        wrappable = list(dict.fromkeys(name for name, kind in children if kind in LORA_WRAPPABLE))
        kind = rejected.group(1)
        findings.append(
            Finding(
                title=f"peft was asked to wrap a `{kind}`",
                text=(
                    f"LoRA can wrap only: {', '.join(sorted(_PUBLIC))}. "
                    + (
                        f"The `{kind}` you targeted contains these wrappable layers: {names(wrappable)}."
                        if wrappable
                        else f"`{kind}` is a layer LoRA has no implementation for; train it with "
                        "`modules_to_save` or drop it from `target_modules`."
                    )
                ),
            )
        )
        if wrappable:
            fixes.append(
                FixView(
                    title=f"Target the layers inside the {kind}",
                    safety="safe",
                    safety_reason=SAFE,
                    body=f"```python\ntarget_modules={wrappable!r}\n```".replace("'", '"'),
                    tailored=True,
                )
            )
            params["target_modules"] = wrappable
    return Advice(
        findings=findings,
        fixes=fixes,
        params=params,
        note=text_only_note("the model's module names and your target_modules were not captured."),
    )
