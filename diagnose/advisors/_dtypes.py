"""Dtype facts shared by the dtype-mismatch and fp16-unscale advisors."""

from __future__ import annotations

import re
from typing import Any

from diagnose.advisors._common import dtype_name, fmt_count, split_place
from diagnose.report import Finding

_WORD = re.compile(
    r"(?:c10::|torch\.(?:cuda\.)?)?\b(BFloat16|Float|Half|Double|Long|bfloat16|float16|float32|"
    r"float64|float|half|double|long)(?:Tensor)?\b"
)


def message_dtypes(message: str) -> list[str]:
    """The dtypes a mismatch message names, in order: ['float32', 'bfloat16']."""
    found: list[str] = []
    for word in _WORD.findall(message):
        name = dtype_name(word)
        if name and name not in found:
            found.append(name)
    return found


def roles(message: str, dtypes: list[str]) -> tuple[str | None, str | None]:
    """(input dtype, weight dtype) as the message puts them."""
    if len(dtypes) < 2:
        return (dtypes[0] if dtypes else None), None
    if re.search(r"expected scalar type", message):  # "expected scalar type Half but found Float": found = input
        return dtypes[1], dtypes[0]
    return dtypes[0], dtypes[1]  # "mat1 and mat2 ...", "Input type (A) and weight type (B)"


def by_dtype(model: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """dtype -> {"count": params, "trainable": params, "modules": [...]} from a model probe."""
    params = model.get("parameters", {})
    out: dict[str, dict[str, Any]] = {}
    for place, count in params.get("by_place", {}).items():
        _, dtype = split_place(place)
        row = out.setdefault(dtype, {"count": 0, "trainable": 0, "modules": []})
        row["count"] += count
        row["trainable"] += params.get("trainable_by_place", {}).get(place, 0)
        for name in params.get("place_modules", {}).get(place, {}).get("modules", []):
            if name not in row["modules"]:
                row["modules"].append(name)
    return out


def dtype_table(model: dict[str, Any], var: str) -> Finding:
    rows = []
    for dtype, row in sorted(by_dtype(model).items(), key=lambda kv: -kv[1]["count"]):
        examples = ", ".join(f"`{m}`" for m in row["modules"][:3])
        rows.append([dtype, fmt_count(row["count"]), fmt_count(row["trainable"]), examples])
    return Finding(
        title=f"Parameters of `{var}` by dtype", columns=["dtype", "parameters", "trainable", "e.g."], rows=rows
    )


def main_dtype(model: dict[str, Any]) -> str | None:
    table = by_dtype(model)
    return max(table, key=lambda d: table[d]["count"]) if table else None


TORCH = {
    "float32": "torch.float32",
    "float16": "torch.float16",
    "bfloat16": "torch.bfloat16",
    "float64": "torch.float64",
    "int64": "torch.long",
}
