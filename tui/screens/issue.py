"""The issue report of a diagnosis (what `diagnose report` prints), copy-ready.

The Markdown is built in a thread (``diagnose env`` asks torch about CUDA,
which takes seconds to import) and shown in a read-only text area: select
and copy it, or press ``c`` to put it all on the clipboard.
"""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Static, TextArea

from diagnose.report import Report


class IssueReportScreen(Screen):
    BINDINGS = [
        Binding("c", "copy", "Copy all"),
        Binding("escape,q", "app.pop_screen", "Back"),
    ]

    def __init__(self, report: Report, command: str = "") -> None:
        super().__init__()
        self.report, self.command = report, command
        self.markdown = ""

    def compose(self) -> ComposeResult:
        yield Static("Issue report — paste it into a GitHub issue (secrets and home paths are masked)", id="status")
        yield TextArea("Gathering the environment…", read_only=True, id="issue-text")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()
        self.build()

    @work(thread=True, exclusive=True)
    def build(self) -> None:
        from diagnose.bugreport import issue_markdown, material_from_report

        try:
            text = issue_markdown(material_from_report(self.report, self.command))
        except Exception as error:  # noqa: BLE001 - say so on screen rather than crash the app
            text = f"The issue report could not be built: {type(error).__name__}: {error}"
        self.app.call_from_thread(self.show, text)

    def show(self, text: str) -> None:
        self.markdown = text
        self.query_one(TextArea).load_text(text)

    def action_copy(self) -> None:
        if self.markdown:
            self.app.copy_to_clipboard(self.markdown)
            self.notify("Copied the issue report (if your terminal allows clipboard access)")
