"""Spaced repetition through the ``fsrs`` library (pinned); no scheduling by hand.

Every call takes an explicit ``now`` so tests run on a fixed clock.  The grade
of an answer suggests a rating (wrong → Again, partly right → Hard, right →
Good); the user may override it with Again/Hard/Good/Easy.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from fsrs import Card, Rating, ReviewLog, Scheduler, State

from diagnose.quiz.grading import Grade
from diagnose.quiz.store import utc

RATING_NAMES = {"again": Rating.Again, "hard": Rating.Hard, "good": Rating.Good, "easy": Rating.Easy}
_RATING_ALIASES = {
    "1": Rating.Again,
    "2": Rating.Hard,
    "3": Rating.Good,
    "4": Rating.Easy,
    "a": Rating.Again,
    "h": Rating.Hard,
    "g": Rating.Good,
    "e": Rating.Easy,
}


def parse_rating(text: str | Rating | None) -> Rating | None:
    """'again'/'hard'/'good'/'easy', their first letters or 1-4; None or '' → None."""
    if text is None or isinstance(text, Rating):
        return text
    key = text.strip().casefold()
    if not key:
        return None
    rating = RATING_NAMES.get(key) or _RATING_ALIASES.get(key)
    if rating is None:
        raise ValueError(f"unknown rating {text!r}; use again, hard, good or easy")
    return rating


def rating_for(grade: Grade, override: str | Rating | None = None) -> Rating:
    """The rating the scheduler gets: the user's override, else the grade's suggestion."""
    chosen = parse_rating(override)
    return chosen if chosen is not None else grade.suggested_rating


@dataclass(frozen=True)
class Outcome:
    """What one review did to a card."""

    rating: Rating
    due: datetime
    interval: timedelta
    state: State
    new: bool  # the card was seen for the first time


class QuizScheduler:
    """A thin wrapper around :class:`fsrs.Scheduler` with an explicit clock."""

    def __init__(self, *, desired_retention: float = 0.9, enable_fuzzing: bool = True) -> None:
        self.fsrs = Scheduler(desired_retention=desired_retention, enable_fuzzing=enable_fuzzing)

    def new_card(self, question_id: str, now: datetime) -> Card:
        # A stable id (fsrs' default sleeps and reads the wall clock).
        return Card(card_id=zlib.crc32(question_id.encode("utf-8")), due=utc(now))

    def review(
        self, card: Card, rating: Rating, now: datetime, duration_ms: int | None = None
    ) -> tuple[Card, ReviewLog]:
        return self.fsrs.review_card(card, rating, review_datetime=utc(now), review_duration=duration_ms)

    def retrievability(self, card: Card, now: datetime) -> float:
        return self.fsrs.get_card_retrievability(card, current_datetime=utc(now))
