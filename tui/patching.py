"""The engine's patch-apply API (``diagnose.patches.apply``), if this installation has it.

The Apply buttons exist only when that API does; without it the diff is
shown and nothing pretends to apply it.  Refusals (the script changed since
the diagnosis, read-only, library code) are the engine's ``PatchError``.
"""

from __future__ import annotations

from collections.abc import Callable


def applier() -> Callable | None:
    """``apply(path, sha256, new_text) -> Applied(path, backup)``, or None when it does not exist."""
    try:
        from diagnose.patches.apply import apply
    except ImportError:
        return None
    return apply


def apply(patch):
    function = applier()
    if function is None:
        raise RuntimeError("this installation has no patch-apply API")
    return function(patch.path, patch.sha256, patch.new_text)
