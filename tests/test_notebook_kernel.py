"""The IPython extension in a real Jupyter kernel (ipykernel started by nbclient), on a tiny local GPT-2.

One kernel runs one notebook (a kernel start costs seconds): the seed LoRA mistake fails once
without the extension (the baseline outputs) and once with it; a passing cell, ``%diagnose
check``, a diagnosis that breaks and ``%unload_ext`` follow in the same kernel.  The kernel is
this test's own interpreter, declared through a kernelspec in a temporary JUPYTER_PATH, so the
test needs no registered kernel (a fresh clone works).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
KERNEL = "lora-diagnose-test"

SETUP = f"""
import sys
sys.path.insert(0, {str(EXAMPLES)!r})
import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM
from tiny_models import model_dir

model = AutoModelForCausalLM.from_pretrained(model_dir("gpt2"), dtype=torch.float32)
lora_config = LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM")
ip = get_ipython()
def ipython_state():  # what an extension could leave behind
    callbacks = {{event: list(hooks) for event, hooks in ip.events.callbacks.items()}}
    magics = {{kind: sorted(table) for kind, table in ip.magics_manager.magics.items()}}
    return callbacks, magics, ip.custom_exceptions, sys.excepthook, ip.display_formatter.active_types
state_before = ipython_state()
"""
FAILING = 'print("wrapping")\npeft_model = get_peft_model(model, lora_config)'
CELLS = [
    SETUP,  # 0
    FAILING,  # 1: baseline, no extension
    "%load_ext diagnose",  # 2
    "print(1 + 1)",  # 3: passes
    "%diagnose check",  # 4
    FAILING,  # 5: diagnosed
    "import diagnose.engine\ndiagnose.engine.diagnose_incident = None  # the diagnosis itself will fail",  # 6
    "1 / 0",  # 7
    "%unload_ext diagnose",  # 8
    "print(ipython_state() == state_before)",  # 9
    FAILING,  # 10: after unload: a plain traceback again
]


@pytest.fixture
def kernel_path(tmp_path, monkeypatch):
    spec = tmp_path / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": KERNEL, "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return tmp_path


def _run(cells: list[str], folder: Path):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    client = nbclient.NotebookClient(
        notebook,
        kernel_name=KERNEL,
        timeout=180,
        allow_errors=True,
        resources={"metadata": {"path": str(folder)}},
    )
    client.execute()
    return notebook


def _own_outputs(cell) -> list[dict]:
    """What the cell itself printed and raised, with the execution count that differs between runs removed."""
    out = []
    for output in cell.outputs:
        if output.output_type == "stream":
            out.append({"stream": output.name, "text": output.text})
        elif output.output_type == "error":
            traceback = [re.sub(r"In ?\[\d+\]", "In[N]", line) for line in output.traceback]
            out.append({"error": output.ename, "value": output.evalue, "traceback": traceback})
    return out


def _displays(cell) -> list[dict]:
    return [o for o in cell.outputs if o.output_type == "display_data"]


@pytest.mark.slow
def test_failing_lora_cell_in_a_real_kernel(kernel_path):
    notebook = _run(CELLS, kernel_path)
    cells = notebook.cells

    # The baseline fails the seed way, with nothing added.
    baseline = cells[1]
    assert [o.output_type for o in baseline.outputs] == ["stream", "error"]
    assert baseline.outputs[1].ename == "NoMatchingPeftModuleError"

    # A passing cell gets nothing but its own output.
    assert [o.output_type for o in cells[3].outputs] == ["stream"]
    assert cells[3].outputs[0].text == "2\n"

    # %diagnose check reads the live model and config in the namespace.
    check = "".join(d.data.get("text/plain", "") for d in _displays(cells[4]))
    assert "peft-target-modules-not-found" in check
    assert "q_proj, v_proj" in check and "c_attn" in check

    # The failing cell: its own outputs exactly as without the extension, then the diagnosis.
    failing = cells[5]
    assert _own_outputs(failing) == _own_outputs(baseline)
    kinds = [o.output_type for o in failing.outputs]
    assert kinds.index("error") < kinds.index("display_data")
    diagnosis = _displays(failing)[0].data
    assert {"text/html", "text/markdown", "text/plain"} <= set(diagnosis)
    markdown = diagnosis["text/markdown"]
    assert "`peft-target-modules-not-found`" in markdown
    assert "| c_attn" in markdown  # the model's own layer table, from the live probes
    assert "Corrected cell In[" in markdown and "```diff" in markdown
    assert '+lora_config = LoraConfig(r=8, lora_alpha=16, target_modules=["c_attn"]' in markdown
    assert "<table>" in diagnosis["text/html"]
    # The question: a widget (ipywidgets is installed in the dev environment), which waits for nobody.
    widget = [d for d in _displays(failing) if "application/vnd.jupyter.widget-view+json" in d.data]
    assert widget, "the check-your-understanding question is offered"

    # A diagnosis that fails says so in one line; the cell's own error is untouched.
    broken = cells[7]
    assert [o.output_type for o in broken.outputs] == ["error", "stream"]
    assert broken.outputs[0].ename == "ZeroDivisionError"
    message = broken.outputs[1].text
    assert broken.outputs[1].name == "stderr" and message.count("\n") == 1
    assert message.startswith("lora-diagnose: the diagnosis itself failed")

    # %unload_ext leaves IPython as it was: no callback, no magic (lazily loaded ones aside), a plain traceback.
    assert cells[9].outputs[0].text == "True\n"
    assert _own_outputs(cells[10]) == _own_outputs(baseline)
    assert not _displays(cells[10])
