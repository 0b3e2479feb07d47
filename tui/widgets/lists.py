"""Lists and trees that also move with vim keys (j/k, g/G), as the log and the diagnosis do."""

from __future__ import annotations

from textual.binding import Binding, BindingType
from textual.widgets import DataTable, DirectoryTree, OptionList

VIM_LIST_BINDINGS: list[BindingType] = [
    Binding("j", "cursor_down", "Down", show=False),
    Binding("k", "cursor_up", "Up", show=False),
    Binding("g", "first", "First", show=False),
    Binding("G", "last", "Last", show=False),
]

VIM_SCROLL_BINDINGS = [
    Binding("j", "scroll_down", "Scroll down", show=False),
    Binding("k", "scroll_up", "Scroll up", show=False),
    Binding("g", "scroll_home", "Top", show=False),
    Binding("G", "scroll_end", "Bottom", show=False),
]


class VimOptionList(OptionList):
    BINDINGS = VIM_LIST_BINDINGS


class VimDataTable(DataTable):
    BINDINGS = [
        *VIM_LIST_BINDINGS[:2],
        Binding("g", "scroll_top", show=False),
        Binding("G", "scroll_bottom", show=False),
    ]


class VimDirectoryTree(DirectoryTree):
    BINDINGS = VIM_LIST_BINDINGS

    def action_first(self) -> None:
        self.cursor_line = 0

    def action_last(self) -> None:
        self.cursor_line = self.last_line
