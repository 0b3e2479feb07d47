"""`diagnose kb search TEXT`: entries ranked by the words they share with TEXT.

Token overlap, weighted by where a word appears: the id and title count most,
then the match rules' messages, then the why, then the examples' texts.  A
word counts once per entry (the best field it is in); a query word that only
starts a word of the entry (``quant`` → ``quantization``) counts half.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from diagnose.kb.loader import KnowledgeBase, LoadedEntry

WEIGHTS = {"title": 3.0, "match": 2.0, "why": 1.0, "examples": 0.5}
PHRASE_BONUS = 2.0
_WORD = re.compile(r"[a-z0-9_]+")
_STOP = {
    "a",
    "an",
    "the",
    "of",
    "to",
    "in",
    "is",
    "it",
    "on",
    "for",
    "and",
    "or",
    "not",
    "no",
    "with",
    "be",
    "by",
    "at",
    "as",
    "my",
    "i",
    "this",
    "that",
    "from",
}


@dataclass(frozen=True)
class Hit:
    entry: LoadedEntry
    score: float


def words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


def _fields(loaded: LoadedEntry) -> dict[str, set[str]]:
    e = loaded.entry
    patterns = " ".join(" ".join(filter(None, (" ".join(r.exception), r.message, r.text))) for r in e.match)
    return {
        "title": words(e.id.replace("-", " ") + " " + e.title),
        "match": words(re.sub(r"\\[a-zA-Z]", " ", patterns)),
        "why": words(e.why),
        "examples": words(" ".join(x.text[-2000:] for x in e.examples)),
    }


def search(query: str, kb: KnowledgeBase) -> list[Hit]:
    terms = words(query)
    if not terms:
        return []
    phrase = " ".join(query.lower().split())
    hits = []
    for loaded in kb:
        fields = _fields(loaded)
        score = 0.0
        for term in terms:
            best = 0.0
            for name, vocabulary in fields.items():
                if term in vocabulary:
                    best = max(best, WEIGHTS[name])
                elif len(term) >= 3 and any(w.startswith(term) for w in vocabulary):
                    best = max(best, WEIGHTS[name] / 2)
            score += best
        if len(terms) > 1 and phrase in loaded.entry.title.lower():
            score += PHRASE_BONUS
        if score > 0:
            hits.append(Hit(loaded, round(score, 2)))
    hits.sort(key=lambda h: (-h.score, h.entry.id))
    return hits
