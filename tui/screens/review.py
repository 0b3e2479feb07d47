"""Review: the questions due now (then new ones) from the entries you have met, as ``diagnose quiz`` picks them."""

from __future__ import annotations

from diagnose.tui.widgets.quiz import QuizPanel
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Static


class ReviewScreen(Screen):
    BINDINGS = [Binding("escape", "back", "Back", show=False), Binding("q", "back", "Back")]

    def __init__(self, include_all: bool = False) -> None:
        super().__init__()
        self.include_all = include_all

    def compose(self) -> ComposeResult:
        yield Static(Text("Review questions", style="bold"), id="status")
        yield QuizPanel(id="quiz-panel", empty="Loading questions…")
        yield Footer()

    def on_mount(self) -> None:
        self.watch(self.query_one(QuizPanel), "progress", self._moved, init=False)
        self.pick()

    @work(thread=True, exclusive=True, exit_on_error=False, group="quiz-pick")
    def pick(self) -> None:
        from diagnose.quiz.session import QuizEngine
        from diagnose.quiz.store import ProgressStore

        app = self.app
        with ProgressStore() as store:
            engine = QuizEngine(app.knowledge(), store)
            items = engine.pick(app.now(), include_all=self.include_all)
        app.call_from_thread(self._picked, items)

    async def _picked(self, items) -> None:
        empty = (
            "Nothing is due. Questions come from the errors you have met; run a script or explain a traceback first."
        )
        await self.query_one(QuizPanel).set_items(items, empty=empty, focus=True)

    def _moved(self, progress: tuple[int, int]) -> None:
        """The count goes down as questions are answered or skipped."""
        index, total = progress
        left = total - index
        self.query_one("#status", Static).update(
            Text.assemble(("Review questions", "bold"), (f"   {left} to go" if left else "", "dim"))
        )

    def action_back(self) -> None:
        self.app.pop_screen()
