"""Replace ``target_modules`` with the names the model really has.

The names come from the advisor (``advice.params["target_modules"]``, computed
from the live model's modules).  The value is edited where it is written: the
``target_modules=`` keyword of the ``LoraConfig(...)`` call, the variable it
names, or the dict that is unpacked into the call (``LoraConfig(**cfg)``).
"""

from __future__ import annotations

import libcst as cst

from diagnose.incident import Incident
from diagnose.patches._cst import (
    Edit,
    Script,
    append_arg,
    call_name,
    failing_lines,
    keyword,
    list_literal,
    quote_of,
    tight_equal,
)
from diagnose.report import Advice

CONFIG_CLASSES = ("LoraConfig", "LoHaConfig", "LoKrConfig", "AdaLoraConfig", "IA3Config", "VeraConfig")
SAFETY_REASON = "only the LoRA config changes; the model, data and weights are untouched"


def make_patch(script: Script, incident: Incident, advice: Advice, path: str) -> Edit | None:
    names = advice.params.get("target_modules")
    if not names or not all(isinstance(n, str) for n in names):
        return None
    names = list(names)
    call = _config_call(script, incident, path)
    if call is None:
        return None
    value = _value_node(script, call)
    if value is None:
        arg = keyword(call, "target_modules")
        if arg is not None:
            return None  # an expression we cannot rewrite safely (a function call, a comprehension…)
        _add_keyword(script, call, names)
    else:
        current = _literal(value)
        if current is not None and sorted(current) == sorted(names):
            return None
        script.replace(value, cst.parse_expression(list_literal(names, quote_of(call))))
    shown = ", ".join(names)
    return Edit(
        new_text=script.code(),
        title=f"Set target_modules to the model's own layers: {shown}",
        safety="safe",
        safety_reason=SAFETY_REASON,
    )


def _config_call(script: Script, incident: Incident, path: str) -> cst.Call | None:
    """The config call that failed: on a failing line, else the one get_peft_model got, else the only one."""
    configs = script.calls(lambda c: call_name(c).rsplit(".", 1)[-1] in CONFIG_CLASSES)
    if not configs:
        return None
    lines = failing_lines(incident, path)
    on_line = script.on_lines(configs, lines)
    if on_line:
        return on_line[0]
    # get_peft_model(model, lora_config) on the failing line -> the config assigned to that variable
    for call in script.on_lines(script.calls(), lines):
        for arg in call.args:
            if isinstance(arg.value, cst.Name):
                for assign in reversed(script.assignments(arg.value.value, before_line=script.lines(call)[0])):
                    if isinstance(assign.value, cst.Call) and assign.value in configs:
                        return assign.value
    return configs[0] if len(configs) == 1 else None


def _value_node(script: Script, call: cst.Call) -> cst.BaseExpression | None:
    """The expression that holds the names: literal in the call, a variable's literal, or a dict entry."""
    arg = keyword(call, "target_modules")
    if arg is not None:
        return _resolve(script, arg.value, script.lines(call)[0])
    for arg in call.args:
        if arg.star == "**":
            source = _resolve_dict(script, arg.value, script.lines(call)[0])
            if source is not None:
                return source
    return None


def _resolve(script: Script, value: cst.BaseExpression, line: int) -> cst.BaseExpression | None:
    if _literal(value) is not None:
        return value
    if isinstance(value, cst.Name):
        assigns = script.assignments(value.value, before_line=line)
        if assigns and _literal(assigns[-1].value) is not None:
            return assigns[-1].value
    return None


def _resolve_dict(script: Script, value: cst.BaseExpression, line: int) -> cst.BaseExpression | None:
    if isinstance(value, cst.Name):
        assigns = script.assignments(value.value, before_line=line)
        if not assigns:
            return None
        value = assigns[-1].value
    if isinstance(value, cst.Dict):
        for element in value.elements:
            if (
                isinstance(element, cst.DictElement)
                and isinstance(element.key, cst.SimpleString)
                and element.key.evaluated_value == "target_modules"
            ):
                return _resolve(script, element.value, line)
    if isinstance(value, cst.Call) and call_name(value) == "dict":
        arg = keyword(value, "target_modules")
        if arg is not None:
            return _resolve(script, arg.value, line)
    return None


def _literal(value: cst.BaseExpression) -> list[str] | None:
    """The names of a string / list / tuple / set literal of strings, else None."""
    if isinstance(value, cst.SimpleString):
        text = value.evaluated_value
        return [text] if isinstance(text, str) else None
    if isinstance(value, (cst.List, cst.Tuple, cst.Set)):
        names = []
        for element in value.elements:
            if not isinstance(element, cst.Element) or not isinstance(element.value, cst.SimpleString):
                return None
            text = element.value.evaluated_value
            if not isinstance(text, str):
                return None
            names.append(text)
        return names
    return None


def _add_keyword(script: Script, call: cst.Call, names: list[str]) -> None:
    value = cst.parse_expression(list_literal(names, quote_of(call)))
    script.replace(
        call, append_arg(call, cst.Arg(keyword=cst.Name("target_modules"), value=value, equal=tight_equal()))
    )
