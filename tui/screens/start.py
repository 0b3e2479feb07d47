"""The start screen: pick a script to run, paste a traceback, browse the KB, review questions, history."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from diagnose.tui.widgets.lists import VimDirectoryTree
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, DirectoryTree, Footer, Static

SKIPPED_DIRS = {"__pycache__", "node_modules", "site-packages"}


def shown(path: Path) -> bool:
    """Folders and ``.py`` files; hidden folders and caches left out."""
    if path.name.startswith(".") or path.name in SKIPPED_DIRS or path.name.endswith(".egg-info"):
        return False
    try:
        return path.is_dir() or path.suffix == ".py"
    except OSError:
        return False


def has_scripts(folder: Path) -> bool:
    """Whether the tree would show anything in ``folder``."""
    try:
        return any(shown(path) for path in folder.iterdir())
    except OSError:
        return False


class ScriptTree(VimDirectoryTree):
    """Folders and ``.py`` files only; hidden folders and caches left out."""

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        return [path for path in paths if shown(path)]


class StartScreen(Screen):
    BINDINGS = [
        # Short labels for the footer; the palette lists the app's own bindings with full names.
        Binding("x", "app.explain", "Explain"),
        Binding("b", "app.kb", "KB"),
        Binding("v", "app.review", "Review"),
        Binding("i", "app.history", "History"),
        Binding("q", "app.quit", "Quit"),
    ]

    def compose(self) -> ComposeResult:
        yield Static(
            Text.assemble(
                ("lora-diagnose", "bold"), "  ", ("run a LoRA script, see what went wrong, fix it, learn why", "dim")
            ),
            id="status",
        )
        with Horizontal(id="start"):
            with Vertical(id="scripts"):
                folder = self.app.start_dir
                if has_scripts(folder):
                    yield Static("Pick a script to run (Enter)", classes="section")
                    yield ScriptTree(folder, id="tree")
                else:
                    yield Static(
                        f"No Python scripts in {folder.resolve().name or folder}.\n\nStart diagnose tui in your "
                        "project's folder, or give it the script: diagnose tui train.py",
                        classes="placeholder",
                        id="no-scripts",
                    )
            with Vertical(id="menu"):
                yield Static("Or", classes="section")
                yield Button("Explain a pasted traceback", id="explain", compact=True)
                yield Button("Browse the knowledge base", id="kb", compact=True)
                yield Button("Review questions", id="review", compact=True)
                yield Button("History of incidents", id="history", compact=True)
                yield Static("", id="due")
        yield Footer()

    def on_mount(self) -> None:
        for tree in self.query(ScriptTree):
            tree.show_root = False
            tree.guide_depth = 2
            tree.focus()
        if not self.query(ScriptTree):
            self.query_one("#menu Button").focus()
        self.count_due()

    @work(thread=True, exclusive=True, exit_on_error=False, group="due")
    def count_due(self) -> None:
        from diagnose.quiz.session import QuizEngine
        from diagnose.quiz.store import ProgressStore

        app = self.app
        with ProgressStore() as store:
            stats = QuizEngine(app.knowledge(), store).stats(app.now())
        text = f"{stats.due_now} due, {stats.new_available} new" if stats.cards or stats.new_available else ""
        mastered = [m for m in stats.mastery if m.total]
        if mastered:  # what you have learnt per error family: stable questions out of its questions
            text += "\n\nMastery\n" + "\n".join(f"{m.stable}/{m.total} {m.title}" for m in mastered[:6])
        app.call_from_thread(self._show_due, text)

    def _show_due(self, text: str) -> None:
        self.query_one("#due", Static).update(Text(text, style="dim"))

    def on_screen_resume(self) -> None:
        self.count_due()

    @on(DirectoryTree.FileSelected)
    def _script_chosen(self, event: DirectoryTree.FileSelected) -> None:
        event.stop()
        path = event.path
        try:
            shown = os.path.relpath(path)
        except ValueError:
            shown = str(path)
        self.app.run_target([shown if not shown.startswith("..") else str(path)])

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.run_action(f"app.{event.button.id}")
