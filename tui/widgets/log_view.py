"""The run view's log: a bounded ring buffer of plain lines, rendered only where visible.

RichLog renders every line through Rich the moment it is written; a training
script printing 50k lines a second would keep the UI busy rendering lines no
one sees.  Here appending is a ``deque.extend`` and a size update: ANSI
colours are parsed (``Text.from_ansi``) only for the lines on screen, and the
rendered strips are cached.  Memory is bounded: past ``max_lines`` the oldest
lines go and a marker says how many.
"""

from __future__ import annotations

import re
from collections import deque

from rich.text import Text
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

DEFAULT_MAX_LINES = 100_000
MAX_LINE_CELLS = 2000  # longer lines are cut for display (the search still sees them whole)
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")


# "[rank3]:" (torchrun) and "[default3]:" (torchrun --tee): which rank printed a line
_RANK = re.compile(r"\[(?:rank|RANK|default)\s?(\d+)\]:")
RANK_COLOURS = ("cyan", "magenta", "green", "yellow", "blue", "bright_cyan", "bright_magenta", "bright_green")


def rank_of(line: str) -> int | None:
    """The rank a line's prefix names, or None."""
    if not line.startswith(("[", "\x1b")):
        return None
    match = _RANK.match(plain(line))
    return int(match[1]) if match else None


def plain(line: str) -> str:
    """The line without terminal escape sequences."""
    return _ANSI.sub("", line) if "\x1b" in line else line


class LogView(ScrollView, can_focus=True):
    """Append-only log with follow mode, search highlights and one highlighted 'evidence' line."""

    COMPONENT_CLASSES = {
        "log-view--match",
        "log-view--current",
        "log-view--evidence",
        "log-view--marker",
        "log-view--root-rank",
    }
    DEFAULT_CSS = """
    LogView { background: $surface; color: $foreground; scrollbar-gutter: stable; }
    LogView > .log-view--match { background: $warning 40%; }
    LogView > .log-view--current { background: $warning; color: $background; text-style: bold; }
    LogView > .log-view--evidence { background: $error 35%; text-style: bold; }
    LogView > .log-view--marker { color: $text-muted; text-style: italic; }
    LogView > .log-view--root-rank { background: $error 15%; }
    """
    BINDINGS = [
        Binding("end,G", "follow_end", "Follow", show=False),
        Binding("home,g", "scroll_home", "Top", show=False),
        Binding("j", "scroll_down", "Scroll down", show=False),
        Binding("k", "scroll_up", "Scroll up", show=False),
        Binding("R", "cycle_rank", "Rank filter", show=False),
    ]

    follow: reactive[bool] = reactive(True)

    def __init__(
        self, max_lines: int = DEFAULT_MAX_LINES, *, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.max_lines = max_lines
        self._lines: deque[str] = deque(maxlen=max_lines)
        self.dropped = 0  # lines pushed out of the ring buffer so far
        self.live: list[str] = []  # the bottom rows that may still change (moving progress bars)
        self._widest = 0
        self._cache: LRUCache[tuple, Strip] = LRUCache(2048)
        self._search: str | None = None
        self._matches: list[int] = []  # absolute line numbers
        self._current: int = -1
        self.evidence_line: int | None = None  # absolute line number
        # multi-process runs ("[rank3]: ..." lines): the root-cause rank's lines are tinted; a filter shows one rank
        self.root_rank: int | None = None
        self.rank_filter: int | None = None
        self._shown: list[int] = []  # absolute numbers of the lines the rank filter lets through
        self._moving = False

    # -- content

    @property
    def line_count(self) -> int:
        """Lines kept (finished lines plus the live rows), not counting dropped ones."""
        return len(self._lines) + len(self.live)

    @property
    def total_lines(self) -> int:
        """Every finished line ever appended, dropped ones included."""
        return self.dropped + len(self._lines)

    def lines(self) -> list[str]:
        return list(self._lines) + self.live

    def append(self, lines: list[str], live: list[str] | tuple[str, ...] = ()) -> None:
        """Add finished lines; ``live`` replaces the rows below them that may still change."""
        if lines:
            overflow = len(self._lines) + len(lines) - self.max_lines
            if overflow > 0:
                self.dropped += overflow
            if len(lines) > self.max_lines:
                lines = lines[-self.max_lines :]
            self._lines.extend(lines)
            if self.rank_filter is not None:
                first = self.total_lines - len(lines)
                self._shown = [a for a in self._shown if a >= self.dropped]
                self._shown += [first + i for i, line in enumerate(lines) if rank_of(line) == self.rank_filter]
            widest = max(map(len, lines))
            if widest > self._widest:
                self._widest = min(widest, MAX_LINE_CELLS)
            if self._search:
                self._find_in(lines, self.total_lines - len(lines))
        live = list(live)
        widest = max(map(len, live), default=0)
        if widest > self._widest:
            self._widest = min(widest, MAX_LINE_CELLS)
        self.live = live
        self._update_size()

    def clear(self) -> None:
        self._lines.clear()
        self.dropped = 0
        self.live = []
        self._widest = 0
        self._cache.clear()
        self._search, self._matches, self._current, self.evidence_line = None, [], -1, None
        self.root_rank, self.rank_filter, self._shown = None, None, []
        self._update_size()
        self.follow = True

    def _update_size(self) -> None:
        rows = len(self._shown) if self.rank_filter is not None else self.line_count + (1 if self.dropped else 0)
        self.virtual_size = Size(self._widest + 1, rows)
        if self.follow:
            self._moving = True
            self.scroll_to(y=max(0, rows - self.scrollable_content_region.height), animate=False, immediate=False)
            self._moving = False
        self.refresh()

    # -- follow

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if not self._moving and new < old and new < self.max_scroll_y:
            self.follow = False  # the user scrolled up: stop jumping to the end

    def watch_follow(self, follow: bool) -> None:
        if follow:
            self._moving = True
            self.scroll_end(animate=False, immediate=False, x_axis=False)
            self._moving = False

    def action_follow_end(self) -> None:
        self.follow = True

    # -- search

    def search(self, term: str | None) -> int:
        """Highlight ``term`` (case-insensitive); returns the number of matching lines."""
        self._search = term.casefold() if term else None
        self._matches, self._current = [], -1
        self._cache.clear()
        if self._search:
            self._find_in(list(self._lines) + self.live, self.dropped)
        if self._matches:
            self._current = 0
            self.next_match(backwards=True)  # the newest match first: errors are at the end
        self.refresh()
        return len(self._matches)

    def _find_in(self, lines: list[str], first: int) -> None:
        term = self._search
        self._matches.extend(first + i for i, line in enumerate(lines) if term in plain(line).casefold())

    @property
    def search_term(self) -> str | None:
        """What the log is searched for (case-folded), None when no search is on."""
        return self._search

    @property
    def match_count(self) -> int:
        return len(self._matches)

    @property
    def current_match(self) -> int:
        return self._current

    def next_match(self, backwards: bool = False) -> int | None:
        """Move to the next (or previous) match; returns its absolute line number."""
        live = [m for m in self._matches if m >= self.dropped]
        self._matches = live
        if not live:
            return None
        self._current = (self._current + (-1 if backwards else 1)) % len(live)
        self._cache.clear()
        self.scroll_to_line(live[self._current])
        return live[self._current]

    def find_last(self, needle: str) -> int | None:
        """The absolute number of the last line containing ``needle`` (plain text)."""
        needle = needle.strip()
        if not needle:
            return None
        for index in range(len(self._lines) - 1, -1, -1):
            if needle in plain(self._lines[index]):
                return self.dropped + index
        return None

    def mark_evidence(self, needle: str) -> int | None:
        """Highlight the last line that contains the first line of ``needle`` and show it."""
        first = next((part for part in needle.splitlines() if part.strip()), "")
        found = self._find_last_of_root(first[:200]) if self.root_rank is not None else None
        found = found if found is not None else self.find_last(first[:200])
        self.evidence_line = found
        self._cache.clear()
        if found is not None:
            self.scroll_to_line(found)
        self.refresh()
        return found

    def _find_last_of_root(self, needle: str) -> int | None:
        """The last line with ``needle`` that the root-cause rank printed (every rank prints its traceback)."""
        needle = needle.strip()
        for index in range(len(self._lines) - 1, -1, -1) if needle else ():
            line = self._lines[index]
            if needle in plain(line) and rank_of(line) == self.root_rank:
                return self.dropped + index
        return None

    # -- ranks

    def ranks_seen(self) -> list[int]:
        """The ranks whose prefixed lines are in the log (looked up on demand: a key press, not every line)."""
        return sorted({rank for line in self._lines if (rank := rank_of(line)) is not None})

    def set_root_rank(self, rank: int | None) -> None:
        self.root_rank = rank
        self._cache.clear()
        self.refresh()

    def set_rank_filter(self, rank: int | None) -> None:
        """Show only the lines of ``rank`` (None: every line)."""
        self.rank_filter = rank
        if rank is not None:
            self._shown = [self.dropped + i for i, line in enumerate(self._lines) if rank_of(line) == rank]
        else:
            self._shown = []
        self._cache.clear()
        self._update_size()

    def action_cycle_rank(self) -> None:
        """R: all ranks → rank 0 → rank 1 → … → all ranks."""
        ranks = self.ranks_seen()
        if not ranks:
            self.notify("No [rankN]: lines in this log.", severity="warning")
            return
        following = [r for r in ranks if self.rank_filter is None or r > self.rank_filter]
        rank = following[0] if following else None
        self.set_rank_filter(rank)
        root = " (the root cause)" if rank is not None and rank == self.root_rank else ""
        self.notify("Showing every rank." if rank is None else f"Showing rank {rank} only{root}. R: next rank.")

    def scroll_to_line(self, absolute: int) -> None:
        if self.rank_filter is not None and absolute not in self._shown:
            self.set_rank_filter(None)  # the line to show is another rank's: show every rank again
        if self.rank_filter is not None:
            row = self._shown.index(absolute)
        else:
            row = absolute - self.dropped + (1 if self.dropped else 0)
        self.follow = False
        self._moving = True
        self.scroll_to(y=max(0, row - self.scrollable_content_region.height // 2), animate=False)
        self._moving = False

    # -- rendering

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        row = scroll_y + y
        base = self.rich_style
        if self.rank_filter is not None:
            return self._render_shown(row, scroll_x, width)
        if self.dropped:
            if row == 0:
                return self._marker(scroll_x, width)
            row -= 1
        if row < len(self._lines):
            absolute = self.dropped + row
            key = (absolute, scroll_x, width)
            strip = self._cache.get(key)
            if strip is None:
                strip = self._render_text(self._lines[row], absolute, scroll_x, width)
                self._cache[key] = strip
            return strip
        if row - len(self._lines) < len(self.live):
            live_row = row - len(self._lines)
            return self._render_text(self.live[live_row], self.total_lines + live_row, scroll_x, width)
        return Strip.blank(width, base)

    def _render_shown(self, row: int, scroll_x: int, width: int) -> Strip:
        index = self._shown[row] - self.dropped if row < len(self._shown) else -1
        if index < 0:
            return Strip.blank(width, self.rich_style)
        absolute = self._shown[row]
        key = (absolute, scroll_x, width)
        strip = self._cache.get(key)
        if strip is None:
            strip = self._render_text(self._lines[index], absolute, scroll_x, width)
            self._cache[key] = strip
        return strip

    def _marker(self, scroll_x: int, width: int) -> Strip:
        style = self.get_component_rich_style("log-view--marker")
        text = Text(
            f"… {self.dropped:,} earlier lines dropped (the log keeps the last {self.max_lines:,})", style=style
        )
        return self._strip(text, scroll_x, width)

    def _render_text(self, line: str, absolute: int, scroll_x: int, width: int) -> Strip:
        if len(line) > MAX_LINE_CELLS:
            line = line[:MAX_LINE_CELLS]
        text = Text.from_ansi(line) if "\x1b" in line else Text(line)
        if "\t" in line:
            text.expand_tabs()
        if line.startswith("[") and (rank := _RANK.match(text.plain)):
            number = int(rank[1])
            if number == self.root_rank:
                text.stylize(self.get_component_rich_style("log-view--root-rank"))
            text.stylize(
                RANK_COLOURS[number % len(RANK_COLOURS)] + (" bold" if number == self.root_rank else ""), 0, rank.end()
            )
        if absolute == self.evidence_line:
            text.stylize(self.get_component_rich_style("log-view--evidence"))
        if self._search and self._matches:
            self._highlight(text, absolute)
        return self._strip(text, scroll_x, width)

    def _highlight(self, text: Text, absolute: int) -> None:
        term = self._search
        lowered = text.plain.casefold()
        if term not in lowered:
            return
        live = self._matches
        current = 0 <= self._current < len(live) and live[self._current] == absolute
        style = self.get_component_rich_style("log-view--current" if current else "log-view--match")
        start = lowered.find(term)
        while start != -1:
            text.stylize(style, start, start + len(term))
            start = lowered.find(term, start + len(term))

    def _strip(self, text: Text, scroll_x: int, width: int) -> Strip:
        text.no_wrap = True
        text.overflow = "ignore"
        text.end = ""
        segments = list(text.render(self.app.console))
        strip = Strip(segments).simplify()
        return strip.crop_extend(scroll_x, scroll_x + width, self.rich_style).apply_style(self.rich_style)
