"""Scheduling on a fixed clock: due dates move as FSRS (the pinned library) says."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fsrs import Card, Rating, Scheduler, State
from quiz_support import T0, entries, question

from diagnose.quiz.grading import grade
from diagnose.quiz.scheduler import QuizScheduler, parse_rating, rating_for
from diagnose.quiz.session import QuizEngine
from diagnose.quiz.store import ProgressStore


@pytest.mark.parametrize(
    ("rating", "interval", "state"),
    [
        (Rating.Again, timedelta(minutes=1), State.Learning),
        (Rating.Hard, timedelta(minutes=5, seconds=30), State.Learning),
        (Rating.Good, timedelta(minutes=10), State.Learning),
        (Rating.Easy, timedelta(days=8), State.Review),
    ],
)
def test_first_review_of_a_new_card(rating, interval, state):
    scheduler = QuizScheduler(enable_fuzzing=False)
    card, log = scheduler.review(scheduler.new_card("q", T0), rating, T0)
    assert card.due - T0 == interval
    assert card.state == state
    assert log.rating == rating and log.review_datetime == T0
    # exactly what the library itself says
    reference, _ = Scheduler(enable_fuzzing=False).review_card(Card(card_id=1, due=T0), rating, T0)
    assert reference.due == card.due


def test_a_sequence_of_reviews_follows_fsrs():
    scheduler = QuizScheduler(enable_fuzzing=False)
    card = scheduler.new_card("q", T0)
    now = T0
    seen = []
    for rating in [Rating.Good, Rating.Good, Rating.Good, Rating.Again, Rating.Good]:
        card, _ = scheduler.review(card, rating, now)
        seen.append((card.due - now, card.state))
        now = card.due
    assert seen == [
        (timedelta(minutes=10), State.Learning),
        (timedelta(days=2), State.Review),
        (timedelta(days=11), State.Review),
        (timedelta(minutes=10), State.Relearning),
        (timedelta(days=2), State.Review),
    ]


def test_card_ids_are_stable_and_need_no_wall_clock():
    scheduler = QuizScheduler()
    assert scheduler.new_card("abc", T0).card_id == scheduler.new_card("abc", T0).card_id
    assert scheduler.new_card("abc", T0).due == T0


def test_naive_datetimes_are_refused():
    scheduler = QuizScheduler()
    with pytest.raises(ValueError):
        scheduler.review(scheduler.new_card("q", T0), Rating.Good, T0.replace(tzinfo=None))


def test_grade_to_rating_and_override():
    q = question("lora-memory-savings")
    wrong, partial, right = (
        grade(q, a)
        for a in (
            "no idea",
            "optimizer state and gradients",
            "optimizer state and gradients shrink; frozen weights and activations do not",
        )
    )
    assert rating_for(wrong) == Rating.Again
    assert rating_for(partial) == Rating.Hard
    assert rating_for(right) == Rating.Good
    assert rating_for(right, "easy") == Rating.Easy
    assert rating_for(wrong, "Good") == Rating.Good
    assert rating_for(right, Rating.Hard) == Rating.Hard
    assert rating_for(right, "") == Rating.Good
    assert parse_rating("4") == Rating.Easy and parse_rating("a") == Rating.Again
    with pytest.raises(ValueError):
        parse_rating("excellent")


def test_engine_due_dates_move_with_each_rating(tmp_path):
    """Through the engine and the store: each rating moves the stored due date as FSRS says."""
    with ProgressStore(tmp_path / "p.sqlite3") as store:
        engine = QuizEngine(entries(), store, QuizScheduler(enable_fuzzing=False))
        store.record_incident(command="python train.py", source="capture", entry_ids=["cuda-out-of-memory"], when=T0)
        item = engine.pick(T0, entry_ids=["cuda-out-of-memory"])[0]
        assert item.id == "lora-memory-savings" and item.new

        out = engine.answer(item, "gradients and optimizer state", T0)  # partly right → Hard
        assert out.outcome.rating == Rating.Hard and out.outcome.new
        assert store.get_card(item.id).card.due == T0 + timedelta(minutes=5, seconds=30)
        assert [i.id for i in engine.pick(T0 + timedelta(minutes=5))] == ["rank-halving-scaling"]

        later = T0 + timedelta(minutes=6)
        item = engine.pick(later)[0]
        assert item.id == "lora-memory-savings" and not item.new  # due first
        out = engine.answer(item, "whatever", later, rating="easy")  # the user's override wins
        assert out.outcome.rating == Rating.Easy
        card = store.get_card(item.id).card
        expected, _ = Scheduler(enable_fuzzing=False).review_card(
            Scheduler(enable_fuzzing=False).review_card(Card(card_id=1, due=T0), Rating.Hard, T0)[0], Rating.Easy, later
        )
        assert card.due == expected.due and card.state == State.Review
        assert [r.rating for r in store.reviews(item.id)] == [Rating.Hard, Rating.Easy]
