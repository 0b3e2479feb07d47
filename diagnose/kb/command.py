"""`diagnose kb …`: browse, validate and extend the knowledge base.

    diagnose kb list [--json]                 every entry: id, title, counts, where it came from
    diagnose kb show ID                       one entry, rendered (why, fixes with tiers, quiz, examples)
    diagnose kb search TEXT [--json]          entries ranked by the words of TEXT
    diagnose kb validate [PATH...]            lint entries (default: shipped KB + user dirs); exit 1 on errors
    diagnose kb test [PATH...]                run the examples/not_examples of entries (default: user dirs)
    diagnose kb new ID [--from-traceback FILE] [--dir DIR]
                                              scaffold kb/ID.yaml, ready to fill in
    diagnose kb docs [--write FILE | --check FILE]
                                              the KB reference (docs/kb.md), generated from the YAML

Every subcommand takes ``--kb DIR`` (repeatable) like run/explain; entries of
DIAGNOSE_KB_PATH and --kb override shipped ones with the same id.
``cli.py`` calls :func:`add_arguments` and :func:`run`.  Only argparse is
imported at module level: ``diagnose --help`` imports this module.
"""

from __future__ import annotations

import argparse

SEARCH_LIMIT = 10


def add_arguments(parser: argparse.ArgumentParser) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--kb", action="append", default=[], metavar="DIR", help="extra KB directory (repeatable)")
    commands = parser.add_subparsers(dest="kb_command", metavar="SUBCOMMAND")

    listing = commands.add_parser("list", parents=[common], help="list the entries and where each came from")
    listing.add_argument("--json", action="store_true", help="print the list as JSON")

    show = commands.add_parser("show", parents=[common], help="show one entry")
    show.add_argument("id", metavar="ID")

    search = commands.add_parser("search", parents=[common], help="find entries by words (title, why, messages)")
    search.add_argument("text", nargs="+", metavar="TEXT")
    search.add_argument("--json", action="store_true", help="print the ranking as JSON")

    validate = commands.add_parser(
        "validate", parents=[common], help="check entries: schema, ids, regexes, examples (exit 1 on errors)"
    )
    validate.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="entry files or directories (default: the shipped KB and the user KB directories)",
    )

    test = commands.add_parser("test", parents=[common], help="run entries' examples and not_examples")
    test.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="entry files or directories (default: the user KB directories, else the shipped KB)",
    )

    new = commands.add_parser("new", parents=[common], help="scaffold a new entry, optionally from a traceback")
    new.add_argument("id", metavar="ID", help="kebab-case id; the file is ID.yaml")
    new.add_argument(
        "--from-traceback",
        metavar="FILE",
        help="a real traceback ('-' for stdin): fills the exception class, a message rule and the first example",
    )
    new.add_argument(
        "--dir",
        metavar="DIR",
        help="where to write ID.yaml (default: the first --kb dir, else the "
        "first DIAGNOSE_KB_PATH dir, else kb/ of a source checkout)",
    )

    docs = commands.add_parser("docs", help="generate the KB reference (docs/kb.md) from the YAML")
    where = docs.add_mutually_exclusive_group()
    where.add_argument("--write", metavar="FILE", help="write the docs to FILE")
    where.add_argument("--check", metavar="FILE", help="exit 1 when FILE is not what would be generated")


def run(args: argparse.Namespace) -> int:
    from diagnose.errors import UsageError

    handlers = {
        "list": _list,
        "show": _show,
        "search": _search,
        "validate": _validate,
        "test": _test,
        "new": _new,
        "docs": _docs,
    }
    handler = handlers.get(getattr(args, "kb_command", None) or "")
    if handler is None:
        raise UsageError("diagnose kb: choose a subcommand: " + ", ".join(handlers) + " (see diagnose kb --help)")
    return handler(args)


# ---------------------------------------------------------------- browsing


def _console():
    from rich.console import Console

    return Console()


def _load(args):
    from diagnose.workflow import load_knowledge

    return load_knowledge(args.kb)


def _origin(loaded) -> str:
    origin = "shipped" if loaded.origin == "shipped" else loaded.origin
    if loaded.overrides is not None:
        origin += " (overrides shipped)" if _is_shipped(loaded.overrides) else f" (overrides {loaded.overrides})"
    return origin


def _is_shipped(path) -> bool:
    from diagnose.paths import SHIPPED_KB

    return path.resolve().parent == SHIPPED_KB.resolve()


def _list(args) -> int:
    kb = _load(args)
    rows = sorted(kb, key=lambda e: e.id)
    if args.json:
        import json

        print(
            json.dumps(
                [
                    {
                        "id": e.id,
                        "title": e.entry.title,
                        "examples": len(e.entry.examples),
                        "not_examples": len(e.entry.not_examples),
                        "quiz": len(e.entry.quiz),
                        "origin": e.origin,
                        "path": str(e.path),
                        "overrides": str(e.overrides) if e.overrides else None,
                    }
                    for e in rows
                ],
                indent=2,
            )
        )
        return 0
    from rich.console import JustifyMethod
    from rich.table import Table

    table = Table(title=f"{len(rows)} KB entries", title_justify="left")
    columns: list[tuple[str, JustifyMethod]] = [
        ("id", "left"),
        ("title", "left"),
        ("examples", "right"),
        ("not", "right"),
        ("quiz", "right"),
        ("origin", "left"),
    ]
    for column, justify in columns:
        table.add_column(column, justify=justify, overflow="fold", no_wrap=column == "id")
    for e in rows:
        table.add_row(
            e.id,
            e.entry.title,
            str(len(e.entry.examples)),
            str(len(e.entry.not_examples)),
            str(len(e.entry.quiz)),
            _origin(e),
        )
    _console().print(table)
    return 0


def _show(args) -> int:
    from rich.markdown import Markdown
    from rich.panel import Panel
    from rich.text import Text

    from diagnose.present import SAFETY_STYLE

    kb = _load(args)
    loaded = kb.entries.get(args.id)
    if loaded is None:
        _unknown(args.id, kb)
    e = loaded.entry
    console = _console()
    header = Text.assemble(
        (e.title, "bold"),
        "\n",
        (e.id, "cyan"),
        ("   from ", "dim"),
        (_origin(loaded), "dim"),
        ("\n", ""),
        (str(loaded.path), "dim"),
    )
    console.print(Panel(header, title="KB entry", title_align="left", border_style="cyan"))
    console.print(Text("Why", style="bold underline"))
    console.print(Markdown(e.why))
    console.print(Text("Fixes", style="bold underline"))
    for number, fix in enumerate(e.fixes, 1):
        console.print(
            Text.assemble(
                (f"{number}. ", "bold"),
                (fix.title, "bold"),
                ("  [", ""),
                (fix.safety, SAFETY_STYLE.get(fix.safety, "")),
                ("] ", ""),
                (fix.safety_reason, "dim"),
            )
        )
        console.print(Markdown(fix.body))
    kinds = ", ".join(sorted({q.kind for q in e.quiz}))
    facts = [
        f"Quiz: {len(e.quiz)} question(s)" + (f" ({kinds}) — diagnose quiz --entry {e.id}" if e.quiz else ""),
        f"Examples: {len(e.examples)} that must match, {len(e.not_examples)} that must not",
        "Applies to: " + (", ".join(f"{k} {v}" for k, v in e.versions.items()) or "all versions"),
        "Verified with: " + (", ".join(f"{k} {v}" for k, v in e.verified_with.items()) or "not stated"),
    ]
    if e.advisor:
        facts.append(f"Advisor: {e.advisor} (tailors the fixes to a captured run)")
    console.print(Text("\n".join(facts)))
    if e.references:
        console.print(Text("References", style="bold underline"))
        for reference in e.references:
            console.print(Text(f"- {reference}"))
    return 0


def _unknown(entry_id: str, kb) -> None:
    import difflib

    from diagnose.errors import DiagnoseError

    close = difflib.get_close_matches(entry_id, list(kb.entries), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else "; see diagnose kb list"
    raise DiagnoseError(f"no KB entry {entry_id!r}{hint}")


def _search(args) -> int:
    from diagnose.kb.search import search

    kb = _load(args)
    query = " ".join(args.text)
    hits = search(query, kb)[:SEARCH_LIMIT]
    if args.json:
        import json

        print(json.dumps([{"id": h.entry.id, "title": h.entry.entry.title, "score": h.score} for h in hits], indent=2))
        return 0 if hits else 1
    if not hits:
        print(f"no KB entry mentions {query!r}")
        return 1
    from rich.table import Table

    table = Table(title=f"KB entries for {query!r}", title_justify="left")
    table.add_column("score", justify="right")
    table.add_column("id")
    table.add_column("title", overflow="fold")
    for hit in hits:
        table.add_row(f"{hit.score:.1f}", hit.entry.id, hit.entry.entry.title)
    _console().print(table)
    return 0


# ---------------------------------------------------------------- checking


def _validate(args) -> int:
    import sys

    from diagnose.kb.validate import validate

    result = validate(args.paths, args.kb)
    for issue in result.issues:
        print(issue, file=sys.stderr if issue.severity == "error" else sys.stdout)
    entries = len(result.entries)
    verdict = "ok" if result.ok else "FAILED"
    print(
        f"kb validate: {verdict}: {len(result.files)} file(s), {entries} entr{'y' if entries == 1 else 'ies'}, "
        f"{len(result.results)} example(s) run, {len(result.errors)} error(s), {len(result.warnings)} warning(s)"
    )
    return 0 if result.ok else 1


def _test(args) -> int:
    import sys

    from diagnose.kb.loader import user_kb_dirs
    from diagnose.kb.validate import validate
    from diagnose.paths import SHIPPED_KB

    paths = args.paths or user_kb_dirs(args.kb) or [SHIPPED_KB]
    result = validate(paths, args.kb, check_lint=False, time_patterns=False)
    for r in result.results:
        mark = "PASS" if r.passed else "FAIL"
        print(f"{mark} {r.entry_id} {r.kind}[{r.index}]  {r.path}:{r.line}: {r.detail}")
    for issue in result.issues:
        if issue.severity == "error" and not any(r.path == issue.path and r.line == issue.line for r in result.results):
            print(issue, file=sys.stderr)  # entries that did not even load
    failed = sum(not r.passed for r in result.results)
    print(
        f"kb test: {len(result.results) - failed} passed, {failed} failed, {len(result.entries)} entr"
        f"{'y' if len(result.entries) == 1 else 'ies'}"
    )
    return 0 if result.ok else 1


# ---------------------------------------------------------------- authoring


def _new(args) -> int:
    from pathlib import Path

    from diagnose.kb import scaffold
    from diagnose.kb.loader import load_kb
    from diagnose.kb.validate import validate

    traceback = source = None
    if args.from_traceback:
        from diagnose.workflow import read_traceback_input

        traceback = read_traceback_input(args.from_traceback)
        source = f"TODO where this output comes from (was {Path(args.from_traceback).name}; command, versions)"
    built = scaffold.build(args.id, traceback, source)
    directory = scaffold.target_dir(args.dir, args.kb)
    existing = load_kb(args.kb).entries.get(args.id)
    path = scaffold.write(built, directory)
    print(f"wrote {path}")
    if existing is not None and existing.path.resolve() != path.resolve():
        print(
            f"note: {args.id} is also defined in {existing.path}; the new file overrides it where its directory "
            "is loaded later (DIAGNOSE_KB_PATH / --kb)"
        )
    if traceback is None:
        print(f"next: paste a real traceback under examples:, then fill the TODOs and run diagnose kb test {path}")
        return 0
    if built.pattern:
        names = f"exception {', '.join(built.exception)} and " if built.exception else ""
        print(f"match rule: {names}{built.rule_key} /{built.pattern}/")
    check = validate([path], args.kb, check_lint=False, time_patterns=False)
    for issue in check.errors:
        print(issue)
    if check.ok:
        print(
            f"its example matches it first (diagnose kb test {path}); now write the TODO parts "
            "(why, fixes, quiz, not_examples, references) and run diagnose kb validate " + str(path)
        )
        return 0
    print(
        "the generated rule does not win on its own example yet: another entry matches it as well or better; "
        "tighten the pattern or improve that entry instead"
    )
    return 1


def _docs(args) -> int:
    from pathlib import Path

    from diagnose.kb.docs import generate

    text = generate()
    if args.check:
        path = Path(args.check)
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current != text:
            print(f"{path} is stale: regenerate it with `make docs` (diagnose kb docs --write {path})")
            return 1
        print(f"{path} is up to date")
        return 0
    if args.write:
        path = Path(args.write)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
        return 0
    print(text, end="")
    return 0
