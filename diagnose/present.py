"""Reports as terminal text (Rich).  The JSON form is Report.to_json."""

from __future__ import annotations

from rich.console import Console, Group
from rich.markdown import Markdown
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from diagnose.report import Diagnosis, Finding, Report, abstention_facts

SAFETY_STYLE = {"safe": "green", "unsafe": "red", "manual": "yellow"}
SHOWN_ALTERNATIVES = 2


def render_report(report: Report, console: Console, *, verbose: bool = False) -> None:
    incident = report.incident
    if not report.diagnoses:
        render_abstention(report, console)
        return
    best, *others = report.diagnoses
    render_diagnosis(best, console, verbose=verbose)
    if others:
        alternatives = ", ".join(f"{d.id} ({d.confidence:.2f})" for d in others[:SHOWN_ALTERNATIVES])
        console.print(Text.assemble(("Also possible: ", "dim"), (alternatives, "dim"),
                                    ("  — diagnose kb show ID", "dim")))
    if incident.signal:
        console.print(f"[bold]The process was killed by {incident.signal}.[/]")


def render_abstention(report: Report, console: Console) -> None:
    lines = abstention_facts(report.incident)
    lines.append("Nothing in the knowledge base matched well enough — a wrong diagnosis is worse than none.")
    lines.append("If you find the cause, turn it into an entry: diagnose kb new ID --from-traceback FILE")
    console.print(Panel("\n".join(lines), title="lora-diagnose", title_align="left", border_style="dim"))


def render_diagnosis(diagnosis: Diagnosis, console: Console, *, verbose: bool = False) -> None:
    """What is specific to this run first (findings, the tailored fix), then the general why."""
    header = Text.assemble((diagnosis.title, "bold"), ("   confidence ", "dim"), (f"{diagnosis.confidence:.2f}", "bold"),
                           ("   ", ""), (diagnosis.id, "cyan"))
    parts: list = [header, Text(f"evidence: {diagnosis.evidence}", style="dim")]
    if diagnosis.version_note:
        parts.append(Text(diagnosis.version_note, style="yellow"))
    console.print(Panel(Group(*parts), title="lora-diagnose", title_align="left", border_style="red"))
    for finding in diagnosis.findings:
        render_finding(finding, console)
    if diagnosis.advisor_note:
        console.print(Text(diagnosis.advisor_note, style="italic dim"))
    console.print()
    console.print(Text("How to fix it", style="bold underline"))
    for number, fix in enumerate(diagnosis.fixes, 1):
        style = SAFETY_STYLE.get(fix.safety, "")
        console.print(Text.assemble((f"{number}. ", "bold"), (fix.title, "bold"), ("  [", ""), (fix.safety, style),
                                    ("] ", ""), (fix.safety_reason, "dim"),
                                    ("  (computed for your run)" if fix.tailored else "", "cyan")))
        if number == 1 or verbose:
            console.print(Markdown(fix.body))
    if diagnosis.patch:
        console.print(Text.assemble(("Patch ready for ", ""), (diagnosis.patch.path, "bold"), (": ", ""),
                                    (diagnosis.patch.title, ""), ("  — review and apply with ", "dim"),
                                    ("diagnose fix", "bold cyan")))
    console.print()
    console.print(Text("Why", style="bold underline"))
    why = diagnosis.why if verbose else _first_paragraph(diagnosis.why)
    console.print(Markdown(why))
    more = [] if verbose else [f"diagnose kb show {diagnosis.id} (the whole story)", "-v (every fix in full)"]
    if diagnosis.quiz:
        more.append(f"diagnose quiz --entry {diagnosis.id} (check your understanding)")
    if more:
        console.print(Text("More: " + " · ".join(more), style="dim"))


def _first_paragraph(markdown: str) -> str:
    return markdown.strip().split("\n\n", 1)[0]


def render_finding(finding: Finding, console: Console) -> None:
    console.print()
    console.print(Text(finding.title, style="bold"))
    if finding.text:
        console.print(Markdown(finding.text))
    if finding.rows:
        table = Table(*finding.columns, show_edge=False, pad_edge=False, box=None, header_style="dim")
        for row in finding.rows:
            table.add_row(*row)
        console.print(table)
