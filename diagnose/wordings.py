"""Which library releases worded a family's message this way (diagnose/wordings.json).

The file is made by tools/harvest_wordings.py from the released wheels.  When
the message a user has is a wording that the newest harvested release no
longer uses, the diagnosis says so: the error came from an older library than
the current one (an old environment, or a log pasted from one).
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

WORDINGS_FILE = Path(__file__).with_name("wordings.json")


@cache
def _patterns(entry_id: str) -> list[tuple[re.Pattern[str], dict]]:
    families = json.loads(WORDINGS_FILE.read_text(encoding="utf-8"))["families"]
    out = []
    for wording in families.get(entry_id, []):
        # Literal text with each {placeholder} as a bounded gap: linear, no nested repeats.
        parts = re.split(r"\{[^{}]*\}", wording["template"].strip().splitlines()[0])
        out.append((re.compile("[^\n]{0,300}?".join(re.escape(p) for p in parts)), wording))
    return out


def old_wording_note(entry_id: str, message: str) -> str | None:
    """ "This wording comes from peft 0.4.0–0.6.2 ..." when only releases older than the newest use it."""
    if not message or not WORDINGS_FILE.exists():
        return None
    matched = [w for pattern, w in _patterns(entry_id) if pattern.search(message)]
    if not matched or any(w["in_latest"] for w in matched):
        return None
    w = max(matched, key=lambda w: len(w["template"]))
    first, last = (".".join(w[end].split(".")[:2]) for end in ("first", "last"))
    span = first if first == last else f"{first}–{last}"
    return (
        f"This wording of the message comes from {w['package']} {span}; newer releases word it differently: "
        f"the error came from an older {w['package']} (your environment, or the log you pasted)."
    )
