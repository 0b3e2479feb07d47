"""no-grad-fn: why the loss has no autograd graph, and the line that gives it one.

From a capture: whether the model has trainable parameters at all (an adapter
loaded for inference, a freezing loop), whether gradient checkpointing is on
(then ``enable_input_require_grads()``), and whether the loss itself was made
without a graph (a ``torch.no_grad()`` / ``inference_mode()`` block around the
forward pass, found in the user's script).
From text: the same causes, ranked without the model's state.
"""

from __future__ import annotations

import re
from typing import Any

from diagnose.advisors import _trainable
from diagnose.advisors._common import model_var, source_lines, tensors, text_only_note, user_frame
from diagnose.incident import Incident
from diagnose.report import Advice, Finding, FixView

_NO_GRAD = re.compile(r"^(\s*)(?:with\s+.*\b(?:no_grad|inference_mode)\s*\(|@.*\b(?:no_grad|inference_mode)\b)")


# The entry's static fixes that fit each cause (titles as in kb/no-grad-fn.yaml); the others are about
# another cause and would contradict the tailored fix.
CHECK = "Check that something is trainable before training"
STATIC_BY_CAUSE = {
    "inference-mode": [CHECK],
    "no-grad-block": [CHECK],
    "checkpointing-frozen-inputs": ["Make the inputs of checkpointed layers require grad", CHECK],
}


def advise(incident: Incident) -> Advice:
    state = _trainable.read(incident)
    no_grad = _no_grad_block(incident)
    if state is None:
        return _from_text(incident, no_grad)
    findings = [_trainable.count_finding(state)]
    var = state.var
    loss = _loss_tensor(incident)
    if loss is not None:
        findings.append(
            Finding(
                title=f"The tensor you called backward() on: `{loss['name']}`",
                text=f"shape {loss['shape']}, dtype {loss['dtype']}, requires_grad="
                f"{loss['requires_grad']}, grad_fn={loss['grad_fn']}",
            )
        )
    fixes: list[FixView] = []
    if not state.trainable:
        findings.append(_trainable.explain(state))
        fix = _trainable.fix(state)
        fixes += [fix] if fix else []
        cause = state.cause
    elif no_grad is not None:
        cause = "no-grad-block"
        findings.append(_no_grad_finding(no_grad))
        fixes.append(_no_grad_fix(no_grad))
    elif state.model.get("is_gradient_checkpointing") or _checkpointing(incident):
        cause = "checkpointing-frozen-inputs"
        findings.append(
            Finding(
                title="Gradient checkpointing with frozen embeddings",
                text=(
                    f"`{var}` has {state.trainable:,} trainable parameters and gradient checkpointing is on. With "
                    "reentrant checkpointing, a checkpointed block whose *input* does not require grad records no "
                    "graph — and the embedding output never requires grad when the embeddings are frozen, as they "
                    "are under LoRA."
                ),
            )
        )
        fixes.append(
            FixView(
                title="Make the embedding output require grad",
                safety="safe",
                safety_reason="registers a forward hook on the input embeddings; no weights change",
                body=(
                    f"```python\n{var}.enable_input_require_grads()  # before training, with gradient checkpointing on\n```\n\n"
                    "or use non-reentrant checkpointing:\n\n```python\n"
                    f'{var}.activation_checkpointing_enable(activation_checkpointing_kwargs={{"use_reentrant": False}})\n```'
                ),
                tailored=True,
            )
        )
    else:
        cause = "detached-loss"
        findings.append(
            Finding(
                title="The model can train, but the loss was made without a graph",
                text=(
                    f"`{var}` has {state.trainable:,} trainable parameters and gradient checkpointing is off, so the "
                    "graph was lost between the forward pass and `backward()`: a forward pass under `torch.no_grad()` "
                    "or `torch.inference_mode()` (also in a function or decorator), a `.detach()`, or a loss rebuilt "
                    "with `torch.tensor(...)` from numbers."
                ),
            )
        )
    return Advice(
        findings=findings,
        fixes=fixes,
        params={"model_var": var, "cause": cause},
        static=STATIC_BY_CAUSE.get(cause),
    )


def _checkpointing(incident: Incident) -> bool:
    for args in incident.probes.get("training_args", []):
        if args.get("fields", {}).get("gradient_checkpointing"):
            return True
    return False


def _loss_tensor(incident: Incident) -> dict[str, Any] | None:
    found = [t for t in tensors(incident) if t.get("shape") == [] and not t.get("requires_grad")]
    return next((t for t in found if t.get("user_code")), found[0] if found else None)


def _no_grad_block(incident: Incident) -> tuple[int, str] | None:
    """The ``with torch.no_grad():`` line above the failing call in the user's script, if the script shows one."""
    frame = user_frame(incident)
    if frame is None or not frame.line:
        return None
    lines = source_lines(frame.file)
    for number in range(min(frame.line - 1, len(lines)) - 1, max(-1, frame.line - 200), -1):
        if _NO_GRAD.match(lines[number]):
            return number + 1, lines[number].strip()
    return None


def _no_grad_finding(no_grad: tuple[int, str]) -> Finding:
    line, code = no_grad
    return Finding(
        title=f"Line {line} of your script turns autograd off",
        text=f"```python\n{code}\n```\nA forward pass inside this block records no graph, so its loss "
        "has no `grad_fn` and `backward()` has nothing to go back through.",
    )


def _no_grad_fix(no_grad: tuple[int, str]) -> FixView:
    line, code = no_grad
    return FixView(
        title="Run the training forward pass outside the no-grad block",
        safety="manual",
        safety_reason="keep the block for evaluation; only the training step must leave it",
        body=f"Move the forward pass that computes the training loss out of `{code}` (line {line}); "
        "keep `torch.no_grad()` for evaluation and generation only.",
        tailored=True,
    )


def _from_text(incident: Incident, no_grad: tuple[int, str] | None) -> Advice:
    findings = []
    fixes = []
    if no_grad is not None:
        findings.append(_no_grad_finding(no_grad))
        fixes.append(_no_grad_fix(no_grad))
    findings.append(
        Finding(
            title="The usual causes with LoRA",
            text=(
                "1. No parameter requires grad: the adapter was loaded with `PeftModel.from_pretrained` without "
                "`is_trainable=True`, or a freezing loop ran after `get_peft_model`.\n"
                "2. Gradient checkpointing (reentrant) with frozen embeddings: call `model.enable_input_require_grads()`.\n"
                "3. The forward pass ran under `torch.no_grad()` / `torch.inference_mode()`, or the loss was detached."
            ),
        )
    )
    var = model_var(incident)
    fixes.append(
        FixView(
            title="Check which case it is",
            safety="safe",
            safety_reason="only prints; nothing changes",
            body=f"```python\n{var}.print_trainable_parameters()\nprint(loss.requires_grad, loss.grad_fn)\n```",
            tailored=True,
        )
    )
    return Advice(
        findings=findings,
        fixes=fixes,
        params={"model_var": var},
        note=text_only_note("the model's trainable parameters and checkpointing state were not captured."),
    )
