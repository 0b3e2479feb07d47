"""Loading the real capture fixtures (tests/data/captures/*.json) as Incidents for the advisor tests.

The fixtures were written by the capture hook when the examples failed for real
(tests/data/captures/make_captures.py regenerates them).  Their frames hold the
absolute paths of the machine that ran them; paths under examples/ or
tests/data/captures/scripts/ are mapped back into this checkout so that
advisors that read the user's script (no_grad blocks, dropped return values)
see the same file.
"""

from __future__ import annotations

import json
from pathlib import Path

from diagnose.incident import ExceptionInfo, Frame, Incident
from diagnose.textparse import normalize, parse_text

ROOT = Path(__file__).resolve().parents[1]
CAPTURES = ROOT / "tests" / "data" / "captures"
OUTPUTS = ROOT / "tests" / "data" / "outputs"


def _local(path: str) -> str:
    for marker in ("/examples/", "/tests/data/captures/scripts/"):
        if marker in path and not Path(path).exists():
            return str(ROOT / marker.strip("/") / path.split(marker, 1)[1])
    return path


def _exception(data: dict) -> ExceptionInfo:
    info = ExceptionInfo.from_dict(data)
    frames = tuple(Frame(_local(f.file), f.line, f.function, f.code) for f in info.frames)
    return ExceptionInfo(info.type, info.qualname, info.message, info.mro, frames, info.relation)


def load_capture(name: str) -> Incident:
    record = json.loads((CAPTURES / f"{name}.json").read_text())
    return Incident(
        source="capture",
        exception=_exception(record["exception"]),
        chain=[_exception(e) for e in record.get("chain", [])],
        text=normalize(record.get("traceback_text", "")),
        probes=record.get("probes", {}),
    )


def load_text(path: Path) -> Incident:
    return parse_text(path.read_text(encoding="utf-8", errors="replace"))


def output(entry_id: str, number: str = "01") -> Incident:
    return load_text(OUTPUTS / entry_id / f"{number}.txt")


def all_text(advice) -> str:
    """Everything an advice says, for assertions on content."""
    parts = []
    for finding in advice.findings:
        parts += [finding.title, finding.text] + [" ".join(map(str, row)) for row in finding.rows]
    for fix in advice.fixes:
        parts += [fix.title, fix.body]
    return "\n".join(parts)
