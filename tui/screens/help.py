"""The help screen (``?``): the keys of the screen below and of the app, from their bindings."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Markdown

INTRO = """\
# lora-diagnose

Runs your LoRA fine-tuning script, catches the error, explains it for *your*
model, proposes fixes (a patch of the script when it can) and asks a question
so the lesson sticks.  Every command is also in the command palette
(**ctrl+p**).
"""


def bindings_of(node) -> list[Binding]:
    """The bindings this project declares on a screen or the app (Textual's own ones left out)."""
    found: list[Binding] = []
    classes = [cls for cls in reversed(type(node).__mro__) if cls.__module__.startswith("diagnose.tui.")]
    for cls in classes:
        if not getattr(cls, "_inherit_bindings", True):
            found = []
        for binding in Binding.make_bindings(cls.__dict__.get("BINDINGS", [])):
            found = [b for b in found if b.key != binding.key] + [binding]
    return found


def key_table(screen: Screen) -> str:
    """A Markdown table of the bindings active on ``screen`` (its own, then the app's)."""
    rows = []
    seen = set()
    own = [b for b in bindings_of(screen) if not b.action.startswith("app.")]  # the app's are listed below
    for binding in own + bindings_of(screen.app):
        if binding.description and (binding.key, binding.action) not in seen:
            seen.add((binding.key, binding.action))
            key = screen.app.get_key_display(binding)
            rows.append(f"| `{key}` | {binding.description} |")
    return "| Key | Action |\n|---|---|\n" + "\n".join(rows)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def __init__(self, below: Screen) -> None:
        super().__init__()
        self.below = below

    def compose(self) -> ComposeResult:
        with Vertical(id="help"):
            yield Markdown(INTRO + "\n## Keys here\n\n" + key_table(self.below))
