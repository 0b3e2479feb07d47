"""A KB entry as Markdown for the browser: the reference-docs section (diagnose.kb.docs), then every example."""

from __future__ import annotations

from diagnose.kb.loader import LoadedEntry

FENCE = "````"


def entry_markdown(loaded: LoadedEntry) -> str:
    from diagnose.kb.docs import render_entry

    entry = loaded.entry
    parts = [render_entry(loaded)]
    if loaded.origin != "shipped":
        parts.insert(0, f"*From {loaded.origin}*" + (" (overrides the shipped entry)" if loaded.overrides else ""))
    if entry.examples:
        parts.append(f"### All examples ({len(entry.examples)})\n")
        for number, example in enumerate(entry.examples, 1):
            parts.append(f"{number}. *{example.source}*\n\n{FENCE}text\n{example.text.rstrip()}\n{FENCE}\n")
    return "\n".join(parts)
