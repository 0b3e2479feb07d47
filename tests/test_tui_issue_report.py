"""The TUI's "Issue report" action (m) on a diagnosis: the copy-ready Markdown of `diagnose report`."""

from __future__ import annotations

import pytest
from diagnose.tui.app import make_app
from diagnose.tui.messages import Diagnosed
from textual.widgets import TextArea
from tui_helpers import ENTRY_ID, ROOT, SCRIPTS, async_test, fixed_now, one_entry_kb, settle, wait_until


@pytest.fixture(autouse=True)
def _at_repo_root(monkeypatch):
    monkeypatch.chdir(ROOT)


@pytest.mark.slow  # diagnose env imports torch (seconds) in the screen's worker
@async_test
async def test_issue_report_of_an_explained_traceback(tmp_path):
    kb = one_entry_kb(tmp_path)
    text = kb.get(ENTRY_ID).examples[0].text
    app = make_app(start_dir=SCRIPTS, kb=kb, now=fixed_now)
    diagnosed = []
    hook = lambda message: diagnosed.append(message) if isinstance(message, Diagnosed) else None
    async with app.run_test(size=(100, 30), message_hook=hook) as pilot:
        await pilot.press("x")
        await pilot.pause()
        app.screen.query_one("#paste").text = text
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: diagnosed, 30, "the diagnosis")
        await settle(pilot)
        await pilot.press("m")
        await pilot.pause()
        assert type(app.screen).__name__ == "IssueReportScreen"
        await wait_until(pilot, lambda: app.screen.markdown, 60, "the issue report")
        shown = app.screen.query_one(TextArea).text
        assert shown == app.screen.markdown
        assert "## Environment" in shown and f"entry `{ENTRY_ID}`" in shown
        assert "NoMatchingPeftModuleError" in shown
        await pilot.press("escape")
        assert type(app.screen).__name__ == "ReportScreen"
