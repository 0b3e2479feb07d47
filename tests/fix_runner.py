"""Run the KB's runnable fix snippets inside their entries' example scripts, cheaply.

Importing torch, transformers and peft costs most of an example's run time, so
one server process imports them once and forks a child per patched script: each
child starts from the same clean, already-imported state, runs the script as
``__main__`` (its ``__file__`` is the example's own path, so it finds
``tiny_models`` beside it) in a fresh working directory, and reports back:

- the exit status (0, the ``SystemExit`` code, or 1 on an exception);
- the script lines of the innermost frames of that exception;
- every FutureWarning raised while one of the snippet's lines was running
  and called directly from one of the snippet's lines (a fix written against a
  deprecated API fails even though it still works).

No mocking: the real libraries run the real example with the fix applied.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SERVER = r"""
import json, os, runpy, sys, traceback, warnings
import torch, transformers, peft, accelerate  # noqa: the expensive part, paid once
from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa
for name in ("llama", "gpt2", "qwen2", "opt"):
    __import__(f"transformers.models.{name}.modeling_{name}")
print("ready", flush=True)

for request in sys.stdin:
    job = json.loads(request)
    pid = os.fork()
    if pid == 0:
        result = {"code": 0, "raised_at": [], "warnings": []}
        out = os.open(job["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.chdir(job["cwd"])
        path, first, last = job["path"], job["first"], job["last"]

        def record(message, category, filename, lineno, file=None, line=None):
            # A deprecated API the snippet itself calls: the snippet's line is the caller of the function
            # that warns (or of its deprecation helper), not a frame deep under peft's own calls.
            stack = [f for f in traceback.extract_stack()[:-1] if not f.filename.endswith("warnings.py")]
            near = stack[-3:-1]
            if issubclass(category, FutureWarning) and any(f.filename == path and first <= f.lineno <= last for f in near):
                result["warnings"].append(f"{category.__name__}: {message}")

        warnings.simplefilter("always", FutureWarning)
        warnings.showwarning = record
        sys.argv = [path, *job["args"]]
        globals_ = {"__name__": "__main__", "__file__": path, "__builtins__": __builtins__}
        try:
            exec(compile(job["source"], path, "exec"), globals_)
        except SystemExit as exit_:
            result["code"] = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        except BaseException as error:
            traceback.print_exc()
            result["code"] = 1
            result["raised_at"] = [f.lineno for f in traceback.extract_tb(error.__traceback__) if f.filename == path]
        sys.stdout.flush()
        sys.stderr.flush()
        with open(job["result"], "w") as handle:
            json.dump(result, handle)
        os._exit(0)
    os.waitpid(pid, 0)
    print("done", flush=True)
"""


@dataclass(frozen=True)
class SnippetRun:
    code: int
    raised_at: list[int]  # script lines of the frames the exception passed through (empty: no exception)
    warnings: list[str]  # FutureWarnings raised by the snippet's own lines
    log: str  # what the script printed (stdout and stderr together)


class FixRunner:
    """One server process for the whole test session; ``run`` is one patched script."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONHASHSEED="0")
        self.server = subprocess.Popen(
            [sys.executable, "-c", SERVER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=workdir,
            env=env,
        )
        assert self.server.stdout.readline().strip() == "ready"
        self.count = 0

    def run(self, path: Path, source: str, lines: tuple[int, int], args: list[str]) -> SnippetRun:
        self.count += 1
        cwd = self.workdir / f"run-{self.count}"
        cwd.mkdir()
        job = {
            "path": str(path),
            "source": source,
            "first": lines[0],
            "last": lines[1],
            "args": args,
            "cwd": str(cwd),
            "log": str(cwd / "log.txt"),
            "result": str(cwd / "result.json"),
        }
        self.server.stdin.write(json.dumps(job) + "\n")
        self.server.stdin.flush()
        assert self.server.stdout.readline().strip() == "done"
        result = json.loads((cwd / "result.json").read_text())
        return SnippetRun(log=(cwd / "log.txt").read_text(errors="replace"), **result)

    def close(self) -> None:
        self.server.stdin.close()
        self.server.wait(timeout=60)
