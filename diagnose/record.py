"""A base for the small mutable value objects built on every diagnosis (Incident, Report, ...)."""

from __future__ import annotations


class Record:
    """Equality and a repr from ``__slots__``, as a dataclass has them, without a dataclass's cost.

    ``explain`` must start fast (issue 3: within 3× a bare interpreter).  Importing
    ``dataclasses`` (it imports ``inspect``) and generating each class's methods
    with ``exec`` took ~15 ms of a ~60 ms run.  A subclass lists its fields in
    ``__slots__`` and writes its ``__init__``; immutable records are NamedTuples.
    """

    __slots__ = ()

    @classmethod
    def _fields(cls) -> tuple[str, ...]:
        """The slots of the class and its bases, base first (a subclass adds fields, as with dataclasses)."""
        return tuple(name for klass in reversed(cls.__mro__) for name in klass.__dict__.get("__slots__", ()))

    def _values(self) -> tuple:
        return tuple(getattr(self, name) for name in self._fields())

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]  # mutable: not hashable, like a non-frozen dataclass

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields())
        return f"{type(self).__name__}({fields})"
