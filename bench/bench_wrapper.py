"""Wrapper overhead: `diagnose run script.py` vs `python script.py`, in the same run.

The workload trains for a fixed wall time, so the comparison is the steps done
in that time (throughput) and the extra wall time around it (start-up and
shut-down of the wrapper).  Goal (issue 3): ≤ 2 % and ≤ 50 ms.

    .venv/bin/python bench/bench_wrapper.py [ROUNDS]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "bench" / "train_loop.py"
ENV = dict(os.environ, HF_HUB_OFFLINE="1")
_SCRIPT = Path(sys.executable).with_name("diagnose")  # the console script a user runs
DIAGNOSE = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "diagnose.cli"]


def once(command: list[str]) -> tuple[float, int]:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, env=ENV, cwd=ROOT, check=True)
    wall = time.perf_counter() - start
    steps = int(done.stdout.decode().split("steps ")[-1])
    return wall, steps


def fixed_cost(repeats: int = 21) -> None:
    """The wrapper's own start and finish, on a script that does nothing."""
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as empty:
        empty.write("pass\n")
    bare_cmd = [sys.executable, empty.name]
    wrapped_cmd = [*DIAGNOSE, "run", "--no-quiz", empty.name]

    times: dict[str, list[float]] = {"bare": [], "wrapped": []}
    for _ in range(repeats):  # interleaved, so drift in machine load hits both alike
        for name, command in (("bare", bare_cmd), ("wrapped", wrapped_cmd)):
            start = time.perf_counter()
            subprocess.run(command, capture_output=True, env=ENV, cwd=ROOT, check=True)
            times[name].append(time.perf_counter() - start)
    os.unlink(empty.name)
    bare, wrapped = (1000 * statistics.median(times[name]) for name in ("bare", "wrapped"))
    print(
        f"empty script: bare {bare:.0f} ms, wrapped {wrapped:.0f} ms -> fixed overhead {wrapped - bare:+.0f} ms "
        f"(ratio {wrapped / bare:.2f}; goal <= 50 ms: {'ok' if wrapped - bare <= 50 else 'MISSED'}); "
        f"PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '')!r}"
    )


def main(rounds: int) -> None:
    fixed_cost()
    bare_cmd = [sys.executable, str(SCRIPT)]
    wrapped_cmd = [*DIAGNOSE, "run", "--no-quiz", str(SCRIPT)]
    once(bare_cmd)  # warm the page cache and build the tiny model
    bare, wrapped = [], []
    for _ in range(rounds):  # interleaved, so drift in machine load hits both alike
        bare.append(once(bare_cmd))
        wrapped.append(once(wrapped_cmd))
    bare_wall = statistics.median(w for w, _ in bare)
    wrapped_wall = statistics.median(w for w, _ in wrapped)
    bare_steps = statistics.median(s for _, s in bare)
    wrapped_steps = statistics.median(s for _, s in wrapped)
    print(f"rounds: {rounds} (medians)")
    print(f"bare:    {bare_wall:7.3f} s wall, {bare_steps:.0f} training steps")
    print(f"wrapped: {wrapped_wall:7.3f} s wall, {wrapped_steps:.0f} training steps")
    print(
        f"wall ratio wrapped/bare: {wrapped_wall / bare_wall:.4f}  (extra {1000 * (wrapped_wall - bare_wall):+.0f} ms)"
    )
    print(f"throughput ratio wrapped/bare: {wrapped_steps / bare_steps:.4f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
