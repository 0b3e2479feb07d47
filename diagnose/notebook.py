"""The IPython extension: ``%load_ext diagnose`` in Jupyter, JupyterLab, Colab, Kaggle or terminal IPython.

After a cell raises, IPython shows its traceback as usual (the extension
never touches how tracebacks are shown), then a ``post_run_cell`` callback
diagnoses the exception:

    live exception ─► capture record (the capture hook's own code and probes, on the
    exception's live frames: the cell's frame holds the user's namespace)
    ─► Incident ─► engine (KB match, advisors) ─► Report
    ─► HTML + Markdown + plain text in a notebook front-end, Rich in terminal IPython

A patch is never applied to a cell: the corrected cell is shown to copy, with
the diff.  The check-your-understanding question is offered with ipywidgets
when they are installed, else as text answered with ``%diagnose answer …``:
nothing ever waits for input, so a cell run by nobody (nbclient, papermill,
"Run all") is never blocked.

``%diagnose`` re-explains the last exception, ``%diagnose check`` looks for
known LoRA mistakes in the live objects of the namespace, ``%diagnose report``
prints the issue-ready Markdown of the last exception.  ``%unload_ext
diagnose`` removes the callback and the magic, leaving IPython as it was.

Nothing here may raise into the user's session: a diagnosis that fails says
so in one line on stderr.
"""

from __future__ import annotations

import difflib
import os
import sys
import tempfile
from pathlib import Path
from types import FrameType
from typing import Any

MAGIC = "diagnose"
RECENT_CELLS = 20  # earlier cells searched for the statement a patch changes (the LoraConfig cell)
USAGE = "usage: %diagnose [check | report | answer TEXT | help]"

_extension: NotebookExtension | None = None


def load_ipython_extension(shell) -> None:
    global _extension
    if _extension is not None and _extension.shell is shell:
        return  # %load_ext twice: one callback, not two
    if _extension is not None:
        _extension.uninstall()
    _extension = NotebookExtension(shell)
    _extension.install()


def unload_ipython_extension(shell) -> None:
    global _extension
    if _extension is not None:
        _extension.uninstall()
    _extension = None


class NotebookExtension:
    """The callback and the magic of one IPython shell, and what they remember between cells."""

    def __init__(self, shell) -> None:
        self.shell = shell
        self.last_error: BaseException | None = None
        self.last_cell: tuple[int | None, str] = (None, "")
        self.last_report = None
        self.pending_question = None  # the QuizItem offered after the last diagnosis
        self._shadowed_magic = None  # a %diagnose magic that was there before, put back on unload

    # ------------------------------------------------------------ install / uninstall

    def install(self) -> None:
        self.shell.events.register("post_run_cell", self.after_cell)
        line_magics = self.shell.magics_manager.magics["line"]
        self._shadowed_magic = line_magics.get(MAGIC)
        self.shell.register_magic_function(self.magic, "line", MAGIC)

    def uninstall(self) -> None:
        try:
            self.shell.events.unregister("post_run_cell", self.after_cell)
        except ValueError:
            pass
        manager = self.shell.magics_manager
        line_magics = manager.magics["line"]
        if self._shadowed_magic is not None:
            line_magics[MAGIC] = self._shadowed_magic
        else:
            line_magics.pop(MAGIC, None)
            if getattr(manager.user_magics, MAGIC, None) is not None:
                delattr(manager.user_magics, MAGIC)

    # ------------------------------------------------------------ after a cell

    def after_cell(self, result) -> None:
        error = getattr(result, "error_in_exec", None)
        if error is None or isinstance(error, (KeyboardInterrupt, SystemExit)):
            return
        info = getattr(result, "info", None)
        self.last_error = error
        self.last_cell = (getattr(result, "execution_count", None), getattr(info, "raw_cell", "") or "")
        self.explain(error)

    def explain(self, error: BaseException) -> None:
        """Diagnose ``error`` and show it; one line on stderr if that fails, never an exception."""
        try:
            report, cell_patch = diagnose_exception(self.shell, error, self.last_cell)
            self.last_report = report
            self.show(report, cell_patch)
            self.offer_question(report)
        except KeyboardInterrupt:
            print("lora-diagnose: diagnosis interrupted", file=sys.stderr)
        except BaseException as failure:  # noqa: BLE001 - the user's session must never see our error
            _one_line_failure(failure)

    # ------------------------------------------------------------ showing

    def show(self, report, cell_patch: CellPatch | None) -> None:
        if _is_terminal(self.shell):
            from rich.console import Console

            from diagnose.present import render_report

            console = Console()
            render_report(report, console)
            if cell_patch:
                from rich.markdown import Markdown

                console.print(Markdown(cell_patch.markdown()))
            return
        from diagnose.present import report_markdown

        markdown = report_markdown(report)
        if cell_patch:
            markdown += "\n" + cell_patch.markdown()
        _display({"text/markdown": markdown, "text/html": markdown_html(markdown), "text/plain": markdown})

    def offer_question(self, report) -> None:
        """One question about the error just diagnosed; shown, never waited for."""
        if not report.diagnoses:
            return
        item = quiz_item(report)
        self.pending_question = item
        if item is None:
            return
        if not _is_terminal(self.shell) and _widgets_available():
            _display_widget(question_widget(item))
            return
        lines = [f"**Check your understanding** (optional) — {item.question.question}", ""]
        lines += [f"{i}. {choice}" for i, choice in enumerate(item.question.choices, 1)]
        lines += ["", "Answer with `%diagnose answer YOUR ANSWER` (a choice's number or text); nothing waits for it."]
        text = "\n".join(lines)
        if _is_terminal(self.shell):
            from rich.console import Console
            from rich.markdown import Markdown

            Console().print(Markdown(text))
        else:
            _display({"text/markdown": text, "text/html": markdown_html(text), "text/plain": text})

    # ------------------------------------------------------------ %diagnose

    def magic(self, line: str = "") -> None:
        """%diagnose [check | report | answer TEXT | help]: the last exception again, preflight on live objects…"""
        try:
            command, _, rest = line.strip().partition(" ")
            if command == "":
                error = self.last_error or getattr(sys, "last_exc", None) or getattr(sys, "last_value", None)
                if error is None:
                    print("lora-diagnose: no exception yet in this session")
                    return
                self.explain(error)
            elif command == "check":
                self.show_checks(live_checks(self.shell))
            elif command == "answer":
                self.answer(rest)
            elif command == "report":
                self.show_issue_report()
            elif command in ("help", "-h", "--help"):
                print(USAGE)
            else:
                print(f"lora-diagnose: unknown %diagnose command {command!r}; {USAGE}")
        except BaseException as failure:  # noqa: BLE001
            _one_line_failure(failure)

    def show_checks(self, findings: list[LiveFinding]) -> None:
        if not findings:
            text = "lora-diagnose check: no known LoRA mistakes found in the live models, configs and tokenizers."
        else:
            lines = ["## lora-diagnose check", ""]
            for finding in findings:
                lines.append(f"- **{finding.entry_id}**: {finding.message}. Fix: {finding.fix}")
            text = "\n".join(lines)
        if _is_terminal(self.shell):
            from rich.console import Console
            from rich.markdown import Markdown

            Console().print(Markdown(text))
        else:
            _display({"text/markdown": text, "text/html": markdown_html(text), "text/plain": text})

    def answer(self, text: str) -> None:
        item = self.pending_question
        if item is None:
            print("lora-diagnose: no question is waiting for an answer")
            return
        if not text.strip():
            print(f"lora-diagnose: {USAGE}")
            return
        print(answer_question(item, text))
        self.pending_question = None

    def show_issue_report(self) -> None:
        if self.last_report is None:
            print("lora-diagnose: no diagnosis yet in this session")
            return
        from diagnose.bugreport import issue_markdown, material_from_report

        cell = self.last_cell[1]
        material = material_from_report(self.last_report, command=_cell_command(self.last_cell[0]), script_text=cell)
        text = issue_markdown(material)
        if _is_terminal(self.shell):
            print(text)
        else:
            _display({"text/markdown": text, "text/plain": text})


# ---------------------------------------------------------------- diagnosis of a live exception


def diagnose_exception(shell, error: BaseException, cell: tuple[int | None, str]):
    """(Report, CellPatch or None) for a live exception: the same capture, engine and advisors as `diagnose run`."""
    from diagnose import workflow
    from diagnose.capture.hookdir._diagnose_capture import capture_record, scrub
    from diagnose.engine import diagnose_incident, incident_from_capture

    capture = capture_record(error)
    capture["traceback_text"] = scrub(capture.get("traceback_text", ""))
    incident = incident_from_capture(capture, command=_cell_command(cell[0]))
    kb = workflow.load_knowledge([])
    report = diagnose_incident(incident, kb)
    try:
        cell_patch = patch_cells(shell, report, kb, cell)
    except Exception:  # noqa: BLE001 - a patch is a bonus: the diagnosis stands without one
        cell_patch = None
    serialized = report.to_json()
    try:
        workflow.save_last_report(report, serialized)
    except OSError:
        pass
    warning = workflow.record_history(report, incident.command, serialized)  # `diagnose quiz` brings it back
    if warning:
        print(f"lora-diagnose: warning: {warning}", file=sys.stderr)
    return report, cell_patch


def _cell_command(count: int | None) -> list[str]:
    return ["ipython", f"In[{count}]" if count is not None else "cell"]


class CellPatch:
    """A patch of one notebook cell: the corrected cell to copy, and the diff."""

    def __init__(self, label: str, title: str, old: str, new: str, safety: str, safety_reason: str) -> None:
        self.label, self.title, self.old, self.new = label, title, old, new
        self.safety, self.safety_reason = safety, safety_reason

    @property
    def diff(self) -> str:
        return "".join(
            difflib.unified_diff(
                _with_newline(self.old).splitlines(keepends=True),
                _with_newline(self.new).splitlines(keepends=True),
                fromfile=f"{self.label} (as run)",
                tofile=f"{self.label} (corrected)",
            )
        )

    def markdown(self) -> str:
        return "\n".join(
            [
                f"### Corrected cell {self.label}: {self.title}",
                "",
                f"[{self.safety}] {self.safety_reason}. Not applied: copy it into the cell and run it again.",
                "",
                "```python",
                self.new.rstrip("\n"),
                "```",
                "",
                "```diff",
                self.diff.rstrip("\n"),
                "```",
                "",
            ]
        )


def _with_newline(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


def patch_cells(shell, report, kb, cell: tuple[int | None, str]) -> CellPatch | None:
    """The best diagnosis's patch, computed on the failing cell, else on the most recent earlier cell it fits.

    The patchers edit files and find the failing statement through the traceback's frames, so each
    candidate cell is written to a temporary file and the frames of that cell point to it.
    """
    if not report.diagnoses:
        return None
    from diagnose import advisors, patches

    best = report.diagnoses[0]
    loaded = kb.entries.get(best.id)
    if loaded is None or best.id not in patches.PATCHERS:
        return None
    advice = advisors.advise(loaded.advisor, report.incident)
    with tempfile.TemporaryDirectory(prefix="diagnose-cell-") as folder:
        for label, source, cell_file in _candidate_cells(shell, cell):
            path = Path(folder) / "cell.py"
            path.write_text(_with_newline(source), encoding="utf-8")
            incident = _frames_moved(report.incident, cell_file, str(path)) if cell_file else report.incident
            patch = patches.propose(best.id, str(path), incident, advice)
            if patch is not None:
                return CellPatch(label, patch.title, source, patch.new_text, patch.safety, patch.safety_reason)
    return None


def _candidate_cells(shell, cell: tuple[int | None, str]):
    """(label, raw source, the file name IPython compiled it under) of the failing cell, then earlier ones."""
    count, source = cell
    names = _cell_file_names(shell)
    history = getattr(getattr(shell, "history_manager", None), "input_hist_raw", None) or []
    if source:
        yield (
            (f"In[{count}]" if count is not None else "the failing cell"),
            source,
            (names.get(count) if count is not None else None),
        )
    if count is None:
        return
    for number in range(count - 1, max(0, count - 1 - RECENT_CELLS), -1):
        if number < len(history) and history[number].strip():
            yield f"In[{number}]", history[number], names.get(number)


def _cell_file_names(shell) -> dict[int, str]:
    """Execution count -> the file name IPython compiled that cell under (IPython 8+; empty before)."""
    mapping = getattr(getattr(shell, "compile", None), "_filename_map", None) or {}
    return {number: name for name, number in mapping.items() if isinstance(number, int)}


def _frames_moved(incident, old: str, new: str):
    """The incident with frames of file ``old`` pointing to ``new`` (a copy; the report keeps its own)."""
    from diagnose.incident import Incident

    def moved(exception):
        frames = tuple(f._replace(file=new) if f.file == old else f for f in exception.frames)
        return exception._replace(frames=frames)

    return Incident(
        source=incident.source,
        exception=moved(incident.exception) if incident.exception else None,
        chain=[moved(e) for e in incident.chain],
        text=incident.text,
        probes=incident.probes,
        command=incident.command,
    )


# ---------------------------------------------------------------- %diagnose check on live objects


class LiveFinding:
    __slots__ = ("entry_id", "message", "fix")

    def __init__(self, entry_id: str, message: str, fix: str) -> None:
        self.entry_id, self.message, self.fix = entry_id, message, fix


def live_probes(shell) -> dict[str, Any]:
    """The capture hook's probes, run on the frame whose namespace is the user's (the cell calling the magic)."""
    from diagnose.capture.hookdir._diagnose_capture import _Deadline, _probe_all

    frame: FrameType | None = sys._getframe()
    while frame is not None and frame.f_globals is not shell.user_ns:
        frame = frame.f_back
    if frame is None:
        return {}
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _probe_all()(None, [frame], _Deadline(2.0))


def live_checks(shell) -> list[LiveFinding]:
    """Known LoRA mistakes visible in the live objects, before the cell that would fail is run."""
    probes = live_probes(shell)
    findings = _target_module_findings(probes)
    findings += _pad_token_findings(probes)
    findings += _trainable_findings(probes)
    return findings


def _target_module_findings(probes: dict[str, Any]) -> list[LiveFinding]:
    from diagnose.advisors.target_modules import _wrappable, closest

    bases = [m for m in probes.get("models", []) if not m.get("is_peft") and m.get("suffixes")]
    if not bases:
        return []
    model = bases[0]
    wrappable = sorted(_wrappable(model))
    found = []
    for config in probes.get("peft_configs", []):
        if "adapter" in config:
            continue  # already applied to a model: get_peft_model accepted it
        targets = config.get("fields", {}).get("target_modules")
        if isinstance(targets, str):
            continue  # a regex: peft matches it against full names, not checked here
        if not isinstance(targets, list) or not targets:
            continue
        missing = [t for t in targets if t not in model["suffixes"]]
        if missing and len(missing) == len(targets):
            label = model.get("model_type") or model.get("class")
            hints = "; ".join(f"{t} → {', '.join(closest(t, wrappable)) or '?'}" for t in missing)
            found.append(
                LiveFinding(
                    "peft-target-modules-not-found",
                    f"`{config.get('variable', 'the LoRA config')}` targets {', '.join(missing)}, "
                    f"which your {label} does not have (its LoRA-wrappable layers: {', '.join(wrappable)})",
                    f"target_modules=[{', '.join(repr(n) for n in _first_suggestion(missing, wrappable))}] "
                    f"(closest: {hints})",
                )
            )
    return found


def _first_suggestion(missing: list[str], wrappable: list[str]) -> list[str]:
    from diagnose.advisors.target_modules import closest

    picks = [c[0] for c in (closest(t, wrappable) for t in missing) if c]
    return list(dict.fromkeys(picks)) or wrappable[:1]


def _pad_token_findings(probes: dict[str, Any]) -> list[LiveFinding]:
    found = []
    for tokenizer in probes.get("tokenizers", []):
        if tokenizer.get("pad_token") is None:
            var = tokenizer.get("variable", "tokenizer")
            eos = tokenizer.get("eos_token")
            fix = f"{var}.pad_token = {var}.eos_token" if eos else f"{var}.add_special_tokens({{'pad_token': '[PAD]'}})"
            found.append(
                LiveFinding(
                    "pad-token-missing",
                    f"`{var}` ({tokenizer.get('class')}) has no pad token: padding a batch will raise",
                    fix,
                )
            )
    return found


def _trainable_findings(probes: dict[str, Any]) -> list[LiveFinding]:
    found = []
    for model in probes.get("models", []):
        parameters = model.get("parameters") or {}
        if model.get("is_peft") and parameters.get("total") and parameters.get("trainable") == 0:
            var = (model.get("variables") or ["model"])[0]
            found.append(
                LiveFinding(
                    "empty-optimizer",
                    f"`{var}` ({model.get('class')}) has no trainable parameter: the optimizer would get none",
                    "create the PeftModel with get_peft_model in training mode (not inference_mode=True), "
                    "or load the adapter with is_trainable=True",
                )
            )
    return found


# ---------------------------------------------------------------- the question


def quiz_item(report):
    from diagnose.quiz.session import QuizEngine, load_entries
    from diagnose.quiz.store import ProgressStore, now_utc

    with ProgressStore() as store:
        engine = QuizEngine(load_entries(), store)
        return engine.for_diagnosis([d.id for d in report.diagnoses[:1]], report.incident.probes, now_utc())


def answer_question(item, text: str) -> str:
    """Grade and record an answer in the same progress store as the CLI; the result as plain text."""
    from rich.console import Console

    from diagnose.quiz.command import show_result
    from diagnose.quiz.session import QuizEngine, load_entries
    from diagnose.quiz.store import ProgressStore, now_utc

    with ProgressStore() as store:
        result = QuizEngine(load_entries(), store).answer(item, text, now_utc())
    console = Console(record=True, width=100, file=open(os.devnull, "w"))  # noqa: SIM115 - closed below
    try:
        show_result(console, result)
        return console.export_text().rstrip()
    finally:
        console.file.close()


def _widgets_available() -> bool:
    try:
        import ipywidgets  # noqa: F401
    except Exception:  # noqa: BLE001 - missing or broken: the text prompt instead
        return False
    return True


def question_widget(item):
    """The question as ipywidgets: choices or a text box, a Check button, the graded result below."""
    import html

    import ipywidgets as widgets

    question = widgets.HTML(
        f"<b>Check your understanding</b> (optional)<br>{html.escape(item.question.question)}",
    )
    if item.question.choices:
        answer_box = widgets.RadioButtons(options=list(item.question.choices), value=None)
    else:
        answer_box = widgets.Textarea(placeholder="your answer", layout=widgets.Layout(width="100%"))
    button = widgets.Button(description="Check")
    output = widgets.Output()

    def on_click(_button) -> None:
        with output:
            try:
                text = answer_box.value or ""
                if not text.strip():
                    print("Nothing to check yet.")
                    return
                print(answer_question(item, text))
                button.disabled = True
            except BaseException as failure:  # noqa: BLE001
                _one_line_failure(failure)

    button.on_click(on_click)
    return widgets.VBox([question, answer_box, button, output])


# ---------------------------------------------------------------- output helpers


def markdown_html(markdown: str) -> str:
    """The Markdown as HTML (markdown-it, which Rich already depends on), for front-ends that render HTML."""
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(markdown)
    return f'<div class="lora-diagnose">{body}</div>'


def _display(bundle: dict[str, str]) -> None:
    from IPython.display import display

    display(bundle, raw=True)


def _display_widget(widget) -> None:
    from IPython.display import display

    display(widget)


def _is_terminal(shell) -> bool:
    """Terminal IPython (Rich text) rather than a kernel behind a notebook front-end (display bundles)."""
    return any(k.__name__ == "TerminalInteractiveShell" for k in type(shell).__mro__)


def _one_line_failure(failure: BaseException) -> None:
    try:
        from diagnose.capture.hookdir._diagnose_capture import scrub

        detail = scrub(f"{type(failure).__name__}: {failure}".splitlines()[0][:200])
        print(f"lora-diagnose: the diagnosis itself failed ({detail}); your session is unaffected", file=sys.stderr)
    except BaseException:  # noqa: BLE001
        pass
