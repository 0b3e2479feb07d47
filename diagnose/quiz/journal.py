"""Incidents waiting to enter the history: one JSON line each, appended after every diagnosis.

Recording an incident straight into SQLite (import sqlite3, open, migrate,
commit, checkpoint) cost ~10 ms of a ~60 ms ``explain``.  Appending a line
costs well under one, so ``run`` and ``explain`` append here, and the
progress store moves the lines into its ``incidents`` table the next time it
is opened (``diagnose quiz``, the TUI): nothing reads the history without
opening the store.

Safety: the file is owner-only; the command has tokens redacted and the
report was scrubbed by ``Report.to_json``.  Every line carries a unique
``journal_id`` and the store inserts with ``INSERT OR IGNORE`` on it, so a
merge that stops half-way (or two merging at once) never doubles an
incident.  Writers and the merger take an exclusive ``flock``; a writer whose
file was moved away while it waited opens the new one.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import time
from pathlib import Path

MAX_PAYLOAD_BYTES = 2_000_000
MAX_LOG_CHARS = 200_000  # the end of a log: where its error is
MERGE_AT_BYTES = 8_000_000  # a journal this big is taken in at once, not left to grow until the next quiz
_SECRETS = re.compile(r"hf_[A-Za-z0-9]{8,}|(?<=HF_TOKEN=)\S+|(?<=HUGGING_FACE_HUB_TOKEN=)\S+")
MERGING_SUFFIX = ".merging"


def redact(text: str) -> str:
    return _SECRETS.sub("***", text)


def dump_payload(value, what: str) -> str | None:
    """JSON of a report or probes, tokens redacted, replaced by a note when over MAX_PAYLOAD_BYTES."""
    if value is None:
        return None
    return _bounded(redact(json.dumps(value, default=str, ensure_ascii=False)), what)


def bounded_log(text: str) -> str:
    """The last MAX_LOG_CHARS of a log, tokens redacted (before the cut: no half token survives it)."""
    return redact(text[-(MAX_LOG_CHARS + 1000) :])[-MAX_LOG_CHARS:]


def journal_path(database: Path) -> Path:
    """The journal beside its database: progress.sqlite3 -> progress.incidents.jsonl."""
    return database.with_name(database.stem + ".incidents.jsonl")


def append_incident(
    journal: Path,
    *,
    command: str,
    source: str,
    entry_ids: list[str],
    report_json: str | None,
    probes,
    log: str | None = None,
) -> int:
    """Add one incident to the journal; returns the journal's size (OSError when it cannot be written)."""
    if source not in ("capture", "text"):
        raise ValueError(f"incident source must be 'capture' or 'text', not {source!r}")
    now = time.time()
    line = (
        json.dumps(
            {
                "journal_id": f"{time.time_ns()}-{os.getpid()}-{os.urandom(4).hex()}",
                "created_at": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1e6):06d}+00:00",
                "command": redact(command)[:4000],
                "source": source,
                "entry_ids": list(entry_ids),
                "report": None if report_json is None else _bounded(redact(report_json), "report"),
                "probes": dump_payload(probes, "probes"),
                "log": None if log is None else bounded_log(log),
            },
            ensure_ascii=False,
        )
        + "\n"
    )
    data = line.encode("utf-8", "replace")
    journal.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    while True:
        fd = os.open(journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if _still_there(fd, journal):
                os.write(fd, data)
                return os.fstat(fd).st_size
        finally:
            os.close(fd)  # also releases the lock
        # A merger moved the file away while we waited for the lock: write to the new one.


def _bounded(text: str, what: str) -> str:
    if len(text.encode("utf-8", "replace")) > MAX_PAYLOAD_BYTES:
        return json.dumps({"omitted": f"{what} larger than {MAX_PAYLOAD_BYTES} bytes"})
    return text


def _still_there(fd: int, journal: Path) -> bool:
    try:
        return os.stat(journal).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


def take_pending(journal: Path) -> list[tuple[Path, list[dict]]]:
    """Move the journal aside and read it, with any earlier merge's leftovers.

    Returns (file, incidents) pairs; the caller inserts the incidents and then
    calls ``done(file)``.  A line that does not parse (cut by a crash) is skipped.
    """
    taken = []
    if journal.exists():
        moving = journal.with_name(f"{journal.name}.{os.getpid()}-{time.time_ns()}{MERGING_SUFFIX}")
        try:
            os.rename(journal, moving)
        except FileNotFoundError:
            pass  # another process took it first
    for path in sorted(journal.parent.glob(f"{journal.name}.*{MERGING_SUFFIX}")):
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            continue  # another merger finished it
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # wait for a writer that opened it before the move
            with os.fdopen(os.dup(fd), "rb") as handle:
                raw = handle.read()
        finally:
            os.close(fd)
        taken.append((path, list(_parse_lines(raw))))
    return taken


def _parse_lines(raw: bytes):
    for line in raw.splitlines():
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict) and item.get("journal_id") and item.get("source") in ("capture", "text"):
            yield item


def done(path: Path) -> None:
    path.unlink(missing_ok=True)
