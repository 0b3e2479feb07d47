"""`diagnose run` is invisible on real scripts: the child prints exactly what it prints without the wrapper.

For every example script and every script the TUI's slow tests run: the
child's stdout is byte-identical (the JSON report follows it), its stderr is
identical up to the end of its own traceback, and the exit code is the same.
The capture hook and its probes run in every failing one of them; a probe with
a side effect (a deprecation warning or log record from a property it read)
shows up here as a difference.  Progress-bar timings differ from run to run
and are masked.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest

from tests.example_runs import runs_of  # noqa: F401 - the session fixture
from tests.helpers import EXAMPLES, ROOT

HELPERS = {"tiny_models", "tiny_tokenizer"}
SCRIPTS = sorted(p for p in EXAMPLES.glob("*.py") if p.stem not in HELPERS) + [
    ROOT / "tests" / "data" / "tui" / "scripts" / name for name in ("progress_ok.py", "unknown_error.py")
]
# What changes between two runs of the same script: progress bars (tqdm redraws when time has passed, so how
# many redraws appear, and their "[00:00<00:00, 3615.45it/s]", depends on the machine's speed) and the random
# names of temporary folders (tempfile.mkdtemp). Progress bars are dropped from both sides.
_PROGRESS = re.compile(rb"[^\r\n]*\d+%\|[^|\r\n]*\|[^\r\n]*\[\d+:\d+(?::\d+)?<[^\]\r\n]*\][\r\n]*")
_TEMPORARY = re.compile(rb"/tmp/[^/\s'\"]+")
# Numbers a run does not repeat (request ids, retry waits in the offline hub errors): an added warning or
# log line still shows, as an extra line.
_NUMBER = re.compile(rb"\d+")
# Scripts whose ranks print concurrently: their lines interleave differently in every run, bare or wrapped.
MULTI_PROCESS = {"ddp-unused-parameters"}


def _masked(data: bytes) -> bytes:
    return _NUMBER.sub(b"N", _TEMPORARY.sub(b"/tmp/<temporary>", _PROGRESS.sub(b"", data)))


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_wrapped_output_is_the_bare_output(runs_of, script):  # noqa: F811
    runs = runs_of(script)
    bare, wrapped = runs.bare, runs.wrapped
    assert wrapped.returncode == bare.returncode
    if script.stem in MULTI_PROCESS:  # the same lines, in whatever order the ranks wrote them
        assert sorted(_masked(wrapped.stdout[: runs.report_start]).splitlines()) == sorted(
            _masked(bare.stdout).splitlines()
        )
        assert Counter(_masked(bare.stderr).splitlines()) <= Counter(_masked(wrapped.stderr).splitlines())
        return
    assert wrapped.stdout[: runs.report_start] == bare.stdout
    assert _masked(wrapped.stderr)[: len(_masked(bare.stderr))] == _masked(bare.stderr)
    if bare.returncode:
        assert b"Traceback (most recent call last)" in bare.stderr
