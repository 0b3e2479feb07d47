"""The KB browser: a searchable list of entries, the selected one as Markdown (examples included)."""

from __future__ import annotations

from diagnose.tui.kbtext import entry_markdown
from diagnose.tui.widgets.lists import VIM_SCROLL_BINDINGS, VimOptionList
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Input, Markdown, Static
from textual.widgets.option_list import Option


class EntryView(VerticalScroll):
    BINDINGS = VIM_SCROLL_BINDINGS


DEBOUNCE = 0.15  # seconds


class KBScreen(Screen):
    BINDINGS = [
        Binding("slash", "focus_search", "Search"),
        Binding("down", "to_list", "To the list", show=False),
        Binding("escape", "back", "Back", show=False),
        Binding("q", "back", "Back"),
    ]

    _pending = None  # the debounce timer
    _shown: str | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="status")
        yield Input(placeholder="Search the knowledge base (words in id, title, explanation, patterns)", id="kb-search")
        with Horizontal(id="kb-body"):
            yield VimOptionList(id="kb-list")
            with EntryView(id="kb-detail"):
                yield Markdown("", id="kb-entry")
        yield Footer()

    def on_mount(self) -> None:
        kb = self.app.knowledge()
        self.entries = sorted((loaded for loaded in kb), key=lambda loaded: loaded.id)
        self.problems = f"   {len(kb.problems)} broken file(s) skipped" if kb.problems else ""
        self.show_matches("")
        self.query_one("#kb-search", Input).focus()

    def show_matches(self, query: str) -> list[str]:
        """The entries ``diagnose kb search`` ranks for ``query`` (all of them for an empty query)."""
        from diagnose.kb.search import search

        if query.strip():
            found = [hit.entry.entry for hit in search(query, self.app.knowledge())]
        else:
            found = [loaded.entry for loaded in self.entries]
        self._show_count(len(found), filtered=bool(query.strip()))
        options = self.query_one("#kb-list", VimOptionList)
        options.clear_options()
        options.add_options([Option(Text(entry.id), id=entry.id) for entry in found])
        if found:
            options.highlighted = 0
            self.show_entry(found[0].id)
        else:
            self.query_one("#kb-entry", Markdown).update("*No entry matches.*")
        return [entry.id for entry in found]

    def _show_count(self, shown: int, filtered: bool) -> None:
        total = len(self.entries)
        count = f"{shown} of {total} entries" if filtered else f"{total} entr{'y' if total == 1 else 'ies'}"
        self.query_one("#status", Static).update(
            Text.assemble(("Knowledge base", "bold"), (f"   {count}", "dim"), (self.problems, "bold"))
        )

    def show_entry(self, entry_id: str) -> None:
        self._shown = entry_id
        loaded = self.app.knowledge().entries.get(entry_id)
        if loaded is not None:
            self.query_one("#kb-entry", Markdown).update(entry_markdown(loaded))
            self.query_one("#kb-detail").scroll_home(animate=False)

    @on(Input.Changed, "#kb-search")
    def _query_changed(self, event: Input.Changed) -> None:
        # Typing a word is one search, not one per key: rendering an entry's Markdown takes a moment.
        if self._pending is not None:
            self._pending.stop()
        self._pending = self.set_timer(DEBOUNCE, lambda: self.show_matches(event.value))

    @on(Input.Submitted, "#kb-search")
    def _query_submitted(self, event: Input.Submitted) -> None:
        self.query_one("#kb-list", VimOptionList).focus()

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "to_list":  # Down leaves the search box for the list; elsewhere it moves as usual
            return self.focused is self.query_one("#kb-search", Input)
        return True

    def action_to_list(self) -> None:
        self.query_one("#kb-list", VimOptionList).focus()

    @on(VimOptionList.OptionHighlighted, "#kb-list")
    def _highlighted(self, event: VimOptionList.OptionHighlighted) -> None:
        if event.option.id and event.option.id != self._shown:
            if self._pending is not None:
                self._pending.stop()
            self._pending = self.set_timer(DEBOUNCE, lambda: self.show_entry(event.option.id))

    @on(VimOptionList.OptionSelected, "#kb-list")
    def _selected(self, event: VimOptionList.OptionSelected) -> None:
        self.query_one("#kb-detail").focus()

    def action_focus_search(self) -> None:
        self.query_one("#kb-search", Input).focus()

    def action_back(self) -> None:
        self.app.pop_screen()
