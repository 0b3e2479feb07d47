"""Faults and load: the wrapper and the capture hook never make a run worse, and explain never crashes.

The child's output must pass byte for byte whatever it writes (fuzzed), both
pipes full at once must not deadlock, and children that crash, exit abruptly,
are killed or leave grandchildren behind end the wrapper as they would end a
shell.  No assertion here reads a clock: bounds are per-test timeouts far above
the normal cost, so a loaded machine does not fail them.
"""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diagnose import runner
from diagnose.runner import child_environment
from tests.helpers import DIAGNOSE, env

# A child that replays a recorded list of (stream, bytes) writes, unbuffered, in order.
REPLAY = """
import os, pickle, sys
for fd, data in pickle.load(open(sys.argv[1], "rb")):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
sys.exit(int(sys.argv[2]))
"""


def _script(tmp_path: Path, body: str, name: str = "child.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return path


def _bare_and_wrapped(argv: list[str], timeout: float = 120, **kw):
    bare = subprocess.run([sys.executable, *argv], capture_output=True, timeout=timeout, env=env(), **kw)
    wrapped = subprocess.run(
        [*DIAGNOSE, "run", "--no-quiz", *argv], capture_output=True, timeout=timeout, env=env(), **kw
    )
    return bare, wrapped


def _replay(tmp_path: Path, writes: list[tuple[int, bytes]], code: int = 0):
    import pickle

    script = _script(tmp_path, REPLAY, "replay.py")
    data = tmp_path / "writes.pickle"
    data.write_bytes(pickle.dumps(writes))
    return _bare_and_wrapped([str(script), str(data), str(code)], timeout=240)


_CHUNK = st.one_of(
    st.binary(max_size=300),  # anything, invalid UTF-8 included
    st.sampled_from([b"\r", b"\n", b"\r\n", b"\x1b[31m", b"\xff\xfe", b"100%|####|\r", b"\xe2\x82"]),
    st.text(max_size=80).map(lambda t: t.encode("utf-8", "surrogatepass")),
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(writes=st.lists(st.tuples(st.sampled_from([1, 2]), _CHUNK), max_size=40))
def test_fuzzed_interleaved_streams_pass_byte_for_byte(tmp_path, writes):
    bare, wrapped = _replay(tmp_path, writes)
    assert wrapped.returncode == bare.returncode == 0
    assert wrapped.stdout == bare.stdout == b"".join(d for fd, d in writes if fd == 1)
    assert wrapped.stderr == bare.stderr == b"".join(d for fd, d in writes if fd == 2)


@pytest.mark.slow
def test_50_mb_on_both_pipes_at_once_no_deadlock(tmp_path):
    """Both pipes full while the child keeps writing to the other one: the wrapper drains them concurrently."""
    rng = __import__("random").Random(15)
    block = rng.randbytes(1 << 20)  # 1 MiB of arbitrary bytes, no trailing newline
    writes = [(1 + i % 2, block[i:] + block[:i]) for i in range(50)]
    bare, wrapped = _replay(tmp_path, writes, code=3)
    assert wrapped.returncode == bare.returncode == 3
    assert len(bare.stdout) == len(bare.stderr) == 25 << 20
    assert wrapped.stdout == bare.stdout
    assert wrapped.stderr[: len(bare.stderr)] == bare.stderr  # the diagnosis may follow the child's own output


@pytest.mark.parametrize(
    "body, expected",
    [
        ("import ctypes; print('before', flush=True); ctypes.string_at(0)", -signal.SIGSEGV),
        ("import os; print('bye', flush=True); os._exit(3)", 3),
        ("import os, signal; print('x', flush=True); os.kill(os.getpid(), signal.SIGKILL)", -signal.SIGKILL),
    ],
    ids=["segfault", "os._exit", "sigkill"],
)
def test_abrupt_ends_are_mirrored(tmp_path, body, expected):
    script = _script(tmp_path, body)
    bare, wrapped = _bare_and_wrapped([str(script)])
    assert wrapped.returncode == bare.returncode == expected
    assert wrapped.stdout == bare.stdout
    assert wrapped.stderr[: len(bare.stderr)] == bare.stderr


def test_exit_137_from_a_shell_is_explained_not_diagnosed_as_memory():
    done = subprocess.run(
        [*DIAGNOSE, "run", "--json", "--no-quiz", "--", "sh", "-c", "exit 137"],
        capture_output=True,
        timeout=60,
        env=env(),
    )
    assert done.returncode == 137
    report = json.loads(done.stdout)
    assert report["incident"]["exit_code"] == 137
    assert report["diagnoses"] == []  # no memory evidence: no cpu-out-of-memory
    human = subprocess.run(
        [*DIAGNOSE, "run", "--no-quiz", "--", "sh", "-c", "exit 137"], capture_output=True, timeout=60, env=env()
    )
    assert "killed by signal 9 (SIGKILL) — often the kernel's out-of-memory killer" in human.stderr.decode()


def test_a_grandchild_that_outlives_the_child_does_not_hold_the_wrapper(tmp_path):
    pid_file = tmp_path / "grandchild.pid"
    script = _script(
        tmp_path,
        f"""
        import subprocess, sys
        grandchild = subprocess.Popen(["sleep", "300"])  # inherits our stdout and stderr, and keeps them open
        open({str(pid_file)!r}, "w").write(str(grandchild.pid))
        print("parent done", flush=True)
        sys.exit(4)
        """,
    )
    try:
        done = subprocess.run([*DIAGNOSE, "run", "--no-quiz", str(script)], capture_output=True, timeout=120, env=env())
        assert done.returncode == 4
        assert done.stdout.startswith(b"parent done\n")
    finally:
        if pid_file.exists():
            os.kill(int(pid_file.read_text()), signal.SIGKILL)


# ------------------------------------------------------------------ the capture hook under hostile conditions


def _hooked_and_bare(tmp_path: Path, body: str, capture_dir: Path, timeout: float = 120):
    script = _script(tmp_path, body)
    bare = subprocess.run([sys.executable, str(script)], capture_output=True, env=env(), timeout=timeout)
    hooked = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        env=child_environment(str(capture_dir), env()),
        timeout=timeout,
    )
    return bare, hooked


HOSTILE = {
    "hanging-repr-and-getattr": """
        import time
        class Hangs:
            def __repr__(self):
                time.sleep(3600)
            def __getattr__(self, name):
                time.sleep(3600)
            def __len__(self):
                time.sleep(3600)
        def step(batch):
            raise ValueError("boom")
        step(Hangs())
    """,
    "recursion": """
        def down(n):
            return down(n + 1)
        down(0)
    """,
    "exception-in-atexit": """
        import atexit
        atexit.register(lambda: 1 / 0)
        raise KeyError("labels")
    """,
    "exception-in-a-thread-then-main": """
        import threading
        worker = threading.Thread(target=lambda: [][1], name="loader")
        worker.start()
        worker.join()
        print("main goes on", flush=True)
        raise RuntimeError("later")
    """,
    "excepthook-replaced-by-a-library": """
        import sys
        def pretty(kind, value, tb):
            sys.stderr.write(f"pretty: {kind.__name__}: {value}\\n")
        sys.excepthook = pretty
        raise RuntimeError("rich-style")
    """,
}


@pytest.mark.timeout(120)  # a probe that ran the hanging __getattr__ or __repr__ would never end
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_programs_keep_their_output_and_exit_code(tmp_path, name):
    captures = tmp_path / "captures"
    captures.mkdir()
    bare, hooked = _hooked_and_bare(tmp_path, HOSTILE[name], captures)
    addresses = re.compile(rb"0x[0-9a-f]+")  # "<function <lambda> at 0x7f...>" differs between two runs
    assert (hooked.returncode, hooked.stdout) == (bare.returncode, bare.stdout)
    assert addresses.sub(b"0x", hooked.stderr) == addresses.sub(b"0x", bare.stderr)
    files = list(captures.glob("capture-*.json"))
    assert files, "the failure was still captured"
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.stat().st_size <= 1_000_000


def test_a_read_only_capture_directory_changes_nothing(tmp_path):
    captures = tmp_path / "read-only"
    captures.mkdir()
    captures.chmod(0o500)
    if os.access(captures, os.W_OK):  # root ignores the mode: a path under a file cannot be written by anyone
        captures = tmp_path / "a-file" / "captures"
        (tmp_path / "a-file").write_text("")
    bare, hooked = _hooked_and_bare(tmp_path, "raise KeyError('x')\n", captures)
    assert (hooked.returncode, hooked.stdout, hooked.stderr) == (bare.returncode, bare.stdout, bare.stderr)


def test_capture_folder_is_private_and_removed_and_stale_ones_are_cleaned(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    stale = tmp_path / "diagnose-capture-0123456789ab"
    stale.mkdir(mode=0o700)
    (stale / "capture-host-1-1.json").write_text("{}")
    old = 1_000_000_000  # 2001: a folder left by a wrapper that was killed long ago
    os.utime(stale, (old, old))
    fresh = tmp_path / "diagnose-capture-ba9876543210"
    fresh.mkdir(mode=0o700)  # another run in progress right now: kept
    seen = []
    script = _script(
        tmp_path,
        "import os, stat, sys; d = os.environ['DIAGNOSE_CAPTURE_DIR']; "
        "print(oct(stat.S_IMODE(os.stat(d).st_mode)), d); sys.exit(1)",
    )
    result = runner.run([str(script)], on_output=lambda stream, data: seen.append(data))
    mode, folder = b"".join(seen).decode().split()[:2]
    assert result.exit_code == 1 and mode == "0o700"
    assert not Path(folder).exists()
    assert not stale.exists() and fresh.exists()


# ------------------------------------------------------------------ explain on generated input


@pytest.fixture(scope="module")
def kb():
    from diagnose.kb.loader import load_kb

    return load_kb([])


_TRACEBACK_PARTS = st.sampled_from(
    [
        "Traceback (most recent call last):\n",
        '  File "/x/train.py", line 3, in <module>\n',
        "    model = get_peft_model(model, config)\n",
        "ValueError: Target modules {'q_proj'} not found in the base model.\n",
        "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 20.00 MiB\n",
        "During handling of the above exception, another exception occurred:\n",
        "[rank0]: ",
        "\x1b[31m",
        "\r",
        "(" * 50,
        "a" * 5000,
    ]
)


@pytest.mark.timeout(240)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    text=st.one_of(
        st.text(max_size=3000),
        st.lists(_TRACEBACK_PARTS, max_size=60).map("".join),
        st.lists(st.one_of(_TRACEBACK_PARTS, st.text(max_size=40)), max_size=80).map("".join),
        st.binary(max_size=2000).map(lambda b: b.decode("utf-8", "replace")),
    )
)
def test_explain_never_crashes_on_generated_text(kb, text):
    from diagnose.engine import explain_text

    report = explain_text(text, kb)
    assert isinstance(report.to_json(), str)
    assert all(d.confidence <= 1.0 for d in report.diagnoses)


@pytest.mark.timeout(240)
@pytest.mark.parametrize(
    "text",
    [
        "x" * 5_000_000,  # one huge line
        "(" * 200_000 + ")" * 200_000,  # deep nesting
        "Traceback (most recent call last):\n" * 20_000,  # a header without end
        ('  File "a.py", line 1, in f\n    f()\n' * 50_000) + "RecursionError: maximum recursion depth exceeded\n",
        "".join(chr(c) for c in range(1, 0xD800)),  # every non-surrogate BMP character
    ],
    ids=["huge-line", "deep-nesting", "headers", "deep-recursion-traceback", "all-characters"],
)
def test_explain_is_bounded_on_adversarial_text(kb, text):
    from diagnose.engine import explain_text

    report = explain_text(text, kb)
    assert isinstance(report.to_json(), str)


def test_explain_refuses_binary_input_with_one_line(tmp_path):
    paste = tmp_path / "paste.bin"
    paste.write_bytes(bytes(range(256)) * 64)
    done = subprocess.run([*DIAGNOSE, "explain", str(paste)], capture_output=True, timeout=60, env=env())
    assert done.returncode == 2 and done.stderr.count(b"\n") == 1 and b"Traceback" not in done.stderr
