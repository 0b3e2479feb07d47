"""Benchmark `explain`: KB load and matching with the shipped KB vs the shipped KB + 1,000 entries.

    .venv/bin/python bench/bench_explain.py [--entries N] [--runs N]

Prints ratios against baselines measured in the same run, on the same machine:
- KB load time: shipped KB alone vs shipped + N generated entries (a temp dir);
- matching time per traceback (parse_text + match over every shipped example),
  goal <= 5 ms with the big KB;
- cold start of `diagnose --help` and of `diagnose explain FILE` (JSON, and
  text for a pipe) on every family's first example vs `python -c pass`, goal
  <= 3x; the Rich text a terminal gets is timed too, and a check that explain
  never imports torch.

The generated entries look like contributions: an exception class, a message
regex of a few words with a gap, a weaker text rule, a why, two fixes, one
example.  They do not match the shipped examples, so every one of them is
scored and rejected on every traceback (the worst case for the matcher).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GOAL_MS = 5.0
WORDS = (
    "adapter tensor shard rank device cache token config layer module weight gradient optimizer scheduler "
    "checkpoint quantized kernel buffer stream batch sequence embedding vocab padding attention projection "
    "merge unload dispatch offload precision scaling dropout bias norm head"
).split()


def generated_entry(i: int, rng: random.Random) -> str:
    words = rng.sample(WORDS, 5)
    cls = f"Gen{i}{words[0].title()}Error"
    message = f"{words[1]} {words[2]} [^\\n]*{words[3]} (?:is|was) not [a-z_]+"
    text = f"{words[4]} {words[1]} failed for [^\\n]*{words[2]}"
    example = (
        f'Traceback (most recent call last):\n  File "train.py", line {i % 90 + 1}, in <module>\n'
        f"    run()\ngenlib.{cls}: {words[1]} {words[2]} of layer {i} {words[3]} is not ready\n"
    )
    body = "\n".join("      " + line for line in example.splitlines())
    return f"""id: gen-{i:04d}-{words[0]}
title: Generated entry {i} about {words[0]} {words[1]}
match:
  - exception: [{cls}]
    message: '{message}'
  - text: '{text}'
    weight: 0.8
why: |
  A generated entry ({i}) for the benchmark: the {words[0]} of the {words[1]} was not ready when the
  {words[2]} asked for it, so the {words[3]} step failed. {" ".join(rng.choices(WORDS, k=60))}
fixes:
  - title: Prepare the {words[0]} first
    safety: safe
    safety_reason: only the order of two calls changes
    body: |
      ```python
      {words[0]}.prepare()
      ```
  - title: Skip the {words[1]}
    safety: unsafe
    safety_reason: results change because the {words[1]} is no longer applied
    body: Remove the call.
quiz:
  - id: gen-{i:04d}-open
    kind: open
    question: Why did the {words[3]} fail?
    answer: The {words[0]} was not ready.
    concepts: [{words[0]}, ready]
examples:
  - source: generated for bench/bench_explain.py
    text: |
{body}
references: [https://example.org/gen/{i}]
"""


def write_entries(folder: Path, count: int) -> None:
    rng = random.Random(1234)
    for i in range(count):
        text = generated_entry(i, rng)
        entry_id = text.split("\n", 1)[0].removeprefix("id: ")
        (folder / f"{entry_id}.yaml").write_text(text, encoding="utf-8")


def time_load(extra: list[Path], runs: int):
    from diagnose.kb.loader import load_kb

    timings = []
    kb = None
    for _ in range(runs):
        start = time.perf_counter()
        kb = load_kb(extra, use_env=False)
        timings.append(time.perf_counter() - start)
    assert kb is not None and not kb.problems, kb.problems[:3]
    return statistics.median(timings), kb


def time_match(kb, texts: list[str], runs: int) -> tuple[float, float]:
    """(median ms per traceback, worst ms) for parse_text + match."""
    from diagnose.matcher import match
    from diagnose.textparse import parse_text

    per_text = []
    for text in texts:
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            match(parse_text(text), kb)
            samples.append(time.perf_counter() - start)
        per_text.append(statistics.median(samples) * 1000)
    return statistics.mean(per_text), max(per_text)


def cold(
    commands: dict[str, list[str]], runs: int, *, tty_stderr: set[str] = frozenset(), env: dict[str, str] | None = None
) -> dict[str, float]:
    """Median wall time (s) of each command, started fresh; the commands take turns so that a
    slower or faster moment of the machine reaches all of them alike.  Those named in ``tty_stderr``
    get a pseudo-terminal as stderr (where the diagnosis is Rich text, not Markdown)."""
    import pty

    timings: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            master = slave = None
            if name in tty_stderr:
                master, slave = pty.openpty()
            start = time.perf_counter()
            subprocess.run(
                command,
                check=False,
                stdout=subprocess.DEVNULL,
                cwd=ROOT,
                env=env,
                stderr=slave if slave is not None else subprocess.DEVNULL,
            )
            timings[name].append(time.perf_counter() - start)
            if master is not None:
                os.close(slave)
                _drain(master)
    return {name: statistics.median(values) for name, values in timings.items()}


def _drain(fd: int) -> None:
    import select

    while select.select([fd], [], [], 0)[0]:
        try:
            if not os.read(fd, 65536):
                break
        except OSError:
            break
    os.close(fd)


def cold_start(runs: int) -> bool:
    """`diagnose --help` and `diagnose explain` (JSON, Markdown for a pipe, Rich for a terminal) vs a bare
    interpreter, over the first example of every family.  Goal (issue 3): <= 3x."""
    python = sys.executable
    script = Path(python).with_name("diagnose")  # the console script a user runs
    diagnose = [str(script)] if script.exists() else [python, "-m", "diagnose.cli"]
    pastes = sorted((ROOT / "tests" / "data" / "outputs").glob("*/01.txt"))
    # A data dir of its own: the hundreds of runs below must not fill the real incident history.  Through
    # XDG_DATA_HOME, not DIAGNOSE_USER_DIR, so that finding it costs what it costs a user (platformdirs).
    user_dir = tempfile.mkdtemp(prefix="bench-user-")
    env = {k: v for k, v in os.environ.items() if k != "DIAGNOSE_USER_DIR"} | {"XDG_DATA_HOME": user_dir}
    for paste in pastes:  # fill the KB and library-facts caches, as earlier use would have
        subprocess.run([*diagnose, "explain", "--json", str(paste)], capture_output=True, cwd=ROOT, env=env)
    commands = {"python -c pass": [python, "-c", "pass"], "diagnose --help": [*diagnose, "--help"]}
    for paste in pastes:
        commands[f"json {paste.parent.name}"] = [*diagnose, "explain", "--json", str(paste)]
        commands[f"text {paste.parent.name}"] = [*diagnose, "explain", str(paste)]
    rich = f"rich {pastes[0].parent.name}"
    commands[rich] = [*diagnose, "explain", str(pastes[0])]
    medians = cold(commands, runs, tty_stderr={rich}, env=env)
    shutil.rmtree(user_dir, ignore_errors=True)
    base = medians.pop("python -c pass")
    print(
        f"\ncold start (median of {runs}, commands interleaved; PYTHONDONTWRITEBYTECODE="
        f"{os.environ.get('PYTHONDONTWRITEBYTECODE', '')!r})"
    )
    print(f"  python -c pass                        {base * 1000:6.0f} ms")
    print(
        f"  diagnose --help                       {medians['diagnose --help'] * 1000:6.0f} ms   "
        f"{medians['diagnose --help'] / base:4.1f}x"
    )
    worst = medians["diagnose --help"] / base
    for kind, label in (("json", "explain --json"), ("text", "explain, stderr a pipe (Markdown)")):
        ratios = sorted((medians[f"{kind} {p.parent.name}"] / base, p.parent.name) for p in pastes)
        middle = statistics.median(r for r, _ in ratios)
        print(
            f"  {label:36s}  median {middle * base * 1000:4.0f} ms {middle:4.1f}x   "
            f"worst {ratios[-1][0] * base * 1000:4.0f} ms {ratios[-1][0]:4.1f}x ({ratios[-1][1]})   "
            f"over {len(ratios)} families"
        )
        worst = max(worst, ratios[-1][0])
    print(
        f"  explain, stderr a terminal (Rich)     {medians[rich] * 1000:6.0f} ms   {medians[rich] / base:4.1f}x "
        f"({pastes[0].parent.name}; Rich's own import is most of it: reported, not part of the goal)"
    )
    ok = worst <= 3.0
    print(
        f"  goal <= 3.0x for --help and explain (JSON and piped text): {'ok' if ok else 'MISSED'} (worst {worst:.1f}x)"
    )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    from diagnose.kb.loader import load_kb

    shipped_kb = load_kb(use_env=False)
    texts = [ex.text for e in shipped_kb for ex in e.entry.examples]
    print(f"shipped KB: {len(shipped_kb)} entries, {len(texts)} example tracebacks")

    with tempfile.TemporaryDirectory(prefix="bench-kb-") as tmp:
        folder = Path(tmp)
        write_entries(folder, args.entries)
        load_small, small = time_load([], args.runs)
        load_big, big = time_load([folder], args.runs)
        assert len(big) == len(small) + args.entries
        small_ms, small_worst = time_match(small, texts, args.runs)
        big_ms, big_worst = time_match(big, texts, args.runs)
        # The big KB must not change a single diagnosis of the shipped examples.
        from diagnose.matcher import match
        from diagnose.textparse import parse_text

        changed = sum(
            1
            for t in texts
            if [c.id for c in match(parse_text(t), small)][:1] != [c.id for c in match(parse_text(t), big)][:1]
        )

    print(
        f"\nKB load          shipped {load_small * 1000:8.1f} ms   +{args.entries} entries "
        f"{load_big * 1000:8.1f} ms   ratio {load_big / load_small:6.1f}x   "
        f"({(load_big - load_small) / args.entries * 1000:.2f} ms per extra entry)"
    )
    print(
        f"match/traceback  shipped {small_ms:8.2f} ms   +{args.entries} entries {big_ms:8.2f} ms   "
        f"ratio {big_ms / small_ms:6.1f}x   worst {big_worst:.2f} ms   goal <= {GOAL_MS} ms: "
        f"{'ok' if big_ms <= GOAL_MS else 'MISSED'}"
    )
    print(f"diagnoses changed by the extra entries: {changed} of {len(texts)}")

    cold_ok = cold_start(max(args.runs, 9))
    paste = next(p for p in sorted((ROOT / "tests" / "data" / "outputs").glob("*/01.txt")))
    python = sys.executable
    probe = (
        "import sys; from diagnose.cli import main; "
        f"main(['explain', '--json', '--no-quiz', {str(paste)!r}]); "
        "bad = [m for m in ('torch', 'transformers', 'peft', 'textual') if m in sys.modules]; "
        "assert not bad, bad"
    )
    done = subprocess.run([python, "-c", probe], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    print("explain imports no torch/transformers/peft/textual: ok")
    return 0 if big_ms <= GOAL_MS and changed == 0 and cold_ok else 1


if __name__ == "__main__":
    sys.exit(main())
