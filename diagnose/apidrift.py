"""The LoRA stack's public API across releases: which names existed when, renamed to what, moved where.

The data (``api_history.json`` beside this module) is harvested from the
released wheels of transformers, peft, trl, accelerate and bitsandbytes by
``tools/harvest_api.py`` -- read with ``ast``, one release per minor version.
For each API it stores, per name, the index ranges of the harvested releases
that have it; renames come from the libraries' own deprecation messages and
decorators, moves from a trainer argument that left ``__init__`` while its
config class has it.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

HISTORY_FILE = Path(__file__).with_name("api_history.json")

# The classes whose error messages name them, by the API recorded for them; a subclass
# (``NeuronSFTConfig``, ``MyTrainer``) is read as the class its name ends with.
_PACKAGE_OF_PREFIX = ("transformers", "trl", "peft", "accelerate", "bitsandbytes")


@cache
def history() -> dict[str, Any]:
    return json.loads(HISTORY_FILE.read_text(encoding="utf-8"))["packages"]


class Drift(NamedTuple):
    """What the history says of one name of one API."""

    package: str
    api: str
    name: str
    existed: str | None  # "4.30–4.45" (the harvested releases that have it), None: never
    removed_in: str | None  # first harvested release without it after it last existed
    renamed_to: str | None
    renamed_in: str | None  # the release whose code first says it is deprecated in favour of renamed_to
    moved_to: str | None  # another API that took it (a trainer argument now set in its config)
    installed: str | None

    @property
    def exists_now(self) -> bool:
        return self.removed_in is None and self.existed is not None

    def sentence(self) -> str:
        subject = f"`{self.name}`" + (f" ({self.api})" if self.api != "import" else "")
        have = f"; you have {self.package} {self.installed}" if self.installed else ""
        if self.existed is None:
            return f"{subject} is not in any harvested {self.package} release{have}."
        parts = []
        if self.renamed_to:
            parts.append(f"was renamed `{self.renamed_to}` in {self.package} {self.renamed_in}")
        if self.moved_to:
            parts.append(f"moved into `{self.moved_to}`")
        if self.removed_in and self.removed_in != self.renamed_in:
            parts.append(
                f"was removed in {self.removed_in}" if parts else f"was removed in {self.package} {self.removed_in}"
            )
        elif not parts:
            parts.append(f"exists in {self.package} {self.existed}")
        return f"{subject} " + " and ".join(parts) + f" (present in {self.existed}){have}."


def apis_named(class_name: str) -> list[tuple[str, str]]:
    """(package, api) pairs an error's class name refers to: exact name first, then a suffix (a subclass)."""
    exact, suffix = [], []
    for package, data in history().items():
        for api in data["apis"]:
            if api == class_name:
                exact.append((package, api))
            elif " " not in api and class_name.endswith(api) and api[0].isupper():
                suffix.append((package, api))
    return exact or sorted(suffix, key=lambda pair: -len(pair[1]))[:1]


def _range(versions: list[str], spans: list[list[int]]) -> str | None:
    """Harvested releases as minor versions: "4.30–4.50"."""
    if not spans:
        return None
    return ", ".join(minor(versions[a]) if a == b else f"{minor(versions[a])}–{minor(versions[b])}" for a, b in spans)


def _present_at_last(record: dict, name: str) -> bool:
    spans = record["names"].get(name, [])
    return bool(spans) and spans[-1][1] == record["versions"][1]


def _rename(data: dict, api: str, name: str) -> dict | None:
    """The rename of ``name`` whose chain ends in a name the newest release has (num_of_sequences ->
    max_seq_length -> max_length); the latest deprecation first.  None when every chain ends in a removal."""
    record = data["apis"][api]
    stated = sorted((r for r in data["renames"] if r["api"] == api and r["old"] == name),
                    key=lambda r: _key(r["deprecated_in"]), reverse=True)  # fmt: skip
    for rename in stated:
        seen, current = {name}, rename["new"]
        while not _present_at_last(record, current):
            nxt = next((r["new"] for r in data["renames"] if r["api"] == api and r["old"] == current), None)
            if nxt is None or nxt in seen:
                break
            seen.add(current)
            current = nxt
        if _present_at_last(record, current):
            return {**rename, "new": current}
    return None


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".")[:3] if part.isdigit())


def minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def lookup(package: str, api: str, name: str, installed: str | None = None) -> Drift | None:
    data = history().get(package)
    if not data or api not in data["apis"]:
        return None
    versions = data["versions"]
    record = data["apis"][api]
    spans = record["names"].get(name, [])
    removed = None
    if spans and spans[-1][1] < record["versions"][1]:
        removed = versions[spans[-1][1] + 1]
    rename = _rename(data, api, name)
    move = next((m for m in data.get("moves", []) if m["old_api"] == api and m["name"] == name), None)
    return Drift(
        package=package,
        api=api,
        name=name,
        existed=_range(versions, spans),
        removed_in=minor(removed) if removed else None,
        renamed_to=rename["new"] if rename else None,
        renamed_in=minor(rename["deprecated_in"]) if rename else None,
        moved_to=move["new_api"] if move else None,
        installed=installed,
    )


def renamed_in_target(package: str, api: str, name: str) -> str | None:
    """The name a moved argument has in the API it moved to (``max_seq_length`` -> SFTConfig's ``max_length``)."""
    data = history().get(package) or {}
    for rename in data.get("renames", []):
        if rename["api"] == api and rename["old"] == name:
            return rename["new"]
    return None


def harvested(package: str) -> list[str]:
    return list((history().get(package) or {}).get("versions", []))
