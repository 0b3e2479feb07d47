"""The diagnosis panel: what went wrong, why, what the run showed, and the fixes (with the patch)."""

from __future__ import annotations

import re
from pathlib import Path

from diagnose.tui import patching
from diagnose.tui.messages import ApplyPatch, ShowEvidence
from diagnose.tui.widgets.lists import VIM_SCROLL_BINDINGS
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.widgets import Button, Collapsible, LoadingIndicator, Markdown, Static

from diagnose.report import Diagnosis, Finding, Report, abstention_facts

# Colours come from the theme; "unsafe" is also bold and underlined, so it reads without colour (NO_COLOR).
SAFETY_STYLE = {"safe": "$success", "unsafe": "$error bold underline", "manual": "$warning"}
CODE_STYLE = "bold $accent"
ALTERNATIVES = 3
EVIDENCE_WIDTH = 300
_CODE = re.compile(r"`([^`\n]+)`")
# Exits that are the program's own decision, not an error a KB entry could explain.
DELIBERATE_EXITS = {"SystemExit", "KeyboardInterrupt"}


def inline(text: str, style: str = "") -> Content:
    """Prose with `inline code` shown as code (no backticks), the rest in ``style``."""
    parts: list = []
    position = 0
    for match in _CODE.finditer(text):
        if match.start() > position:
            parts.append((text[position : match.start()], style))
        parts.append((match.group(1), f"{style} {CODE_STYLE}".strip()))
        position = match.end()
    parts.append((text[position:], style))
    return Content.assemble(*[part for part in parts if part[0]])


def evidence_line(diagnosis: Diagnosis) -> str:
    """The log line the diagnosis matched (its first non-blank line), else the rule's own words."""
    matched = next((line.strip() for line in (diagnosis.matched or "").splitlines() if line.strip()), "")
    line = matched or diagnosis.evidence
    return line if len(line) <= EVIDENCE_WIDTH else line[: EVIDENCE_WIDTH - 1] + "…"


class DiagnosisPanel(VerticalScroll):
    """Shows one report: the best diagnosis in full, a few alternatives, or a plain abstention."""

    BINDINGS = VIM_SCROLL_BINDINGS

    def __init__(self, *, id: str | None = None, can_rerun: bool = True) -> None:
        super().__init__(id=id)
        self.report: Report | None = None
        self.can_rerun = can_rerun  # a run screen can rerun after a patch; a reopened report cannot

    def compose(self) -> ComposeResult:
        yield Static("No diagnosis yet: it appears here when the run fails.", classes="placeholder")

    async def show_waiting(self, text: str | Content, busy: bool = False) -> None:
        """A line instead of a report (running, diagnosing, succeeded); ``busy`` adds a loading indicator."""
        self.report = None
        await self.remove_children()
        widgets: list = [Static(text, classes="placeholder")]
        if busy:
            widgets.append(LoadingIndicator(classes="busy"))
        await self.mount_all(widgets)

    async def show_report(self, report: Report) -> None:
        self.report = report
        await self.remove_children()
        if not report.diagnoses:
            await self.mount_all(self._abstention(report))
        else:
            await self.mount_all(self._diagnosis(report.diagnoses[0], report.diagnoses[1:]))
        self.scroll_home(animate=False)

    # -- building

    def _diagnosis(self, best: Diagnosis, others: list[Diagnosis]) -> list:
        widgets: list = [
            Static(Content.styled(best.title, "bold $error"), classes="diagnosis-title"),
            Static(
                Content.assemble(
                    ("confidence ", "$text-muted"),
                    (f"{best.confidence:.2f}", "bold"),
                    "   ",
                    (best.id, "$accent"),
                    ("" if best.origin == "shipped" else f"   from {best.origin}", "$text-muted"),
                ),
                classes="diagnosis-meta",
            ),
            Horizontal(
                Static(
                    Content.assemble(("evidence: ", "$text-muted"), (evidence_line(best), "bold")), classes="evidence"
                ),
                Button("Show in log", id="show-evidence", compact=True),
                classes="evidence-row",
            ),
        ]
        if best.version_note:
            widgets.append(Static(inline(best.version_note), classes="note warning"))
        # What is specific to this run first (findings, fixes, the patch), then the general why.
        for finding in best.findings:
            widgets.extend(_finding(finding))
        if best.advisor_note:
            widgets.append(Static(inline(best.advisor_note, "italic"), classes="note"))
        widgets.append(Static("Fixes", classes="section"))
        for number, fix in enumerate(best.fixes, 1):
            header = Content.assemble(
                f"{number}. ",
                inline(fix.title),
                "  ",
                (f"[{fix.safety}]", SAFETY_STYLE.get(fix.safety, "")),
                ("  (for your run)" if fix.tailored else "", "$text-muted"),
            )
            widgets.append(
                Collapsible(
                    Static(_safety(fix.safety, fix.safety_reason), classes="safety"),
                    Markdown(fix.body),
                    title=header,
                    collapsed=number > 1,
                    classes=f"fix safety-{fix.safety}",
                    id=f"fix-{number}",
                )
            )
        if best.patch:
            widgets.append(self._patch(best))
        widgets.append(Static("Why", classes="section"))
        widgets.append(Markdown(best.why, classes="why"))
        if others:
            names = ", ".join(f"{d.id} ({d.confidence:.2f})" for d in others[:ALTERNATIVES])
            widgets.append(Static(Content.assemble(("Also possible: ", "$text-muted"), names), classes="alternatives"))
        if best.quiz:
            widgets.append(Static(Content.styled("Check your understanding: press 3 for the quiz.", "$text-muted")))
        return widgets

    def _patch(self, best: Diagnosis) -> Collapsible:
        patch = best.patch
        name = Path(patch.path).name
        parts: list = [
            Static(_safety(patch.safety, patch.safety_reason), classes="safety"),
            Static(
                Syntax(patch.diff, "diff", theme="ansi_dark", background_color="default", word_wrap=False),
                classes="diff",
            ),
        ]
        if patching.applier() is not None:
            buttons = [Button("Apply", id="apply", variant="warning", compact=True)]
            if self.can_rerun:
                buttons.append(Button("Apply and rerun", id="apply-rerun", variant="primary", compact=True))
            parts.append(Horizontal(*buttons, classes="patch-buttons"))
            parts.append(Static("", id="patch-state"))
        else:
            parts.append(
                Static(
                    Content.styled(
                        "Applying patches is not available in this installation; edit the script as the diff shows.",
                        "$text-muted",
                    )
                )
            )
        return Collapsible(*parts, title=f"Patch for {name}: {patch.title}", collapsed=False, id="patch")

    def _abstention(self, report: Report) -> list:
        incident = report.incident
        facts = [line.replace("No confident diagnosis for ", "The error: ", 1) for line in abstention_facts(incident)]
        widgets: list = [
            Static(Content.styled("No confident diagnosis", "bold"), classes="diagnosis-title"),
            Static(Text("\n".join(facts)), classes="abstain-detail"),
            Static(
                "Nothing in the knowledge base matched well enough, and a wrong diagnosis is worse than none.",
                classes="abstain-detail",
            ),
        ]
        exception = incident.exception
        if exception is not None and exception.type not in DELIBERATE_EXITS:
            widgets += [
                Markdown(
                    "When you find the cause, turn it into a knowledge-base entry so the next person gets "
                    "the answer:\n\n```\ndiagnose kb new ID --from-traceback FILE\n```\n\n"
                    "Save this traceback to a file for that with the button below."
                ),
                Button("Save traceback for a KB entry", id="save-traceback", compact=True),
            ]
        return widgets

    # -- the patch's lifecycle

    def patch_applied(self, backup_name: str | None) -> None:
        """Applied: the buttons go (a second apply would be refused), ``u`` undoes it."""
        for button in self.query(".patch-buttons Button"):
            button.disabled = True
        kept = f"   (original kept in {backup_name})" if backup_name else ""
        self._patch_state(Content.assemble(("Applied ✓", "bold $success"), " · ", ("u", "bold"), " Undo", kept))

    def patch_undone(self) -> None:
        for button in self.query(".patch-buttons Button"):
            button.disabled = False
        self._patch_state(Content.assemble(("Undone", "bold"), ": the original script is back."))

    def _patch_state(self, content: Content) -> None:
        for state in self.query("#patch-state"):
            state.update(content)

    # -- events

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if self.report is None or not self.report.diagnoses:
            if event.button.id == "save-traceback" and self.report is not None:
                event.stop()
                self._save_traceback()
            return
        best = self.report.diagnoses[0]
        if event.button.id == "show-evidence":
            event.stop()
            self.post_message(ShowEvidence(best))
        elif event.button.id in ("apply", "apply-rerun") and best.patch:
            event.stop()
            self.post_message(ApplyPatch(best.patch, rerun=event.button.id == "apply-rerun"))

    def _save_traceback(self) -> None:
        from diagnose.paths import user_dir

        folder = user_dir() / "tracebacks"
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        number = len(list(folder.glob("traceback-*.txt"))) + 1
        path = folder / f"traceback-{number}.txt"
        path.write_text(self.report.incident.text, encoding="utf-8")
        self.app.notify(f"Saved. Next: diagnose kb new ID --from-traceback {path}", timeout=15)


def _safety(safety: str, reason: str) -> Content:
    return Content.assemble((safety, SAFETY_STYLE.get(safety, "")), ": ", inline(reason))


def _finding(finding: Finding) -> list:
    out: list = [Static(inline(finding.title, "bold"), classes="finding-title")]
    if finding.text:
        out.append(Markdown(finding.text, classes="finding-text"))
    if finding.rows:
        table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold", expand=False)
        for column in finding.columns:
            table.add_column(Text(str(column)))
        for row in finding.rows:
            table.add_row(*(Text(str(cell)) for cell in row))
        out.append(Static(table, classes="finding-table"))
    return out
