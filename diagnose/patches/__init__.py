"""Script patches: syntax-tree edits of the user's script (libcst), one module per fix kind.

``propose(entry_id, script, incident, advice)`` returns a Patch or None.  A
patcher is registered per KB entry id in ``PATCHERS`` (name of a module in
this package exposing ``make_patch(source, incident, advice) -> str | None``).
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
from pathlib import Path

from diagnose.incident import Incident
from diagnose.report import Advice, Patch

# entry id -> module in diagnose.patches; filled as patchers land.
PATCHERS: dict[str, str] = {}


def propose(entry_id: str, script: str | None, incident: Incident, advice: Advice | None) -> Patch | None:
    module_name = PATCHERS.get(entry_id)
    if module_name is None or not script:
        return None
    path = Path(script)
    if not path.is_file() or "site-packages" in path.parts or "dist-packages" in path.parts:
        return None
    source = path.read_text(encoding="utf-8")
    module = importlib.import_module(f"diagnose.patches.{module_name}")
    result = module.make_patch(source, incident, advice or Advice())
    if result is None or result.new_text == source:
        return None
    diff = "".join(difflib.unified_diff(source.splitlines(keepends=True), result.new_text.splitlines(keepends=True),
                                        fromfile=f"a/{path.name}", tofile=f"b/{path.name}"))
    return Patch(path=str(path), sha256=hashlib.sha256(source.encode("utf-8")).hexdigest(), diff=diff,
                 new_text=result.new_text, title=result.title, safety=result.safety,
                 safety_reason=result.safety_reason)
