"""The command line: parse, dispatch, and turn DiagnoseError into one line + exit code.

Only argparse is imported at start-up; each command imports what it needs,
so ``--help``, ``explain``, ``kb`` and ``quiz`` never import torch.
"""

from __future__ import annotations

import argparse
import sys

from diagnose import __version__
from diagnose.errors import DiagnoseError, UsageError

RUN_OPTIONS_WITH_VALUE = {"--kb"}
RUN_FLAGS = {"--json", "--markdown", "--no-quiz", "--verbose", "-v", "--until-fixed", "--yes"}


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


COMMANDS = ("run", "explain", "tui", "quiz", "learn", "kb", "fix", "check", "env", "report")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser.  Only the invoked subcommand is built (all of them for ``--help`` or an unknown
    command), and a subcommand's own options only when it is the one invoked: ``diagnose --help``
    imports none of the command modules, and ``explain`` builds one subparser, not eight."""
    parser = _Parser(prog="diagnose", description="Run, diagnose and learn from LoRA/QLoRA fine-tuning errors.")
    parser.add_argument("--version", action="version", version=f"lora-diagnose {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    wanted = {command} if command in COMMANDS else set(COMMANDS)

    if "run" in wanted:
        run = commands.add_parser(
            "run",
            help="run a script or command and diagnose it if it fails",
            usage="diagnose run [--json | --markdown] [--kb DIR] [--no-quiz] "
            "[--until-fixed [--yes]] [--] TARGET [ARGS...]",
            description="TARGET is a .py file, -m module, or any command (python …, "
            "torchrun …, accelerate launch …). Its output, exit status and "
            "signals are its own.",
        )
        _add_common(run)
        run.add_argument("--no-quiz", action="store_true", help="do not offer a question after the diagnosis")
        run.add_argument(
            "--until-fixed", action="store_true", help="apply patches (after confirmation) and rerun until it passes"
        )
        run.add_argument("--yes", action="store_true", help="with --until-fixed: apply each patch without asking")
        run.add_argument("target", nargs=argparse.REMAINDER, help="script, -m module, or command, and its arguments")

    if "explain" in wanted:
        explain = commands.add_parser("explain", help="diagnose a pasted or logged traceback")
        _add_common(explain)
        explain.add_argument("--no-quiz", action="store_true", help="do not offer a question after the diagnosis")
        explain.add_argument(
            "file", nargs="?", default=None, help="file with the traceback, or - for stdin (default, unless --captures)"
        )
        explain.add_argument(
            "--captures",
            metavar="DIR",
            help="merge the capture files in DIR (DIAGNOSE_CAPTURE_DIR of a multi-process or multi-node run)",
        )
        explain.add_argument(
            "--clock-skew",
            type=float,
            default=None,
            metavar="SECONDS",
            help="tolerance between hosts' clocks when ordering their failures (default 2)",
        )

    if "tui" in wanted:
        tui = commands.add_parser("tui", help="the terminal app: run, diagnose, fix, learn")
        tui.add_argument("--kb", action="append", default=[], metavar="DIR", help="extra KB directory (repeatable)")
        tui.add_argument("target", nargs=argparse.REMAINDER, help="optional script/command to run at once")

    helps = {
        "quiz": "review check-your-understanding questions (spaced repetition)",
        "learn": "fix-this-script exercises, one per error family, checked by `diagnose run`",
        "kb": "browse, validate and extend the knowledge base",
        "fix": "show and apply the patch of the last diagnosis",
        "report": "an issue-ready Markdown report of the last diagnosis (or of a report or traceback file)",
    }
    lazy = {
        "quiz": _add_quiz_arguments,
        "learn": _add_learn_arguments,
        "kb": _add_kb_arguments,
        "fix": _add_fix_arguments,
        "report": _add_report_arguments,
    }
    for name, add in lazy.items():
        if name in wanted:
            subparser = commands.add_parser(name, help=helps[name])
            if command == name:
                add(subparser)

    if "check" in wanted:
        check = commands.add_parser(
            "check",
            help="preflight: dry-run a script's setup (no weights): LoRA mistakes, trainable share, peak memory",
        )
        check.add_argument("--json", action="store_true", help="the check report (docs/check.md) on stdout")
        check.add_argument("script")
        check.add_argument(
            "rest",
            nargs=argparse.REMAINDER,
            help="the script's arguments; check's own flags may come among them before '--': --json, --static, "
            "--gpu T4|L4|A10|A100-40GB|A100-80GB|H100|RTX-4090..., --gpu-memory 24GiB, --batch-size N, --seq-len N, "
            "--no-memory",
        )

    if "env" in wanted:
        commands.add_parser("env", help="print versions the KB is scoped by, ready to paste in an issue")
    return parser


def _add_common(parser: argparse.ArgumentParser) -> None:
    form = parser.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="print the JSON report (schema 1) on stdout")
    form.add_argument(
        "--markdown",
        action="store_true",
        help="the diagnosis as Markdown even on a terminal (what a pipe or a log file gets), to paste",
    )
    parser.add_argument("--kb", action="append", default=[], metavar="DIR", help="extra KB directory (repeatable)")
    parser.add_argument("-v", "--verbose", action="store_true", help="show every fix in full")


def _add_quiz_arguments(parser: argparse.ArgumentParser) -> None:
    from diagnose.quiz.command import add_arguments

    add_arguments(parser)


def _add_learn_arguments(parser: argparse.ArgumentParser) -> None:
    from diagnose.learn import add_arguments

    add_arguments(parser)


def _add_kb_arguments(parser: argparse.ArgumentParser) -> None:
    from diagnose.kb.command import add_arguments

    add_arguments(parser)


def _add_fix_arguments(parser: argparse.ArgumentParser) -> None:
    from diagnose.patches.command import add_arguments

    add_arguments(parser)


def _add_report_arguments(parser: argparse.ArgumentParser) -> None:
    from diagnose.bugreport import add_arguments

    add_arguments(parser)


def split_run_arguments(argv: list[str]) -> tuple[list[str], list[str]]:
    """``run``'s own options end at the first non-option, ``--`` or ``-m``: the rest is the target."""
    own: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            return own, argv[i + 1 :]
        if arg in RUN_FLAGS or arg in ("-h", "--help"):
            own.append(arg)
        elif arg in RUN_OPTIONS_WITH_VALUE and i + 1 < len(argv):
            own += [arg, argv[i + 1]]
            i += 1
        elif arg.startswith("--kb="):
            own.append(arg)
        else:
            return own, argv[i:]
        i += 1
    return own, []


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        return _dispatch(argv)
    except DiagnoseError as error:
        print(f"diagnose: {error}" if not str(error).startswith("diagnose") else str(error), file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


def _dispatch(argv: list[str]) -> int:
    parser = build_parser(next((a for a in argv if not a.startswith("-")), None))
    target: list[str] = []
    if argv[:1] == ["run"]:
        own, target = split_run_arguments(argv[1:])
        argv = ["run", *own]
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    from diagnose.workflow import Options

    if args.command == "run":
        from diagnose import workflow

        options = Options(
            json=args.json,
            kb_dirs=args.kb,
            quiz=not args.no_quiz,
            verbose=args.verbose,
            yes=args.yes,
            markdown=args.markdown,
        )
        if args.until_fixed:
            from diagnose.patches.loop import run_until_fixed

            return run_until_fixed(target, options)
        return workflow.run(target, options)
    if args.command == "explain":
        from diagnose import workflow

        return workflow.explain(
            args.file,
            Options(
                json=args.json, kb_dirs=args.kb, quiz=not args.no_quiz, verbose=args.verbose, markdown=args.markdown
            ),
            captures_dir=args.captures,
            clock_skew_s=args.clock_skew,
        )
    if args.command == "report":
        from diagnose.bugreport import run as run_report

        return run_report(args)
    if args.command == "env":
        from diagnose.envinfo import env_report

        print(env_report())
        return 0
    if args.command == "quiz":
        from diagnose.quiz.command import run as run_quiz

        return run_quiz(args)
    if args.command == "learn":
        from diagnose.learn import run as run_learn

        return run_learn(args)
    if args.command == "kb":
        from diagnose.kb.command import run as run_kb

        return run_kb(args)
    if args.command == "fix":
        from diagnose.patches.command import run as run_fix

        return run_fix(args)
    if args.command == "check":
        from diagnose.check.command import run as run_check

        return run_check(args)
    if args.command == "tui":
        from diagnose.tui.app import run_app

        return run_app(args.target, kb_dirs=args.kb)
    raise UsageError(f"unknown command {args.command}")


if __name__ == "__main__":
    sys.exit(main())
