"""Score every KB entry against an incident; best first; abstain when unconvinced.

Scores are comparable across entries because they come from one fixed scale
of evidence (see ``BASE``), scaled by the rule's own ``weight``.  A wrong
diagnosis is worse than none, so candidates under ``THRESHOLD`` are dropped.
"""

from __future__ import annotations

import builtins

from diagnose.incident import ExceptionInfo, Incident
from diagnose.kb.loader import CompiledRule, KnowledgeBase, LoadedEntry, Pattern
from diagnose.origin import raised_in

THRESHOLD = 0.6
CHAIN_FACTOR = 0.9  # an earlier exception of the chain is good evidence, the final one better
BASE = {
    ("exception", "message"): 1.0,
    ("message",): 0.9,
    ("exception", "text"): 0.95,
    ("text",): 0.8,
    ("library-exception",): 0.75,
    ("builtin-exception",): 0.4,
}
_BUILTIN = {n for n, v in vars(builtins).items() if isinstance(v, type) and issubclass(v, BaseException)}


class Candidate:
    """An entry that matched, with how sure we are and why (a plain class: see kb/loader.py)."""

    __slots__ = ("entry", "confidence", "evidence", "matched", "rule_index")

    def __init__(self, entry: LoadedEntry, confidence: float, evidence: str, matched: str, rule_index: int) -> None:
        self.entry, self.confidence, self.evidence = entry, confidence, evidence
        self.matched = matched  # the text the rule matched, for highlighting
        self.rule_index = rule_index

    @property
    def id(self) -> str:
        return self.entry.id

    def __repr__(self) -> str:
        return f"Candidate({self.id!r}, {self.confidence}, {self.evidence!r})"


def match(incident: Incident, kb: KnowledgeBase, threshold: float = THRESHOLD) -> list[Candidate]:
    found = []
    screen = _Screen(incident)
    origin = raised_in(incident)
    for loaded in kb:
        best = None
        for rule in loaded.rules:
            if not screen.may_hit(rule):
                continue
            if rule.origin and origin and rule.origin != origin:
                continue  # the frames contradict the rule: its error was raised on the other side
            hit = _score_rule(rule, incident)
            if hit and (best is None or hit.confidence > best.confidence):
                best = Candidate(loaded, hit.confidence, hit.evidence, hit.matched, rule.index)
        if best and best.confidence >= threshold:
            found.append(best)
    found.sort(key=lambda c: (-c.confidence, c.id))
    return found


class _Screen:
    """A cheap, exact pre-check per rule: a rule whose required literals are absent, or whose
    exception classes are not in the incident, cannot hit, so it is not scored at all.
    With 1,000 entries this skips almost every rule (see bench/bench_explain.py)."""

    def __init__(self, incident: Incident):
        exceptions = incident.exceptions()
        self.text = incident.text
        self.messages = "\0".join([e.message for e in exceptions] + [" ".join(e.message.split()) for e in exceptions])
        self.names = set()
        for exc in exceptions:
            self.names |= {n.rsplit(".", 1)[-1] for n in exc.class_names()}
        self.has_exception = bool(exceptions)

    def may_hit(self, compiled: CompiledRule) -> bool:
        text, message = compiled.text, compiled.message
        if text is not None and text.needles is not None:
            for needle in text.needles:
                if needle in self.text:
                    break
            else:
                return False
        if message is not None:
            if not self.has_exception:
                return False
            if message.needles is not None:
                for needle in message.needles:
                    if needle in self.messages:
                        break
                else:
                    return False
        elif text is None and compiled.exception:
            if not self.has_exception:
                return False
            for name in compiled.exception:
                if name.rsplit(".", 1)[-1] in self.names:
                    return True
            return False
        return True


class _Hit:
    __slots__ = ("confidence", "evidence", "matched")

    def __init__(self, confidence: float, evidence: str, matched: str) -> None:
        self.confidence, self.evidence, self.matched = confidence, evidence, matched


def _score_rule(compiled: CompiledRule, incident: Incident) -> _Hit | None:
    weight = compiled.weight
    text_hit = None
    if compiled.text is not None:
        found = compiled.text.search(incident.text)
        if found is None:
            return None
        text_hit = found.group(0)
    if not compiled.exception and compiled.message is None:
        return _Hit(round(BASE[("text",)] * weight, 3), f"text matched /{_source(compiled.text)}/", text_hit or "")
    best = None
    for position, exc in enumerate(incident.exceptions()):
        factor = 1.0 if position == 0 else CHAIN_FACTOR
        hit = _score_exception(compiled, exc, text_hit)
        if hit and (best is None or hit.confidence * factor > best.confidence):
            where = "" if position == 0 else " (in the exception chain)"
            best = _Hit(round(hit.confidence * factor, 3), hit.evidence + where, hit.matched)
    return best


def _source(pattern: Pattern | None) -> str:
    return pattern.source if pattern is not None else ""


def _score_exception(compiled: CompiledRule, exc: ExceptionInfo, text_hit: str | None) -> _Hit | None:
    class_hit = _class_hit(compiled.exception, exc)
    message_hit = None
    if compiled.message is not None:
        found = compiled.message.search(exc.message) or compiled.message.search(" ".join(exc.message.split()))
        if found is None or not found.group(0).strip():
            return None  # a pattern that matches nothing (e.g. an empty message) is no evidence
        message_hit = found.group(0)
    if compiled.exception and class_hit is None:
        # A pasted library exception shows no MRO: a matching message still counts, as a message alone.
        unknown_mro = not exc.mro and exc.type not in _BUILTIN
        if message_hit is None or not unknown_mro:
            return None
        return _Hit(BASE[("message",)] * compiled.weight, f"message matched /{_source(compiled.message)}/", message_hit)
    key: tuple[str, ...]
    if compiled.exception and message_hit is not None:
        key = ("exception", "message")
    elif message_hit is not None:
        key = ("message",)
    elif text_hit is not None:
        key = ("exception", "text")
    else:
        key = ("builtin-exception",) if (class_hit or "").rsplit(".", 1)[-1] in _BUILTIN else ("library-exception",)
    parts = []
    if class_hit:
        via = "" if class_hit.rsplit(".", 1)[-1] == exc.type else f" (a base class of {exc.qualname})"
        parts.append(f"exception {class_hit}{via}")
    if message_hit is not None:
        parts.append(f"message matched /{_source(compiled.message)}/")
    if text_hit is not None:
        parts.append(f"text matched /{_source(compiled.text)}/")
    return _Hit(BASE[key] * compiled.weight, " and ".join(parts), message_hit or text_hit or exc.type)


def _class_hit(names: tuple[str, ...], exc: ExceptionInfo) -> str | None:
    """The first rule class name this exception answers to (bare names compare last components)."""
    if not names:
        return None
    own = {n.rsplit(".", 1)[-1] for n in exc.class_names()}
    for name in names:
        if name.rsplit(".", 1)[-1] in own:
            return name
    return None
