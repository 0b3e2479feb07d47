"""History: past incidents (time, command, diagnosis), newest first; Enter reopens one."""

from __future__ import annotations

from diagnose.tui.history import short_command
from diagnose.tui.widgets.lists import VimDataTable
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from diagnose.report import Report


class HistoryScreen(Screen):
    BINDINGS = [
        Binding("enter", "open", "Reopen", show=True),
        Binding("escape", "back", "Back", show=False),
        Binding("q", "back", "Back"),
    ]

    def compose(self) -> ComposeResult:
        yield Static(Text("History of incidents", style="bold"), id="status")
        yield VimDataTable(id="history-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("When", "Command", "Diagnosis")
        table.focus()
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="history")
    def load(self) -> None:
        from diagnose.quiz.store import ProgressStore

        with ProgressStore() as store:
            incidents = store.list_incidents(200)
        self.app.call_from_thread(self._show, incidents)

    def _show(self, incidents) -> None:
        table = self.query_one(DataTable)
        table.clear()
        if not incidents:
            self.query_one("#status", Static).update(
                Text.assemble(
                    ("History of incidents", "bold"), ("   none yet: run a script or explain a traceback", "dim")
                )
            )
            return
        for incident in incidents:
            when = incident.created_at.astimezone().strftime("%Y-%m-%d %H:%M")
            diagnosis = ", ".join(incident.entry_ids[:2]) if incident.entry_ids else "no confident diagnosis"
            table.add_row(when, Text(short_command(incident.command)), Text(diagnosis), key=str(incident.id))

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.reopen(int(str(event.row_key.value)))

    def action_open(self) -> None:
        table = self.query_one(DataTable)
        if table.row_count:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
            self.reopen(int(str(key.value)))

    def reopen(self, incident_id: int) -> None:
        from diagnose.tui.screens.report import ReportScreen

        from diagnose.quiz.store import ProgressStore

        with ProgressStore() as store:
            record = store.get_incident(incident_id)
        if record is None or not record.report:
            self.notify("This incident has no saved report.", severity="warning")
            return
        report = Report.from_dict(record.report)
        when = record.created_at.astimezone().strftime("%Y-%m-%d %H:%M")
        log = record.log or "(This incident was saved before the history kept logs: only its diagnosis is here.)"
        self.app.push_screen(ReportScreen(report, title=f"{short_command(record.command)}   ({when})", text=log))

    def action_back(self) -> None:
        self.app.pop_screen()
