"""peft-task-type-mismatch: the model's class, the task_type it was given, and the one that fits it.

Two ways the mismatch shows:

- ``CAUSAL_LM`` / ``SEQ_2_SEQ_LM`` on a model without generation (a
  classifier, a bare encoder): peft's PeftModelForCausalLM/Seq2SeqLM keeps the
  base model's ``prepare_inputs_for_generation`` in its constructor, so
  ``get_peft_model`` itself raises an AttributeError naming the model class.
  The message alone says which class it was; that is enough.
- a classification task_type on a language model (or the reverse): wrapping
  succeeds, and the forward pass computes the *model's* loss, whose logits do
  not line up with labels shaped for the task_type.  Only the captured model
  (a PeftModelForSequenceClassification around a LlamaForCausalLM) shows that
  the task_type is the cause; without it the advisor says the evidence is
  missing (``fit``) and the label-shape family speaks instead.
"""

from __future__ import annotations

import re

from diagnose.advisors._common import message, source_lines, text_only_note, user_frame
from diagnose.advisors._heads import HEADS, PEFT_CLASSES, given_task_type, head_of, model_classes
from diagnose.incident import Incident
from diagnose.report import Advice, Finding, FixView

_NO_GENERATION = re.compile(r"'(\w+)' object has no attribute 'prepare_inputs_for_generation'")
_BATCH = re.compile(r"Expected input batch_size \((\d+)\) to match target batch_size \((\d+)\)")


def advise(incident: Incident) -> Advice:
    frame = user_frame(incident)
    source = "\n".join(source_lines(frame.file)) if frame else ""
    classes = model_classes(incident)
    given = given_task_type(incident, source)
    no_generation = _NO_GENERATION.search(message(incident))
    if no_generation:
        return _wrapping_failed(incident, no_generation.group(1), given, classes.variable)
    return _forward_failed(incident, classes, given)


def _wrapping_failed(incident: Incident, class_name: str, given: str | None, variable: str | None) -> Advice:
    head = head_of(class_name)
    given = given or "CAUSAL_LM"  # the task types whose wrapper asks for the generation method
    var = variable or "model"
    findings = [
        Finding(
            title=f"`{var}` is a `{class_name}`" + (f": {head.describe}" if head else ""),
            text=(
                f'`task_type="{given}"` makes `get_peft_model` build a PeftModel for text generation, which keeps '
                f"the model's `prepare_inputs_for_generation`; `{class_name}` does not generate text and has no "
                "such method. The error is raised inside peft, not by a line of your script."
            ),
        )
    ]
    fixes = []
    params: dict[str, str] = {"given": given, "model_class": class_name}
    if head is not None and head.task_type != given:
        params["task_type"] = head.task_type
        findings.append(
            Finding(title="The task_type that fits it", text=f'`task_type="{head.task_type}"` for `{class_name}`.')
        )
        fixes.append(
            FixView(
                title=f'Set task_type="{head.task_type}" for {class_name}',
                safety="safe",
                safety_reason="the same LoRA layers; only the PeftModel class that wraps your model changes",
                body=f'```python\nLoraConfig(..., task_type="{head.task_type}")  # keep your other arguments\n```',
                tailored=True,
            )
        )
    fixes.append(_load_other_head(given))
    note = None if incident.probes else text_only_note("the model class comes from the message.")
    return Advice(findings=findings, fixes=fixes, params=params, note=note)


def _forward_failed(incident: Incident, classes, given: str | None) -> Advice:
    wrapper_task = PEFT_CLASSES.get(classes.wrapper or "") or given
    head = head_of(classes.base)
    if head is None or wrapper_task is None:
        return Advice(
            fit=0.5,
            fit_reason="no model class and task_type were captured to show a task_type mismatch",
            note=text_only_note("a task_type mismatch can only be told from the live model."),
        )
    if head.task_type == wrapper_task:
        return Advice(fit=0.3, fit_reason=f'task_type="{wrapper_task}" fits {classes.base}')
    var = classes.variable or "model"
    wanted = HEADS.get(wrapper_task)
    sizes = _BATCH.search(message(incident))
    findings = [
        Finding(
            title=f'`{var}` wraps a `{classes.base}` ({head.describe}) with task_type="{wrapper_task}"',
            text=(
                f"`task_type` chose the wrapper (`{classes.wrapper or wrapper_task}`) but not the model's head: the "
                f"forward pass still runs `{classes.base}`'s own loss, which expects labels with "
                f"{head.labels or 'its own shape'}"
                + (f" ({sizes.group(1)} logit rows here, {sizes.group(2)} labels)." if sizes else ".")
            ),
        )
    ]
    fixes = []
    if wanted is not None and wanted.auto_class != head.auto_class:
        fixes.append(
            FixView(
                title=f"For {wrapper_task}, load the model with {wanted.auto_class}",
                safety="manual",
                safety_reason="loads a different head (a new, untrained classifier layer); you choose the number "
                "of labels",
                body=(
                    f"```python\nmodel = {wanted.auto_class}.from_pretrained(...)  # same checkpoint"
                    + (", num_labels=..." if wanted.task_type in ("SEQ_CLS", "TOKEN_CLS") else "")
                    + '\n```\nand keep `task_type="'
                    + wrapper_task
                    + '"`.'
                ),
                tailored=True,
            )
        )
    fixes.append(
        FixView(
            title=f'Or train it as {head.describe}: task_type="{head.task_type}"',
            safety="manual",
            safety_reason="changes what the model learns; your labels must then be " + (head.labels or "reshaped"),
            body=f'```python\nLoraConfig(..., task_type="{head.task_type}")  # keep your other arguments\n```',
            tailored=True,
        )
    )
    return Advice(findings=findings, fixes=fixes, params={"given": wrapper_task, "model_class": classes.base})


def _load_other_head(given: str) -> FixView:
    wanted = HEADS.get(given)
    auto = wanted.auto_class if wanted else "AutoModelForCausalLM"
    return FixView(
        title=f"Or, to train {wanted.describe if wanted else 'a generator'}, load the model with {auto}",
        safety="manual",
        safety_reason="a different model head; only you know which task you are training",
        body=f"```python\nmodel = {auto}.from_pretrained(...)  # the same checkpoint\n```",
        tailored=True,
    )
