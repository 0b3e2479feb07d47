"""Multi-process runs: which rank failed first with an error of its own, and which only died because of it.

When one rank of a torchrun / accelerate / deepspeed / srun job fails, every
other rank fails too: its collective times out, gloo or NCCL sees the
connection closed by the dead peer, the process group is shut down, the
elastic agent sends SIGTERM, and the launcher raises ``ChildFailedError``.
Those are *consequences*.  The *root* is the first failure that is none of
them.  A failure that is no consequence either but comes later, with another
error, is *independent*.

Failures come from capture files (one per failing Python process; rank, host
and clocks recorded by the hook) and from text: ``[rankN]:`` / ``[defaultN]:``
/ ``N:`` prefixed lines, torchelastic's failure table, the agent's ``failed
(exitcode: …)`` lines, ``srun: error:`` lines and deepspeed's launcher lines.
They are merged per rank, classified, and ordered: by the monotonic clock when
all captures come from one host, by the wall clock across hosts (failures
closer than the clock-skew tolerance on different hosts count as
simultaneous), and by their place in the log otherwise.
"""

from __future__ import annotations

import re
import time
from typing import Any

from diagnose.incident import ExceptionInfo, Incident
from diagnose.record import Record

CLOCK_SKEW_S = 2.0  # default tolerance between hosts' wall clocks (NTP keeps them within milliseconds; be generous)

ROOT, CONSEQUENCE, INDEPENDENT = "root", "consequence", "independent"

# What each kind of consequence is called in the report.
KINDS = {
    "nccl-watchdog": "the NCCL watchdog stopped a collective that never finished",
    "collective-timeout": "a collective timed out waiting for the other ranks",
    "connection-lost": "the connection to a failed peer was closed or reset",
    "process-group-shut-down": "the process group was shut down or aborted",
    "agent-sigterm": "terminated (SIGTERM) by the launcher after another rank failed",
    "child-failed": "the launcher reporting that a worker failed (ChildFailedError)",
}

_WATCHDOG = re.compile(
    r"Watchdog caught collective operation timeout|detected by watchdog|watchdog thread terminated"
    r"|Heartbeat monitor timed out|ProcessGroupNCCL'?s watchdog",
    re.IGNORECASE,
)
_SHUT_DOWN = re.compile(
    r"process ?group (?:has been |was |is )?(?:shut ?down|destroyed|aborted)|communicator was aborted"
    r"|ProcessGroup\w* is (?:shut ?down|aborted)|has been shut ?down",
    re.IGNORECASE,
)
_CONNECTION = re.compile(
    r"connection (?:closed|reset|refused) by peer|connection reset|broken pipe|peer closed|failed to recv"
    r"|recv(?:\(\))? failed|Socket Timeout|store->get\(",
    re.IGNORECASE,
)
_POINTS_AT = re.compile(r"(?:crash|failure|failed) on rank (\d+)")  # "possible application crash on rank 0"
_TIMEOUT = re.compile(r"timed? ?out|timeout", re.IGNORECASE)
# Only errors of torch.distributed itself count as consequences: a user's own TimeoutError does not.
_DISTRIBUTED = re.compile(
    r"gloo|nccl|c10d|ProcessGroup|collective|torch[/.]distributed|\bstore\b|barrier|all_?reduce", re.IGNORECASE
)
_LAUNCHER_ERRORS = ("ChildFailedError", "CalledProcessError")

# ---- prefixes that name the rank of a line
_RANK_PREFIX = re.compile(r"^(?:[\w.-]+: )?\[(?:rank|RANK)\s?(?P<rank>\d+)\]:\s?")  # torchrun; pdsh "host: [rank3]:"
_TEE_PREFIX = re.compile(r"^\[(?:default|[a-z_]+)(?P<rank>\d+)\]:\s?")  # torchrun --tee: [default0]:
_TASK_PREFIX = re.compile(r"^\s{0,3}(?P<rank>\d{1,5}): ")  # srun -l, mpirun --tag-output style "3: "
_TASK_TRACEBACK = re.compile(r"^\s{0,3}\d{1,5}: Traceback \(most recent call last\)", re.MULTILINE)
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")

# ---- launcher lines
_AGENT_FAILED = re.compile(r"failed \(exitcode: (?P<code>-?\d+)\) local_rank: (?P<local>\d+) \(pid: (?P<pid>\d+)\)")
_TABLE_FIELD = re.compile(r"^\s*(?P<key>time|host|rank|exitcode|error_file|traceback)\s*:\s?(?P<value>.*?)\s*$")
_TABLE_RANK = re.compile(r"(?P<rank>-?\d+)(?: \(local_rank: (?P<local>\d+)\))?")
_TABLE_EXIT = re.compile(r"(?P<code>-?\d+) \(pid: (?P<pid>\d+)\)")
_SRUN = re.compile(
    r"srun: error: (?P<host>[\w.-]+): tasks? (?P<tasks>[\d,\-]+): (?P<what>Exited with exit code (?P<code>\d+)"
    r"|Out Of Memory|Killed|Terminated|Segmentation fault|Aborted)"
)
_AGENT_SIGTERM = re.compile(r"Sending process (?P<pid>\d+) closing signal SIGTERM")
_DEEPSPEED = re.compile(r"--local_rank=(?P<local>\d+)'?\]? exits with return code = (?P<code>-?\d+)")

_SIGNALS = {1: "SIGHUP", 2: "SIGINT", 6: "SIGABRT", 7: "SIGBUS", 9: "SIGKILL", 11: "SIGSEGV", 15: "SIGTERM"}


class RankFailure(Record):
    """One process's failure: who (rank, host), what (exception and/or signal), when, and its role."""

    __slots__ = (
        "rank",
        "local_rank",
        "world_size",
        "host",
        "pid",
        "exception",
        "signal",
        "exit_code",
        "time",
        "monotonic",
        "order",
        "source",
        "kind",
        "role",
        "incident",
        "evidence",
    )

    def __init__(
        self,
        rank: int | None = None,
        local_rank: int | None = None,
        world_size: int | None = None,
        host: str | None = None,
        pid: int | None = None,
        exception: ExceptionInfo | None = None,
        signal: str | None = None,
        exit_code: int | None = None,
        time: float | None = None,
        monotonic: float | None = None,
        order: int = 0,
        source: str = "log",
        kind: str | None = None,
        role: str = INDEPENDENT,
        incident: Incident | None = None,
        evidence: str = "",
    ) -> None:
        self.rank, self.local_rank, self.world_size, self.host, self.pid = rank, local_rank, world_size, host, pid
        self.exception, self.signal, self.exit_code = exception, signal, exit_code
        self.time, self.monotonic = time, monotonic  # wall clock (any host), monotonic (comparable on one host)
        self.order = order  # place in the log: the order when there are no clocks
        self.source = source  # capture | log | launcher
        self.kind = kind  # a key of KINDS for a consequence, None for an error of its own
        self.role = role
        self.incident = incident  # what the diagnosis reads when this is the root
        self.evidence = evidence  # the launcher's lines about it, when that is all there is

    @property
    def own_error(self) -> bool:
        return self.kind is None

    @property
    def launcher(self) -> bool:
        return self.kind == "child-failed"

    def label(self) -> str:
        if self.rank is not None:
            return f"rank {self.rank}"
        if self.local_rank is not None:
            return f"local rank {self.local_rank}" + (f" on {self.host}" if self.host else "")
        return "the launcher" if self.launcher else (f"pid {self.pid}" if self.pid else "a process")

    def error(self) -> str:
        """One line: the exception, else the signal or exit code."""
        if self.exception is not None:
            first = _first_words(self.exception.message)
            if len(first) > 160:
                first = first[:160].rsplit(" ", 1)[0] + " …"
            return f"{self.exception.type}: {first}" if first else self.exception.type
        if self.signal:
            return f"killed by {self.signal}" + (
                " (the kernel's or scheduler's out-of-memory killer?)" if self.signal == "SIGKILL" else ""
            )
        if self.exit_code is not None:
            return f"exited with code {self.exit_code} (its traceback is not in this output)"
        if self.evidence:
            return self.evidence.splitlines()[0][:200]
        return "failed (no error text)"

    def signature(self) -> tuple[str, str]:
        """What 'the same error' means across ranks: class and first message line, numbers ignored."""
        if self.exception is not None:
            return self.exception.qualname, re.sub(r"\d+", "#", _first_words(self.exception.message))
        return "", self.signal or f"exit {self.exit_code}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "local_rank": self.local_rank,
            "host": self.host,
            "pid": self.pid,
            "role": self.role,
            "kind": self.kind,
            "error": self.error(),
            "exception": (
                {
                    "type": self.exception.type,
                    "qualname": self.exception.qualname,
                    "message": self.exception.message[:2000],
                }
                if self.exception
                else None
            ),
            "signal": self.signal,
            "exit_code": self.exit_code,
            "time": self.time,
            "monotonic": self.monotonic,
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RankFailure:
        exc = data.get("exception")
        return cls(
            rank=data.get("rank"),
            local_rank=data.get("local_rank"),
            host=data.get("host"),
            pid=data.get("pid"),
            exception=ExceptionInfo(exc["type"], exc.get("qualname") or exc["type"], exc.get("message", ""))
            if exc
            else None,
            signal=data.get("signal"),
            exit_code=data.get("exit_code"),
            time=data.get("time"),
            monotonic=data.get("monotonic"),
            source=data.get("source", "log"),
            kind=data.get("kind"),
            role=data.get("role", INDEPENDENT),
        )


class RankAnalysis(Record):
    """Every failed process with its role; the root first."""

    __slots__ = ("failures", "world_size", "ordered_by", "clock_skew_s", "notes")

    def __init__(
        self,
        failures: list[RankFailure],
        world_size: int | None,
        ordered_by: str,
        clock_skew_s: float = CLOCK_SKEW_S,
        notes: list[str] | None = None,
    ) -> None:
        self.failures, self.world_size, self.ordered_by = failures, world_size, ordered_by
        self.clock_skew_s = clock_skew_s
        self.notes = [] if notes is None else notes

    @property
    def root(self) -> RankFailure | None:
        return next((f for f in self.failures if f.role == ROOT), None)

    def roots(self) -> list[RankFailure]:
        return [f for f in self.failures if f.role == ROOT]

    def ranks(self) -> list[RankFailure]:
        """The workers (the launcher's own ChildFailedError is not a rank)."""
        return [f for f in self.failures if not f.launcher]

    def hosts(self) -> list[str]:
        return sorted({f.host for f in self.failures if f.host})

    def all_same(self) -> bool:
        """Every rank (of the world when known) failed with the root's own error."""
        workers, roots = self.ranks(), self.roots()
        if len(roots) < 2 or len(roots) != len(workers):
            return False
        return self.world_size is None or len(roots) >= self.world_size

    def summary(self) -> str:
        """One sentence naming the root-cause rank (or saying that none was seen)."""
        root = self.root
        if root is None:
            pointed = sorted(
                {int(m) for f in self.failures if f.exception for m in _POINTS_AT.findall(f.exception.message)}
            )
            hint = f" The errors point at rank {', '.join(map(str, pointed))}." if pointed else ""
            return (
                "No rank failed with an error of its own in what was seen: every failure here is a consequence "
                "of another one. The root cause is in a log or on a host not included (look for the first rank "
                "that stopped)." + hint
            )
        if self.all_same():
            count = self.world_size or len(self.roots())
            return f"All {count} ranks failed with the same error: {root.error().rstrip('.')}."
        others = [f for f in self.ranks() if f is not root]
        consequences = [f for f in others if f.role == CONSEQUENCE]
        same = [f for f in self.roots() if f is not root]
        parts = [f"Root cause: {root.label()}{_of_world(self.world_size)} — {root.error().rstrip('.')}"]
        if same:
            parts.append(", ".join(f.label() for f in same) + " failed with the same error")
        if consequences:
            parts.append(", ".join(f.label() for f in consequences) + " failed only as a consequence")
        independent = [f for f in others if f.role == INDEPENDENT and (f.exception is not None or f.signal)]
        if independent:
            parts.append(", ".join(f.label() for f in independent) + " failed later with an error of its own")
        silent = [f for f in others if f.role == INDEPENDENT and f not in independent]
        if silent:
            parts.append(", ".join(f.label() for f in silent) + " exited with an error whose text is not here")
        return "; ".join(parts) + "."

    def to_dict(self) -> dict[str, Any]:
        root = self.root
        return {
            "root_rank": root.rank if root else None,
            "root_local_rank": root.local_rank if root else None,
            "root_host": root.host if root else None,
            "all_same": self.all_same(),
            "world_size": self.world_size,
            "hosts": self.hosts(),
            "ordered_by": self.ordered_by,
            "clock_skew_tolerance_s": self.clock_skew_s,
            "summary": self.summary(),
            "notes": self.notes,
            "failures": [f.to_dict() for f in self.failures],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RankAnalysis:
        return cls(
            failures=[RankFailure.from_dict(f) for f in data.get("failures", [])],
            world_size=data.get("world_size"),
            ordered_by=data.get("ordered_by", ""),
            clock_skew_s=data.get("clock_skew_tolerance_s", CLOCK_SKEW_S),
            notes=list(data.get("notes", [])),
        )


def _first_words(message: str) -> str:
    """The first line of a message that says something (ChildFailedError's starts with a rule of '=')."""
    return next((line.strip() for line in message.splitlines() if any(c.isalnum() for c in line)), "")


def _of_world(world_size: int | None) -> str:
    return f" of {world_size}" if world_size else ""


# ---------------------------------------------------------------- classification


def consequence_kind(exception: ExceptionInfo | None, signal: str | None, text: str = "") -> str | None:
    """The kind of consequence this failure is, or None when it is an error of its own."""
    if exception is not None:
        if exception.type in _LAUNCHER_ERRORS:
            return "child-failed"
        message = exception.message
        context = " ".join([exception.qualname, message, *(f.file for f in exception.frames)])
        return _kind_of(message, distributed=bool(_DISTRIBUTED.search(context)))
    if signal == "SIGTERM":
        return "agent-sigterm"
    if signal is None and text:
        return _kind_of(text, distributed=True)
    return None


def _kind_of(message: str, *, distributed: bool) -> str | None:
    if _WATCHDOG.search(message):
        return "nccl-watchdog"
    if not distributed:
        return None
    if _SHUT_DOWN.search(message):
        return "process-group-shut-down"
    if _CONNECTION.search(message):
        return "connection-lost"
    if _TIMEOUT.search(message):
        return "collective-timeout"
    return None


# ---------------------------------------------------------------- from captures


def failures_from_captures(captures: list[dict], output: str = "") -> list[RankFailure]:
    """One failure per capture file (the hook's rank, host and clocks), its incident ready for diagnosis."""
    from diagnose.textparse import normalize

    failures = []
    for index, capture in enumerate(captures):
        exception = ExceptionInfo.from_dict(capture["exception"])
        chain = [ExceptionInfo.from_dict(e) for e in capture.get("chain", [])]
        text = normalize(capture.get("traceback_text", "") or "")
        incident = Incident(
            source="capture",
            exception=exception,
            chain=chain,
            text=text,
            probes=capture.get("probes", {}),
            rank=capture.get("rank"),
        )
        failures.append(
            RankFailure(
                rank=capture.get("rank"),
                local_rank=capture.get("local_rank"),
                world_size=capture.get("world_size"),
                host=capture.get("host") or None,
                pid=capture.get("pid"),
                exception=exception,
                time=capture.get("time"),
                monotonic=capture.get("monotonic"),
                order=index,
                source="capture",
                kind=consequence_kind(exception, None),
                incident=incident,
            )
        )
    return failures


# ---------------------------------------------------------------- from text


def split_by_rank(text: str) -> tuple[dict[int, list[tuple[int, str]]], list[tuple[int, str]]]:
    """Lines of each rank (prefix removed) and the lines of no rank, each with its place in the text."""
    text = _ANSI.sub("", text.replace("\r\n", "\n"))
    tasks = bool(_TASK_TRACEBACK.search(text))  # "3: " is a prefix only where a traceback carries it
    by_rank: dict[int, list[tuple[int, str]]] = {}
    unranked: list[tuple[int, str]] = []
    for number, line in enumerate(text.split("\n")):
        match = _RANK_PREFIX.match(line) or _TEE_PREFIX.match(line) or (tasks and _TASK_PREFIX.match(line))
        if match:
            by_rank.setdefault(int(match["rank"]), []).append((number, line[match.end() :]))
        else:
            unranked.append((number, line))
    return by_rank, unranked


def failures_from_text(text: str) -> list[RankFailure]:
    """Every failure a multi-process log shows: per-rank tracebacks, launcher tables and lines."""
    from diagnose.textparse import normalize, parse_text, split_incidents

    by_rank, unranked = split_by_rank(text)
    failures: list[RankFailure] = []
    for rank, lines in sorted(by_rank.items()):
        rank_text = "\n".join(line for _, line in lines)
        incident = parse_text(rank_text)
        exception = incident.exception
        kind = consequence_kind(exception, None, "" if exception else normalize(rank_text))
        if exception is None and kind is None:
            continue  # a rank that only logged
        failures.append(
            RankFailure(
                rank=rank,
                exception=exception,
                order=_first_error_line(lines),
                source="log",
                kind=kind,
                incident=incident,
                evidence="" if exception else _consequence_line(lines),
            )
        )
    plain = "\n".join(line for _, line in unranked)
    for incident in split_incidents(plain):
        exception = incident.exception
        failures.append(
            RankFailure(
                exception=exception,
                order=_line_of(exception, unranked),
                source="log",
                kind=consequence_kind(exception, None),
                incident=incident,
            )
        )
    failures += _launcher_failures(unranked)
    return failures


def _consequence_line(lines: list[tuple[int, str]]) -> str:
    """The line that shows a rank's consequence when it printed no traceback (an NCCL watchdog line)."""
    for _, line in lines:
        if _WATCHDOG.search(line) or _SHUT_DOWN.search(line) or _CONNECTION.search(line):
            return line.strip()
    return ""


def _first_error_line(lines: list[tuple[int, str]]) -> int:
    for number, line in lines:
        if "Traceback (most recent call last)" in line or "Error" in line or "Watchdog" in line:
            return number
    return lines[0][0] if lines else 0


def _line_of(exception: ExceptionInfo | None, lines: list[tuple[int, str]]) -> int:
    """Where the exception's line is in the text (its first frame's, else its own)."""
    if exception is None:
        return lines[-1][0] if lines else 0
    start = None
    for number, line in lines:
        if "Traceback (most recent call last)" in line:
            start = number
        if exception.type in line and ":" in line:
            return number if start is None else start
    return lines[-1][0] if lines else 0


def _launcher_failures(lines: list[tuple[int, str]]) -> list[RankFailure]:
    """torchelastic's failure table and agent lines, srun's and deepspeed's exit lines."""
    found: list[RankFailure] = []
    entry: dict[str, str] | None = None
    entry_line = 0
    root_section = False

    def close() -> None:
        if entry and "rank" in entry:
            failure = _table_failure(entry, entry_line, root_section)
            if failure is not None:
                found.append(failure)

    for number, line in lines:
        if "Root Cause (first observed failure)" in line:
            close()
            entry, root_section = None, True
            continue
        if line.strip().startswith(("---", "===", "Failures:")) or re.match(r"^\[\d+\]:\s*$", line):
            close()
            entry = None
            continue
        field = _TABLE_FIELD.match(line)
        if field:
            if field["key"] == "time" or entry is None:
                close()
                entry, entry_line = {}, number
            entry[field["key"]] = field["value"]
            continue
        if match := _AGENT_FAILED.search(line):
            code = int(match["code"])
            found.append(
                RankFailure(
                    local_rank=int(match["local"]),
                    pid=int(match["pid"]),
                    exit_code=code if code >= 0 else None,
                    signal=_SIGNALS.get(-code) if code < 0 else None,
                    order=number,
                    source="launcher",
                    evidence=line.strip(),
                )
            )
        elif match := _AGENT_SIGTERM.search(line):
            found.append(
                RankFailure(
                    pid=int(match["pid"]), signal="SIGTERM", order=number, source="launcher", evidence=line.strip()
                )
            )
        elif match := _SRUN.search(line):
            found += _srun_failures(match, number, line)
        elif match := _DEEPSPEED.search(line):
            code = int(match["code"])
            found.append(
                RankFailure(
                    local_rank=int(match["local"]),
                    exit_code=code if code >= 0 else None,
                    signal=_SIGNALS.get(-code) if code < 0 else None,
                    order=number,
                    source="launcher",
                    evidence=line.strip(),
                )
            )
    close()
    for failure in found:
        if failure.kind is None and failure.signal == "SIGTERM":
            failure.kind = "agent-sigterm"
    return found


def _table_failure(entry: dict[str, str], line: int, root_section: bool) -> RankFailure | None:
    rank = _TABLE_RANK.match(entry.get("rank", ""))
    exit_match = _TABLE_EXIT.match(entry.get("exitcode", ""))
    if not rank or not exit_match:
        return None  # a "rank: 3" line of some other log is no failure table
    code = int(exit_match["code"]) if exit_match else None
    signal = _SIGNALS.get(-code) if code is not None and code < 0 else None
    evidence = "\n".join(f"  {key}: {value}" for key, value in entry.items())
    return RankFailure(
        rank=int(rank["rank"]),
        local_rank=int(rank["local"]) if rank["local"] else None,
        host=entry.get("host") or None,
        pid=int(exit_match["pid"]) if exit_match else None,
        exit_code=code if code is not None and code >= 0 else None,
        signal=signal,
        time=_table_time(entry.get("time", "")),
        order=line,
        source="launcher",
        evidence=("torchelastic root cause (first observed failure):\n" if root_section else "") + evidence,
    )


def _table_time(value: str) -> float | None:
    try:
        return time.mktime(time.strptime(value.strip(), "%Y-%m-%d_%H:%M:%S"))
    except (ValueError, OverflowError):
        return None


def _srun_failures(match: re.Match, number: int, line: str) -> list[RankFailure]:
    what, code = match["what"], match["code"]
    signal = {"Out Of Memory": "SIGKILL", "Killed": "SIGKILL", "Terminated": "SIGTERM"}.get(what)
    signal = signal or {"Segmentation fault": "SIGSEGV", "Aborted": "SIGABRT"}.get(what)
    return [
        RankFailure(
            rank=task,
            host=match["host"],
            exit_code=int(code) if code else None,
            signal=signal,
            order=number,
            source="launcher",
            evidence=line.strip(),
        )
        for task in _task_list(match["tasks"])
    ]


def _task_list(spec: str) -> list[int]:
    tasks: list[int] = []
    for part in spec.split(","):
        low, _, high = part.partition("-")
        if low.isdigit():
            tasks += range(int(low), int(high) + 1) if high.isdigit() else [int(low)]
    return tasks[:4096]


# ---------------------------------------------------------------- merging and roles


def analyse(failures: list[RankFailure], clock_skew_s: float = CLOCK_SKEW_S) -> RankAnalysis | None:
    """Merge the failures of each rank, classify them, name the root.  None for a single ordinary failure."""
    merged = _merge(failures)
    workers = [f for f in merged if not f.launcher]
    if not workers:
        return None
    if len(workers) == 1:
        alone = workers[0]
        # a rank of many, or a process a launcher reports on
        several = (alone.world_size or 1) > 1 or len(merged) > 1 or alone.source == "launcher"
        if alone.kind is None and not several:
            return None  # one ordinary process: nothing to say about ranks
    for failure in merged:
        if failure.kind is None and failure.signal == "SIGTERM" and failure.exception is None:
            # terminated while another rank failed, before any error of its own: the launcher's doing (a rank
            # whose own traceback was already written keeps it, even if the SIGTERM reached it while exiting)
            failure.kind = "agent-sigterm"
    _name_local_hosts(merged)
    own = [f for f in merged if f.own_error]
    ordered_by, ordered, notes = _order(own, clock_skew_s)
    if ordered:
        root = ordered[0]
        for failure in ordered:
            failure.role = ROOT if failure.signature() == root.signature() else INDEPENDENT
        notes += _simultaneous_note(ordered, clock_skew_s)
    for failure in merged:
        if not failure.own_error:
            failure.role = CONSEQUENCE
    world = max((f.world_size for f in merged if f.world_size), default=None)
    merged.sort(key=lambda f: ({ROOT: 0, INDEPENDENT: 1, CONSEQUENCE: 2}[f.role], _rank_key(f)))
    return RankAnalysis(merged, world, ordered_by, clock_skew_s, notes)


_LOCAL_NAMES = {"localhost", "127.0.0.1", "::1", "localhost.localdomain"}


def _name_local_hosts(failures: list[RankFailure]) -> None:
    """torchelastic's table says "localhost" for a standalone run: the host the captures name, when it is one."""
    captured = {f.host for f in failures if f.source == "capture" and f.host and f.host not in _LOCAL_NAMES}
    if len(captured) == 1:
        (host,) = captured
        for failure in failures:
            if failure.host in _LOCAL_NAMES:
                failure.host = host


def _rank_key(failure: RankFailure) -> tuple:
    return (failure.launcher, failure.rank if failure.rank is not None else 10**9, failure.local_rank or 0)


def _merge(failures: list[RankFailure]) -> list[RankFailure]:
    """One failure per process: a capture beats a log traceback, which beats a launcher line."""
    by_key: dict[tuple, RankFailure] = {}
    loose: list[RankFailure] = []
    quality = {"capture": 0, "log": 1, "launcher": 2}
    # a launcher line that names a rank (the failure table) before one that names only a local rank or a pid
    for failure in sorted(failures, key=lambda f: (quality.get(f.source, 3), f.rank is None, f.order)):
        key = _identity(failure, by_key)
        if key is None:
            loose.append(failure)
            continue
        kept = by_key.get(key)
        if kept is None:
            by_key[key] = failure
            continue
        _fill(kept, failure)
    # a traceback of no rank that a capture already holds (the process printed what the hook recorded): one
    captured = [f.signature() for f in by_key.values() if f.source == "capture"]
    captured += [f.signature() for f in loose if f.source == "capture"]
    for failure in [f for f in loose if f.source == "log" and f.exception is not None]:
        if failure.signature() in captured:
            captured.remove(failure.signature())
            loose.remove(failure)
    # a traceback of no rank, when the launcher names exactly one rank that failed on its own: that rank's
    unranked_own = [f for f in loose if f.own_error and f.exception is not None]
    silent = [f for f in by_key.values() if f.exception is None and f.signal is None and f.exit_code]
    if len(unranked_own) == 1 and len(silent) == 1:
        _fill(silent[0], unranked_own[0])
        loose.remove(unranked_own[0])
    return list(by_key.values()) + loose


def _identity(failure: RankFailure, known: dict[tuple, RankFailure]) -> tuple | None:
    if failure.rank is not None:
        return ("rank", failure.rank)
    if failure.pid is not None:
        for key, kept in known.items():
            if kept.pid == failure.pid:
                return key
    if failure.local_rank is not None:
        for key, kept in known.items():
            if kept.local_rank == failure.local_rank and (failure.host is None or kept.host in (None, failure.host)):
                return key
        same = known.get(("rank", failure.local_rank))
        if same is not None and same.local_rank is None and same.host is None and failure.host is None:
            return ("rank", failure.local_rank)  # one node and no host named anywhere: local rank = rank
        return ("local", failure.host, failure.local_rank)
    if failure.launcher:
        return ("launcher",)
    return None


def _fill(kept: RankFailure, other: RankFailure) -> None:
    """Complete what one source knows about a process with what another one says."""
    if kept.exception is None and other.exception is not None:
        kept.exception, kept.incident, kept.kind = other.exception, other.incident, other.kind
    for name in ("local_rank", "world_size", "host", "pid", "signal", "exit_code", "time", "monotonic"):
        if getattr(kept, name) is None and getattr(other, name) is not None:
            setattr(kept, name, getattr(other, name))
    if other.evidence and other.evidence not in kept.evidence:
        kept.evidence = (kept.evidence + "\n" + other.evidence).strip()
    if kept.exception is None and kept.kind is None and other.kind is not None:
        kept.kind = other.kind


def _order(own: list[RankFailure], skew: float) -> tuple[str, list[RankFailure], list[str]]:
    """Own failures, first first; and how that order was known."""
    if not own:
        return "", [], []
    # evidence first: an exception or a kill outranks a bare exit code whose reason is not in the output
    informed = [f for f in own if f.exception is not None or f.signal] or own
    hosts = {f.host for f in informed}
    if len(hosts) == 1 and all(f.monotonic is not None for f in informed):
        return "monotonic clock (one host)", sorted(informed, key=lambda f: f.monotonic or 0.0), []
    if all(f.time is not None for f in informed):
        label = f"wall clock, hosts compared within ±{skew:g} s of clock skew" if len(hosts) > 1 else "wall clock"
        return label, sorted(informed, key=lambda f: (f.time, f.order)), []
    return "order in the log", sorted(informed, key=lambda f: f.order), []


def _simultaneous_note(ordered: list[RankFailure], skew: float) -> list[str]:
    first = ordered[0]
    close = [
        f
        for f in ordered[1:]
        if f.time is not None
        and first.time is not None
        and f.host != first.host
        and abs(f.time - first.time) <= skew
        and f.signature() != first.signature()
    ]
    if not close:
        return []
    names = ", ".join(f.label() for f in close)
    return [
        f"{names} failed within the clock-skew tolerance (±{skew:g} s) of {first.label()} on another host: "
        "which came first is uncertain; both errors are listed."
    ]


def root_incident(analysis: RankAnalysis, fallback: Incident) -> Incident:
    """What the diagnosis reads: the root's own incident, or its launcher evidence; else the fallback."""
    root = analysis.root
    if root is None:
        return fallback
    if root.incident is not None:
        incident = root.incident
    else:
        evidence = root.evidence or root.error()
        incident = Incident(source="text", exception=None, text=evidence)
    incident.signal = incident.signal or root.signal
    incident.rank = root.rank
    return incident


def output_without_other_ranks(output: str, rank: int | None) -> str:
    """The output as the root rank saw it: its own lines and the launcher's, not the other ranks' tracebacks."""
    if rank is None:
        return output
    by_rank, unranked = split_by_rank(output)
    kept = sorted(unranked + by_rank.get(rank, []))
    return "\n".join(line for _, line in kept)


def _consequence(failure: RankFailure) -> str:
    """What a failure that follows from another rank's shows: its error (if any) and what kind of consequence."""
    kind = KINDS.get(failure.kind or "", "")
    return f"{failure.error()} — {kind}" if failure.exception else kind


def finding(analysis: RankAnalysis):
    """The ranks as the first finding of the diagnosis: who failed first, and how every rank failed."""
    from diagnose.report import Finding

    root = analysis.root
    if root is None:
        title = "No root cause among the failed ranks seen"
    elif analysis.all_same():
        title = f"All {analysis.world_size or len(analysis.roots())} ranks failed the same way"
    else:
        title = f"Root cause: {root.label()}{_of_world(analysis.world_size)}"
    lines = [analysis.summary()]
    if root is not None and not analysis.all_same() and len(analysis.ranks()) > 1:
        lines.append(f"The diagnosis below is {root.label()}'s error; the other ranks' failures follow from it.")
    hosts = analysis.hosts()
    if len(hosts) > 1:
        lines.append(
            f"Failures on {len(hosts)} hosts ({', '.join(hosts)}): their wall clocks are compared with a clock-skew "
            f"tolerance of ±{analysis.clock_skew_s:g} s (closer than that on different hosts counts as "
            f"simultaneous). Order of the errors of their own: {analysis.ordered_by}."
        )
    elif analysis.ordered_by:
        lines.append(f"Order: {analysis.ordered_by}.")
    lines += analysis.notes
    rows = [
        [
            "launcher" if f.launcher else (str(f.rank) if f.rank is not None else "?"),
            f.host or "",
            f.role + (f" ({f.kind})" if f.kind else ""),
            f.error() if f.own_error else _consequence(f),
        ]
        for f in analysis.failures
    ]
    return Finding(title, text="\n\n".join(lines), columns=["rank", "host", "role", "error"], rows=rows)
