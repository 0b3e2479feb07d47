"""Bytes → display lines: carriage returns collapse like a terminal, any byte split works."""

from hypothesis import given
from hypothesis import strategies as st

from tui.lines import MAX_PARTIAL, LineAssembler, collapse_cr


def feed_all(chunks):
    assembler = LineAssembler()
    lines, partial = [], None
    for chunk in chunks:
        out = assembler.feed(chunk)
        lines += out.lines
        partial = out.partial
    lines += assembler.finish().lines
    return lines, partial


def test_a_progress_bar_is_one_line_in_its_last_state():
    bar = b"".join(b"\r%3d%%|%s|" % (i, b"#" * (i // 10)) for i in range(101)) + b"\n"
    lines, _ = feed_all([b"loading\n", bar, b"done\n"])
    assert lines == ["loading", "100%|##########|", "done"]


def test_the_unfinished_bar_is_the_partial_line():
    assembler = LineAssembler()
    assert assembler.feed(b"epoch 1\r 10%").partial == " 10%"
    out = assembler.feed(b"\r 20%")
    assert out.lines == [] and out.partial == " 20%"
    assert assembler.feed(b"\r 30%\r\n").lines == [" 30%"]


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
    assert out.partial is not None and len(out.partial) <= MAX_PARTIAL


@given(st.binary(max_size=300), st.lists(st.integers(min_value=0, max_value=300), max_size=6))
def test_splitting_the_bytes_anywhere_gives_the_same_lines(data, cuts):
    cuts = sorted({c for c in cuts if c <= len(data)})
    pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)])]
    assert feed_all(pieces)[0] == feed_all([data])[0]
