"""Every fix marked ``runnable`` in the KB runs, applied to its entry's example, with the installed libraries.

A fix snippet that stops working on a new library version (a renamed
argument, a deprecated method: FutureWarning) fails here.  The snippet is the
fix body's first ```python block, put into the example where ``replace`` /
``after`` say (kb/*.yaml, schema in diagnose/kb/schema.py, CONTRIBUTING.md).
The scripts run in one pre-imported server process (tests/fix_runner.py).
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
import yaml

from diagnose.kb.schema import Fix, validate_entry

ROOT = Path(__file__).resolve().parents[1]
CODE_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def _runnable_fixes() -> list[tuple[str, int, Fix]]:
    found = []
    for path in sorted((ROOT / "kb").glob("*.yaml")):
        entry = validate_entry(yaml.safe_load(path.read_text(encoding="utf-8")))
        found += [(entry.id, number, fix) for number, fix in enumerate(entry.fixes, 1) if fix.runnable]
    return found


RUNNABLE = _runnable_fixes()


def apply_snippet(source: str, fix: Fix) -> tuple[str, tuple[int, int]]:
    """The example with the fix's code in place, and the 1-based lines the code occupies."""
    code = textwrap.dedent(CODE_BLOCK.search(fix.body).group(1)).rstrip("\n").split("\n")
    anchor = fix.runnable.replace if fix.runnable.replace is not None else fix.runnable.after
    assert source.count(anchor) == 1, f"{anchor!r} must occur exactly once in {fix.runnable.example}"
    at = source.index(anchor)
    line_start = source.rfind("\n", 0, at) + 1
    indent = source[line_start:at]
    assert not indent.strip(), "the anchor must start a line"
    line_end = source.find("\n", at + len(anchor))
    line_end = len(source) if line_end < 0 else line_end + 1
    assert not source[at + len(anchor) : line_end].strip(), "the anchor must end a line"
    block = "".join(f"{indent}{line}\n" if line else "\n" for line in code)
    if fix.runnable.replace is not None:
        new = source[:line_start] + block + source[line_end:]
        first = source[:line_start].count("\n") + 1
    else:
        new = source[:line_end] + block + source[line_end:]
        first = source[:line_end].count("\n") + 1
    return new, (first, first + len(code) - 1)


@pytest.fixture(scope="session")
def runner(tmp_path_factory):
    from fix_runner import FixRunner

    server = FixRunner(tmp_path_factory.mktemp("fix-snippets"))
    yield server
    server.close()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("entry_id", "number", "fix"), RUNNABLE, ids=[f"{entry_id}:fix{number}" for entry_id, number, _ in RUNNABLE]
)
def test_runnable_fix_works_in_its_example(runner, entry_id, number, fix):
    pytest.importorskip("torch")
    pytest.importorskip("peft")
    example = ROOT / fix.runnable.example
    source, lines = apply_snippet(example.read_text(encoding="utf-8"), fix)
    run = runner.run(example, source, lines, fix.runnable.args)
    assert not run.warnings, f"{entry_id} fix {number} uses a deprecated API: {run.warnings}"
    if fix.runnable.expect == "success":
        assert run.code == 0, f"{entry_id} fix {number} applied to {example.name} still fails:\n{run.log[-3000:]}"
    else:
        inside = [n for n in run.raised_at if lines[0] <= n <= lines[1]]
        assert not inside, f"{entry_id} fix {number}'s own code raised (line {inside}):\n{run.log[-3000:]}"


def test_the_kb_has_runnable_fixes_for_the_cpu_families():
    assert len({entry_id for entry_id, _, _ in RUNNABLE}) >= 5


@pytest.mark.slow
def test_a_snippet_calling_a_deprecated_api_is_caught(runner):
    """The check itself: the old name of activation checkpointing warns (transformers 5.24) and is reported."""
    pytest.importorskip("torch")
    deprecated = Fix(
        title="old API",
        safety="safe",
        safety_reason="-",
        body='```python\nmodel.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})\n```',
        runnable={"example": "examples/no-grad-fn.py", "after": "model.train()", "expect": "runs"},
    )
    example = ROOT / deprecated.runnable.example
    source, lines = apply_snippet(example.read_text(encoding="utf-8"), deprecated)
    run = runner.run(example, source, lines, [])
    assert any("gradient_checkpointing_enable" in w for w in run.warnings), run.warnings
