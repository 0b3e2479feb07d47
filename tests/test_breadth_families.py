"""Advisors of the breadth families (issue 12 §4), on real runs of their example scripts."""

from __future__ import annotations

import pytest

from diagnose.advisors.target_modules_unspecified import suggest
from tests.helpers import EXAMPLES, run_json


def test_suggest_prefers_the_attention_projections():
    assert suggest(["ff_in", "ff_out", "proj", "qkv"]) == ["qkv"]
    assert suggest(["fc1", "fc2", "k_proj", "q_proj", "v_proj"]) == ["q_proj", "v_proj"]
    assert suggest(["dense_a", "dense_b"]) == ["dense_a", "dense_b"]  # no role to prefer: every layer


@pytest.mark.slow
def test_unspecified_target_modules_lists_the_custom_models_layers():
    report, done = run_json(EXAMPLES / "peft-target-modules-unspecified.py")
    assert done.returncode != 0
    best = report["diagnoses"][0]
    assert best["id"] == "peft-target-modules-unspecified"
    table = next(f for f in best["findings"] if f["rows"])
    names = {row[0].split(" ")[0] for row in table["rows"]}
    assert {"qkv", "proj", "ff_in", "ff_out"} <= names and "head" not in names
    assert 'target_modules=["qkv"]' in best["fixes"][0]["body"]
    assert 'target_modules=["qkv"]' in best["patch"]


@pytest.mark.slow
def test_quantized_model_without_adapters_gets_the_peft_model_patch():
    report, done = run_json(EXAMPLES / "quantized-no-adapter.py")
    assert done.returncode != 0
    best = report["diagnoses"][0]
    assert best["id"] == "quantized-no-adapter"
    assert "+trainer = Trainer(model=peft_model, args=args)" in best["patch"]
