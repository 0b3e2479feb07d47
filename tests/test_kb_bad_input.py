"""Broken KB files: each is reported as ``file:line: message``, the rest of the KB still loads, nothing crashes.

Covers the loader, ``diagnose kb validate DIR`` and ``diagnose explain --kb DIR``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from diagnose.kb.loader import compile_pattern, load_entry_file, load_kb
from diagnose.kb.validate import PATTERN_BUDGET_S, validate
from diagnose.paths import SHIPPED_KB

GOOD = """\
id: widget-frobnicated
title: The widget frobnicated
match:
  - exception: [WidgetError]
    message: 'the widget frobnicated'
why: Widgets frobnicate when over-tightened.
fixes:
  - title: Loosen the widget
    safety: safe
    safety_reason: nothing else changes
    body: "`widget.loosen()`"
examples:
  - source: a test
    text: |
      Traceback (most recent call last):
        File "w.py", line 1, in <module>
      widgets.WidgetError: the widget frobnicated at 3 Nm
references: [https://example.org/widgets]
"""
PASTE = """\
Traceback (most recent call last):
  File "w.py", line 1, in <module>
widgets.WidgetError: the widget frobnicated at 3 Nm
"""


def _entry(**replace: str) -> str:
    text = GOOD
    for old, new in replace.items():
        assert old in text
        text = text.replace(old, new)
    return text


def _write(folder: Path, name: str, text: str | bytes) -> Path:
    path = folder / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


# name -> (file contents, expected line, words the message contains)
CASES = {
    "malformed-yaml": (_entry(**{"match:\n": "match: [\n"}), 4, "malformed YAML"),  # where the parser stops
    "wrong-type": (_entry(**{"    safety: safe\n": "    safety: [safe]\n"}), 9, "fixes.0.safety"),
    "weight-not-a-number": (
        _entry(
            **{"    message: 'the widget frobnicated'\n": "    message: 'the widget frobnicated'\n    weight: heavy\n"}
        ),
        6,
        "weight",
    ),
    "bad-regex": (_entry(**{"'the widget frobnicated'": "'the (?=widget) frobnicated'"}), 5, "not a valid RE2 pattern"),
    "backreference": (_entry(**{"'the widget frobnicated'": "'(widget) \\1'"}), 5, "not a valid RE2 pattern"),
    "unknown-key": (_entry(**{"examples:": "exmaples:"}), 12, "exmaples"),
    "id-not-file-name": (_entry(**{"id: widget-frobnicated": "id: another-id"}), 1, "must equal the file name"),
    "not-a-mapping": ("- just\n- a list\n", 1, "must be a YAML mapping"),
    "empty": ("", 1, "must be a YAML mapping"),
    "not-utf8": (b"id: x\ntitle: \xff\xfe\n", 1, "cannot read"),
    "deeply-nested": ("id: deeply-nested\nmatch: " + "[" * 100_000 + "]" * 100_000 + "\n", 2, "malformed YAML"),
    "ten-megabytes": ("id: ten-megabytes\nwhy: |\n" + ("  " + "x" * 98 + "\n") * 105_000, 1, "bytes"),
}


def _case_text(name: str) -> str | bytes:
    """The case's file, with id = file name except where the id itself is the flaw."""
    text = CASES[name][0]
    if isinstance(text, str) and name != "id-not-file-name":
        text = text.replace("id: widget-frobnicated", f"id: {name}")
    return text


@pytest.mark.parametrize("name", sorted(CASES))
def test_broken_file_is_reported_with_its_line(tmp_path, name):
    _, line, words = CASES[name]
    path = _write(tmp_path, f"{name}.yaml", _case_text(name))
    loaded, problems = load_entry_file(path)
    assert loaded is None
    assert problems, "a broken file must be reported"
    assert any(p.path == path and p.line == line and words in p.message for p in problems), "\n".join(
        str(p) for p in problems
    )
    assert all(str(p).startswith(f"{path}:{p.line}: ") for p in problems)


def _bad_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "user-kb"
    folder.mkdir()
    for name in CASES:
        _write(folder, f"{name}.yaml", _case_text(name))
    _write(folder, "widget-frobnicated.yaml", GOOD)
    # Duplicate ids: the same id in a .yaml and a .yml file of one directory.
    twin = _entry(**{"id: widget-frobnicated": "id: twin", "frobnicated": "twinned"})
    _write(folder, "twin.yaml", twin)
    _write(folder, "twin.yml", twin)
    return folder


def test_the_rest_of_the_kb_still_loads(tmp_path):
    folder = _bad_folder(tmp_path)
    kb = load_kb([folder], use_env=False)
    shipped = {p.stem for p in SHIPPED_KB.glob("*.yaml")}
    assert shipped <= set(kb.entries)
    assert "widget-frobnicated" in kb.entries and "twin" in kb.entries
    reported = {p.path.name for p in kb.problems}
    expected = {f"{name}.yaml" for name in CASES} | {"twin.yml"}
    assert expected <= reported, expected - reported
    duplicate = next(p for p in kb.problems if p.path.name == "twin.yml")
    assert "duplicate id 'twin'" in duplicate.message and duplicate.line == 1


def test_validate_reports_every_broken_file_and_duplicates(tmp_path):
    folder = _bad_folder(tmp_path)
    result = validate([folder], time_patterns=False)
    assert not result.ok
    by_file: dict[str, list[str]] = {}
    for issue in result.errors:
        by_file.setdefault(issue.path.name, []).append(issue.message)
    for name, (_, _line, words) in CASES.items():
        assert any(words in m for m in by_file.get(f"{name}.yaml", [])), (name, by_file.get(f"{name}.yaml"))
    assert any("duplicate id 'twin'" in m for m in by_file["twin.yaml"])
    assert any("duplicate id 'twin'" in m for m in by_file["twin.yml"])
    assert "widget-frobnicated.yaml" not in by_file, by_file.get("widget-frobnicated.yaml")


@pytest.mark.timeout(60)  # Python's re would not finish the first search in a lifetime; RE2 takes milliseconds
def test_catastrophic_regex_is_linear_with_re2(tmp_path):
    """'(a+)+$' backtracks exponentially in Python's re; RE2 runs it in linear time (no clock read here: a
    loaded machine must not fail it; bench/ measures speed)."""
    pattern = compile_pattern("(a+)+$")
    for n in (25_000, 50_000, 100_000, 200_000):
        assert pattern.search("a" * n + "b") is None

    path = _write(
        tmp_path,
        "evil-regex.yaml",
        _entry(
            **{
                "id: widget-frobnicated": "id: evil-regex",
                "    message: 'the widget frobnicated'\n": "    message: 'the widget frobnicated'\n  - text: '(a+)+$'\n"
                "    weight: 0.5\n",
            }
        ),
    )
    result = validate([path])
    assert result.ok, [str(i) for i in result.errors]  # loads, and the timing check passes
    assert not [i for i in result.issues if "adversarial" in i.message]


def test_slow_pattern_check_reports_file_and_line(tmp_path, monkeypatch):
    """The timing check itself: a budget of zero makes every pattern 'slow', each reported at its line."""
    import diagnose.kb.validate as validate_module

    monkeypatch.setattr(validate_module, "PATTERN_BUDGET_S", -1.0)
    path = _write(tmp_path, "widget-frobnicated.yaml", GOOD)
    issues = [i for i in validate([path]).errors if "adversarial" in i.message]
    assert [i.line for i in issues] == [5]
    assert PATTERN_BUDGET_S > 0


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "diagnose.cli", *args], capture_output=True, text=True, timeout=120)


def test_cli_validate_exit_code_and_messages(tmp_path):
    folder = _bad_folder(tmp_path)
    done = _cli("kb", "validate", str(folder))
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    for name, (_, line, _) in CASES.items():
        assert f"{folder / name}.yaml:{line}: " in done.stderr, name
    assert "kb validate: FAILED" in done.stdout

    clean = tmp_path / "clean"
    clean.mkdir()
    _write(clean, "widget-frobnicated.yaml", GOOD)
    done = _cli("kb", "validate", str(clean))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "kb validate: ok" in done.stdout


def test_cli_explain_with_a_broken_user_kb_still_diagnoses(tmp_path):
    folder = _bad_folder(tmp_path)
    paste = _write(tmp_path, "paste.txt", PASTE)
    done = _cli("explain", "--json", "--no-quiz", "--kb", str(folder), str(paste))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert f"{folder / 'malformed-yaml.yaml'}:4: malformed YAML" in done.stderr
    report = json.loads(done.stdout)
    assert report["diagnoses"][0]["id"] == "widget-frobnicated"
    assert report["diagnoses"][0]["origin"] == str(folder)


def test_cli_missing_kb_dir_is_a_warning_not_a_crash(tmp_path):
    paste = _write(tmp_path, "paste.txt", PASTE)
    done = _cli("explain", "--json", "--no-quiz", "--kb", str(tmp_path / "nope"), str(paste))
    assert done.returncode == 0, done.stderr
    assert "KB directory not found" in done.stderr
    done = _cli("kb", "validate", str(tmp_path / "nope"))
    assert done.returncode == 1 and "no such file or directory" in done.stderr


def test_cache_serves_unchanged_entries_and_notices_edits(tmp_path):
    """A second load rebuilds entries from the cache; an edited file is read and validated again."""
    import shutil

    from diagnose.kb.loader import load_kb

    kb_dir = tmp_path / "kb"
    kb_dir.mkdir()
    source = Path(__file__).resolve().parent.parent / "kb" / "pad-token-missing.yaml"
    shutil.copy(source, kb_dir / source.name)
    first = load_kb(shipped=kb_dir, use_env=False)
    second = load_kb(shipped=kb_dir, use_env=False)
    assert first.get("pad-token-missing") == second.get("pad-token-missing")
    edited = (kb_dir / source.name).read_text().replace("title:", "title: EDITED", 1)
    (kb_dir / source.name).write_text(edited)
    third = load_kb(shipped=kb_dir, use_env=False)
    assert third.get("pad-token-missing").title.startswith("EDITED")
    (kb_dir / source.name).write_text(edited.replace("fixes:", "fixes_typo:", 1))
    broken = load_kb(shipped=kb_dir, use_env=False)
    assert "pad-token-missing" not in broken.entries and broken.problems


def test_cache_keeps_only_the_latest_load_and_compiles_regexes_on_first_use(tmp_path):
    """The cache does not grow with every KB directory ever loaded; a cached entry's patterns keep their
    prefilter literals and are compiled by RE2 only when a text gets past them."""
    import json
    import shutil

    from diagnose import paths
    from diagnose.kb.loader import EntryCache, compile_pattern, load_kb

    shipped = Path(__file__).resolve().parent.parent / "kb"
    extra = tmp_path / "extra"
    extra.mkdir()
    shutil.copy(shipped / "pad-token-missing.yaml", extra / "pad-token-missing.yaml")
    cache_file = paths.user_dir() / EntryCache.file_name()
    load_kb([extra], use_env=False)
    assert len(json.loads(cache_file.read_text())["entries"]) == len(list(shipped.glob("*.yaml"))) + 1
    cached = load_kb(use_env=False)  # without the extra directory: its file leaves the cache
    entries = json.loads(cache_file.read_text())["entries"]
    assert len(entries) == len(cached) and not any(str(extra) in key for key in entries)
    for loaded in cached:
        for rule in loaded.rules:
            for pattern in (rule.message, rule.text):
                if pattern is not None:
                    assert pattern._regex is None  # not compiled yet
                    assert pattern.needles == compile_pattern(pattern.source).needles
    rule = cached.entries["pad-token-missing"].rules[0]
    pattern = rule.message or rule.text
    assert pattern.search("nothing relevant here") is None
    if pattern.needles is not None:
        assert pattern._regex is None  # screened out by its literals: RE2 never ran
    assert cached.entries["pad-token-missing"].entry == load_kb(use_env=False, use_cache=False).get("pad-token-missing")


def test_validate_fails_on_an_advisor_that_does_not_exist(tmp_path):
    folder = tmp_path / "kb"
    folder.mkdir()
    _write(folder, "widget-frobnicated.yaml", _entry(**{"references:": "advisor: widget-advisr\nreferences:"}))
    done = _cli("kb", "validate", str(folder))
    assert done.returncode == 1
    assert (
        f"{folder / 'widget-frobnicated.yaml'}:18: advisor 'widget-advisr' does not exist" in done.stdout + done.stderr
    )
    _write(folder, "widget-frobnicated.yaml", _entry(**{"references:": "advisor: pad-token-missing\nreferences:"}))
    assert _cli("kb", "validate", str(folder)).returncode == 0
