"""The diagnosis panel: what went wrong, why, what the run showed, and the fixes (with the patch)."""

from __future__ import annotations

from pathlib import Path

from diagnose.tui import patching
from diagnose.tui.messages import ApplyPatch, ShowEvidence
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Collapsible, Markdown, Static

from diagnose.report import Diagnosis, Finding, Report, abstention_facts

SAFETY_STYLE = {"safe": "green", "unsafe": "red", "manual": "yellow"}
ALTERNATIVES = 3


class DiagnosisPanel(VerticalScroll):
    """Shows one report: the best diagnosis in full, a few alternatives, or a plain abstention."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.report: Report | None = None

    def compose(self) -> ComposeResult:
        yield Static("No diagnosis yet: it appears here when the run fails.", classes="placeholder")

    async def show_waiting(self, text: str) -> None:
        self.report = None
        await self.remove_children()
        await self.mount(Static(text, classes="placeholder"))

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
            Static(Text(best.title, style="bold"), classes="diagnosis-title"),
            Static(
                Text.assemble(
                    ("confidence ", "dim"),
                    (f"{best.confidence:.2f}", "bold"),
                    ("   ", ""),
                    (best.id, "cyan"),
                    ("" if best.origin == "shipped" else f"   from {best.origin}", "dim"),
                ),
                classes="diagnosis-meta",
            ),
            Horizontal(
                Static(Text.assemble(("evidence: ", "dim"), best.evidence), classes="evidence"),
                Button("Show in log", id="show-evidence", compact=True),
                classes="evidence-row",
            ),
        ]
        if best.version_note:
            widgets.append(Static(Text(best.version_note), classes="note warning"))
        # What is specific to this run first (findings, fixes, the patch), then the general why.
        for finding in best.findings:
            widgets.extend(_finding(finding))
        if best.advisor_note:
            widgets.append(Static(Text(best.advisor_note, style="italic"), classes="note"))
        widgets.append(Static("Fixes", classes="section"))
        for number, fix in enumerate(best.fixes, 1):
            header = f"{number}. {fix.title}  [{fix.safety}]" + ("  (for your run)" if fix.tailored else "")
            widgets.append(
                Collapsible(
                    Static(
                        Text.assemble((fix.safety, SAFETY_STYLE.get(fix.safety, "")), ": ", fix.safety_reason),
                        classes="safety",
                    ),
                    Markdown(fix.body),
                    title=header,
                    collapsed=number > 1,
                    classes=f"fix safety-{fix.safety}",
                )
            )
        if best.patch:
            widgets.append(self._patch(best))
        widgets.append(Static("Why", classes="section"))
        widgets.append(Markdown(best.why, classes="why"))
        if others:
            names = ", ".join(f"{d.id} ({d.confidence:.2f})" for d in others[:ALTERNATIVES])
            widgets.append(Static(Text.assemble(("Also possible: ", "dim"), names), classes="alternatives"))
        if best.quiz:
            widgets.append(
                Static(Text("Check your understanding: press 3 for the quiz.", style="dim"), classes="quiz-hint")
            )
        return widgets

    def _patch(self, best: Diagnosis) -> Collapsible:
        patch = best.patch
        name = Path(patch.path).name
        parts: list = [
            Static(
                Text.assemble((patch.safety, SAFETY_STYLE.get(patch.safety, "")), ": ", patch.safety_reason),
                classes="safety",
            ),
            Static(
                Syntax(patch.diff, "diff", theme="ansi_dark", background_color="default", word_wrap=False),
                classes="diff",
            ),
        ]
        if patching.applier() is not None:
            parts.append(
                Horizontal(
                    Button("Apply", id="apply", variant="warning", compact=True),
                    Button("Apply and rerun", id="apply-rerun", variant="primary", compact=True),
                    classes="patch-buttons",
                )
            )
        else:
            parts.append(
                Static(
                    Text(
                        "Applying patches is not available in this installation; edit the script as the diff shows.",
                        style="dim",
                    )
                )
            )
        return Collapsible(*parts, title=f"Patch for {name}: {patch.title}", collapsed=False, id="patch")

    def _abstention(self, report: Report) -> list:
        lines = abstention_facts(report.incident)
        return [
            Static(Text("No confident diagnosis", style="bold"), classes="diagnosis-title"),
            Static(Text("\n".join(lines)), classes="abstain-detail"),
            Static(
                "Nothing in the knowledge base matched well enough, and a wrong diagnosis is worse than none.",
                classes="abstain-detail",
            ),
            Markdown(
                "When you find the cause, turn it into a knowledge-base entry so the next person gets "
                "the answer:\n\n```\ndiagnose kb new ID --from-traceback FILE\n```\n\n"
                "Save this traceback to a file for that with the button below."
            ),
            Button("Save traceback for a KB entry", id="save-traceback", compact=True),
        ]

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


def _finding(finding: Finding) -> list:
    out: list = [Static(Text(finding.title, style="bold"), classes="finding-title")]
    if finding.text:
        out.append(Markdown(finding.text, classes="finding-text"))
    if finding.rows:
        table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold dim", expand=False)
        for column in finding.columns:
            table.add_column(Text(str(column)))
        for row in finding.rows:
            table.add_row(*(Text(str(cell)) for cell in row))
        out.append(Static(table, classes="finding-table"))
    return out
