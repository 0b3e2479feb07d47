"""The two front doors, as the CLI (and the TUI) use them: run-and-diagnose, explain."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from diagnose.errors import UsageError
from diagnose.paths import database_path, last_report_path, write_private

MAX_EXPLAIN_BYTES = 50 * 1024 * 1024


class Options:
    """How run and explain deliver a report.  A plain class for the same start-up reason as RunResult."""

    __slots__ = ("json", "kb_dirs", "quiz", "verbose", "yes", "markdown")

    def __init__(
        self,
        json: bool = False,
        kb_dirs: list[str] | None = None,
        quiz: bool = True,
        verbose: bool = False,
        yes: bool = False,
        markdown: bool = False,
    ) -> None:
        self.json, self.quiz, self.verbose = json, quiz, verbose
        self.kb_dirs = list(kb_dirs or [])
        self.yes = yes  # apply patches without asking (--until-fixed)
        self.markdown = markdown  # Markdown text even on a terminal

    def replace(self, **changes) -> Options:
        values = {name: getattr(self, name) for name in self.__slots__}
        return Options(**{**values, **changes})


def load_knowledge(kb_dirs):
    from diagnose.kb.loader import load_kb

    kb = load_kb(kb_dirs)
    for problem in kb.problems:
        print(f"diagnose: warning: {problem}", file=sys.stderr)
    return kb


def read_traceback_input(source: str | None) -> str:
    """Text of FILE or stdin ('-' or none), refusing what cannot be a traceback."""
    if source in (None, "-"):
        if sys.stdin is None or sys.stdin.isatty():
            raise UsageError("diagnose explain: paste a traceback on stdin (end with Ctrl-D) or give a FILE")
        data = sys.stdin.buffer.read(MAX_EXPLAIN_BYTES + 1)
        name = "stdin"
    else:
        path = Path(source)
        if not path.exists():
            raise UsageError(f"diagnose explain: no such file: {source}")
        if path.is_dir():
            raise UsageError(f"diagnose explain: {source} is a directory, not a traceback file")
        try:
            size = path.stat().st_size
            if size > MAX_EXPLAIN_BYTES:
                raise UsageError(
                    f"diagnose explain: {source} is {size / 2**20:.0f} MB; pass its end instead: "
                    f"tail -c 1000000 {source} | diagnose explain -"
                )
            data = path.read_bytes()
        except OSError as error:
            raise UsageError(f"diagnose explain: cannot read {source}: {error.strerror}") from None
        name = source
    if len(data) > MAX_EXPLAIN_BYTES:
        raise UsageError("diagnose explain: input is over 50 MB; pass its end instead (tail -c 1000000 …)")
    if not data.strip():
        raise UsageError(f"diagnose explain: {name} is empty")
    if b"\x00" in data[:65536]:
        raise UsageError(f"diagnose explain: {name} looks binary, not a traceback")
    text = data.decode("utf-8", "replace")
    if text.count("\ufffd") > max(16, len(text) // 20):
        raise UsageError(f"diagnose explain: {name} is not text (mostly undecodable bytes)")
    return text


def explain(
    source: str | None, options: Options, captures_dir: str | None = None, clock_skew_s: float | None = None
) -> int:
    from diagnose.engine import explain_text

    if clock_skew_s is not None and not 0 <= clock_skew_s <= 3600:
        raise UsageError("diagnose explain: --clock-skew takes seconds between 0 and 3600")
    captures = read_capture_folder(captures_dir) if captures_dir else []
    if captures_dir and source is None:
        text = ""  # the captures alone (their tracebacks are the text); `-` adds a log from stdin
    else:
        text = read_traceback_input(source)
    kb = load_knowledge(options.kb_dirs)
    report = explain_text(text, kb, captures=captures, clock_skew_s=clock_skew_s)
    command = ["explain", source or "-"] + (["--captures", captures_dir] if captures_dir else [])
    deliver(report, options, command=command)
    return 0


def read_capture_folder(directory: str) -> list[dict]:
    """The capture files of DIR and of its run folders (a shared DIAGNOSE_CAPTURE_DIR holds one per run)."""
    from diagnose.runner import read_captures

    path = Path(directory)
    if not path.is_dir():
        raise UsageError(f"diagnose explain: --captures needs a folder of capture files: {directory}")
    folders = [path, *sorted(p for p in path.iterdir() if p.is_dir())]
    captures = [c for folder in folders for c in read_captures(str(folder)) if isinstance(c.get("exception"), dict)]
    if not captures:
        raise UsageError(f"diagnose explain: no capture files (capture-*.json) in {directory}")
    return sorted(captures, key=lambda c: c.get("time", 0))


def run(target: list[str], options: Options) -> int:
    from diagnose import runner

    result = runner.run(target)
    if not result.failed:
        return 0  # a passing run costs only the runner's imports: the engine loads on failure
    if result.interrupted:
        return runner.end_like(result)  # the user stopped it (Ctrl-C): nothing to diagnose or record
    from diagnose.engine import diagnose_incident, incident_from_run

    kb = load_knowledge(options.kb_dirs)
    incident = incident_from_run(result)
    report = diagnose_incident(incident, kb, script=result.script)
    deliver(report, options, command=result.command)
    return runner.end_like(result)


def deliver(report, options: Options, command: list[str]) -> None:
    """Save, record and show a report: JSON on stdout, or the diagnosis (and a question) on stderr."""
    serialized = report.to_json()  # once: the saved report, the history and --json all use it
    save_last_report(report, serialized)
    warning = record_history(report, command, serialized)
    if warning:
        print(f"diagnose: warning: {warning}", file=sys.stderr)
    if options.json:
        sys.stdout.write(serialized + "\n")
        sys.stdout.flush()
        return
    console = None
    if options.markdown or not _stderr_is_terminal():
        from diagnose.present import report_markdown

        sys.stderr.write(report_markdown(report, verbose=options.verbose))
        sys.stderr.flush()
    else:
        from rich.console import Console

        from diagnose.present import render_report

        console = Console(stderr=True)
        render_report(report, console, verbose=options.verbose)
    if options.quiz and report.diagnoses and sys.stdin.isatty() and sys.stderr.isatty():
        if console is None:  # --markdown on a terminal: the question still comes as Rich text
            from rich.console import Console

            console = Console(stderr=True)
        _offer_quiz(report, console)


def _stderr_is_terminal() -> bool:
    """Rich for a terminal (or when FORCE_COLOR asks for it, as Rich itself honours); Markdown otherwise."""
    try:
        return sys.stderr.isatty() or bool(os.environ.get("FORCE_COLOR"))
    except (AttributeError, ValueError):  # stderr closed or replaced
        return False


def save_last_report(report, serialized: str | None = None) -> None:
    """The report `diagnose fix` reads, owner-only."""
    write_private(last_report_path(), serialized if serialized is not None else report.to_json())


def record_history(report, command: list[str], serialized: str | None = None) -> str | None:
    """Remember the incident (the quiz draws from what the user has met; the TUI lists it).

    Appended to the incident journal, which the progress store takes in when
    it next opens (see diagnose/quiz/journal.py: a line instead of an SQLite
    transaction after every diagnosis).  Returns a warning instead of raising
    when it cannot be written: that must not hide the diagnosis.  Each front
    end shows it its own way.
    """
    import shlex

    from diagnose.quiz import journal

    try:
        size = journal.append_incident(
            journal.journal_path(database_path()),
            command=shlex.join(command),
            source=report.incident.source,
            entry_ids=[d.id for d in report.diagnoses],
            report_json=serialized if serialized is not None else report.to_json(),
            probes=report.incident.probes,
            log=report.incident.text or None,
        )
    except OSError as error:
        return f"incident not saved to history: {error.strerror or error}"
    if size > journal.MERGE_AT_BYTES:  # rare: many runs and no quiz in between
        from diagnose.errors import DiagnoseError
        from diagnose.quiz.store import ProgressStore

        try:
            ProgressStore(check=False).close()  # opening takes the journal in
        except DiagnoseError as error:
            return f"incident history kept in {journal.journal_path(database_path()).name}: {error}"
    return None


def _offer_quiz(report, console) -> None:
    from diagnose.quiz.command import offer_after_diagnosis

    exception = report.incident.exception
    offer_after_diagnosis(
        [d.id for d in report.diagnoses[:1]],
        report.incident.probes,
        console,
        message=exception.message if exception is not None else None,
    )
