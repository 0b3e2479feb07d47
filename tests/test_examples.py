"""Every example script fails for real on this CPU, and `diagnose run --json` names its family first."""

from __future__ import annotations

import pytest

from tests.example_runs import runs_of  # noqa: F401 - the session fixture: one run per script, shared
from tests.helpers import EXAMPLES

HELPERS = {"tiny_models", "tiny_tokenizer"}
# Examples that cannot fail in the test environment itself, with the reason.
NOT_HERE = {
    "accelerate-missing": "accelerate is installed here (the fix); the example fails only in a venv without it",
    "bnb-gpu-unavailable": "bitsandbytes 0.50.2 has a CPU backend: the example succeeds here; it fails with "
    "transformers 4.46 + bitsandbytes<0.46 (recorded in kb/bnb-gpu-unavailable.yaml)",
}
SCRIPTS = sorted(p for p in EXAMPLES.glob("*.py") if p.stem not in HELPERS)


def test_every_cpu_family_has_an_example():
    from diagnose.kb.loader import load_kb

    kb = load_kb()
    gpu_only = {"cuda-out-of-memory", "device-side-assert", "hub-gated-repo"}  # need a GPU or the network
    # Real pastes only: several GPUs (kbit-device-placement), peft <= 0.5 or a GPTQ model (merge-quantized),
    # deepspeed, which is no dependency here (deepspeed-zero3-device-map).
    gpu_only |= {"kbit-device-placement", "merge-quantized", "deepspeed-zero3-device-map"}
    missing = sorted(set(kb.entries) - gpu_only - {p.stem for p in SCRIPTS})
    assert not missing, f"families without an example script: {missing}"


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_example_is_diagnosed_as_its_family(runs_of, script):  # noqa: F811
    runs = runs_of(script)
    if script.stem in NOT_HERE:  # the reason holds: it passes here, with nothing to diagnose
        assert runs.wrapped.returncode == 0, NOT_HERE[script.stem]
        return
    report = runs.report
    assert runs.wrapped.returncode != 0, "the example should fail"
    ids = [d["id"] for d in report["diagnoses"]]
    assert ids and ids[0] == script.stem, f"expected {script.stem} first, got {ids}"
    assert report["incident"]["source"] == "capture"
    assert report["diagnoses"][0]["confidence"] >= 0.6
    if script.stem == "ddp-unused-parameters":  # two torchrun ranks, each with the same reducer error
        ranks = report["incident"]["ranks"]
        assert ranks["all_same"] and ranks["summary"].startswith("All 2 ranks failed with the same error")


@pytest.mark.slow
def test_demo_names_gpt2_layers_and_the_corrected_config(runs_of):  # noqa: F811
    runs = runs_of(EXAMPLES / "peft-target-modules-not-found.py")
    report, done = runs.report, runs.wrapped
    best = report["diagnoses"][0]
    findings = " ".join(f["title"] + f["text"] + str(f["rows"]) for f in best["findings"])
    assert "c_attn ×2" in findings and "c_fc" in findings and "c_proj" in findings
    assert "GPT-2" in findings
    first_fix = best["fixes"][0]
    assert 'target_modules=["c_attn"]' in first_fix["body"]
    assert "LoraConfig(r=8, lora_alpha=16" in first_fix["body"]
    assert "q_proj" in done.stderr.decode()  # the child's own traceback still reached stderr
