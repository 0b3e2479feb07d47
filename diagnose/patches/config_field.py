"""Rename an unknown config keyword to the field it most likely means (``dropout=`` -> ``lora_dropout=``).

The advisor finds the wrong keyword and the closest field this peft version
accepts (``advice.params``: ``config_class``, ``field``, ``suggestion``); the
keyword is renamed in the failing ``<config_class>(...)`` call only, its value
and layout untouched.  Without a suggestion there is nothing to rename to.
"""

from __future__ import annotations

import libcst as cst

from diagnose.incident import Incident
from diagnose.patches._cst import Edit, Script, call_name, failing_lines, keyword
from diagnose.report import Advice


def make_patch(script: Script, incident: Incident, advice: Advice, path: str) -> Edit | None:
    wrong, suggestion = advice.params.get("field"), advice.params.get("suggestion")
    class_name = advice.params.get("config_class") or "LoraConfig"
    if not (isinstance(wrong, str) and isinstance(suggestion, str) and suggestion.isidentifier()):
        return None
    calls = script.calls(lambda c: call_name(c).rsplit(".", 1)[-1] == class_name and keyword(c, wrong) is not None)
    failing = script.on_lines(calls, failing_lines(incident, path))
    if failing:
        calls = failing[:1]
    elif len(calls) != 1:
        return None
    call = calls[0]
    if keyword(call, suggestion) is not None:
        return None  # both given: which value is meant is the user's call
    arg = keyword(call, wrong)
    if arg is None or arg.keyword is None:  # not given as a keyword here: nothing to rename
        return None
    script.replace(arg.keyword, cst.Name(suggestion))
    return Edit(
        new_text=script.code(),
        title=f"Rename {wrong}= to {suggestion}= in {class_name}(...)",
        safety="unsafe",
        safety_reason=f"`{suggestion}` is the accepted field closest to `{wrong}` by spelling; check it is "
        f"the setting you meant",
    )
