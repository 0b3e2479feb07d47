"""api-argument-removed / api-import-removed: the name's history in the libraries' released code.

The failing name is read from the message (an unexpected keyword of a class's
``__init__``, a name that cannot be imported, a module attribute that is not
there) and looked up in the harvested API history (diagnose/apidrift.py):
"`evaluation_strategy` was renamed `eval_strategy` in transformers 4.41 and
removed in 4.46; you have 5.24".  A rename becomes a safe patch of the failing
call; a trainer argument that moved into its config is shown in the config;
pinning the older library is offered as the alternative for a script written
against the old API.  A name the history has in the installed version means the
error is not API drift: the advice says so and the entry loses its confidence.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from diagnose import apidrift
from diagnose.advisors._common import message, user_statement
from diagnose.incident import Incident
from diagnose.libfacts import installed_version
from diagnose.report import Advice, Finding, FixView

_KEYWORD = re.compile(r"(\w+)\.__init__\(\) got an unexpected keyword argument '(\w+)'")
_IMPORT = re.compile(r"cannot import name '(\w+)' from '([\w.]+)'")
_ATTRIBUTE = re.compile(r"module '?([\w.]+)'? has no attribute '?(\w+)'?")
# A model class in the message: from_pretrained handed an unknown keyword on to the model's constructor.
_MODEL_CLASS = re.compile(r"(Model|For\w+|LMHead\w*)$")


def parse(text: str) -> dict[str, str] | None:
    """What the message names: ``kind`` (keyword | import), ``owner`` (class or module), ``name``."""
    if found := _KEYWORD.search(text):
        return {"kind": "keyword", "owner": found.group(1), "name": found.group(2)}
    if found := _IMPORT.search(text):
        return {"kind": "import", "owner": found.group(2), "name": found.group(1)}
    if found := _ATTRIBUTE.search(text):
        return {"kind": "import", "owner": found.group(1), "name": found.group(2)}
    return None


def candidates(failing: dict[str, str]) -> list[tuple[str, str]]:
    """(package, api) pairs whose history may explain the failing name."""
    owner = failing["owner"]
    if failing["kind"] == "import":
        package = owner.split(".")[0]
        return [(package, "import")] if package in apidrift.history() else []
    found = apidrift.apis_named(owner)
    if not found and _MODEL_CLASS.search(owner):
        found = [("transformers", "from_pretrained")]
    return found


def drift_of(incident: Incident) -> tuple[dict[str, str] | None, apidrift.Drift | None]:
    failing = parse(message(incident)) or parse(incident.text)
    if failing is None:
        return None, None
    versions = incident.probes.get("versions", {}) or {}
    best = None
    for package, api in candidates(failing):
        installed = versions.get(package) or installed_version(package)
        drift = apidrift.lookup(package, api, failing["name"], installed)
        if drift is None:
            continue
        if drift.renamed_to or drift.moved_to or drift.removed_in:
            return failing, drift
        best = best or drift
    return failing, best


def advise(incident: Incident) -> Advice:
    failing, drift = drift_of(incident)
    if failing is None:
        return Advice(note="The failing name was not found in the message.")
    name = failing["name"]
    if drift is None:
        return Advice(
            note=f"`{failing['owner']}` is not an API whose history was harvested (transformers, peft, trl, "
            "accelerate, bitsandbytes): check the name against the library's documentation for your version.",
            fit=0.5,
            fit_reason="the failing name belongs to no harvested library API",
        )
    findings = [Finding(title=f"`{name}` across {drift.package} releases", text=drift.sentence())]
    fixes = []
    if drift.renamed_to:
        fixes.append(_rename_fix(incident, drift))
    if drift.moved_to:
        fixes.append(_move_fix(drift))
    if drift.existed is None:
        close = _closest(drift)
        findings.append(
            Finding(
                title="Never part of this API",
                text=f"No harvested {drift.package} release ({_span(drift.package)}) has `{name}` in "
                f"{_api_label(drift)}." + (f" Closest current names: {', '.join(close)}." if close else ""),
            )
        )
    if drift.removed_in and not drift.renamed_to and not drift.moved_to:
        fixes.append(
            FixView(
                title=f"Remove `{name}`",
                safety="manual",
                safety_reason=f"{drift.package} {drift.removed_in} dropped it without a successor; check what the "
                "script relied on it for",
                body=f"Delete `{name}` from the call (or the import) and read {drift.package}'s release notes for "
                f"{drift.removed_in}.",
                tailored=True,
            )
        )
    if drift.removed_in:
        fixes.append(
            FixView(
                title=f"Or pin the {drift.package} the script was written for",
                safety="unsafe",
                safety_reason="an older library may not work with the rest of your installed stack, and you keep "
                "an API that is gone upstream",
                body=f'```sh\npip install "{drift.package}<{drift.removed_in}"\n```',
                tailored=True,
            )
        )
    fit, fit_reason = 1.0, None
    if drift.existed is None:
        fit, fit_reason = 0.7, f"no {drift.package} release ever had `{name}` here: a typo or another library's name"
    elif drift.exists_now and drift.installed and not drift.renamed_to:
        # The history has the name in the current release: the error has another cause (a subclass, a typo
        # in another call, a shadowing module) and this entry should not speak with confidence.
        fit, fit_reason = 0.4, f"`{name}` exists in {drift.package} {drift.installed} according to its history"
    params: dict[str, Any] = {"config_class": failing["owner"], "field": name}
    if drift.renamed_to:
        params["suggestion"] = drift.renamed_to
    # The entry's static fixes are examples of these tailored ones; only the way to list the names stays.
    static = ["Check the names your installed version accepts", "List what your installed version exports"]
    return Advice(findings=findings, fixes=fixes, params=params, fit=fit, fit_reason=fit_reason, static=static)


def _rename_fix(incident: Incident, drift: apidrift.Drift) -> FixView:
    old, new = drift.name, drift.renamed_to or ""
    code = user_statement(incident)
    pattern = rf"\b{re.escape(old)}\b(?=\s*=)" if drift.api != "import" else rf"\b{re.escape(old)}\b"
    fixed = re.sub(pattern, new, code) if code else ""
    body = f"```python\n{fixed}\n```" if fixed and fixed != code else f"Write `{new}` where the script says `{old}`."
    return FixView(
        title=f"Use the new name: `{old}` → `{new}`",
        safety="safe",
        safety_reason=f"{drift.package}'s own deprecation says `{new}` replaces `{old}`: the same setting under its "
        "current name",
        body=body,
        tailored=True,
    )


def _move_fix(drift: apidrift.Drift) -> FixView:
    target = drift.moved_to or ""
    name = apidrift.renamed_in_target(drift.package, target, drift.name) or drift.name
    renamed = f" (named `{name}` there)" if name != drift.name else ""
    return FixView(
        title=f"Set `{drift.name}` in `{target}`{renamed}",
        safety="safe",
        safety_reason=f"the same setting, where {drift.package} now reads it",
        body=(
            f"```python\nargs = {target}(output_dir=..., {name}=...)   # with your other training arguments\n"
            f"trainer = {drift.api}(model=..., args=args, ...)\n```\n"
            f"Pass a `{target}` as `args` (a plain `TrainingArguments` has no `{name}`)."
        ),
        tailored=True,
    )


def _closest(drift: apidrift.Drift) -> list[str]:
    data = apidrift.history()[drift.package]["apis"][drift.api]
    last = data["versions"][1]
    current = [n for n, spans in data["names"].items() if spans and spans[-1][1] == last]
    return difflib.get_close_matches(drift.name, current, n=3, cutoff=0.6)


def _span(package: str) -> str:
    versions = apidrift.harvested(package)
    return f"{versions[0]}–{versions[-1]}" if versions else "none"


def _api_label(drift: apidrift.Drift) -> str:
    return f"`{drift.package}`'s top-level names" if drift.api == "import" else f"`{drift.api}`"
