"""The incident journal: run/explain append a line, the progress store takes the lines in when it opens."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
import threading
from pathlib import Path

from diagnose import paths
from diagnose.quiz import journal
from diagnose.quiz.store import MIGRATIONS, SCHEMA_VERSION, ProgressStore, get_incident, list_incidents

REPO = Path(__file__).resolve().parent.parent
PASTE = REPO / "tests" / "data" / "outputs" / "peft-target-modules-not-found" / "01.txt"


def _append(path: Path, command: str = "python train.py", **extra) -> None:
    journal.append_incident(
        path,
        command=command,
        source=extra.pop("source", "text"),
        entry_ids=extra.pop("entry_ids", ["cuda-out-of-memory"]),
        report_json=extra.pop("report_json", json.dumps({"schema": 1})),
        probes=extra.pop("probes", {}),
        log=extra.pop("log", None),
    )


def test_explain_appends_and_the_store_takes_it_in(_user_dir):
    done = subprocess.run(
        [sys.executable, "-m", "diagnose.cli", "explain", "--json", str(PASTE)],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    pending = journal.journal_path(paths.database_path())
    assert pending.exists() and stat.S_IMODE(pending.stat().st_mode) == 0o600
    [summary] = list_incidents()  # opening the store merges the journal
    assert summary.entry_ids == ["peft-target-modules-not-found"] and summary.source == "text"
    assert summary.command.startswith("explain ")
    record = get_incident(summary.id)
    assert record.report == json.loads(done.stdout)
    assert not pending.exists() and not list(pending.parent.glob("*.merging"))


def test_merging_twice_never_doubles_an_incident(tmp_path):
    database = tmp_path / "progress.sqlite3"
    pending = journal.journal_path(database)
    _append(pending, "first")
    _append(pending, "second")
    copy = pending.read_bytes()
    with ProgressStore(database) as store:
        assert [i.command for i in store.list_incidents()] == ["second", "first"]
    # A merge that stopped after its commit but before removing its file: the same lines come back.
    pending.with_name(pending.name + ".123-456" + journal.MERGING_SUFFIX).write_bytes(copy)
    with ProgressStore(database) as store:
        assert [i.command for i in store.list_incidents()] == ["second", "first"]
    assert not list(tmp_path.glob("*.merging"))


def test_a_line_cut_by_a_crash_is_skipped_and_the_rest_kept(tmp_path):
    database = tmp_path / "progress.sqlite3"
    pending = journal.journal_path(database)
    _append(pending, "kept")
    with open(pending, "ab") as handle:
        handle.write(b'{"journal_id": "x", "source": "te')  # no end: the process died mid-write
    with ProgressStore(database) as store:
        assert [i.command for i in store.list_incidents()] == ["kept"]


def test_tokens_never_reach_the_journal(tmp_path):
    pending = tmp_path / "j.jsonl"
    secret = "hf_" + "a" * 30
    _append(
        pending,
        f"HF_TOKEN={secret} python train.py --token {secret}",
        report_json=json.dumps({"message": f"401 for {secret}"}),
        probes={"env": f"token {secret}"},
    )
    text = pending.read_text()
    assert secret not in text and "***" in text


def test_concurrent_writers_and_a_merger_lose_nothing(tmp_path):
    """Writers appending while the store merges: every incident ends up in the table exactly once."""
    database = tmp_path / "progress.sqlite3"
    pending = journal.journal_path(database)
    per_writer, writers = 40, 4

    def write(name: str) -> None:
        for i in range(per_writer):
            _append(pending, f"{name} {i}")

    threads = [threading.Thread(target=write, args=(f"w{n}",)) for n in range(writers)]
    for thread in threads:
        thread.start()
    merged_while_writing = 0
    while any(t.is_alive() for t in threads):
        with ProgressStore(database) as store:
            merged_while_writing = len(store.list_incidents(limit=None))
    for thread in threads:
        thread.join()
    with ProgressStore(database) as store:
        commands = [i.command for i in store.list_incidents(limit=None)]
    assert sorted(commands) == sorted(f"w{n} {i}" for n in range(writers) for i in range(per_writer))
    assert merged_while_writing <= len(commands)


def test_a_version_2_database_upgrades_and_takes_the_journal(tmp_path):
    database = tmp_path / "progress.sqlite3"
    conn = sqlite3.connect(database)
    for statements in MIGRATIONS[:2]:
        for statement in statements:
            conn.execute(statement)
    conn.execute(
        "INSERT INTO incidents(created_at, command, source, entry_ids) VALUES (?,?,?,?)",
        ("2026-01-01T00:00:00+00:00", "old", "capture", "[]"),
    )
    conn.execute("PRAGMA user_version=2")
    conn.commit()
    conn.close()
    _append(journal.journal_path(database), "new")
    with ProgressStore(database) as store:
        assert store.schema_version() == SCHEMA_VERSION == 5
        assert [i.command for i in store.list_incidents()] == ["new", "old"]


def test_an_unwritable_history_is_a_warning_not_a_failure(tmp_path, monkeypatch):
    user = tmp_path / "user"
    user.mkdir()
    (user / "progress.incidents.jsonl").mkdir()  # a folder where the journal should be: every append fails
    env = dict(os.environ, DIAGNOSE_USER_DIR=str(user))
    done = subprocess.run(
        [sys.executable, "-m", "diagnose.cli", "explain", str(PASTE)], capture_output=True, text=True, env=env, cwd=REPO
    )
    assert done.returncode == 0
    assert "warning: incident not saved to history" in done.stderr
    assert "target_modules names no layer of this model" in done.stderr


def test_the_history_keeps_the_log_without_tokens(_user_dir):
    secret = "hf_" + "b" * 34
    paste = PASTE.read_text() + f"\nrun with HF_TOKEN={secret}\n"
    done = subprocess.run(
        [sys.executable, "-m", "diagnose.cli", "explain", "--json", "-"],
        input=paste,
        capture_output=True,
        text=True,
        env=dict(os.environ),
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    [summary] = list_incidents()
    log = get_incident(summary.id).log
    assert "not found in the base model" in log and secret not in log and "HF_TOKEN=***" in log


def test_a_huge_log_keeps_its_end(tmp_path):
    database = tmp_path / "progress.sqlite3"
    _append(journal.journal_path(database), log="x" * (journal.MAX_LOG_CHARS * 2) + "THE ERROR")
    with ProgressStore(database) as store:
        [summary] = store.list_incidents()
        log = store.get_incident(summary.id).log
    assert len(log) == journal.MAX_LOG_CHARS and log.endswith("THE ERROR")


def test_only_the_newest_logs_are_kept(tmp_path, monkeypatch):
    from diagnose.quiz import store as store_module

    monkeypatch.setattr(store_module, "KEEP_LOGS", 3)
    database = tmp_path / "progress.sqlite3"
    for i in range(5):
        _append(journal.journal_path(database), f"run {i}", log=f"log of run {i}")
    with ProgressStore(database) as store:
        logs = {i.command: store.get_incident(i.id).log for i in store.list_incidents()}
        reports = [store.get_incident(i.id).report for i in store.list_incidents()]
    assert logs == {
        "run 4": "log of run 4",
        "run 3": "log of run 3",
        "run 2": "log of run 2",
        "run 1": None,
        "run 0": None,
    }
    assert all(reports)  # the diagnosis itself stays


def test_a_big_journal_is_taken_in_by_the_next_diagnosis(_user_dir, monkeypatch):
    monkeypatch.setattr(journal, "MERGE_AT_BYTES", 1)
    from diagnose.engine import explain_text
    from diagnose.kb.loader import load_kb
    from diagnose.workflow import record_history

    report = explain_text(PASTE.read_text(), load_kb(use_env=False))
    assert record_history(report, ["explain", "paste.txt"]) is None
    assert not journal.journal_path(paths.database_path()).exists()
    with sqlite3.connect(paths.database_path()) as conn:
        assert conn.execute("SELECT command FROM incidents").fetchall() == [("explain paste.txt",)]


def test_a_token_cut_by_the_log_bound_does_not_survive_in_part():
    secret = "hf_" + "Q" * 40
    text = "x" * 10 + secret + "y" * (journal.MAX_LOG_CHARS - 20)  # the cut falls inside the token
    kept = journal.bounded_log(text)
    assert len(kept) <= journal.MAX_LOG_CHARS and "QQQQQQQQ" not in kept
