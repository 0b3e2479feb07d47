"""empty-optimizer: why the optimizer got no parameters, from the model's own parameter summary.

From a capture: how many parameters the model has and how many are trainable,
whether it has LoRA layers, whether the adapter was loaded in inference mode,
and the line that makes the adapter trainable again.
From text: the three usual causes and the line that counts trainable
parameters, so the user can tell which one it is.
"""

from __future__ import annotations

from diagnose.advisors import _trainable
from diagnose.advisors._common import text_only_note, user_code
from diagnose.incident import Incident
from diagnose.report import Advice, Finding, FixView


def advise(incident: Incident) -> Advice:
    state = _trainable.read(incident)
    if state is None:
        return _from_text(incident)
    findings = [_trainable.count_finding(state), _trainable.explain(state)]
    optimizers = [o for o in incident.probes.get("optimizers", []) if isinstance(o, dict)]
    if (
        state.trainable and optimizers
    ):  # the model has trainable weights: the filter passed to the optimizer dropped them
        findings.append(
            Finding(
                title="The model does have trainable parameters",
                text="So the list given to the optimizer was built from another model object, "
                "or filtered before the adapter was added. Build the optimizer from the "
                "model you train, after `get_peft_model`.",
            )
        )
    fix = _trainable.fix(state)
    return Advice(findings=findings, fixes=[fix] if fix else [], params={"model_var": state.var, "cause": state.cause})


def _from_text(incident: Incident) -> Advice:
    code = user_code(incident)
    findings = [
        Finding(
            title="The usual causes of an empty parameter list with LoRA",
            text=(
                '1. A "freeze the base model" loop ran *after* `get_peft_model` and froze the LoRA weights too.\n'
                "2. The adapter was loaded with `PeftModel.from_pretrained(...)` without `is_trainable=True`.\n"
                "3. The base model was frozen but no adapter was added to the model being trained."
            ),
        )
    ]
    if code:
        findings.append(Finding(title="Your failing line", text=f"```python\n{code}\n```"))
    fix = FixView(
        title="Count what is trainable before building the optimizer",
        safety="safe",
        safety_reason="only prints; nothing changes",
        body="```python\nmodel.print_trainable_parameters()  # on the PeftModel\n"
        "print(sum(p.numel() for p in model.parameters() if p.requires_grad))\n```",
        tailored=True,
    )
    return Advice(
        findings=findings,
        fixes=[fix],
        note=text_only_note("the model's parameter counts were not captured, so the cause is not pinned down."),
    )
