"""`diagnose quiz` end to end (real KB loader, real SQLite) and the offer after a diagnosis."""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from fsrs import Rating
from quiz_support import T0, entries, lora_probes, recorded_run, write_kb
from rich.console import Console

from diagnose import paths
from diagnose.errors import DiagnoseError, UsageError
from diagnose.quiz import command
from diagnose.quiz.params import SCALING_ID
from diagnose.quiz.scheduler import QuizScheduler
from diagnose.quiz.store import ProgressCorruptError, ProgressStore, record_incident

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def kb_dir(tmp_path):
    return write_kb(tmp_path / "kb")


@pytest.fixture(autouse=True)
def no_terminal(monkeypatch):
    monkeypatch.setattr(command, "_interactive", lambda: False)


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="diagnose quiz")
    command.add_arguments(parser)
    return parser.parse_args(list(argv))


def console() -> Console:
    return Console(file=io.StringIO(), width=120, color_system=None)


def text_of(con: Console) -> str:
    return con.file.getvalue()


def scripted(*replies):
    """An `ask` that replays replies; an exception instance is raised instead."""
    queue = list(replies)
    prompts = []

    def ask(prompt: str) -> str:
        prompts.append(prompt)
        reply = queue.pop(0)
        if isinstance(reply, BaseException):
            raise reply
        return reply

    ask.prompts = prompts
    return ask


def met(*entry_ids, probes=None):
    record_incident(command="python train.py", source="capture", entry_ids=list(entry_ids), probes=probes, when=T0)


def test_without_a_terminal_it_explains_json_mode(kb_dir):
    met("cuda-out-of-memory")
    with pytest.raises(UsageError) as caught:
        command.run(parse("--kb", str(kb_dir)))
    assert "--json" in str(caught.value) and "--answer" in str(caught.value)
    assert caught.value.exit_code == 2


def test_json_mode_lists_then_answers(kb_dir, capsys):
    met("cuda-out-of-memory", probes=lora_probes(r=8, lora_alpha=16))
    assert command.run(parse("--kb", str(kb_dir), "--json")) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [q["id"] for q in listed["questions"]] == ["lora-memory-savings", "rank-halving-scaling", SCALING_ID]
    assert listed["questions"][2]["parameterised"] and "r=8" in listed["questions"][2]["question"]

    assert command.run(parse("--kb", str(kb_dir), "--json", "--answer", SCALING_ID, "2x")) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["correct"] and result["rating"] == "good" and result["present"] == ["2"]
    assert (
        command.run(
            parse("--kb", str(kb_dir), "--json", "--answer", "rank-halving-scaling", "no idea", "--rating", "hard")
        )
        == 0
    )
    result = json.loads(capsys.readouterr().out)
    assert not result["correct"] and result["suggested_rating"] == "again" and result["rating"] == "hard"
    assert "halves" in result["model_answer"]

    assert command.run(parse("--kb", str(kb_dir), "--json")) == 0
    assert [q["id"] for q in json.loads(capsys.readouterr().out)["questions"]] == ["lora-memory-savings"]
    with pytest.raises(UsageError, match="no question 'nope'"):
        command.run(parse("--kb", str(kb_dir), "--answer", "nope", "x"))
    with pytest.raises(UsageError, match="--rating goes with --answer"):
        command.run(parse("--kb", str(kb_dir), "--rating", "easy"))


def test_answer_from_stdin(kb_dir, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("it halves " + "x" * 1_500_000))
    assert command.run(parse("--kb", str(kb_dir), "--json", "--answer", "rank-halving-scaling", "-")) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["correct"] and result["truncated"]


def test_interactive_session(kb_dir):
    met("cuda-out-of-memory")
    con = console()
    ask = scripted("gradients and optimizer state", "", "half", "easy")
    assert command.run(parse("--kb", str(kb_dir)), ask=ask, console=con, now=lambda: T0) == 0
    out = text_of(con)
    assert "Partly right (50%)" in out
    assert "missing: frozen weights, activations" in out
    assert "Done: 1 of 2 right the first time." in out
    assert "Mastery CUDA ran out of memory: 0/2 stable, 2 learning" in out
    with ProgressStore() as store:
        ratings = {r.question_id: r.rating.name for r in store.reviews()}
    assert ratings == {"lora-memory-savings": "Hard", "rank-halving-scaling": "Easy"}


def test_an_again_answer_is_asked_again_before_the_session_ends(kb_dir):
    met("cuda-out-of-memory")
    con = console()
    # wrong, Enter takes the suggested Again; right; then the wrong one comes back and is answered right
    ask = scripted(
        "it uses less disk",
        "",
        "half",
        "",
        "optimizer state and gradients shrink; frozen weights and activations stay",
        "",
    )
    assert command.run(parse("--kb", str(kb_dir)), ask=ask, console=con, now=lambda: T0) == 0
    out = text_of(con)
    assert "back again before this session ends" in out and "again ·" in out
    with ProgressStore() as store:
        ratings = [(r.question_id, r.rating.name) for r in store.reviews()]
    assert ratings == [
        ("lora-memory-savings", "Again"),
        ("rank-halving-scaling", "Good"),
        ("lora-memory-savings", "Good"),
    ]


def test_a_hint_suggests_hard(kb_dir):
    met("peft-target-modules-not-found")
    con = console()
    ask = scripted(
        "?", "GPT-2 fuses q, k and v into c_attn, so target c_attn; see the module names with named_modules()", ""
    )
    command.run(parse("--kb", str(kb_dir), "--limit", "1"), ask=ask, console=con, now=lambda: T0)
    assert "hint used" in text_of(con)
    with ProgressStore() as store:
        assert [r.rating.name for r in store.reviews()] == ["Hard"]


def test_hint_and_invalid_rating(kb_dir):
    met("peft-target-modules-not-found")
    con = console()
    ask = scripted("?", "c_attn, see named_modules for the module names", "superb", "good", KeyboardInterrupt())
    assert command.run(parse("--kb", str(kb_dir)), ask=ask, console=con, now=lambda: T0) == 130
    out = text_of(con)
    assert "Hint: Look at the names GPT-2 gives" in out
    assert "unknown rating 'superb'" in out
    assert "Right." in out and "1 answer saved" in out


def test_ctrl_c_mid_quiz_keeps_the_answers_so_far(kb_dir):
    met("cuda-out-of-memory")
    ask = scripted("optimizer state, gradients, frozen weights, activations", "", KeyboardInterrupt())
    assert command.run(parse("--kb", str(kb_dir)), ask=ask, console=console(), now=lambda: T0) == 130
    with ProgressStore() as store:
        assert [r.question_id for r in store.reviews()] == ["lora-memory-savings"]
    # Ctrl-C at the rating prompt: the answer counts with the suggested rating
    ask = scripted("half", EOFError())
    assert command.run(parse("--kb", str(kb_dir)), ask=ask, console=console(), now=lambda: T0) == 130
    with ProgressStore() as store:
        assert store.reviews("rank-halving-scaling")[0].rating.name == "Good"


def test_nothing_to_ask(kb_dir):
    con = console()
    assert command.run(parse("--kb", str(kb_dir)), ask=scripted(), console=con, now=lambda: T0) == 0
    assert "No diagnosed errors in your history yet" in text_of(con)
    met("pad-token-missing")
    con = console()
    assert command.run(parse("--kb", str(kb_dir)), ask=scripted(), console=con, now=lambda: T0) == 0
    assert "Nothing due now." in text_of(con)


def test_stats(kb_dir, capsys):
    met("cuda-out-of-memory")
    command.run(parse("--kb", str(kb_dir), "--answer", "lora-memory-savings", "gradients"), console=console())
    assert command.run(parse("--kb", str(kb_dir), "--stats", "--json")) == 0
    stats = json.loads(capsys.readouterr().out)
    # one first answer: no review-stage answers yet, so no retention and no predicted recall
    assert stats["reviews"] == 1 and stats["retention"] is None and stats["predicted_recall"] is None
    assert stats["new_available"] == 1 and stats["due_today"] == 1 and stats["streak_days"] == 1
    assert {c["concept"] for c in stats["weakest_concepts"]} == {"optimizer state", "frozen weights", "activations"}
    con = console()
    assert command.run(parse("--kb", str(kb_dir), "--stats"), console=con) == 0
    assert "Weakest concepts" in text_of(con) and "Retention" in text_of(con)


def test_orphans_are_reported_not_crashed_on(kb_dir, capsys):
    scheduler = QuizScheduler()
    with ProgressStore() as store:  # progress on a question that has since left the KB
        store.apply_review(
            "removed-question",
            "old-entry",
            lambda card: scheduler.review(scheduler.new_card("removed-question", T0), Rating.Good, T0),
        )
    met("cuda-out-of-memory")
    assert command.run(parse("--kb", str(kb_dir), "--json")) == 0
    assert "removed-question" not in capsys.readouterr().out
    con = console()
    command.run(parse("--kb", str(kb_dir), "--stats"), console=con)
    assert "removed-question (entry old-entry)" in text_of(con)


def test_export_import_reset(kb_dir, tmp_path, capsys):
    met("cuda-out-of-memory")
    command.run(parse("--kb", str(kb_dir), "--answer", "rank-halving-scaling", "half"), console=console())
    target = tmp_path / "progress.json"
    assert command.run(parse("--export", str(target)), console=console(), now=lambda: T0) == 0
    exported = json.loads(target.read_text())
    assert len(exported["cards"]) == 1 and len(exported["incidents"]) == 1

    with pytest.raises(UsageError, match="--yes"):
        command.run(parse("--reset"))
    assert command.run(parse("--reset"), ask=scripted("no"), console=console()) == 1
    with ProgressStore() as store:
        assert len(store.cards()) == 1
    con = console()
    assert command.run(parse("--reset", "--yes"), console=con, now=lambda: T0 + timedelta(hours=1)) == 0
    backup = paths.user_dir() / "progress-backup-20250301-100000.json"
    assert backup.exists() and str(backup) in text_of(con).replace("\n", "")
    with ProgressStore() as store:
        assert store.cards() == [] and len(store.list_incidents()) == 1

    assert command.run(parse("--import", str(target)), console=console()) == 0
    with ProgressStore() as store:
        assert [c.question_id for c in store.cards()] == ["rank-halving-scaling"]
        assert len(store.list_incidents()) == 1  # not duplicated

    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(UsageError, match="not JSON"):
        command.run(parse("--import", str(bad)))
    with pytest.raises(UsageError, match="cannot read"):
        command.run(parse("--import", str(tmp_path / "missing.json")))
    bad.write_text("[1, 2]")
    with pytest.raises(DiagnoseError, match="not a lora-diagnose progress export"):
        command.run(parse("--import", str(bad)))


def test_corrupt_database(kb_dir):
    paths.database_path().write_bytes(b"garbage" * 500)
    with pytest.raises(ProgressCorruptError, match="--recover"):
        command.run(parse("--kb", str(kb_dir), "--stats"))
    con = console()
    with pytest.raises(ProgressCorruptError):  # declined: nothing moved
        command.run(parse("--kb", str(kb_dir), "--stats"), ask=scripted("n"), console=con)
    assert paths.database_path().read_bytes() == b"garbage" * 500
    con = console()
    assert command.run(parse("--kb", str(kb_dir), "--stats"), ask=scripted("y"), console=con) == 0
    assert "is kept as" in text_of(con)
    backups = list(paths.user_dir().glob("progress.sqlite3.broken-*"))
    assert len(backups) == 1 and backups[0].read_bytes() == b"garbage" * 500

    paths.database_path().write_bytes(b"garbage again" * 500)
    con = console()
    assert command.run(parse("--recover"), console=con) == 0
    assert "Moved the progress database aside" in text_of(con)
    with ProgressStore() as store:
        assert store.cards() == []


def test_usage_errors_from_argparse():
    parser = argparse.ArgumentParser(prog="diagnose quiz")
    command.add_arguments(parser)
    for argv in (["--limit", "0"], ["--stats", "--reset"], ["--rating", "superb"], ["--answer", "only-one"]):
        with pytest.raises(SystemExit) as caught:
            parser.parse_args(argv)
        assert caught.value.code == 2
    assert parse("--entry", "a", "--entry", "b").entry == ["a", "b"]


def test_unknown_entry(kb_dir):
    with pytest.raises(UsageError, match="no KB entry 'nope'"):
        command.run(parse("--kb", str(kb_dir), "--entry", "nope", "--json"))


# ---------------------------------------------------------------- after a diagnosis


def test_offer_after_diagnosis_records_an_answer():
    con = console()
    command.offer_after_diagnosis(["cuda-out-of-memory"], None, con, ask=scripted("it halves"), kb=entries(), now=T0)
    out = text_of(con)
    assert "Check your understanding" in out and "Partly right" not in out
    with ProgressStore() as store:
        assert [r.question_id for r in store.reviews()] == ["lora-memory-savings"]


@pytest.mark.parametrize("reply", ["", "   ", KeyboardInterrupt(), EOFError()])
def test_offer_after_diagnosis_is_skippable(reply):
    con = console()
    command.offer_after_diagnosis(["cuda-out-of-memory"], None, con, ask=scripted(reply), kb=entries(), now=T0)
    with ProgressStore() as store:
        assert store.reviews() == []


def test_offer_after_diagnosis_asks_about_the_run():
    probes, message = recorded_run("pad_token")
    con = console()
    ask = scripted("it gets id 37 and I must resize_token_embeddings on the model")
    command.offer_after_diagnosis(["pad-token-missing"], probes, con, ask=ask, kb=entries(), now=T0, message=message)
    out = text_of(con)
    assert "Your tokenizer has 37 tokens" in out and "from your run" in out and "Right." in out
    assert "Mastery The tokenizer has no pad token: 0/1 stable, 1 learning" in out


def test_offer_after_diagnosis_never_blocks_without_a_terminal(monkeypatch):
    asked = []
    monkeypatch.setattr(command, "_prompt", lambda con: asked.append(1))
    command.offer_after_diagnosis(["cuda-out-of-memory"], None, console(), kb=entries())
    assert asked == [] and not paths.database_path().exists()


def test_offer_after_diagnosis_never_raises_on_a_broken_database():
    paths.database_path().write_bytes(b"garbage" * 500)
    con = console()
    command.offer_after_diagnosis(["cuda-out-of-memory"], None, con, ask=scripted("x"), kb=entries(), now=T0)
    assert "quiz skipped" in text_of(con) and "damaged" in text_of(con)


def test_quiz_command_does_not_import_heavy_libraries():
    code = (
        "import sys; import diagnose.quiz.command, diagnose.quiz.session; "
        "bad = [m for m in ('torch', 'transformers', 'peft', 'textual') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


DRIVER = """
import argparse, sys
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from quiz_support import write_kb
from diagnose.quiz import command
from diagnose.quiz.store import record_incident
kb = write_kb(Path(sys.argv[1]))
record_incident(command="python t.py", source="capture", entry_ids=["cuda-out-of-memory"])
parser = argparse.ArgumentParser()
command.add_arguments(parser)
sys.exit(command.run(parser.parse_args(["--kb", str(kb)])))
"""


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pty")
def test_real_terminal_session_and_ctrl_c(tmp_path):
    """Rich prompts on a real pseudo-terminal; Ctrl-C on the second question keeps the first answer."""
    import os
    import pty
    import select
    import time

    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    pid, fd = pty.fork()
    if pid == 0:  # the child: a quiz on a terminal
        os.execv(sys.executable, [sys.executable, str(script), str(tmp_path / "kb"), str(REPO / "tests")])
    seen = b""

    def until(marker: bytes, count: int = 1) -> None:
        nonlocal seen
        deadline = time.monotonic() + 60
        while seen.count(marker) < count and time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    seen += os.read(fd, 65536)
                except OSError:
                    return
        assert seen.count(marker) >= count, seen.decode(errors="replace")

    until(b"Your answer")
    os.write(fd, b"gradients, optimizer state\r")
    until(b"How well did you know it?")
    os.write(fd, b"\r")
    until(b"Your answer", 2)
    time.sleep(0.5)  # the prompt is printed before input() blocks: Ctrl-C at the keyboard comes later than that
    os.write(fd, b"\x03")
    until(b"answer saved")
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    text = seen.decode(errors="replace")
    assert os.waitstatus_to_exitcode(status) == 130
    assert "missing: frozen weights, activations" in text and "Stopped. 1 answer saved." in text
    with ProgressStore() as store:
        assert [(r.question_id, r.rating.name) for r in store.reviews()] == [("lora-memory-savings", "Hard")]
