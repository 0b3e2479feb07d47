"""`diagnose quiz`: the check-your-understanding loop in a terminal, or as JSON.

    diagnose quiz                         questions due now, then new ones (Rich prompts)
    diagnose quiz --entry ID [--all] [--limit N]
    diagnose quiz --json                  list the questions to ask, as JSON, without a terminal
    diagnose quiz --answer QID TEXT [--rating good] [--json]
                                          grade one answer and record it (TEXT '-' reads stdin)
    diagnose quiz --stats [--json]        due now, reviewed, retention, weakest concepts
    diagnose quiz --export FILE | --import FILE    progress as JSON ('-' = stdout/stdin)
    diagnose quiz --reset [--yes]         forget progress (a backup export is written first)
    diagnose quiz --recover               move a damaged progress database aside, start afresh

``cli.py`` calls :func:`add_arguments` and :func:`run`; ``diagnose run`` and
``diagnose explain`` call :func:`offer_after_diagnosis` after a diagnosis.
This module must not import torch, transformers or textual.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from fsrs import Rating

from diagnose import paths
from diagnose.errors import DiagnoseError, UsageError
from diagnose.quiz.grading import Grade, letter
from diagnose.quiz.scheduler import RATING_NAMES, parse_rating
from diagnose.quiz.session import (
    AnswerResult,
    Mastery,
    QuizEngine,
    QuizItem,
    Stats,
    interval_words,
    load_entries,
)
from diagnose.quiz.store import (
    ProgressCorruptError,
    ProgressStore,
    backup_and_recreate,
    now_utc,
)

Ask = Callable[[str], str]

REASK_LIMIT = 2  # a question answered Again comes back at most this many times in one session
NO_TTY = (
    "diagnose quiz asks its questions in a terminal; without one, list them with "
    "`diagnose quiz --json` and answer one with `diagnose quiz --answer QUESTION_ID 'your answer' --json` "
    "(add --rating again|hard|good|easy to override the grade)"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    scope = parser.add_argument_group("which questions")
    scope.add_argument(
        "--entry", action="append", metavar="ID", default=None, help="only questions of this KB entry (repeatable)"
    )
    scope.add_argument(
        "--all",
        action="store_true",
        dest="all_entries",
        help="questions of every KB entry, not only the errors you have met",
    )
    scope.add_argument(
        "--limit", type=_positive_int, default=10, metavar="N", help="ask at most N questions (default 10)"
    )
    scope.add_argument(
        "--kb", action="append", metavar="DIR", default=None, help="also load KB entries from DIR (repeatable)"
    )
    modes = parser.add_mutually_exclusive_group()
    modes.add_argument(
        "--answer",
        nargs=2,
        metavar=("QUESTION_ID", "TEXT"),
        help="grade TEXT as the answer to QUESTION_ID and record it ('-' reads stdin)",
    )
    modes.add_argument("--stats", action="store_true", help="due now, reviewed, retention, weakest concepts")
    modes.add_argument("--export", metavar="FILE", help="write progress and incident history as JSON ('-' = stdout)")
    modes.add_argument(
        "--import", dest="import_file", metavar="FILE", help="merge a progress export into yours ('-' = stdin)"
    )
    modes.add_argument("--reset", action="store_true", help="forget quiz progress (asks first; a backup is written)")
    modes.add_argument(
        "--recover", action="store_true", help="move a damaged progress database aside and start a fresh one"
    )
    parser.add_argument(
        "--rating",
        choices=sorted(RATING_NAMES, key=lambda k: RATING_NAMES[k]),
        help="with --answer: your own rating instead of the grade's",
    )
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    parser.add_argument("--json", action="store_true", help="machine-readable output on stdout")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def _console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def run(
    args: argparse.Namespace, *, ask: Ask | None = None, console: Any = None, now: Callable[[], datetime] = now_utc
) -> int:
    """Run `diagnose quiz`; returns the exit code. ``ask``/``console``/``now`` are for tests."""
    out = console or _console()
    err = console or _console(stderr=True)
    if args.rating and not args.answer:
        raise UsageError("--rating goes with --answer QUESTION_ID TEXT")

    if args.recover:
        backup = backup_and_recreate()
        err.print(f"Moved the progress database aside to {backup}; a fresh one is in place.")
        return 0

    store = _open_store(err, ask if ask is not None else (_prompt(err) if _interactive() and not args.json else None))
    with store:
        if args.export:
            return _export(store, args.export, err, now())
        if args.import_file:
            return _import(store, args.import_file, err)
        if args.reset:
            return _reset(store, args, err, ask, now())

        engine = QuizEngine(load_entries(args.kb or ()), store)
        if args.entry:
            engine.check_entries(args.entry)
        if args.stats:
            stats = engine.stats(now())
            if args.json:
                _print_json(stats.to_dict())
            else:
                show_stats(out, stats)
            return 0
        if args.answer:
            return _answer_one(engine, args, out, now())

        items = engine.pick(now(), entry_ids=args.entry, include_all=args.all_entries, limit=args.limit)
        if args.json:
            listing = {
                "schema": 1,
                "questions": [item.to_dict() for item in items],
                "answer_with": "diagnose quiz --answer QUESTION_ID TEXT [--rating again|hard|good|easy] --json",
            }
            if not items and not args.entry and not args.all_entries and not store.met_entries():
                listing["note"] = "no diagnosed errors in your history yet; --all draws from the whole KB"
            _print_json(listing)
            return 0
        if ask is None:
            if not _interactive():
                raise UsageError(NO_TTY)
            ask = _prompt(out)
        if not items:
            _explain_nothing(out, engine, args, now())
            return 0
        answered, interrupted = run_session(engine, items, out, ask, now)
        if interrupted:
            out.print(f"\nStopped. {answered} answer{'s' if answered != 1 else ''} saved.")
            return 130
        return 0


# ---------------------------------------------------------------- the interactive loop


def run_session(
    engine: QuizEngine, items: Sequence[QuizItem], console: Any, ask: Ask, now: Callable[[], datetime] = now_utc
) -> tuple[int, bool]:
    """Ask ``items`` one by one; each answer is saved as soon as it is rated.

    Returns (answers saved, interrupted).  Ctrl-C or end of input stops the
    session; what was answered so far stays saved.  A question rated Again is
    asked again (choices reshuffled) before the session ends, up to
    REASK_LIMIT times.
    """
    answered = right = 0
    queue = list(items)
    asked_again: dict[str, int] = {}
    first_total = len(items)
    position = 0
    while queue:
        item = queue.pop(0)
        again = asked_again.get(item.id, 0)
        if again:
            counter = "again"
        else:
            position += 1
            counter = f"{position}/{first_total}"
        if item.leech:
            show_leech(console, item)
        show_question(console, item, counter)
        try:
            text, hinted = _ask_answer(console, item, ask)
        except (KeyboardInterrupt, EOFError):
            return answered, True
        result = engine.grade(item, text)
        if hinted:
            result = _after_hint(result)
        show_grade(console, item, result)
        interrupted = False
        try:
            rating = _ask_rating(console, result, ask)
        except (KeyboardInterrupt, EOFError):
            rating, interrupted = None, True  # the answer counts with the suggested rating
        outcome = engine.record(item, result, now(), rating)
        answered += 1
        right += result.correct and not again
        back = interval_words(outcome.interval)
        if outcome.rating == Rating.Again and again < REASK_LIMIT and not interrupted:
            asked_again[item.id] = again + 1
            queue.append(engine.reshown(item))
            back = "again before this session ends"
        console.print(f"[dim]Saved ({outcome.rating.name}); back {back}.[/dim]\n")
        if interrupted:
            return answered, True
    console.print(f"Done: {right} of {first_total} right the first time.")
    show_mastery(console, engine.mastery(list(dict.fromkeys(item.entry_id for item in items if item.entry_id))))
    return answered, False


def _after_hint(result: Grade) -> Grade:
    """A right answer after a hint suggests Hard: it was not recalled unaided."""
    if result.suggested_rating in (Rating.Good, Rating.Easy):
        return dataclasses.replace(result, suggested_rating=Rating.Hard, notes=[*result.notes, "hint used"])
    return result


def _ask_answer(console: Any, item: QuizItem, ask: Ask) -> tuple[str, bool]:
    """The answer, and whether the hint was shown. Free text that names no choice is asked again."""
    from diagnose.quiz.grading import choice_index

    hint = item.question.hint
    hinted = False
    choices = item.question.choices
    letters = f" ({letter(0)}-{letter(len(choices) - 1)}, a number or the choice's words)" if choices else ""
    prompt = "Your answer" + letters + (" (? for a hint)" if hint else "") + " (Enter = show the answer)"
    while True:
        text = ask(prompt)
        if text.strip() == "?" and hint:
            console.print(f"[yellow]Hint:[/yellow] {_escape(hint)}")
            hint, hinted = None, True
            continue
        if choices and text.strip() and choice_index(choices, text) is None:
            console.print(
                f"[yellow]That names none of the choices (or more than one).[/yellow] "
                f"Answer {letter(0)}-{letter(len(choices) - 1)}, or with words of one choice only."
            )
            continue
        return text, hinted


def _ask_rating(console: Any, result: Grade, ask: Ask) -> str | None:
    suggested = result.suggested_rating.name.lower()
    while True:
        text = ask(f"How well did you know it? again/hard/good/easy (Enter = {suggested})")
        try:
            return None if parse_rating(text) is None else text
        except ValueError as error:
            console.print(f"[red]{error}[/red]")


def _prompt(console: Any) -> Ask:
    from rich.prompt import Prompt

    def ask(text: str) -> str:
        return Prompt.ask(text, console=console, default="", show_default=False)

    return ask


def _ask_offer(console: Any, item: QuizItem, ask: Ask) -> str:
    """The answer to the question offered after a diagnosis: Enter skips, free text naming no choice asks again."""
    from diagnose.quiz.grading import choice_index

    choices = item.question.choices
    while True:
        text = ask("Your answer" + (f" ({letter(0)}-{letter(len(choices) - 1)})" if choices else ""))
        if not choices or not text.strip() or choice_index(choices, text) is not None:
            return text
        console.print("[yellow]That names none of the choices.[/yellow] Answer with a letter or one choice's words.")


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def show_question(console: Any, item: QuizItem, counter: str = "") -> None:
    from rich.panel import Panel
    from rich.text import Text

    body = Text(item.question.question)
    for index, choice in enumerate(item.question.choices):
        body.append(f"\n  {letter(index)}) {choice}")
    status = ("new" if item.new else "due") + (" · from your run" if item.run_specific else "")
    title = " · ".join(part for part in (counter, status) if part)
    console.print(
        Panel(
            body, title=_escape(title), title_align="left", subtitle=_escape(item.entry_title), subtitle_align="right"
        )
    )


def show_grade(console: Any, item: QuizItem, result: Grade) -> None:
    if result.blank:
        console.print("[bold]No answer[/bold] — here is the model answer.")
    elif result.correct:
        console.print("[bold green]Right.[/bold green]")
    elif result.score > 0:
        console.print(f"[bold yellow]Partly right[/bold yellow] ({result.score:.0%}).")
    else:
        console.print("[bold red]Not quite.[/bold red]")
    if result.truncated:
        console.print("[dim](only the first part of a very long answer was read)[/dim]")
    if result.read_as:
        console.print(f"  read as: {_escape(result.read_as)}")
    if result.why_wrong:
        console.print(f"  [red]why not:[/red] {_escape(result.why_wrong)}")
    if item.question.kind == "open" and not result.blank:
        if result.present:
            shown = [f"{c} (\u201c{result.matched[c]}\u201d)" if c in result.matched else c for c in result.present]
            console.print("  matched: " + _escape(", ".join(shown)))
        if result.missing:
            console.print("  missing: " + _escape(", ".join(result.missing)))
    for note in result.notes:
        console.print(f"  [yellow]note:[/yellow] {_escape(note)}")
    if not result.blank:
        console.print(f"  [dim]suggested rating: {result.suggested_rating.name} (yours decides)[/dim]")
    console.print(f"[bold]Answer:[/bold] {_escape(item.question.answer)}")
    if item.question.explanation:
        console.print(f"[dim]{_escape(item.question.explanation)}[/dim]")


def show_result(console: Any, result: AnswerResult) -> None:
    show_grade(console, result.item, result.grade)
    console.print(f"[dim]Saved ({result.outcome.rating.name}); back {interval_words(result.outcome.interval)}.[/dim]")


def show_leech(console: Any, item: QuizItem) -> None:
    console.print(
        f"[yellow]This question keeps slipping (answered Again on several days).[/yellow] "
        f"Re-read the explanation: `diagnose kb show {item.entry_id}`"
        + (f", or do the exercise: `diagnose learn {item.entry_id}`" if _has_exercise(item.entry_id) else "")
        + "."
    )


def _has_exercise(entry_id: str) -> bool:
    try:
        from diagnose.learn import exercise_ids
    except ImportError:
        return False
    return entry_id in exercise_ids()


def show_mastery(console: Any, mastery: Sequence[Mastery]) -> None:
    for family in mastery:
        console.print(f"[bold]Mastery[/bold] {_escape(family.line())}")


def show_stats(console: Any, stats: Stats) -> None:
    from rich.table import Table

    table = Table(show_header=False, box=None)
    table.add_row("Due now", str(stats.due_now))
    table.add_row("Due today", str(stats.due_today))
    table.add_row("New questions waiting", str(stats.new_available))
    table.add_row("Errors met", str(stats.entries_met))
    table.add_row("Reviews", f"{stats.reviews} ({stats.reviewed_questions} questions)")
    table.add_row("Streak", f"{stats.streak_days} day{'s' if stats.streak_days != 1 else ''}")
    table.add_row(
        "Retention",
        "— (no answers to cards in review yet)"
        if stats.retention is None
        else f"{stats.retention:.0%} of {stats.retention_reviews} answers to cards in review not rated Again",
    )
    if stats.predicted_recall is not None:
        table.add_row("Predicted recall now", f"{stats.predicted_recall:.0%} (cards in review)")
    console.print(table)
    if stats.mastery:
        console.print("\n[bold]Mastery[/bold] (stable: FSRS stability of 21 days or more)")
        for family in stats.mastery:
            console.print(f"  {_escape(family.line())}")
    if stats.leeches:
        console.print("\n[yellow]Leeches[/yellow] (Again on 4 days or more; re-read the entry or do its exercise):")
        for question_id in stats.leeches:
            console.print(f"  {_escape(question_id)}")
    if stats.weakest:
        console.print("\n[bold]Weakest concepts[/bold]")
        for concept in stats.weakest:
            console.print(f"  {_escape(concept.concept)}: missed {concept.missed} of {concept.asked}")
    if stats.orphans:
        console.print(
            f"\n[yellow]{len(stats.orphans)} card(s) whose question is no longer in the KB[/yellow] "
            "(kept; they come back if the question does):"
        )
        for orphan in stats.orphans:
            console.print(f"  {_escape(orphan.question_id)} (entry {_escape(orphan.entry_id)})")


def _explain_nothing(console: Any, engine: QuizEngine, args: argparse.Namespace, now: datetime) -> None:
    if not args.entry and not args.all_entries and not engine.store.met_entries():
        console.print(
            "No diagnosed errors in your history yet, so nothing to review. "
            "`diagnose quiz --all` asks questions from the whole knowledge base."
        )
        return
    upcoming = [r for r in engine.store.cards() if engine.knows(r.question_id)]
    message = "Nothing due now."
    if upcoming:
        soonest = min(r.card.due for r in upcoming)
        message += f" The next question comes back {interval_words(soonest - now)}."
    console.print(message + " `diagnose quiz --all` draws from the whole knowledge base.")


# ---------------------------------------------------------------- one-shot modes


def _answer_one(engine: QuizEngine, args: argparse.Namespace, console: Any, now: datetime) -> int:
    question_id, text = args.answer
    if text == "-":
        text = sys.stdin.read(2_000_000)
    item = engine.item(question_id, now)
    if item is None:
        raise UsageError(f"no question {question_id!r}; `diagnose quiz --json` lists the ids")
    if item.question.kind == "choice" and text.strip() and engine.grade(item, text).unmatched:
        # As the prompt asks again, so does this: nothing is recorded for an answer that names no choice.
        last = letter(len(item.question.choices) - 1)
        raise UsageError(
            f"{text[:60]!r} names none of the choices of {question_id}; answer a-{last} (as `diagnose quiz --json` "
            "lists them), a number, or the words of one choice"
        )
    result = engine.answer(item, text, now, args.rating)
    if args.json:
        _print_json(result.to_dict())
    else:
        show_result(console, result)
    return 0


def _export(store: ProgressStore, target: str, console: Any, now: datetime) -> int:
    data = store.export_data(now=now)
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if target == "-":
        sys.stdout.write(text)
    else:
        _write_private(Path(target), text)
    console.print(
        f"Exported {len(data['cards'])} cards, {len(data['reviews'])} reviews and "
        f"{len(data['incidents'])} incidents" + ("" if target == "-" else f" to {target}") + "."
    )
    return 0


def _import(store: ProgressStore, source: str, console: Any) -> int:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read {source}: {error}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise UsageError(f"{source}: not JSON ({error})") from None
    summary = store.import_data(data)
    console.print(
        f"Imported from {source}: {summary.cards_added} new cards, {summary.cards_updated} updated, "
        f"{summary.cards_kept} kept (yours were newer), {summary.reviews_added} reviews, "
        f"{summary.incidents_added} incidents."
    )
    for warning in summary.warnings:
        console.print(f"[yellow]warning:[/yellow] {_escape(warning)}")
    return 0


def _reset(store: ProgressStore, args: argparse.Namespace, console: Any, ask: Ask | None, now: datetime) -> int:
    if not args.yes:
        if ask is None:
            if not _interactive():
                raise UsageError("--reset forgets your quiz progress; add --yes to confirm without a terminal")
            ask = _prompt(console)
        try:
            reply = ask("Forget all quiz progress? Your incident history stays. Type 'yes' to confirm")
        except (KeyboardInterrupt, EOFError):
            reply = ""
        if reply.strip().casefold() not in ("y", "yes"):
            console.print("Nothing changed.")
            return 1
    backup = paths.user_dir() / f"progress-backup-{now.strftime('%Y%m%d-%H%M%S')}.json"
    _write_private(backup, json.dumps(store.export_data(now=now), indent=2, ensure_ascii=False) + "\n")
    store.reset_progress()
    console.print(f"Quiz progress reset. A backup is in {backup} (`diagnose quiz --import` restores it).")
    return 0


def _write_private(path: Path, text: str) -> None:
    try:
        paths.write_private(path, text)
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror or error}") from None


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def _open_store(console: Any, ask: Ask | None) -> ProgressStore:
    """Open the progress database; a damaged one is moved aside only if the user says so."""
    try:
        return ProgressStore()
    except ProgressCorruptError as error:
        if ask is None:
            raise
        console.print(f"[red]{_escape(str(error))}[/red]")
        try:
            reply = ask("Move it aside to a backup and start a fresh one? (y/N)")
        except (KeyboardInterrupt, EOFError):
            reply = ""
        if reply.strip().casefold() not in ("y", "yes"):
            raise
        backup = backup_and_recreate(error.path)
        console.print(f"The damaged database is kept as {backup}.")
        return ProgressStore(error.path)


# ---------------------------------------------------------------- after a diagnosis


def offer_after_diagnosis(
    entry_ids: Sequence[str],
    incident_probes: Mapping | None,
    console: Any,
    *,
    ask: Ask | None = None,
    kb: Any = None,
    store: ProgressStore | None = None,
    now: datetime | None = None,
    message: str | None = None,
) -> None:
    """Offer one question about the error just diagnosed; never blocks, never raises.

    Asked only when stdin and the console are terminals (or ``ask`` is given).
    Empty input, Ctrl-C or end of input skips it.  A broken KB or progress
    database prints one dim line instead.
    """
    if ask is None:
        if not (sys.stdin.isatty() and getattr(console, "is_terminal", False)):
            return
        ask = _prompt(console)
    own_store = store is None
    try:
        if store is None:
            store = ProgressStore()
        engine = QuizEngine(kb if kb is not None else load_entries(), store)
        if message is None and isinstance(incident_probes, Mapping):
            message = incident_probes.get("exception_message")
        item = engine.for_diagnosis(list(entry_ids), incident_probes, now or now_utc(), message)
        if item is None:
            show_mastery(console, engine.mastery(list(entry_ids)[:1]))
            return
        console.print()
        show_question(console, item, "Check your understanding (optional, Enter skips)")
        try:
            text = _ask_offer(console, item, ask)
        except (KeyboardInterrupt, EOFError):
            console.print()
            return
        if not text.strip():
            console.print(
                f"[dim]Skipped. `diagnose quiz --entry {item.entry_id}` asks it later.[/dim]"
                if item.entry_id
                else "[dim]Skipped.[/dim]"
            )
            return
        result = engine.answer(item, text, now or now_utc())
        show_result(console, result)
        show_mastery(console, engine.mastery([item.entry_id]))
    except DiagnoseError as error:
        console.print(f"[dim]quiz skipped: {_escape(str(error))}[/dim]")
    finally:
        if own_store and store is not None:
            store.close()
