"""Turn a child's output bytes into display lines, the way a terminal would show them.

A terminal overwrites the current line on ``\\r``: a tqdm bar printed a
thousand times shows as one bar.  Several bars at once (a training bar and an
evaluation bar, ``tqdm(position=1)``) also move the cursor up (``ESC [ n A``)
to redraw the rows above.  So the assembler keeps the bottom rows of the
"screen" that can still change as ``live`` rows; a row becomes a finished line
once nothing can reach it any more.  Until a stream first moves the cursor up,
only the last few rows are live (a second bar's first draw moves up over the
rows just above it); after that, LIVE_ROWS.

Simplifications (a log view, not a terminal emulator): text after ``\\r``
replaces the row (tqdm pads to overwrite anyway); colour codes stay in the
text for the view to render; other cursor movements are left in the text and
shown as nothing by the view.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field

MAX_PARTIAL = 64 * 1024  # a row without a newline longer than this is cut into display lines
PLAIN_LIVE_ROWS = 4  # bottom rows kept rewritable before any cursor-up (room for three nested bars to appear)
LIVE_ROWS = 24  # once the cursor has moved up

# The controls that move between rows or clear one; everything else is text.
_CONTROL = re.compile(r"\r|\n|\x1b\[(\d*)([AFK])|\x1bM")
_MOVES = re.compile(r"\x1b(?:\[\d*[AFK]|M)")


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
    lines: list[str]  # finished: nothing will change them
    live: list[str] = field(default_factory=list)  # the bottom rows as they are now (a moving bar...)


class LineAssembler:
    """Incremental: bytes in (any split, UTF-8 or not); finished lines and the live rows out."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._held = ""  # an escape sequence cut by a read
        self._rows: list[str] = [""]  # the live region, top to bottom
        self._row = 0  # cursor row in _rows
        self._at_start = True  # after \r or \n: the next text replaces the row
        self._multirow = False  # has the stream moved the cursor up?

    def feed(self, data: bytes) -> Chunk:
        text = self._held + self._decoder.decode(data)
        cut = text.rfind("\x1b")
        if cut != -1 and not _complete_escape(text[cut:]):
            text, self._held = text[:cut], text[cut:]
        else:
            self._held = ""
        finished = self._process(text)
        return Chunk(finished, self._live())

    def finish(self) -> Chunk:
        text = self._held + self._decoder.decode(b"", final=True)
        self._held = ""
        finished = self._process(text)
        finished += self._live()  # everything but the empty rows at and below the cursor (after the last newline)
        self._rows, self._row, self._at_start = [""], 0, True
        return Chunk(finished, [])

    # -- the screen model

    def _process(self, text: str) -> list[str]:
        finished: list[str] = []
        if "\n" in text and self._row == len(self._rows) - 1 and not _MOVES.search(text):
            return self._process_lines(text, finished)
        position = 0
        for control in _CONTROL.finditer(text):
            self._write(text[position : control.start()], finished)
            position = control.end()
            token = control.group(0)
            if token == "\r":
                self._at_start = True
            elif token == "\n":
                self._row += 1
                if self._row == len(self._rows):
                    self._rows.append("")
                self._at_start = True
                self._commit(finished)
            elif token == "\x1bM" or control.group(2) in "AF":  # reverse index / cursor up / previous line
                self._multirow = True
                self._row = max(0, self._row - int(control.group(1) or 1))
                if control.group(2) == "F":
                    self._at_start = True
            else:  # ESC[K / ESC[2K: erase in line (from the cursor; at the row's start that is all of it)
                if self._at_start or control.group(1) == "2":
                    self._rows[self._row] = ""
        self._write(text[position:], finished)
        return finished

    def _process_lines(self, text: str, finished: list[str]) -> list[str]:
        """The common case, lines and carriage returns only, the cursor on the bottom row: the same
        result without a regex step per control character (a training loop can print 50k lines a second)."""
        first, *middle, last = text.split("\n")
        self._write_segments(first, finished)
        self._rows += [collapse_cr(line) for line in middle]
        self._rows.append("")
        self._row = len(self._rows) - 1
        self._at_start = True
        self._write_segments(last, finished)
        self._commit(finished)
        return finished

    def _write_segments(self, text: str, finished: list[str]) -> None:
        segments = text.split("\r")
        self._write(segments[0], finished)
        for segment in segments[1:]:
            self._at_start = True
            self._write(segment, finished)

    def _write(self, text: str, finished: list[str]) -> None:
        if not text:
            return
        row = text if self._at_start else self._rows[self._row] + text
        self._at_start = False
        if len(row) > MAX_PARTIAL:  # an endless row: cut, so memory stays bounded
            finished.extend(self._rows[: self._row])  # the rows above it come first
            del self._rows[: self._row]
            self._row = 0
            while len(row) > MAX_PARTIAL:
                finished.append(row[:MAX_PARTIAL])
                row = row[MAX_PARTIAL:]
        self._rows[self._row] = row

    def _commit(self, finished: list[str]) -> None:
        """Rows the cursor can no longer reach become finished lines."""
        keep = LIVE_ROWS if self._multirow else PLAIN_LIVE_ROWS
        extra = self._row - (keep - 1)
        if extra > 0:
            finished.extend(self._rows[:extra])
            del self._rows[:extra]
            self._row -= extra

    def _live(self) -> list[str]:
        rows = self._rows
        end = len(rows)
        while end > 0 and not rows[end - 1] and end - 1 >= self._row:
            end -= 1  # empty rows at and below the cursor: nothing shown yet
        return rows[:end]


def _complete_escape(tail: str) -> bool:
    """Whether ``tail`` (from an ESC) holds a whole escape sequence (else wait for the next read)."""
    if len(tail) < 2:
        return False
    if tail[1] != "[":
        return True
    for char in tail[2:]:
        if "@" <= char <= "~":
            return True
    return len(tail) > 32  # not a sequence after all: let it through as text
