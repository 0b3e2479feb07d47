"""config-value-wrong-type: a config field holds a value of the wrong type (``lora_dropout="0.05"``).

Library configs are dataclasses (or classes with typed defaults) that do not
convert what they are given: a number read from an environment variable or
an untyped argparse option stays a string until library code compares or
divides it, far from the line that set it.  The evidence:

- from a capture, the ``config_types`` probe: the fields of the live config
  objects (any PeftConfig, TrainingArguments/SFTConfig, BitsAndBytesConfig,
  ...) whose value's type is not their declared type;
- from the script's text (a paste explained on the machine that ran it, and
  ``diagnose check``): ``static_mistyped`` reads the config calls' keyword
  values -- string literals and ``os.environ``/``os.getenv`` reads, which are
  always strings -- against the declared types in the installed libraries.

Without either, the TypeError is an ordinary one: the advisor says the
evidence is missing (``fit``) and the engine abstains.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any, NamedTuple

from diagnose.advisors._common import source_lines, user_frame
from diagnose.advisors._static import _config_class_file
from diagnose.capture.hookdir._diagnose_probes import _fits
from diagnose.incident import Incident
from diagnose.libfacts import _cached, _package_file
from diagnose.report import Advice, Finding, FixView

CASTS = {"float": "float", "int": "int", "str": "str", "bool": "bool"}
# non-peft config classes -> (package, file) where they are declared
DECLARED_IN = {
    "TrainingArguments": ("transformers", ("training_args.py",)),
    "Seq2SeqTrainingArguments": ("transformers", ("training_args_seq2seq.py",)),
    "BitsAndBytesConfig": ("transformers", ("utils", "quantization_config.py")),
    "SFTConfig": ("trl", ("trainer", "sft_config.py")),
    "DPOConfig": ("trl", ("trainer", "dpo_config.py")),
}
_ENV_READS = {"os.environ.get", "environ.get", "os.getenv", "getenv"}


class Mistyped(NamedTuple):
    config: str  # "LoraConfig"
    field: str  # "lora_dropout"
    actual: str  # "str"
    expected: str  # "float" (the scalar the declaration wants)
    declared: str  # the declaration as written: "float", "Optional[int]"
    value: Any  # the value as seen ("0.05"), or None when only its type is known
    variable: str | None = None  # the user's name for the config object
    line: int | None = None  # where the script sets it (static reading)
    column: int | None = None


def advise(incident: Incident) -> Advice:
    found = mistyped_from_probes(incident)
    from_capture = bool(found)
    if not found:
        frame = user_frame(incident)
        found = static_mistyped("\n".join(source_lines(frame.file))) if frame else []
    if not found:
        return Advice(
            fit=0.4,
            fit_reason="no config field of the wrong type was found in the captured configs or the script",
        )
    first = found[0]
    findings = [
        Finding(
            title="Config fields of the wrong type",
            columns=["config", "field", "value", "type", "declared"],
            rows=[
                [m.config, m.field, repr(m.value) if m.value is not None else "?", m.actual, m.declared] for m in found
            ],
        ),
        Finding(
            title=f"`{first.field}` is a {first.actual}, {first.config} declares {first.declared}",
            text=(
                f"{first.config} stores what it is given without converting it, so `{first.field}` stayed a "
                f"{first.actual} until library code used it as a {first.expected}. Values read from environment "
                "variables (`os.environ.get`) or argparse options without `type=` are always strings."
            ),
        ),
    ]
    fixes = [_cast_fix(m) for m in found[:3]]
    params = {
        "config_class": first.config,
        "field": first.field,
        "cast": CASTS.get(first.expected),
        "value": first.value,
    }
    note = None if from_capture else "Read from your script's text: the values computed at run time were not seen."
    return Advice(findings=findings, fixes=fixes, params=params, note=note)


def mistyped_from_probes(incident: Incident) -> list[Mistyped]:
    found = []
    for item in incident.probes.get("config_types", []):
        if not isinstance(item, dict):
            continue
        variables = item.get("user_variables") or []
        found.append(
            Mistyped(
                config=item.get("config", "?"),
                field=item.get("field", "?"),
                actual=item.get("actual", "?"),
                expected=expected_scalar(item.get("declared", "")),
                declared=item.get("declared", "?"),
                value=item.get("value"),
                variable=variables[0] if variables else None,
            )
        )
    return _unique(found)


def expected_scalar(declared: str) -> str:
    """The scalar a declaration wants: 'Optional[float]' -> 'float' (the first scalar named)."""
    for word in ("float", "int", "bool", "str"):
        if word in declared:
            return word
    return declared


def _cast_fix(m: Mistyped) -> FixView:
    cast = CASTS.get(m.expected)
    if m.expected == "bool":
        body = (
            f'```python\n{m.field}=os.environ.get("…", "false").lower() in ("1", "true", "yes")\n```\n'
            f'`bool("false")` is True: compare the text instead of casting it.'
        )
    elif cast and isinstance(m.value, str):
        body = f"```python\n{m.config}(..., {m.field}={cast}(...))  # {cast}({m.value!r}) -> {_cast_preview(cast, m.value)}\n```"
    else:
        body = f"```python\n{m.config}(..., {m.field}={cast or m.expected}(...))\n```"
    return FixView(
        title=f"Cast `{m.field}` to {m.expected}",
        safety="safe" if cast and m.expected != "bool" else "manual",
        safety_reason=f"the value you meant, as the {m.expected} {m.config} declares; nothing else changes",
        body=body + "\nWith argparse, `parser.add_argument(..., type=" + (cast or m.expected) + ")` does it once.",
        tailored=True,
    )


def _cast_preview(cast: str, value: str) -> str:
    try:
        return repr({"float": float, "int": int, "str": str}[cast](value))
    except (KeyError, ValueError):
        return "a ValueError: the text is not a number"


def _unique(found: list[Mistyped]) -> list[Mistyped]:
    seen, out = set(), []
    for m in found:
        if (m.config, m.field) not in seen:
            seen.add((m.config, m.field))
            out.append(m)
    return out


# --------------------------------------------------------------------- static reading (advisor and check)


def static_mistyped(source: str) -> list[Mistyped]:
    """Config calls in the script whose keyword values are of the wrong type (diagnose check uses this too)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        config = _called_name(node.func).rsplit(".", 1)[-1]
        if not config.endswith(("Config", "Arguments")):
            continue
        declared = declared_types(config)
        if not declared:
            continue
        for keyword in node.keywords:
            if keyword.arg is None or keyword.arg not in declared:
                continue
            actual, value = _literal_type(keyword.value)
            if actual is None or _fits(actual, declared[keyword.arg]):
                continue
            found.append(
                Mistyped(
                    config=config,
                    field=keyword.arg,
                    actual=actual,
                    expected=expected_scalar(declared[keyword.arg]),
                    declared=declared[keyword.arg],
                    value=value,
                    line=keyword.value.lineno,
                    column=keyword.value.col_offset + 1,
                )
            )
    return _unique(found)


def _called_name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        head = _called_name(func.value)
        return f"{head}.{func.attr}" if head else func.attr
    return ""


def _literal_type(value: ast.expr) -> tuple[str | None, Any]:
    """The type a keyword value certainly has: a literal's, or str for an environment read."""
    if isinstance(value, ast.Constant) and type(value.value) in (str, int, float, bool):
        return type(value.value).__name__, value.value
    if isinstance(value, ast.Call) and _called_name(value.func) in _ENV_READS:
        default = value.args[1] if len(value.args) > 1 else None
        if default is None or isinstance(default, ast.Constant) and isinstance(default.value, str):
            return "str", default.value if default is not None else None
    if isinstance(value, ast.Subscript) and _called_name(value.value) in ("os.environ", "environ"):
        return "str", None
    return None, None


def declared_types(config: str) -> dict[str, str]:
    """field -> declared type (as written) of a config class in the installed libraries, read statically."""
    path = _declaring_file(config)
    if path is None:
        return {}
    return _cached(path, _field_types).get(config, {})


def _declaring_file(config: str) -> Path | None:
    if config in DECLARED_IN:
        package, parts = DECLARED_IN[config]
        return _package_file(package, *parts)
    return _config_class_file(config)


def _field_types(path: Path) -> dict[str, dict[str, str]]:
    """Every class of the file -> {field: declared type}: annotations, else ``__init__``'s typed or scalar defaults."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return {}
    classes = {}
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        fields = {
            item.target.id: ast.unparse(item.annotation)
            for item in node.body
            if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)
        }
        for item in node.body:
            if isinstance(item, ast.FunctionDef) and item.name == "__init__" and not fields:
                fields = _init_types(item)
        classes[node.name] = fields
    return classes


def _init_types(init: ast.FunctionDef) -> dict[str, str]:
    args = init.args.args[-len(init.args.defaults) :] if init.args.defaults else []
    found = {}
    for arg, default in zip(args, init.args.defaults):
        if arg.annotation is not None:
            found[arg.arg] = ast.unparse(arg.annotation)
        elif isinstance(default, ast.Constant) and type(default.value) in (bool, int, float):
            found[arg.arg] = type(default.value).__name__
    return found
