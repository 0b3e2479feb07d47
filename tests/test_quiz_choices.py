"""Choice questions test knowledge, not position: shuffled per showing, answered by letter, number or value."""

from __future__ import annotations

import random
from datetime import datetime, timezone

from diagnose.kb.loader import load_kb
from diagnose.kb.schema import QuizQuestion
from diagnose.quiz.grading import choice_index, grade
from diagnose.quiz.session import QuizEngine
from diagnose.quiz.store import ProgressStore

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


def test_answering_1_to_every_choice_question_scores_at_chance(tmp_path):
    kb = load_kb()
    with ProgressStore(tmp_path / "p.sqlite3") as store:
        engine = QuizEngine(kb, store, rng=random.Random(13))
        choice = [(loaded.entry, q) for loaded in kb for q in loaded.entry.quiz if q.kind == "choice"]
        assert len(choice) >= 10
        showings = 60
        right = 0.0
        chance = 0.0
        for entry, question in choice:
            for _ in range(showings):
                item = engine._kb_item(entry, question, None)
                right += grade(item.question, "1").correct
            chance += showings / len(question.choices)
        total = showings * len(choice)
        # A learner who always answers "1" gets what chance gives, not 100% (the old, unshuffled result).
        assert abs(right - chance) / total < 0.05, (right / total, chance / total)


def test_shown_order_is_kept_with_the_review(tmp_path):
    kb = load_kb()
    with ProgressStore(tmp_path / "p.sqlite3") as store:
        engine = QuizEngine(kb, store, rng=random.Random(1))
        loaded = next(loaded for loaded in kb if any(q.kind == "choice" for q in loaded.entry.quiz))
        question = next(q for q in loaded.entry.quiz if q.kind == "choice")
        item = engine._kb_item(loaded.entry, question, None)
        assert [question.choices[i] for i in item.order] == item.question.choices
        engine.answer(item, "a", T0)
        assert store.reviews()[0].shown == list(item.order)


SCALING = QuizQuestion(
    id="scaling",
    question="factor?",
    kind="choice",
    choices=["16", "2.0", "8", "0.5"],
    answer="2.0",
    why_wrong={"16": "That is lora_alpha itself.", "8": "That is r.", "0.5": "That is r / lora_alpha, upside down."},
)


def test_a_number_is_read_as_a_value_first():
    result = grade(SCALING, "2")
    assert result.correct and result.read_as == "b) 2.0"
    assert grade(SCALING, "b").correct
    wrong = grade(SCALING, "16")
    assert not wrong.correct and wrong.why_wrong == "That is lora_alpha itself."
    assert grade(SCALING, "4").chosen == "0.5"  # no choice has the value 4: the fourth choice


def test_free_text_names_a_choice_or_is_unmatched():
    choices = [
        '"bfloat16" (or torch.bfloat16): a string is looked up as an attribute of torch',
        '"bf16" works once bitsandbytes is installed with CUDA support',
        '"torch.bf16": the string must include the module name',
    ]
    assert choice_index(choices, "bfloat16") == 0
    assert choice_index(choices, "something else entirely") is None
    question = QuizQuestion(id="q", question="?", kind="choice", choices=choices, answer=choices[0])
    assert grade(question, "no idea at all").unmatched


def test_kb_validate_warns_on_choice_giveaways():
    from diagnose.kb.validate import choice_giveaways

    first = QuizQuestion(id="q", question="?", kind="choice", choices=["right", "no", "nah"], answer="right")
    assert any("first choice" in m for m in choice_giveaways(first))
    long = QuizQuestion(
        id="q",
        question="?",
        kind="choice",
        choices=["short", "The careful, complete and obviously right answer", "tiny"],
        answer="The careful, complete and obviously right answer",
        why_wrong={"short": "no", "tiny": "no"},
    )
    assert [m for m in choice_giveaways(long) if "only long" in m]
    assert choice_giveaways(SCALING) == []


def test_json_listing_and_answer_see_the_same_letters(tmp_path):
    kb = load_kb()
    with ProgressStore(tmp_path / "p.sqlite3") as store:
        engine = QuizEngine(kb, store)  # no rng: the order follows from the card
        loaded = next(loaded for loaded in kb if any(q.kind == "choice" for q in loaded.entry.quiz))
        question = next(q for q in loaded.entry.quiz if q.kind == "choice")
        listed = engine.item(question.id, T0)
        assert engine.item(question.id, T0).question.choices == listed.question.choices
        right = "abcdefgh"[listed.question.choices.index(question.answer)]
        assert engine.answer(engine.item(question.id, T0), right, T0).grade.correct


def test_a_question_asked_again_shows_its_choices_in_new_places(tmp_path):
    kb = load_kb()
    with ProgressStore(tmp_path / "p.sqlite3") as store:
        engine = QuizEngine(kb, store)
        loaded = next(loaded for loaded in kb if any(q.kind == "choice" for q in loaded.entry.quiz))
        question = next(q for q in loaded.entry.quiz if q.kind == "choice")
        item = engine.item(question.id, T0)
        for _ in range(7):
            engine.answer(item, "a", T0)
            again = engine.reshown(item)
            assert again.order != item.order
            assert [question.choices[i] for i in again.order] == again.question.choices
            item = again
