"""label-shape-mismatch: the labels' shape against the model's head, from the captured tensors and model class.

``Expected input batch_size (N) to match target batch_size (M)`` is
cross-entropy seeing N rows of logits and M labels.  Which side is wrong
depends on the head: a sequence classifier has one row per sequence, a
language model or token classifier one per token.  The head comes from the
captured model class (or, from text, the loss function in the frames); the
labels' and input_ids' shapes from the tensors in the user's frames.
"""

from __future__ import annotations

import re
from typing import Any

from diagnose.advisors._common import message, tensors, text_only_note
from diagnose.advisors._heads import CAUSAL, PEFT_CLASSES, SEQ_CLS, TOKEN_CLS, Head, head_of, model_classes
from diagnose.incident import Incident
from diagnose.report import Advice, Finding, FixView

_BATCH = re.compile(r"Expected input batch_size \((\d+)\) to match target batch_size \((\d+)\)")
# transformers' loss functions (loss/loss_utils.py) and the head each one belongs to
_LOSS_FRAMES = {
    "ForCausalLMLoss": CAUSAL,
    "ForMaskedLMLoss": CAUSAL,
    "ForSequenceClassificationLoss": SEQ_CLS,
    "ForTokenClassification": TOKEN_CLS,
}


def advise(incident: Incident) -> Advice:
    sizes = _BATCH.search(message(incident))
    rows, targets = (int(sizes.group(1)), int(sizes.group(2))) if sizes else (None, None)
    classes = model_classes(incident)
    head = head_of(classes.base) or _head_from_frames(incident)
    labels, inputs = _user_tensor(incident, "labels"), _user_tensor(incident, "input_ids")
    findings, fixes = [], []
    what = f"`{classes.base}`" if classes.base else "The model"
    if head is None:
        findings.append(
            Finding(
                title="Logits and labels do not line up",
                text=f"The loss got {rows} rows of logits and {targets} labels; each label needs one row.",
            )
        )
    elif head.task_type == "SEQ_CLS":
        findings.append(
            Finding(
                title=f"{what} is a sequence classifier: one prediction per sequence ({rows} here)",
                text=f"It needs {head.labels}: labels of shape [{rows}]. Yours "
                + (f"have shape {labels['shape']}" if labels else f"flatten to {targets} values")
                + " — one per token, like language-model labels (a collator such as DataCollatorForLanguageModeling "
                "copies `input_ids` into `labels`).",
            )
        )
        fixes.append(_class_labels_fix(rows))
        fixes.append(_lm_instead_fix())
    else:
        per_token = head.task_type in ("CAUSAL_LM", "TOKEN_CLS")
        shape = inputs["shape"] if inputs else None
        findings.append(
            Finding(
                title=f"{what} is {head.describe}: one prediction per token ({rows} rows here)",
                text=f"It needs {head.labels}"
                + (f", labels shaped like `input_ids` {shape}" if shape and per_token else "")
                + ". Yours "
                + (f"have shape {labels['shape']}" if labels else f"have {targets} values")
                + ": one per sequence, like classification labels.",
            )
        )
        if head.task_type == "CAUSAL_LM":
            fixes.append(_token_labels_fix())
        fixes.append(_classifier_instead_fix(head))
    fit, fit_reason = 1.0, None
    if head is None:  # the loss ran on tensors alone: any shape mistake, not the labels against a head
        fit, fit_reason = 0.5, "no model head was seen: the loss was computed on tensors alone"
    wrapper_task = PEFT_CLASSES.get(classes.wrapper or "")
    if head is not None and wrapper_task and wrapper_task != head.task_type:
        # the labels fit what the task_type promised; the model class is the mistake (peft-task-type-mismatch)
        fit, fit_reason = 0.9, f"the PeftModel was built for {wrapper_task} around {head.describe}"
    note = None if incident.probes else text_only_note("the head was read from the loss function in the frames.")
    params: dict[str, Any] = {"rows": rows, "targets": targets, "head": head.task_type if head else None}
    return Advice(findings=findings, fixes=fixes, params=params, note=note, fit=fit, fit_reason=fit_reason)


def _head_from_frames(incident: Incident) -> Head | None:
    for exception in incident.exceptions():
        for frame in reversed(exception.frames):
            for name, head in _LOSS_FRAMES.items():
                if frame.function.startswith(name):
                    return head
            if "self.num_labels" in frame.code and "labels.view(-1)" in frame.code:
                return SEQ_CLS  # BERT/RoBERTa-style classifier heads compute their loss inline
    return None


def _user_tensor(incident: Incident, name: str) -> dict[str, Any] | None:
    """A tensor the user's code holds under ``name`` (a variable or a batch dict's key)."""
    for tensor in tensors(incident):
        label = tensor.get("name", "")
        if tensor.get("user_code") and (label == name or label.endswith(f"[{name!r}]")):
            return tensor
    return None


def _class_labels_fix(rows: int | None) -> FixView:
    return FixView(
        title="Give one class id per sequence",
        safety="manual",
        safety_reason="only you know each example's class",
        body=(
            "```python\n"
            f"labels = torch.tensor(class_ids)  # shape [{rows or 'batch'}], one int in [0, num_labels) per example\n"
            "```\nWith a Trainer: a `label` column in the dataset and `DataCollatorWithPadding(tokenizer)`, not "
            "`DataCollatorForLanguageModeling`."
        ),
        tailored=True,
    )


def _lm_instead_fix() -> FixView:
    return FixView(
        title="Or, to train a language model, load a causal LM",
        safety="manual",
        safety_reason="a different model head and task",
        body='```python\nmodel = AutoModelForCausalLM.from_pretrained(...)  # and task_type="CAUSAL_LM"\n```',
        tailored=True,
    )


def _token_labels_fix() -> FixView:
    return FixView(
        title="Language-model labels are the token ids",
        safety="manual",
        safety_reason="trains next-token prediction; check it is the task you meant",
        body='```python\nbatch["labels"] = batch["input_ids"].clone()  # the model shifts them itself\n```',
        tailored=True,
    )


def _classifier_instead_fix(head: Head) -> FixView:
    return FixView(
        title="Or, to classify whole sequences, load a sequence classifier",
        safety="manual",
        safety_reason="a new, untrained classification head; you choose the number of labels",
        body=(
            "```python\nmodel = AutoModelForSequenceClassification.from_pretrained(..., num_labels=...)"
            '  # and task_type="SEQ_CLS"\n```' + (f"\ninstead of `{head.auto_class}`." if head.auto_class else "")
        ),
        tailored=True,
    )
