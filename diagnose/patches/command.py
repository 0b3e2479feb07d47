"""``diagnose fix``: show the last diagnosis's patch, confirm, back up, apply.

This module is imported by ``diagnose --help`` (to add the arguments), so at
module level it imports argparse only; the rest is imported when it runs.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-y", "--yes", action="store_true", help="apply without asking (for scripts)")
    parser.add_argument(
        "--report", metavar="FILE", help="a saved `diagnose run --json` report (default: the last diagnosis)"
    )
    parser.add_argument(
        "--id",
        dest="entry_id",
        metavar="ENTRY",
        help="the diagnosis whose patch to apply (default: the best one that has a patch)",
    )
    parser.add_argument("--show", action="store_true", help="print the patch (a unified diff) and change nothing")
    parser.add_argument(
        "--undo",
        action="store_true",
        help="put back the newest backup of the patched script (its .diagnose-bak file, which is then removed)",
    )
    parser.add_argument(
        "script",
        nargs="?",
        metavar="SCRIPT",
        help="with --undo: the script to restore (default: the patched script of the last report, "
        "else the one script here with a backup)",
    )


NO_TERMINAL = (
    "diagnose fix: stdin is not a terminal, so nobody can confirm; pass --yes to apply (--show prints the patch)"
)


def _interactive() -> bool:
    import sys

    return sys.stdin is not None and sys.stdin.isatty()


def run(args: argparse.Namespace) -> int:
    import sys

    from diagnose.errors import UsageError
    from diagnose.patches import target

    report_path = args.report
    if args.undo:
        restored = target.undo(target.undo_target(args.script, report_path))
        print(f"diagnose: restored {restored.path} from {restored.backup.name} (backup removed)", file=sys.stderr)
        return 0
    if args.script:
        raise UsageError("diagnose fix: SCRIPT is for --undo; the patch names its own script")
    chosen = target.load(report_path, args.entry_id)
    if args.show:
        show_patch(chosen, sys.stdout)
        return 0
    from diagnose.patches.apply import apply, check

    check(chosen.path, chosen.sha256)  # refuse before asking when it cannot apply
    if not args.yes and not _interactive():
        raise UsageError(NO_TERMINAL)
    show_patch(chosen, sys.stdout)
    if not args.yes and not confirm(f"Apply this patch to {chosen.name}?"):
        print("diagnose: not applied", file=sys.stderr)
        return 1
    applied = apply(chosen.path, chosen.sha256, chosen.new_text)
    print(
        f"diagnose: patched {applied.path} (original kept in {applied.backup.name}; "
        f"`diagnose fix --undo` puts it back)",
        file=sys.stderr,
    )
    return 0


def show_patch(chosen, stream) -> None:
    """Title, fix safety and why, then the diff (coloured on a terminal)."""
    import sys

    header = f"{chosen.title}  [{chosen.safety}: {chosen.safety_reason}]"
    print(f"diagnose: {chosen.entry_id}: {header}", file=sys.stderr)
    if stream.isatty():
        from rich.console import Console
        from rich.syntax import Syntax

        Console(file=stream).print(Syntax(chosen.diff, "diff", theme="ansi_dark", background_color="default"))
    else:
        stream.write(chosen.diff if chosen.diff.endswith("\n") else chosen.diff + "\n")
        stream.flush()


def confirm(question: str) -> bool:
    """Ask on the terminal; without one (and without --yes) stop with a usage error."""
    import sys

    from diagnose.errors import UsageError

    if not _interactive():
        raise UsageError(NO_TERMINAL)
    sys.stderr.write(f"{question} [y/N] ")
    sys.stderr.flush()
    answer = sys.stdin.readline()
    return answer.strip().lower() in ("y", "yes")
