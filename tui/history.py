"""Past incidents as the history screen shows them."""

from __future__ import annotations

import os
import shlex
import sys


def short_command(command: str) -> str:
    """``/venv/bin/python /home/me/proj/train.py`` → ``python train.py`` (relative to here when inside)."""
    try:
        words = shlex.split(command)
    except ValueError:
        return command
    out = []
    for i, word in enumerate(words):
        if i == 0 and (word == sys.executable or os.path.basename(word).startswith("python")):
            out.append("python")
        elif os.path.isabs(word):
            relative = os.path.relpath(word)
            out.append(relative if not relative.startswith("..") else os.path.basename(word))
        else:
            out.append(word)
    return shlex.join(out)
