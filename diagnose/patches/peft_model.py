"""Call PEFT methods on the PeftModel, not on the transformers model it wraps.

``get_peft_model(model, config)`` returns a new ``PeftModel``.  When the
script drops that return value, ``model.print_trainable_parameters()`` asks
the plain transformers model.  Two edits, by what the script does:

* ``get_peft_model(model, config)`` as a bare statement -> ``model = get_peft_model(model, config)``;
* ``peft_model = get_peft_model(model, config)`` -> the failing line uses ``peft_model``.
"""

from __future__ import annotations

import libcst as cst

from diagnose.incident import Incident
from diagnose.patches._cst import Edit, Script, call_name, dotted, failing_lines
from diagnose.report import Advice

# PeftModel methods/attributes that a transformers PreTrainedModel lacks (peft 0.21).
PEFT_ONLY = {
    "print_trainable_parameters",
    "get_nb_trainable_parameters",
    "merge_and_unload",
    "unload",
    "merge_adapter",
    "unmerge_adapter",
    "get_base_model",
    "base_model_torch_dtype",
    "peft_type",
    "active_peft_config",
    "set_requires_grad",
    "get_layer_status",
    "get_model_status",
    "create_or_update_model_card",
    "add_weighted_adapter",
}
WRAPPERS = ("get_peft_model",)


def last_wrap(script: Script, variable: str, line: int) -> cst.Call | None:
    """The last ``get_peft_model(variable, ...)`` call before ``line``: where the PeftModel was made."""
    wraps = [
        c
        for c in script.calls(lambda c: call_name(c).rsplit(".", 1)[-1] in WRAPPERS)
        if script.lines(c)[0] < line and c.args and dotted(c.args[0].value) == variable
    ]
    return wraps[-1] if wraps else None


def make_patch(script: Script, incident: Incident, advice: Advice, path: str) -> Edit | None:
    probe = incident.probes.get("attribute_error") or {}
    attribute = probe.get("name") or advice.params.get("attribute")
    if attribute not in PEFT_ONLY or probe.get("is_peft_model"):
        return None
    lines = failing_lines(incident, path)
    uses = [a for a in script.walk(cst.Attribute) if a.attr.value == attribute and isinstance(a.value, cst.Name)]
    uses = script.on_lines(uses, lines)
    if not uses:
        return None
    use = uses[0]
    variable = use.value.value
    line = script.lines(use)[0]
    wrap = last_wrap(script, variable, line)
    if wrap is None:
        return None
    parent = script.parent(wrap)
    if isinstance(parent, cst.Expr):  # the returned PeftModel is thrown away: keep it
        script.replace(parent, cst.Assign(targets=[cst.AssignTarget(target=cst.Name(variable))], value=wrap))
        return Edit(
            new_text=script.code(),
            title=f"Keep the PeftModel that get_peft_model returns: {variable} = get_peft_model(...)",
            safety="safe",
            safety_reason=f"`{variable}` then names the PeftModel, which wraps the same "
            f"model (its layers already carry the LoRA adapters); "
            f"later uses of `{variable}` get the PeftModel's methods too",
        )
    if isinstance(parent, cst.Assign) and len(parent.targets) == 1 and isinstance(parent.targets[0].target, cst.Name):
        peft_variable = parent.targets[0].target.value
        if peft_variable == variable:
            return None  # already reassigned: the failure comes from elsewhere
        script.replace(use.value, cst.Name(peft_variable))
        return Edit(
            new_text=script.code(),
            title=f"Call {attribute} on the PeftModel `{peft_variable}`",
            safety="safe",
            safety_reason="only the object the method is called on changes",
        )
    return None
