"""Use the current name of a renamed argument or import (``evaluation_strategy=`` -> ``eval_strategy=``).

Only renames the library's own deprecation states (``advice.params``:
``field`` renamed to ``suggestion``, found by the api_drift advisor) are
patched: a keyword in the failing call, or an imported name together with
every use of it in the script.  Values and layout stay as written.
"""

from __future__ import annotations

import libcst as cst

from diagnose.incident import Incident
from diagnose.patches._cst import Edit, Script, dotted, failing_lines, keyword
from diagnose.report import Advice


def make_patch(script: Script, incident: Incident, advice: Advice, path: str) -> Edit | None:
    old, new = advice.params.get("field"), advice.params.get("suggestion")
    if not (isinstance(old, str) and isinstance(new, str) and new.isidentifier()):
        return None
    safety_reason = f"the library's own deprecation names `{new}` as the new name of `{old}`"
    calls = script.on_lines(script.calls(lambda c: keyword(c, old) is not None), failing_lines(incident, path))
    if calls:
        call, arg = calls[0], keyword(calls[0], old)
        if arg is None or arg.keyword is None or keyword(call, new) is not None:
            return None  # both given: which value is meant is the user's call
        script.replace(arg.keyword, cst.Name(new))
        return Edit(new_text=script.code(), title=f"Rename {old}= to {new}=", safety="safe",
                    safety_reason=safety_reason)  # fmt: skip
    imported = [
        alias
        for node in script.walk(cst.ImportFrom)
        if not isinstance(node.names, cst.ImportStar)
        for alias in node.names
        if dotted(alias.name) == old
    ]
    if not imported:
        return None
    for alias in imported:
        script.replace(alias.name, cst.Name(new))
    for name in script.walk(cst.Name):
        if name.value == old and not any(alias.name is name for alias in imported):
            script.replace(name, cst.Name(new))
    return Edit(new_text=script.code(), title=f"Import {new} instead of {old}", safety="safe",
                safety_reason=safety_reason)  # fmt: skip
