"""Give the Trainer the PeftModel, not the quantized model it wraps.

``get_peft_model(model, config)`` returns a new ``PeftModel``; a Trainer built
with the old ``model`` sees a purely quantized model and refuses it.  Two
edits, by what the script does:

* ``get_peft_model(model, config)`` as a bare statement -> ``model = get_peft_model(model, config)``;
* ``peft_model = get_peft_model(model, config)`` -> ``Trainer(model=peft_model, ...)`` on the failing line.
"""

from __future__ import annotations

import libcst as cst

from diagnose.incident import Incident
from diagnose.patches._cst import Edit, Script, call_name, failing_lines, keyword
from diagnose.patches.peft_model import last_wrap
from diagnose.report import Advice


def make_patch(script: Script, incident: Incident, advice: Advice, path: str) -> Edit | None:
    trainers = script.calls(lambda c: call_name(c).rsplit(".", 1)[-1].endswith("Trainer"))
    trainers = script.on_lines(trainers, failing_lines(incident, path))
    if not trainers:
        return None
    trainer = trainers[0]
    arg = keyword(trainer, "model") or next((a for a in trainer.args if a.keyword is None and not a.star), None)
    if arg is None or not isinstance(arg.value, cst.Name):
        return None
    variable = arg.value.value
    line = script.lines(trainer)[0]
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
            safety_reason=f"`{variable}` then names the PeftModel around the same quantized model, so the "
            "Trainer trains its adapters",
        )
    if isinstance(parent, cst.Assign) and len(parent.targets) == 1 and isinstance(parent.targets[0].target, cst.Name):
        peft_variable = parent.targets[0].target.value
        if peft_variable == variable:
            return None  # already the PeftModel: the failure comes from elsewhere
        script.replace(arg.value, cst.Name(peft_variable))
        return Edit(
            new_text=script.code(),
            title=f"Train the PeftModel `{peft_variable}`",
            safety="safe",
            safety_reason="only the object given to the Trainer changes; it wraps the same quantized model",
        )
    return None
