"""Paste a traceback (a forum post, a log), explain it: the same engine as ``diagnose explain``."""

from __future__ import annotations

from diagnose.tui.messages import Diagnosed
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Button, Footer, Static, TextArea


class ExplainScreen(Screen):
    BINDINGS = [Binding("ctrl+r", "explain", "Explain"), Binding("escape", "back", "Back")]

    def compose(self) -> ComposeResult:
        yield Static(
            Text.assemble(
                ("Explain a traceback", "bold"),
                ("   paste it below (ctrl+v or your terminal's paste), then ctrl+r", "dim"),
            ),
            id="status",
        )
        yield TextArea(id="paste", soft_wrap=False, show_line_numbers=False)
        with Horizontal(id="explain-buttons"):
            yield Button("Explain", id="explain", variant="primary", compact=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#paste", TextArea).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_explain()

    def action_explain(self) -> None:
        text = self.query_one("#paste", TextArea).text
        if not text.strip():
            self.notify("Paste a traceback first.", severity="warning")
            return
        self.explain(text)

    @work(thread=True, exclusive=True, exit_on_error=False, group="explain")
    def explain(self, text: str) -> None:
        report = self.app.explain_text(text)
        self.post_message(Diagnosed(report))

    def on_diagnosed(self, message: Diagnosed) -> None:
        from diagnose.tui.screens.report import ReportScreen

        message.stop()
        self.app.push_screen(
            ReportScreen(message.report, title="Pasted traceback", text=self.query_one("#paste", TextArea).text)
        )

    def action_back(self) -> None:
        self.app.pop_screen()
