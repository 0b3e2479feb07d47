"""The Incident: the one input of matching, from a live capture or from text.

NamedTuples and a Record (no dataclasses, no pydantic) because ``explain``
must start fast (see diagnose/record.py); the capture file and the JSON report
are built from ``to_dict``.
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

from diagnose.record import Record


class Frame(NamedTuple):
    file: str
    line: int | None
    function: str
    code: str = ""

    @property
    def in_library(self) -> bool:
        return "site-packages" in self.file or "dist-packages" in self.file or self.file.startswith("<frozen")


class ExceptionInfo(NamedTuple):
    type: str  # bare class name, as printed: "NoMatchingPeftModuleError"
    qualname: str  # "peft.utils.error.NoMatchingPeftModuleError" (= type when only text was seen)
    message: str
    mro: tuple[str, ...] = ()  # qualified names, most derived first; empty for text incidents
    frames: tuple[Frame, ...] = ()
    relation: Literal["cause", "context", None] = None  # how it leads to the next exception in the chain

    def class_names(self) -> set[str]:
        """Every name this exception answers to: qualified names and bare names of its MRO."""
        names = {self.type, self.qualname}
        for qual in self.mro or (self.qualname,):
            names.add(qual)
            names.add(qual.rsplit(".", 1)[-1])
        return names

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExceptionInfo:
        return cls(
            type=data["type"],
            qualname=data.get("qualname") or data["type"],
            message=data.get("message", ""),
            mro=tuple(data.get("mro", ())),
            frames=tuple(Frame(**f) for f in data.get("frames", ())),
            relation=data.get("relation"),
        )

    def to_dict(self, with_chain: list[ExceptionInfo] | None = None) -> dict[str, Any]:
        out = {
            "type": self.type,
            "qualname": self.qualname,
            "message": self.message,
            "mro": list(self.mro),
            "frames": [f._asdict() for f in self.frames],
            "relation": self.relation,
        }
        if with_chain is not None:
            out["chain"] = [e.to_dict() for e in with_chain]
        return out


class Incident(Record):
    """What went wrong, however we learned it.

    ``exception`` is the last exception raised (the one the traceback ends
    with); ``chain`` holds the earlier ones it was raised from, oldest first.
    ``text`` is the traceback text (plus the output tail for a run), which
    ``text:`` rules search.  ``probes`` is the structure the capture hook
    read from live objects (see diagnose/capture/probes.py), empty for text.
    """

    __slots__ = ("source", "exception", "chain", "text", "probes", "exit_code", "signal", "rank", "command", "ranks")

    def __init__(
        self,
        source: Literal["capture", "text"],
        exception: ExceptionInfo | None,
        chain: list[ExceptionInfo] | None = None,
        text: str = "",
        probes: dict[str, Any] | None = None,
        exit_code: int | None = None,
        signal: str | None = None,
        rank: int | None = None,
        command: list[str] | None = None,
        ranks: Any = None,
    ) -> None:
        self.source, self.exception, self.text = source, exception, text
        self.chain = [] if chain is None else chain
        self.probes = {} if probes is None else probes
        self.exit_code, self.signal, self.rank = exit_code, signal, rank
        self.command = [] if command is None else command
        self.ranks = ranks  # a ranks.RankAnalysis for a multi-process failure: every rank's role, the root first

    def exceptions(self) -> list[ExceptionInfo]:
        """The final exception first, then its chain from the nearest cause back."""
        found = [self.exception] if self.exception else []
        return found + list(reversed(self.chain))

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "exit_code": self.exit_code,
            "signal": self.signal,
            "exception": self.exception.to_dict(with_chain=self.chain) if self.exception else None,
            "rank": self.rank,
            "ranks": self.ranks.to_dict() if self.ranks is not None else None,
        }
