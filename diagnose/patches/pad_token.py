"""Add ``tokenizer.pad_token = tokenizer.eos_token`` right after the tokenizer is created.

The tokenizer variable is the one the capture saw without a pad token (probe
``tokenizers``), else the one the failing line uses; the line goes after the
last assignment of that variable before the failing line.
"""

from __future__ import annotations

import libcst as cst

from diagnose.incident import Incident
from diagnose.patches._cst import Edit, Script, call_name, dotted, failing_lines
from diagnose.report import Advice

SAFETY_REASON = (
    "padding reuses the end-of-sequence token; a data collator that masks pad tokens out of the "
    "labels then masks the real end-of-sequence tokens too, so the model may not learn to stop "
    "(add a dedicated pad token and resize the embeddings if that matters)"
)


def is_tokenizer_load(node: cst.BaseExpression) -> bool:
    if not isinstance(node, cst.Call):
        return False
    name = call_name(node)
    return "Tokenizer" in name and (
        name.endswith("from_pretrained") or name.endswith("Tokenizer") or name.endswith("TokenizerFast")
    )


def sets_pad_token(script: Script, variable: str) -> bool:
    for assign in script.walk(cst.Assign):
        for target in assign.targets:
            if dotted(target.target) in (f"{variable}.pad_token", f"{variable}.pad_token_id"):
                return True
    for call in script.calls(lambda c: call_name(c) == f"{variable}.add_special_tokens"):
        if "pad_token" in cst.Module([]).code_for_node(call):
            return True
    return False


def tokenizer_variables(script: Script) -> list[str]:
    found = []
    for assign in script.walk(cst.Assign):
        if is_tokenizer_load(assign.value):
            for target in assign.targets:
                if isinstance(target.target, cst.Name) and target.target.value not in found:
                    found.append(target.target.value)
    return found


def make_patch(script: Script, incident: Incident, advice: Advice, path: str) -> Edit | None:
    lines = failing_lines(incident, path)
    last_line = lines[-1] if lines else None  # the outermost script line: where the user's code was
    variable = _variable(script, incident, advice)
    if variable is None or sets_pad_token(script, variable):
        return None
    loads = [
        a for a in script.assignments(variable, before_line=last_line) if is_tokenizer_load(a.value)
    ] or script.assignments(variable, before_line=last_line)
    if not loads:
        return None
    statement = script.statement_of(loads[-1])
    script.insert_after(statement, f"{variable}.pad_token = {variable}.eos_token\n")
    return Edit(
        new_text=script.code(),
        title=f"Pad with the end-of-sequence token: {variable}.pad_token = {variable}.eos_token",
        safety="unsafe",
        safety_reason=SAFETY_REASON,
    )


def _variable(script: Script, incident: Incident, advice: Advice) -> str | None:
    known = tokenizer_variables(script)
    wanted = advice.params.get("tokenizer_variable")
    if isinstance(wanted, str) and wanted.isidentifier():
        return wanted
    for probe in incident.probes.get("tokenizers", []):
        name = probe.get("variable")
        if name in known and not probe.get("pad_token"):
            return name
    return known[0] if len(known) == 1 else None
