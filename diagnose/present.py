"""Reports as text: Rich for a terminal, Markdown for anything else.  The JSON form is Report.to_json.

Both say the same things in the same order: what is specific to this run
first (findings, the tailored fix), then the general why.  The Markdown form
is what a log file, a pipe or a CI job gets: no box drawing, no wrapping at
the terminal's width, ready to paste into an issue; and it does not import
Rich (~40-80 ms), so ``diagnose explain FILE 2>out.md`` starts as fast as
``--json``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from diagnose.report import Diagnosis, Finding, Report, abstention_facts

if TYPE_CHECKING:
    from rich.console import Console

SAFETY_STYLE = {"safe": "green", "unsafe": "red", "manual": "yellow"}
SHOWN_ALTERNATIVES = 2
ABSTAIN_WHY = "Nothing in the knowledge base matched well enough — a wrong diagnosis is worse than none."
ABSTAIN_NEXT = "If you find the cause, turn it into an entry: diagnose kb new ID --from-traceback FILE"


# ---------------------------------------------------------------- Markdown (no Rich)


def report_markdown(report: Report, *, verbose: bool = False) -> str:
    """The report as Markdown text, for output that is not a terminal."""
    if not report.diagnoses:
        lines = ["## lora-diagnose: no confident diagnosis", ""]
        lines += [f"- {fact}" for fact in abstention_facts(report.incident)]
        lines += ["", ABSTAIN_WHY, ABSTAIN_NEXT]
        return "\n".join(lines) + "\n"
    best, *others = report.diagnoses
    lines = _diagnosis_markdown(best, verbose=verbose)
    if others:
        alternatives = ", ".join(f"{d.id} ({d.confidence:.2f})" for d in others[:SHOWN_ALTERNATIVES])
        lines += ["", f"Also possible: {alternatives} — diagnose kb show ID"]
    if report.incident.signal:
        lines += ["", f"**The process was killed by {report.incident.signal}.**"]
    return "\n".join(lines) + "\n"


def _diagnosis_markdown(diagnosis: Diagnosis, *, verbose: bool) -> list[str]:
    lines = [
        f"## lora-diagnose: {diagnosis.title}",
        "",
        f"confidence {diagnosis.confidence:.2f} · `{diagnosis.id}`  ",
        f"evidence: {diagnosis.evidence}",
    ]
    if diagnosis.version_note:
        lines += ["", f"> {diagnosis.version_note}"]
    for finding in diagnosis.findings:
        lines += ["", f"### {finding.title}"]
        if finding.text:
            lines += ["", finding.text.strip()]
        if finding.rows:
            lines += ["", _table_markdown(finding)]
    if diagnosis.advisor_note:
        lines += ["", f"_{diagnosis.advisor_note}_"]
    lines += ["", "### How to fix it"]
    for number, fix in enumerate(diagnosis.fixes, 1):
        tailored = " (computed for your run)" if fix.tailored else ""
        lines += ["", f"{number}. **{fix.title}** [{fix.safety}] {fix.safety_reason}{tailored}"]
        if number == 1 or verbose:
            lines += ["", fix.body.strip()]
    if diagnosis.patch:
        lines += [
            "",
            f"Patch ready for {diagnosis.patch.path}: {diagnosis.patch.title} — review and apply with `diagnose fix`",
        ]
    why = diagnosis.why if verbose else _first_paragraph(diagnosis.why)
    lines += ["", "### Why", "", why.strip()]
    more = _more(diagnosis, verbose)
    if more:
        lines += ["", "More: " + " · ".join(more)]
    return lines


def _table_markdown(finding: Finding) -> str:
    def row(cells: list[str]) -> str:
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

    width = max(len(finding.columns), *(len(r) for r in finding.rows))
    header = list(finding.columns) + [""] * (width - len(finding.columns))
    return "\n".join(
        [row(header), "|" + "---|" * width] + [row(list(r) + [""] * (width - len(r))) for r in finding.rows]
    )


def _more(diagnosis: Diagnosis, verbose: bool) -> list[str]:
    more = [] if verbose else [f"diagnose kb show {diagnosis.id} (the whole story)", "-v (every fix in full)"]
    if diagnosis.quiz:
        more.append(f"diagnose quiz --entry {diagnosis.id} (check your understanding)")
    return more


# ---------------------------------------------------------------- Rich (a terminal)


def render_report(report: Report, console: Console, *, verbose: bool = False) -> None:
    from rich.text import Text

    incident = report.incident
    if not report.diagnoses:
        render_abstention(report, console)
        return
    best, *others = report.diagnoses
    render_diagnosis(best, console, verbose=verbose)
    if others:
        alternatives = ", ".join(f"{d.id} ({d.confidence:.2f})" for d in others[:SHOWN_ALTERNATIVES])
        console.print(
            Text.assemble(("Also possible: ", "dim"), (alternatives, "dim"), ("  — diagnose kb show ID", "dim"))
        )
    if incident.signal:
        console.print(f"[bold]The process was killed by {incident.signal}.[/]")


def render_abstention(report: Report, console: Console) -> None:
    from rich.panel import Panel

    lines = abstention_facts(report.incident)
    lines += [ABSTAIN_WHY, ABSTAIN_NEXT]
    console.print(Panel("\n".join(lines), title="lora-diagnose", title_align="left", border_style="dim"))


def render_diagnosis(diagnosis: Diagnosis, console: Console, *, verbose: bool = False) -> None:
    """What is specific to this run first (findings, the tailored fix), then the general why."""
    from rich.console import Group
    from rich.markdown import Markdown
    from rich.panel import Panel
    from rich.text import Text

    header = Text.assemble(
        (diagnosis.title, "bold"),
        ("   confidence ", "dim"),
        (f"{diagnosis.confidence:.2f}", "bold"),
        ("   ", ""),
        (diagnosis.id, "cyan"),
    )
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
        console.print(
            Text.assemble(
                (f"{number}. ", "bold"),
                (fix.title, "bold"),
                ("  [", ""),
                (fix.safety, style),
                ("] ", ""),
                (fix.safety_reason, "dim"),
                ("  (computed for your run)" if fix.tailored else "", "cyan"),
            )
        )
        if number == 1 or verbose:
            console.print(Markdown(fix.body))
    if diagnosis.patch:
        console.print(
            Text.assemble(
                ("Patch ready for ", ""),
                (diagnosis.patch.path, "bold"),
                (": ", ""),
                (diagnosis.patch.title, ""),
                ("  — review and apply with ", "dim"),
                ("diagnose fix", "bold cyan"),
            )
        )
    console.print()
    console.print(Text("Why", style="bold underline"))
    why = diagnosis.why if verbose else _first_paragraph(diagnosis.why)
    console.print(Markdown(why))
    more = _more(diagnosis, verbose)
    if more:
        console.print(Text("More: " + " · ".join(more), style="dim"))


def _first_paragraph(markdown: str) -> str:
    return markdown.strip().split("\n\n", 1)[0]


def render_finding(finding: Finding, console: Console) -> None:
    from rich.markdown import Markdown
    from rich.table import Table
    from rich.text import Text

    console.print()
    console.print(Text(finding.title, style="bold"))
    if finding.text:
        console.print(Markdown(finding.text))
    if finding.rows:
        table = Table(*finding.columns, show_edge=False, pad_edge=False, box=None, header_style="dim")
        for row in finding.rows:
            table.add_row(*row)
        console.print(table)
