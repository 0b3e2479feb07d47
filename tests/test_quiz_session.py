"""Picking questions, parameterised questions, orphans and statistics (fixed clock)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from quiz_support import T0, entries, gpt2_probes, lora_probes

from diagnose.errors import UsageError
from diagnose.quiz.params import SCALING_ID, from_probes, scaling_factor
from diagnose.quiz.scheduler import QuizScheduler
from diagnose.quiz.session import QuizEngine, interval_words
from diagnose.quiz.store import ProgressStore


@pytest.fixture
def store(tmp_path):
    with ProgressStore(tmp_path / "p.sqlite3") as s:
        yield s


def engine_for(store, **kw):
    return QuizEngine(entries(**kw), store, QuizScheduler(enable_fuzzing=False))


def test_nothing_met_means_nothing_to_review_unless_all(store):
    engine = engine_for(store)
    assert engine.pick(T0) == []
    ids = [i.id for i in engine.pick(T0, include_all=True, limit=None)]
    assert ids == [
        "gpt2-attention-module-names",
        "target-modules-match-rule",
        "lora-memory-savings",
        "rank-halving-scaling",
    ]
    assert [i.id for i in engine.pick(T0, include_all=True, limit=2)] == ids[:2]


def test_met_entries_first_most_recent_first_and_due_before_new(store):
    engine = engine_for(store)
    store.record_incident(command="a", source="text", entry_ids=["peft-target-modules-not-found"], when=T0)
    store.record_incident(command="b", source="text", entry_ids=["cuda-out-of-memory"], when=T0 + timedelta(hours=1))
    now = T0 + timedelta(hours=2)
    assert [i.id for i in engine.pick(now)] == [
        "lora-memory-savings",
        "rank-halving-scaling",
        "gpt2-attention-module-names",
        "target-modules-match-rule",
    ]
    engine.answer(engine.item("target-modules-match-rule", now), "b", now)  # Good: back in 10 minutes
    engine.answer(engine.item("rank-halving-scaling", now), "", now)  # Again: back in 1 minute
    assert [i.id for i in engine.pick(now)] == ["lora-memory-savings", "gpt2-attention-module-names"]
    later = now + timedelta(minutes=11)
    picked = engine.pick(later)
    assert [(i.id, i.new) for i in picked] == [
        ("rank-halving-scaling", False),
        ("target-modules-match-rule", False),  # due, oldest due first
        ("lora-memory-savings", True),
        ("gpt2-attention-module-names", True),
    ]
    assert picked[0].due == now + timedelta(minutes=1)


def test_entry_filter(store):
    engine = engine_for(store)
    assert [i.id for i in engine.pick(T0, entry_ids=["cuda-out-of-memory"])] == [
        "lora-memory-savings",
        "rank-halving-scaling",
    ]
    assert engine.pick(T0, entry_ids=["pad-token-missing"]) == []  # an entry without questions
    with pytest.raises(UsageError, match="no KB entry 'nope'"):
        engine.pick(T0, entry_ids=["nope"])


def test_orphaned_cards_are_kept_and_reported(store):
    engine = engine_for(store)
    store.record_incident(command="a", source="text", entry_ids=["cuda-out-of-memory"], when=T0)
    engine.answer(engine.item("rank-halving-scaling", T0), "half", T0)
    edited = engine_for(store, without=("rank-halving-scaling",))  # the KB entry was edited
    engine.answer(engine.item("rank-halving-scaling", T0), "half", T0 + timedelta(minutes=15))  # learnt: in review
    later = T0 + timedelta(days=30)
    assert [i.id for i in edited.pick(later)] == ["lora-memory-savings"]
    assert [o.question_id for o in edited.orphans()] == ["rank-halving-scaling"]
    stats = edited.stats(later)
    assert [o.question_id for o in stats.orphans] == ["rank-halving-scaling"] and stats.due_now == 0
    assert edited.item("rank-halving-scaling", later) is None
    assert store.get_card("rank-halving-scaling") is not None  # progress kept
    # the question comes back: so does its card, due
    assert [i.id for i in engine_for(store).pick(later)][0] == "rank-halving-scaling"


def test_question_parameterised_by_the_incident(store):
    engine = engine_for(store)
    store.record_incident(
        command="python train.py",
        source="capture",
        entry_ids=["peft-target-modules-not-found"],
        probes=lora_probes(r=8, lora_alpha=16),
        when=T0,
    )
    items = {i.id: i for i in engine.pick(T0)}
    item = items[SCALING_ID]
    assert item.new and item.params == {"r": 8, "lora_alpha": 16, "use_rslora": False}
    assert item.entry_id == "peft-target-modules-not-found"
    assert "r=8, lora_alpha=16" in item.question.question
    assert item.question.concepts == ["2"]
    result = engine.answer(item, "it is scaled by 2.0 (alpha over r)", T0)
    assert result.grade.correct
    assert store.get_card(SCALING_ID).params == item.params
    wrong = engine.grade(item, "by 16")
    assert not wrong.correct and wrong.missing == ["2"]

    # a later incident with another config: the question follows the user's current config
    store.record_incident(
        command="python train.py",
        source="capture",
        entry_ids=["cuda-out-of-memory"],
        probes=lora_probes(r=16, lora_alpha=8, use_rslora=True),
        when=T0 + timedelta(hours=1),
    )
    later = T0 + timedelta(days=3)
    item = {i.id: i for i in engine.pick(later)}[SCALING_ID]
    assert not item.new and item.question.concepts == ["2"]  # 8 / sqrt(16)
    assert "use_rslora=True" in item.question.question
    assert engine.grade(item, "two").correct


@pytest.mark.parametrize(
    "probes",
    [
        None,
        {},
        {"peft_configs": "nope"},
        {"peft_configs": [None, 3, {"class": "LoraConfig"}]},
        {"peft_configs": [{"class": "LoraConfig", "fields": {"r": 0, "lora_alpha": 16}}]},
        {"peft_configs": [{"class": "LoraConfig", "fields": {"r": "8", "lora_alpha": 16}}]},
        {"peft_configs": [{"class": "LoraConfig", "fields": {"r": True, "lora_alpha": 16}}]},
        {"peft_configs": [{"class": "LoraConfig", "fields": {"r": 8, "lora_alpha": 16, "rank_pattern": {"x": 4}}}]},
        {"peft_configs": [{"class": "IA3Config", "fields": {"target_modules": ["c_attn"]}}]},
    ],
)
def test_odd_probes_give_no_parameterised_question(probes):
    assert from_probes(probes) == []


def test_scaling_factor_formula():
    assert scaling_factor({"r": 8, "lora_alpha": 16}) == 2.0
    assert scaling_factor({"r": 16, "lora_alpha": 8, "use_rslora": True}) == 2.0
    assert from_probes(lora_probes(r=3, lora_alpha=16))[0][0].build({"r": 3, "lora_alpha": 16}).concepts == ["5.333"]


def test_question_after_a_diagnosis(store):
    engine = engine_for(store)
    fired = ["peft-target-modules-not-found"]
    probes = lora_probes()
    first = engine.for_diagnosis(fired, probes, T0)
    assert first.id == "gpt2-attention-module-names"
    engine.answer(first, "c_attn; module names from named_modules", T0)
    second = engine.for_diagnosis(fired, probes, T0)
    assert second.id == "target-modules-match-rule"
    engine.answer(second, "against the end of each module's full name", T0)
    # The LoRA scaling template is about no one error: it is not offered after this diagnosis.
    assert engine.for_diagnosis(fired, probes, T0) is None  # nothing asked twice in a row
    assert engine.for_diagnosis(fired, probes, T0 + timedelta(minutes=11)).id == "gpt2-attention-module-names"
    assert engine.for_diagnosis(["unknown-entry"], None, T0) is None
    assert engine.for_diagnosis([], probes, T0) is None


def test_run_specific_question_comes_first_after_a_diagnosis(store):
    engine = engine_for(store)
    message = "Target modules {'q_proj', 'v_proj'} not found in the base model."
    item = engine.for_diagnosis(["peft-target-modules-not-found"], gpt2_probes(), T0, message)
    assert item.run_specific and item.id == "your-attention-layer"
    assert "c_attn ×2, c_proj ×4, c_fc ×2" in item.question.question
    assert sorted(item.question.choices) == ["c_attn", "c_fc", "c_proj"]
    assert engine.grade(item, "c_attn").correct
    wrong = engine.grade(item, "c_fc")
    assert not wrong.correct and "MLP" in wrong.why_wrong


def test_stats(store):
    engine = engine_for(store)
    store.record_incident(command="a", source="text", entry_ids=["cuda-out-of-memory"], when=T0)
    empty = engine.stats(T0)
    assert (empty.cards, empty.reviews, empty.retention, empty.new_available, empty.entries_met) == (0, 0, None, 2, 1)
    engine.answer(engine.item("lora-memory-savings", T0), "gradients", T0)  # Again
    engine.answer(engine.item("rank-halving-scaling", T0), "half", T0)  # Good
    engine.answer(
        engine.item("lora-memory-savings", T0 + timedelta(minutes=2)),
        "gradients, optimizer state, activations",
        T0 + timedelta(minutes=2),
    )  # Hard
    stats = engine.stats(T0 + timedelta(minutes=3))
    assert stats.cards == 2 and stats.reviews == 3 and stats.reviewed_questions == 2
    assert stats.retention is None  # no card reached the review stage: first answers are learning, not recall
    assert stats.predicted_recall is None  # no data to predict from yet
    assert stats.due_now == 0 and stats.new_available == 0
    assert stats.streak_days == 1 and stats.leeches == []
    assert [(m.entry_id, m.stable, m.learning, m.total) for m in stats.mastery] == [("cuda-out-of-memory", 0, 2, 2)]
    weakest = {c.concept: (c.asked, c.missed) for c in stats.weakest}
    assert weakest == {"frozen weights": (2, 2), "activations": (2, 1), "optimizer state": (2, 1)}
    assert stats.weakest[0].concept == "frozen weights"
    engine.answer(engine.item("rank-halving-scaling", T0), "half", T0 + timedelta(minutes=15))  # learnt: in review
    later = T0 + timedelta(days=30)
    engine.answer(engine.item("rank-halving-scaling", later), "half", later)  # a review-stage answer
    stats = engine.stats(later)
    assert stats.retention == 1.0 and stats.retention_reviews == 1
    assert 0 < stats.predicted_recall <= 1
    assert stats.to_dict()["weakest_concepts"][0] == {"concept": "frozen weights", "asked": 2, "missed": 2}


def test_accepts_a_loaded_knowledge_base(store, tmp_path):
    from quiz_support import write_kb

    from diagnose.kb.loader import load_kb

    kb = load_kb([write_kb(tmp_path / "kb")], shipped=None)
    assert not kb.problems
    engine = QuizEngine(kb, store)
    assert len(engine.pick(T0, include_all=True, limit=None)) == 4


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0, "now"),
        (60, "in a minute"),
        (600, "in 10 minutes"),
        (5 * 3600, "in 5 hours"),
        (86400 * 1.2, "tomorrow"),
        (86400 * 8, "in 8 days"),
    ],
)
def test_interval_words(seconds, words):
    assert interval_words(timedelta(seconds=seconds)) == words


def test_a_card_answered_under_all_comes_back_in_plain_quiz(store):
    engine = engine_for(store)
    item = engine.pick(T0, include_all=True, limit=1)[0]
    assert not store.met_entries()
    engine.answer(item, "no idea", T0)  # Again: due in a minute
    later = T0 + timedelta(minutes=5)
    assert [i.id for i in engine.pick(later)] == [item.id]  # no diagnosed errors, yet it is due


def test_four_days_of_again_make_a_leech(store):
    engine = engine_for(store)
    store.record_incident(command="a", source="text", entry_ids=["cuda-out-of-memory"], when=T0)
    for day in range(4):
        when = T0 + timedelta(days=day)
        engine.answer(engine.item("lora-memory-savings", when), "no idea", when)
        engine.answer(engine.item("lora-memory-savings", when), "no idea", when + timedelta(minutes=2))
    assert engine.leeches() == {"lora-memory-savings"}
    assert engine.stats(T0 + timedelta(days=4)).leeches == ["lora-memory-savings"]
    [item] = [i for i in engine.pick(T0 + timedelta(days=5)) if i.id == "lora-memory-savings"]
    assert item.leech
