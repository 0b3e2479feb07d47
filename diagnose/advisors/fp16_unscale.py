"""fp16-unscale: which trainable parameters are float16, and the cast that fixes it.

GradScaler (and Trainer with ``fp16=True``) keeps the trainable weights in
float32 and only runs the forward pass in float16; it refuses float16
gradients.  From a capture: the trainable parameters by dtype (the LoRA
weights are float16 here, e.g. after ``model.half()`` or loading with
``torch_dtype=torch.float16`` and ``autocast_adapter_dtype=False``), and the
line that casts exactly those back to float32.  From text: the same line.
"""

from __future__ import annotations

from diagnose.advisors._common import fmt_count, main_model, model_var, split_place, text_only_note
from diagnose.advisors._dtypes import dtype_table
from diagnose.incident import Incident
from diagnose.report import Advice, Finding, FixView


def _cast_fix(var: str) -> FixView:
    return FixView(
        title="Keep the trainable (LoRA) weights in float32",
        safety="safe",
        safety_reason="only the trainable weights change dtype (up to float32); the frozen base stays float16",
        body=(
            "peft's own helper casts the frozen weights to float16 and the trainable ones to float32:\n\n"
            f"```python\nfrom peft import cast_mixed_precision_params\n\n"
            f"cast_mixed_precision_params({var}, dtype=torch.float16)\n```\n\n"
            "Call it after `get_peft_model` and after any `.half()`, before building the optimizer."
        ),
        tailored=True,
    )


def advise(incident: Incident) -> Advice:
    model = main_model(incident)
    var = model_var(incident)
    if model is None:
        return Advice(
            findings=[
                Finding(
                    title="Which weights are float16",
                    text="The optimizer holds trainable parameters in float16. With LoRA these are the adapter weights: "
                    "they were cast down by `model.half()` / `.to(torch.float16)` after `get_peft_model`, or created "
                    "in float16 with `autocast_adapter_dtype=False`.",
                )
            ],
            fixes=[_cast_fix(var)],
            params={"model_var": var},
            note=text_only_note("the dtypes of your trainable parameters were not captured."),
        )
    params = model.get("parameters", {})
    trainable_fp16 = sum(
        n for place, n in params.get("trainable_by_place", {}).items() if split_place(place)[1] == "float16"
    )
    findings = [dtype_table(model, var)]
    lora_names = [n for n in params.get("trainable_names", []) if "lora_" in n]
    examples = ", ".join(f"`{n}`" for n in (lora_names or params.get("trainable_names", []))[:3])
    if trainable_fp16:
        findings.append(
            Finding(
                title=f"{fmt_count(trainable_fp16)} trainable parameters are float16",
                text=f"e.g. {examples}. GradScaler unscales gradients in float32 and refuses float16 ones: the trainable "
                "weights must be float32 (the frozen base may stay float16).",
            )
        )
    fixes = [_cast_fix(var)]
    fixes.append(
        FixView(
            title="Or train in bfloat16 instead of float16 (Ampere or newer GPUs)",
            safety="manual",
            safety_reason="needs a GPU with bfloat16 support; numerics change slightly",
            body="Load the base with `dtype=torch.bfloat16` and use `bf16=True` instead of `fp16=True`: "
            "bfloat16 training needs no gradient scaler.",
            tailored=True,
        )
    )
    return Advice(findings=findings, fixes=fixes, params={"model_var": var, "trainable_fp16": trainable_fp16})
