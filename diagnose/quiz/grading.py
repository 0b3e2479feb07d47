"""Grade an answer to a KB quiz question, offline and in bounded time.

``choice`` questions: the answer may be the choice's letter (``b``, ``(b)``,
``B.``) or 1-based number, the choice's value (``2`` for the choice ``2.0``)
or words that name one choice only (``bfloat16`` for '"bfloat16" (or
torch.bfloat16): ...').  Free text that names no choice is *unmatched*: the
caller asks again instead of marking it wrong.  The grade says which choice the
answer was read as, and for a wrong one why it is wrong (``why_wrong``).

``open`` answers are graded against the question's ``concepts``: a concept is
present when its words (or the words of one of its synonyms) occur close
together in the answer, in any order, after case folding, contraction
expansion ("aren't" → "are not"), plural/verb stripping and small typos.  A
number concept is present when the answer states that number however written:
``2``, ``2.0``, ``two``, ``2x``, ``twice``, ``8.4 million``, ``8.4M``, ``~8M``.

What a bare keyword match would get wrong is read too:

- a concept said inside a negation ("it is NOT because of c_attn") is not present;
- a bare list of keywords (no sentence) is at best partly right, and a long one
  whose items are mostly off the question is wrong;
- a hedged answer ("maybe …", "not sure", a question back) is at best partly right.

No network and no language model: the grade is explainable (which concepts
were present and as what, which were missing, what was discounted) and the
same answer always gets the same grade.  It is a suggestion: the learner's own
rating is what the scheduler gets.
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
    "a an the of to is are be by and or in on for it its with that this as at from into was were has have".split()
)

_NUMBER_WORDS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
    "hundred": 100,
    "thousand": 1000,
    "half": 0.5,
    "halve": 0.5,
    "halves": 0.5,
    "halved": 0.5,
    "halving": 0.5,
    "quarter": 0.25,
    "twice": 2,
    "double": 2,
    "doubles": 2,
    "doubled": 2,
    "doubling": 2,
    "thrice": 3,
    "triple": 3,
    "triples": 3,
    "tripled": 3,
    "tripling": 3,
    "quadruple": 4,
    "quadruples": 4,
    "quadrupled": 4,
}

_MAGNITUDES = {
    "k": 1e3,
    "thousand": 1e3,
    "m": 1e6,
    "mio": 1e6,
    "million": 1e6,
    "millions": 1e6,
    "b": 1e9,
    "bn": 1e9,
    "billion": 1e9,
    "billions": 1e9,
}

# Contractions first, so "aren't" reads as "are not" and the negation is seen.
_CONTRACTIONS = [
    (re.compile(r"\b(can)'?t\b"), r"\1 not"),
    (re.compile(r"\bwon't\b"), "will not"),
    (re.compile(r"\bshan't\b"), "shall not"),
    (re.compile(r"n't\b"), " not"),
    (re.compile(r"\b(it|that|what|there|here|he|she|who|this)'s\b"), r"\1 is"),
    (re.compile(r"'re\b"), " are"),
    (re.compile(r"'ve\b"), " have"),
    (re.compile(r"'ll\b"), " will"),
    (re.compile(r"\b(i|you|we|they|it)'d\b"), r"\1 would"),
    (re.compile(r"\bi'm\b"), "i am"),
    (re.compile(r"\bcannot\b"), "can not"),
]

# A number as written in prose: 4,194,816 / 2.0 / .5 / 1e-4 / 16/8, optionally a
# factor mark before or after it (2x, x2, ×2), an "about" mark before it (~8M)
# and a magnitude after it (8.4M, 8.4 million, 4k).  The leading "x" is only
# taken when it is a factor mark, not the end of a word ("max2" is not "×2").
_TOKEN = re.compile(
    r"""
    (?P<num>
        (?P<about>[~≈])?
        (?:(?<![a-z0-9])[x×*])?
        (?:\d+/[1-9]\d*(?![\d.])|\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?|\.\d+)
        (?:e[-+]?\d+)?
        (?:x(?![a-z0-9])|×)?
        (?P<mag>(?:k|m|mio|bn|b)(?![a-z0-9])|\s?(?:millions?|billions?|thousand)(?![a-z0-9]))?
    )
    |(?P<word>[a-z0-9]+)
    |(?P<stop>[.;:!?()\u2014\u2013]|\s-\s|,)
    """,
    re.VERBOSE,
)

_ABOUT_WORDS = frozenset({"about", "around", "roughly", "approximately", "approx", "circa", "nearly", "almost", "some"})
_NEGATION_WORDS = frozenset({"not", "no", "never", "nor", "neither", "nothing", "none"})
_NEGATORS = frozenset({"not"})  # what _stem makes of every negation word
# Words after which a negation no longer reaches: "not X but Y", "not X, it is Y".
_SCOPE_ENDS = frozenset({"but", "instead", "rather", "however", "whereas", "while", "so", "therefore", "hence"})
_CLAUSE_STARTS = frozenset({"it", "they", "this", "that", "you", "we", "i", "which", "the", "its", "there"})
_NEGATION_REACH = 12
_HEDGES = [
    re.compile(p)
    for p in (
        r"\bmaybe\b",
        r"\bperhaps\b",
        r"\bpossibly\b",
        r"\bnot sure\b",
        r"\bno idea\b",
        r"\bi guess\b",
        r"\bdo not know\b",
        r"\bmight be\b",
        r"\bcould be\b",
        r"\bno clue\b",
        r"\?\s*$",
    )
]
# What keeps a list of words from being a sentence: a verb or a linking word.
_SENTENCE_WORDS = frozenset(
    "is are was were be been being has have had does do did will would can could should must may might "
    "because so since when which that if then than but get gets got make makes use uses used "
    "need needs needed means mean causes cause becomes become turns keeps keep stays stay goes take takes "
    "it they you we i there this".split()
)


@dataclass(frozen=True)
class Grade:
    """The result of grading one answer.

    ``score`` is the share of concepts present (open) or 0/1 (choice);
    ``suggested_rating`` is a suggestion, the learner decides: Good when
    right, Hard when at least half the concepts were there (or a right answer
    was hedged or only listed), Again otherwise.
    """

    correct: bool
    score: float
    present: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    suggested_rating: Rating = Rating.Again
    blank: bool = False
    truncated: bool = False
    chosen: str | None = None  # the choice the answer picked, for choice questions
    read_as: str | None = None  # how a choice answer was read: "b) 16"
    unmatched: bool = False  # a choice answer that names no choice: ask again
    why_wrong: str | None = None  # why the chosen wrong choice is wrong
    matched: dict[str, str] = field(default_factory=dict)  # concept -> the words of the answer that matched it
    notes: list[str] = field(default_factory=list)  # what was discounted: negations, hedges, a keyword list

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
            "read_as": self.read_as,
            "unmatched": self.unmatched,
            "why_wrong": self.why_wrong,
            "matched": dict(self.matched),
            "notes": list(self.notes),
        }

    @property
    def verdict(self) -> str:
        """'right', 'partly' (some of it, or all of it hedged or listed) or 'wrong', as the learner is told."""
        if self.correct:
            return "right"
        return "partly" if self.score > 0 else "wrong"


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


def letter(index: int) -> str:
    return chr(ord("a") + index) if index < 26 else str(index + 1)


# ---------------------------------------------------------------- choice


def _grade_choice(question: QuizQuestion, text: str) -> Grade:
    index = choice_index(question.choices, text)
    labels = concept_labels(question)
    if index is None:
        return Grade(False, 0.0, [], labels, Rating.Again, unmatched=True)
    chosen = question.choices[index]
    read_as = f"{letter(index)}) {_shorten(chosen)}"
    if chosen == question.answer:
        return Grade(True, 1.0, labels, [], Rating.Good, chosen=chosen, read_as=read_as)
    return Grade(
        False, 0.0, [], labels, Rating.Again, chosen=chosen, read_as=read_as, why_wrong=question.why_wrong.get(chosen)
    )


def choice_index(choices: list[str], text: str) -> int | None:
    """Which choice ``text`` names, or None when it names none (or several)."""
    wanted = _squash(text)
    if not wanted:
        return None
    for i, choice in enumerate(choices):
        if _squash(choice) == wanted:
            return i
    bare = wanted.strip("()[].):")  # noqa: B005 - a set of punctuation, meant as one
    value = _plain_number(bare)
    if value is not None:
        # A number is first a choice's value ("2" for "2.0"), then a choice's position.
        same = [i for i, choice in enumerate(choices) if _plain_number(_squash(choice)) == value]
        if len(same) == 1:
            return same[0]
        if bare.isdigit() and 1 <= int(bare) <= len(choices):
            return int(bare) - 1
        return None
    if len(bare) == 1 and "a" <= bare <= "z":
        number = ord(bare) - ord("a")
        return number if number < len(choices) else None
    return _choice_by_words(choices, text)


def _plain_number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _choice_by_words(choices: list[str], text: str) -> int | None:
    """The one choice whose words the answer's words are part of ("bfloat16", "the rank r")."""
    words = [w for w in _word_keys(text) if w not in _STOPWORDS]
    if not words:
        return None
    scores = []
    for choice in choices:
        keys = set(_word_keys(choice))
        scores.append(sum(1 for w in words if w in keys) / len(words))
    best = max(scores)
    if best < 0.6 or scores.count(best) > 1:
        return None
    return scores.index(best)


def _word_keys(text: str) -> list[str]:
    return [token.text for token in _tokens(text) if token.kind == "word"]


def _squash(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = " ".join(text.split())
    return text.rstrip(" .!;")


def _shorten(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------- open


@dataclass
class _Number:
    value: float
    decimals: int  # digits written after the point
    tolerance: float  # set when the number was given as an estimate (~8M, about 8.4 million)
    index: int


@dataclass
class _Answer:
    words: list[str]  # stems by token index ("" for numbers, the mark for stops)
    surface: list[str]  # as written
    positions: dict[str, list[int]]
    numbers: list[_Number]
    negated: set[int]
    vocabulary: dict[str, list[int]]  # surface word (letters only, 5+) -> positions, for typos


def _grade_open(question: QuizQuestion, text: str) -> Grade:
    answer = _analyse(text)
    synonyms = {_squash(key): value for key, value in question.synonyms.items()}
    present: list[str] = []
    missing: list[str] = []
    matched: dict[str, str] = {}
    negated: list[str] = []
    typos: dict[str, str] = {}
    for concept in question.concepts:
        variants = [concept, *synonyms.get(_squash(concept), [])]
        found = None
        was_negated = False
        for variant in variants:
            hit = _find_variant(variant, answer, typos)
            if hit == "negated":
                was_negated = True
            elif hit is not None:
                found = hit
                break
        if found is not None:
            present.append(concept)
            matched[concept] = found
        else:
            missing.append(concept)
            if was_negated:
                negated.append(concept)
    score = len(present) / len(question.concepts) if question.concepts else 0.0
    notes = [f"said as not so: {', '.join(negated)}"] if negated else []
    notes += [f"read {wrong!r} as {right!r}" for wrong, right in typos.items()]
    if negated and len(negated) >= len(present):
        # The answer denies as much of the point as it makes: a misconception, not a partial answer.
        notes.append("denies what the answer rests on: counted as wrong")
        return Grade(False, 0.0, [], list(question.concepts), Rating.Again, notes=notes)
    rating = rating_for_score(score)
    correct = score >= 1.0
    items = _keyword_list(text)
    if items is not None and len(question.concepts) > 0:
        topic = _topic_keys(question, synonyms)
        off = [item for item in items if not ({key for key in _word_keys(item)} & topic)]
        if len(items) >= 2 * len(question.concepts) + 3 or len(off) * 2 > len(items):
            notes.append("a list of keywords, mostly off the question: not an answer")
            return Grade(False, 0.0, [], concept_labels(question), Rating.Again, matched={}, notes=notes)
        if correct:
            notes.append("a list of keywords without the why: at best partly right")
            correct, rating = False, Rating.Hard
    if correct and any(pattern.search(_normalise(text)) for pattern in _HEDGES):
        notes.append("hedged (maybe / not sure / a question): counted as partly right")
        correct, rating = False, Rating.Hard
    return Grade(correct, score, present, missing, rating, matched=matched, notes=notes)


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold().replace("\u2019", "'").replace("`", " ")
    for pattern, replacement in _CONTRACTIONS:
        text = pattern.sub(replacement, text)
    return text


def _analyse(text: str) -> _Answer:
    # Clause marks are kept beside the words, not between them: "r, in" stays two words apart.
    marks: dict[int, str] = {}
    tokens: list[_Token] = []
    for token in _tokens(text):
        if token.kind == "stop":
            marks.setdefault(len(tokens), token.text)
        else:
            tokens.append(token)
    words: list[str] = []
    positions: dict[str, list[int]] = {}
    numbers: list[_Number] = []
    for index, token in enumerate(tokens):
        if token.number is not None:
            number, decimals, tolerance = token.number
            if token.about and not tolerance:
                tolerance = max(0.5 * 10**-decimals, 0.05 * abs(number))
            numbers.append(_Number(number, decimals, tolerance, index))
            positions.setdefault(_number_key(number), []).append(index)
            words.append("")
        elif token.kind == "word":
            words.append(token.text)
            positions.setdefault(token.text, []).append(index)
            if token.text in _NUMBER_WORDS:
                number = float(_NUMBER_WORDS[token.text])
                numbers.append(_Number(number, 0, 0.0, index))
                positions.setdefault(_number_key(number), []).append(index)
    # "about 8 million": the word before a number marks it as an estimate.
    for estimate in numbers:
        before = words[estimate.index - 1] if estimate.index > 0 else ""
        if before in _ABOUT_WORDS and not estimate.tolerance:
            estimate.tolerance = max(0.5 * 10**-estimate.decimals, 0.05 * abs(estimate.value))
    surface = [token.surface for token in tokens]
    vocabulary: dict[str, list[int]] = {}
    for index, written in enumerate(surface):
        if len(written) >= 5 and written.isalpha():
            vocabulary.setdefault(written, []).append(index)
    if len(vocabulary) > 300:
        vocabulary = {}  # typos are looked for in answers, not in pasted pages
    return _Answer(words, surface, positions, numbers, _negated_positions(words, marks), vocabulary)


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # 'num', 'word' or 'stop' (a clause mark)
    text: str  # a word's stem, a stop's mark; "" for a number
    surface: str  # as written
    number: tuple[float, int, float] | None = None  # a 'num': (value, decimals written, tolerance)
    about: bool = False  # a 'num' marked as an estimate ("~8M")


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    for match in _TOKEN.finditer(_normalise(text)):
        surface = match.group(0).strip()
        if match.group("num") is not None:
            value = _parse_number(match.group("num"), match.group("mag"))
            if value is not None:
                out.append(_Token("num", "", surface, value, bool(match.group("about"))))
        elif match.group("word") is not None:
            out.append(_Token("word", _stem(match.group("word")), surface))
        else:
            out.append(_Token("stop", surface, surface))
    return out


def _parse_number(raw: str, magnitude: str | None) -> tuple[float, int, float] | None:
    cleaned = raw[: len(raw) - len(magnitude)] if magnitude else raw
    cleaned = cleaned.lstrip("~≈").strip("x×*").replace(",", "")
    magnitude = magnitude.strip() if magnitude else None
    if "/" in cleaned:
        numerator, denominator = cleaned.split("/", 1)
        return int(numerator) / int(denominator), 0, 0.0
    try:
        value = float(cleaned)
    except ValueError:
        return None
    if not math.isfinite(value):
        return None
    mantissa = cleaned.split("e")[0]
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    if magnitude:
        scale = _MAGNITUDES[magnitude]
        # 8.4M stands for 8.35M-8.45M; 8M for 7.5M-8.5M: half a unit of the last digit written.
        return value * scale, 0, 0.5 * 10**-decimals * scale
    return value, decimals, 0.0


def _number_key(value: float) -> str:
    return f"#{value:.12g}"


def _stem(word: str) -> str:
    """Strip plural endings so 'parameters' meets 'parameter' (both sides get it).

    Negation words share one key: "no traceback" is said by "you do not get a traceback"."""
    if word in _NEGATION_WORDS:
        return "not"
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


def _negated_positions(words: list[str], marks: dict[int, str]) -> set[int]:
    """Word positions inside a negation: from 'not'/'no'/'never' to the end of its clause.

    ``marks``: word position -> the punctuation just before that word."""
    negated: set[int] = set()
    for start, word in enumerate(words):
        if word not in _NEGATORS:
            continue
        for index in range(start + 1, min(len(words), start + 1 + _NEGATION_REACH)):
            current, mark = words[index], marks.get(index)
            if mark is not None and mark != ",":
                break
            if mark == "," and current in _CLAUSE_STARTS:
                break
            if current in _SCOPE_ENDS:
                break
            if index > start + 1 and current in _NEW_VERB:
                break  # "what it does not recognise is passed on": a new verb, a new clause
            if current == "and" and index > start + 2:
                break  # "cannot know which layers to adapt and asks you to name them": a second clause
            if current in _AND_OR and index + 1 < len(words) and words[index + 1] in (_NEW_VERB | _CLAUSE_STARTS):
                break
            if current == _BECAUSE and index > start + 1:
                break  # "does not exist because X": X is affirmed; "not because of X": X is denied
            negated.add(index)
    return negated


def _find_variant(variant: str, answer: _Answer, typos: dict[str, str]) -> str | None:
    """The answer's words that say ``variant``, 'negated' when only a negation says it, else None."""
    tokens = [token for token in _tokens(variant) if token.kind != "stop"]
    if not tokens:
        return None
    if len(tokens) == 1 and tokens[0].number is not None:
        expected = tokens[0].number[0]
        hits = [n for n in answer.numbers if _same_number(expected, n)]
        return _span(answer, [hits[0].index]) if hits else None
    if len(tokens) == 1 and tokens[0].text in _NUMBER_WORDS:
        value = float(_NUMBER_WORDS[tokens[0].text])
        hits = [n for n in answer.numbers if _same_number(value, n)]
        return _span(answer, [hits[0].index]) if hits else None
    keys: dict[str, str] = {}
    for token in tokens:
        keys.setdefault(token.text if token.number is None else _number_key(token.number[0]), token.surface)
    content = {key: written for key, written in keys.items() if key not in _STOPWORDS} or keys
    says_not = any(key in _NEGATORS for key in content)
    lists = []
    for key, written in content.items():
        found = answer.positions.get(key) or _typo_positions(written, answer, typos)
        if not found:
            return None
        lists.append(found)
    allowed = None if says_not else answer.negated
    hit = _near_each_other(lists, allowed)
    if hit is not None:
        return _span(answer, hit)
    if allowed and _near_each_other(lists, None) is not None:
        return "negated"
    return None


def _typo_positions(key: str, answer: _Answer, typos: dict[str, str]) -> list[int]:
    """Positions of an answer word one edit from ``key`` as written (two from a word of 8+ letters).

    Words of five letters or more on both sides, same first letter: "fuesd" is "fused", "with" is not "width".
    """
    if len(key) < 5 or not key.isalpha():
        return []
    limit = 1 if len(key) < 8 else 2
    out: list[int] = []
    for word, positions in answer.vocabulary.items():
        if abs(len(word) - len(key)) <= limit and word[0] == key[0] and _edits(word, key, limit) <= limit:
            out.extend(positions)
            typos.setdefault(word, key)
    return sorted(out)


def _edits(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (a swap of two letters is one edit), cut off above ``limit``."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def _span(answer: _Answer, indexes: list[int]) -> str:
    """The matched words as written: neighbours joined by a space, gaps by an ellipsis."""
    out = ""
    previous = None
    for index in sorted(set(indexes)):
        if previous is not None:
            out += " " if index == previous + 1 else " … "
        out += answer.surface[index]
        previous = index
    return out


def _same_number(expected: float, given: _Number) -> bool:
    """Rounded answers count: 5.33 or 5.3 for 16/3, 0.35 for 8/sqrt(512), 8.4M for 8388608; 5 does not."""
    difference = abs(expected - given.value)
    if difference <= max(1e-9, 0.01 * abs(expected)):
        return True
    if given.tolerance and difference <= given.tolerance + 1e-9:
        return True
    return given.decimals >= 2 and difference <= 0.5 * 10**-given.decimals + 1e-12


def _near_each_other(lists: list[list[int]], negated: set[int] | None) -> list[int] | None:
    """One position per key, all within a window of each other and none negated; None if there is none."""
    if negated:
        lists = [[p for p in found if p not in negated] for found in lists]
        if any(not found for found in lists):
            return None
    if len(lists) == 1:
        return [lists[0][0]]
    window = 2 * len(lists) + 3
    for anchor in min(lists, key=len):
        picks = []
        for found in lists:
            at = bisect.bisect_left(found, anchor - window)
            if at < len(found) and found[at] <= anchor + window:
                picks.append(found[at])
            else:
                break
        else:
            return picks
    return None


def _keyword_list(text: str) -> list[str] | None:
    """The items of an answer that is a bare list of terms (no sentence), else None."""
    normal = _normalise(text)
    items = [item.strip() for item in re.split(r"[,;/\n]|\band\b|\bor\b|\s-\s", normal) if item.strip()]
    if len(items) < 4:
        return None
    for item in items:
        words = item.split()
        if len(words) > 4 or any(word in _SENTENCE_WORDS for word in words):
            return None
    return items


def _topic_keys(question: QuizQuestion, synonyms: dict[str, list[str]]) -> set[str]:
    """The content words of a question's concepts and their synonyms."""
    keys: set[str] = set()
    for concept in question.concepts:
        for variant in [concept, *synonyms.get(_squash(concept), [])]:
            keys.update(key for key in _word_keys(variant) if key not in _STOPWORDS)
    return keys


# Answers are compared stem to stem, so the word tables are keyed by stems too
# ("doubles" -> "doubl" must still read as 2; "have" -> "hav" is still a stopword).
_NUMBER_WORDS = {_stem(word): value for word, value in _NUMBER_WORDS.items()}
_STOPWORDS = frozenset(_stem(word) for word in _STOPWORDS)
_ABOUT_WORDS = frozenset(_stem(word) for word in _ABOUT_WORDS)
_SCOPE_ENDS = frozenset(_stem(word) for word in _SCOPE_ENDS)
_CLAUSE_STARTS = frozenset(_stem(word) for word in _CLAUSE_STARTS)
_NEW_VERB = frozenset(
    _stem(word) for word in "is are was were will wants needs requires has uses gets makes must should can sets".split()
)
_AND_OR = frozenset({"and", "or"})
_BECAUSE = _stem("because")
