"""Matching quality over the whole shipped KB.

- Robustness: every KB example, mangled by each of tests/noise.py's VARIANTS
  (cut head/tail/middle, last line only, rank prefixes, ANSI, timestamps,
  wrap80, log noise, Rich box, CRLF; and as users paste: indentation lost,
  Markdown-eaten dunders, cut at the raise line, Windows paths, srun/pdsh labels), must still be diagnosed as its entry,
  first.  One test per entry x variant.  Where a variant destroys all the
  evidence an example has, that combination is listed in EXPECTED_MISSES with
  its reason (keep the list short: fix the entry's rules before adding here).
- Abstention: real errors of no family (tests/data/abstain/*.txt): the tool
  claims none of them.
- Comparable confidences: on an entry's own example no other entry scores as
  high (a tie broken by the id's spelling is a flaw, not a win).
- Version scoping: an entry written for other versions still matches, and
  the report says so.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from diagnose.engine import explain_text
from diagnose.kb.loader import load_kb
from diagnose.matcher import match
from diagnose.paths import SHIPPED_KB
from diagnose.textparse import parse_text
from tests.noise import VARIANTS

DATA = Path(__file__).parent / "data"
ABSTAIN = sorted((DATA / "abstain").glob("*.txt"))
KB = load_kb(shipped=SHIPPED_KB, use_env=False)
ENTRY_IDS = sorted(KB.entries)

# (entry id, variant) -> why the variant leaves no evidence of the entry in some of its examples.
# The combination is then only required to not be diagnosed as something else.
EXPECTED_MISSES: dict[tuple[str, str], str] = {
    ("adapter-size-mismatch", "cut_head"): "transformers 5's example: the 'lora_A … | MISMATCH' load report is in the "
    "first half; what is left is the generic 'ignore_mismatched_sizes' line",
    ("adapter-size-mismatch", "cut_middle"): "same example: the middle cut drops the load report that names lora_A/B",
    ("adapter-size-mismatch", "last_line_only"): "same example: 'You set `ignore_mismatched_sizes` to `False`' is "
    "any checkpoint/model shape mismatch, not necessarily an adapter's",
    ("bnb-gpu-unavailable", "cut_tail"): "a bitsandbytes 0.41 paste prints 'RuntimeError: ' and the whole message on "
    "the following lines; cut at the exception line nothing is left",
    ("bnb-gpu-unavailable", "last_line_only"): "same paste: the last exception line is 'RuntimeError: ' alone",
    ("adapter-config-missing", "cut_at_raise"): "peft's raise line is an f-string (Can't find '{CONFIG_NAME}' at "
    "'{model_id}'): without the printed message the file it looked for is a placeholder",
    ("bnb-quantization-args", "cut_at_raise"): "torch's raise line is an f-string (module '{__name__}' has no "
    "attribute '{name}'): nothing of bnb_4bit_compute_dtype='bf16' is left",
    ("bnb-quantization-args", "cut_middle"): "bnb_4bit_compute_dtype='bf16': the evidence is the quantization_config "
    "frame; alone, \"module 'torch' has no attribute 'bf16'\" is a user typo",
    ("bnb-quantization-args", "last_line_only"): "same example, same reason",
    ("config-value-wrong-type", "cut_head"): "Python's own TypeError ('>' not supported between 'str' and 'float') "
    "is claimed only when a library frame raised it; the cut leaves the short example no frame",
    ("config-value-wrong-type", "cut_middle"): "same: the library frames are in the cut middle",
    ("config-value-wrong-type", "last_line_only"): "same: alone, the TypeError is any program's type mistake",
    ("label-shape-mismatch", "cut_head"): "the batch-size ValueError is claimed only with a transformers frame "
    "(a model's loss); the user's own F.cross_entropy is no head problem",
    ("label-shape-mismatch", "cut_middle"): "same: the model's frames are in the cut middle",
    ("label-shape-mismatch", "last_line_only"): "same: alone, it is any cross-entropy shape mistake",
    ("ddp-unused-parameters", "cut_head"): "torchrun output: the rank's RuntimeError is in the first half, the rest is "
    "the launcher's ChildFailedError summary that names no cause",
    ("ddp-unused-parameters", "cut_middle"): "same output: only the ChildFailedError summary is kept",
    ("ddp-unused-parameters", "last_line_only"): "'ChildFailedError: ' says only that a rank failed",
    ("peft-model-missing-attribute", "cut_middle"): "misspelt method: the PeftModel/LoraModel exceptions of the chain "
    "are cut; \"'GPT2LMHeadModel' object has no attribute "
    "'print_trainable_params'\" alone is an ordinary typo",
    ("peft-model-missing-attribute", "last_line_only"): "same example, same reason",
}


def _examples(entry_id: str):
    return list(enumerate(KB.entries[entry_id].entry.examples))


def _diagnosis(text: str) -> list:
    return match(parse_text(text), KB)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("entry_id", ENTRY_IDS)
def test_variant_still_yields_the_entry(entry_id: str, variant: str):
    transform = VARIANTS[variant]
    failures = []
    for index, example in _examples(entry_id):
        mangled = transform(example.text)
        found = _diagnosis(mangled)
        if found and found[0].id == entry_id:
            continue
        if (entry_id, variant) in EXPECTED_MISSES and (not found or found[0].id == entry_id):
            continue  # listed: the variant removed the evidence; abstaining is the right answer
        got = f"{found[0].id} ({found[0].confidence:.2f})" if found else "nothing (abstained)"
        failures.append(
            f"examples[{index}] ({example.source[:60]}…) -> {got}\n--- {variant} text (tail) ---\n" + mangled[-600:]
        )
    assert not failures, f"{entry_id} under {variant}:\n" + "\n\n".join(failures)


def test_expected_misses_are_real():
    """Each listed exception names an existing entry and variant and still misses (else drop it)."""
    for (entry_id, variant), reason in EXPECTED_MISSES.items():
        assert entry_id in KB.entries and variant in VARIANTS and reason
        missed = [
            i
            for i, ex in _examples(entry_id)
            if not [c for c in _diagnosis(VARIANTS[variant](ex.text)) if c.id == entry_id][:1]
        ]
        assert missed, f"({entry_id}, {variant}) now passes: remove it from EXPECTED_MISSES"


@pytest.mark.parametrize("path", ABSTAIN, ids=[p.stem for p in ABSTAIN])
def test_abstains_on_errors_of_no_family(path: Path):
    found = _diagnosis(path.read_text(encoding="utf-8", errors="replace"))
    assert not found, f"{path.name} is no KB family, yet diagnosed as " + ", ".join(
        f"{c.id} ({c.confidence:.2f}: {c.evidence})" for c in found
    )


def test_abstention_set_is_large_enough():
    assert len(ABSTAIN) >= 40


@pytest.mark.parametrize("entry_id", ENTRY_IDS)
def test_confidences_are_comparable(entry_id: str):
    """On its own examples an entry scores strictly higher than any other entry."""
    for index, example in _examples(entry_id):
        found = _diagnosis(example.text)
        mine = next((c for c in found if c.id == entry_id), None)
        assert mine is not None, f"examples[{index}] does not match {entry_id}"
        rivals = [c for c in found if c.id != entry_id and c.confidence >= mine.confidence]
        assert not rivals, f"{entry_id} examples[{index}] scores {mine.confidence:.2f}, but " + ", ".join(
            f"{c.id} scores {c.confidence:.2f} ({c.evidence})" for c in rivals
        )


def _scoped_copy(tmp_path: Path, entry_id: str, versions: dict[str, str]) -> Path:
    data = yaml.safe_load((SHIPPED_KB / f"{entry_id}.yaml").read_text(encoding="utf-8"))
    data["versions"] = versions
    folder = tmp_path / "user-kb"
    folder.mkdir()
    (folder / f"{entry_id}.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return folder


def test_version_scoped_entry_still_matches_and_says_so(tmp_path):
    entry_id = "peft-target-modules-not-found"
    folder = _scoped_copy(tmp_path, entry_id, {"peft": "<0.1"})
    kb = load_kb([folder], use_env=False)
    assert kb.entries[entry_id].overrides == SHIPPED_KB / f"{entry_id}.yaml"
    report = explain_text(kb.entries[entry_id].entry.examples[0].text, kb)
    best = report.diagnoses[0]
    assert best.id == entry_id
    assert best.version_note and "peft <0.1" in best.version_note and "you have" in best.version_note
    assert best.origin == str(folder)

    # The same through the command line and the JSON report.
    example = tmp_path / "paste.txt"
    example.write_text(kb.entries[entry_id].entry.examples[0].text, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "diagnose.cli", "explain", "--json", "--no-quiz", "--kb", str(folder), str(example)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["diagnoses"][0]["id"] == entry_id
    assert "peft <0.1" in report["diagnoses"][0]["version_note"]


def test_entry_for_the_installed_versions_has_no_version_note(tmp_path):
    entry_id = "peft-target-modules-not-found"
    folder = _scoped_copy(tmp_path, entry_id, {"peft": ">=0.1"})
    kb = load_kb([folder], use_env=False)
    report = explain_text(kb.entries[entry_id].entry.examples[0].text, kb)
    assert report.diagnoses[0].id == entry_id and report.diagnoses[0].version_note is None
