"""Every wording since 2023: each library message template of a family, from every harvested release.

diagnose/wordings.json is made by tools/harvest_wordings.py from the released
wheels (transformers >= 4.30, peft >= 0.4, trl >= 0.7, accelerate >= 0.20,
bitsandbytes >= 0.40).  Each template is filled with realistic values and
must be diagnosed as its own family first -- older libraries' wordings are
what users paste from pinned tutorials.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from diagnose.engine import explain_text
from diagnose.kb.loader import load_kb
from diagnose.paths import SHIPPED_KB

WORDINGS = json.loads((Path(__file__).resolve().parent.parent / "diagnose" / "wordings.json").read_text())["families"]
KB = load_kb(shipped=SHIPPED_KB, use_env=False)
CASES = [(family, w) for family, items in sorted(WORDINGS.items()) for w in items]

# What a placeholder of a template held at run time, by the expression's name.
SAMPLES = [
    (r"target_modules|target_module|key\b|name", "['q_proj', 'v_proj']"),
    (r"CONFIG_NAME|config_name", "adapter_config.json"),
    (r"ENDPOINT|endpoint", "https://huggingface.co"),
    (r"path|model_id|repo|name_or_path|pretrained", "meta-llama/Llama-2-7b-hf"),
    (r"module|type\(|layer", "<class 'torch.nn.modules.conv.Conv2d'>"),
]


def fill(template: str) -> str:
    def value(found: re.Match) -> str:
        expression = found.group(1)
        return next((sample for pattern, sample in SAMPLES if re.search(pattern, expression)), "x")

    return re.sub(r"\{([^{}]*)\}", value, template)


def test_every_library_family_has_its_wordings():
    assert {"peft-target-modules-not-found", "pad-token-missing", "adapter-config-missing"} <= set(WORDINGS)
    for family, items in WORDINGS.items():
        assert family in KB.entries, family
        assert all(w["first"] and w["last"] for w in items)


@pytest.mark.parametrize(
    "family,wording", CASES, ids=[f"{f}-{w['package']}-{w['first']}-{i}" for i, (f, w) in enumerate(CASES)]
)
def test_every_historical_wording_is_its_own_family(family, wording):
    text = f"{wording['exception']}: {fill(wording['template'])}\n"
    report = explain_text(text, KB)
    ids = [d.id for d in report.diagnoses]
    assert ids and ids[0] == family, f"{wording['package']} {wording['first']}–{wording['last']}: {text!r} -> {ids}"


def test_an_old_wording_says_which_releases_printed_it():
    old = next(
        w
        for w in WORDINGS["peft-unsupported-target-module"]
        if "only `torch.nn.Linear` and `Conv1D` are" in w["template"]
    )
    assert not old["in_latest"]
    report = explain_text(f"ValueError: {fill(old['template'])}\n", KB)
    note = report.diagnoses[0].version_note or ""
    assert f"comes from peft {'.'.join(old['first'].split('.')[:2])}" in note and "older peft" in note


def test_the_current_wording_gets_no_such_note():
    current = next(w for w in WORDINGS["pad-token-missing"] if w["in_latest"])
    report = explain_text(f"ValueError: {fill(current['template'])}\n", KB)
    assert report.diagnoses[0].id == "pad-token-missing"
    assert "comes from" not in (report.diagnoses[0].version_note or "")
