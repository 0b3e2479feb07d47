"""Progress and incident history in one SQLite file under the user directory.

The file is ``paths.database_path()`` (``DIAGNOSE_USER_DIR`` moves it).  It is
schema-versioned with ``PRAGMA user_version`` and forward-only migrations;
migration 1 is the first schema ever shipped and stays as it was, so any old
file upgrades step by step.  WAL mode, a busy timeout and ``BEGIN IMMEDIATE``
around every read-modify-write make a TUI and a CLI writing at the same time
safe: neither loses the other's review.

A file that SQLite cannot read is never dropped: opening it raises
:class:`ProgressCorruptError`, whose message offers ``diagnose quiz
--recover``, and :func:`backup_and_recreate` moves the file (and its WAL) aside
before starting a fresh one.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from fsrs import Card, Rating, ReviewLog

from diagnose import paths
from diagnose.errors import DiagnoseError
from diagnose.quiz import journal
from diagnose.quiz.journal import redact

BUSY_TIMEOUT_MS = 5000
KEEP_LOGS = 200  # incidents whose log (up to 200k characters each) is kept; older ones keep their report
EXPORT_FORMAT = "lora-diagnose-progress"
EXPORT_VERSION = 1

# Index i holds the statements that take a database from version i to i + 1.
# Never edit a shipped migration: add a new one.
MIGRATIONS: list[list[str]] = [
    [  # 1: the first schema
        """CREATE TABLE cards (
            question_id TEXT PRIMARY KEY,
            entry_id TEXT NOT NULL,
            card_json TEXT NOT NULL,
            due REAL NOT NULL
        )""",
        "CREATE INDEX cards_due ON cards(due)",
        """CREATE TABLE reviews (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            question_id TEXT NOT NULL,
            entry_id TEXT NOT NULL,
            rating INTEGER NOT NULL,
            reviewed_at TEXT NOT NULL,
            log_json TEXT NOT NULL
        )""",
        """CREATE TABLE incidents (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            created_at TEXT NOT NULL,
            command TEXT NOT NULL,
            source TEXT NOT NULL,
            entry_ids TEXT NOT NULL,
            report TEXT
        )""",
    ],
    [  # 2: parameterised questions, per-concept results, incident probes
        "ALTER TABLE cards ADD COLUMN params TEXT",
        "ALTER TABLE reviews ADD COLUMN score REAL",
        "ALTER TABLE reviews ADD COLUMN present TEXT NOT NULL DEFAULT '[]'",
        "ALTER TABLE reviews ADD COLUMN missing TEXT NOT NULL DEFAULT '[]'",
        "ALTER TABLE incidents ADD COLUMN probes TEXT",
        "CREATE INDEX reviews_question ON reviews(question_id)",
        "CREATE INDEX incidents_created ON incidents(created_at)",
    ],
    [  # 3: incidents arrive through the journal (diagnose/quiz/journal.py), once each
        "ALTER TABLE incidents ADD COLUMN journal_id TEXT",
        "CREATE UNIQUE INDEX incidents_journal ON incidents(journal_id)",
    ],
    [  # 4: the traceback text / output tail, so a reopened incident shows its log
        "ALTER TABLE incidents ADD COLUMN log TEXT",
    ],
    [  # 5: the order a choice question's choices were shown in; the card's state before the review
        "ALTER TABLE reviews ADD COLUMN shown TEXT",
        "ALTER TABLE reviews ADD COLUMN state_before INTEGER",
    ],
]
SCHEMA_VERSION = len(MIGRATIONS)


# ---------------------------------------------------------------- errors


class ProgressDatabaseError(DiagnoseError):
    """The progress database cannot be used; the message says what to do."""

    def __init__(self, message: str, path: Path) -> None:
        super().__init__(message)
        self.path = path


class ProgressCorruptError(ProgressDatabaseError):
    """SQLite cannot read the file. Progress is not dropped: recover moves it aside."""

    def __init__(self, path: Path, detail: str) -> None:
        super().__init__(
            f"the progress database {path} is damaged ({detail}); nothing was changed. "
            f"`diagnose quiz --recover` moves it aside to a backup and starts a fresh one",
            path,
        )


class ProgressLockedError(ProgressDatabaseError):
    """Another process held the database for longer than the busy timeout."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            f"the progress database {path} stayed locked by another process for "
            f"{BUSY_TIMEOUT_MS // 1000} s; close the other diagnose (TUI or quiz) and try again. "
            f"If no other process runs, `diagnose quiz --recover` moves it aside and starts afresh",
            path,
        )


class ProgressTooNewError(ProgressDatabaseError):
    def __init__(self, path: Path, version: int) -> None:
        super().__init__(
            f"the progress database {path} has schema version {version}, newer than this "
            f"lora-diagnose understands ({SCHEMA_VERSION}); upgrade lora-diagnose",
            path,
        )


# ---------------------------------------------------------------- records


# NamedTuples, not dataclasses: this module is imported after every diagnosis
# (the incident history), where importing `dataclasses` would cost more than the write.


class CardRecord(NamedTuple):
    question_id: str
    entry_id: str
    card: Card
    params: dict | None = None


class ReviewRecord(NamedTuple):
    id: int
    question_id: str
    entry_id: str
    rating: Rating
    reviewed_at: datetime
    score: float | None
    present: list[str]
    missing: list[str]
    shown: list[int] | None = None  # a choice question's choices as shown (indexes into the KB's order)
    state_before: int | None = None  # fsrs State of the card before this review; None: its first review


class IncidentSummary(NamedTuple):
    id: int
    created_at: datetime
    command: str
    source: str  # "capture" | "text"
    entry_ids: list[str]


class IncidentRecord(NamedTuple):
    """An IncidentSummary's fields, then what was diagnosed."""

    id: int
    created_at: datetime
    command: str
    source: str  # "capture" | "text"
    entry_ids: list[str]
    report: dict | None = None
    probes: dict | None = None
    log: str | None = None  # what the run printed (its tail) or the pasted text, tokens redacted


class ImportSummary(NamedTuple):
    cards_added: int = 0
    cards_updated: int = 0
    cards_kept: int = 0
    reviews_added: int = 0
    incidents_added: int = 0
    warnings: tuple[str, ...] = ()


# ---------------------------------------------------------------- helpers


def _fsrs():
    """fsrs, imported when a card is read or written: recording an incident after a diagnosis needs none of it."""
    import fsrs

    return fsrs


def utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("datetimes passed to the progress store must be timezone-aware")
    return moment.astimezone(timezone.utc)


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def _load(text: str | None) -> Any:
    if text is None:
        return None
    return json.loads(text)


def _classify(error: sqlite3.Error, path: Path) -> ProgressDatabaseError:
    message = str(error)
    lowered = message.lower()
    if "locked" in lowered or "busy" in lowered:
        return ProgressLockedError(path)
    if "unable to open" in lowered or "readonly" in lowered or "read-only" in lowered:
        return ProgressDatabaseError(f"cannot open the progress database {path}: {message}", path)
    return ProgressCorruptError(path, message)


# ---------------------------------------------------------------- the store


class ProgressStore:
    """One connection to the progress database. Use as a context manager.

    Safe to share between the threads of one process (a TUI's workers): calls
    are serialised by a lock.  Other processes coordinate through SQLite.
    """

    def __init__(self, path: Path | str | None = None, *, check: bool = True) -> None:
        self.path = Path(path) if path is not None else paths.database_path()
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.RLock()
        self._open(check)

    # -- lifecycle

    def _open(self, check: bool) -> None:
        """Connect, migrate, and (``check``) verify every page first.

        The check reads the whole file, so its cost grows with the history; the
        quiz and the TUI check, recording one incident does not (a damaged file
        still fails that write with a clear error, and the diagnosis is shown).
        """
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not self.path.exists():
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        try:
            conn = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as error:
            raise _classify(error, self.path) from error
        try:
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            if check:
                result = conn.execute("PRAGMA quick_check").fetchone()
                if result is None or result[0] != "ok":
                    raise ProgressCorruptError(self.path, f"integrity check: {result[0] if result else 'no result'}")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._conn = conn
            self._migrate()
            self._merge_journal()
        except sqlite3.Error as error:
            conn.close()
            self._conn = None
            raise _classify(error, self.path) from error
        except DiagnoseError:
            conn.close()
            self._conn = None
            raise

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> ProgressStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ProgressDatabaseError(f"the progress database {self.path} is closed", self.path)
        return self._conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction, taken up front so concurrent writers queue."""
        with self._lock:
            conn = self.conn
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as error:
                raise _classify(error, self.path) from error
            try:
                yield conn
            except sqlite3.Error as error:
                conn.execute("ROLLBACK")
                raise _classify(error, self.path) from error
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                try:
                    conn.execute("COMMIT")
                except sqlite3.Error as error:
                    conn.execute("ROLLBACK")
                    raise _classify(error, self.path) from error

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                yield self.conn
            except sqlite3.Error as error:
                raise _classify(error, self.path) from error

    def schema_version(self) -> int:
        with self._read() as conn:
            return conn.execute("PRAGMA user_version").fetchone()[0]

    def _migrate(self, target: int = SCHEMA_VERSION) -> None:
        with self._write() as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise ProgressTooNewError(self.path, version)
            for number in range(version, target):
                for statement in MIGRATIONS[number]:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version={number + 1}")

    # -- cards and reviews

    def get_card(self, question_id: str) -> CardRecord | None:
        with self._read() as conn:
            row = conn.execute(
                "SELECT question_id, entry_id, card_json, params FROM cards WHERE question_id=?",
                (question_id,),
            ).fetchone()
        return _card_record(row) if row else None

    def cards(self) -> list[CardRecord]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT question_id, entry_id, card_json, params FROM cards ORDER BY due, question_id"
            ).fetchall()
        return [_card_record(row) for row in rows]

    def due_cards(self, now: datetime) -> list[CardRecord]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT question_id, entry_id, card_json, params FROM cards WHERE due <= ? ORDER BY due, question_id",
                (utc(now).timestamp(),),
            ).fetchall()
        return [_card_record(row) for row in rows]

    def apply_review(
        self,
        question_id: str,
        entry_id: str,
        review: Callable[[Card | None], tuple[Card, ReviewLog]],
        *,
        score: float | None = None,
        present: Sequence[str] = (),
        missing: Sequence[str] = (),
        params: Mapping | None = None,
        shown: Sequence[int] | None = None,
    ) -> Card:
        """Read the card, let ``review`` schedule it, write card and log: one transaction.

        Two processes reviewing the same card both count; neither overwrites
        the other with a stale card.
        """
        with self._write() as conn:
            row = conn.execute("SELECT card_json FROM cards WHERE question_id=?", (question_id,)).fetchone()
            card = _fsrs().Card.from_json(row[0]) if row else None
            state_before = int(card.state) if card is not None else None
            new_card, log = review(card)
            conn.execute(
                "INSERT INTO cards(question_id, entry_id, card_json, due, params) VALUES (?,?,?,?,?) "
                "ON CONFLICT(question_id) DO UPDATE SET entry_id=excluded.entry_id, "
                "card_json=excluded.card_json, due=excluded.due, "
                "params=COALESCE(excluded.params, cards.params)",
                (
                    question_id,
                    entry_id,
                    new_card.to_json(),
                    utc(new_card.due).timestamp(),
                    journal.dump_payload(dict(params), "params") if params is not None else None,
                ),
            )
            conn.execute(
                "INSERT INTO reviews(question_id, entry_id, rating, reviewed_at, log_json, score, present, missing, "
                "shown, state_before) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    question_id,
                    entry_id,
                    int(log.rating),
                    utc(log.review_datetime).isoformat(),
                    log.to_json(),
                    score,
                    json.dumps(list(present)),
                    json.dumps(list(missing)),
                    None if shown is None else json.dumps([int(i) for i in shown]),
                    state_before,
                ),
            )
        return new_card

    def reviews(self, question_id: str | None = None) -> list[ReviewRecord]:
        query = (
            "SELECT id, question_id, entry_id, rating, reviewed_at, score, present, missing, shown, state_before "
            "FROM reviews"
        )
        args: tuple = ()
        if question_id is not None:
            query += " WHERE question_id=?"
            args = (question_id,)
        with self._read() as conn:
            rows = conn.execute(query + " ORDER BY reviewed_at, id", args).fetchall()
        return [
            ReviewRecord(
                row[0],
                row[1],
                row[2],
                _fsrs().Rating(row[3]),
                datetime.fromisoformat(row[4]),
                row[5],
                json.loads(row[6] or "[]"),
                json.loads(row[7] or "[]"),
                _load(row[8]),
                row[9],
            )
            for row in rows
        ]

    def _merge_journal(self) -> None:
        """Move the incidents appended since the last open (journal.py) into the table."""
        pending = journal.take_pending(journal.journal_path(self.path))
        for path, items in pending:
            with self._write() as conn:
                conn.executemany(
                    "INSERT OR IGNORE INTO incidents(created_at, command, source, entry_ids, report, probes, log, "
                    "journal_id) VALUES (?,?,?,?,?,?,?,?)",
                    [
                        (
                            item.get("created_at") or now_utc().isoformat(),
                            str(item.get("command", ""))[:4000],
                            item["source"],
                            json.dumps(list(item.get("entry_ids") or [])),
                            item.get("report"),
                            item.get("probes"),
                            item.get("log"),
                            item["journal_id"],
                        )
                        for item in items
                    ],
                )
            journal.done(path)
        if pending:
            with self._write() as conn:  # logs are the bulky part: the newest ones are what a user reopens
                conn.execute(
                    "UPDATE incidents SET log = NULL WHERE log IS NOT NULL AND id NOT IN "
                    "(SELECT id FROM incidents ORDER BY created_at DESC, id DESC LIMIT ?)",
                    (KEEP_LOGS,),
                )

    def reset_progress(self) -> None:
        """Forget cards and reviews (incident history stays)."""
        with self._write() as conn:
            conn.execute("DELETE FROM cards")
            conn.execute("DELETE FROM reviews")

    # -- incidents

    def record_incident(
        self,
        *,
        command: str,
        source: str,
        entry_ids: Sequence[str],
        report: Mapping | None = None,
        probes: Mapping | None = None,
        when: datetime | None = None,
        log: str | None = None,
    ) -> int:
        if source not in ("capture", "text"):
            raise ValueError(f"incident source must be 'capture' or 'text', not {source!r}")
        created = utc(when or now_utc()).isoformat()
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT INTO incidents(created_at, command, source, entry_ids, report, probes, log) "
                "VALUES (?,?,?,?,?,?,?)",
                (
                    created,
                    redact(command)[:4000],
                    source,
                    json.dumps(list(entry_ids)),
                    journal.dump_payload(report, "report"),
                    journal.dump_payload(probes, "probes"),
                    None if log is None else journal.bounded_log(log),
                ),
            )
            assert cursor.lastrowid is not None  # an INSERT sets it
            return cursor.lastrowid

    def list_incidents(self, limit: int | None = 50) -> list[IncidentSummary]:
        """Newest first."""
        query = "SELECT id, created_at, command, source, entry_ids FROM incidents ORDER BY created_at DESC, id DESC"
        args: tuple = ()
        if limit is not None:
            query += " LIMIT ?"
            args = (max(0, int(limit)),)
        with self._read() as conn:
            rows = conn.execute(query, args).fetchall()
        return [
            IncidentSummary(row[0], datetime.fromisoformat(row[1]), row[2], row[3], json.loads(row[4])) for row in rows
        ]

    def get_incident(self, incident_id: int) -> IncidentRecord | None:
        with self._read() as conn:
            row = conn.execute(
                "SELECT id, created_at, command, source, entry_ids, report, probes, log FROM incidents WHERE id=?",
                (int(incident_id),),
            ).fetchone()
        if row is None:
            return None
        return IncidentRecord(
            row[0],
            datetime.fromisoformat(row[1]),
            row[2],
            row[3],
            json.loads(row[4]),
            _load(row[5]),
            _load(row[6]),
            row[7],
        )

    def met_entries(self) -> dict[str, datetime]:
        """Entry id → when it was last diagnosed, most recent first."""
        seen: dict[str, datetime] = {}
        with self._read() as conn:
            rows = conn.execute("SELECT created_at, entry_ids FROM incidents ORDER BY created_at DESC, id DESC")
            for created, entry_ids in rows:
                for entry_id in json.loads(entry_ids):
                    seen.setdefault(entry_id, datetime.fromisoformat(created))
        return seen

    def recent_probes(self, limit: int = 20) -> list[tuple[list[str], dict]]:
        """(entry ids, probes) of the newest incidents that have probes."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT entry_ids, probes FROM incidents WHERE probes IS NOT NULL "
                "ORDER BY created_at DESC, id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [(json.loads(entry_ids), json.loads(probes)) for entry_ids, probes in rows]

    def recent_facts(self, limit: int = 20) -> list[tuple[list[str], dict, str | None]]:
        """(entry ids, probes, exception message) of the newest incidents that have probes or a report."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT entry_ids, probes, report FROM incidents WHERE probes IS NOT NULL OR report IS NOT NULL "
                "ORDER BY created_at DESC, id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        out = []
        for entry_ids, probes, report in rows:
            message = None
            try:
                message = json.loads(report)["incident"]["exception"]["message"] if report else None
            except (KeyError, TypeError, ValueError):
                pass
            out.append((json.loads(entry_ids), _load(probes) or {}, message if isinstance(message, str) else None))
        return out

    # -- export / import

    def export_data(self, *, now: datetime | None = None) -> dict:
        with self._read() as conn:
            cards = conn.execute(
                "SELECT question_id, entry_id, card_json, params FROM cards ORDER BY question_id"
            ).fetchall()
            reviews = conn.execute(
                "SELECT question_id, entry_id, log_json, score, present, missing, shown, state_before FROM reviews "
                "ORDER BY reviewed_at, id"
            ).fetchall()
            incidents = conn.execute(
                "SELECT created_at, command, source, entry_ids, report, probes, log FROM incidents "
                "ORDER BY created_at, id"
            ).fetchall()
        return {
            "format": EXPORT_FORMAT,
            "version": EXPORT_VERSION,
            "exported_at": utc(now or now_utc()).isoformat(),
            "cards": [
                {"question_id": q, "entry_id": e, "card": json.loads(c), "params": _load(p)} for q, e, c, p in cards
            ],
            "reviews": [
                {
                    "question_id": q,
                    "entry_id": e,
                    "log": json.loads(log),
                    "score": s,
                    "present": json.loads(pr or "[]"),
                    "missing": json.loads(mi or "[]"),
                    "shown": _load(sh),
                    "state_before": sb,
                }
                for q, e, log, s, pr, mi, sh, sb in reviews
            ],
            "incidents": [
                {
                    "created_at": c,
                    "command": cmd,
                    "source": src,
                    "entry_ids": json.loads(ids),
                    "report": _load(rep),
                    "probes": _load(pro),
                    "log": log,
                }
                for c, cmd, src, ids, rep, pro, log in incidents
            ],
        }

    def import_data(self, data: Any) -> ImportSummary:
        """Merge an export: a card is replaced only by a more recently reviewed one;
        reviews and incidents already present are not duplicated."""
        _check_export(data)
        added = updated = kept = reviews_added = incidents_added = 0
        warnings: list[str] = []
        with self._write() as conn:
            for item in data.get("cards", []):
                try:
                    question_id, entry_id = str(item["question_id"]), str(item["entry_id"])
                    card = _fsrs().Card.from_dict(item["card"])
                except (KeyError, TypeError, ValueError) as error:
                    warnings.append(f"skipped a card that could not be read: {error!r}")
                    continue
                row = conn.execute("SELECT card_json FROM cards WHERE question_id=?", (question_id,)).fetchone()
                params = item.get("params")
                values = (
                    entry_id,
                    card.to_json(),
                    utc(card.due).timestamp(),
                    json.dumps(params) if params is not None else None,
                    question_id,
                )
                if row is None:
                    conn.execute(
                        "INSERT INTO cards(entry_id, card_json, due, params, question_id) VALUES (?,?,?,?,?)", values
                    )
                    added += 1
                elif _newer(card, _fsrs().Card.from_json(row[0])):
                    conn.execute(
                        "UPDATE cards SET entry_id=?, card_json=?, due=?, params=? WHERE question_id=?", values
                    )
                    updated += 1
                else:
                    kept += 1
            for item in data.get("reviews", []):
                try:
                    log = _fsrs().ReviewLog.from_dict(item["log"])
                    question_id, entry_id = str(item["question_id"]), str(item["entry_id"])
                    at = utc(log.review_datetime).isoformat()
                except (KeyError, TypeError, ValueError) as error:
                    warnings.append(f"skipped a review that could not be read: {error!r}")
                    continue
                exists = conn.execute(
                    "SELECT 1 FROM reviews WHERE question_id=? AND reviewed_at=? AND rating=?",
                    (question_id, at, int(log.rating)),
                ).fetchone()
                if exists:
                    continue
                shown, state_before = item.get("shown"), item.get("state_before")
                conn.execute(
                    "INSERT INTO reviews(question_id, entry_id, rating, reviewed_at, log_json, score, present, missing, "
                    "shown, state_before) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (
                        question_id,
                        entry_id,
                        int(log.rating),
                        at,
                        log.to_json(),
                        item.get("score"),
                        json.dumps(list(item.get("present") or [])),
                        json.dumps(list(item.get("missing") or [])),
                        json.dumps([int(i) for i in shown]) if isinstance(shown, list) else None,
                        state_before if isinstance(state_before, int) else None,
                    ),
                )
                reviews_added += 1
            for item in data.get("incidents", []):
                try:
                    created = utc(datetime.fromisoformat(item["created_at"])).isoformat()
                    command, source = str(item["command"]), str(item["source"])
                    entry_ids = [str(e) for e in item["entry_ids"]]
                except (KeyError, TypeError, ValueError) as error:
                    warnings.append(f"skipped an incident that could not be read: {error!r}")
                    continue
                exists = conn.execute(
                    "SELECT 1 FROM incidents WHERE created_at=? AND command=?", (created, redact(command)[:4000])
                ).fetchone()
                if exists:
                    continue
                log = item.get("log")
                conn.execute(
                    "INSERT INTO incidents(created_at, command, source, entry_ids, report, probes, log) "
                    "VALUES (?,?,?,?,?,?,?)",
                    (
                        created,
                        redact(command)[:4000],
                        source,
                        json.dumps(entry_ids),
                        journal.dump_payload(item.get("report"), "report"),
                        journal.dump_payload(item.get("probes"), "probes"),
                        journal.bounded_log(log) if isinstance(log, str) else None,
                    ),
                )
                incidents_added += 1
        return ImportSummary(added, updated, kept, reviews_added, incidents_added, tuple(warnings))


def _card_record(row: tuple) -> CardRecord:
    return CardRecord(row[0], row[1], _fsrs().Card.from_json(row[2]), _load(row[3]))


def _newer(candidate: Card, current: Card) -> bool:
    if candidate.last_review is None:
        return False
    if current.last_review is None:
        return True
    return candidate.last_review > current.last_review


class ExportFormatError(DiagnoseError):
    exit_code = 2


def _check_export(data: Any) -> None:
    if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
        raise ExportFormatError('not a lora-diagnose progress export (no "format": "lora-diagnose-progress")')
    if data.get("version") != EXPORT_VERSION:
        raise ExportFormatError(
            f"progress export version {data.get('version')!r} is not supported "
            f"(this lora-diagnose reads version {EXPORT_VERSION})"
        )
    for key in ("cards", "reviews", "incidents"):
        if not isinstance(data.get(key, []), list):
            raise ExportFormatError(f"progress export: {key!r} must be a list")


# ---------------------------------------------------------------- module-level API


def open_store(path: Path | str | None = None) -> ProgressStore:
    return ProgressStore(path)


def record_incident(
    *,
    command: str,
    source: str,
    entry_ids: Sequence[str],
    report: Mapping | None = None,
    probes: Mapping | None = None,
    when: datetime | None = None,
    path: Path | str | None = None,
    log: str | None = None,
) -> int:
    """Add one diagnosed incident to the history; returns its id."""
    with ProgressStore(path, check=False) as store:
        return store.record_incident(
            command=command, source=source, entry_ids=entry_ids, report=report, probes=probes, when=when, log=log
        )


def list_incidents(limit: int | None = 50, *, path: Path | str | None = None) -> list[IncidentSummary]:
    with ProgressStore(path) as store:
        return store.list_incidents(limit)


def get_incident(incident_id: int, *, path: Path | str | None = None) -> IncidentRecord | None:
    with ProgressStore(path) as store:
        return store.get_incident(incident_id)


def backup_and_recreate(path: Path | str | None = None, *, now: datetime | None = None) -> Path:
    """Move the database (and its WAL files) aside and create a fresh one.

    Returns the backup path; nothing is deleted.
    """
    db = Path(path) if path is not None else paths.database_path()
    stamp = utc(now or now_utc()).strftime("%Y%m%d-%H%M%S")
    backup = db.with_name(f"{db.name}.broken-{stamp}")
    n = 1
    while backup.exists():
        backup = db.with_name(f"{db.name}.broken-{stamp}-{n}")
        n += 1
    if db.exists():
        db.rename(backup)
    for suffix in ("-wal", "-shm"):
        side = db.with_name(db.name + suffix)
        if side.exists():
            side.rename(backup.with_name(backup.name + suffix))
    ProgressStore(db).close()
    return backup
