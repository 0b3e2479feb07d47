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
    if any(package == "trl" and api.endswith("Config") for package, api in found):
        found.append(("transformers", "TrainingArguments"))  # trl's configs inherit TrainingArguments' fields
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
    others = _other_drifted_keywords(incident, failing, drift)
    if others:
        findings.append(
            Finding(
                title="Also in this call",
                text=" ".join(other.sentence() for other in others)
                + " The patch fixes them together, so the next run does not stop at the next one.",
            )
        )
    fixes = []
    if drift.renamed_to:
        fixes.append(_rename_fix(incident, drift, others))
    moved = [each for each in (drift, *others) if each.moved_to]
    if moved:
        fixes.append(_move_fix(moved))
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
    every = [drift, *others]
    params["renames"] = {d.name: d.renamed_to for d in every if d.renamed_to and not d.moved_to}
    moved = [d for d in every if d.moved_to and not d.renamed_to]
    if moved:
        params["moves"] = {
            d.name: apidrift.renamed_in_target(d.package, d.moved_to or "", d.name) or d.name for d in moved
        }
        params["move_to"] = moved[0].moved_to
        params["move_from_package"] = moved[0].package
    # The entry's static fixes are examples of these tailored ones; only the way to list the names stays.
    static = ["Check the names your installed version accepts", "List what your installed version exports"]
    return Advice(findings=findings, fixes=fixes, params=params, fit=fit, fit_reason=fit_reason, static=static)


_KEYWORD_IN_CALL = re.compile(r"\b([A-Za-z_]\w*)\s*=(?!=)")


def _other_drifted_keywords(incident: Incident, failing: dict[str, str], drift: apidrift.Drift) -> list[apidrift.Drift]:
    """The failing call's other keywords that the same API renamed, moved or removed (from the user's line)."""
    if failing["kind"] != "keyword":
        return []
    statement = user_statement(incident)
    found = []
    for other in dict.fromkeys(_KEYWORD_IN_CALL.findall(statement)):
        if other == drift.name:
            continue
        history = apidrift.lookup(drift.package, drift.api, other, drift.installed)
        if history and history.existed and (history.renamed_to or history.moved_to or history.removed_in):
            found.append(history)
    return found


def _rename_fix(incident: Incident, drift: apidrift.Drift, others: list[apidrift.Drift]) -> FixView:
    old, new = drift.name, drift.renamed_to or ""
    code = fixed = user_statement(incident)
    for each in [drift, *others]:
        if each.renamed_to and not each.moved_to:
            keyword = (
                rf"\b{re.escape(each.name)}\b(?=\s*=)" if drift.api != "import" else rf"\b{re.escape(each.name)}\b"
            )
            fixed = re.sub(keyword, each.renamed_to, fixed)
    body = f"```python\n{fixed}\n```" if fixed and fixed != code else f"Write `{new}` where the script says `{old}`."
    moved = [each.name for each in others if each.moved_to]
    if moved:
        body += f"\nand set {', '.join(f'`{m}`' for m in moved)} in `{others[0].moved_to}(...)`, passed as `args=` (next fix)."
    return FixView(
        title=f"Use the new name: `{old}` → `{new}`",
        safety="safe",
        safety_reason=f"{drift.package}'s own deprecation says `{new}` replaces `{old}`: the same setting under its "
        "current name",
        body=body,
        tailored=True,
    )


def _move_fix(moved: list[apidrift.Drift]) -> FixView:
    target, api, package = moved[0].moved_to or "", moved[0].api, moved[0].package
    names = {d.name: apidrift.renamed_in_target(package, target, d.name) or d.name for d in moved}
    settings = ", ".join(f"{new}=..." for new in names.values())
    renamed = [f"`{old}` is `{new}` there" for old, new in names.items() if old != new]
    return FixView(
        title=f"Set {', '.join(f'`{n}`' for n in names)} in `{target}`"
        + (f" ({'; '.join(renamed)})" if renamed else ""),
        safety="safe",
        safety_reason=f"the same settings, where {package} now reads them",
        body=(
            f"```python\nargs = {target}({settings})   # with your other training arguments\n"
            f"trainer = {api}(model=..., args=args, ...)\n```\n"
            f"Pass a `{target}` as `args` (a plain `TrainingArguments` has none of these)."
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
