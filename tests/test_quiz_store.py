"""The progress database: migrations, two writers, damage, export/import, incident history."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from fsrs import Card, Rating
from quiz_support import T0, entries, lora_probes

from diagnose import paths
from diagnose.errors import DiagnoseError
from diagnose.quiz import journal as journal_module
from diagnose.quiz import store as store_module
from diagnose.quiz.scheduler import QuizScheduler
from diagnose.quiz.session import QuizEngine
from diagnose.quiz.store import (
    MIGRATIONS,
    SCHEMA_VERSION,
    ExportFormatError,
    ProgressCorruptError,
    ProgressLockedError,
    ProgressStore,
    ProgressTooNewError,
    backup_and_recreate,
    get_incident,
    list_incidents,
    record_incident,
)

REPO = Path(__file__).resolve().parent.parent


def _v1_database(path: Path) -> None:
    """A database exactly as the first schema version left it, with some progress in it."""
    conn = sqlite3.connect(path)
    for statement in MIGRATIONS[0]:
        conn.execute(statement)
    card = Card(card_id=7, due=T0 + timedelta(days=3), last_review=T0, stability=3.0, difficulty=5.0)
    conn.execute(
        "INSERT INTO cards VALUES (?,?,?,?)",
        ("lora-memory-savings", "cuda-out-of-memory", card.to_json(), card.due.timestamp()),
    )
    conn.execute(
        "INSERT INTO reviews(question_id, entry_id, rating, reviewed_at, log_json) VALUES (?,?,?,?,?)",
        (
            "lora-memory-savings",
            "cuda-out-of-memory",
            3,
            T0.isoformat(),
            json.dumps({"card_id": 7, "rating": 3, "review_datetime": T0.isoformat(), "review_duration": None}),
        ),
    )
    conn.execute(
        "INSERT INTO incidents(created_at, command, source, entry_ids, report) VALUES (?,?,?,?,?)",
        (T0.isoformat(), "python train.py", "capture", '["cuda-out-of-memory"]', '{"schema": 1}'),
    )
    conn.execute("PRAGMA user_version=1")
    conn.commit()
    conn.close()


def test_default_location_follows_diagnose_user_dir(_user_dir):
    with ProgressStore() as store:
        assert store.path == paths.database_path()
        assert store.path.parent == _user_dir
    assert stat.S_IMODE(os.stat(paths.database_path()).st_mode) == 0o600


def test_fresh_database_has_current_schema_and_wal(tmp_path):
    with ProgressStore(tmp_path / "p.sqlite3") as store:
        assert store.schema_version() == SCHEMA_VERSION
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.conn.execute("PRAGMA busy_timeout").fetchone()[0] == store_module.BUSY_TIMEOUT_MS


def test_migrates_a_v1_database_keeping_progress(tmp_path):
    path = tmp_path / "old.sqlite3"
    _v1_database(path)
    with ProgressStore(path) as store:
        assert store.schema_version() == SCHEMA_VERSION
        record = store.get_card("lora-memory-savings")
        assert record.card.card_id == 7 and record.card.due == T0 + timedelta(days=3) and record.params is None
        [review] = store.reviews()
        assert review.rating == Rating.Good and review.present == [] and review.score is None
        [incident] = store.list_incidents()
        assert incident.entry_ids == ["cuda-out-of-memory"]
        assert store.get_incident(incident.id).report == {"schema": 1}
        assert store.get_incident(incident.id).probes is None
        # and the migrated file works like a new one
        engine = QuizEngine(entries(), store, QuizScheduler(enable_fuzzing=False))
        item = engine.item("lora-memory-savings", T0 + timedelta(days=3))
        engine.answer(item, "gradients", T0 + timedelta(days=3))
        assert len(store.reviews()) == 2
    with ProgressStore(path) as store:  # opening again does not migrate twice
        assert store.schema_version() == SCHEMA_VERSION


def test_database_from_a_newer_version_is_refused(tmp_path):
    path = tmp_path / "new.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 5}")
    conn.close()
    with pytest.raises(ProgressTooNewError, match="newer"):
        ProgressStore(path)


@pytest.mark.parametrize("garbage", [b"this is not sqlite at all" * 100, b"SQLite format 3\x00" + b"\xff" * 4000])
def test_corrupt_database_gives_a_clear_error_and_can_be_moved_aside(tmp_path, garbage):
    path = tmp_path / "p.sqlite3"
    path.write_bytes(garbage)
    with pytest.raises(ProgressCorruptError) as caught:
        ProgressStore(path)
    message = str(caught.value)
    assert isinstance(caught.value, DiagnoseError)
    assert str(path) in message and "damaged" in message and "--recover" in message
    assert "\n" not in message
    assert path.read_bytes() == garbage  # nothing dropped

    backup = backup_and_recreate(path, now=T0)
    assert backup.read_bytes() == garbage
    assert backup.name == "p.sqlite3.broken-20250301-090000"
    with ProgressStore(path) as store:
        assert store.cards() == []
    assert backup_and_recreate(path, now=T0).name.endswith("-1")  # a second backup never overwrites


def test_locked_database_gives_a_clear_error(tmp_path, monkeypatch):
    path = tmp_path / "p.sqlite3"
    ProgressStore(path).close()
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_MS", 200)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(ProgressLockedError, match="locked by another process"):
            with ProgressStore(path) as store:
                store.record_incident(command="x", source="text", entry_ids=[])
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with ProgressStore(path) as store:  # usable again once the other process lets go
        store.record_incident(command="x", source="text", entry_ids=[])


WRITER = textwrap.dedent("""
    import sys
    from datetime import datetime, timedelta, timezone
    sys.path.insert(0, sys.argv[3])
    from diagnose.quiz.scheduler import QuizScheduler
    from diagnose.quiz.store import ProgressStore
    path, name = sys.argv[1], sys.argv[2]
    scheduler = QuizScheduler(enable_fuzzing=False)
    t0 = datetime(2025, 3, 1, tzinfo=timezone.utc)
    for i in range(40):
        now = t0 + timedelta(seconds=i)
        with ProgressStore(path) as store:
            store.apply_review("shared-question", "cuda-out-of-memory",
                               lambda card: scheduler.review(card or scheduler.new_card("q", now), 3, now),
                               score=1.0, present=[name])
            store.record_incident(command=f"{name} {i}", source="capture", entry_ids=["cuda-out-of-memory"])
""")


def test_two_processes_writing_at_once_lose_nothing(tmp_path):
    path = tmp_path / "p.sqlite3"
    ProgressStore(path).close()
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(path), name, str(REPO)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for name in ("tui", "cli")
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    with ProgressStore(path) as store:
        reviews = store.reviews("shared-question")
        assert len(reviews) == 80
        assert sorted(r.present[0] for r in reviews).count("tui") == 40
        assert len(store.list_incidents(None)) == 80
        assert {i.command.split()[0] for i in store.list_incidents(None)} == {"tui", "cli"}
        assert store.get_card("shared-question").card.last_review is not None
        assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_incident_history(tmp_path):
    path = tmp_path / "p.sqlite3"
    first = record_incident(
        command="python train.py --lr 1e-4",
        source="capture",
        entry_ids=["peft-target-modules-not-found"],
        report={"schema": 1, "diagnoses": []},
        probes=lora_probes(),
        when=T0,
        path=path,
    )
    second = record_incident(
        command="diagnose explain paste.txt", source="text", entry_ids=[], when=T0 + timedelta(hours=1), path=path
    )
    listed = list_incidents(10, path=path)
    assert [i.id for i in listed] == [second, first]  # newest first
    assert listed[1].source == "capture" and listed[1].created_at == T0
    record = get_incident(first, path=path)
    assert record.report == {"schema": 1, "diagnoses": []}
    assert record.probes == lora_probes()
    assert get_incident(999, path=path) is None
    assert list_incidents(1, path=path)[0].id == second
    with pytest.raises(ValueError):
        record_incident(command="x", source="guess", entry_ids=[], path=path)


def test_incident_history_never_stores_tokens_and_bounds_size(tmp_path):
    with ProgressStore(tmp_path / "p.sqlite3") as store:
        incident = store.record_incident(
            command="HF_TOKEN=hf_abcdefghijklmnopqrstuvwxyz python train.py --token hf_ZYXWVUTSRQPONMLKJIH",
            source="capture",
            entry_ids=["hub-gated-repo"],
            report={"message": "401 for token hf_abcdefghijklmnopqrst"},
            probes={"huge": "x" * (journal_module.MAX_PAYLOAD_BYTES + 10)},
        )
        record = store.get_incident(incident)
        dumped = json.dumps([record.command, record.report, record.probes])
        assert "hf_abc" not in dumped and "hf_ZYX" not in dumped
        assert "python train.py" in record.command
        assert record.probes == {"omitted": f"probes larger than {journal_module.MAX_PAYLOAD_BYTES} bytes"}


def _populate(store: ProgressStore) -> None:
    engine = QuizEngine(entries(), store, QuizScheduler(enable_fuzzing=False))
    store.record_incident(
        command="python train.py", source="capture", entry_ids=["cuda-out-of-memory"], probes=lora_probes(), when=T0
    )
    for item in engine.pick(T0):
        engine.answer(item, "gradients 0.5 2", T0)


def test_export_import_round_trip(tmp_path):
    with ProgressStore(tmp_path / "a.sqlite3") as source:
        _populate(source)
        exported = source.export_data(now=T0)
    assert exported["format"] == "lora-diagnose-progress" and len(exported["cards"]) == 3
    text = json.dumps(exported)
    with ProgressStore(tmp_path / "b.sqlite3") as target:
        summary = target.import_data(json.loads(text))
        assert (summary.cards_added, summary.reviews_added, summary.incidents_added) == (3, 3, 1)
        assert target.export_data(now=T0) == exported
        again = target.import_data(json.loads(text))  # idempotent
        assert (again.cards_added, again.cards_updated, again.reviews_added, again.incidents_added) == (0, 0, 0, 0)
        assert again.cards_kept == 3
        assert target.export_data(now=T0) == exported


def test_import_keeps_the_more_recently_reviewed_card(tmp_path):
    with ProgressStore(tmp_path / "a.sqlite3") as store:
        _populate(store)
        old = store.export_data(now=T0)
        engine = QuizEngine(entries(), store, QuizScheduler(enable_fuzzing=False))
        later = T0 + timedelta(hours=1)
        item = engine.item("lora-memory-savings", later)
        engine.answer(item, "", later)
        newer_due = store.get_card("lora-memory-savings").card.due
        summary = store.import_data(old)
        assert summary.cards_updated == 0
        assert store.get_card("lora-memory-savings").card.due == newer_due


@pytest.mark.parametrize(
    "data",
    [
        [],
        {"format": "other"},
        {"format": "lora-diagnose-progress", "version": 99},
        {"format": "lora-diagnose-progress", "version": 1, "cards": {}},
    ],
)
def test_import_rejects_foreign_files(tmp_path, data):
    with ProgressStore(tmp_path / "p.sqlite3") as store, pytest.raises(ExportFormatError):
        store.import_data(data)


def test_import_skips_unreadable_items_with_warnings(tmp_path):
    data = {
        "format": "lora-diagnose-progress",
        "version": 1,
        "cards": [{"question_id": "q"}],
        "reviews": [{"log": {}}],
        "incidents": [{"created_at": "nope"}],
    }
    with ProgressStore(tmp_path / "p.sqlite3") as store:
        summary = store.import_data(data)
        assert len(summary.warnings) == 3 and store.cards() == []


def test_reset_forgets_progress_but_keeps_history(tmp_path):
    with ProgressStore(tmp_path / "p.sqlite3") as store:
        _populate(store)
        store.reset_progress()
        assert store.cards() == [] and store.reviews() == []
        assert len(store.list_incidents()) == 1


def test_one_store_shared_by_threads(tmp_path):
    """A TUI opens the store once and uses it from worker threads."""
    import threading

    errors = []
    with ProgressStore(tmp_path / "p.sqlite3") as store:

        def work(n):
            try:
                for i in range(20):
                    store.record_incident(command=f"t{n} {i}", source="text", entry_ids=[])
                    store.list_incidents(5)
            except Exception as error:  # noqa: BLE001 - collected and asserted below
                errors.append(error)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == [] and len(store.list_incidents(None)) == 80
