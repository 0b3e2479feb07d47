"""The quiz engine: which questions to ask, grading and recording an answer, statistics.

UI-independent: the CLI prompts (``command.py``) and the TUI panel both drive
:class:`QuizEngine` and show its small result objects.  Every method that
depends on time takes ``now`` (a timezone-aware datetime).

Picking, for ``diagnose quiz``:

1. every card that is due (``entry_ids`` narrows this to those entries),
   oldest due first;
2. then questions never asked yet, from those entries, most recently met
   entry first;
3. parameterised questions ("your config had r=8 …") join both lists when an
   incident's probes can fill them.

``entry_ids`` narrows the scope to given entries, ``include_all`` widens the
new questions to the whole KB.  A choice question's choices are shuffled
every time it is shown; the order is kept with the review.  Cards whose question no longer exists in the KB (an entry was
edited or removed) are *orphans*: kept untouched, skipped when picking,
listed by :meth:`QuizEngine.orphans` and in the stats.
"""

from __future__ import annotations

import dataclasses
import random
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from fsrs import Card, Rating, State

from diagnose.errors import UsageError
from diagnose.kb.schema import Entry, QuizQuestion
from diagnose.quiz import params as templates
from diagnose.quiz.grading import Grade, grade
from diagnose.quiz.scheduler import Outcome, QuizScheduler, rating_for
from diagnose.quiz.store import CardRecord, ProgressStore, utc

DEFAULT_LIMIT = 10
LEECH_LAPSES = 4  # days with an Again answer, after which a card is a leech
STABLE_DAYS = 21  # a card whose FSRS stability reaches this is "stable" (Anki's "mature")


@dataclass(frozen=True)
class QuizItem:
    """One question to ask, with where it comes from."""

    question: QuizQuestion
    entry_id: str
    entry_title: str
    new: bool
    due: datetime | None = None
    params: dict | None = None  # set for a question parameterised by an incident
    order: tuple[int, ...] | None = None  # a choice question: the KB choice index of each shown choice
    leech: bool = False  # answered Again on LEECH_LAPSES days or more

    @property
    def id(self) -> str:
        return self.question.id

    @property
    def run_specific(self) -> bool:
        return self.params is not None

    def to_dict(self) -> dict:
        q = self.question
        return {
            "id": q.id,
            "entry": self.entry_id,
            "entry_title": self.entry_title,
            "kind": q.kind,
            "question": q.question,
            "choices": list(q.choices),
            "hint": q.hint,
            "new": self.new,
            "due": self.due.isoformat() if self.due else None,
            "parameterised": self.params is not None,
            "leech": self.leech,
        }


@dataclass(frozen=True)
class AnswerResult:
    item: QuizItem
    grade: Grade
    outcome: Outcome

    def to_dict(self) -> dict:
        q = self.item.question
        return {
            "id": q.id,
            "entry": self.item.entry_id,
            **self.grade.to_dict(),
            "rating": self.outcome.rating.name.lower(),
            "next_due": self.outcome.due.isoformat(),
            "model_answer": q.answer,
            "explanation": q.explanation,
            "leech": self.item.leech,
        }


@dataclass(frozen=True)
class OrphanCard:
    question_id: str
    entry_id: str
    due: datetime


@dataclass(frozen=True)
class ConceptStat:
    concept: str
    asked: int
    missed: int

    @property
    def miss_rate(self) -> float:
        return self.missed / self.asked if self.asked else 0.0


@dataclass(frozen=True)
class Mastery:
    """One error family (KB entry): its stable cards out of its questions."""

    entry_id: str
    title: str
    stable: int
    learning: int  # answered, not stable yet
    total: int

    def line(self) -> str:
        return f"{self.title}: {self.stable}/{self.total} stable" + (
            f", {self.learning} learning" if self.learning else ""
        )

    def to_dict(self) -> dict:
        return {
            "entry": self.entry_id,
            "title": self.title,
            "stable": self.stable,
            "learning": self.learning,
            "total": self.total,
        }


@dataclass(frozen=True)
class Stats:
    cards: int
    due_now: int
    new_available: int
    reviews: int
    reviewed_questions: int
    retention: float | None  # share of review-stage answers (not first or relearning ones) not rated Again
    predicted_recall: float | None  # mean FSRS retrievability of cards in the review stage; None without any
    weakest: list[ConceptStat] = field(default_factory=list)
    orphans: list[OrphanCard] = field(default_factory=list)
    entries_met: int = 0
    due_today: int = 0
    streak_days: int = 0  # days in a row, up to today or yesterday, with at least one answer
    retention_reviews: int = 0  # how many answers the retention is over
    mastery: list[Mastery] = field(default_factory=list)
    leeches: list[str] = field(default_factory=list)  # question ids

    def to_dict(self) -> dict:
        return {
            "cards": self.cards,
            "due_now": self.due_now,
            "new_available": self.new_available,
            "reviews": self.reviews,
            "reviewed_questions": self.reviewed_questions,
            "retention": None if self.retention is None else round(self.retention, 4),
            "predicted_recall": None if self.predicted_recall is None else round(self.predicted_recall, 4),
            "weakest_concepts": [{"concept": c.concept, "asked": c.asked, "missed": c.missed} for c in self.weakest],
            "orphans": [
                {"question_id": o.question_id, "entry": o.entry_id, "due": o.due.isoformat()} for o in self.orphans
            ],
            "entries_met": self.entries_met,
            "due_today": self.due_today,
            "streak_days": self.streak_days,
            "retention_reviews": self.retention_reviews,
            "mastery": [m.to_dict() for m in self.mastery],
            "leeches": list(self.leeches),
        }


def entries_of(kb: Any) -> Mapping[str, Entry]:
    """Accept a ``KnowledgeBase`` (``.entries`` of loaded entries) or a plain id → Entry mapping."""
    entries = getattr(kb, "entries", kb)
    if not isinstance(entries, Mapping):
        raise TypeError("expected a KnowledgeBase or a mapping of entry id to Entry")
    return {key: cast(Entry, getattr(value, "entry", value)) for key, value in entries.items()}


def load_entries(extra_dirs: Sequence[Path | str] = ()) -> Mapping[str, Entry]:
    """The shipped KB plus ``--kb`` directories, through the KB loader."""
    from diagnose.kb.loader import load_kb

    return entries_of(load_kb([Path(d) for d in extra_dirs]))


def open_engine(extra_dirs: Sequence[Path | str] = (), *, kb: Any = None, path: Path | str | None = None) -> QuizEngine:
    """An engine on the user's progress database and KB (the shipped one plus ``extra_dirs``).

    Close it (or use it in a ``with``) to close the database.
    """
    entries = entries_of(kb) if kb is not None else load_entries(extra_dirs)
    return QuizEngine(entries, ProgressStore(path))


class QuizEngine:
    """Pick, grade, record, report. Thread-safe as far as the store is (one lock)."""

    def __enter__(self) -> QuizEngine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.store.close()

    def __init__(
        self, kb: Any, store: ProgressStore, scheduler: QuizScheduler | None = None, rng: random.Random | None = None
    ) -> None:
        self.entries = entries_of(kb)
        self.store = store
        self.scheduler = scheduler or QuizScheduler()
        self.rng = rng  # None: each card's order follows from its last review (see _shuffled)
        # question id → (entry, question); a question shared by entries belongs to the first.
        self._questions: dict[str, tuple[Entry, QuizQuestion]] = {}
        for entry in self.entries.values():
            for question in entry.quiz:
                self._questions.setdefault(question.id, (entry, question))

    # -- lookup

    def knows(self, question_id: str) -> bool:
        return question_id in self._questions or question_id in templates.TEMPLATES

    def check_entries(self, entry_ids: Sequence[str]) -> None:
        unknown = [e for e in entry_ids if e not in self.entries]
        if unknown:
            raise UsageError(f"no KB entry {unknown[0]!r}; `diagnose kb list` shows the ids")

    def item(self, question_id: str, now: datetime, probes: Mapping | None = None) -> QuizItem | None:
        """The question ``question_id`` as it would be asked now (for ``--answer``)."""
        record = self.store.get_card(question_id)
        if question_id in self._questions:
            entry, question = self._questions[question_id]
            return self._kb_item(entry, question, record)
        if question_id in templates.TEMPLATES:
            fresh = self._template_params(probes)
            entry_id, params = fresh.get(question_id, (None, None))
            if params is None and record is not None:
                entry_id, params = record.entry_id, record.params
            if params is None:
                return None
            return self._template_item(question_id, params, entry_id or "", record)
        return None

    # -- picking

    def pick(
        self,
        now: datetime,
        *,
        entry_ids: Sequence[str] | None = None,
        include_all: bool = False,
        limit: int | None = DEFAULT_LIMIT,
    ) -> list[QuizItem]:
        now = utc(now)
        if entry_ids:
            self.check_entries(entry_ids)
            scope = list(dict.fromkeys(entry_ids))
        elif include_all:
            met = [e for e in self.store.met_entries() if e in self.entries]
            scope = met + [e for e in self.entries if e not in met]
        else:
            scope = [e for e in self.store.met_entries() if e in self.entries]
        in_scope = set(scope)
        cards = {record.question_id: record for record in self.store.cards()}

        due: list[QuizItem | None] = []  # a template whose parameters no longer fit gives None, dropped below
        new: list[QuizItem | None] = []
        leeches = self.leeches()
        for record in cards.values():  # every due card, whatever scope its first answer had
            if record.question_id not in self._questions or utc(record.card.due) > now:
                continue
            entry, question = self._questions[record.question_id]
            if entry_ids and entry.id not in in_scope and record.entry_id not in in_scope:
                continue
            due.append(self._kb_item(entry, question, record, record.question_id in leeches))
        for entry_id in scope:
            entry = self.entries[entry_id]
            for question in entry.quiz:
                owner, _ = self._questions[question.id]
                if owner.id != entry_id and owner.id in in_scope:
                    continue  # shared question, asked once under its first entry
                if question.id not in cards:
                    new.append(self._kb_item(entry, question, None))

        fresh = self._template_params()
        for template_id in templates.TEMPLATES:
            card = cards.get(template_id)
            template_entry: str | None
            params: dict | None
            template_entry, params = fresh.get(template_id, (None, None))
            if template_entry is not None and not (include_all or template_entry in in_scope):
                template_entry, params = None, None
            if card is not None and utc(card.card.due) <= now:
                if params is None and (not entry_ids or card.entry_id in in_scope):
                    template_entry, params = card.entry_id, card.params
                if params is not None:
                    due.append(self._template_item(template_id, params, template_entry, card))
            elif card is None and params is not None:
                new.append(self._template_item(template_id, params, template_entry, None))

        due_items = sorted((item for item in due if item is not None), key=lambda item: (item.due, item.id))
        picked = due_items + [item for item in new if item is not None]
        return picked if limit is None else picked[: max(0, limit)]

    def for_diagnosis(
        self, entry_ids: Sequence[str], probes: Mapping | None, now: datetime, message: str | None = None
    ) -> QuizItem | None:
        """The question to offer right after a diagnosis, on its topic: a question
        built from this run (the diagnosed entry's template, filled from the
        probes and the exception ``message``) when new or due; else the entry's
        first question that is new or due; else None (nothing is asked twice in a day)."""
        now = utc(now)
        if not entry_ids:
            return None
        facts = templates.facts_of(probes, message)
        for template, params in templates.from_probes(facts, list(entry_ids)):
            if not template.entry:
                continue  # not about this error
            record = self.store.get_card(template.id)
            if record is None or utc(record.card.due) <= now or record.params != params:
                item = self._template_item(template.id, params, template.entry, record)
                if item is not None:
                    return item
        for entry_id in entry_ids:
            entry = self.entries.get(entry_id)
            if entry is None:
                continue
            for question in entry.quiz:
                record = self.store.get_card(question.id)
                if record is None or utc(record.card.due) <= now:
                    return self._kb_item(entry, question, record)
        return None

    def reshown(self, item: QuizItem) -> QuizItem:
        """``item`` to ask again in this session: a choice question's choices in a new order."""
        if item.params is not None:
            again = self._template_item(item.id, item.params, item.entry_id, self.store.get_card(item.id))
        elif item.id in self._questions:
            entry, question = self._questions[item.id]
            again = self._kb_item(entry, question, self.store.get_card(item.id), item.leech)
        else:
            again = None
        if again is None:
            return item
        if again.order is not None and again.order == item.order:
            # A new draw may repeat the old order; asked again minutes later, the places must change.
            order = again.order[1:] + again.order[:1]
            choices = [item.question.choices[item.order.index(i)] for i in order]
            again = dataclasses.replace(
                again, question=dataclasses.replace(again.question, choices=choices), order=order
            )
        return dataclasses.replace(again, new=False)

    # -- answering

    def grade(self, item: QuizItem, answer: str | None) -> Grade:
        return grade(item.question, answer)

    def record(
        self,
        item: QuizItem,
        result: Grade,
        now: datetime,
        rating: str | Rating | None = None,
        duration_ms: int | None = None,
    ) -> Outcome:
        """Feed a graded answer (or the user's override rating) to FSRS and save it."""
        now = utc(now)
        chosen = rating_for(result, rating)
        was_new = False

        def review(card: Card | None):
            nonlocal was_new
            if card is None:
                was_new = True
                card = self.scheduler.new_card(item.id, now)
            return self.scheduler.review(card, chosen, now, duration_ms)

        card = self.store.apply_review(
            item.id,
            item.entry_id,
            review,
            score=result.score,
            present=result.present,
            missing=result.missing,
            params=item.params,
            shown=item.order,
        )
        due = utc(card.due)
        return Outcome(chosen, due, due - now, card.state, was_new)

    def answer(
        self,
        item: QuizItem,
        answer: str | None,
        now: datetime,
        rating: str | Rating | None = None,
        duration_ms: int | None = None,
    ) -> AnswerResult:
        result = self.grade(item, answer)
        return AnswerResult(item, result, self.record(item, result, now, rating, duration_ms))

    # -- reporting

    def orphans(self) -> list[OrphanCard]:
        out = []
        for record in self.store.cards():
            if not self.knows(record.question_id):
                out.append(OrphanCard(record.question_id, record.entry_id, utc(record.card.due)))
            elif record.question_id in templates.TEMPLATES and record.params is None:
                out.append(OrphanCard(record.question_id, record.entry_id, utc(record.card.due)))
        return out

    def stats(self, now: datetime) -> Stats:
        now = utc(now)
        records = self.store.cards()
        orphans = self.orphans()
        orphan_ids = {o.question_id for o in orphans}
        live = [r for r in records if r.question_id not in orphan_ids]
        due_now = sum(1 for r in live if utc(r.card.due) <= now)
        met = [e for e in self.store.met_entries() if e in self.entries]
        have = {r.question_id for r in records}
        new_available = len({q.id for e in met for q in self.entries[e].quiz if q.id not in have})
        reviews = self.store.reviews()
        # Retention is over answers to cards in the review stage: first answers and relearning steps
        # say how a card is being learnt, not how well it is remembered.
        review_stage = [r for r in reviews if r.state_before == int(State.Review)]
        passed = sum(1 for r in review_stage if r.rating != Rating.Again)
        recalls = [self.scheduler.retrievability(r.card, now) for r in live if r.card.state == State.Review]
        today = now.astimezone().date()
        end_of_today = datetime.combine(today + timedelta(days=1), datetime.min.time()).astimezone()
        due_today = sum(1 for r in live if utc(r.card.due) < utc(end_of_today))
        concepts: dict[str, list[int]] = {}
        for review in reviews:
            for concept in review.present:
                concepts.setdefault(concept, [0, 0])[0] += 1
            for concept in review.missing:
                counts = concepts.setdefault(concept, [0, 0])
                counts[0] += 1
                counts[1] += 1
        weakest = sorted(
            (ConceptStat(c, asked, missed) for c, (asked, missed) in concepts.items() if missed),
            key=lambda s: (-s.miss_rate, -s.missed, s.concept),
        )[:5]
        return Stats(
            cards=len(records),
            due_now=due_now,
            new_available=new_available,
            reviews=len(reviews),
            reviewed_questions=len({r.question_id for r in reviews}),
            retention=passed / len(review_stage) if review_stage else None,
            predicted_recall=sum(recalls) / len(recalls) if recalls else None,
            weakest=weakest,
            orphans=orphans,
            entries_met=len(met),
            due_today=due_today,
            streak_days=_streak({r.reviewed_at.astimezone().date() for r in reviews}, today),
            retention_reviews=len(review_stage),
            mastery=self.mastery(met or list(dict.fromkeys(r.entry_id for r in live))),
            leeches=sorted(self.leeches()),
        )

    def mastery(self, entry_ids: Sequence[str]) -> list[Mastery]:
        """Per entry: its questions (KB ones, plus run-specific ones the user has a card for) that are stable."""
        records = {r.question_id: r for r in self.store.cards()}
        out = []
        for entry_id in entry_ids:
            entry = self.entries.get(entry_id)
            if entry is None:
                continue
            ids = [q.id for q in entry.quiz]
            ids += [t.id for t in templates.TEMPLATES.values() if t.entry == entry_id and t.id in records]
            cards = [records[i].card for i in ids if i in records]
            stable = sum(1 for c in cards if c.state == State.Review and (c.stability or 0) >= STABLE_DAYS)
            out.append(Mastery(entry_id, entry.title, stable, len(cards) - stable, len(ids)))
        return out

    def leeches(self) -> set[str]:
        """Questions answered Again on LEECH_LAPSES different days or more."""
        days: dict[str, set[date]] = {}
        for review in self.store.reviews():
            if review.rating == Rating.Again:
                days.setdefault(review.question_id, set()).add(review.reviewed_at.date())
        return {question_id for question_id, seen in days.items() if len(seen) >= LEECH_LAPSES}

    # -- internals

    def _kb_item(
        self, entry: Entry, question: QuizQuestion, record: CardRecord | None, leech: bool = False
    ) -> QuizItem:
        question, order = self._shuffled(question, record)
        due = utc(record.card.due) if record else None
        return QuizItem(question, entry.id, entry.title, record is None, due, order=order, leech=leech)

    def _shuffled(
        self, question: QuizQuestion, record: CardRecord | None
    ) -> tuple[QuizQuestion, tuple[int, ...] | None]:
        """A choice question with its choices in a new order for each showing (and that order).

        Without an explicit ``rng`` the order is drawn from the question id and the card's last
        review: it changes with every answer, and a `--json` listing and the `--answer` that
        follows it see the same letters."""
        if question.kind != "choice":
            return question, None
        order = list(range(len(question.choices)))
        last = record.card.last_review.isoformat() if record is not None and record.card.last_review else "new"
        rng = self.rng or random.Random(zlib.crc32(f"{question.id}|{last}".encode()))
        rng.shuffle(order)
        return dataclasses.replace(question, choices=[question.choices[i] for i in order]), tuple(order)

    def _template_item(
        self, template_id: str, params: Mapping, entry_id: str | None, record: CardRecord | None
    ) -> QuizItem | None:
        question = templates.build(template_id, params)
        if question is None:
            return None
        question, order = self._shuffled(question, record)
        entry = self.entries.get(entry_id or "")
        title = entry.title if entry else "Your LoRA configuration"
        due = utc(record.card.due) if record else None
        return QuizItem(question, entry_id or "", title, record is None, due, dict(params), order=order)

    def _template_params(self, probes: Mapping | None = None) -> dict[str, tuple[str, dict]]:
        """template id → (entry id, params) from ``probes`` or else the newest incident that fills it."""
        found: dict[str, tuple[str, dict]] = {}
        if probes is not None:
            for template, params in templates.from_probes(probes):
                found[template.id] = ("", params)
        for entry_ids, incident_probes, message in self.store.recent_facts():
            facts = templates.facts_of(incident_probes, message)
            for template, params in templates.from_probes(facts, entry_ids):
                if template.id in found and found[template.id][0]:
                    continue
                if template.id in found:  # given probes win; borrow the incident's entry
                    found[template.id] = (entry_ids[0] if entry_ids else "", found[template.id][1])
                else:
                    found[template.id] = (entry_ids[0] if entry_ids else "", params)
        return found


def _streak(days: set[date], today: date) -> int:
    """Days in a row with an answer, ending today (or yesterday: today's may still come)."""
    day = today if today in days else today - timedelta(days=1)
    count = 0
    while day in days:
        count += 1
        day -= timedelta(days=1)
    return count


def interval_words(interval: timedelta) -> str:
    """'in 10 minutes', 'in 3 days' — for showing when a card comes back."""
    seconds = max(0, int(interval.total_seconds()))
    if seconds < 90:
        return "in a minute" if seconds > 30 else "now"
    if seconds < 90 * 60:
        return f"in {round(seconds / 60)} minutes"
    if seconds < 20 * 3600:
        return f"in {round(seconds / 3600)} hours"
    days = round(seconds / 86400)
    return "tomorrow" if days == 1 else f"in {days} days"
