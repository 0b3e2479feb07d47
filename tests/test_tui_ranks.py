"""The TUI log of a multi-process run: which rank printed each line, a rank filter, the root-cause rank tinted."""

from pathlib import Path

from diagnose.tui.widgets.log_view import LogView, rank_of
from textual.app import App, ComposeResult
from tui_helpers import async_test

LOG = Path(__file__).parent / "data" / "multi-rank" / "torchrun-2.13-two-ranks.txt"  # a real 2-rank torchrun failure


class LogApp(App):
    def compose(self) -> ComposeResult:
        yield LogView()


def visible_text(log: LogView) -> list[str]:
    return ["".join(segment.text for segment in log.render_line(y)).rstrip() for y in range(log.size.height)]


def test_rank_prefixes_name_the_rank():
    assert rank_of("[rank1]: ValueError: x") == 1
    assert rank_of("[default3]:Traceback (most recent call last):") == 3
    assert rank_of("\x1b[31m[rank12]: x\x1b[0m") == 12
    assert rank_of("W1202 13:18:31.954000 7977 torch/distributed/run.py:874]") is None
    assert rank_of("[2026-12-02 10:00:00] INFO x") is None


@async_test
async def test_rank_filter_and_root_rank():
    app = LogApp()
    async with app.run_test(size=(120, 60)) as pilot:
        log = app.query_one(LogView)
        log.append(LOG.read_text().splitlines())
        log.set_root_rank(1)
        await pilot.pause()
        assert log.ranks_seen() == [0, 1]
        # the ValueError is printed by rank 1 only; the evidence line is rank 1's
        found = log.mark_evidence("Target modules {'q_proj'} not found in the base model")
        assert found is not None and log.lines()[found - log.dropped].startswith("[rank1]: ValueError")
        # the root rank's lines are tinted, the others are not
        root_row = next(i for i, line in enumerate(log.lines()) if line.startswith("[rank1]: Traceback"))
        other_row = next(i for i, line in enumerate(log.lines()) if line.startswith("[rank0]: Traceback"))
        root_style = log._render_text(log.lines()[root_row], root_row, 0, 120)
        other_style = log._render_text(log.lines()[other_row], other_row, 0, 120)
        backgrounds = {seg.style.bgcolor for seg in other_style if seg.style and seg.text.strip()}
        assert {seg.style.bgcolor for seg in root_style if seg.style and seg.text.strip()} - backgrounds

        log.focus()
        await pilot.press("R")  # rank 0 only
        await pilot.pause()
        shown = [line for line in visible_text(log) if line]
        assert shown and all(line.startswith("[rank0]:") for line in shown)
        assert any("RuntimeError: [/__w/pytorch" in line for line in shown)  # gloo: connection closed by peer
        await pilot.press("R")  # rank 1 only
        await pilot.pause()
        shown = [line for line in visible_text(log) if line]
        assert shown and all(line.startswith("[rank1]:") for line in shown)
        await pilot.press("R")  # every line again
        await pilot.pause()
        assert log.rank_filter is None and log.virtual_size.height == log.line_count
