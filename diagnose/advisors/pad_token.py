"""pad-token-missing: the line to add, with the tokenizer's own variable name and tokens.

From a capture: the tokenizer's class, its special tokens and the name it has
in the user's code (the tokenizers probe), so the fix reads
``tokenizer.pad_token = tokenizer.eos_token`` for their variable, or adds a
new token when there is no end-of-sequence token to reuse.
From text: the variable is read from the user's failing line when the
traceback shows it (``batch = tok(texts, padding=True)``).
"""

from __future__ import annotations

import re
from typing import Any

from diagnose.advisors._common import model_var, text_only_note, user_code
from diagnose.incident import Incident
from diagnose.report import Advice, Finding, FixView

_CALLED = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)\s*\(")
_TOKENIZER_ARG = re.compile(r"\btokenizer\s*=\s*([A-Za-z_][A-Za-z0-9_.]*)")
_NOT_A_TOKENIZER = {"print", "len", "list", "dict", "model", "torch", "DataLoader", "Trainer", "SFTTrainer"}


def advise(incident: Incident) -> Advice:
    probe = _tokenizer_probe(incident)
    if probe is not None:
        return _from_probe(incident, probe)
    return _from_text(incident)


def _tokenizer_probe(incident: Incident) -> dict[str, Any] | None:
    found = [t for t in incident.probes.get("tokenizers", []) if isinstance(t, dict)]
    return next((t for t in found if t.get("pad_token") is None), found[0] if found else None)


def _variable(incident: Incident, probe: dict[str, Any] | None) -> tuple[str, bool]:
    """The tokenizer's name in the user's code, and whether it was seen (not guessed)."""
    if probe:
        for name in probe.get("user_variables") or []:
            return name, True
        if probe.get("variable") and probe["variable"] != "self":
            return probe["variable"], True
    code = user_code(incident)
    passed = _TOKENIZER_ARG.search(code)  # DataCollator...(tokenizer=tok, ...)
    if passed:
        return passed.group(1), True
    for name in _CALLED.findall(code.split("=", 1)[-1] if "=" in code.split("(", 1)[0] else code):
        if "tok" in name.lower() and name not in _NOT_A_TOKENIZER:
            return name, True
    return "tokenizer", False


def _fix_lines(var: str, eos: str | None, unk: str | None, model: str) -> tuple[str, str, str, str]:
    if eos is not None:
        return (
            "Reuse the end-of-sequence token for padding",
            f"{var}.pad_token = {var}.eos_token",
            "safe",
            "no new token and no new weights: the model and its vocabulary are unchanged",
        )
    return (
        "Add a padding token (this tokenizer has no end-of-sequence token to reuse)",
        f'{var}.add_special_tokens({{"pad_token": "[PAD]"}})\n{model}.resize_token_embeddings(len({var}))',
        "unsafe",
        "adds a row to the embedding matrix: the resized model no longer matches "
        "the original checkpoint's shapes, and the new row is untrained",
    )


def _from_probe(incident: Incident, probe: dict[str, Any]) -> Advice:
    var, _ = _variable(incident, probe)
    eos, unk = probe.get("eos_token"), probe.get("unk_token")
    title, code, safety, reason = _fix_lines(var, eos, unk, model_var(incident))
    rows = [
        [name, "—" if probe.get(name) is None else f"`{probe.get(name)}`"]
        for name in ("pad_token", "eos_token", "unk_token")
    ]
    rows.append(["padding_side", str(probe.get("padding_side"))])
    findings = [
        Finding(
            title=f"Your tokenizer `{var}` ({probe.get('class', '?')})",
            text="It has no padding token, so it cannot pad a batch of texts of different lengths.",
            columns=["token", "value"],
            rows=rows,
        )
    ]
    if eos is not None:
        findings.append(_eos_label_warning(var))
    fix = FixView(
        title=title,
        safety=safety,
        safety_reason=reason,
        body=f"Right after loading the tokenizer:\n\n```python\n{code}\n```",
        tailored=True,
    )
    params = {
        "tokenizer_var": var,
        "tokenizer_variable": var,
        "pad_token_source": "eos_token" if eos is not None else "new_token",
        "pad_line": code,
    }
    return Advice(findings=findings, fixes=[fix], params=params)


def _eos_label_warning(var: str) -> Finding:
    return Finding(
        title="If you train a causal LM with pad = eos",
        text=(
            f"`DataCollatorForLanguageModeling` sets the label of every token equal to `{var}.pad_token_id` to -100. "
            "With pad = eos the real end-of-sequence tokens are masked out too, so the model never learns to stop. "
            "Append the eos to each text and mask padding with the attention mask instead, or use a distinct pad token "
            f"(`{var}.unk_token` when the tokenizer has one)."
        ),
    )


def _from_text(incident: Incident) -> Advice:
    var, seen = _variable(incident, None)
    title, code, safety, reason = _fix_lines(var, "", None, model_var(incident))
    findings = []
    if seen:
        findings.append(
            Finding(title="The tokenizer in your failing line", text=f"`{var}` pads this batch but has no `pad_token`.")
        )
    findings.append(_eos_label_warning(var))
    fix = FixView(
        title=title,
        safety=safety,
        safety_reason=reason,
        body=f"Right after loading the tokenizer:\n\n```python\n{code}\n```\n\n"
        f"(If `{var}.eos_token` is None too, add a token instead: "
        f'`{var}.add_special_tokens({{"pad_token": "[PAD]"}})` and resize the model\'s embeddings.)',
        tailored=True,
    )
    return Advice(
        findings=findings,
        fixes=[fix],
        params={"tokenizer_var": var, "tokenizer_variable": var, "pad_token_source": "eos_token", "pad_line": code},
        note=text_only_note(
            "the tokenizer's special tokens were not captured"
            + ("" if seen else ", and its variable name is a guess")
            + "."
        ),
    )
