"""Grading: a table of right, partly right and wrong answers per question."""

from __future__ import annotations

import pytest
from fsrs import Rating
from quiz_support import question

from diagnose.kb.schema import QuizQuestion
from diagnose.quiz.grading import MAX_ANSWER_CHARS, choice_index, grade

# (question id, answer, expected present concepts, correct)
OPEN_TABLE = [
    # right
    (
        "gpt2-attention-module-names",
        "GPT-2 fuses q, k and v into c_attn, so target c_attn; look at the module names with named_modules()",
        ["c_attn", "module names", "named_modules"],
        True,
    ),
    (
        "gpt2-attention-module-names",
        "Print the model: the layer names differ, GPT2 calls it C_ATTN.",  # synonyms, case
        ["c_attn", "module names", "named_modules"],
        True,
    ),
    (
        "gpt2-attention-module-names",
        "names of the modules differ -> c attn; print(model) shows them",  # word order, separators
        ["c_attn", "module names", "named_modules"],
        True,
    ),
    # partly right
    ("gpt2-attention-module-names", "use c_attn instead", ["c_attn"], False),
    (
        "gpt2-attention-module-names",
        "the module names are different, check named_modules",
        ["module names", "named_modules"],
        False,
    ),
    # wrong
    ("gpt2-attention-module-names", "set r higher and retry", [], False),
    ("gpt2-attention-module-names", "module", [], False),
    # right: plurals, synonyms, order
    (
        "lora-memory-savings",
        "Adam moments and the gradient shrink; the base model weights and activation memory do not",
        ["optimizer state", "gradients", "frozen weights", "activations"],
        True,
    ),
    (
        "lora-memory-savings",
        "activations, frozen weights stay; gradients and optimizer states shrink",
        ["optimizer state", "gradients", "frozen weights", "activations"],
        True,
    ),
    # partly
    ("lora-memory-savings", "the optimizer state shrinks", ["optimizer state"], False),
    ("lora-memory-savings", "gradients and activations", ["gradients", "activations"], False),
    # wrong
    ("lora-memory-savings", "it uses less disk", [], False),
    # numbers written in many ways
    ("rank-halving-scaling", "0.5", ["0.5"], True),
    ("rank-halving-scaling", "it halves", ["0.5"], True),
    ("rank-halving-scaling", "by half", ["0.5"], True),
    ("rank-halving-scaling", "0.50x", ["0.5"], True),
    ("rank-halving-scaling", "8/16 of before", ["0.5"], True),
    ("rank-halving-scaling", "it doubles", [], False),
    ("rank-halving-scaling", "2", [], False),
    ("rank-halving-scaling", "0.05", [], False),
]


@pytest.mark.parametrize(
    ("qid", "answer", "present", "correct"), OPEN_TABLE, ids=[f"{row[0]}-{i}" for i, row in enumerate(OPEN_TABLE)]
)
def test_open_answers(qid, answer, present, correct):
    q = question(qid)
    result = grade(q, answer)
    assert result.present == present
    assert result.missing == [c for c in q.concepts if c not in present]
    assert result.correct is correct
    assert result.score == pytest.approx(len(present) / len(q.concepts))
    expected = Rating.Good if correct else (Rating.Hard if result.score >= 0.5 else Rating.Again)
    assert result.suggested_rating == expected


def _numeric(concept: str) -> QuizQuestion:
    return QuizQuestion(id="factor", question="By what factor?", kind="open", answer=concept, concepts=[concept])


@pytest.mark.parametrize(
    ("concept", "answer", "ok"),
    [
        ("2", "2", True),
        ("2", "2.0", True),
        ("2", "two", True),
        ("2", "2x", True),
        ("2", "x2", True),
        ("2", "×2", True),
        ("2", "twice as much", True),
        ("2", "the update doubles", True),
        ("2", "16/8", True),
        ("2", "Two.", True),
        ("2", "3", False),
        ("2", "22", False),
        ("2", "max2", False),
        ("2", "0.2", False),
        ("2", "twenty", False),
        ("5.333", "5.33", True),
        ("5.333", "5.3", True),
        ("5.333", "16/3", True),
        ("5.333", "5", False),
        ("0.3536", "0.35", True),
        ("0.3536", "0.354", True),
        ("0.3536", "0.3", False),
        ("4194304", "4,194,304", True),
        ("4194304", "4194304 parameters", True),
        ("4194304", "4.2 million", True),
        ("4194304", "4.2M", True),
        ("4194304", "~4M", True),
        ("4194304", "about 4 million", True),
        ("4194304", "5 million", False),
        ("4194304", "4.5M", False),
        ("0.0001", "1e-4", True),
        ("16", "sixteen", True),
    ],
)
def test_numbers(concept, answer, ok):
    assert grade(_numeric(concept), answer).correct is ok


def test_multiword_concepts_must_be_close_together():
    q = QuizQuestion(id="q", question="?", kind="open", answer="x", concepts=["gradient checkpointing"])
    assert grade(q, "checkpointing of gradients").correct
    far = "gradient " + "filler " * 30 + "checkpointing"
    assert not grade(q, far).correct


@pytest.mark.parametrize("answer", ["", "   ", "\n\t", None])
def test_empty_answer_is_no_answer(answer):
    q = question("lora-memory-savings")
    result = grade(q, answer)
    assert result.blank and not result.correct and result.score == 0
    assert result.present == [] and result.missing == q.concepts
    assert result.suggested_rating == Rating.Again


@pytest.mark.timeout(60)  # bounded work: a super-linear blow-up hangs, a loaded machine does not fail it
def test_one_megabyte_answer_is_quick_and_truncated():
    q = question("gpt2-attention-module-names")
    huge = "c_attn module names named_modules " + "blah " * 200_000
    assert len(huge) > 1_000_000
    result = grade(q, huge)
    assert result.truncated and result.correct
    late = "blah " * 200_000 + "c_attn"  # beyond the read part: not seen
    assert not grade(q, late).present
    assert len("x" * MAX_ANSWER_CHARS) == MAX_ANSWER_CHARS


@pytest.mark.timeout(60)
def test_pathological_text_is_quick():
    q = question("gpt2-attention-module-names")
    for text in ["9" * 1_000_000, "," * 1_000_000, "1," * 500_000, "x" * 1_000_000, "\x00\ud800" * 1000]:
        assert not grade(q, text).correct


CHOICE_TABLE = [
    ("Against the end of each module's full name", True),
    ("  against the END of each module's full   name. ", True),
    ("2", True),
    ("(2)", True),
    ("b", True),
    ("B.", True),
    ("b)", True),
    ("1", False),
    ("a", False),
    ("Against the class name of each module", False),
    ("4", False),
    ("z", False),
    ("the end", True),  # words that name one choice only
    ("the class name", False),
    ("", False),
]


@pytest.mark.parametrize(("answer", "correct"), CHOICE_TABLE)
def test_choice_answers(answer, correct):
    q = question("target-modules-match-rule")
    result = grade(q, answer)
    assert result.correct is correct
    assert result.score == (1.0 if correct else 0.0)
    assert result.suggested_rating == (Rating.Good if correct else Rating.Again)
    if correct:
        assert result.chosen == q.answer


def test_choice_text_wins_over_letter():
    choices = ["b", "a"]
    assert choice_index(choices, "a") == 1  # the text "a" is the second choice
    assert choice_index(choices, "1") == 0


def test_grade_serialises():
    result = grade(question("rank-halving-scaling"), "half")
    assert result.to_dict()["suggested_rating"] == "good"


def test_verb_forms_meet_their_concept():
    """'fuses' and 'fusing' count for the concept 'fused' (seen in a real TUI session)."""
    from diagnose.kb.schema import QuizQuestion
    from diagnose.quiz.grading import grade

    question = QuizQuestion(id="fused-form", question="?", kind="open", answer="a", concepts=["fused", "padding"])
    for answer in ("GPT-2 fuses them, with padded batches", "it is fusing them; pads", "a fused layer and padding"):
        assert grade(question, answer).missing == [], answer
