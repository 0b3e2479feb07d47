"""Cast a config value to its declared type (``lora_dropout=os.environ.get(...)`` -> ``float(os.environ.get(...))``).

The advisor names the config class, the field and the cast
(``advice.params``).  In the one ``<config_class>(...)`` call that sets the
field: a string literal that reads as the number becomes that number; any
other expression is wrapped in the cast.  Booleans are not patched: casting
text to bool is true for "false" as well.
"""

from __future__ import annotations

import libcst as cst

from diagnose.incident import Incident
from diagnose.patches._cst import Edit, Script, call_name, keyword, string_value
from diagnose.report import Advice

_CASTS = {"float": float, "int": int}


def make_patch(script: Script, incident: Incident, advice: Advice, path: str) -> Edit | None:
    config, field, cast = (advice.params.get(k) for k in ("config_class", "field", "cast"))
    if not (isinstance(config, str) and isinstance(field, str) and cast in _CASTS):
        return None
    calls = script.calls(lambda c: call_name(c).rsplit(".", 1)[-1] == config and keyword(c, field) is not None)
    if len(calls) != 1:
        return None  # not set in a call of the script (a dict, **kwargs), or in several: the user's call
    found = keyword(calls[0], field)
    if found is None:  # the filter above kept only calls that have it
        return None
    value = found.value
    text = string_value(value)
    if text is not None:
        try:
            number = _CASTS[cast](text.strip())
        except ValueError:
            return None  # "0,05": no number to write; the advisor's fix explains
        new: cst.BaseExpression = cst.Float(repr(number)) if cast == "float" else cst.Integer(str(number))
    elif isinstance(value, cst.Call) and call_name(value) == cast:
        return None  # already cast
    else:
        new = cst.Call(func=cst.Name(cast), args=[cst.Arg(value=value)])
    script.replace(value, new)
    return Edit(
        new_text=script.code(),
        title=f"Cast {field} to {cast} in {config}(...)",
        safety="safe",
        safety_reason=f"the same value as the {cast} {config} declares; a text that is no number now fails at "
        "this line with a clear ValueError",
    )
