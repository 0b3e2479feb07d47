"""peft-model-missing-attribute: base model or PeftModel, did-you-mean, and where the attribute does exist.

From a capture: the attribute_error probe says which object it was (its class
and MRO: a transformers model, a PeftModel, a peft config) and lists its real
attributes, so the closest names come from the object itself.  Whether the
attribute exists on the *other* object (``print_trainable_parameters`` is a
PeftModel method, not a transformers one) is read statically from the
installed peft and transformers sources.
From text: the class and attribute from the message, the same static facts.
"""

from __future__ import annotations

import ast
import difflib
import re
from typing import Any, NamedTuple

from diagnose.advisors._common import (
    message,
    model_var,
    names,
    source_lines,
    text_only_note,
    user_code,
    user_frame,
)
from diagnose.advisors._static import (
    peft_config_fields,
    peft_functions,
    peft_model_attributes,
    transformers_model_attributes,
)
from diagnose.incident import Incident
from diagnose.libfacts import installed_version
from diagnose.report import Advice, Finding, FixView

_MESSAGE = re.compile(r"'(\w+)' object has no attribute '(\w+)'")
_PEFT_CLASS = re.compile(r"^(PeftModel\w*|LoraModel|PeftMixedModel)$")
_CONFIG_CLASS = re.compile(r"^\w+Config$")
_UNWRAPPING = ("merge_and_unload", "unload", "get_base_model")
# The entry's static fixes that fit each kind of object (titles as in kb/peft-model-missing-attribute.yaml):
# a fix about configs is no help for a merge called on the base model.
STATIC_BY_KIND = {
    "transformers-model": ["Check the method name"],
    "peft-config": ["Count LoRA parameters on the model, not on its config", "Check the method name"],
    "peft-model": ["Check the method name"],
    "other": ["Unwrap a training wrapper before calling PEFT methods", "Check the method name"],
}


def advise(incident: Incident) -> Advice:
    probe = incident.probes.get("attribute_error") or {}
    found = _MESSAGE.search(message(incident)) or _MESSAGE.search(incident.text)
    attribute = probe.get("name") or (found.group(2) if found else None)
    class_name = probe.get("object_type") or (found.group(1) if found else None)
    if not attribute or not class_name:
        return Advice(note="The object and attribute were not found in the message.")
    kind = _kind(class_name, probe)
    live = probe.get("attributes") or []
    known = _static_attributes(kind, class_name)
    pool = [a for a in (live or sorted(known)) if not a.startswith("_")]
    near = difflib.get_close_matches(attribute, pool, n=4, cutoff=0.6)
    if kind == "transformers-model":  # what they probably meant is a PeftModel method
        peft_only = sorted(peft_model_attributes() - set(pool))
        near = [f"{n} (PeftModel)" for n in difflib.get_close_matches(attribute, peft_only, n=2, cutoff=0.75)] + near
    var = _object_var(incident) or model_var(incident)
    findings = [Finding(title=f"`{var}` is a {_describe(kind, class_name)}", text=_kind_text(kind, class_name, probe))]
    if near:
        findings.append(Finding(title="Did you mean", text=names(near)))
    elsewhere = _elsewhere(attribute, kind)
    if elsewhere:
        findings.append(Finding(title=f"Where `{attribute}` does exist", text=elsewhere))
    fixes = _fixes(incident, kind, attribute, var, near, _script_facts(incident, var))
    params: dict[str, Any] = {"attribute": attribute, "object_class": class_name, "object_kind": kind, "model_var": var}
    if near:
        params["suggestion"] = near[0].split(" ", 1)[0]
    note = (
        None
        if live
        else text_only_note(
            f"the object's own attributes were not captured; the names come from the installed peft "
            f"{installed_version('peft') or '?'} / transformers {installed_version('transformers') or '?'} sources."
        )
    )
    return Advice(findings=findings, fixes=fixes, params=params, note=note, static=STATIC_BY_KIND[kind])


def _kind(class_name: str, probe: dict[str, Any]) -> str:
    mro = probe.get("object_mro") or []
    if probe.get("is_peft_model") and probe.get("is_module") or _PEFT_CLASS.match(class_name):
        return "peft-model"
    if any(q.startswith("peft.") for q in mro) or (_CONFIG_CLASS.match(class_name) and "Lora" in class_name):
        return "peft-config"
    if any(q.startswith("transformers.") for q in mro) and probe.get("is_module"):
        return "transformers-model"
    if not mro and re.search(
        r"(ForCausalLM|LMHeadModel|ForConditionalGeneration|ForSequenceClassification|Model)$", class_name
    ):
        return "transformers-model"
    return "other"


def _describe(kind: str, class_name: str) -> str:
    return {
        "peft-model": f"PeftModel (`{class_name}`)",
        "peft-config": f"peft config (`{class_name}`)",
        "transformers-model": f"plain transformers model (`{class_name}`), not a PeftModel",
    }.get(kind, f"`{class_name}`")


def _kind_text(kind: str, class_name: str, probe: dict[str, Any]) -> str:
    if kind == "transformers-model":
        return (
            "`get_peft_model(model, config)` returns a new PeftModel wrapping this one; it does not turn the "
            "object you passed into a PeftModel. PEFT methods live on the returned object."
        )
    if kind == "peft-model":
        return (
            "A PeftModel answers to its own methods, its tuner's (`LoraModel`) and, by forwarding, the wrapped "
            "transformers model's."
        )
    if kind == "peft-config":
        return "A peft config is a dataclass of settings: it holds no modules or weights and has few methods."
    return ""


def _static_attributes(kind: str, class_name: str) -> frozenset[str]:
    if kind == "peft-model":
        return peft_model_attributes() | transformers_model_attributes()
    if kind == "transformers-model":
        return transformers_model_attributes()
    if kind == "peft-config":
        return frozenset(peft_config_fields(class_name) or peft_config_fields("LoraConfig"))
    return frozenset()


def _elsewhere(attribute: str, kind: str) -> str | None:
    peft_version = installed_version("peft") or "?"
    on_peft = attribute in peft_model_attributes()
    on_transformers = attribute in transformers_model_attributes()
    if kind in ("transformers-model", "peft-config") and on_peft:
        return f"It is a PeftModel method (peft {peft_version}): call it on the model `get_peft_model` returns."
    if kind == "peft-config" and on_transformers:
        return "It is a model method, not a config method."
    if kind == "peft-config" and (attribute in peft_functions() or f"_{attribute}" in peft_functions()):
        name = attribute if attribute in peft_functions() else f"_{attribute}"
        return (
            f"peft has a function `{name}` in `peft/utils/other.py` (a private helper taking a model and a "
            "module name), not a config method. To count LoRA parameters use "
            "`model.get_nb_trainable_parameters()` or `model.print_trainable_parameters()`."
        )
    if kind == "peft-model" and not on_peft and not on_transformers:
        return (
            f"Neither peft {peft_version}'s PeftModel nor transformers "
            f"{installed_version('transformers') or '?'}'s PreTrainedModel defines it."
        )
    return None


def _object_var(incident: Incident) -> str | None:
    """``model`` in ``model.print_trainable_parameters()`` on the failing line."""
    probe = incident.probes.get("attribute_error") or {}
    attribute = probe.get("name")
    found = _MESSAGE.search(message(incident))
    attribute = attribute or (found.group(2) if found else None)
    if not attribute:
        return None
    used = re.search(rf"([A-Za-z_][A-Za-z0-9_.\[\]'\"]*)\.{re.escape(attribute)}\b", user_code(incident))
    return used.group(1) if used else None


class ScriptFacts(NamedTuple):  # a NamedTuple: explain's start path stays off dataclasses
    """What the user's script did with the object before the failing line (the names as written there)."""

    peft_var: str | None = None  # `peft_var = get_peft_model(var, ...)`: the PeftModel has another name
    dropped: bool = False  # `get_peft_model(var, ...)` as a statement: the PeftModel was thrown away
    config: str | None = None  # the config argument of that call, as written
    merged_from: str | None = None  # `var = peft_var.merge_and_unload()`: var is already the plain model
    is_peft: bool = False  # `var = get_peft_model(var, ...)`: var is the PeftModel (the message names the inner model)


def _script_facts(incident: Incident, var: str) -> ScriptFacts:
    """Read the user's script (when it is there) for the calls that made ``var`` what it is."""
    frame = user_frame(incident)
    if frame is None or not frame.line:
        return ScriptFacts()
    source = "\n".join(source_lines(frame.file))
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return ScriptFacts()
    facts = ScriptFacts()
    statements = sorted(
        (n for n in ast.walk(tree) if isinstance(n, (ast.Assign, ast.Expr)) and n.lineno < frame.line),
        key=lambda n: n.lineno,
    )
    for node in statements:
        call = node.value
        if not isinstance(call, ast.Call):
            continue
        name = _call_name(call)
        target = node.targets[0].id if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) else None
        first = call.args[0].id if call.args and isinstance(call.args[0], ast.Name) else None
        if name == "get_peft_model" and first == var:
            config = ast.get_source_segment(source, call.args[1]) if len(call.args) > 1 else None
            if target is None and isinstance(node, ast.Expr):
                facts = ScriptFacts(dropped=True, config=config)
            elif target is not None:
                facts = ScriptFacts(peft_var=target if target != var else None, config=config, is_peft=target == var)
        elif name in _UNWRAPPING and target == var and isinstance(call.func, ast.Attribute):
            owner = call.func.value
            facts = ScriptFacts(merged_from=owner.id if isinstance(owner, ast.Name) else None)
    return facts


def _call_name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _fixes(
    incident: Incident, kind: str, attribute: str, var: str, near: list[str], facts: ScriptFacts
) -> list[FixView]:
    fixes = []
    if kind == "transformers-model" and attribute in peft_model_attributes():
        fixes.append(_call_on_the_peft_model(incident, attribute, var, facts))
    if kind == "peft-config" and attribute in ("get_submodules", "_get_submodules", "parameters", "named_parameters"):
        fixes.append(
            FixView(
                title="Count LoRA parameters on the model, not the config",
                safety="safe",
                safety_reason="only reads the model",
                body=(
                    "```python\ntrainable, total = model.get_nb_trainable_parameters()\n"
                    'lora = sum(p.numel() for n, p in model.named_parameters() if "lora_" in n)\n```'
                ),
                tailored=True,
            )
        )
    if near and not fixes:
        name, _, where = near[0].partition(" ")
        body = f"```python\n{var}.{name}\n```"
        if where:
            owner = facts.peft_var or facts.merged_from or (var if facts.is_peft else None)
            if owner:
                body = f"`{name}` is a PeftModel method: call it on `{owner}`.\n\n```python\n{owner}.{name}()\n```"
            else:
                config = facts.config or "<your LoraConfig>"
                body = (
                    f"`{name}` is a PeftModel method: call it on the model `get_peft_model` returns.\n\n```python\n"
                    f"{var} = get_peft_model({var}, {config})\n{var}.{name}()\n```"
                )
        fixes.append(
            FixView(
                title=f"Use `{name}`",
                safety="manual",
                safety_reason="a similar name; check that it does what you meant",
                body=body,
                tailored=True,
            )
        )
    return fixes


def _call_on_the_peft_model(incident: Incident, attribute: str, var: str, facts: ScriptFacts) -> FixView:
    """The fix the patch makes too: the same call, on the object that is the PeftModel."""
    statement = user_code(incident) or f"{var}.{attribute}()"
    if facts.peft_var:
        fixed = re.sub(rf"\b{re.escape(var)}\.{re.escape(attribute)}\b", f"{facts.peft_var}.{attribute}", statement)
        return FixView(
            title=f"Call {attribute} on the PeftModel `{facts.peft_var}`",
            safety="safe",
            safety_reason="only the object the method is called on changes",
            body=f"`{facts.peft_var} = get_peft_model({var}, ...)` is your PeftModel; `{var}` is the transformers "
            f"model inside it.\n\n```python\n{fixed}\n```",
            tailored=True,
        )
    if facts.merged_from:
        return FixView(
            title=f"Call {attribute} on `{facts.merged_from}`, before it is merged",
            safety="manual",
            safety_reason="where the call goes in your script is yours to choose",
            body=f"`{var}` is the plain transformers model that `{facts.merged_from}` returned when it was merged "
            f"or unloaded: the adapter is gone from it.\n\n```python\n{facts.merged_from}.{attribute}()   "
            f"# before the merge\n```",
            tailored=True,
        )
    config = facts.config or "<your LoraConfig>"
    return FixView(
        title="Keep the PeftModel that get_peft_model returns",
        safety="safe",
        safety_reason="the same adapter; you only keep a reference to the wrapper",
        body=("Your script calls `get_peft_model(...)` without keeping its result. " if facts.dropped else "")
        + f"```python\n{var} = get_peft_model({var}, {config})\n{statement}\n```",
        tailored=True,
    )
