"""The two text forms of a report say the same things: Markdown (no terminal) and Rich (a terminal)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from advisor_captures import load_capture
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
    for said in [best.title, best.id, best.evidence, *(f.title for f in best.fixes), *(f.title for f in best.findings),
                 *([best.advisor_note] if best.advisor_note else []), f"diagnose quiz --entry {best.id}"]:
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
    report = explain_text("Traceback (most recent call last):\n  File \"a.py\", line 1, in <module>\n"
                          "KeyError: 'label'\n", kb)
    markdown = report_markdown(report)
    assert report.diagnoses == []
    assert markdown.startswith("## lora-diagnose: no confident diagnosis\n")
    assert "- No confident diagnosis for KeyError: 'label'" in markdown
    assert "diagnose kb new ID --from-traceback FILE" in markdown
