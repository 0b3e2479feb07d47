"""The shipped KB's quiz questions, checked against the grader (one test per question).

An open question whose own model answer does not pass its grader, or whose
concepts a blank answer satisfies, would teach the wrong thing: caught here.
"""

from __future__ import annotations

import pytest

from diagnose.kb.loader import load_kb
from diagnose.quiz.grading import grade
from diagnose.quiz.params import TEMPLATES


def _questions():
    kb = load_kb()
    out = []
    for loaded in kb:
        for question in loaded.entry.quiz:
            out.append(pytest.param(loaded.entry, question, id=f"{loaded.id}:{question.id}"))
    return out


QUESTIONS = _questions()


def test_question_ids_are_unique_and_do_not_clash_with_templates():
    ids = [p.values[1].id for p in QUESTIONS]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicates, f"quiz ids used twice: {duplicates}"
    assert not set(ids) & set(TEMPLATES)


@pytest.mark.parametrize(("entry", "question"), QUESTIONS)
def test_model_answer_passes_its_own_grader(entry, question):
    if question.kind == "choice":
        assert grade(question, question.answer).correct
        assert grade(question, str(question.choices.index(question.answer) + 1)).correct
        wrong = next(c for c in question.choices if c != question.answer)
        assert not grade(question, wrong).correct
    else:
        result = grade(question, question.answer)
        assert result.correct, f"the model answer misses {result.missing}; reword it or add synonyms"
        assert grade(question, "").missing == question.concepts
        assert not grade(question, "I do not know").correct
