"""The run view's log: bounded memory with a dropped-lines marker, colours, search, evidence, follow."""

from diagnose.tui.widgets.log_view import LogView, plain
from textual.app import App, ComposeResult
from tui_helpers import async_test


class LogApp(App):
    def __init__(self, max_lines: int = 1000) -> None:
        super().__init__()
        self.max_lines = max_lines

    def compose(self) -> ComposeResult:
        yield LogView(max_lines=self.max_lines)


def visible_text(log: LogView) -> list[str]:
    return ["".join(segment.text for segment in log.render_line(y)).rstrip() for y in range(log.size.height)]


@async_test
async def test_the_ring_buffer_keeps_the_last_lines_and_says_how_many_were_dropped():
    app = LogApp(max_lines=100)
    async with app.run_test(size=(60, 10)) as pilot:
        log = app.query_one(LogView)
        for start in range(0, 1000, 70):
            log.append([f"line {n}" for n in range(start, min(start + 70, 1000))])
        await pilot.pause()
        assert log.line_count == 100 and log.dropped == 900 and log.total_lines == 1000
        assert log.lines()[0] == "line 900"
        log.follow = False
        log.scroll_home(animate=False)
        await pilot.pause()
        assert visible_text(log)[0].startswith("… 900 earlier lines dropped")
        assert visible_text(log)[1] == "line 900"


@async_test
async def test_follow_shows_the_newest_line_and_scrolling_up_stops_it():
    app = LogApp()
    async with app.run_test(size=(60, 10)) as pilot:
        log = app.query_one(LogView)
        log.append([f"line {n}" for n in range(200)], live=["50%|#####     |"])
        await pilot.pause()
        assert visible_text(log)[-1] == "50%|#####     |"
        log.scroll_up(animate=False)
        await pilot.pause()
        assert log.follow is False
        log.append(["line 200"])
        await pilot.pause()
        assert "line 200" not in visible_text(log)
        await pilot.press("end")
        await pilot.pause()
        assert log.follow is True and visible_text(log)[-1] == "line 200"


@async_test
async def test_ansi_colours_are_rendered_not_shown_as_codes():
    app = LogApp()
    async with app.run_test(size=(60, 5)) as pilot:
        log = app.query_one(LogView)
        log.append(["\x1b[31mred error\x1b[0m plain"])
        await pilot.pause()
        strip = log.render_line(0)
        assert "".join(s.text for s in strip).startswith("red error plain")
        red = [s for s in strip if s.text.startswith("red")][0]
        assert red.style.color is not None and red.style.color.number == 1  # ANSI red
        assert plain("\x1b[1;32mok\x1b[0m") == "ok"


@async_test
async def test_search_finds_lines_and_cycles_through_them():
    app = LogApp()
    async with app.run_test(size=(60, 8)):
        log = app.query_one(LogView)
        log.append([f"step {n}: loss {n / 10:.1f}" + (" WARNING nan" if n % 25 == 0 else "") for n in range(100)])
        assert log.search("warning") == 4
        assert log.next_match() == 0  # search starts at the last match; next wraps to the first
        assert log.next_match() == 25
        assert log.next_match(backwards=True) == 0
        log.append(["WARNING late"])
        assert log.match_count == 5


@async_test
async def test_evidence_highlights_the_last_line_with_the_matched_text():
    app = LogApp()
    async with app.run_test(size=(60, 8)) as pilot:
        log = app.query_one(LogView)
        log.append(["ValueError: early"] + [f"noise {n}" for n in range(50)] + ["ValueError: the real one", "end"])
        found = log.mark_evidence("ValueError: the real one\nmore")
        await pilot.pause()
        assert found == 51
        assert "ValueError: the real one" in visible_text(log)
