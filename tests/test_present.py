"""The two text forms of a report say the same things: Markdown (no terminal) and Rich (a terminal)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from advisor_captures import load_capture
from rich.console import Console

from diagnose.engine import diagnose_incident, explain_text
from diagnose.kb.loader import load_kb
from diagnose.present import render_report, report_markdown

OUTPUTS = Path(__file__).resolve().parent / "data" / "outputs"
FIRST_EXAMPLES = sorted(OUTPUTS.glob("*/01.txt"))


@pytest.fixture(scope="module")
def kb():
    return load_kb(use_env=False)


def _rich_text(report, verbose: bool = False) -> str:
    console = Console(file=io.StringIO(), width=400, color_system=None)
    render_report(report, console, verbose=verbose)
    return console.file.getvalue()


def _words(text: str) -> str:
    return " ".join(text.replace("`", "").replace("*", "").split())


@pytest.mark.parametrize("example", FIRST_EXAMPLES, ids=lambda p: p.parent.name)
def test_markdown_and_rich_say_the_same_things(kb, example):
    report = explain_text(example.read_text(), kb)
    markdown, rich = report_markdown(report), _rich_text(report)
    assert "\x1b[" not in markdown and "╭" not in markdown  # plain text: no colours, no boxes
    best = report.diagnoses[0]
    for said in [
        best.title,
        best.id,
        best.evidence,
        *(f.title for f in best.fixes),
        *(f.title for f in best.findings),
        *([best.advisor_note] if best.advisor_note else []),
        f"diagnose quiz --entry {best.id}",
    ]:
        assert _words(said) in _words(markdown), said
        assert _words(said) in _words(rich), said
    assert markdown.index("### How to fix it") < markdown.index("### Why")


def test_markdown_of_a_capture_carries_the_models_own_names(kb):
    report = diagnose_incident(load_capture("peft-unsupported-target-module"), kb)
    markdown = report_markdown(report)
    assert markdown.startswith("## lora-diagnose: target_modules picked a module that LoRA cannot wrap")
    assert "| mlp | LlamaMLP ×2 |" in markdown and "`gate_proj`, `up_proj`, `down_proj`" in markdown
    assert 'target_modules=["gate_proj", "up_proj", "down_proj", "q_proj"' in markdown
    tables = [line for line in markdown.splitlines() if line.startswith("|")]
    findings = report.diagnoses[0].findings
    assert len(tables) == sum(len(f.rows) + 2 for f in findings if f.rows)  # header + rule + rows


def test_markdown_verbose_shows_every_fix_body_and_the_whole_why(kb):
    report = explain_text((OUTPUTS / "cuda-out-of-memory" / "01.txt").read_text(), kb)
    short, full = report_markdown(report), report_markdown(report, verbose=True)
    best = report.diagnoses[0]
    assert _words(best.fixes[-1].body) in _words(full) and _words(best.fixes[-1].body) not in _words(short)
    assert _words(best.why) in _words(full)


def test_markdown_abstention_says_what_it_can(kb):
    report = explain_text(
        "Traceback (most recent call last):\n  File \"a.py\", line 1, in <module>\nKeyError: 'label'\n", kb
    )
    markdown = report_markdown(report)
    assert report.diagnoses == []
    assert markdown.startswith("## lora-diagnose: no confident diagnosis\n")
    assert "- No confident diagnosis for KeyError: 'label'" in markdown
    assert "diagnose kb new ID --from-traceback FILE" in markdown


def _stderr_on_a_terminal(*args: str) -> str:
    """Run `diagnose ARGS` with stderr on a pseudo-terminal (stdin is not one: no question is asked)."""
    import os
    import pty
    import subprocess
    import sys

    master, slave = pty.openpty()
    done = subprocess.run(
        [sys.executable, "-m", "diagnose.cli", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=slave,
        cwd=OUTPUTS.parent.parent.parent,
        timeout=60,
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the other side is closed and drained
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert done.returncode == 0
    from diagnose.tui.widgets.log_view import plain

    return plain(b"".join(chunks).decode("utf-8", "replace"))


def test_a_terminal_gets_rich_text_unless_markdown_is_asked_for():
    paste = str(OUTPUTS / "accelerate-missing" / "01.txt")
    rich = _stderr_on_a_terminal("explain", paste)
    assert "╭─ lora-diagnose" in rich and "## lora-diagnose" not in rich
    markdown = _stderr_on_a_terminal("explain", "--markdown", paste)
    assert markdown.lstrip().startswith("## lora-diagnose: accelerate is not installed") and "╭" not in markdown


def test_json_and_markdown_together_is_a_usage_error():
    import subprocess
    import sys

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "diagnose.cli",
            "explain",
            "--json",
            "--markdown",
            str(OUTPUTS / "accelerate-missing" / "01.txt"),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "not allowed with argument" in done.stderr
    assert "Traceback" not in done.stderr
