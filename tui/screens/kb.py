"""The KB browser: a searchable list of entries, the selected one as Markdown (examples included)."""

from __future__ import annotations

from diagnose.tui.kbtext import entry_markdown
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Input, Markdown, OptionList, Static
from textual.widgets.option_list import Option

DEBOUNCE = 0.15  # seconds


class KBScreen(Screen):
    BINDINGS = [
        Binding("slash", "focus_search", "Search"),
        Binding("escape", "back", "Back"),
    ]

    _pending = None  # the debounce timer
    _shown: str | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="status")
        yield Input(placeholder="Search the knowledge base (words in id, title, explanation, patterns)", id="kb-search")
        with Horizontal(id="kb-body"):
            yield OptionList(id="kb-list")
            with VerticalScroll(id="kb-detail"):
                yield Markdown("", id="kb-entry")
        yield Footer()

    def on_mount(self) -> None:
        kb = self.app.knowledge()
        self.entries = sorted((loaded for loaded in kb), key=lambda loaded: loaded.id)
        problems = f"   {len(kb.problems)} broken file(s) skipped" if kb.problems else ""
        self.query_one("#status", Static).update(
            Text.assemble(
                ("Knowledge base", "bold"),
                (f"   {len(self.entries)} entr{'y' if len(self.entries) == 1 else 'ies'}", "dim"),
                (problems, "yellow"),
            )
        )
        self.show_matches("")
        self.query_one("#kb-search", Input).focus()

    def show_matches(self, query: str) -> list[str]:
        """The entries ``diagnose kb search`` ranks for ``query`` (all of them for an empty query)."""
        from diagnose.kb.search import search

        if query.strip():
            found = [hit.entry.entry for hit in search(query, self.app.knowledge())]
        else:
            found = [loaded.entry for loaded in self.entries]
        options = self.query_one("#kb-list", OptionList)
        options.clear_options()
        options.add_options([Option(Text(entry.id), id=entry.id) for entry in found])
        if found:
            options.highlighted = 0
            self.show_entry(found[0].id)
        else:
            self.query_one("#kb-entry", Markdown).update("*No entry matches.*")
        return [entry.id for entry in found]

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
        self.query_one("#kb-list", OptionList).focus()

    @on(OptionList.OptionHighlighted, "#kb-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id and event.option.id != self._shown:
            if self._pending is not None:
                self._pending.stop()
            self._pending = self.set_timer(DEBOUNCE, lambda: self.show_entry(event.option.id))

    @on(OptionList.OptionSelected, "#kb-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.query_one("#kb-detail").focus()

    def action_focus_search(self) -> None:
        self.query_one("#kb-search", Input).focus()

    def action_back(self) -> None:
        self.app.pop_screen()
