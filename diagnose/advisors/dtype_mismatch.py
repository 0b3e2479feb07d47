"""dtype-mismatch: which tensors and modules are in which dtype, and the cast that fixes it.

From a capture: the module the failing op ran in (its name in the model and
its parameters' dtypes), the model's parameters by dtype, the input tensor the
op saw and the user's own tensors with their dtypes; the fix casts the
user's tensor to the model's dtype (``x.to(model.dtype)``) or, when the model
itself mixes dtypes outside LoRA, casts the model or uses autocast.
From text: the two dtypes the message names and which is the input.
"""

from __future__ import annotations

from typing import Any

from diagnose.advisors._common import main_model, message, model_var, models, tensors, text_only_note
from diagnose.advisors._dtypes import TORCH, by_dtype, dtype_table, main_dtype, message_dtypes, roles
from diagnose.incident import Incident
from diagnose.report import Advice, Finding, FixView

FLOATS = {"float32", "float16", "bfloat16", "float64"}


def advise(incident: Incident) -> Advice:
    msg = message(incident)
    input_dtype, weight_dtype = roles(msg, message_dtypes(msg))
    model = main_model(incident)
    if model is None:
        return _from_text(incident, input_dtype, weight_dtype)
    var = model_var(incident)
    findings = [dtype_table(model, var)]
    owner, failing = _failing_module(incident)
    if failing is not None:
        places = ", ".join(f"{p.split('/')[-1]} ({n:,})" for p, n in failing["places"].items())
        label = failing["name"] or (owner.get("variables") or [failing["class"]])[0]
        findings.append(
            Finding(title="Where it failed", text=f"`{label}` ({failing['class']}), parameters: {places or 'none'}")
        )
    model_dtype = main_dtype(model) or weight_dtype
    user = [t for t in tensors(incident) if t.get("user_code") and t.get("dtype") in FLOATS]
    off = [t for t in user if t["dtype"] != model_dtype]
    seen = _op_inputs(incident)
    rows = [
        [t["name"], t["dtype"], str(t["shape"]), "your code" if t.get("user_code") else f"{t['frame']} ({t['file']})"]
        for t in seen + user
    ]
    if rows:
        findings.append(
            Finding(title="Tensors and their dtypes", columns=["tensor", "dtype", "shape", "where"], rows=rows)
        )
    fixes = []
    params_extra: dict[str, Any] = {}
    target = TORCH.get(model_dtype or "", "model.dtype")
    if off:
        cast = "\n".join(
            f"{t['name']} = {t['name']}.to({var}.dtype)  # {t['dtype']} -> {model_dtype}"
            for t in off
            if "[" not in t["name"]
        )
        if cast:
            fixes.append(
                FixView(
                    title=f"Cast your input to the model's dtype ({model_dtype})",
                    safety="safe",
                    safety_reason="casts one input tensor; the model and its weights are unchanged",
                    body=f"```python\n{cast}\n```",
                    tailored=True,
                )
            )
    own = _user_module(owner, failing, model)
    if own is not None and input_dtype and input_dtype in FLOATS:
        module_var, module_dtype = own
        if module_dtype != input_dtype:
            fixes.append(
                FixView(
                    title=f"Cast your `{module_var}` to the dtype of what it receives ({input_dtype})",
                    safety="safe",
                    safety_reason="casts a module you created yourself, before training it; the base model is unchanged",
                    body=(
                        f"`{module_var}` was created in {module_dtype} (PyTorch's default) and receives {input_dtype} "
                        f"activations from the model:\n\n```python\n{module_var} = {module_var}.to({TORCH[input_dtype]})\n```"
                        f"\n\nor keep it in {module_dtype} and cast its input: `{module_var}(x.to({TORCH.get(module_dtype, 'torch.float32')}))`."
                    ),
                    tailored=True,
                )
            )
            params_extra = {"module_var": module_var, "module_dtype": module_dtype}
    mixed_base = _mixed_base(model)
    if mixed_base:
        fixes.append(
            FixView(
                title=f"Put the base model in one dtype ({model_dtype})",
                safety="unsafe",
                safety_reason="casting weights down loses precision; keep a copy if the originals matter",
                body=(
                    f"Base (non-LoRA) weights are in {', '.join(sorted(mixed_base))}. Cast the model before adding "
                    f"the adapter:\n\n```python\n{var} = {var}.to({target})\n```\n\n"
                    f"or run the forward pass under `torch.autocast(device_type=..., dtype={target})`."
                ),
                tailored=True,
            )
        )
    if not fixes:
        fixes.append(
            FixView(
                title=f"Run the forward pass under autocast ({model_dtype})",
                safety="safe",
                safety_reason="autocast casts per operation; no weights change",
                body=f'```python\nwith torch.autocast(device_type="cuda", dtype={target}):\n    outputs = {var}(**batch)\n```',
                tailored=True,
            )
        )
    params: dict[str, Any] = {"model_var": var, "model_dtype": model_dtype}
    if off:
        params["tensor_vars"] = [t["name"] for t in off]
    params.update(params_extra)
    return Advice(findings=findings, fixes=fixes, params=params)


def _failing_module(incident: Incident) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The innermost module with parameters that the failing op ran in, and the model probe that holds it."""
    best: tuple[dict[str, Any], dict[str, Any] | None] = ({}, None)
    for model in models(incident):
        for module in model.get("frame_modules") or []:
            if module.get("places") and (best[1] is None or module["depth"] < best[1]["depth"]):
                best = (model, module)
    return best


def _user_module(
    owner: dict[str, Any], failing: dict[str, Any] | None, model: dict[str, Any]
) -> tuple[str, str] | None:
    """(variable, dtype) when the op failed in a whole module the user made (a head), not inside the main model."""
    if failing is None or failing["name"] or owner is model or not owner.get("variables"):
        return None
    dtypes = {p.split("/")[-1]: n for p, n in failing["places"].items()}
    return owner["variables"][0], max(dtypes, key=lambda dtype: dtypes[dtype])


def _op_inputs(incident: Incident) -> list[dict[str, Any]]:
    """Float tensors the failing library op saw (innermost frames), not the user's own."""
    found = [t for t in tensors(incident) if not t.get("user_code") and t.get("dtype") in FLOATS]
    return found[:3]


def _mixed_base(model: dict[str, Any]) -> set[str]:
    """Float dtypes of frozen (base) weights when there is more than one: LoRA's fp32 adapters are normal."""
    frozen = {dtype for dtype, row in by_dtype(model).items() if row["count"] > row["trainable"] and dtype in FLOATS}
    return frozen if len(frozen) > 1 else set()


def _from_text(incident: Incident, input_dtype: str | None, weight_dtype: str | None) -> Advice:
    findings = []
    if input_dtype and weight_dtype:
        findings.append(
            Finding(
                title="The two dtypes",
                text=f"The input is **{input_dtype}**, the weight it meets is **{weight_dtype}**.",
            )
        )
    var = model_var(incident)
    target = TORCH.get(weight_dtype or "", f"{var}.dtype")
    fixes = [
        FixView(
            title=f"Cast the input to the weights' dtype{f' ({weight_dtype})' if weight_dtype else ''}",
            safety="safe",
            safety_reason="casts the input tensor only; the model is unchanged",
            body=f"```python\ninputs = inputs.to({var}.dtype)  # {target}\n```\n\nor run the forward pass under "
            f'`torch.autocast(device_type="cuda", dtype={target})`.',
            tailored=True,
        )
    ]
    return Advice(
        findings=findings,
        fixes=fixes,
        params={"model_var": var, "model_dtype": weight_dtype},
        note=text_only_note("the dtypes of your model's modules and tensors were not captured."),
    )
