"""Benchmark `diagnose check`: memory estimate vs the measured allocator peak, and the cost of a check.

    .venv/bin/python bench/bench_check.py [--skip-accuracy] [--skip-sizes]

1. Accuracy: tiny Llama (GQA), GPT-2, Qwen2 and Mistral models trained for two
   real AdamW steps on CPU; the allocator's peak (profiler allocation events,
   not RSS) against the fake-tensor replay of the same model built on the
   meta device (tests/memory_support.py). Goal: ratio within 0.98-1.02.
2. Cost: `diagnose check --json --gpu A100-80GB` on scripts that load
   Llama-2-7B, Llama-3.1-8B and Llama-3.1-70B (the bundled configs; no
   weights) with LoRA r=16 on all linear layers and a batch of 1 × 2048
   tokens: wall time and the peak RSS of the dry-run process. Goal for 8B:
   < 30 s and < 1 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

SETUPS = [
    ("llama-gqa", 1, 256, 8, "qv", False),
    ("llama-gqa", 4, 128, 8, "qv", True),
    ("llama-gqa", 2, 256, 16, "all-linear", False),
    ("llama-gqa", 2, 256, 16, "all-linear", True),
    ("gpt2", 2, 128, 8, "qv", False),
    ("gpt2", 1, 256, 16, "all-linear", True),
    ("qwen2", 4, 64, 4, "all-linear", False),
    ("qwen2", 2, 128, 8, "qv", True),
    ("mistral", 1, 256, 8, "all-linear", False),
    ("mistral", 2, 128, 32, "qv", True),
]

SIZES = {
    "llama2-7b": "meta-llama/Llama-2-7b-hf",
    "llama3.1-8b": "meta-llama/Llama-3.1-8B",
    "llama3.1-70b": "meta-llama/Llama-3.1-70B",
}

SCRIPT = """\
import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM

model = AutoModelForCausalLM.from_pretrained("{name}", dtype=torch.bfloat16, device_map="auto")
model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, lora_dropout=0.05, target_modules="all-linear",
                                         task_type="CAUSAL_LM"))
optimizer = torch.optim.AdamW(model.parameters(), lr=2e-4)
batch = torch.randint(0, 32000, (1, 2048))
loss = model(input_ids=batch, labels=batch).loss
"""


def accuracy() -> None:
    from memory_support import Setup, measured_peak, predicted_peak

    print("| config (bf16, AdamW, 2 steps, CPU) | measured MiB | estimate MiB | ratio |")
    print("|---|---|---|---|")
    worst = 0.0
    for args in SETUPS:
        setup = Setup(*args)
        measured, predicted = measured_peak(setup), predicted_peak(setup)
        ratio = predicted / measured
        worst = max(worst, abs(ratio - 1))
        print(f"| {setup.label()} | {measured / 2**20:.2f} | {predicted / 2**20:.2f} | {ratio:.4f} |", flush=True)
    print(f"worst deviation {100 * worst:.2f}% (goal ≤ 2%)")


def sizes() -> None:
    print("| model | check wall s | CPU s | dry-run peak RSS MB | predicted peak GiB | verdict on A100-80GB |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for label, name in SIZES.items():
            script = Path(folder) / f"{label}.py"
            script.write_text(SCRIPT.format(name=name))
            usage = resource.getrusage(resource.RUSAGE_CHILDREN)
            before, cpu_before = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "diagnose.cli", "check", "--json", str(script), "--gpu", "A100-80GB"],
                capture_output=True,
                text=True,
                env={**os.environ, "HF_HUB_OFFLINE": "1"},
                cwd=ROOT,
            )
            wall = time.perf_counter() - started
            usage = resource.getrusage(resource.RUSAGE_CHILDREN)
            rss = usage.ru_maxrss  # KiB, max over the children so far
            cpu = usage.ru_utime + usage.ru_stime - cpu_before  # CPU seconds: what a loaded machine cannot inflate
            report = json.loads(done.stdout)
            mem = report.get("memory") or {}
            rss_note = f"{rss / 1024:.0f}" if rss > before else f"≤ {rss / 1024:.0f}"
            print(
                f"| {label} | {wall:.1f} | {cpu:.1f} | {rss_note} | {mem.get('peak', 0) / 2**30:.2f} "
                f"({mem.get('method')}) | {mem.get('verdict')} |",
                flush=True,
            )
            if not mem:
                print(f"  {report['method']}: {report['undetermined']}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument("--skip-sizes", action="store_true")
    args = parser.parse_args()
    if not args.skip_sizes:
        sizes()
    if not args.skip_accuracy:
        accuracy()
    return 0


if __name__ == "__main__":
    sys.exit(main())
