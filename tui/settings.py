"""What the app remembers between sessions (the theme), and the theme it uses under NO_COLOR."""

from __future__ import annotations

import json
from collections.abc import Container

from textual.theme import Theme

SETTINGS_FILE = "tui.json"

# Under NO_COLOR Textual turns every colour into a grey of the same lightness: dark reds and
# greens would sink into the background.  Here every accent is light, and what must stand out
# (errors, unsafe fixes, the focused pane) is also bold, underlined or framed differently.
NO_COLOR_THEME = Theme(
    name="diagnose-no-color",
    primary="#c8c8c8",
    secondary="#b4b4b4",
    accent="#e6e6e6",
    warning="#dcdcdc",
    error="#ffffff",
    success="#d2d2d2",
    foreground="#e8e8e8",
    background="#000000",
    surface="#0c0c0c",
    panel="#1e1e1e",
    boost="#303030",
    dark=True,
)


def _path():
    from diagnose.paths import user_dir

    return user_dir() / SETTINGS_FILE


def saved_theme(available: Container[str]) -> str | None:
    """The theme chosen last time, if it still exists."""
    try:
        name = json.loads(_path().read_text(encoding="utf-8")).get("theme")
    except (OSError, ValueError, AttributeError):
        return None
    return name if isinstance(name, str) and name in available else None


def save_theme(name: str) -> str | None:
    """Remember ``name``; an error message when it could not be written (the app goes on)."""
    from diagnose.paths import write_private

    try:
        write_private(_path(), json.dumps({"theme": name}) + "\n")
    except OSError as error:
        return str(error)
    return None
