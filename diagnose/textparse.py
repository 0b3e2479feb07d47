"""Traceback text parser: an Incident from pasted or logged text.

Real pastes are noisy: log lines before and after, ANSI colours, ``[rank0]:``
prefixes, timestamps, lines hard-wrapped at 80 columns, Rich box-drawn
tracebacks, chained exceptions, tracebacks cut off at either end, or only the
final error line.  ``normalize`` undoes the noise line by line; ``parse_text``
then finds the exception chain, frames and final error.
"""

from __future__ import annotations

import builtins
import re

from diagnose.incident import ExceptionInfo, Frame, Incident

TERMINAL_WIDTHS = {80, 100, 120, 132}
MAX_TEXT = 2_000_000  # characters; a longer paste keeps its end, where the error is

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
_PREFIXES = [
    re.compile(r"^\[(?:rank|RANK)\s?\d+\]:\s?"),  # torchrun: [rank0]:
    re.compile(r"^(?:rank|RANK)\s?\d+:\s?"),
    re.compile(r"^\[default\d+\]:\s?"),  # torchrun --tee: [default0]:
    re.compile(r"^\d+:\s(?=\s*(?:File|Traceback|\w+(?:Error|Exception)))"),  # srun -l / accelerate: "0: "
    re.compile(
        r"^\[?\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?\]?"
        r"(?:\s*(?:-\s*)?(?:\[?[A-Za-z_.]+\]?\s*-\s*)?(?:DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL)\]?)?"
        r"(?:\s*-\s*|\s*:\s|\s)"
    ),  # 2026-11-28 10:15:32,123 - name - ERROR - / [2026-…]
    re.compile(r"^\[\d{2}:\d{2}:\d{2}(?:[.,]\d+)?\]\s?"),  # [10:15:32]
    re.compile(r"^[IWEF]\d{4} \d{2}:\d{2}:\d{2}\.\d+\s+\d+\s+\S+:\d+\]\s?"),  # glog: E1128 10:15:32.123 123 f.cc:12]
    re.compile(r"^[\w.-]+\s+\|\s"),  # docker compose: app_1  | …
]
_BOX_LINE = re.compile(r"^\s*[│┃|]\s?(.*?)\s*[│┃|]\s*$")
_BOX_EDGE = re.compile(r"^\s*[╭╰┏┗+][─━-]")
_RICH_CODE = re.compile(r"^❱\s*\d+\s(?:[│ ]*)(?P<code>.*)$")  # "❱ 198 │   return x(" marks the failing line
_RICH_FRAME = re.compile(r"^(?P<file>\S.*?\.py):(?P<line>\d+) in (?P<func>[\w<>.]+)\s*$")

_TRACEBACK = re.compile(r"^\s*Traceback \(most recent call last\):?\s*$")
_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+)(?:, in (?P<func>.+?))?\s*$')
# IPython / Jupyter / Colab tracebacks ("verbose context" mode): a header naming the exception, then frames
# as "Cell In[7], line 12" or "File /path/x.py:133, in f(...)" (IPython >= 8) or "<ipython-input-7-…> in
# <module>()" and "/path/x.py in f(...)" (IPython 7, older Colab), each with context lines, "---> 12 code" marking
# the line that ran.
_IPY_HEADER = re.compile(r"^(?P<type>[A-Za-z_][\w.]*)\s{3,}Traceback \(most recent call last\)\s*$")
_IPY_CELL = re.compile(r"^Cell In ?\[(?P<cell>[^\]]*)\], line (?P<line>\d+)(?:, in (?P<func>\S+))?\s*$")
_IPY_FILE = re.compile(r"^File (?P<file>[^\s\"].*?):(?P<line>\d+), in (?P<func>[\w<>.]+)")
_IPY_OLD = re.compile(r"^(?P<file><ipython-input-[^>]*>|\S.*?\.pyx?) in (?P<func>[^(]+)\(")
_IPY_ARROW = re.compile(r"^\s*-*> ?(?P<line>\d+)\s(?P<code>.*)$")
_CAUSE = "The above exception was the direct cause of the following exception"
_CONTEXT = "During handling of the above exception, another exception occurred"
# An exception line: a (dotted) class name ending like Python's exception names, then ": message".
_EXCEPTION = re.compile(
    r"^\s*(?P<type>(?:[A-Za-z_][\w]*\.){0,8}[A-Z_]?[\w]*(?:Error|Exception|Warning|Interrupt|Exit|Iteration|Failure))"
    r"(?::\s?(?P<message>.*))?\s*$"
)
_LOG_LINE = re.compile(r"^\s*(?:\d+%\||[\w.-]+:\s|wandb:|\[|\d{4}-\d{2}-\d{2}|INFO|WARNING|DEBUG|ERROR\b)")
_TERMINAL_WIDTHS = {80, 100, 120}
# A message line that stops mid-sentence, then a lower-case line: one message, wrapped (Rich wraps at words).
_OPEN_END = re.compile(r"[\w,;(\[{'\"`-]$")
_LOGGER = re.compile(r"^\s*(?:wandb|INFO|WARNING|DEBUG|ERROR|CRITICAL)\b")
_BUILTIN_EXCEPTIONS = {n for n, v in vars(builtins).items() if isinstance(v, type) and issubclass(v, BaseException)}


# A prefix every line of a launcher's output carries: ``srun --label``'s task (``0: ``), pdsh's host
# (DeepSpeed's multi-node runner: ``worker-0: ``).  Stripped only when most lines carry the same one.
_LINE_LABEL = re.compile(r"^(?:\d{1,5}|[A-Za-z][\w.-]{0,62}): ")
# Markdown outside a code block renders ``__init__`` as a bold ``init``: the dunder methods tracebacks name.
_EATEN_DUNDER = re.compile(
    r"(?<=\w)\.(init|post_init|call|getattr|getattribute|setattr|getitem|new|enter|exit)\((?=\))"
    r"|(?<= in )(init|post_init|call|getattr|getattribute|setattr|getitem|new|enter|exit)(?=\(|$)",
    re.MULTILINE,
)
_WINDOWS_FRAME = re.compile(r'^(\s*File ")([A-Za-z]:\\[^"]*|\\\\[^"]*)(")')


def normalize(text: str) -> str:
    """Undo terminal and logging noise; one logical line per line."""
    text = text[-MAX_TEXT:].replace("\r\n", "\n")
    text = _ANSI.sub("", text)
    text = _strip_common_label(text)
    lines = []
    for raw in text.split("\n"):
        line = raw.rsplit("\r", 1)[-1] if "\r" in raw.rstrip("\r") else raw.rstrip("\r")  # progress bars
        for _ in range(3):  # prefixes stack: "[rank0]: 2026-… - ERROR - …"
            stripped = line
            for prefix in _PREFIXES:
                stripped = prefix.sub("", stripped, count=1)
            if stripped == line:
                break
            line = stripped
        if "\\" in line and (windows := _WINDOWS_FRAME.match(line)):
            line = windows[1] + windows[2].replace("\\", "/") + windows[3] + line[windows.end() :]
        lines.append(line)
    lines = _unbox(lines)
    text = "\n".join(line.rstrip() for line in _unwrap(lines))
    if "__" not in text:  # Markdown ate every dunder: put back the ones tracebacks show
        text = _EATEN_DUNDER.sub(lambda m: f".__{m[1]}__(" if m[1] else f"__{m[2]}__", text)
    return text


def _strip_common_label(text: str) -> str:
    """Remove a ``0: `` / ``worker-0: `` label that most lines of the text start with."""
    lines = text.split("\n")
    labels = [m[0] for line in lines if (m := _LINE_LABEL.match(line))]
    if not labels:
        return text
    label = max(set(labels), key=labels.count)
    if _EXCEPTION.match(label[:-2]):
        return text  # "ValueError: …" is the error, not a label
    nonempty = sum(1 for line in lines if line.strip())
    if len(labels) < 3:  # a short paste: every line labelled, and behind the label a traceback's line
        rest = [line[len(label) :] for line in lines if line.startswith(label)]
        if len(rest) < nonempty or not any(_EXCEPTION.match(r) or _TRACEBACK.match(r) for r in rest):
            return text
    elif labels.count(label) * 10 < nonempty * 6:
        return text
    return "\n".join(line[len(label) :] if line.startswith(label) else line for line in lines)


def _unbox(lines: list[str]) -> list[str]:
    """Rich's box-drawn traceback back to plain frame lines.

    A frame header too long for the panel is wrapped over two or three rows
    (``…/peft.py:220 in`` / ``load_adapter``; a long path is folded): the rows
    are joined again before the header is read.
    """
    if not any(_BOX_EDGE.match(line) for line in lines):
        return lines
    out = []
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if _BOX_EDGE.match(line):
            if "Traceback" in line:
                out.append("Traceback (most recent call last):")
            continue
        boxed = _BOX_LINE.match(line)
        if not boxed:
            out.append(line)
            continue
        rows = [boxed.group(1)]
        for ahead in lines[i : i + 2]:
            more = _BOX_LINE.match(ahead)
            if not more or not more.group(1).strip():
                break
            rows.append(more.group(1))
        for count in range(1, len(rows) + 1):
            head = rows[:count]
            frame = _RICH_FRAME.match("".join(head).strip()) or _RICH_FRAME.match(" ".join(r.strip() for r in head))
            if frame:
                out.append(f'  File "{frame["file"]}", line {frame["line"]}, in {frame["func"]}')
                i += count - 1
                break
        else:
            code = _RICH_CODE.match(rows[0].strip())
            if code and out and _FRAME.match(out[-1]):
                out.append("    " + code["code"].strip())  # the failing line, as Python prints it under its frame
        # anything else in the panel is code context or a locals table
    return out


def _unwrap(lines: list[str]) -> list[str]:
    """Join lines a terminal hard-wrapped: several lines of the same, maximal width.

    With only one such line (a single long error line copied from a terminal),
    a line of exactly a usual terminal width is joined to the next one when that
    one continues it (not indented, not the start of a traceback or frame).
    """
    widths = [len(line) for line in lines if len(line) >= 60]
    width = max(widths, default=0)
    if len(widths) >= 2 and sum(1 for w in widths if w == width) >= 2:
        out: list[str] = []
        joining = False
        for i, line in enumerate(lines):
            if joining and out:
                out[-1] += line
            else:
                out.append(line)
            # A whole frame line followed by its indented code line, or a line followed by a frame or an
            # exception line, was not wrapped, however long it is.
            after = lines[i + 1] if i + 1 < len(lines) else ""
            joining = (
                len(line) == width
                and not (_FRAME.match(line) and after.startswith("    "))
                and not (_FRAME.match(after) or _TRACEBACK.match(after) or _EXCEPTION.match(after))
            )
        return out
    out = []
    for i, line in enumerate(lines):
        previous = lines[i - 1] if i else ""
        if (
            i
            and len(previous) in _TERMINAL_WIDTHS
            and line
            and not line[0].isspace()
            and not _FRAME.match(previous)
            and not _TRACEBACK.match(previous)
            and not _TRACEBACK.match(line)
            and not _FRAME.match(line)
            and _CAUSE not in line
            and _CONTEXT not in line
        ):
            out[-1] += line
        else:
            out.append(line)
    return out


class _Block:
    """One exception as seen in the text: its frames and final line."""

    __slots__ = ("frames", "type", "message_lines", "relation")

    def __init__(self) -> None:
        self.frames: list[Frame] = []
        self.type: str | None = None
        self.message_lines: list[str] = []
        self.relation: str | None = None  # how this one led to the next


def parse_text(text: str) -> Incident:
    """An Incident from traceback text; ``exception`` is None when no error line is found."""
    clean = normalize(text)
    blocks = _blocks(clean.split("\n"))
    found = [b for b in blocks if b.type]
    cut = bool(blocks) and not blocks[-1].type and bool(blocks[-1].frames)  # the last traceback lost its error
    if not found or cut:
        raised = _from_raise_statement(clean, blocks[-1] if blocks else None)
        if raised is not None:
            found.append(raised)
        elif not found or found[-1].relation == "context":
            # "During handling … another exception occurred" and the paste stops before it: the error that
            # ended the run is unknown, and the one handled before it is not its cause.
            return Incident(source="text", exception=None, text=clean)
    infos = [_info(b) for b in found]
    return Incident(source="text", exception=infos[-1], chain=infos[:-1], text=clean)


# raise ValueError("message") / raise ValueError(f"... {x} ...") on one line: the paste's last line.
_RAISE = re.compile(r"""^\s*raise\s+(?P<type>[A-Za-z_][\w.]*)\(\s*[fr]?(?P<q>["'])(?P<message>.+)(?P=q)\s*\)?\s*$""")


def _from_raise_statement(clean: str, block: _Block | None) -> _Block | None:
    """The exception of a paste that stops at the ``raise X("message")`` line, before Python's exception line."""
    last = next((line for line in reversed(clean.split("\n")) if line.strip()), "")
    if not (match := _RAISE.match(last)) or not _EXCEPTION.match(match["type"]):
        return None
    if "{" in match["message"] and last.lstrip()[6:].split("(", 1)[1].lstrip()[:1] == "f":
        return None  # an f-string: the names that tell errors apart are still placeholders
    raised = block or _Block()
    raised.type = match["type"]
    raised.message_lines = [match["message"]]
    return raised


def _info(block: _Block) -> ExceptionInfo:
    qualname = block.type or ""
    bare = qualname.rsplit(".", 1)[-1]
    mro: tuple[str, ...] = ()
    if qualname in _BUILTIN_EXCEPTIONS:
        mro = tuple(k.__name__ for k in getattr(builtins, qualname).__mro__ if k is not object)
    message = "\n".join(block.message_lines).strip()
    return ExceptionInfo(
        type=bare, qualname=qualname, message=message, mro=mro, frames=tuple(block.frames), relation=block.relation
    )


def _blocks(lines: list[str]) -> list[_Block]:
    blocks: list[_Block] = []
    current = _Block()
    in_message = False
    ipython = False  # inside an IPython traceback: its older frame headers are plain "path in f(...)" lines
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if _TRACEBACK.match(line) or _IPY_HEADER.match(line):
            if current.type or current.frames:
                blocks.append(current)
            current, in_message = _Block(), False
            ipython = ipython or bool(_IPY_HEADER.match(line))
        elif frame := _ipython_frame(line, ipython):
            if current.type:
                blocks.append(current)
                current = _Block()
            current.frames.append(_with_arrow_line(frame, lines, i + 1))
            in_message = False
        elif _CAUSE in line or _CONTEXT in line:
            if current.type or current.frames:
                current.relation = "cause" if _CAUSE in line else "context"
                blocks.append(current)
            current, in_message = _Block(), False
        elif frame := _FRAME.match(line):
            if current.type:  # frames after a final line: a new, cut-off traceback
                blocks.append(current)
                current = _Block()
            code = ""
            if i + 1 < len(lines) and _code_line(lines[i + 1]):
                code = lines[i + 1].strip()
                i += 1
                while i + 1 < len(lines) and re.fullmatch(r"\s*[~^\s]+", lines[i + 1] or "x"):
                    i += 1  # the ^^^^ markers under the code
            current.frames.append(
                Frame(file=frame["file"], line=int(frame["line"]), function=(frame["func"] or "?").strip(), code=code)
            )
            in_message = False
        elif (match := _EXCEPTION.match(line)) and _looks_like_exception(match, line, current):
            if current.type:
                blocks.append(current)
                current = _Block()
            current.type = match["type"]
            current.message_lines = [match["message"] or ""]
            in_message = True
        elif (
            in_message
            and stripped
            and len(current.message_lines) < 40
            and (not _LOG_LINE.match(line) or _continues(current.message_lines[-1], line))
        ):
            current.message_lines.append(line)
        elif in_message and not stripped:
            in_message = False
        i += 1
    if current.type or current.frames:
        blocks.append(current)
    return blocks


def _code_line(line: str) -> bool:
    """The source line Python prints under a frame (indented; in a paste that lost its indentation, any
    line that is not itself a frame, a traceback header or an exception line)."""
    if _FRAME.match(line) or not line.strip():
        return False
    if line.startswith("    "):
        return True
    return not (_TRACEBACK.match(line) or _EXCEPTION.match(line) or _CAUSE in line or _CONTEXT in line)


def _ipython_frame(line: str, ipython: bool) -> Frame | None:
    """A frame header of an IPython traceback (its line may come from the arrow line below)."""
    if match := _IPY_CELL.match(line):
        return Frame(file=f"Cell In[{match['cell']}]", line=int(match["line"]), function=match["func"] or "<module>")
    if match := _IPY_FILE.match(line):
        return Frame(file=match["file"], line=int(match["line"]), function=match["func"])
    if ipython and (match := _IPY_OLD.match(line)):
        return Frame(file=match["file"], line=None, function=match["func"].strip())
    return None


def _with_arrow_line(frame: Frame, lines: list[str], start: int) -> Frame:
    """The frame with the code of its ``--->`` line (and that line's number when the header had none)."""
    for line in lines[start : start + 60]:
        if not line.strip():
            break
        if arrow := _IPY_ARROW.match(line):
            return frame._replace(line=frame.line or int(arrow["line"]), code=arrow["code"].strip())
    return frame


def _continues(previous: str, line: str) -> bool:
    """``line`` carries on a message line cut mid-sentence (``can't allocate`` / ``memory: you tried…``)."""
    return bool(_OPEN_END.search(previous.rstrip())) and line[:1].islower() and not _LOGGER.match(line)


def _looks_like_exception(match: re.Match, line: str, current: _Block) -> bool:
    """Reject log lines that merely look like ``SomeError: ...``."""
    name = match["type"]
    if line.startswith((" ", "\t")) and not current.frames and match["message"] is None:
        return False
    last = name.rsplit(".", 1)[-1]
    if not last.lstrip("_")[:1].isupper() and last not in _BUILTIN_EXCEPTIONS:
        return False
    return match["message"] is not None or name in _BUILTIN_EXCEPTIONS or "." in name or bool(current.frames)


def split_incidents(text: str) -> list[Incident]:
    """Each separate traceback of a text as its own Incident (a chain stays one), in order.

    A log of several processes that share one stream (no rank prefixes) holds
    several unrelated tracebacks; ``parse_text`` would keep only the last one.
    """
    clean = normalize(text)
    found = [b for b in _blocks(clean.split("\n")) if b.type]
    incidents, chain = [], []
    for block in found:
        chain.append(_info(block))
        if block.relation is None:
            incidents.append(Incident(source="text", exception=chain[-1], chain=chain[:-1], text=_chain_text(chain)))
            chain = []
    if chain:
        incidents.append(Incident(source="text", exception=chain[-1], chain=chain[:-1], text=_chain_text(chain)))
    return incidents


def _chain_text(chain: list[ExceptionInfo]) -> str:
    """The text of one traceback chain, as text rules read it: frames and exception lines."""
    lines = []
    for info in chain:
        lines.append("Traceback (most recent call last):")
        for frame in info.frames:
            lines.append(f'  File "{frame.file}", line {frame.line}, in {frame.function}')
            if frame.code:
                lines.append(f"    {frame.code}")
        lines.append(f"{info.qualname}: {info.message}" if info.message else info.qualname)
    return "\n".join(lines)
