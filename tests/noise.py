"""Noise transforms: how a real traceback gets mangled on its way into a paste.

Each transform is a pure, deterministic ``str -> str`` function applied to a
real output (a KB example) to build the robustness set: the tool must still
diagnose the mangled text the same way. ``VARIANTS`` maps a variant name to
its transform.

- ``cut_head``: the paste starts mid-traceback (first half of the lines lost);
- ``cut_tail``: the paste stops at the final ``Type: message`` line (message
  continuation lines and anything logged afterwards are lost);
- ``cut_middle``: the ``Traceback`` header and first frame, ``...``, then the
  final error block, as people shorten long tracebacks by hand;
- ``last_line_only``: only the final ``Type: message`` line;
- ``rank_prefix``: every line prefixed with ``[rank0]: `` as torchrun prints;
- ``ansi``: Python 3.13's colourised traceback (SGR codes around file names,
  line numbers, function names, carets and the exception line);
- ``timestamps`` / ``timestamps_bracket``: a log timestamp on every line
  (``logging`` style, or a ``[date time]`` collector style);
- ``wrap80``: every line hard-wrapped at 80 columns, as a terminal copy does;
- ``log_noise``: model-loading warnings and ``\\r`` progress bars before the
  traceback, tracker shutdown lines after it;
- ``rich_box``: the traceback laid out as ``rich.traceback`` (Rich 15, width
  100) prints it: a ``╭─ Traceback (most recent call last) ─╮`` panel with one
  ``path:line in func`` row and the code line per frame, then the exception's
  bare class name and its message wrapped at 100 columns;
- ``crlf``: Windows line endings.

Pastes as users paste them (issue 12 §3):

- ``dedent``: indentation lost (forums, chat apps, Markdown outside a code
  block): every line starts at column 0;
- ``markdown``: Markdown rendering ate the underscores and stars: ``__init__``
  shows as ``init`` (bold), ``**kwargs`` as ``kwargs``;
- ``cut_at_raise``: the paste stops at the ``raise Error("message")`` line of
  the last frame, before the exception line (unchanged when that line has no
  string literal: nothing could be read from it);
- ``windows_paths``: the same run on Windows: ``C:\\Users\\…\\site-packages\\…``
  paths with backslashes;
- ``slurm_prefix``: ``srun --label`` output, ``0: `` before every line;
- ``deepspeed_prefix``: DeepSpeed's multi-node (pdsh) runner, ``worker-0: ``
  before every line.
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = [
    "VARIANTS",
    "find_final_line",
    "final_line_index",
    "strip_ansi",
    "cut_head",
    "cut_tail",
    "cut_middle",
    "last_line_only",
    "rank_prefix",
    "ansi",
    "timestamps",
    "timestamps_bracket",
    "wrap80",
    "log_noise",
    "rich_box",
    "crlf",
    "dedent",
    "markdown",
    "cut_at_raise",
    "windows_paths",
    "slurm_prefix",
    "deepspeed_prefix",
]

_FRAME = re.compile(r'^\s*File "(?P<file>[^"]*)", line (?P<line>\d+)(?:, in (?P<func>.*))?$')
_EXC_NAME = re.compile(
    r"^(?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*(?:Error|Exception|Interrupt|Exit|Iteration|Warning|Fault)(?::|$)"
)
_EXC_LINE = re.compile(r"^(?P<name>(?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*)(?::(?P<rest>.*))?$")
_CHAIN_SEPARATORS = (
    "The above exception was the direct cause of the following exception:",
    "During handling of the above exception, another exception occurred:",
)
_SGR = re.compile(r"\x1b\[[0-9;]*m")


def strip_ansi(text: str) -> str:
    """Remove SGR colour codes."""
    return _SGR.sub("", text)


def _lines(text: str) -> tuple[list[str], bool]:
    """Lines without their ends, and whether the text ended with a newline."""
    ends_nl = text.endswith("\n")
    body = text[:-1] if ends_nl else text
    return body.split("\n"), ends_nl


def _join(lines: list[str], ends_nl: bool = True) -> str:
    return "\n".join(lines) + ("\n" if ends_nl else "")


_PREFIX = re.compile(r"^\[rank\d+\]:\s?")


def _plain(line: str) -> str:
    """A line as seen for detection: no colour codes, no ``[rankN]:`` prefix."""
    return _PREFIX.sub("", strip_ansi(line))


def find_final_line(lines: list[str]) -> int | None:
    """Index of the final exception line (``Type: message``) in ``lines``, or None.

    After the last ``File "...", line N`` frame it is the first non-indented,
    non-empty line; without one, it is the last line that starts with an
    exception-like name (``...Error``, ``...Exception``, ``KeyboardInterrupt``...).
    Colour codes and ``[rankN]:`` prefixes are seen through. A traceback cut
    before its exception line has none.
    """
    plain = [_plain(line) for line in lines]
    last_frame = max((i for i, line in enumerate(plain) if _FRAME.match(line)), default=None)
    if last_frame is not None:
        for i in range(last_frame + 1, len(plain)):
            line = plain[i]
            if line.strip() and not line[0].isspace():
                return i
    for i in range(len(plain) - 1, -1, -1):
        if _EXC_NAME.match(plain[i]):
            return i
    return None


def final_line_index(lines: list[str]) -> int:
    """``find_final_line``, falling back to the last non-empty line (or 0)."""
    found = find_final_line(lines)
    if found is not None:
        return found
    return max((i for i, line in enumerate(lines) if line.strip()), default=0)


# ---------------------------------------------------------------- truncation


# The truncations need the final exception line; a text without one (a
# traceback that is already cut short, a bare CUDA assert, a log) is returned
# unchanged, since there is nothing they could keep.


def cut_head(text: str) -> str:
    """Drop the first half of the lines, never past the final exception line."""
    lines, nl = _lines(text)
    final = find_final_line(lines)
    if final is None:
        return text
    return _join(lines[min(len(lines) // 2, final) :], nl)


def cut_tail(text: str) -> str:
    """Keep everything up to and including the final exception line, drop the rest."""
    lines, _ = _lines(text)
    final = find_final_line(lines)
    if final is None:
        return text
    return _join(lines[: final + 1])


def cut_middle(text: str) -> str:
    """Keep the first three lines, ``...``, then the final error block."""
    lines, nl = _lines(text)
    final = find_final_line(lines)
    if final is None or final <= 4:
        return text
    return _join(lines[:3] + ["..."] + lines[final:], nl)


def last_line_only(text: str) -> str:
    """Only the final ``Type: message`` line."""
    lines, _ = _lines(text)
    final = find_final_line(lines)
    if final is None:
        return text
    return lines[final] + "\n"


# ---------------------------------------------------------------- prefixes


def rank_prefix(text: str) -> str:
    """Every line prefixed with ``[rank0]: `` as torchrun does for a rank's output."""
    lines, nl = _lines(text)
    return _join([f"[rank0]: {line}" for line in lines], nl)


def _stamp(i: int) -> tuple[str, str]:
    """Deterministic clock: line ``i`` is 7 ms after line ``i - 1``."""
    ms = 123 + 7 * i
    sec = 32 + ms // 1000
    return f"2026-11-28 10:15:{sec % 60:02d}", f"{ms % 1000:03d}"


def timestamps(text: str) -> str:
    """``2026-11-28 10:15:32,123 - ERROR - `` (``logging`` format) on every line."""
    lines, nl = _lines(text)
    out = []
    for i, line in enumerate(lines):
        clock, ms = _stamp(i)
        out.append(f"{clock},{ms} - ERROR - {line}")
    return _join(out, nl)


def timestamps_bracket(text: str) -> str:
    """``[2026-11-28 10:15:32] `` (log collector style) on every line."""
    lines, nl = _lines(text)
    return _join([f"[{_stamp(i)[0]}] {line}" for i, line in enumerate(lines)], nl)


def crlf(text: str) -> str:
    """Windows line endings."""
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


# ---------------------------------------------------------------- layout


def wrap80(text: str) -> str:
    """Hard-wrap every line at 80 characters, as copying from an 80-column terminal does."""
    lines, nl = _lines(text)
    out: list[str] = []
    for line in lines:
        if not line:
            out.append(line)
            continue
        out.extend(line[i : i + 80] for i in range(0, len(line), 80))
    return _join(out, nl)


# Python 3.13's traceback colours (Lib/_colorize.py ANSIColors).
_RESET, _MAGENTA, _BOLD_MAGENTA = "\x1b[0m", "\x1b[35m", "\x1b[1;35m"
_RED, _BOLD_RED = "\x1b[31m", "\x1b[1;31m"
_CARETS = re.compile(r"^\s*[~^]+\s*$")


def _colour_carets(line: str) -> str:
    return re.sub(r"~+|\^+", lambda m: (_RED if m.group(0)[0] == "~" else _BOLD_RED) + m.group(0) + _RESET, line)


def ansi(text: str) -> str:
    """Colour the traceback as Python 3.13 does; ``strip_ansi`` gives the input back."""
    lines, nl = _lines(text)
    final = final_line_index(lines)
    out: list[str] = []
    for i, line in enumerate(lines):
        frame = _FRAME.match(line)
        exc = _EXC_LINE.match(line) if (i == final or _EXC_NAME.match(line)) else None
        if frame:
            s, e = frame.span("file")
            line = f"{line[: s - 1]}{_MAGENTA}{line[s - 1 : e + 1]}{_RESET}{line[e + 1 :]}"
            line = re.sub(r"(, line )(\d+)", rf"\g<1>{_MAGENTA}\g<2>{_RESET}", line, count=1)
            if frame.group("func") is not None:
                head, sep, func = line.rpartition(", in ")
                line = f"{head}{sep}{_MAGENTA}{func}{_RESET}"
        elif _CARETS.match(line):
            line = _colour_carets(line)
        elif exc and line and not line[0].isspace():
            name, rest = exc.group("name"), exc.group("rest")
            line = f"{_BOLD_MAGENTA}{name}{_RESET}"
            if rest is not None:
                space = " " if rest.startswith(" ") else ""
                value = rest[len(space) :]
                line += ":" + space + (f"{_MAGENTA}{value}{_RESET}" if value else "")
        out.append(line)
    return _join(out, nl)


_BEFORE = [
    "`torch_dtype` is deprecated! Use `dtype` instead!",
    "Loading checkpoint shards:   0%|          | 0/2 [00:00<?, ?it/s]"
    "\rLoading checkpoint shards:  50%|█████     | 1/2 [00:01<00:01,  1.71s/it]"
    "\rLoading checkpoint shards: 100%|██████████| 2/2 [00:02<00:00,  1.38s/it]",
    "Generation config file not found, using a generation config created from the model config.",
    "trainable params: 4,194,304 || all params: 6,742,609,920 || trainable%: 0.0622",
    "  0%|          | 0/500 [00:00<?, ?it/s]"
    "\r  0%|          | 1/500 [00:02<19:31,  2.35s/it]"
    "\r  0%|          | 2/500 [00:04<17:48,  2.15s/it]",
]
_AFTER = [
    "\r  0%|          | 2/500 [00:05<21:40,  2.61s/it]",
    "wandb: 🚀 View run bright-sun-12 at: https://wandb.ai/team/finetune/runs/3k2j1h0g",
    "wandb: Find logs at: ./wandb/run-20261128_101532-3k2j1h0g/logs",
]


def log_noise(text: str) -> str:
    """Model-loading messages and progress bars before, tracker lines after."""
    lines, _ = _lines(text)
    return _join(_BEFORE + lines + _AFTER)


# ---------------------------------------------------------------- Rich panel

_RICH_WIDTH = 100
_INNER = _RICH_WIDTH - 4  # "│ " + content + " │"
_TITLE = " Traceback (most recent call last) "


def _rich_wrap(text: str, width: int) -> list[str]:
    """Rich's word wrap: a word goes to a new line when it does not fit;
    trailing spaces stay when they fit; over-long words are folded."""
    if not text:
        return [""]
    out: list[str] = []
    line = ""
    for word in re.findall(r"\s*\S+\s*", text) or [text]:
        if line and len(line) + len(word.rstrip()) > width:
            out.append(line[:width])
            line = ""
        while len(word.rstrip()) > width:
            out.append(word[:width])
            word = word[width:]
        line += word
    out.append(line[:width])
    return out


def _box_row(content: str) -> str:
    return f"│ {content[:_INNER]:<{_INNER}} │"


def _rich_panel(frames: list[tuple[str, str, str, str | None]]) -> list[str]:
    left = (_RICH_WIDTH - 2 - len(_TITLE)) // 2
    right = _RICH_WIDTH - 2 - len(_TITLE) - left
    rows = ["╭" + "─" * left + _TITLE + "─" * right + "╮"]
    for n, (file, lineno, func, code) in enumerate(frames):
        if n:
            rows.append(_box_row(""))
        for part in _rich_wrap(f"{file}:{lineno} in {func}", _INNER):
            rows.append(_box_row(part.rstrip()))
        if code is not None:
            rows.append(_box_row(""))
            rows.append(_box_row(f"❱ {lineno} {code.strip()}"))
    rows.append("╰" + "─" * (_RICH_WIDTH - 2) + "╯")
    return rows


def _rich_segment(lines: list[str]) -> list[str] | None:
    """One exception of a chain in Rich's layout, or None when it has no frames."""
    try:
        start = next(i for i, line in enumerate(lines) if line.startswith("Traceback (most recent call last)"))
    except StopIteration:
        return None
    pre, body = lines[:start], lines[start + 1 :]
    frames: list[tuple[str, str, str, str | None]] = []
    i = 0
    while i < len(body):
        m = _FRAME.match(body[i])
        if m:
            code = None
            if i + 1 < len(body) and body[i + 1].startswith("    ") and not _FRAME.match(body[i + 1]):
                if not _CARETS.match(body[i + 1]):
                    code = body[i + 1]
            frames.append((m.group("file"), m.group("line"), m.group("func") or "<module>", code))
            i += 1
            continue
        if body[i].strip() and not body[i][0].isspace():
            break
        i += 1
    if not frames:
        return None
    exc_lines = body[i:]
    while exc_lines and not exc_lines[-1].strip():
        exc_lines.pop()
    out = pre + _rich_panel(frames)
    if exc_lines:
        first = _EXC_LINE.match(exc_lines[0])
        if first and first.group("rest") is not None:
            # Rich prints the bare class name (``__name__``), not the module path.
            bare = first.group("name").rsplit(".", 1)[-1]
            exc_lines = [f"{bare}:{first.group('rest')}", *exc_lines[1:]]
        elif first:
            exc_lines = [first.group("name").rsplit(".", 1)[-1], *exc_lines[1:]]
        for line in exc_lines:
            out.extend(_rich_wrap(line.expandtabs(8), _RICH_WIDTH))
    return out


def rich_box(text: str) -> str:
    """Lay a plain Python traceback out as ``rich.traceback`` (Rich 15, width 100) does.

    Rich also shows a few source lines around each frame's line (read from the
    files); a paste only has the failing line, so only that one is shown, with
    Rich's ``❱ lineno`` marker. Text without a traceback is returned unchanged.
    """
    lines, _ = _lines(text)
    segments: list[list[str]] = [[]]
    separators: list[str] = []
    for line in lines:
        if line.strip() in _CHAIN_SEPARATORS:
            separators.append(line.strip())
            segments.append([])
        else:
            segments[-1].append(line)
    out: list[str] = []
    for n, seg in enumerate(segments):
        rendered = _rich_segment(seg)
        if rendered is None:
            return text
        if n:
            out += ["", separators[n - 1], ""]
        while rendered and n and not rendered[0].strip():
            rendered.pop(0)
        while rendered and not rendered[-1].strip():
            rendered.pop()
        out += rendered
    return _join(out)


# ---------------------------------------------------------------- pastes as users paste them


def dedent(text: str) -> str:
    """Every line's leading whitespace lost."""
    lines, nl = _lines(text)
    return _join([line.lstrip() for line in lines], nl)


_DUNDER = re.compile(r"__(\w+?)__")
_DOUBLE_STAR = re.compile(r"\*\*(?=\w)")


def markdown(text: str) -> str:
    """Markdown rendering: ``__init__`` → ``init`` (bold markers eaten), ``**kwargs`` → ``kwargs``."""
    return _DOUBLE_STAR.sub("", _DUNDER.sub(r"\1", text))


_RAISE_LITERAL = re.compile(r"""^\s*raise\s+[\w.]+\(\s*f?(["']).+\1""")


def cut_at_raise(text: str) -> str:
    """Stop after the last frame's ``raise X("...")`` line; unchanged without such a line."""
    lines, _ = _lines(text)
    final = find_final_line(lines)
    if final is None or final == 0:
        return text
    code = _plain(lines[final - 1])
    if _CARETS.match(code) and final >= 2:
        code, final = _plain(lines[final - 2]), final - 1
    if not _RAISE_LITERAL.match(code):
        return text
    return _join(lines[:final])


_POSIX_PATH = re.compile(r'(File ")(/[^"]*)(")')
_SITE = re.compile(r"^/.*?/(?:lib/python3\.\d+/)?site-packages/")


def _windows(path: str) -> str:
    path = _SITE.sub("C:/Users/me/miniconda3/envs/lora/Lib/site-packages/", path)
    if not path.startswith("C:"):
        path = "C:/Users/me/projects" + path
    return path.replace("/", "\\")


def windows_paths(text: str) -> str:
    """The run on Windows: frame paths with a drive and backslashes."""
    return _POSIX_PATH.sub(lambda m: m.group(1) + _windows(m.group(2)) + m.group(3), text)


def slurm_prefix(text: str) -> str:
    """``srun --label``: the task number before every line."""
    lines, nl = _lines(text)
    return _join([f"0: {line}" for line in lines], nl)


def deepspeed_prefix(text: str) -> str:
    """DeepSpeed's pdsh runner: the host name before every line."""
    lines, nl = _lines(text)
    return _join([f"worker-0: {line}" for line in lines], nl)


VARIANTS: dict[str, Callable[[str], str]] = {
    "cut_head": cut_head,
    "cut_tail": cut_tail,
    "cut_middle": cut_middle,
    "last_line_only": last_line_only,
    "rank_prefix": rank_prefix,
    "ansi": ansi,
    "timestamps": timestamps,
    "timestamps_bracket": timestamps_bracket,
    "wrap80": wrap80,
    "log_noise": log_noise,
    "rich_box": rich_box,
    "crlf": crlf,
    "dedent": dedent,
    "markdown": markdown,
    "cut_at_raise": cut_at_raise,
    "windows_paths": windows_paths,
    "slurm_prefix": slurm_prefix,
    "deepspeed_prefix": deepspeed_prefix,
}
