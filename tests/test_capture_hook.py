"""The capture hook: records what a fix needs, and changes nothing else."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from diagnose.runner import HOOK_DIR, child_environment
from tests.helpers import env

HF_TOKEN = "hf_" + "AbCdEfGhIjKlMnOpQrStUvWxYz0123"


def _run(tmp_path: Path, body: str, hooked: bool = True, extra_env: dict | None = None, timeout: float = 120):
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(body))
    captures = tmp_path / "captures"
    captures.mkdir(exist_ok=True)
    environment = env(**(extra_env or {}))
    if hooked:
        environment = child_environment(str(captures), environment)
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, env=environment, timeout=timeout, cwd=tmp_path
    )
    files = sorted(captures.glob("capture-*.json"))
    return done, files


FAILING = """
    import sys
    class Model:
        pass
    def train(batch):
        return batch["labels"]
    print("epoch 0", flush=True)
    train({"input_ids": [1, 2]})
"""


@pytest.mark.parametrize("body", [FAILING, "print('ok')", "import sys; sys.exit(3)"])
def test_hook_changes_no_output_and_no_exit_code(tmp_path, body):
    bare, _ = _run(tmp_path, body, hooked=False)
    hooked, _ = _run(tmp_path, body, hooked=True)
    assert (hooked.returncode, hooked.stdout, hooked.stderr) == (bare.returncode, bare.stdout, bare.stderr)


def test_capture_file_holds_the_chain_and_frames_owner_only(tmp_path):
    done, files = _run(
        tmp_path,
        """
        def load():
            raise KeyError("labels")
        try:
            load()
        except KeyError as error:
            raise ValueError("could not build the batch") from error
    """,
    )
    assert done.returncode == 1 and len(files) == 1
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    capture = json.loads(files[0].read_text())
    assert capture["exception"]["type"] == "ValueError"
    assert capture["exception"]["mro"][:2] == ["ValueError", "Exception"]
    assert [e["type"] for e in capture["chain"]] == ["KeyError"]
    assert capture["chain"][0]["relation"] == "cause"
    assert capture["chain"][0]["frames"][-1]["function"] == "load"
    assert "could not build the batch" in capture["traceback_text"]


def test_users_own_sitecustomize_still_runs(tmp_path):
    user_site = tmp_path / "usersite"
    user_site.mkdir()
    (user_site / "sitecustomize.py").write_text("import builtins; builtins.USER_SITE_RAN = True\n")
    body = "import builtins; print(getattr(builtins, 'USER_SITE_RAN', False))"
    done, _ = _run(tmp_path, body, extra_env={"PYTHONPATH": str(user_site)})
    assert done.stdout == b"True\n"


def test_tokens_never_reach_the_capture(tmp_path):
    done, files = _run(
        tmp_path,
        f"""
        import os
        raise OSError("401 for token {HF_TOKEN} and " + os.environ["HF_TOKEN"])
    """,
        extra_env={"HF_TOKEN": "hf_secretsecretsecret123"},
    )
    data = files[0].read_text()
    assert HF_TOKEN not in data and "hf_secretsecretsecret123" not in data
    assert "hf_***" in data


def test_thread_exceptions_are_captured(tmp_path):
    done, files = _run(
        tmp_path,
        """
        import threading
        def worker():
            raise RuntimeError("dataloader worker died")
        t = threading.Thread(target=worker, name="loader-0")
        t.start(); t.join()
    """,
    )
    assert done.returncode == 0  # a thread's exception does not end the program
    capture = json.loads(files[0].read_text())
    assert capture["thread"] == "loader-0"
    assert capture["exception"]["message"] == "dataloader worker died"


def test_capture_survives_a_replaced_excepthook(tmp_path):
    done, files = _run(
        tmp_path,
        """
        import sys
        sys.excepthook = lambda *exc: print("custom hook", file=sys.stderr)
        raise RuntimeError("after rich.traceback.install()")
    """,
    )
    assert done.stderr == b"custom hook\n"
    assert json.loads(files[0].read_text())["exception"]["message"] == "after rich.traceback.install()"


def test_unwritable_capture_dir_changes_nothing(tmp_path):
    script = tmp_path / "s.py"
    script.write_text("raise KeyError('x')\n")
    bare = subprocess.run([sys.executable, str(script)], capture_output=True, env=env())
    hooked = subprocess.run(
        [sys.executable, str(script)], capture_output=True, env=child_environment("/proc/no-such-dir/captures", env())
    )
    assert (hooked.returncode, hooked.stdout, hooked.stderr) == (bare.returncode, bare.stdout, bare.stderr)


def test_objects_whose_repr_and_str_raise_are_survived(tmp_path):
    done, files = _run(
        tmp_path,
        """
        class Evil(Exception):
            def __str__(self):
                raise RuntimeError("no str for you")
        class Weird:
            def __repr__(self):
                raise RuntimeError("no repr")
            def __getattr__(self, name):
                raise RuntimeError("no attributes either")
        def f(thing):
            raise Evil()
        f(Weird())
    """,
    )
    assert done.returncode == 1
    assert b"Evil" in done.stderr
    capture = json.loads(files[0].read_text())
    assert capture["exception"]["message"] == "<unprintable>"


@pytest.mark.slow
def test_huge_model_is_bounded_in_time_and_size(tmp_path):
    done, files = _run(
        tmp_path,
        """
        import time, torch
        layers = torch.nn.ModuleList(torch.nn.Linear(2, 2) for _ in range(100_000))
        model = torch.nn.Sequential(*layers)
        start = time.monotonic()
        try:
            raise ValueError("Target modules {'q_proj'} not found in the base model.")
        finally:
            pass
    """,
        timeout=300,
    )
    assert done.returncode == 1
    capture_bytes = files[0].stat().st_size
    assert capture_bytes <= 1_000_000
    capture = json.loads(files[0].read_text())
    model = capture["probes"]["models"][0]
    assert len(model["modules"]) <= 3000
    assert model["suffixes"]["#"]["count"] >= 1  # ModuleList positions grouped, not listed 100k times


@pytest.mark.slow
def test_hook_time_is_bounded(tmp_path):
    """With 100k modules in the failing frame the hook stops probing at its 1 s deadline."""
    done, files = _run(
        tmp_path,
        """
        import torch
        model = torch.nn.Sequential(*[torch.nn.Linear(2, 2) for _ in range(100_000)])
        raise RuntimeError("boom")
    """,
        timeout=300,
    )
    capture = json.loads(files[0].read_text())
    assert capture["capture_seconds"] <= 1.25
    assert capture["probes"]["models"][0]["module_count"] >= 1


def test_hook_module_imports_nothing_heavy():
    code = (
        f"import sys; sys.path.insert(0, {str(HOOK_DIR)!r}); import sitecustomize, _diagnose_capture, _diagnose_probes; "
        "print(sorted(m for m in ('torch','transformers','peft','numpy') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, env=env(), cwd=str(HOOK_DIR))
    assert done.stdout == b"[]\n"


def test_probing_deprecated_properties_prints_no_warning(tmp_path):
    body = """
        import warnings
        import torch
        class Model(torch.nn.Module):
            @property
            def is_gradient_checkpointing(self):
                warnings.warn("deprecated", FutureWarning)
                return False
        def train(model):
            raise ValueError("boom")
        train(Model())
    """
    bare, _ = _run(tmp_path, body, hooked=False)
    hooked, files = _run(tmp_path, body)
    assert hooked.stderr == bare.stderr and files


def test_probes_leave_library_logging_and_warning_state_as_it_was(tmp_path):
    """transformers logs ``torch_dtype is deprecated`` once per process: a probe that read the property would print
    it into the user's stderr and swallow it when their own code reads it later; a probe that reset the warning
    registries would make a once-per-location warning print twice."""
    body = """
        import threading, warnings
        from transformers import GPT2Config, GPT2LMHeadModel
        model = GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=8, n_head=2, vocab_size=10))
        def warn():
            warnings.warn("shown once for this line", UserWarning)
        def step(model):
            raise ValueError("boom")
        warn()
        worker = threading.Thread(target=step, args=(model,))
        worker.start()
        worker.join()  # the hook probes the model here; the program goes on
        warn()
        print(model.config.torch_dtype)
    """
    bare, _ = _run(tmp_path, body, hooked=False)
    hooked, files = _run(tmp_path, body)
    assert (hooked.returncode, hooked.stdout, hooked.stderr) == (bare.returncode, bare.stdout, bare.stderr)
    assert bare.stderr.count(b"UserWarning: shown once for this line") == 1
    assert b"`torch_dtype` is deprecated" in bare.stderr
    model = json.loads(files[0].read_text())["probes"]["models"][0]
    assert model["model_type"] == "gpt2" and model["dims"]["hidden_size"] == 8
