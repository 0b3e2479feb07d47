"""Tests of the noise transforms (tests/noise.py) and of the abstention and Rich corpora's integrity."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

from tests.noise import (
    VARIANTS,
    ansi,
    crlf,
    cut_at_raise,
    cut_head,
    cut_middle,
    cut_tail,
    dedent,
    deepspeed_prefix,
    final_line_index,
    find_final_line,
    last_line_only,
    log_noise,
    markdown,
    rank_prefix,
    rich_box,
    slurm_prefix,
    strip_ansi,
    timestamps,
    timestamps_bracket,
    windows_paths,
    wrap80,
)

DATA = Path(__file__).parent / "data"
ABSTAIN = DATA / "abstain"
RICH = DATA / "rich"

# A real traceback (tests/data/abstain/063: a chained transformers error).
CHAINED = (ABSTAIN / "063-tokenizer-ragged-tensor.txt").read_text()
# A real one with message continuation lines after the exception line.
MULTILINE = (ABSTAIN / "040-pydantic-validation.txt").read_text()
SIMPLE = (RICH / "user-keyerror-labels.plain.txt").read_text()
PEFT = (RICH / "peft-target-modules-gpt2.plain.txt").read_text()
SAMPLES = {"chained": CHAINED, "multiline": MULTILINE, "simple": SIMPLE, "peft": PEFT}

RAGGED_LAST = (
    "ValueError: Unable to create tensor, you should probably activate truncation and/or padding with "
    "'padding=True' 'truncation=True' to have batched tensors with the same length. Perhaps your features "
    "(`input_ids` in this case) have excessive nesting (inputs type `list` where type `int` is expected)."
)


def test_final_line_index_finds_the_exception_line():
    lines = CHAINED.splitlines()
    assert lines[final_line_index(lines)] == RAGGED_LAST
    lines = MULTILINE.splitlines()
    assert lines[final_line_index(lines)].startswith("pydantic_core._pydantic_core.ValidationError: 2 validation")
    assert final_line_index(["KeyError: 'labels'"]) == 0
    assert final_line_index(["some log", "RuntimeError: boom", "wandb: done"]) == 1
    assert final_line_index(["[rank1]: x", "[rank1]: torch.OutOfMemoryError: boom", "[rank1]: more"]) == 1


def test_truncations_leave_a_text_without_exception_line_alone():
    cut_short = 'Traceback (most recent call last):\n  File "t.py", line 3, in <module>\n    main()\n'
    assert find_final_line(cut_short.splitlines()) is None
    for transform in (cut_head, cut_tail, cut_middle, last_line_only):
        assert transform(cut_short) == cut_short


@pytest.mark.parametrize("name", sorted(SAMPLES))
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_variants_are_deterministic_and_keep_the_error(variant, name):
    text = SAMPLES[name]
    out = VARIANTS[variant](text)
    assert out == VARIANTS[variant](text)
    assert isinstance(out, str) and out.strip()
    # The final error's class name survives every transform (wrap80 may split the line).
    lines = text.splitlines()
    exc_name = lines[final_line_index(lines)].split(":")[0].rsplit(".", 1)[-1]
    assert exc_name in strip_ansi(out).replace("\n", "")


def test_last_line_only():
    assert last_line_only(CHAINED) == RAGGED_LAST + "\n"
    assert last_line_only(SIMPLE) == "KeyError: 'labels'\n"
    assert last_line_only("KeyError: 'labels'") == "KeyError: 'labels'\n"


def test_cut_head_drops_the_start_but_keeps_the_error():
    out = cut_head(CHAINED)
    assert not out.startswith("Traceback")
    assert len(out.splitlines()) == len(CHAINED.splitlines()) - len(CHAINED.splitlines()) // 2
    assert out.endswith(RAGGED_LAST + "\n")
    assert cut_head("ValueError: x\n") == "ValueError: x\n"


def test_cut_tail_stops_at_the_exception_line():
    out = cut_tail(MULTILINE)
    assert out.splitlines()[-1].startswith("pydantic_core._pydantic_core.ValidationError:")
    assert "Input should be a valid integer" not in out
    assert cut_tail(log_noise(SIMPLE)).endswith(SIMPLE)


def test_cut_middle_keeps_header_and_final_block():
    out = cut_middle(CHAINED).splitlines()
    assert out[0] == "Traceback (most recent call last):"
    assert out[3] == "..."
    assert out[-1] == RAGGED_LAST
    assert len(out) < len(CHAINED.splitlines())


def test_rank_prefix_on_every_line():
    out = rank_prefix(CHAINED)
    assert all(line.startswith("[rank0]: ") for line in out.splitlines())
    assert out.replace("[rank0]: ", "") == CHAINED


def test_ansi_round_trips_and_colours_like_python_313():
    for text in SAMPLES.values():
        out = ansi(text)
        assert "\x1b[" in out
        assert strip_ansi(out) == text
    out = ansi(SIMPLE)
    assert '\x1b[35m"/tmp/rich-corpus/user-keyerror-labels/train.py"\x1b[0m, line \x1b[35m13\x1b[0m' in out
    assert "\x1b[1;35mKeyError\x1b[0m: \x1b[35m'labels'\x1b[0m" in out


def test_timestamps_on_every_line():
    out = timestamps(CHAINED).splitlines()
    assert len(out) == len(CHAINED.splitlines())
    assert all(re.match(r"^2026-11-28 10:15:\d\d,\d{3} - ERROR - ", line) for line in out)
    out = timestamps_bracket(CHAINED).splitlines()
    assert all(re.match(r"^\[2026-11-28 10:15:\d\d\] ", line) for line in out)


def test_wrap80_has_no_long_line_and_loses_nothing():
    out = wrap80(CHAINED)
    assert max(len(line) for line in out.splitlines()) <= 80
    assert out.replace("\n", "") == CHAINED.replace("\n", "")


def test_log_noise_surrounds_the_traceback():
    out = log_noise(SIMPLE)
    assert SIMPLE in out
    assert "\r" in out.split(SIMPLE)[0]
    assert out.split(SIMPLE)[1].strip()


def test_crlf():
    assert crlf(SIMPLE).replace("\r\n", "\n") == SIMPLE
    assert "\n" not in crlf(SIMPLE).replace("\r\n", "")


def _skeleton(text: str) -> list[str]:
    """Rich output without source rows, blank rows and progress-bar lines (their rate varies)."""
    return [
        line
        for line in text.splitlines()
        if line.strip("│ ") and not re.match(r"^│ [ ❱] +\d+ ", line) and "it/s]" not in line
    ]


@pytest.mark.parametrize(
    "name", ["user-keyerror-labels", "peft-target-modules-gpt2", "torch-matmul-shape", "user-chained-print-exception"]
)
def test_rich_box_matches_real_rich_layout(name):
    """rich_box of the plain traceback has real Rich's borders, frame rows and final lines."""
    real = (RICH / f"{name}.txt").read_text()
    mine = rich_box((RICH / f"{name}.plain.txt").read_text())
    assert _skeleton(mine) == _skeleton(real)
    assert all(len(line) == 100 for line in mine.splitlines() if line and line[0] in "╭│╰")


def test_rich_box_prints_bare_class_name_and_wraps_message():
    out = rich_box(PEFT).splitlines()
    assert out[-2].startswith("NoMatchingPeftModuleError: Target modules")
    assert out[-2].endswith("Please ")  # Rich keeps the space that fits
    assert out[-1] == "check the target modules and try again."


def test_rich_box_leaves_text_without_traceback_alone():
    assert rich_box("KeyError: 'labels'\n") == "KeyError: 'labels'\n"


# ---------------------------------------------------------------- corpora


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_abstain_corpus_files_match_their_generator():
    corpus = _load(ABSTAIN / "make_corpus.py")
    files = sorted(p.name for p in ABSTAIN.glob("*.txt"))
    assert files == sorted(case.filename for case in corpus.CASES)
    assert len(files) >= 50
    for name in files:
        text = (ABSTAIN / name).read_text()
        corpus.check(text, name)  # no family wording
        assert text.strip()


def test_rich_corpus_has_expectations():
    expected = json.loads((RICH / "expected.json").read_text())
    outputs = {p.name.removesuffix(".txt") for p in RICH.glob("*.txt") if not p.name.endswith(".plain.txt")}
    assert outputs == set(expected)
    assert "peft-target-modules-not-found" in expected.values()
    assert None in expected.values()
    for name in outputs:
        text = (RICH / f"{name}.txt").read_text()
        assert "Traceback (most recent call last)" in strip_ansi(text)
        assert ("\x1b[" in text) == name.endswith("-color")


# ---------------------------------------------------------------- pastes as users paste them

RAISE_TAIL = (
    "Traceback (most recent call last):\n"
    '  File "/home/u/.venv/lib/python3.11/site-packages/peft/tuners/ia3/model.py", line 199, in _prepare\n'
    '    raise ValueError("Please specify `target_modules` in `peft_config`")\n'
    "ValueError: Please specify `target_modules` in `peft_config`\n"
)


def test_dedent_removes_all_indentation_only():
    out = dedent(PEFT)
    assert all(line == line.lstrip() for line in out.splitlines())
    assert [line.strip() for line in out.splitlines()] == [line.strip() for line in PEFT.splitlines()]


def test_markdown_eats_dunders_and_double_stars():
    out = markdown("TypeError: LoraConfig.__init__() got an unexpected keyword argument\n  f(*args, **kwargs)\n")
    assert out == "TypeError: LoraConfig.init() got an unexpected keyword argument\n  f(*args, kwargs)\n"


def test_cut_at_raise_stops_at_the_raise_line_with_a_literal():
    assert cut_at_raise(RAISE_TAIL) == RAISE_TAIL.rsplit("ValueError:", 1)[0]
    no_literal = RAISE_TAIL.replace('raise ValueError("Please specify', "raise ValueError(msg) #")
    assert cut_at_raise(no_literal) == no_literal  # nothing could be read from the raise line


def test_windows_paths_use_a_drive_and_backslashes():
    out = windows_paths(RAISE_TAIL)
    assert 'File "C:\\Users\\me\\miniconda3\\envs\\lora\\Lib\\site-packages\\peft\\tuners\\ia3\\model.py"' in out
    assert "/home/u" not in out and out.count("\n") == RAISE_TAIL.count("\n")


def test_launcher_labels_on_every_line():
    assert all(line.startswith("0: ") for line in slurm_prefix(PEFT).splitlines())
    assert all(line.startswith("worker-0: ") for line in deepspeed_prefix(PEFT).splitlines())
