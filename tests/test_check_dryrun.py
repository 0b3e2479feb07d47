"""``diagnose check SCRIPT [ARGS...]``: the dry run sees what a static reading cannot.

Real scripts, run by the real CLI in a subprocess: the model paths, LoRA
settings and batch are computed at run time (a temp folder, argparse, a config
dict), the model is loaded by the real ``from_pretrained`` code path (on the
meta device), and ``get_peft_model`` is peft's own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("peft")

# seed card 2: a Llama tutorial's target_modules on GPT-2, the model saved to a temp folder and loaded from it
SEED_CARD_2 = """\
import os, tempfile
import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, GPT2Config

folder = os.path.join(tempfile.mkdtemp(), "tiny-gpt2")
AutoModelForCausalLM.from_config(GPT2Config(n_layer=2, n_embd=32, n_head=2, vocab_size=128)).save_pretrained(folder)
model = AutoModelForCausalLM.from_pretrained(folder)
config = LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM")
model = get_peft_model(model, config)
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
ids = torch.randint(0, 128, (2, 16))
model(input_ids=ids, labels=ids).loss.backward()
optimizer.step()
"""

TRAINER = """\
import argparse
import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, Trainer, TrainingArguments

parser = argparse.ArgumentParser()
parser.add_argument("--model", required=True)
parser.add_argument("--batch", type=int, default=2)
args = parser.parse_args()

settings = {"r": 4, "lora_alpha": 8, "target_modules": ["q_proj", "v_proj"], "lora_dropout": 0.05}
model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.bfloat16)
model = get_peft_model(model, LoraConfig(task_type="CAUSAL_LM", **settings))
data = [{"input_ids": [i % 200 + 1] * 64, "labels": [i % 200 + 1] * 64} for i in range(8)]
training = TrainingArguments(output_dir=args.model + "-out", per_device_train_batch_size=args.batch, max_steps=2,
                             gradient_checkpointing=True, report_to=[], use_cpu=True)
Trainer(model=model, args=training, train_dataset=data).train()
"""


def check(*argv: str, cwd: Path) -> tuple[int, dict]:
    done = subprocess.run(
        [sys.executable, "-m", "diagnose.cli", "check", "--json", *argv],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=cwd,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert done.returncode in (0, 1), done.stderr[-2000:]
    return done.returncode, json.loads(done.stdout)


@pytest.mark.slow
def test_seed_card_2_found_by_the_dry_run_not_by_reading(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(SEED_CARD_2)
    code, report = check(str(script), "--static", cwd=tmp_path)
    assert code == 0 and report["method"] == "static" and not report["findings"]  # the path is computed at run time

    code, report = check(str(script), cwd=tmp_path)
    assert code == 1 and report["method"] == "dry run"
    assert report["dry_run"]["models"][-1]["config_source"] == "local folder"
    [finding] = report["findings"]
    assert finding["id"] == "peft-target-modules-not-found" and finding["line"] == 10
    assert "NoMatchingPeftModuleError" in finding["message"] and "c_attn" in finding["message"]
    assert finding["fix"] == "target_modules=['c_attn']"


@pytest.mark.slow
def test_trainer_script_batch_trainable_share_and_memory_verdict(tmp_path):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, LlamaConfig

    config = LlamaConfig(
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        vocab_size=256,
        max_position_embeddings=256,
    )
    AutoModelForCausalLM.from_config(config).save_pretrained(tmp_path / "llama")
    real = get_peft_model(
        AutoModelForCausalLM.from_pretrained(tmp_path / "llama"),
        LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"),
    )
    trainable, total = real.get_nb_trainable_parameters()
    script = tmp_path / "train.py"
    script.write_text(TRAINER)

    code, report = check(
        str(script), "--model", str(tmp_path / "llama"), "--batch", "4", "--gpu-memory", "1MiB", cwd=tmp_path
    )
    run = report["dry_run"]
    assert run["outcome"]["status"] == "stopped" and run["outcome"]["at"] == "Trainer.train"
    assert run["batch"]["input_ids"] == [4, 64]  # drawn from the Trainer's own dataloader
    [peft] = run["peft"]
    assert peft["targeted"] == {"q_proj": 2, "v_proj": 2}
    assert (peft["trainable"], peft["total"]) == (trainable, total)
    mem = report["memory"]
    assert mem["method"] == "fake-tensor replay" and mem["checkpointing"] is True
    assert (mem["batch"], mem["seq"]) == (4, 64)
    assert mem["peak"] > 2**20 and mem["verdict"] == "does not fit"
    assert code == 1 and [f["id"] for f in report["findings"]] == ["cuda-out-of-memory"]
    assert report["findings"][0]["line"] == 17  # the Trainer(...).train() line


def test_check_flags_and_script_arguments_are_told_apart():
    from diagnose.check.command import split_arguments

    own, script = split_arguments(["--model", "m", "--gpu", "T4", "--batch=4", "--json", "--", "--gpu", "x"])
    assert own == {"--gpu": "T4", "--json": True}
    assert script == ["--model", "m", "--batch=4", "--gpu", "x"]


@pytest.mark.parametrize("flag", [["--gpu", "TPU-v5"], ["--gpu-memory", "lots"], ["--batch-size", "two"]])
def test_bad_check_flags_are_one_line_exit_2(tmp_path, capsys, flag):
    from diagnose.cli import main

    script = tmp_path / "train.py"
    script.write_text("print('never run')\n")
    assert main(["check", str(script), *flag]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("diagnose check: ") and len(err.splitlines()) == 1
