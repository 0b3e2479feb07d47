"""Regenerate the abstention corpus: real error outputs that no KB family owns.

Every file in this folder (``NNN-short-name.txt``) is the real stderr of a
small snippet below, run with the project's interpreter:

    .venv/bin/python tests/data/abstain/make_corpus.py          # rewrite all files
    .venv/bin/python tests/data/abstain/make_corpus.py 023 ...  # only these numbers

Each case says which *form* of its output is stored:

- ``full``: the whole stderr, exactly as printed;
- ``last``: only the final exception line(s) (from the last ``Type: message``
  line to the end), as people often paste just that;
- ``line``: the final exception line alone;
- ``tail``: the last few lines of the stderr.

The diagnostic tool must abstain on all of them (``diagnoses`` empty): they are
ordinary user-code, data and library errors outside the LoRA families, several
of them chosen because their wording is *near* a family's (``requires grad``,
``unexpected keyword argument``, ``Error(s) in loading state_dict``,
``No module named``, ``padding``...).

Snippets run with ``HF_HUB_OFFLINE=1`` in a fixed folder under the system temp
directory, with ``examples/`` on ``PYTHONPATH`` for ``tiny_models``; nothing
reaches the network. A guard refuses to write an output that contains a
family's own wording (``CUDA``, ``out of memory``, ``does not require grad``...).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
RUN_ROOT = Path(tempfile.gettempdir()) / "abstain-corpus"


@dataclass(frozen=True)
class Case:
    num: int
    name: str
    form: str  # full | last | line | tail
    code: str
    script: str = "train.py"
    args: tuple[str, ...] = ()
    files: tuple[tuple[str, bytes], ...] = ()  # files written next to the script first
    tail: int = 4
    launcher: tuple[str, ...] = ()  # e.g. ("torchrun", "--nproc_per_node=1"); default: this interpreter

    @property
    def filename(self) -> str:
        return f"{self.num:03d}-{self.name}.txt"


# Phrases that belong to a family: an abstention output must not contain them.
FORBIDDEN = [
    r"(?i)cuda", r"(?i)out of memory", r"(?i)does not require grad", r"grad_fn",
    r"(?i)same device", r"(?i)target.modules?", r"(?i)bitsandbytes", r"(?i)peft",
    r"(?i)lora", r"(?i)unscale", r"(?i)size mismatch", r"adapter_config",
    r"find_unused_parameters", r"(?i)device-side", r"(?i)padding token",
    r"(?i)gated", r"(?i)offline", r"(?i)empty parameter list", r"(?i)scalar type",
    r"No module named 'accelerate'", r"(?i)must have the same dtype",
]

TOKENIZER = """
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

vocab = {w: i for i, w in enumerate(["[UNK]", "[PAD]", "hello", "world", "the", "cat", "sat"])}
raw = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
raw.pre_tokenizer = pre_tokenizers.Whitespace()
tokenizer = PreTrainedTokenizerFast(tokenizer_object=raw, unk_token="[UNK]", pad_token="[PAD]")
"""

C = Case
CASES: list[Case] = [
    # ---- ordinary Python errors in user code ---------------------------------
    C(1, "keyerror-labels-data-loop", "full", """
        batches = [{"input_ids": [1, 2, 3], "attention_mask": [1, 1, 1]} for _ in range(4)]

        def train_step(batch):
            labels = batch["labels"]
            return sum(labels)

        for step, batch in enumerate(batches):
            loss = train_step(batch)
            print(f"step {step} loss {loss}")
        """),
    C(2, "indexerror-list", "full", """
        checkpoints = ["ckpt-100", "ckpt-200"]
        best = checkpoints[2]
        """, script="pick_checkpoint.py"),
    C(3, "zerodivision-mean-loss", "full", """
        def mean(values):
            return sum(values) / len(values)

        losses = []
        print("epoch 1 mean loss", mean(losses))
        """),
    C(4, "typeerror-missing-argument", "full", """
        def collate(batch, max_len):
            return [row[:max_len] for row in batch]

        rows = [[1, 2, 3], [4, 5]]
        out = collate(rows)
        """),
    C(5, "typeerror-too-many-positional", "last", """
        def tokenize(text, lower):
            return text.lower().split() if lower else text.split()

        tokenize("Hello world", True, 128)
        """),
    C(6, "attributeerror-user-class", "full", """
        class TrainConfig:
            def __init__(self):
                self.lr = 2e-4
                self.epochs = 3

        cfg = TrainConfig()
        print("learning rate", cfg.learning_rate)
        """),
    C(7, "attributeerror-dict", "last", """
        batch = {"input_ids": [[1, 2, 3]], "attention_mask": [[1, 1, 1]]}
        ids = batch.input_ids
        """),
    C(8, "attributeerror-nonetype", "full", """
        import re

        def parse_step(line):
            return int(re.search(r"step=(\\d+)", line).group(1))

        parse_step("epoch=3 loss=0.42")
        """, script="parse_logs.py"),
    C(9, "nameerror", "full", """
        def build_prompt(example):
            return template.format(**example)

        print(build_prompt({"instruction": "hi", "output": "hello"}))
        """),
    C(10, "syntaxerror-missing-colon", "full", """
        def train(epochs)
            for epoch in range(epochs):
                pass
        """),
    C(11, "indentationerror", "full", """
        def evaluate(model):
            total = 0
              for x in model:
                total += x
            return total
        """),
    C(12, "modulenotfound-wandb", "full", """
        import os
        import wandb

        wandb.init(project="finetune")
        """),
    C(13, "modulenotfound-datasets", "last", """
        from datasets import load_dataset

        ds = load_dataset("json", data_files="train.jsonl")
        """),
    C(14, "filenotfound-data-file", "full", """
        import json

        def read_jsonl(path):
            with open(path) as f:
                return [json.loads(line) for line in f]

        train = read_jsonl("data/train.jsonl")
        """),
    C(15, "jsondecodeerror-extra-data", "full", """
        import json

        with open("train.json") as f:
            records = json.load(f)
        """, files=(("train.json", b'{"text": "hello"}\n{"text": "world"}\n'),)),
    C(16, "unicodedecodeerror", "full", """
        with open("corpus.txt", encoding="utf-8") as f:
            text = f.read()
        """, script="prepare_data.py", files=(("corpus.txt", "caf\u00e9 cr\u00e8me\n".encode("latin-1")),)),
    C(17, "recursionerror", "full", """
        def flatten(node):
            return [node] + flatten(node)

        flatten({"children": []})
        """),
    C(18, "assertionerror-user", "full", """
        inputs = [[1, 2, 3]] * 8
        targets = [[1, 2, 3]] * 7
        assert len(inputs) == len(targets), f"got {len(inputs)} inputs but {len(targets)} targets"
        """),
    C(19, "valueerror-int-parse", "last", """
        import sys
        batch_size = int("abc")
        """),
    C(20, "numpy-broadcast", "full", """
        import numpy as np

        scores = np.ones(3)
        weights = np.ones(4)
        print((scores * weights).sum())
        """, script="metrics.py"),
    C(21, "numpy-reshape", "last", """
        import numpy as np

        arr = np.arange(6)
        grid = arr.reshape(4, -1)
        """),
    C(22, "numpy-index-out-of-bounds", "full", """
        import numpy as np

        preds = np.array([0.1, 0.7, 0.2])
        print(preds[10])
        """, script="metrics.py"),
    C(23, "typeerror-unsupported-operand", "last", """
        total_steps = 100
        warmup = "10"
        print(total_steps - warmup)
        """),
    C(24, "typeerror-not-subscriptable", "full", """
        def load_example(i):
            if i > 2:
                return None
            return {"text": "x"}

        for i in range(5):
            print(load_example(i)["text"])
        """),
    C(25, "valueerror-unpack", "full", """
        pairs = [("a", 1, True), ("b", 2, False)]
        for name, value in pairs:
            print(name, value)
        """),
    C(26, "stopiteration", "full", """
        loader = iter([])
        first = next(loader)
        """),
    C(27, "overflowerror-math", "last", """
        import math
        loss = 1000.0
        perplexity = math.exp(loss)
        """, script="evaluate.py"),
    C(28, "chained-keyerror-valueerror", "full", """
        LABELS = {"positive": 1, "negative": 0}

        def encode(label):
            try:
                return LABELS[label]
            except KeyError as err:
                raise ValueError(f"unknown label {label!r}") from err

        encode("neutral")
        """),
    C(29, "custom-exception", "full", """
        class ConfigError(Exception):
            pass

        def check(cfg):
            if cfg["learning_rate"] <= 0:
                raise ConfigError("learning_rate must be positive, got %r" % cfg["learning_rate"])

        check({"learning_rate": 0})
        """),
    C(30, "thread-exception", "full", """
        import threading

        def worker(items):
            for item in items:
                item["score"] += 1

        t = threading.Thread(target=worker, args=([{"name": "a"}],))
        t.start()
        t.join()
        """),
    C(31, "subprocess-calledprocesserror", "full", """
        import subprocess, sys
        subprocess.run([sys.executable, "-c", "import sys; sys.exit(3)"], check=True)
        """, script="launch.py"),
    C(32, "keyboardinterrupt", "full", """
        import os, signal, time

        def train():
            for step in range(1000):
                if step == 3:
                    os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.01)

        train()
        """),
    C(33, "logging-then-keyerror", "full", """
        import logging

        logging.basicConfig(level=logging.INFO, format="%(levelname)s:%(name)s:%(message)s")
        log = logging.getLogger("train")
        log.info("loading 120 examples")
        log.info("building prompts")
        examples = [{"question": "q", "answer": "a"}]
        prompts = [e["prompt"] for e in examples]
        """),
    C(34, "tqdm-then-zerodivision", "full", """
        from tqdm import tqdm

        correct, seen = 0, 0
        for i in tqdm(range(3), desc="eval", mininterval=0, ncols=80, bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt}"):
            pass
        print("accuracy", correct / seen)
        """, script="evaluate.py"),
    # ---- other libraries -------------------------------------------------------
    C(35, "argparse-required", "full", """
        import argparse

        p = argparse.ArgumentParser(prog="train.py")
        p.add_argument("--data", required=True)
        p.add_argument("--epochs", type=int, default=3)
        args = p.parse_args()
        """),
    C(36, "argparse-invalid-int", "full", """
        import argparse

        p = argparse.ArgumentParser(prog="train.py")
        p.add_argument("--epochs", type=int, default=3)
        args = p.parse_args()
        """, args=("--epochs", "three")),
    C(37, "sqlite-no-such-table", "full", """
        import sqlite3

        con = sqlite3.connect(":memory:")
        rows = con.execute("SELECT step, loss FROM runs").fetchall()
        """, script="report.py"),
    C(38, "sqlite-integrity", "last", """
        import sqlite3

        con = sqlite3.connect(":memory:")
        con.execute("CREATE TABLE runs (id TEXT PRIMARY KEY)")
        con.execute("INSERT INTO runs VALUES ('a')")
        con.execute("INSERT INTO runs VALUES ('a')")
        """),
    C(39, "yaml-scanner-error", "full", """
        import yaml

        with open("config.yaml") as f:
            cfg = yaml.safe_load(f)
        """, files=(("config.yaml", b"model: gpt2\nlr: 2e-4\n  epochs: 3\n"),)),
    C(40, "pydantic-validation", "full", """
        from pydantic import BaseModel

        class Settings(BaseModel):
            batch_size: int
            lr: float

        Settings(batch_size="eight", lr="fast")
        """),
    # ---- torch errors outside the families ------------------------------------
    C(41, "torch-matmul-shape", "full", """
        import torch
        from torch import nn

        class Head(nn.Module):
            def __init__(self):
                super().__init__()
                self.proj = nn.Linear(32, 8)

            def forward(self, x):
                return self.proj(x)

        head = Head()
        out = head(torch.randn(4, 16))
        """),
    C(42, "torch-matmul-shape-short", "last", """
        import torch
        from torch import nn

        layer = nn.Linear(768, 2)
        layer(torch.randn(8, 1024))
        """),
    C(43, "torch-view-invalid-shape", "full", """
        import torch

        hidden = torch.randn(3, 4)
        flat = hidden.view(4, 5)
        """),
    C(44, "torch-view-stride", "last", """
        import torch

        x = torch.randn(4, 6).t()
        y = x.view(24)
        """),
    C(45, "cross-entropy-batch-size", "full", """
        import torch
        import torch.nn.functional as F

        logits = torch.randn(4, 10)
        targets = torch.randint(0, 10, (8,))
        loss = F.cross_entropy(logits, targets)
        """),
    C(46, "backward-twice", "full", """
        import torch

        w = torch.randn(3, requires_grad=True)
        loss = (w.exp() * 2).sum()
        loss.backward()
        loss.backward()
        """),
    C(47, "inplace-modified", "full", """
        import torch

        x = torch.randn(2, 3, requires_grad=True)
        y = x.sigmoid()
        y.mul_(2)
        y.sum().backward()
        """),
    C(48, "leaf-variable-inplace", "last", """
        import torch

        w = torch.zeros(3, requires_grad=True)
        w += 1
        """),
    C(49, "numpy-on-requires-grad", "full", """
        import torch

        w = torch.randn(3, requires_grad=True)
        preds = (w * 2).numpy()
        """, script="evaluate.py"),
    C(50, "grad-scalar-outputs", "full", """
        import torch

        w = torch.randn(3, requires_grad=True)
        loss = w * 2
        loss.backward()
        """),
    C(51, "tensor-size-broadcast", "full", """
        import torch

        a = torch.randn(2, 3)
        b = torch.randn(2, 4)
        c = a + b
        """),
    C(52, "torch-cat-sizes", "last", """
        import torch

        parts = [torch.zeros(2, 3), torch.zeros(4, 4)]
        merged = torch.cat(parts, dim=1)
        """),
    C(53, "conv2d-input-dims", "full", """
        import torch
        from torch import nn

        conv = nn.Conv2d(3, 8, kernel_size=3)
        out = conv(torch.randn(3, 32))
        """),
    C(54, "dataloader-worker-keyerror", "full", """
        import torch
        from torch.utils.data import DataLoader, Dataset

        class Rows(Dataset):
            def __init__(self):
                self.rows = [{"text": "a"}, {"text": "b"}]

            def __len__(self):
                return len(self.rows)

            def __getitem__(self, i):
                return self.rows[i]["input_ids"]

        if __name__ == "__main__":
            for batch in DataLoader(Rows(), batch_size=2, num_workers=1):
                print(batch)
        """),
    C(55, "dataloader-stack-unequal", "full", """
        import torch
        from torch.utils.data import DataLoader

        rows = [torch.arange(5), torch.arange(7)]
        for batch in DataLoader(rows, batch_size=2):
            print(batch.shape)
        """),
    C(56, "state-dict-missing-keys", "full", """
        import torch
        from torch import nn

        class Net(nn.Module):
            def __init__(self, layers):
                super().__init__()
                self.fc1 = nn.Linear(4, 4)
                if layers > 1:
                    self.fc2 = nn.Linear(4, 2)

        saved = Net(1).state_dict()
        Net(2).load_state_dict(saved)
        """),
    C(57, "torch-load-weights-only", "tail", """
        import torch

        class Stats:
            def __init__(self):
                self.best = 0.1

        torch.save({"stats": Stats()}, "state.pt")
        torch.load("state.pt")
        """, tail=12),
    C(58, "safetensors-header", "last", """
        from safetensors.torch import load_file

        state = load_file("model.safetensors")
        """, files=(("model.safetensors", b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 12\n"),)),
    C(59, "optimizer-invalid-lr", "full", """
        import torch
        from torch import nn

        model = nn.Linear(4, 2)
        opt = torch.optim.AdamW(model.parameters(), lr=-1e-3)
        """),
    C(60, "random-split-lengths", "last", """
        import torch
        from torch.utils.data import random_split

        train, val = random_split(list(range(10)), [8, 3])
        """),
    C(61, "forward-unexpected-kwarg", "full", """
        import torch
        from torch import nn

        class Classifier(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(4, 2)

            def forward(self, input_ids):
                return self.fc(input_ids)

        model = Classifier()
        batch = {"input_ids": torch.randn(2, 4), "labels": torch.tensor([0, 1])}
        out = model(**batch)
        """),
    # ---- transformers / tokenizers outside the families -----------------------
    C(62, "tokenizer-non-string", "full", TOKENIZER + textwrap.dedent("""
        rows = [{"text": "hello world", "id": 1}]
        enc = tokenizer(rows[0]["id"])
        """)),
    C(63, "tokenizer-ragged-tensor", "full", TOKENIZER + textwrap.dedent("""
        enc = tokenizer(["hello world the cat", "hello"], return_tensors="pt")
        """)),
    C(65, "autoconfig-unknown-model-type", "full", """
        from transformers import AutoConfig

        cfg = AutoConfig.from_pretrained("./my-model")
        """, files=(("my-model/config.json", b'{"model_type": "mambaformer", "hidden_size": 64}\n'),)),
    C(66, "gpt2-heads-not-divisible", "full", """
        from transformers import GPT2Config, GPT2LMHeadModel

        config = GPT2Config(n_layer=2, n_embd=30, n_head=4, vocab_size=128)
        model = GPT2LMHeadModel(config)
        """),
    C(67, "generate-unused-model-kwargs", "full", """
        import torch
        from tiny_models import model_dir
        from transformers import AutoModelForCausalLM

        model = AutoModelForCausalLM.from_pretrained(model_dir("gpt2"))
        out = model.generate(torch.tensor([[1, 2, 3]]), max_lenght=20)
        """, script="generate.py"),
    C(68, "trainer-no-loss-returned", "tail", """
        import torch
        from tiny_models import model_dir
        from transformers import AutoModelForCausalLM, Trainer, TrainingArguments

        class Rows(torch.utils.data.Dataset):
            def __len__(self):
                return 8

            def __getitem__(self, i):
                return {"input_ids": torch.arange(1, 9)}

        model = AutoModelForCausalLM.from_pretrained(model_dir("gpt2"))
        args = TrainingArguments(output_dir="out", per_device_train_batch_size=4, max_steps=2,
                                 report_to=[], use_cpu=True, disable_tqdm=True)
        Trainer(model=model, args=args, train_dataset=Rows()).train()
        """, tail=6),
    C(69, "automodel-unrecognized-config", "last", """
        from transformers import AutoModelForCausalLM, ViTConfig

        model = AutoModelForCausalLM.from_config(ViTConfig(hidden_size=32, num_hidden_layers=1,
                                                           num_attention_heads=2, intermediate_size=64))
        """),
    C(70, "isadirectoryerror", "last", """
        with open("data") as f:
            rows = f.readlines()
        """, files=(("data/.keep", b""),)),
    # A full disk (``/dev/full`` answers every write with ENOSPC): "device" here is the disk.
    C(71, "oserror-no-space-left", "full", """
        import json

        def save_metrics(metrics, path):
            with open(path, "w") as f:
                json.dump(metrics, f)

        save_metrics({"loss": 0.42, "step": 500}, "/dev/full")
        """, script="save.py"),
    C(72, "torch-save-disk-full", "last", """
        import torch

        torch.save({"weight": torch.zeros(1000)}, "/dev/full")
        """),
    # Exceptions with an empty message.
    C(73, "custom-exception-no-message", "full", """
        class EarlyStopping(Exception):
            pass

        def train(patience):
            for epoch in range(10):
                if epoch > patience:
                    raise EarlyStopping

        train(patience=2)
        """),
    C(74, "queue-empty", "full", """
        import queue

        results = queue.Queue()
        batch = results.get(timeout=0.05)
        """, script="worker.py"),
    # torchrun around an ordinary user error: the launcher's ChildFailedError report (exit code 1, no signal).
    C(75, "torchrun-user-keyerror", "full", """
        import os

        batch = {"input_ids": [1, 2, 3]}
        print("rank", os.environ["RANK"], batch["labels"])
        """, launcher=("torchrun", "--nproc_per_node=1")),
    C(76, "torchrun-user-keyerror-tail", "tail", """
        import os

        batch = {"input_ids": [1, 2, 3]}
        print("rank", os.environ["RANK"], batch["labels"])
        """, launcher=("torchrun", "--nproc_per_node=1"), tail=22),
    C(77, "torchrun-user-keyerror-line", "line", """
        import os

        batch = {"input_ids": [1, 2, 3]}
        print("rank", os.environ["RANK"], batch["labels"])
        """, launcher=("torchrun", "--nproc_per_node=1")),
]


def _final_line_index(lines: list[str]) -> int:
    """Index of the final ``Type: message`` line (the rule tests/noise.py uses)."""
    sys.path.insert(0, str(REPO))
    from tests.noise import final_line_index

    return final_line_index(lines)


def run_case(case: Case) -> str:
    work = RUN_ROOT / f"{case.num:03d}-{case.name}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    for rel, data in case.files:
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        (work / rel).write_bytes(data)
    (work / case.script).write_text(textwrap.dedent(case.code).lstrip())
    env = {
        k: v for k, v in os.environ.items()
        if not k.startswith(("HF_", "PYTHON", "TRANSFORMERS_", "CUDA", "FORCE_COLOR"))
    }
    env.update(
        HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_DATASETS_OFFLINE="1",
        PYTHONPATH=str(REPO / "examples"), PYTHONHASHSEED="0", TOKENIZERS_PARALLELISM="false",
        NO_COLOR="1", COLUMNS="100", CUDA_VISIBLE_DEVICES="",
    )
    if case.launcher:
        command = [str(Path(sys.executable).parent / case.launcher[0]), *case.launcher[1:]]
    else:
        command = [sys.executable]
    proc = subprocess.run(
        [*command, case.script, *case.args], cwd=work, env=env,
        capture_output=True, timeout=120,
    )
    err = proc.stderr.decode("utf-8", "replace")
    # A thread's exception is printed but leaves the exit status at 0.
    if proc.returncode == 0 and "Traceback" not in err:
        raise SystemExit(f"{case.filename}: the snippet did not fail")
    lines = err.rstrip("\n").split("\n")
    if case.form == "last":
        lines = lines[_final_line_index(lines):]
    elif case.form == "line":
        lines = [lines[_final_line_index(lines)]]
    elif case.form == "tail":
        lines = lines[-case.tail:]
    elif case.form != "full":
        raise ValueError(case.form)
    return "\n".join(lines) + "\n"


def check(text: str, filename: str) -> None:
    for pat in FORBIDDEN:
        m = re.search(pat, text)
        if m:
            raise SystemExit(f"{filename}: output contains family wording {m.group(0)!r} ({pat})")


def main(argv: list[str]) -> int:
    wanted = {int(a) for a in argv}
    nums = [c.num for c in CASES]
    assert len(nums) == len(set(nums)), "duplicate case numbers"
    for case in CASES:
        if wanted and case.num not in wanted:
            continue
        text = run_case(case)
        check(text, case.filename)
        (HERE / case.filename).write_text(text)
        print(f"{case.filename:45} {case.form:4} {text.splitlines()[-1][:70]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
