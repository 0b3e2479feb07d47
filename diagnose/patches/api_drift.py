"""Use the current name of a renamed argument or import (``evaluation_strategy=`` -> ``eval_strategy=``).

Only renames the library's own deprecation states (``advice.params``:
``field`` renamed to ``suggestion``, found by the api_drift advisor) are
patched: a keyword in the failing call, or an imported name together with
every use of it in the script.  Values and layout stay as written.
"""

from __future__ import annotations

import libcst as cst

from diagnose.incident import Incident
from diagnose.patches._cst import Edit, Script, append_arg, dotted, failing_lines, keyword, tight_equal
from diagnose.report import Advice


def make_patch(script: Script, incident: Incident, advice: Advice, path: str) -> Edit | None:
    old, new = advice.params.get("field"), advice.params.get("suggestion")
    renames: dict[str, str] = dict(advice.params.get("renames") or {})
    moves: dict[str, str] = dict(advice.params.get("moves") or {})
    if not isinstance(old, str) or not (isinstance(new, str) and new.isidentifier() or renames or moves):
        return None
    calls = script.on_lines(script.calls(lambda c: keyword(c, old) is not None), failing_lines(incident, path))
    if calls:
        return _fix_call(script, calls[0], renames, moves, advice)
    if not isinstance(new, str):
        return None
    return _rename_import(script, old, new)


def _fix_call(
    script: Script, call: cst.Call, renames: dict[str, str], moves: dict[str, str], advice: Advice
) -> Edit | None:
    """Rename the drifted keywords of the failing call; move the ones its config now holds into ``args=``."""
    config = advice.params.get("move_to")
    if keyword(call, "args") is not None or not isinstance(config, str):
        moves = {}  # the script passes its own args: where they go is the user's call (the fix text says)
    kept, moved = [], []
    for arg in call.args:
        name = arg.keyword.value if arg.keyword else None
        if name in moves:
            moved.append(f"{moves[name]}={cst.Module([]).code_for_node(arg.value)}")
            continue
        if name in renames and keyword(call, renames[name]) is None:
            arg = arg.with_changes(keyword=cst.Name(renames[name]))
        kept.append(arg)
    if not moved and [a.keyword for a in kept] == [a.keyword for a in call.args]:
        return None
    if kept and call.args and kept[-1] is not call.args[-1] and call.args[-1].keyword is not None:
        # the old last argument went into the config: its comma carried the line break before ")"
        kept[-1] = kept[-1].with_changes(comma=call.args[-1].comma)
    fixed = call.with_changes(args=kept)
    if moved:
        config = str(config)
        config_call = cst.parse_expression(f"{config}({', '.join(moved)})")
        fixed = append_arg(fixed, cst.Arg(keyword=cst.Name("args"), value=config_call, equal=tight_equal()))
        script.add_import(str(advice.params.get("move_from_package") or "trl"), config)
    script.replace(call, fixed)
    what = [f"{a}= → {b}=" for a, b in renames.items() if keyword(call, a) is not None]
    what += [f"{a}= into {config}(...)" for a in moves if keyword(call, a) is not None]
    return Edit(
        new_text=script.code(),
        title="Use the current API: " + ", ".join(what),
        safety="safe",
        safety_reason="the same settings under the names and in the place the installed library reads them, "
        "as its own deprecations say",
    )


def _rename_import(script: Script, old: str, new: str) -> Edit | None:
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
                safety_reason=f"the library's own deprecation names `{new}` as the new name of `{old}`")  # fmt: skip
