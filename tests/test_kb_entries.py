"""Every shipped KB entry, one test each (the test id is the entry id): the bar a contribution must meet.

Found by name, never listed by hand: a new kb/<id>.yaml is tested as soon as
it exists, and a file that does not load fails here with its ``file:line``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from diagnose.kb.loader import load_entry_file, load_kb
from diagnose.kb.validate import run_examples
from diagnose.paths import SHIPPED_KB

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted(SHIPPED_KB.glob("*.yaml")) + sorted(SHIPPED_KB.glob("*.yml"))


@pytest.fixture(scope="module")
def shipped_kb():
    # The shipped KB exactly as a user without a KB path sees it.
    return load_kb(shipped=SHIPPED_KB, use_env=False)


@pytest.fixture(autouse=True)
def _no_user_kb(monkeypatch):
    monkeypatch.delenv("DIAGNOSE_KB_PATH", raising=False)


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_entry(path: Path, shipped_kb):
    loaded, problems = load_entry_file(path)
    assert not problems, "\n".join(str(p) for p in problems)
    entry = loaded.entry
    where = f"{path.relative_to(ROOT)}"

    # Examples match this entry first against the whole shipped KB; not_examples do not match it.
    results, issues = run_examples(loaded, shipped_kb)
    assert not issues, "\n".join(str(i) for i in issues)
    assert len(entry.examples) >= 2, f"{where}: at least two real examples (a full traceback and a short form)"
    assert len(entry.not_examples) >= 1, f"{where}: at least one not_example (the nearest other family)"

    # Quiz: two questions at least, one open and one choice, ids unique within the entry.
    kinds = {q.kind for q in entry.quiz}
    assert len(entry.quiz) >= 2 and kinds == {"open", "choice"}, f"{where}: >= 2 quiz questions, open and choice"
    ids = [q.id for q in entry.quiz]
    assert len(ids) == len(set(ids)), f"{where}: quiz ids repeat"

    # Fixes say why they have their safety tier; references back the why.
    for fix in entry.fixes:
        assert len(fix.safety_reason.split()) >= 3, f"{where}: fix {fix.title!r} needs a real safety_reason"
        assert fix.body.strip(), f"{where}: fix {fix.title!r} has no body"
    assert entry.references, f"{where}: references (library docs or source) are required"
    assert entry.verified_with, f"{where}: verified_with (the versions the why was checked against)"
    assert "TODO" not in entry.why + entry.title, f"{where}: still has TODO text"


def test_kb_has_entries_and_loads_cleanly(shipped_kb):
    assert FILES, "no kb/*.yaml found"
    assert not shipped_kb.problems, "\n".join(str(p) for p in shipped_kb.problems)
    assert len(shipped_kb) == len(FILES)


def test_quiz_ids_are_unique_across_the_kb(shipped_kb):
    owners: dict[str, list[str]] = {}
    for loaded in shipped_kb:
        for question in loaded.entry.quiz:
            owners.setdefault(question.id, []).append(loaded.id)
    clashes = {qid: ids for qid, ids in owners.items() if len(ids) > 1}
    assert not clashes, f"quiz ids used by more than one question: {clashes}"


def test_validate_passes_on_the_shipped_kb():
    from diagnose.kb.validate import validate

    result = validate([SHIPPED_KB])
    assert result.ok, "\n".join(str(i) for i in result.errors)
    assert not [w for w in result.warnings if "TODO" in w.message], result.warnings


def test_docs_are_up_to_date():
    """docs/kb.md is generated from the YAML; regenerate it with `make docs`."""
    from diagnose.kb.docs import generate

    docs = ROOT / "docs" / "kb.md"
    assert docs.exists(), "docs/kb.md is missing: run `make docs`"
    if docs.read_text(encoding="utf-8") != generate():
        pytest.fail("docs/kb.md is stale: regenerate it with `make docs` (diagnose kb docs --write docs/kb.md)")


def test_prefilter_literals_are_sound(shipped_kb):
    """The loader skips RE2 when none of a pattern's required literals is in the text: never a lost match."""
    from diagnose.textparse import parse_text

    haystacks = []
    for loaded in shipped_kb:
        for example in loaded.entry.examples + loaded.entry.not_examples:
            incident = parse_text(example.text)
            haystacks.append(incident.text)
            for exc in incident.exceptions():
                haystacks += [exc.message, " ".join(exc.message.split())]
    for loaded in shipped_kb:
        for compiled in loaded.rules:
            for pattern in (compiled.message, compiled.text):
                if pattern is None or pattern.needles is None:
                    continue
                for text in haystacks:
                    if pattern.regex.search(text.encode("utf-8")) is not None:
                        assert any(n in text for n in pattern.needles), (loaded.id, pattern.source, pattern.needles)
