"""Grade an answer to a KB quiz question, offline and in bounded time.

``choice`` questions are graded exactly: the answer may be the choice's text
(case and spacing ignored), its 1-based number or its letter (``b``, ``(b)``,
``B.``).  ``open`` answers are graded against the question's ``concepts``: a
concept is present when its words (or the words of one of its synonyms) occur
close together in the answer, in any order, after case folding and plural
stripping.  A concept that is a number ("2", "0.5") is present when the answer
states that number, however written: ``2``, ``2.0``, ``two``, ``2x``, ``×2``,
``twice``, ``doubles``.

No network and no language model: the grade is explainable (which concepts
were present, which were missing) and the same answer always gets the same
grade.
"""

from __future__ import annotations

import bisect
import dataclasses
import math
import re
import unicodedata
from dataclasses import dataclass, field

from fsrs import Rating

from diagnose.kb.schema import QuizQuestion

# A real answer is a few sentences; beyond this the rest is ignored (and said so).
MAX_ANSWER_CHARS = 10_000

_STOPWORDS = frozenset(
    "a an the of to is are be by and or in on for it its with that this as at from into".split()
)

_NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "thousand": 1000,
    "half": 0.5, "halve": 0.5, "halves": 0.5, "halved": 0.5, "halving": 0.5,
    "quarter": 0.25,
    "twice": 2, "double": 2, "doubles": 2, "doubled": 2, "doubling": 2,
    "thrice": 3, "triple": 3, "triples": 3, "tripled": 3, "tripling": 3,
    "quadruple": 4, "quadruples": 4, "quadrupled": 4,
}

# A number as written in prose: 4,194,816 / 2.0 / .5 / 1e-4 / 16/8, optionally a
# factor mark before or after it (2x, x2, ×2).  The leading "x" is only taken
# when it is a factor mark, not the end of a word ("max2" is not "×2").
_TOKEN = re.compile(
    r"""
    (?P<num>
        (?:(?<![a-z0-9])[x×*])?
        (?:\d+/[1-9]\d*(?![\d.])|\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?|\.\d+)
        (?:e[-+]?\d+)?
        (?:x(?![a-z0-9])|×)?
    )
    |(?P<word>[a-z0-9]+)
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Grade:
    """The result of grading one answer.

    ``score`` is the share of concepts present (open) or 0/1 (choice);
    ``suggested_rating`` is what the scheduler gets unless the user overrides
    it: Good when right, Hard when at least half the concepts were there,
    Again otherwise.
    """

    correct: bool
    score: float
    present: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    suggested_rating: Rating = Rating.Again
    blank: bool = False
    truncated: bool = False
    chosen: str | None = None  # the choice the answer picked, for choice questions

    def to_dict(self) -> dict:
        return {
            "correct": self.correct,
            "score": round(self.score, 4),
            "present": list(self.present),
            "missing": list(self.missing),
            "suggested_rating": self.suggested_rating.name.lower(),
            "blank": self.blank,
            "truncated": self.truncated,
            "chosen": self.chosen,
        }


def grade(question: QuizQuestion, answer: str | None) -> Grade:
    """Grade ``answer`` to ``question``; an empty or missing answer is 'no answer'."""
    text = answer or ""
    truncated = len(text) > MAX_ANSWER_CHARS
    text = text[:MAX_ANSWER_CHARS]
    if not text.strip():
        labels = concept_labels(question)
        return Grade(False, 0.0, [], labels, Rating.Again, blank=True, truncated=truncated)
    if question.kind == "choice":
        result = _grade_choice(question, text)
    else:
        result = _grade_open(question, text)
    if truncated:
        result = dataclasses.replace(result, truncated=True)
    return result


def concept_labels(question: QuizQuestion) -> list[str]:
    """What the statistics call the concepts of a question."""
    if question.concepts:
        return list(question.concepts)
    return [_shorten(question.answer)]


def rating_for_score(score: float) -> Rating:
    if score >= 1.0:
        return Rating.Good
    if score >= 0.5:
        return Rating.Hard
    return Rating.Again


# ---------------------------------------------------------------- choice


def _grade_choice(question: QuizQuestion, text: str) -> Grade:
    index = choice_index(question.choices, text)
    chosen = question.choices[index] if index is not None else None
    correct = chosen == question.answer
    labels = concept_labels(question)
    if correct:
        return Grade(True, 1.0, labels, [], Rating.Good, chosen=chosen)
    return Grade(False, 0.0, [], labels, Rating.Again, chosen=chosen)


def choice_index(choices: list[str], text: str) -> int | None:
    """Which choice ``text`` names: its text, its 1-based number or its letter."""
    wanted = _squash(text)
    if not wanted:
        return None
    for i, choice in enumerate(choices):
        if _squash(choice) == wanted:
            return i
    bare = wanted.strip("()[].):")
    if bare.isdigit():
        number = int(bare)
        if 1 <= number <= len(choices):
            return number - 1
        return None
    if len(bare) == 1 and "a" <= bare <= "z":
        number = ord(bare) - ord("a")
        if number < len(choices):
            return number
    return None


def _squash(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = " ".join(text.split())
    return text.rstrip(" .!;")


def _shorten(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------- open


@dataclass
class _Answer:
    positions: dict[str, list[int]]
    numbers: list[tuple[float, int]]  # (value, decimals written)


def _grade_open(question: QuizQuestion, text: str) -> Grade:
    answer = _analyse(text)
    synonyms = {_squash(key): value for key, value in question.synonyms.items()}
    present: list[str] = []
    missing: list[str] = []
    for concept in question.concepts:
        variants = [concept, *synonyms.get(_squash(concept), [])]
        if any(_variant_present(variant, answer) for variant in variants):
            present.append(concept)
        else:
            missing.append(concept)
    score = len(present) / len(question.concepts) if question.concepts else 0.0
    return Grade(score >= 1.0, score, present, missing, rating_for_score(score))


def _analyse(text: str) -> _Answer:
    positions: dict[str, list[int]] = {}
    numbers: list[float] = []
    for index, (kind, value) in enumerate(_tokens(text)):
        if kind == "num":
            numbers.append(value)
            positions.setdefault(_number_key(value[0]), []).append(index)
        else:
            positions.setdefault(value, []).append(index)
            if value in _NUMBER_WORDS:
                number = float(_NUMBER_WORDS[value])
                numbers.append((number, 0))
                positions.setdefault(_number_key(number), []).append(index)
    return _Answer(positions, numbers)


def _tokens(text: str) -> list[tuple[str, object]]:
    text = unicodedata.normalize("NFKC", text).casefold()
    out: list[tuple[str, object]] = []
    for match in _TOKEN.finditer(text):
        if match.group("num") is not None:
            value = _parse_number(match.group("num"))
            if value is not None:
                out.append(("num", value))
        else:
            out.append(("word", _stem(match.group("word"))))
    return out


def _parse_number(raw: str) -> tuple[float, int] | None:
    cleaned = raw.strip("x×*").replace(",", "")
    if "/" in cleaned:
        numerator, denominator = cleaned.split("/", 1)
        return int(numerator) / int(denominator), 0
    try:
        value = float(cleaned)
    except ValueError:
        return None
    if not math.isfinite(value):
        return None
    mantissa = cleaned.split("e")[0]
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    return value, decimals


def _number_key(value: float) -> str:
    return f"#{value:.12g}"


def _stem(word: str) -> str:
    """Strip plural endings so 'parameters' meets 'parameter' (both sides get it)."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("sses", "shes", "ches", "xes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    return _verb_stem(word)


def _verb_stem(word: str) -> str:
    """'fused', 'fuses', 'fusing' and 'fuse' meet; so do 'padded', 'padding' and 'pad'."""
    if len(word) < 4 or not word.isalpha():
        return word
    for ending in ("ing", "ed", "e"):
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            word = word[: -len(ending)]
            if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiouls":
                word = word[:-1]  # padd -> pad, but keep 'fall', 'pass'
            break
    return word


def _variant_present(variant: str, answer: _Answer) -> bool:
    tokens = _tokens(variant)
    if not tokens:
        return False
    if len(tokens) == 1 and tokens[0][0] == "num":
        return any(_same_number(tokens[0][1][0], number) for number in answer.numbers)
    if len(tokens) == 1 and tokens[0][1] in _NUMBER_WORDS:
        value = float(_NUMBER_WORDS[tokens[0][1]])
        return any(_same_number(value, number) for number in answer.numbers)
    keys = [value if kind == "word" else _number_key(value[0]) for kind, value in tokens]
    content = [key for key in keys if key not in _STOPWORDS] or keys
    content = list(dict.fromkeys(content))
    return _near_each_other(content, answer.positions)


def _same_number(expected: float, given: tuple[float, int]) -> bool:
    """Rounded answers count: 5.33 or 5.3 for 16/3, 0.35 for 8/sqrt(512); 5 does not."""
    value, decimals = given
    difference = abs(expected - value)
    if difference <= max(1e-9, 0.01 * abs(expected)):
        return True
    return decimals >= 2 and difference <= 0.5 * 10 ** -decimals + 1e-12


def _near_each_other(keys: list[str], positions: dict[str, list[int]]) -> bool:
    """All ``keys`` occur within a window of each other, in any order."""
    lists = [positions.get(key) for key in keys]
    if any(not found for found in lists):
        return False
    if len(keys) == 1:
        return True
    window = 2 * len(keys) + 3
    anchor_list = min(lists, key=len)
    for anchor in anchor_list:
        if all(_has_within(found, anchor, window) for found in lists):
            return True
    return False


def _has_within(sorted_positions: list[int], anchor: int, window: int) -> bool:
    at = bisect.bisect_left(sorted_positions, anchor - window)
    return at < len(sorted_positions) and sorted_positions[at] <= anchor + window


# Answers are compared stem to stem, so the word tables are keyed by stems too
# ("doubles" -> "doubl" must still read as 2; "have" -> "hav" is still a stopword).
_NUMBER_WORDS = {_stem(word): value for word, value in _NUMBER_WORDS.items()}
_STOPWORDS = frozenset(_stem(word) for word in _STOPWORDS)
