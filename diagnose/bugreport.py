"""`diagnose report [--last | REPORT.json | TRACEBACK_FILE] [--kb-entry [ID]]`: an issue-ready Markdown block.

What the issue templates of peft, transformers and trl ask for, filled in:
the environment (as ``diagnose env``), the command, the traceback cut to the
frames that matter, the script's relevant lines (LoRA config, model loading,
trainer set-up, the failing line), the diagnosis with its entry id, and what
was tried (patches applied, reruns under diagnose).  Everything that leaves
goes through :func:`redact`: access tokens, Authorization headers, URL
credentials and e-mail addresses are masked, home folders become ``~``.

``--kb-entry`` turns the same incident into a draft KB entry, as
``diagnose kb new --from-traceback`` does (``diagnose/kb/scaffold.py``).
"""

from __future__ import annotations

import ast
import re
import shlex
import sys
from pathlib import Path

from diagnose.errors import UsageError

LIBRARY_FRAMES_KEPT = 2  # innermost library frames shown: where the error was raised
RELEVANT_CALLS = (
    "LoraConfig",
    "PeftConfig",
    "AdaLoraConfig",
    "IA3Config",
    "get_peft_model",
    "prepare_model_for_kbit_training",
    "PeftModel.from_pretrained",
    "from_pretrained",
    "BitsAndBytesConfig",
    "TrainingArguments",
    "Trainer",
    "SFTTrainer",
    "SFTConfig",
    "DataCollatorForLanguageModeling",
)
MAX_SCRIPT_LINES = 80
LOG_LINES_KEPT = 60  # of a log without a parsed exception

# ---------------------------------------------------------------- redaction

_HF_TOKEN = re.compile(r"\bhf_[A-Za-z0-9]{8,}")
_OTHER_TOKENS = re.compile(r"\b(?:ghp_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|sk-[A-Za-z0-9_-]{20,})")
_AUTH_HEADER = re.compile(r"(?i)\b(authorization|proxy-authorization)(['\"]?\s*[:=]\s*['\"]?)[^'\"\n,}]+")
_BEARER = re.compile(r"(?i)\b(bearer|token)\s+[A-Za-z0-9._~+/=-]{12,}")
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^\s/@:'\"]+(?::[^\s/@'\"]*)?@")
_SECRET_ASSIGNMENT = re.compile(
    r"(?i)\b((?:hf_|hugging_?face_?hub_|wandb_api_|openai_api_|api_)?(?:token|key|secret|password))"
    r"(\s*[=:]\s*['\"]?)[^\s'\",)]{6,}"
)
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_HOME = re.compile(r"(?:/home|/Users)/[^/\s'\"]+|[A-Za-z]:\\Users\\[^\\\s'\"]+")


def redact(text: str) -> str:
    """Tokens, credentials and e-mail addresses masked; home folders shortened to ``~``."""
    from diagnose.capture.hookdir._diagnose_capture import scrub  # also the values of HF_TOKEN & co.

    text = scrub(text)
    text = _HF_TOKEN.sub("hf_***", text)
    text = _OTHER_TOKENS.sub("***", text)
    text = _AUTH_HEADER.sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} ***", text)
    text = _URL_CREDENTIALS.sub(lambda m: f"{m.group(1)}***@", text)
    text = _SECRET_ASSIGNMENT.sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)
    text = shorten_paths(text)
    return _EMAIL.sub("***@***", text)


def shorten_paths(text: str) -> str:
    home = str(Path.home()).rstrip("/\\")
    if len(home) > 1:
        text = re.sub(re.escape(home) + r"(?=[/\\\s'\"]|$)", "~", text, flags=re.MULTILINE)
    return _HOME.sub("~", text)


# ---------------------------------------------------------------- what a report is made of


class Material:
    """Everything an issue report says, gathered from whichever source it came from."""

    def __init__(
        self,
        report,
        traceback: str,
        command: str = "",
        script_path: str | None = None,
        script_text: str | None = None,
        tried: list[str] | None = None,
    ) -> None:
        self.report, self.traceback, self.command = report, traceback, command
        self.script_path, self.script_text = script_path, script_text
        self.tried = [] if tried is None else tried


def material_from_report(report, command: list[str] | str = "", script_text: str | None = None) -> Material:
    """From a Report object (the notebook's last diagnosis, a saved JSON report)."""
    text = best_traceback(report.incident, report.incident.text)
    command = command if isinstance(command, str) else shlex.join(command)
    script = report.script
    return Material(report, text, command, script, script_text, tried=tried_on(script, command))


def best_traceback(incident, log: str) -> str:
    """The exception chain rebuilt from its frames when the incident has them (a run's log also holds the
    program's output and the capture's copy); else the end of the log (a killed process, a cut-off paste)."""
    if incident.exception is not None and incident.exception.frames:
        return traceback_from_frames(incident)
    return "\n".join(log.rstrip("\n").split("\n")[-LOG_LINES_KEPT:])


def traceback_from_frames(incident) -> str:
    """A Python-style traceback rebuilt from the incident's exceptions (a JSON report keeps no text)."""
    lines: list[str] = []
    previous = None
    for exception in [*incident.chain, *([incident.exception] if incident.exception else [])]:  # oldest first
        if previous is not None:
            lines += ["", CHAIN_WORDS.get(previous.relation, CHAIN_WORDS["context"]), ""]
        lines.append("Traceback (most recent call last):")
        for frame in exception.frames:
            lines.append(f'  File "{frame.file}", line {frame.line}, in {frame.function}')
            if frame.code:
                lines.append(f"    {frame.code.strip()}")
        lines.append(f"{exception.qualname}: {exception.message}" if exception.message else exception.qualname)
        previous = exception
    return "\n".join(lines)


CHAIN_WORDS = {
    "cause": "The above exception was the direct cause of the following exception:",
    "context": "During handling of the above exception, another exception occurred:",
}


def tried_on(script: str | None, command: str) -> list[str]:
    """What was tried: patches applied to the script (their backups), runs of the same command under diagnose."""
    tried: list[str] = []
    if script:
        from diagnose.patches.apply import backups

        path = Path(script)
        for backup in backups(path):
            tried.append(f"a patch was applied to {path.name} by `diagnose fix` (original kept as {backup.name})")
    if command:
        runs = _history_runs(command)
        if len(runs) > 1:
            seen = ", ".join(dict.fromkeys(e for ids in runs for e in ids[:1])) or "no confident diagnosis"
            tried.append(f"run {len(runs)} times under diagnose (diagnosed as: {seen})")
    return tried


def _history_runs(command: str) -> list[list[str]]:
    from diagnose.errors import DiagnoseError
    from diagnose.quiz.store import ProgressStore

    try:
        with ProgressStore(check=False) as store:
            return [i.entry_ids for i in store.list_incidents(200) if i.command == command]
    except (DiagnoseError, OSError):
        return []


# ---------------------------------------------------------------- sources: --last, a JSON report, a traceback


def from_last() -> Material:
    """The newest incident of the history (its command and log), else the last saved report."""
    from diagnose.errors import DiagnoseError
    from diagnose.quiz.store import ProgressStore
    from diagnose.report import Report

    try:
        with ProgressStore(check=False) as store:
            newest = store.list_incidents(1)
            record = store.get_incident(newest[0].id) if newest else None
    except DiagnoseError:
        record = None
    if record is not None and record.report:
        report = Report.from_dict(record.report)
        report.incident.text = record.log or ""
        return material_from_report(report, record.command)
    from diagnose.paths import last_report_path

    path = last_report_path()
    if not path.exists():
        raise UsageError(
            "diagnose report: no diagnosis yet; run `diagnose run SCRIPT` or `diagnose explain FILE` first"
        )
    return from_json_report(str(path))


def from_json_report(path: str) -> Material:
    from diagnose.patches.target import read_report
    from diagnose.report import Report

    try:
        data = read_report(path)
        report = Report.from_dict(data)
    except UsageError as error:
        raise UsageError(str(error).replace("diagnose fix:", "diagnose report:")) from None
    except (KeyError, TypeError, ValueError) as error:
        raise UsageError(f"diagnose report: {path} is not a diagnose JSON report ({error})") from None
    return material_from_report(report)


def from_traceback_file(source: str) -> Material:
    from diagnose import workflow
    from diagnose.engine import explain_text

    text = workflow.read_traceback_input(source).replace("diagnose explain", "diagnose report")
    report = explain_text(text, workflow.load_knowledge([]))
    script = _user_script(report.incident)
    report.script = script
    return Material(report, text, "", script, None, tried=tried_on(script, ""))


def _user_script(incident) -> str | None:
    """The innermost frame's file of the user's own code, when it is on this machine."""
    for exception in incident.exceptions():
        for frame in reversed(exception.frames):
            if not frame.in_library and frame.file.endswith(".py") and Path(frame.file).is_file():
                return frame.file
    return None


def load_material(source: str | None, last: bool) -> Material:
    if last or source is None:
        if source is not None:
            raise UsageError("diagnose report: give --last or a file, not both")
        return from_last()
    path = Path(source)
    if source != "-" and path.is_file() and _looks_like_json(path):
        return from_json_report(source)
    return from_traceback_file(source)


def _looks_like_json(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            head = handle.read(64).lstrip()
    except OSError:
        return False
    return head.startswith(b"{")


# ---------------------------------------------------------------- the Markdown


def issue_markdown(material: Material) -> str:
    """The report as Markdown, redacted: paste it into an issue."""
    from diagnose.envinfo import env_report

    sections = ["## Environment", "", env_report(), "", "## Command", ""]
    sections += ["```sh", material.command or "(not recorded: a pasted traceback)", "```", ""]
    sections += ["## Traceback (the frames that matter)", "", "```", cut_traceback(material.traceback), "```", ""]
    relevant = relevant_lines(material)
    if relevant:
        name = Path(material.script_path).name if material.script_path else "the cell"
        sections += [f"## Relevant lines of {name}", "", "```python", relevant, "```", ""]
    sections += ["## Diagnosis (lora-diagnose)", ""] + diagnosis_lines(material.report) + [""]
    sections += ["## What was tried", ""]
    sections += [f"- {line}" for line in material.tried] or ["- nothing yet under diagnose"]
    return redact("\n".join(sections)) + "\n"


def diagnosis_lines(report) -> list[str]:
    if not report.diagnoses:
        from diagnose.report import abstention_facts

        return ["No confident diagnosis (the knowledge base has no entry that matched well enough)."] + [
            f"- {fact}" for fact in abstention_facts(report.incident)
        ]
    best = report.diagnoses[0]
    lines = [f"**{best.title}** — entry `{best.id}`, confidence {best.confidence:.2f}", ""]
    lines.append(f"evidence: {best.evidence}")
    if best.fixes:
        lines.append(f"suggested fix: {best.fixes[0].title}")
    if best.patch:
        lines.append(f"patch proposed for {Path(best.patch.path).name}: {best.patch.title}")
    others = ", ".join(f"`{d.id}` ({d.confidence:.2f})" for d in report.diagnoses[1:3])
    if others:
        lines.append(f"also possible: {others}")
    return lines


_FRAME_LINE = re.compile(r'^\s*File "(?P<file>[^"]+)", line \d+')


def cut_traceback(text: str) -> str:
    """The traceback with runs of library frames folded, keeping the user's frames, the first library frame
    each of them called, and the innermost library frames (where the error was raised)."""
    from diagnose.textparse import normalize

    lines = normalize(text).rstrip("\n").split("\n")
    blocks: list[tuple[str | None, list[str]]] = []  # (frame file or None, lines)
    for line in lines:
        found = _FRAME_LINE.match(line)
        if found:
            blocks.append((found.group("file"), [line]))
        elif blocks and blocks[-1][0] is not None and line.startswith("    "):
            blocks[-1][1].append(line)  # the frame's code line and its ^^^^ markers
        else:
            blocks.append((None, [line]))
    keep = _kept_frames(blocks)
    out: list[str] = []
    omitted = 0
    for index, (file, block) in enumerate(blocks):
        if file is None or index in keep:
            if omitted:
                out.append(f"  … {omitted} library frame{'s' if omitted > 1 else ''} omitted …")
                omitted = 0
            out += block
        else:
            omitted += 1
    return "\n".join(out)


def _kept_frames(blocks: list[tuple[str | None, list[str]]]) -> set[int]:
    keep: set[int] = set()
    run: list[int] = []  # library frames since the last user frame or non-frame line

    def close_run() -> None:
        keep.update(run[-LIBRARY_FRAMES_KEPT:])

    for index, (file, _) in enumerate(blocks):
        if file is None:
            close_run()
            run = []
        elif _is_library(file):
            if not run and index > 0 and blocks[index - 1][0] is not None:
                keep.add(index)  # the library call the user's line made
            run.append(index)
        else:
            run = []
            keep.add(index)
    close_run()
    return keep


def _is_library(file: str) -> bool:
    return "site-packages" in file or "dist-packages" in file or file.startswith("<frozen") or "/lib/python" in file


def relevant_lines(material: Material) -> str:
    """Numbered lines of the script (or cell) that set up LoRA, load the model, the trainer, and the failing line."""
    source = material.script_text
    if source is None and material.script_path:
        try:
            source = Path(material.script_path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return ""
    if not source:
        return ""
    lines = source.splitlines()
    wanted = _statement_lines(source) | _failing_lines(material)
    if not wanted:
        return ""
    out, previous = [], 0
    for number in sorted(wanted)[:MAX_SCRIPT_LINES]:
        if number < 1 or number > len(lines):
            continue
        if previous and number > previous + 1:
            out.append("...")
        out.append(f"{number:>4}  {lines[number - 1]}")
        previous = number
    return "\n".join(out)


def _statement_lines(source: str) -> set[int]:
    """Every line of each statement that calls one of RELEVANT_CALLS (whole statements, from the syntax tree)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {i for i, line in enumerate(source.splitlines(), 1) if any(c + "(" in line for c in RELEVANT_CALLS)}
    wanted: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt) and not isinstance(
            node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.If, ast.For, ast.While, ast.With, ast.Try)
        ):
            if any(isinstance(c, ast.Call) and _call_name(c.func) in RELEVANT_CALLS for c in ast.walk(node)):
                wanted.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    return wanted


def _call_name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        base = _call_name(func.value)
        full = f"{base}.{func.attr}" if base else func.attr
        return full if full in RELEVANT_CALLS else func.attr
    return ""


def _failing_lines(material: Material) -> set[int]:
    if not material.script_path:
        return set()
    from diagnose.patches._cst import same_file

    found = set()
    for exception in material.report.incident.exceptions():
        for frame in exception.frames:
            if frame.line and same_file(frame.file, material.script_path):
                found.add(frame.line)
    return found


# ---------------------------------------------------------------- --kb-entry


def kb_entry(material: Material, entry_id: str | None) -> str:
    """A draft KB entry (``kb new --from-traceback``'s scaffold) from the same redacted traceback."""
    from diagnose.kb import scaffold
    from diagnose.libfacts import installed_version

    exception = material.report.incident.exception
    entry_id = entry_id or _default_id(exception.type if exception else "new-error")
    versions = ", ".join(
        f"{p} {v}" for p in ("torch", "transformers", "peft") if (v := installed_version(p)) is not None
    )
    source = f"reproduced: {versions}" if versions else None
    if material.command:
        source = f"{source or 'reproduced'}; command: {material.command}"
    return scaffold.build(entry_id, redact(material.traceback), redact(source) if source else None).text


def _default_id(exception_type: str) -> str:
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", exception_type.rsplit(".", 1)[-1]).lower()
    return re.sub(r"[^a-z0-9]+", "-", words).strip("-") or "new-error"


# ---------------------------------------------------------------- the command


def add_arguments(parser) -> None:
    parser.add_argument(
        "source",
        nargs="?",
        metavar="REPORT.json|TRACEBACK_FILE",
        help="a JSON report (diagnose run --json) or a traceback file ('-' for stdin); default: the last diagnosis",
    )
    parser.add_argument("--last", action="store_true", help="the last diagnosis (the default)")
    parser.add_argument(
        "--kb-entry",
        nargs="?",
        const="",
        default=None,
        metavar="ID",
        help="print a draft KB entry instead (as kb new --from-traceback); ID defaults to the exception's name",
    )


def run(args) -> int:
    material = load_material(args.source, args.last)
    if args.kb_entry is not None:
        sys.stdout.write(kb_entry(material, args.kb_entry or None))
    else:
        sys.stdout.write(issue_markdown(material))
    sys.stdout.flush()
    return 0
