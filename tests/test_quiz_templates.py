"""Questions built from a user's own run: each recorded real run (tests/data/quiz_probes_*.json) yields a
question of its own error family, whose computed answer passes its grader and whose choices are sound."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from diagnose.quiz.grading import grade
from diagnose.quiz.params import TEMPLATES, facts_of, from_probes

RUNS = sorted((Path(__file__).parent / "data").glob("quiz_probes_*.json"))


@pytest.mark.parametrize("path", RUNS, ids=[p.stem.removeprefix("quiz_probes_") for p in RUNS])
def test_a_recorded_run_gets_a_question_on_its_own_topic(path):
    data = json.loads(path.read_text(encoding="utf-8"))
    facts = facts_of(data["probes"], data["exception_message"])
    built = [(t, p) for t, p in from_probes(facts, [data["entry"]]) if t.entry == data["entry"]]
    assert built, f"no run-specific question for {data['entry']}"
    for template, params in built:
        question = template.build(params)
        assert question.id == template.id
        assert json.loads(json.dumps(params)) == params  # stored with the card as JSON
        if question.kind == "choice":
            assert question.answer in question.choices and len(set(question.choices)) == len(question.choices)
            assert set(question.why_wrong) == {c for c in question.choices if c != question.answer}
        else:
            assert grade(question, question.answer).correct, grade(question, question.answer).missing
        assert not grade(question, "I do not know").correct


def test_every_template_but_the_general_one_belongs_to_an_entry():
    from diagnose.kb.loader import load_kb

    ids = {loaded.id for loaded in load_kb()}
    assert {t.entry for t in TEMPLATES.values()} - {""} <= ids
    assert len({t.entry for t in TEMPLATES.values() if t.entry}) >= 12


@pytest.mark.parametrize(
    "facts",
    [{}, {"models": "x"}, {"models": [{"parameters": {"by_place": {"cpu/float32": "many"}}}]}, {"tokenizers": [1]}],
)
def test_odd_facts_give_no_question_and_no_crash(facts):
    assert from_probes(facts) == [] or all(t.build(p) for t, p in from_probes(facts))
