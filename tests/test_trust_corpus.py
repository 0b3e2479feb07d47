"""Realistic failing scripts that are not examples (tests/data/trust/): the first diagnosis is the expected
family, and the mistakes no KB entry covers are abstained on -- never a confident wrong family (issue 11).

Every script runs under the real capture hook (its sitecustomize, excepthook, probes and capture file), in
children forked from one process that imported torch, transformers and peft once (tests/trust_server.py):
the 40 scripts cost about what four ``diagnose run`` calls do.  The captures and the scripts' own output
are then diagnosed by the real engine, as ``diagnose run`` does.  One script is also run through
``diagnose run`` itself, to show the two paths agree.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from diagnose.engine import diagnose_incident, incident_from_capture
from diagnose.kb.loader import load_kb
from diagnose.paths import SHIPPED_KB
from tests.helpers import ROOT, env, run_json

TRUST = ROOT / "tests" / "data" / "trust"
MANIFEST: dict[str, str] = yaml.safe_load((TRUST / "manifest.yaml").read_text(encoding="utf-8"))
HOOK_DIR = ROOT / "diagnose" / "capture" / "hookdir"


class Outcome:
    def __init__(self, exit_code: int, ids: list[tuple[str, float]], error: str) -> None:
        self.exit_code, self.ids, self.error = exit_code, ids, error


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> dict[str, Outcome]:
    out = tmp_path_factory.mktemp("trust")
    captures = out / "captures"
    captures.mkdir()
    scripts = [str(TRUST / name) for name in sorted(MANIFEST)]
    child_env = env(DIAGNOSE_CAPTURE_DIR=str(captures), PYTHONPATH=str(HOOK_DIR))
    done = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "trust_server.py"), str(out), *scripts],
        capture_output=True,
        text=True,
        env=child_env,
        cwd=out,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    by_pid = {}
    for path in captures.glob("*.json"):
        record = json.loads(path.read_text(encoding="utf-8"))
        by_pid[record["pid"]] = record
    kb = load_kb(shipped=SHIPPED_KB, use_env=False)
    found = {}
    for line in done.stdout.splitlines():
        run = json.loads(line)
        output = (out / f"{run['name']}.log").read_text(encoding="utf-8", errors="replace")
        capture = by_pid.get(run["pid"])
        if capture is None:
            found[run["name"] + ".py"] = Outcome(run["exit_code"], [], "no capture file")
            continue
        incident = incident_from_capture(capture, output, exit_code=run["exit_code"])
        report = diagnose_incident(incident, kb, script=str(TRUST / (run["name"] + ".py")))
        error = f"{incident.exception.type}: {incident.exception.message[:200]}"
        found[run["name"] + ".py"] = Outcome(run["exit_code"], [(d.id, d.confidence) for d in report.diagnoses], error)
    return found


def test_manifest_lists_every_script_and_half_are_outside_the_kb():
    on_disk = {p.name for p in TRUST.glob("*.py")}
    assert on_disk == set(MANIFEST), (
        f"scripts without an expectation, or expectations without a script: {on_disk ^ set(MANIFEST)}"
    )
    kb = load_kb(shipped=SHIPPED_KB, use_env=False)
    unknown = {v for v in MANIFEST.values() if v != "abstain"} - set(kb.entries)
    assert not unknown, f"expected ids that are no KB entry: {unknown}"
    outside = sum(v == "abstain" for v in MANIFEST.values())
    assert len(MANIFEST) >= 30 and outside * 2 >= len(MANIFEST)


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(MANIFEST))
def test_script_gets_its_family_or_an_abstention(outcomes, script):
    expected, outcome = MANIFEST[script], outcomes[script]
    assert outcome.exit_code != 0, f"{script} should fail"
    first = outcome.ids[0][0] if outcome.ids else "abstain"
    if expected == "abstain":
        assert not outcome.ids, f"{script} ({outcome.error}) is no KB family, yet diagnosed as {outcome.ids}"
    else:
        assert first == expected, f"{script} ({outcome.error}): expected {expected}, got {outcome.ids or 'abstain'}"


@pytest.mark.slow
def test_the_forked_path_agrees_with_diagnose_run(outcomes):
    script = "04-opt-classifier-causal-tasktype.py"
    report, done = run_json(TRUST / script)
    assert done.returncode == 1
    assert [d["id"] for d in report["diagnoses"]][:1] == [outcomes[script].ids[0][0]] == ["peft-task-type-mismatch"]
    assert 'task_type="SEQ_CLS"' in report["diagnoses"][0]["patch"]


def test_trust_scripts_do_not_reach_the_hub():
    for path in TRUST.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert 'from_pretrained("' not in text and "from_pretrained('" not in text, path.name
        assert os.sep + "work" + os.sep not in text, path.name
