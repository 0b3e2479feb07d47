"""Incident -> Report: match against the KB, run the fired entries' advisors, add patches."""

from __future__ import annotations

from diagnose import advisors
from diagnose.incident import ExceptionInfo, Incident
from diagnose.kb.loader import KnowledgeBase, LoadedEntry
from diagnose.matcher import THRESHOLD, Candidate, match
from diagnose.report import Advice, Diagnosis, FixView, Report
from diagnose.textparse import normalize, parse_text

ADVISED = 3  # advisors run for the best few candidates only


def explain_text(
    text: str, kb: KnowledgeBase, captures: list[dict] | None = None, clock_skew_s: float | None = None
) -> Report:
    """Text (and capture files: ``explain --captures DIR``) -> Report; a multi-rank log is split by rank."""
    return diagnose_incident(incident_from_text(text, captures or [], clock_skew_s), kb)


def incident_from_text(text: str, captures: list[dict], clock_skew_s: float | None = None) -> Incident:
    if not captures:
        incident = parse_text(text)
    else:
        incident = incident_from_capture(captures[0], text)
    return _with_ranks(incident, captures, text, clock_skew_s)


def _with_ranks(incident: Incident, captures: list[dict], output: str, clock_skew_s: float | None) -> Incident:
    """For a failure of several processes: the root-cause rank's incident, carrying every rank's role."""
    several = len(captures) > 1 or any((c.get("world_size") or 1) > 1 for c in captures)
    if not several and not _looks_multiprocess(output):
        return incident  # one ordinary process: no rank analysis (and no cost)
    from diagnose import ranks

    failures = ranks.failures_from_captures(captures) + ranks.failures_from_text(output)
    skew = ranks.CLOCK_SKEW_S if clock_skew_s is None else clock_skew_s
    analysis = ranks.analyse(failures, skew)
    if analysis is None:
        return incident
    root = ranks.root_incident(analysis, incident)
    if root is not incident and root.source == "capture":
        root.text = normalize(root.text + "\n" + ranks.output_without_other_ranks(output, root.rank))
    root.exit_code = incident.exit_code
    root.signal = root.signal or incident.signal
    root.command = incident.command
    root.ranks = analysis
    return root


def _looks_multiprocess(text: str) -> bool:
    """A quick look before the rank analysis: rank prefixes, launcher tables, distributed errors."""
    return any(marker in text for marker in _MULTIPROCESS_MARKERS)


_MULTIPROCESS_MARKERS = (
    "[rank",
    "[default",
    "ChildFailedError",
    "local_rank",
    "srun: error",
    "exits with return code",
    "Watchdog",
    "by peer",
    "gloo",
    "NCCL",
    "ProcessGroup",
    ": Traceback (most recent call last)",
)


def incident_from_run(result) -> Incident:
    """A RunResult -> Incident: from the first capture if any, else from the output text."""
    output = result.tail.decode("utf-8", "replace")
    signal_name = result.signal_name
    if result.captures:
        incident = incident_from_capture(
            result.captures[0], output, exit_code=result.exit_code, signal=signal_name, command=result.command
        )
    else:
        incident = parse_text(output)
        incident.exit_code, incident.signal, incident.command = result.exit_code, signal_name, result.command
    return _with_ranks(incident, result.captures, output, None)


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
    # An advisor that found the evidence against its entry lowered its confidence: drop and re-rank.
    diagnoses = sorted((d for d in diagnoses if d.confidence >= THRESHOLD), key=lambda d: -d.confidence)
    if incident.ranks is not None and diagnoses:
        from diagnose.ranks import finding

        diagnoses[0].findings.insert(0, finding(incident.ranks))
    return Report(incident=incident, diagnoses=diagnoses, script=script)


def _diagnosis(candidate: Candidate, incident: Incident, script: str | None, advise: bool) -> Diagnosis:
    entry = candidate.entry  # read as loaded: building the typed schema Entry is not needed here
    advice = advisors.advise(entry.advisor, incident) if advise else None
    advice = advice or Advice()
    static = [FixView(f["title"], f["safety"], f["safety_reason"], f["body"]) for f in entry.fixes]
    tailored = {fix.title for fix in advice.fixes}  # a tailored fix replaces the static one of the same title
    static = [f for f in static if f.title not in tailored and (advice.static is None or f.title in advice.static)]
    patch = None
    if advise and script:
        from diagnose import patches  # libcst and difflib: only when there is a script to patch

        patch = patches.propose(entry.id, script, incident, advice)
    confidence, evidence = candidate.confidence, candidate.evidence
    if advice.fit < 1:
        confidence = round(confidence * max(advice.fit, 0.0), 3)
        evidence += f"; but {advice.fit_reason or 'the captured evidence contradicts it'}"
    return Diagnosis(
        id=entry.id,
        title=entry.title,
        confidence=confidence,
        evidence=evidence,
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
    """Say so when this entry was written for other library versions, or the message is an older release's."""
    from diagnose.wordings import old_wording_note

    exception = incident.exception
    wording = old_wording_note(loaded.id, exception.message if exception else "")
    scoped = loaded.versions
    if not scoped:
        return wording
    from diagnose.libfacts import installed_version, version_satisfies

    seen = incident.probes.get("versions", {})
    outside = []
    for package, spec in scoped.items():
        version = seen.get(package) or installed_version(package)
        if version is not None and version_satisfies(version, spec) is False:
            outside.append(f"{package} {spec} (you have {version})")
    if not outside:
        return wording
    note = "This entry was written for " + ", ".join(outside) + "; its advice may not fit your versions."
    return f"{note} {wording}" if wording else note
