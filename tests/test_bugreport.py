"""``diagnose report``: issue-ready Markdown from the last diagnosis, a JSON report or a traceback file;
secrets redacted; ``--kb-entry``; bad input is one line and exit 2."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import pytest

from diagnose import bugreport
from diagnose.engine import explain_text
from diagnose.kb.loader import load_kb
from diagnose.report import Report
from diagnose.workflow import record_history, save_last_report
from tests.helpers import ROOT, diagnose

SEED = ROOT / "tests" / "data" / "outputs" / "peft-target-modules-not-found" / "01.txt"  # a real run's output
TOKEN = "hf_AbCdEfGhIjKlMnOpQrStUvWxYz012345"
SECRETS = {
    "hf token": TOKEN,
    "bearer token": "eyJhbGciOiJIUzI1NiJ9.secretpayload",
    "url password": "s3cretPassw0rd",
    "e-mail": "alice.smith@corp-mail.com",
}


def _planted_traceback(home: Path) -> str:
    """The seed traceback as a user would paste it, with one of each kind of secret in it."""
    text = SEED.read_text(encoding="utf-8")
    user_script = f"{home}/alice.smith@corp-mail.com/project/train.py"
    text = text.replace("/work/main/examples/peft-target-modules-not-found.py", user_script)
    return (
        f"HTTP request: GET https://alice:{SECRETS['url password']}@huggingface.co/api/models/x\n"
        f"headers: {{'Authorization': 'Bearer {SECRETS['bearer token']}'}}\n"
        f"Authorization: Bearer {SECRETS['bearer token']}\n"
        f"using token {TOKEN} from the environment\n" + text
    )


def _args(source=None, last=False, kb_entry=None) -> argparse.Namespace:
    return argparse.Namespace(source=source, last=last, kb_entry=kb_entry)


def test_secrets_are_redacted_from_a_traceback_file(tmp_path, capsys):
    paste = tmp_path / "paste.txt"
    paste.write_text(_planted_traceback(Path.home()))
    assert bugreport.run(_args(str(paste))) == 0
    out = capsys.readouterr().out
    for kind, secret in SECRETS.items():
        assert secret not in out, f"{kind} leaked"
    assert "hf_***" in out and "https://***@huggingface.co" in out and "Authorization: ***" in out
    assert "~/***@***/project/train.py" in out  # the home folder shortened, the address masked
    assert "entry `peft-target-modules-not-found`" in out


def test_kb_entry_draft_is_redacted_and_matches(tmp_path, capsys):
    paste = tmp_path / "paste.txt"
    paste.write_text(_planted_traceback(Path.home()))
    assert bugreport.run(_args(str(paste), kb_entry="")) == 0
    draft = capsys.readouterr().out
    for kind, secret in SECRETS.items():
        assert secret not in draft, f"{kind} leaked into the KB draft"
    assert draft.startswith("id: no-matching-peft-module-error\n")
    entry_dir = tmp_path / "kb"
    entry_dir.mkdir()
    (entry_dir / "no-matching-peft-module-error.yaml").write_text(draft)
    kb = load_kb([entry_dir], use_cache=False)
    assert not [p for p in kb.problems if "no-matching-peft-module-error" in str(p)]
    report = explain_text(SEED.read_text(), kb)
    assert "no-matching-peft-module-error" in [d.id for d in report.diagnoses]


def test_last_diagnosis_with_its_script_lines_and_what_was_tried(tmp_path, capsys):
    """The newest incident of the history: its command, the traceback cut, the script's LoRA lines, the
    patch already applied (its backup) and the earlier runs of the same command."""
    script = tmp_path / "train.py"
    shutil.copy(ROOT / "examples" / "peft-target-modules-not-found.py", script)
    text = SEED.read_text().replace("/work/main/examples/peft-target-modules-not-found.py", str(script))
    report = explain_text(text, load_kb())
    report.script = str(script)
    command = ["python", str(script)]
    for _ in range(2):
        assert record_history(report, command) is None
    save_last_report(report)
    (tmp_path / "train.py.diagnose-bak").write_text("the original")
    assert bugreport.run(_args(last=True)) == 0
    out = capsys.readouterr().out
    assert "## Environment" in out and "peft " in out
    assert f"python {script}" in out
    assert "library frames omitted" in out
    assert "peft/peft_model.py" not in out  # the frames in between are folded
    assert 'tuners_utils.py", line 1073, in inject_adapter' in out  # where it was raised stays
    assert '  35      target_modules=["q_proj", "v_proj"],' in out
    assert "  41  model = get_peft_model(model, lora_config)" in out
    assert "run 2 times under diagnose" in out
    assert "train.py.diagnose-bak" in out


def test_a_saved_json_report(tmp_path, capsys):
    report = explain_text(SEED.read_text(), load_kb())
    saved = tmp_path / "report.json"
    saved.write_text(report.to_json())
    assert bugreport.run(_args(str(saved))) == 0
    out = capsys.readouterr().out
    assert "peft.utils.error.NoMatchingPeftModuleError: Target modules {'q_proj', 'v_proj'}" in out
    assert "entry `peft-target-modules-not-found`" in out
    assert Report.from_dict(report.to_dict()).diagnoses[0].id == "peft-target-modules-not-found"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["report", "/no/such/file.txt"], "no such file"),
        (["report", "--last"], "no diagnosis yet"),
        (["report", "EMPTY"], "is empty"),
        (["report", "BADJSON"], "is not a diagnose JSON report"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "bad.json").write_text('{"schema": 1')
    args = [{"EMPTY": str(tmp_path / "empty.txt"), "BADJSON": str(tmp_path / "bad.json")}.get(a, a) for a in args]
    done = diagnose(*args)
    err = done.stderr.decode()
    assert done.returncode == 2, err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err
