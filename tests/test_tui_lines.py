"""Bytes → display lines: carriage returns collapse like a terminal, any byte split works."""

from diagnose.tui.lines import MAX_PARTIAL, PLAIN_LIVE_ROWS, LineAssembler, collapse_cr
from hypothesis import given
from hypothesis import strategies as st


def feed_all(chunks):
    assembler = LineAssembler()
    lines, live = [], []
    for chunk in chunks:
        out = assembler.feed(chunk)
        lines += out.lines
        live = out.live
    lines += assembler.finish().lines
    return lines, live


def test_a_progress_bar_is_one_line_in_its_last_state():
    bar = b"".join(b"\r%3d%%|%s|" % (i, b"#" * (i // 10)) for i in range(101)) + b"\n"
    lines, _ = feed_all([b"loading\n", bar, b"done\n"])
    assert lines == ["loading", "100%|##########|", "done"]


def test_the_unfinished_bar_is_the_live_row():
    assembler = LineAssembler()
    assert assembler.feed(b"epoch 1\r 10%").live == [" 10%"]
    out = assembler.feed(b"\r 20%")
    assert out.lines == [] and out.live == [" 20%"]
    done = assembler.feed(b"\r 30%\r\n")
    assert done.lines == [] and done.live == [" 30%"]  # shown now; a finished line once out of reach
    assert assembler.finish().lines == [" 30%"]


def test_rows_become_finished_once_no_cursor_can_reach_them():
    assembler = LineAssembler()
    out = assembler.feed(b"".join(b"line %d\n" % i for i in range(10)))
    assert out.lines == [f"line {i}" for i in range(10 - (PLAIN_LIVE_ROWS - 1))]
    assert out.live == [f"line {i}" for i in range(10 - (PLAIN_LIVE_ROWS - 1), 10)]


def _tqdm_bytes(run) -> bytes:
    import io

    buffer = io.StringIO()
    run(buffer)
    return buffer.getvalue().encode()


def test_a_nested_bar_that_goes_away_leaves_the_screen_a_terminal_would_show():
    """Real tqdm output: an epoch bar and an evaluation bar drawn below it (cursor up/down), left=False."""
    from tqdm import tqdm

    def run(out):
        for _ in tqdm(range(3), desc="epoch", file=out, ascii=True, mininterval=0, ncols=60):
            for _ in tqdm(range(4), desc="eval", file=out, ascii=True, leave=False, mininterval=0, ncols=60):
                pass
        print("done", file=out)

    lines, live = feed_all([_tqdm_bytes(run)])
    assert len(lines) == 2 and lines[0].startswith("epoch: 100%|") and "3/3" in lines[0] and lines[1] == "done"


def test_two_bars_stay_two_rows_while_they_move():
    from tqdm import tqdm

    def run(out):
        outer = tqdm(total=2, desc="train", file=out, ascii=True, mininterval=0, ncols=50)
        inner = tqdm(total=100, desc="batch", file=out, ascii=True, mininterval=0, ncols=50, position=1)
        for _ in range(50):
            inner.update()
        outer.update()

    assembler = LineAssembler()
    out = assembler.feed(_tqdm_bytes(run))
    rows = out.lines + out.live
    assert [r.split(":")[0] for r in rows] == ["train", "batch"]
    assert "1/2" in rows[0] and "50/100" in rows[1]


def test_cursor_movement_split_across_reads():
    data = b"a\nb\n\x1b[2Ac\n"
    for cut in range(1, len(data)):
        assert feed_all([data[:cut], data[cut:]])[0] == feed_all([data])[0] == ["c", "b"]


def test_crlf_and_trailing_cr():
    assert collapse_cr("text\r") == "text"
    assert collapse_cr("a\rb\r") == "b"
    assert collapse_cr("\r\r") == ""


def test_a_multibyte_character_split_across_reads():
    lines, _ = feed_all([b"caf\xc3", b"\xa9 \xe2\x82", b"\xac\n"])
    assert lines == ["café €"]


def test_undecodable_bytes_are_replaced_not_fatal():
    lines, _ = feed_all([b"bad \xff\xfe byte\n"])
    assert lines == ["bad \ufffd\ufffd byte"]


def test_an_endless_line_is_cut_so_memory_stays_bounded():
    assembler = LineAssembler()
    for _ in range(10):
        out = assembler.feed(b"x" * (MAX_PARTIAL // 2))
    assert len(out.live) == 1 and len(out.live[0]) <= MAX_PARTIAL


@given(st.binary(max_size=300), st.lists(st.integers(min_value=0, max_value=300), max_size=6))
def test_splitting_the_bytes_anywhere_gives_the_same_lines(data, cuts):
    cuts = sorted({c for c in cuts if c <= len(data)})
    pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)])]
    assert feed_all(pieces)[0] == feed_all([data])[0]


TOKENS = st.sampled_from(
    [
        b"a",
        b"bc",
        b"\r",
        b"\n",
        b"\r\n",
        b"\x1b[A",
        b"\x1b[2A",
        b"\x1b[2K",
        b"\x1b[K",
        b"\x1bM",
        b"\x1b[31m",
        b"\x1b[0m",
        b"\xc3\xa9",
    ]
)


@given(st.lists(TOKENS, max_size=60))
def test_terminal_controls_give_the_same_screen_however_the_bytes_arrive(tokens):
    """Whole (the fast path for plain lines when it applies) or byte by byte (always the general path)."""
    data = b"".join(tokens)
    whole = feed_all([data])[0]
    assert feed_all([data[i : i + 1] for i in range(len(data))])[0] == whole
    assert feed_all([b"".join(tokens[: len(tokens) // 2]), b"".join(tokens[len(tokens) // 2 :])])[0] == whole


def test_blank_lines_a_program_prints_are_kept():
    assert feed_all([b"done\n\n"])[0] == ["done", ""]
    assert feed_all([b"a\n\nb\n"])[0] == ["a", "", "b"]
