"""Regenerate real Rich tracebacks (Rich 15, width 100) used to test the text parser.

    .venv/bin/python tests/data/rich/make_rich.py

Each case runs a small failing snippet in a child interpreter with
``rich.traceback.install(width=100)`` (or ``Console().print_exception()``) and
saves what Rich printed on stderr, unchanged, as ``tests/data/rich/<name>.txt``.
``*-color.txt`` files are the same kind of run with colour forced
(``FORCE_COLOR=1``), i.e. with the ANSI SGR codes a terminal would get.

Which family each output belongs to (``None`` = the tool must abstain) is in
``EXPECTED`` below and in ``expected.json`` written beside the outputs.
``<name>.plain.txt`` is the same snippet run without Rich (the plain Python
traceback, same file and line numbers), so a test can compare the
``tests/noise.py`` ``rich_box`` transform of the plain text with real Rich.
Snippets run with ``HF_HUB_OFFLINE=1``; the tiny GPT-2 comes from
``examples/tiny_models.py`` (built from a config, nothing downloaded).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
RUN_ROOT = Path(tempfile.gettempdir()) / "rich-corpus"

INSTALL = """
import sys
sys.path.insert(0, {examples!r})
from rich.traceback import install
install(width=100)
"""

# Same line count as INSTALL, so the plain twin's line numbers equal the Rich run's.
PLAIN = """
import sys
sys.path.insert(0, {examples!r})
import traceback, rich.console
rich.console.Console.print_exception = lambda self, **kw: traceback.print_exc()
"""

CASES: dict[str, tuple[str, dict[str, str]]] = {
    # peft refuses a target module name that GPT-2 does not have (GPT-2 has c_attn, c_proj, c_fc).
    "peft-target-modules-gpt2": ("""
        from tiny_models import model_dir
        from transformers import AutoModelForCausalLM
        from peft import LoraConfig, get_peft_model

        model = AutoModelForCausalLM.from_pretrained(model_dir("gpt2"))
        config = LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM")
        model = get_peft_model(model, config)
        """, {}),
    "peft-target-modules-gpt2-color": ("""
        from tiny_models import model_dir
        from transformers import AutoModelForCausalLM
        from peft import LoraConfig, get_peft_model

        model = AutoModelForCausalLM.from_pretrained(model_dir("gpt2"))
        config = LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM")
        model = get_peft_model(model, config)
        """, {"FORCE_COLOR": "1"}),
    # An ordinary user error in a data loop.
    "user-keyerror-labels": ("""
        batches = [{"input_ids": [1, 2, 3]} for _ in range(2)]

        def train_step(batch):
            labels = batch["labels"]
            return sum(labels)

        for batch in batches:
            train_step(batch)
        """, {}),
    "user-keyerror-labels-color": ("""
        batches = [{"input_ids": [1, 2, 3]} for _ in range(2)]

        def train_step(batch):
            labels = batch["labels"]
            return sum(labels)

        for batch in batches:
            train_step(batch)
        """, {"FORCE_COLOR": "1"}),
    # A chained exception, printed by Console().print_exception() in an except block.
    "user-chained-print-exception": ("""
        from rich.console import Console

        LABELS = {"positive": 1, "negative": 0}

        def encode(label):
            try:
                return LABELS[label]
            except KeyError as err:
                raise ValueError(f"unknown label {label!r}") from err

        try:
            encode("neutral")
        except Exception:
            Console(stderr=True, width=100).print_exception()
            raise SystemExit(1)
        """, {}),
    # A torch shape error from inside nn.Linear (not a family).
    "torch-matmul-shape": ("""
        import torch
        from torch import nn

        head = nn.Linear(32, 8)
        out = head(torch.randn(4, 16))
        """, {}),
}

EXPECTED = {
    "peft-target-modules-gpt2": "peft-target-modules-not-found",
    "peft-target-modules-gpt2-color": "peft-target-modules-not-found",
    "user-keyerror-labels": None,
    "user-keyerror-labels-color": None,
    "user-chained-print-exception": None,
    "torch-matmul-shape": None,
}


def run(name: str, code: str, extra_env: dict[str, str], plain: bool = False) -> str:
    work = RUN_ROOT / name
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    script = work / "train.py"
    header = (PLAIN if plain else INSTALL).format(examples=str(REPO / "examples")).lstrip()
    script.write_text(header + textwrap.dedent(code))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HF_", "PYTHON", "FORCE_COLOR", "NO_COLOR", "TERM", "COLUMNS"))}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", COLUMNS="100", PYTHONHASHSEED="0",
               TERM="dumb", **extra_env)
    if "FORCE_COLOR" in extra_env:
        env["TERM"] = "xterm-256color"
    proc = subprocess.run([sys.executable, "train.py"], cwd=work, env=env, capture_output=True, timeout=120)
    if proc.returncode == 0:
        raise SystemExit(f"{name}: the snippet did not fail")
    return proc.stderr.decode("utf-8")


def main() -> int:
    for name, (code, env) in CASES.items():
        text = run(name, code, env)
        (HERE / f"{name}.txt").write_text(text)
        print(f"{name:35} {len(text.splitlines())} lines")
        if "FORCE_COLOR" not in env:
            (HERE / f"{name}.plain.txt").write_text(run(name, code, env, plain=True))
    (HERE / "expected.json").write_text(json.dumps(EXPECTED, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
