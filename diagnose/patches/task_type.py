"""Set the task_type that fits the model class (``task_type="CAUSAL_LM"`` -> ``"SEQ_CLS"`` on a classifier).

The advisor names the model class and the task_type that fits it
(``advice.params``: ``given``, ``task_type``).  The value is changed in the
one peft config call that sets ``task_type`` to the given value, in the form
the script wrote it: a string keeps its quotes, ``TaskType.CAUSAL_LM`` stays
a ``TaskType`` member.
"""

from __future__ import annotations

import libcst as cst

from diagnose.incident import Incident
from diagnose.patches._cst import Edit, Script, call_name, keyword, quote_of, string_value
from diagnose.report import Advice


def make_patch(script: Script, incident: Incident, advice: Advice, path: str) -> Edit | None:
    given, wanted = advice.params.get("given"), advice.params.get("task_type")
    if not (isinstance(given, str) and isinstance(wanted, str) and wanted.isidentifier()):
        return None
    calls = [c for c in script.calls(lambda c: call_name(c).endswith("Config")) if _task(c) == given]
    if len(calls) != 1:
        return None  # none, or several configs with this task_type: which one is meant is the user's call
    arg = keyword(calls[0], "task_type")
    if arg is None:  # _task() found it, so it is there
        return None
    value = arg.value
    if isinstance(value, cst.Attribute):
        script.replace(value.attr, cst.Name(wanted))
    else:
        quote = quote_of(value)
        script.replace(value, cst.SimpleString(f"{quote}{wanted}{quote}"))
    model_class = advice.params.get("model_class") or "the model"
    return Edit(
        new_text=script.code(),
        title=f"Set task_type to {wanted}, the task of {model_class}",
        safety="safe",
        safety_reason="the same LoRA layers on the same modules; only the PeftModel class that wraps the model "
        "changes, to the one made for its head",
    )


def _task(call: cst.Call) -> str | None:
    arg = keyword(call, "task_type")
    if arg is None:
        return None
    if isinstance(arg.value, cst.Attribute) and isinstance(arg.value.attr, cst.Name):
        return arg.value.attr.value
    return string_value(arg.value)
