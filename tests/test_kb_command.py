"""`diagnose kb list|show|search|validate|test|new|docs`: the contribution workflow, end to end."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from diagnose.cli import main
from diagnose.kb.loader import compile_pattern, load_entry_file
from diagnose.kb.scaffold import generalise
from diagnose.paths import SHIPPED_KB

ROOT = Path(__file__).resolve().parent.parent
ABSTAIN = ROOT / "tests" / "data" / "abstain"
TARGETS = "peft-target-modules-not-found"


@pytest.fixture(autouse=True)
def _no_user_kb(monkeypatch):
    monkeypatch.delenv("DIAGNOSE_KB_PATH", raising=False)


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _override(tmp_path: Path, entry_id: str = TARGETS, **changes) -> Path:
    data = yaml.safe_load((SHIPPED_KB / f"{entry_id}.yaml").read_text(encoding="utf-8"))
    data.update(changes)
    folder = tmp_path / "my-kb"
    folder.mkdir(exist_ok=True)
    (folder / f"{entry_id}.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return folder


# ---------------------------------------------------------------- browsing


def test_list_shows_every_entry_with_counts_and_origin(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    code, out, _ = _run(capsys, "kb", "list", "--json")
    assert code == 0
    rows = {row["id"]: row for row in json.loads(out)}
    assert set(rows) == {p.stem for p in SHIPPED_KB.glob("*.yaml")}
    assert rows[TARGETS]["origin"] == "shipped" and rows[TARGETS]["examples"] >= 2
    assert rows[TARGETS]["overrides"] is None

    folder = _override(tmp_path, title="My own take on target modules")
    code, out, _ = _run(capsys, "kb", "list", "--json", "--kb", str(folder))
    row = {r["id"]: r for r in json.loads(out)}[TARGETS]
    assert row["origin"] == str(folder) and row["title"] == "My own take on target modules"
    assert row["overrides"] == str(SHIPPED_KB / f"{TARGETS}.yaml")

    code, out, _ = _run(capsys, "kb", "list", "--kb", str(folder))
    assert code == 0 and "overrides shipped" in out and TARGETS in out


def test_list_reads_diagnose_kb_path(capsys, tmp_path, monkeypatch):
    folder = _override(tmp_path, title="From the environment")
    monkeypatch.setenv("DIAGNOSE_KB_PATH", str(folder))
    _, out, _ = _run(capsys, "kb", "list", "--json")
    assert {r["id"]: r for r in json.loads(out)}[TARGETS]["origin"] == str(folder)


def test_show_renders_why_fixes_tiers_and_quiz(capsys):
    code, out, _ = _run(capsys, "kb", "show", TARGETS)
    assert code == 0
    for words in ("Why", "Fixes", "[safe]", "Quiz:", "Examples:", "References", "c_attn"):
        assert words in out, words


def test_show_unknown_id_suggests_close_ones(capsys):
    code, _, err = _run(capsys, "kb", "show", "peft-target-module-not-found")
    assert code == 1
    assert "no KB entry" in err and TARGETS in err


def test_search_ranks_title_and_message_words(capsys):
    code, out, _ = _run(capsys, "kb", "search", "target", "modules", "not", "found", "--json")
    assert code == 0
    assert json.loads(out)[0]["id"] == TARGETS
    _, out, _ = _run(capsys, "kb", "search", "CUDA out of memory", "--json")
    assert json.loads(out)[0]["id"] == "cuda-out-of-memory"
    code, out, _ = _run(capsys, "kb", "search", "zzzqqq")
    assert code == 1 and "no KB entry" in out


# ---------------------------------------------------------------- new / test / validate

SQLITE = ABSTAIN / "037-sqlite-no-such-table.txt"


def test_new_from_traceback_writes_a_working_entry(capsys, tmp_path):
    folder = tmp_path / "kb"
    code, out, _ = _run(
        capsys, "kb", "new", "sqlite-no-such-table", "--from-traceback", str(SQLITE), "--dir", str(folder)
    )
    assert code == 0, out
    path = folder / "sqlite-no-such-table.yaml"
    assert f"wrote {path}" in out and "matches it first" in out
    loaded, problems = load_entry_file(path)
    assert not problems, problems
    rule = loaded.entry.match[0]
    assert "OperationalError" in rule.exception
    assert loaded.entry.examples[0].text.strip() == SQLITE.read_text().strip()

    code, out, _ = _run(capsys, "kb", "test", str(path))
    assert code == 0 and "PASS sqlite-no-such-table examples[0]" in out

    code, out, err = _run(capsys, "kb", "validate", str(path))
    assert code == 0, err
    assert "warning: why is still marked TODO" in out and "kb validate: ok" in out

    # Never overwrite.
    before = path.read_text()
    code, _, err = _run(
        capsys, "kb", "new", "sqlite-no-such-table", "--from-traceback", str(SQLITE), "--dir", str(folder)
    )
    assert code == 1 and "already exists" in err
    assert path.read_text() == before


def test_new_generalises_the_variable_parts(capsys, tmp_path):
    paste = tmp_path / "t.txt"
    paste.write_text(
        "Traceback (most recent call last):\n"
        '  File "/home/me/train.py", line 9, in <module>\n'
        "    load(model)\n"
        "mylib.errors.ShapeError: layer 'encoder.3.fc' of <Net at 0x7f00ab12> wants torch.Size([8, 768]) "
        "from /data/ckpt/model.bin, got ['a', 'b'] and 12.5 MiB\n"
    )
    code, out, _ = _run(capsys, "kb", "new", "mylib-shape", "--from-traceback", str(paste), "--dir", str(tmp_path))
    assert code == 0, out
    entry = load_entry_file(tmp_path / "mylib-shape.yaml")[0].entry
    rule = entry.match[0]
    assert rule.exception == ["ShapeError", "mylib.errors.ShapeError"]
    pattern = compile_pattern(rule.message)
    other = (
        "layer 'decoder.0.proj' of <Net at 0xdeadbeef> wants torch.Size([16, 4096]) "
        "from /tmp/x/y.safetensors, got ['q_proj'] and 3 MiB"
    )
    assert pattern.search(other), rule.message
    assert not pattern.search("layer 'x' of <Net at 0x1> needs torch.Size([1]) from /a/b, got [] and 1 MiB")


@pytest.mark.parametrize(
    ("message", "variant"),
    [
        (
            "Target modules {'q_proj', 'v_proj'} not found in the base model. Please check the target modules.",
            "Target modules {'query'} not found in the base model. Please check the target modules.",
        ),
        (
            "CUDA out of memory. Tried to allocate 20.00 MiB (GPU 0; 15.78 GiB total capacity)",
            "CUDA out of memory. Tried to allocate 1.5 GiB (GPU 3; 79.1 GiB total capacity)",
        ),
        (
            "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)",
            "mat1 and mat2 shapes cannot be multiplied (8x1024 and 768x2)",
        ),
        ("expected scalar type Float but found BFloat16", "expected scalar type Half but found Float"),
        ("Can't find 'adapter_config.json' at '/tmp/out'", "Can't find 'adapter_config.json' at 'user/repo'"),
        ("learning rate 1e-05 is too small", "learning rate 3e-4 is too small"),
    ],
)
def test_generalise_keeps_the_words_and_frees_the_values(message, variant):
    pattern = generalise(message)
    compiled = compile_pattern(pattern)
    assert compiled.search(message) and compiled.search(variant), pattern
    assert not compiled.search(message.replace(" ", "_")), "the words themselves stay literal"


def test_generalise_escapes_special_characters():
    pattern = generalise("a.b*c+d?e|f^g$h (x) [y]")
    assert compile_pattern(pattern).search("a.b*c+d?e|f^g$h (x) [y]")
    assert not compile_pattern(pattern).search("aXb*c+d?e|f^g$h (x) [y]")


def test_new_without_traceback_and_default_directory(capsys, tmp_path, monkeypatch):
    first, second = tmp_path / "first", tmp_path / "second"
    monkeypatch.setenv("DIAGNOSE_KB_PATH", f"{first}:{second}")
    code, out, _ = _run(capsys, "kb", "new", "my-entry")
    assert code == 0 and (first / "my-entry.yaml").exists(), out
    loaded, problems = load_entry_file(first / "my-entry.yaml")
    assert loaded is not None, problems
    # A scaffold without an example is not finished: validate says so.
    code, _, err = _run(capsys, "kb", "validate", str(first / "my-entry.yaml"))
    assert code == 1 and "no examples" in err
    # --kb comes before DIAGNOSE_KB_PATH, --dir before both.
    _run(capsys, "kb", "new", "other-entry", "--kb", str(second))
    assert (second / "other-entry.yaml").exists()


def test_new_rejects_a_bad_id(capsys, tmp_path):
    code, _, err = _run(capsys, "kb", "new", "Not_Kebab", "--dir", str(tmp_path))
    assert code == 2 and "kebab-case" in err
    assert not list(tmp_path.iterdir())


def test_kb_test_reports_failing_examples_with_file_and_line(capsys, tmp_path):
    shipped = yaml.safe_load((SHIPPED_KB / f"{TARGETS}.yaml").read_text(encoding="utf-8"))
    # A not_example that is in fact this entry's own example: must be reported.
    folder = _override(tmp_path, not_examples=[shipped["examples"][0]])
    code, out, _ = _run(capsys, "kb", "test", "--kb", str(folder))
    assert code == 1
    assert f"PASS {TARGETS} examples[0]" in out
    fail = next(line for line in out.splitlines() if line.startswith("FAIL"))
    assert re.search(rf"FAIL {TARGETS} not_examples\[0\]  {re.escape(str(folder))}/{TARGETS}\.yaml:\d+: ", fail)
    assert "matches this entry" in fail


def test_validate_default_covers_the_shipped_kb(capsys):
    code, out, err = _run(capsys, "kb", "validate")
    assert "kb validate:" in out
    assert code == (1 if err.strip() else 0)


# ---------------------------------------------------------------- docs


def test_docs_check_and_write(capsys, tmp_path):
    target = tmp_path / "kb.md"
    code, out, _ = _run(capsys, "kb", "docs", "--check", str(target))
    assert code == 1 and "stale" in out and "make docs" in out
    code, _, _ = _run(capsys, "kb", "docs", "--write", str(target))
    assert code == 0
    code, out, _ = _run(capsys, "kb", "docs", "--check", str(target))
    assert code == 0
    text = target.read_text()
    sections = [
        "### What happened",
        "### Why",
        "### Fixes",
        "### Example",
        "### Quiz",
        "### References",
        "### Versions",
    ]
    for block in text.split("\n## ")[1:]:
        positions = [block.index(s) for s in sections]
        assert positions == sorted(positions), block[:80]
    assert "*safe*" in text


# ---------------------------------------------------------------- start-up cost


def test_kb_command_module_imports_only_argparse():
    code = (
        "import sys; import diagnose.kb.command; "
        "heavy = [m for m in ('rich', 'pydantic', 'yaml', 're2', 'torch') if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_kb_commands_do_not_import_torch(tmp_path):
    code = (
        "import sys; from diagnose.cli import main; "
        f"main(['kb', 'validate', {str(SHIPPED_KB / (TARGETS + '.yaml'))!r}]); main(['kb', 'list']); "
        "main(['kb', 'search', 'memory']); assert 'torch' not in sys.modules; assert 'textual' not in sys.modules"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
