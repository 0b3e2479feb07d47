"""Make the LoRA weights trainable again (no-grad-fn, empty-optimizer).

* ``PeftModel.from_pretrained(base, adapter)`` loads the adapter frozen
  (``is_trainable=False``): add ``is_trainable=True``.
* ``model.gradient_checkpointing_enable()`` with frozen embeddings: the
  checkpointed blocks get inputs that need no gradient, so nothing records a
  graph; add ``model.enable_input_require_grads()`` right after it.
"""

from __future__ import annotations

import libcst as cst

from diagnose.incident import Incident
from diagnose.patches._cst import Edit, Script, append_arg, call_name, keyword, tight_equal
from diagnose.report import Advice

PEFT_LOADERS = (
    "PeftModel.from_pretrained",
    "PeftModelForCausalLM.from_pretrained",
    "AutoPeftModelForCausalLM.from_pretrained",
    "AutoPeftModel.from_pretrained",
)


def frozen_adapter_loads(script: Script) -> list[cst.Call]:
    found = []
    for call in script.calls(lambda c: any(call_name(c).endswith(n) for n in PEFT_LOADERS)):
        arg = keyword(call, "is_trainable")
        if arg is None or (isinstance(arg.value, cst.Name) and arg.value.value == "False"):
            found.append(call)
    return found


def make_patch(script: Script, incident: Incident, advice: Advice, path: str) -> Edit | None:
    if _nothing_trainable(incident):
        loads = frozen_adapter_loads(script)
        if loads:
            for call in loads:
                arg = keyword(call, "is_trainable")
                true = cst.Name("True")
                script.replace(
                    call,
                    append_arg(call, cst.Arg(keyword=cst.Name("is_trainable"), value=true, equal=tight_equal()))
                    if arg is None
                    else call.with_changes(args=[a.with_changes(value=true) if a is arg else a for a in call.args]),
                )
            return Edit(
                new_text=script.code(),
                title="Load the adapter for training: is_trainable=True",
                safety="safe",
                safety_reason="the saved LoRA weights load the same; they are only no "
                "longer frozen, as training them needs",
            )
    return _input_require_grads(script)


def _nothing_trainable(incident: Incident) -> bool:
    models = incident.probes.get("models", [])
    if not models:
        return True  # from text alone: the loader's default is the likely cause when the script has one
    return any(m.get("is_peft") and m.get("parameters", {}).get("trainable") == 0 for m in models)


def _input_require_grads(script: Script) -> Edit | None:
    enables = script.calls(lambda c: call_name(c).endswith(".gradient_checkpointing_enable"))
    if not enables or script.calls(lambda c: call_name(c).endswith(".enable_input_require_grads")):
        return None
    call = enables[0]
    owner = call_name(call).rsplit(".", 1)[0]
    statement = script.statement_of(call)
    if not isinstance(statement, cst.SimpleStatementLine):
        return None
    script.insert_after(statement, f"{owner}.enable_input_require_grads()\n")
    return Edit(
        new_text=script.code(),
        title=f"Let gradients flow into the checkpointed blocks: {owner}.enable_input_require_grads()",
        safety="safe",
        safety_reason="the embedding outputs require grad so checkpointed blocks record "
        "a graph; the weights and what is trained do not change",
    )
