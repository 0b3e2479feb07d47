"""Move ``load_in_8bit`` / ``load_in_4bit`` (and ``bnb_4bit_*``) into a ``BitsAndBytesConfig``.

transformers 5 no longer accepts them as keywords of ``from_pretrained``
(they reach the model's ``__init__``: ``TypeError: ... unexpected keyword
argument 'load_in_8bit'``); they belong in
``quantization_config=BitsAndBytesConfig(...)``.  Every ``from_pretrained``
call of the script that passes them is rewritten, so the next run does not
stop at the second one; ``BitsAndBytesConfig`` is imported from transformers.
"""

from __future__ import annotations

import libcst as cst

from diagnose.incident import Incident
from diagnose.patches._cst import Edit, Script, call_name, failing_lines, keyword, tight_equal
from diagnose.report import Advice

# BitsAndBytesConfig's own fields (transformers 5.24), as users passed them to from_pretrained in 4.x
MOVED = (
    "load_in_8bit",
    "load_in_4bit",
    "llm_int8_threshold",
    "llm_int8_skip_modules",
    "llm_int8_enable_fp32_cpu_offload",
    "llm_int8_has_fp16_weight",
    "bnb_4bit_compute_dtype",
    "bnb_4bit_quant_type",
    "bnb_4bit_use_double_quant",
    "bnb_4bit_quant_storage",
)
TRIGGERS = ("load_in_8bit", "load_in_4bit")


def quantized_loads(script: Script) -> list[cst.Call]:
    """``*.from_pretrained(...)`` calls that pass load_in_8bit/load_in_4bit directly."""
    return script.calls(
        lambda c: call_name(c).endswith("from_pretrained") and any(keyword(c, name) is not None for name in TRIGGERS)
    )


def make_patch(script: Script, incident: Incident, advice: Advice, path: str) -> Edit | None:
    calls = quantized_loads(script)
    if not calls:
        return None
    failing = script.on_lines(calls, failing_lines(incident, path))
    calls = failing + [c for c in calls if c not in failing]
    edited = [c for c in calls if _rewrite(script, c)]
    if not edited:
        return None
    if any(not call_name(c).startswith("transformers.") for c in edited):
        script.add_import("transformers", "BitsAndBytesConfig")
    where = "the from_pretrained call" if len(edited) == 1 else f"{len(edited)} from_pretrained calls"
    return Edit(
        new_text=script.code(),
        title=f"Pass load_in_8bit/load_in_4bit as quantization_config=BitsAndBytesConfig(...) in {where}",
        safety="safe",
        safety_reason="the same quantization settings, written the way transformers 5 accepts them; "
        "the model loads as it did with transformers 4",
    )


def _rewrite(script: Script, call: cst.Call) -> bool:
    if keyword(call, "quantization_config") is not None:
        return False  # both given: which one the user meant is theirs to decide
    moved = [arg for arg in call.args if arg.keyword is not None and arg.keyword.value in MOVED]
    inner = ", ".join(
        f"{arg.keyword.value}={cst.Module([]).code_for_node(arg.value)}" for arg in moved if arg.keyword is not None
    )
    qualified = "transformers." if call_name(call).startswith("transformers.") else ""
    config = cst.parse_expression(f"{qualified}BitsAndBytesConfig({inner})")
    positions = [call.args.index(arg) for arg in moved]
    contiguous = positions == list(range(positions[0], positions[0] + len(positions)))
    args, placed = [], False
    for arg in call.args:
        if arg in moved:
            if not placed:  # the new keyword takes the place (and layout) of the first moved one
                args.append(
                    arg.with_changes(
                        keyword=cst.Name("quantization_config"),
                        value=config,
                        comma=moved[-1].comma if contiguous else arg.comma,
                        equal=arg.equal if isinstance(arg.equal, cst.AssignEqual) else tight_equal(),
                    )
                )
                placed = True
            continue
        args.append(arg)
    # the call's last argument must keep the call's own closing layout (trailing comma or not)
    last_original = call.args[-1]
    if args[-1] is not last_original:
        args[-1] = args[-1].with_changes(comma=last_original.comma)
    script.replace(call, call.with_changes(args=args))
    return True
