"""Regenerate the capture fixtures of the advisor tests from real runs.

Each fixture is the capture file the hook wrote when a script failed for real
(torch/transformers/peft as installed, tiny models built from configs, CPU):

    .venv/bin/python tests/data/captures/make_captures.py [NAME ...]

NAME is an example under examples/ (``dtype-mismatch``, or
``more/empty-optimizer/adapter-not-trainable``), or a script under
tests/data/captures/scripts/.  The fixture is tests/data/captures/<name>.json,
with ``/`` in the name replaced by ``--``.  Only structure is recorded (no
tensor values); absolute paths are kept as they were.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
HOOK = ROOT / "diagnose" / "capture" / "hookdir"

DEFAULT = [
    "peft-unsupported-target-module", "more/peft-unsupported-target-module/gpt2-layernorm",
    "empty-optimizer", "more/empty-optimizer/adapter-not-trainable",
    "no-grad-fn", "more/no-grad-fn/forward-under-no-grad",
    "pad-token-missing", "peft-config-unknown-field", "more/peft-config-unknown-field/typo-target-module",
    "peft-model-missing-attribute", "more/peft-model-missing-attribute/config-get-submodules",
    "dtype-mismatch", "fp16-unscale", "device-mismatch", "cpu-out-of-memory",
    "scripts/device-mismatch-meta-embedding", "scripts/dtype-mismatch-inputs-embeds", "scripts/merge-on-base",
    "peft-target-modules-not-found", "more/peft-target-modules-not-found/llama-bert-names",
    "embedding-index-out-of-range", "meta-tensor-weights", "adapter-size-mismatch", "peft-task-type-mismatch",
]


def script_for(name: str) -> Path:
    if name.startswith("scripts/"):
        return HERE / f"{name}.py"
    return ROOT / "examples" / f"{name}.py"


def capture(name: str) -> Path:
    script = script_for(name)
    with tempfile.TemporaryDirectory() as folder:
        env = dict(os.environ, DIAGNOSE_CAPTURE_DIR=folder, PYTHONPATH=str(HOOK), HF_HUB_OFFLINE="1")
        subprocess.run([sys.executable, str(script)], env=env, cwd=ROOT, capture_output=True, timeout=600)
        files = sorted(Path(folder).glob("*.json"))
        if not files:
            raise SystemExit(f"{name}: the script did not fail (no capture)")
        record = json.loads(files[0].read_text())
    out = HERE / (name.replace("/", "--") + ".json")
    out.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    return out


def main(argv: list[str]) -> int:
    for name in argv or DEFAULT:
        print(capture(name).relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
