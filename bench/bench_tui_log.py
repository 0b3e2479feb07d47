"""Log ingest of the TUI's run view vs Textual's RichLog, and key latency during the flood.

    .venv/bin/python bench/bench_tui_log.py [LINES [REPEAT]]

Both widgets get the same lines through the same path as a real run: raw
bytes (coloured log lines and tqdm-style bars with carriage returns) go
through ``tui.lines.LineAssembler`` in a producer thread that posts batches
to the app with the run view's back-pressure (a new batch only once the
previous one is taken).  The run view's LogView appends a batch; the baseline
writes each line to a RichLog (``Text.from_ansi`` so colours show, as the run
view shows them).  Rate = lines / wall time until the last line is in the
widget and a frame is drawn.  The run view gets LINES × REPEAT lines (a flood
of some seconds), RichLog LINES / 10 (it is too slow for more).  While the LogView flood runs, a key is pressed
every 50 ms and the time until its binding runs is measured.

Goals (issue #6): ratio ≥ 10× RichLog, every key answered within 100 ms.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from diagnose.tui.lines import LineAssembler  # noqa: E402
from diagnose.tui.screens.run import READ_AHEAD_LINES  # noqa: E402
from diagnose.tui.widgets.log_view import LogView  # noqa: E402
from rich.text import Text  # noqa: E402
from textual import events  # noqa: E402
from textual.app import App, ComposeResult  # noqa: E402
from textual.binding import Binding  # noqa: E402
from textual.message import Message  # noqa: E402
from textual.widgets import RichLog  # noqa: E402

CHUNK = 65536


def make_output(lines: int) -> list[bytes]:
    """Training-log-like output: plain, coloured and progress-bar lines, in pty-sized chunks."""
    parts = []
    for n in range(lines):
        if n % 50 == 0:
            parts.append("".join(f"\r{p:3d}%|{'█' * (p // 5):<20}| {p}/100" for p in range(0, 101, 20)) + "\n")
        elif n % 7 == 0:
            parts.append(f"\x1b[33mwarning\x1b[0m step {n}: grad norm {n % 13 / 7:.3f} is large\n")
        else:
            parts.append(f"step {n}: loss {1 / (1 + n % 997):.5f} lr 2.0e-04 tokens/s {9000 + n % 311}\n")
    data = "".join(parts).encode()
    return [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)]


@dataclass
class Batch(Message):
    lines: list[str]
    live: list[str]
    last: bool


class BenchApp(App):
    BINDINGS = [Binding("x", "ping", "ping")]

    def __init__(self, kind: str, chunks: list[bytes], repeat: int) -> None:
        super().__init__()
        self.kind, self.chunks, self.repeat = kind, chunks, repeat
        self.taken = threading.Event()
        self.taken.set()
        self.done = asyncio.Event()
        self.received = 0
        self.pinged: asyncio.Event | None = None

    def compose(self) -> ComposeResult:
        yield LogView(max_lines=100_000) if self.kind == "logview" else RichLog(max_lines=100_000)

    def produce(self) -> None:
        assembler = LineAssembler()
        pending: list[str] = []
        live: list[str] = []
        for chunk in self.chunks * self.repeat:
            out = assembler.feed(chunk)
            pending.extend(out.lines)
            live = out.live
            if not self.taken.is_set() and len(pending) < READ_AHEAD_LINES:
                continue  # as the run view's worker: a bounded read-ahead while the UI is busy
            self.taken.wait()
            self.taken.clear()
            self.post_message(Batch(pending, live, False))
            pending = []
        self.taken.wait()
        self.taken.clear()
        pending.extend(assembler.finish().lines)
        self.post_message(Batch(pending, [], True))

    def on_batch(self, batch: Batch) -> None:
        if self.kind == "logview":
            self.query_one(LogView).append(batch.lines, batch.live)
        else:
            log = self.query_one(RichLog)
            for line in batch.lines:
                log.write(Text.from_ansi(line))
        self.received += len(batch.lines)
        self.taken.set()
        if batch.last:
            self.call_after_refresh(self.done.set)

    def action_ping(self) -> None:
        if self.pinged is not None:
            self.pinged.set()


async def measure(kind: str, lines: int, press_keys: bool, repeat: int = 1) -> tuple[float, list[float]]:
    chunks = make_output(lines)
    app = BenchApp(kind, chunks, repeat)
    lines *= repeat
    latencies: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        start = time.perf_counter()
        threading.Thread(target=app.produce, daemon=True).start()

        async def press() -> None:
            while not app.done.is_set():
                await asyncio.sleep(0.05)
                app.pinged = asyncio.Event()
                sent = time.perf_counter()
                app.post_message(events.Key("x", "x"))
                await app.pinged.wait()
                latencies.append((time.perf_counter() - sent) * 1000)

        presser = asyncio.create_task(press()) if press_keys else None
        await app.done.wait()
        elapsed = time.perf_counter() - start
        if presser:
            await presser
        assert app.received == lines, (app.received, lines)
    return lines / elapsed, latencies


async def main(lines: int, repeat: int) -> int:
    ours, latencies = await measure("logview", lines, press_keys=True, repeat=repeat)
    baseline_lines = max(2000, lines // 10)
    theirs, _ = await measure("richlog", baseline_lines, press_keys=False)
    ratio = ours / theirs
    print(f"LogView (run view): {ours:,.0f} lines/s over {lines * repeat:,} lines")
    print(f"RichLog (baseline): {theirs:,.0f} lines/s over {baseline_lines:,} lines")
    print(f"ratio: {ratio:.1f}x RichLog (goal >= 10x)")
    if latencies:
        print(
            f"key press during the flood: median {statistics.median(latencies):.1f} ms, "
            f"max {max(latencies):.1f} ms over {len(latencies)} presses (goal <= 100 ms)"
        )
    else:
        print("key press during the flood: the flood ended before the first press (use more lines)")
    return 0


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 20  # the LogView flood: count × repeat lines
    sys.exit(asyncio.run(main(count, repeat)))
