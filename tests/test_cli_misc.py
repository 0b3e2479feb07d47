"""`diagnose env`, `diagnose explain` input handling, and the JSON report contract."""

from __future__ import annotations

import json

import pytest

from tests.helpers import diagnose

PASTE = b"""Traceback (most recent call last):
  File "/home/me/train.py", line 12, in <module>
    model = get_peft_model(model, config)
peft.utils.error.NoMatchingPeftModuleError: Target modules {'q_proj', 'v_proj'} not found in the base model. Please check the target modules and try again.
"""


def test_env_is_one_paste_ready_block_without_env_values(monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_shouldneverappear123456")
    done = diagnose("env")
    out = done.stdout.decode()
    assert done.returncode == 0
    assert out.startswith("```") and out.rstrip().endswith("```")
    for name in ("Python", "torch 2.13.0", "transformers", "peft", "accelerate", "bitsandbytes", "textual", "CUDA"):
        assert name in out
    assert "hf_shouldneverappear" not in out


def test_explain_json_report_contract(tmp_path):
    paste = tmp_path / "paste.txt"
    paste.write_bytes(PASTE)
    done = diagnose("explain", "--json", str(paste))
    assert done.returncode == 0
    report = json.loads(done.stdout)
    assert report["schema"] == 1
    assert report["incident"]["source"] == "text"
    assert report["incident"]["exception"]["qualname"] == "peft.utils.error.NoMatchingPeftModuleError"
    assert report["incident"]["exception"]["chain"] == []
    best = report["diagnoses"][0]
    assert best["id"] == "peft-target-modules-not-found"
    assert set(best) >= {"id", "title", "confidence", "evidence", "why", "fixes", "findings", "patch", "quiz"}
    assert 0.6 <= best["confidence"] <= 1.0
    assert best["quiz"]


def test_explain_reads_stdin_and_abstains_on_ordinary_errors():
    done = diagnose(
        "explain",
        "--json",
        "-",
        input=b'Traceback (most recent call last):\n  File "t.py", '
        b"line 3, in <module>\n    x = batch['labels']\nKeyError: 'labels'\n",
    )
    assert done.returncode == 0
    assert json.loads(done.stdout)["diagnoses"] == []
    text = diagnose("explain", "-", input=b"KeyError: 'labels'\n")
    assert b"No confident diagnosis" in text.stderr and b"kb new" in text.stderr


def test_explain_from_text_alone_uses_peft_mapping_for_the_model_class(tmp_path):
    paste = PASTE.replace(b"Traceback", b"Loaded GPT2LMHeadModel from ./gpt2\nTraceback")
    done = diagnose("explain", "--json", "-", input=paste)
    best = json.loads(done.stdout)["diagnoses"][0]
    text = json.dumps(best["findings"]) + json.dumps(best["fixes"])
    assert "q_proj" in text and "c_attn" in text
    assert "text alone" in best["advisor_note"]


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", b"is empty"),
        (b"   \n\n", b"is empty"),
        (b"\x00\x01\x02binary\x00" * 100, b"looks binary"),
    ],
)
def test_explain_bad_files_are_one_line_exit_2(tmp_path, content, message):
    path = tmp_path / "input.txt"
    path.write_bytes(content)
    done = diagnose("explain", str(path))
    assert done.returncode == 2 and message in done.stderr
    assert done.stderr.count(b"\n") == 1 and b"Traceback" not in done.stderr


def test_explain_missing_file_directory_and_huge_file(tmp_path):
    assert diagnose("explain", str(tmp_path / "nope.txt")).returncode == 2
    assert diagnose("explain", str(tmp_path)).returncode == 2
    huge = tmp_path / "huge.log"
    with huge.open("wb") as handle:
        handle.truncate(60 * 1024 * 1024)  # sparse: 60 MB of NULs without writing them
    done = diagnose("explain", str(huge))
    assert done.returncode == 2 and b"tail -c" in done.stderr


def test_saved_report_round_trips(tmp_path):
    """Report.from_dict(report.to_dict()) gives the same report (history and `fix --report` rely on it)."""
    from diagnose.engine import explain_text
    from diagnose.kb.loader import load_kb
    from diagnose.report import Report

    report = explain_text(PASTE.decode(), load_kb())
    again = Report.from_dict(json.loads(report.to_json()))
    assert again.to_dict() == report.to_dict()


@pytest.mark.parametrize(
    "distribution",
    [
        "torch",
        "transformers",
        "peft",
        "accelerate",
        "bitsandbytes",
        "google-re2",
        "PyYAML",
        "typing_extensions",
        "lora-diagnose",
        "pydantic_core",
        "pip",
        "surely-not-installed-anywhere",
    ],
)
def test_installed_version_reads_what_importlib_metadata_reads(distribution):
    """The KB's version scoping reads dist-info folder names (no importlib.metadata import at start-up)."""
    from importlib import metadata

    from diagnose.libfacts import installed_version

    try:
        expected = metadata.version(distribution)
    except metadata.PackageNotFoundError:
        expected = None
    assert installed_version(distribution) == expected


@pytest.mark.parametrize(
    ("version", "spec", "expected"),
    [
        ("0.21.2", ">=0.21.0", True),
        ("0.20.0", ">=0.21.0", False),
        ("4.57.1", ">=4.38,<5", True),
        ("5.24.0", ">=4.38,<5", False),
        ("5.0.0rc1", ">=5", False),
        ("5.1.0rc1", ">=5", True),
        ("2.13.0+cpu", "==2.13.0", True),
        ("not-a-version", ">=1", None),
        ("1.0", "~~1", None),
    ],
)
def test_version_checks_answer_as_packaging_and_are_remembered(version, spec, expected):
    from diagnose import paths
    from diagnose.libfacts import version_satisfies

    assert version_satisfies(version, spec) is expected
    remembered = json.loads((paths.user_dir() / "version-checks.json").read_text())
    assert remembered[f"{spec}|{version}"] is expected
    assert version_satisfies(version, spec) is expected  # from the file this time
