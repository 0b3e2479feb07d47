"""Incident -> Report: match against the KB, run the fired entries' advisors, add patches."""

from __future__ import annotations

from diagnose import advisors
from diagnose.incident import ExceptionInfo, Incident
from diagnose.kb.loader import KnowledgeBase, LoadedEntry
from diagnose.matcher import Candidate, match
from diagnose.report import Advice, Diagnosis, FixView, Report
from diagnose.textparse import normalize, parse_text

ADVISED = 3  # advisors run for the best few candidates only


def explain_text(text: str, kb: KnowledgeBase) -> Report:
    return diagnose_incident(parse_text(text), kb)


def incident_from_run(result) -> Incident:
    """A RunResult -> Incident: from the first capture if any, else from the output text."""
    output = result.tail.decode("utf-8", "replace")
    signal_name = result.signal_name
    if result.captures:
        return incident_from_capture(
            result.captures[0], output, exit_code=result.exit_code, signal=signal_name, command=result.command
        )
    incident = parse_text(output)
    incident.exit_code, incident.signal, incident.command = result.exit_code, signal_name, result.command
    return incident


def incident_from_capture(
    capture: dict,
    output: str = "",
    *,
    exit_code: int | None = None,
    signal: str | None = None,
    command: list[str] | None = None,
) -> Incident:
    """A capture record (the hook's file, or one built in a live IPython kernel) -> Incident."""
    chain = [ExceptionInfo.from_dict(e) for e in capture.get("chain", [])]
    return Incident(
        source="capture",
        exception=ExceptionInfo.from_dict(capture["exception"]),
        chain=chain,
        text=normalize(capture.get("traceback_text", "") + "\n" + output),
        probes=capture.get("probes", {}),
        exit_code=exit_code,
        signal=signal,
        rank=capture.get("rank"),
        command=command,
    )


def diagnose_incident(incident: Incident, kb: KnowledgeBase, script: str | None = None) -> Report:
    candidates = match(incident, kb)
    diagnoses = [_diagnosis(c, incident, script, advise=i < ADVISED) for i, c in enumerate(candidates)]
    return Report(incident=incident, diagnoses=diagnoses, script=script)


def _diagnosis(candidate: Candidate, incident: Incident, script: str | None, advise: bool) -> Diagnosis:
    entry = candidate.entry  # read as loaded: building the typed schema Entry is not needed here
    advice = advisors.advise(entry.advisor, incident) if advise else None
    advice = advice or Advice()
    static = [FixView(f["title"], f["safety"], f["safety_reason"], f["body"]) for f in entry.fixes]
    patch = None
    if advise and script:
        from diagnose import patches  # libcst and difflib: only when there is a script to patch

        patch = patches.propose(entry.id, script, incident, advice)
    return Diagnosis(
        id=entry.id,
        title=entry.title,
        confidence=candidate.confidence,
        evidence=candidate.evidence,
        matched=candidate.matched,
        why=entry.why,
        fixes=advice.fixes + static,
        findings=advice.findings,
        patch=patch,
        quiz=entry.quiz_ids,
        version_note=version_note(entry, incident),
        advisor_note=advice.note,
        origin=entry.origin,
    )


def version_note(loaded: LoadedEntry, incident: Incident) -> str | None:
    """Say so when this entry was written for other library versions than the ones in use."""
    scoped = loaded.versions
    if not scoped:
        return None
    from diagnose.libfacts import installed_version, version_satisfies

    seen = incident.probes.get("versions", {})
    outside = []
    for package, spec in scoped.items():
        version = seen.get(package) or installed_version(package)
        if version is not None and version_satisfies(version, spec) is False:
            outside.append(f"{package} {spec} (you have {version})")
    if not outside:
        return None
    return "This entry was written for " + ", ".join(outside) + "; its advice may not fit your versions."
