"""The help screen (``?``): the keys of the screen below and of the app, from their bindings."""

from __future__ import annotations

from diagnose.tui.widgets.lists import VIM_SCROLL_BINDINGS
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Markdown

INTRO = """\
# lora-diagnose

Runs your LoRA fine-tuning script, catches the error, explains it for *your*
model, proposes fixes (a patch of the script when it can) and asks a question
so the lesson sticks.  Every command is also in the command palette
(**ctrl+p**).  This help scrolls: **j**/**k**, arrows, PageUp/PageDown.
"""

MOVING = """
## Moving around

| Key | Action |
|---|---|
| `tab` / `shift+tab` | next / previous pane, fix, button |
| `enter` / `space` | open a fix, press a button, pick a list entry |
| `j` `k` / arrows | scroll the log or the diagnosis, move in a list |
| `g` / `G` | top / bottom (`G` in the log follows new output again) |
| `pageup` / `pagedown` | a page |
| `ctrl+c` | stop the run (on the run screen) |
| `ctrl+q` | quit (asks first while a run is going) |

In the quiz: `a`-`d` or `1`-`4` answer a choice question, `1`-`4` rate
yourself after the answer, `ctrl+g` shows the hint.
"""


def bindings_of(node) -> list[Binding]:
    """The bindings this project declares on a screen or the app (Textual's own ones left out)."""
    found: list[Binding] = []
    classes = [cls for cls in reversed(type(node).__mro__) if cls.__module__.startswith("diagnose.tui.")]
    for cls in classes:
        if not getattr(cls, "_inherit_bindings", True):
            found = []
        own = list(Binding.make_bindings(cls.__dict__.get("BINDINGS", [])))
        keys = {binding.key for binding in own}  # a key may have two bindings (check_action picks one)
        found = [b for b in found if b.key not in keys] + own
    return found


def applies(node, binding: Binding) -> bool:
    """Whether ``binding`` does something now on ``node`` (its ``check_action`` says so)."""
    from textual.actions import parse

    target, name, parameters = parse(binding.action)
    if target == "app":
        node = node.app
    return bool(node.check_action(name, parameters))


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


class HelpBody(VerticalScroll):
    """The help text; focused, so the keys scroll it."""

    BINDINGS = VIM_SCROLL_BINDINGS


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def __init__(self, below: Screen) -> None:
        super().__init__()
        self.below = below

    def compose(self) -> ComposeResult:
        with HelpBody(id="help"):
            yield Markdown(INTRO + "\n## Keys here\n\n" + key_table(self.below) + "\n" + MOVING)

    def on_mount(self) -> None:
        self.query_one(HelpBody).focus()
