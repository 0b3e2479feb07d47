"""The traceback text parser on what real pastes look like."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from diagnose.textparse import normalize, parse_text

DATA = Path(__file__).parent / "data"

PLAIN = """\
Loading weights: 100%|██████████| 28/28 [00:00<00:00, 15646.22it/s]
Traceback (most recent call last):
  File "/home/u/train.py", line 41, in <module>
    model = get_peft_model(model, lora_config)
            ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/venv/lib/python3.11/site-packages/peft/tuners/tuners_utils.py", line 1073, in inject_adapter
    raise NoMatchingPeftModuleError(error_msg)
peft.utils.error.NoMatchingPeftModuleError: Target modules {'q_proj', 'v_proj'} not found in the base model. Please check the target modules and try again.
wandb: Waiting for W&B process to finish... (failed 1).
"""


def _final(text: str):
    incident = parse_text(text)
    assert incident.exception is not None
    return incident.exception


def test_plain_traceback_with_log_lines_around():
    exc = _final(PLAIN)
    assert exc.qualname == "peft.utils.error.NoMatchingPeftModuleError"
    assert exc.type == "NoMatchingPeftModuleError"
    assert exc.message.startswith("Target modules {'q_proj', 'v_proj'} not found")
    assert [f.function for f in exc.frames] == ["<module>", "inject_adapter"]
    assert exc.frames[0].code == "model = get_peft_model(model, lora_config)"
    assert not exc.frames[0].in_library and exc.frames[1].in_library


@pytest.mark.parametrize(
    "prefix",
    [
        "[rank0]: ",
        "[rank3]:",
        "rank1: ",
        "[default0]:",
        "2026-11-28 10:15:32,123 - ERROR - ",
        "[2026-11-28 10:15:32] ",
        "2026-11-28T10:15:32.123Z ",
        "[10:15:32] ",
    ],
)
def test_line_prefixes_are_removed(prefix):
    text = "\n".join(prefix + line for line in PLAIN.splitlines())
    exc = _final(text)
    assert exc.type == "NoMatchingPeftModuleError"
    assert exc.frames[0].line == 41


def test_ansi_colours_and_carriage_returns():
    coloured = PLAIN.replace("NoMatchingPeftModuleError:", "\x1b[1;35mNoMatchingPeftModuleError\x1b[0m:")
    coloured = coloured.replace('"/home/u/train.py"', '\x1b[35m"/home/u/train.py"\x1b[0m')
    coloured = "step 1\rstep 2\rstep 3\r\n" + coloured.replace("\n", "\r\n")
    exc = _final(coloured)
    assert exc.type == "NoMatchingPeftModuleError"
    assert exc.frames[0].file == "/home/u/train.py"
    assert "step 3" in normalize(coloured) and "step 1" not in normalize(coloured)


def test_lines_wrapped_at_80_columns_are_joined():
    wrapped = []
    for line in PLAIN.splitlines():
        while len(line) > 80:
            wrapped.append(line[:80])
            line = line[80:]
        wrapped.append(line)
    exc = _final("\n".join(wrapped))
    assert "not found in the base model. Please check the target modules" in exc.message
    assert exc.frames[1].function == "inject_adapter"


def test_chained_exceptions_cause_and_context():
    text = """\
Traceback (most recent call last):
  File "a.py", line 3, in load
    return cfg["r"]
KeyError: 'r'

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "a.py", line 9, in <module>
    raise ValueError("bad config") from e
ValueError: bad config

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "a.py", line 12, in <module>
    cleanup()
RuntimeError: cleanup failed
"""
    incident = parse_text(text)
    assert incident.exception.type == "RuntimeError"
    assert [(e.type, e.relation) for e in incident.chain] == [("KeyError", "cause"), ("ValueError", "context")]
    assert [e.type for e in incident.exceptions()] == ["RuntimeError", "ValueError", "KeyError"]


def test_cut_off_at_the_start():
    text = "\n".join(PLAIN.splitlines()[4:])  # no "Traceback" header, starts mid-frames
    exc = _final(text)
    assert exc.type == "NoMatchingPeftModuleError"
    assert exc.frames[0].function == "inject_adapter"


def test_only_the_final_line():
    exc = _final(
        "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total "
        "capacity of 23.65 GiB of which 1.12 GiB is free."
    )
    assert exc.qualname == "torch.OutOfMemoryError" and exc.type == "OutOfMemoryError"
    assert exc.message.startswith("CUDA out of memory")


def test_multi_line_message_is_kept():
    text = """\
Traceback (most recent call last):
  File "t.py", line 1, in <module>
RuntimeError: CUDA error: device-side assert triggered
CUDA kernel errors might be asynchronously reported at some other API call, so the stacktrace below might be incorrect.
For debugging consider passing CUDA_LAUNCH_BLOCKING=1.
"""
    exc = _final(text)
    assert "CUDA_LAUNCH_BLOCKING=1" in exc.message


def test_builtin_exceptions_get_their_mro_from_text():
    exc = _final("ModuleNotFoundError: No module named 'wandb'")
    assert exc.mro[:3] == ("ModuleNotFoundError", "ImportError", "Exception")


@pytest.mark.parametrize(
    "text",
    ["", "all good, loss=0.12\nsaved checkpoint", "INFO: Error rate 0.1 is fine", "Epoch 1: ValidationError count 0"],
)
def test_no_error_means_no_exception(text):
    assert parse_text(text).exception is None


def test_rich_box_tracebacks_real_output():
    for name in ("peft-target-modules-gpt2.txt", "peft-target-modules-gpt2-color.txt"):
        exc = _final((DATA / "rich" / name).read_text())
        assert exc.type == "NoMatchingPeftModuleError"
        assert "not found in the base model" in " ".join(exc.message.split())
        assert exc.frames[0].file.endswith("train.py") and exc.frames[0].line == 12


def test_huge_paste_keeps_its_end():
    text = ("noise line\n" * 400_000) + PLAIN
    assert _final(text).type == "NoMatchingPeftModuleError"


IPYTHON = Path(__file__).resolve().parent / "data" / "ipython"
IPYTHON_CASES = {  # file: (entry, the cell frame's file, its line and code)
    "ipython-9.18.1.txt": (
        "peft-target-modules-not-found",
        "Cell In[1]",
        9,
        "model = get_peft_model(model, lora_config)",
    ),
    "ipython-7.34.0.txt": (
        "peft-target-modules-not-found",
        "<ipython-input-1-11c47274e0ca>",
        9,
        "model = get_peft_model(model, lora_config)",
    ),
    "attribute-ipython-9.18.1.txt": (
        "peft-model-missing-attribute",
        "Cell In[1]",
        3,
        "model.print_trainable_parameters()",
    ),
    "attribute-ipython-7.34.0.txt": (
        "peft-model-missing-attribute",
        "<ipython-input-1-",
        3,
        "model.print_trainable_parameters()",
    ),
}


@pytest.mark.parametrize("name", sorted(IPYTHON_CASES))
def test_ipython_tracebacks_keep_their_frames(name):
    """Jupyter/Colab pastes: every frame, the notebook cell's own line first, and the right entry."""
    from diagnose.engine import explain_text
    from diagnose.kb.loader import load_kb

    entry_id, cell, line, code = IPYTHON_CASES[name]
    text = (IPYTHON / name).read_text()
    incident = parse_text(text)
    frames = incident.exception.frames
    arrows = sum(1 for line in text.splitlines() if re.match(r"\s*-+> ?\d+ ", line))  # one "--->" per frame
    assert len(frames) == arrows >= 2
    assert frames[0].file.startswith(cell) and (frames[0].line, frames[0].code) == (line, code)
    assert all(f.line and f.code for f in frames)
    assert explain_text(text, load_kb(use_env=False)).diagnoses[0].id == entry_id


# ---------------------------------------------------------------- pastes as users paste them (issue 12 §3)

PEFT_TAIL = (
    "Traceback (most recent call last):\n"
    '  File "/home/u/train.py", line 52, in <module>\n'
    "    model = get_peft_model(model, lora_config)\n"
    "            ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n"
    '  File "/home/u/.venv/lib/python3.11/site-packages/peft/tuners/lora/model.py", line 704, in _prepare\n'
    '    raise ValueError("Please specify `target_modules` or `target_parameters`in `peft_config`")\n'
    "ValueError: Please specify `target_modules` or `target_parameters`in `peft_config`\n"
)


def test_indentation_lost_keeps_frames_and_code():
    dedented = "\n".join(line.lstrip() for line in PEFT_TAIL.splitlines())
    exc = parse_text(dedented).exception
    assert exc.type == "ValueError" and exc.message.startswith("Please specify `target_modules`")
    assert [f.code for f in exc.frames] == [
        "model = get_peft_model(model, lora_config)",
        'raise ValueError("Please specify `target_modules` or `target_parameters`in `peft_config`")',
    ]


def test_markdown_eaten_dunders_are_put_back():
    text = (
        'File "/x/site-packages/torch/nn/modules/module.py", line 1967, in getattr\n'
        "TypeError: LoraConfig.init() got an unexpected keyword argument 'dropout'\n"
    )
    incident = parse_text(text)
    assert incident.exception.message == "LoraConfig.__init__() got an unexpected keyword argument 'dropout'"
    assert incident.exception.frames[0].function == "__getattr__"
    untouched = "ValueError: x.init() failed in __main__\n"  # dunders left in the text: no Markdown damage
    assert parse_text(untouched).exception.message == "x.init() failed in __main__"


def test_a_paste_that_stops_at_the_raise_line_reads_the_message_from_it():
    cut = PEFT_TAIL.rsplit("ValueError:", 1)[0]
    exc = parse_text(cut).exception
    assert (exc.type, exc.message) == (
        "ValueError",
        "Please specify `target_modules` or `target_parameters`in `peft_config`",
    )
    assert exc.frames[-1].function == "_prepare"
    f_string = cut.replace('raise ValueError("Please specify', 'raise ValueError(f"{name} Please specify')
    assert parse_text(f_string).exception is None  # placeholders: the message is not known


def test_a_chain_cut_before_its_last_error_is_not_blamed_on_the_handled_one():
    text = (
        "Traceback (most recent call last):\n"
        '  File "/x/a.py", line 1, in f\n'
        "    g()\n"
        "KeyError: 'cache'\n\n"
        "During handling of the above exception, another exception occurred:\n\n"
        "Traceback (most recent call last):\n"
        '  File "/x/a.py", line 3, in f\n'
        "    h()\n"
    )
    assert parse_text(text).exception is None


def test_windows_paths_read_as_forward_slashes():
    text = PEFT_TAIL.replace("/home/u/.venv/lib/python3.11/", "C:\\Users\\me\\venv\\Lib\\").replace(
        "lib/site-packages/peft/tuners/lora/", "site-packages\\peft\\tuners\\lora\\"
    )
    files = [f.file for f in parse_text(text).exception.frames]
    assert files[1] == "C:/Users/me/venv/Lib/site-packages/peft/tuners/lora/model.py"


@pytest.mark.parametrize("label", ["0: ", "worker-0: ", "gpu-node-17: "])
def test_launcher_labels_are_stripped(label):
    labelled = "\n".join(label + line for line in PEFT_TAIL.splitlines())
    exc = parse_text(labelled).exception
    assert exc.type == "ValueError" and len(exc.frames) == 2 and exc.frames[0].code.startswith("model =")
    assert parse_text(label + "RuntimeError: boom").exception.message == "boom"
