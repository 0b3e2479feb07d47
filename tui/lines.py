"""Turn a child's output bytes into display lines, the way a terminal would show them.

A terminal overwrites the current line on ``\\r``: a tqdm bar printed a
thousand times shows as one bar.  Here a finished line keeps only what follows
its last carriage return, and the unfinished line (a bar still moving) is kept
apart as ``partial`` so the view can show it in place.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

MAX_PARTIAL = 64 * 1024  # a line without a newline longer than this is cut into display lines


def collapse_cr(line: str) -> str:
    """What a terminal shows of ``line`` after its carriage returns: the last non-empty segment."""
    if "\r" not in line:
        return line
    for segment in reversed(line.split("\r")):
        if segment:
            return segment
    return ""


@dataclass
class Chunk:
    lines: list[str]
    partial: str | None


class LineAssembler:
    """Incremental: bytes in (any split, UTF-8 or not), finished lines and the current partial out."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._pending = ""

    def feed(self, data: bytes) -> Chunk:
        text = self._pending + self._decoder.decode(data)
        parts = text.split("\n")
        pending = parts.pop()
        if "\r" in pending:
            pending = pending[pending.rstrip("\r").rfind("\r") + 1:] if pending.rstrip("\r") else pending
        lines = [collapse_cr(p) for p in parts]
        while len(pending) > MAX_PARTIAL:
            lines.append(pending[:MAX_PARTIAL])
            pending = pending[MAX_PARTIAL:]
        self._pending = pending
        return Chunk(lines, collapse_cr(pending) if pending else None)

    def finish(self) -> Chunk:
        text = self._pending + self._decoder.decode(b"", final=True)
        self._pending = ""
        return Chunk([collapse_cr(text)] if text else [], None)
