"""Where the failing operation was made: in the user's own code, or inside a library.

The same message means different things by where it was raised.
``'OPTForSequenceClassification' object has no attribute
'prepare_inputs_for_generation'`` is the user's mistake in the name when their
own line reads ``model.prepare_inputs_for_generation``; raised inside
``get_peft_model`` it means peft needed that method for the task_type it was
given.  A KB rule can say which side its error must come from (``origin:`` in
a match rule); the matcher drops the rule when the frames say the other.

The failing operation is the one in the innermost frame that is not a mere
forwarder: attribute lookups pass through ``__getattr__`` of nn.Module,
PeftModel and LoraModel before they fail, so those frames stand for the line
that asked for the attribute.
"""

from __future__ import annotations

import re
from typing import Literal

from diagnose.incident import ExceptionInfo, Frame, Incident

Origin = Literal["user", "library"]

# Frames that only pass an attribute lookup on: the access was made by the frame above them.
FORWARDING = ("__getattr__", "__getattribute__")
_MISSING_ATTRIBUTE = re.compile(r"has no attribute '(\w+)'")


def raised_in(incident: Incident) -> Origin | None:
    """``user`` when the user's own line made the failing operation, ``library`` when library code did,
    None when the text shows no frames (a last line alone, a cut paste without a frame)."""
    exception = incident.exception
    if exception is None:
        return None
    origin = frames_origin(exception.frames)
    if origin == "user" and _not_asked_there(exception):
        return "library"  # the frames between were cut from the paste: the user's line never named it
    return origin


def _not_asked_there(exception: ExceptionInfo) -> bool:
    """An attribute error whose user line, as shown, does not name the missing attribute at all."""
    frame = _acting(exception.frames)
    found = _MISSING_ATTRIBUTE.search(exception.message)
    if frame is None or found is None or "(" not in frame.code:
        return False  # no call shown (no code, or a fragment of a re-wrapped line): nothing to judge by
    name, code = found.group(1), frame.code.rstrip()
    cut_at = code.rsplit(".", 1)[-1]  # a shown line cut short ("….get_submodul") still names it
    return name not in code and not ("." in code and cut_at and name.startswith(cut_at))


def frames_origin(frames: tuple[Frame, ...] | list[Frame]) -> Origin | None:
    frame = _acting(frames)
    if frame is None:
        return None
    return "library" if frame.in_library else "user"


def acting_frame(exception: ExceptionInfo) -> Frame | None:
    """The innermost frame that made the failing operation (forwarders skipped)."""
    return _acting(exception.frames)


def _acting(frames: tuple[Frame, ...] | list[Frame]) -> Frame | None:
    for frame in reversed(frames):
        # a prefix: a paste re-wrapped at the terminal width can run the code line into the function name
        # (IPython 8+ and Python 3.11 tracebacks name the method with its class: "Module.__getattr__")
        forwarding = frame.function.startswith(FORWARDING) or frame.function.rsplit(".", 1)[-1].startswith(FORWARDING)
        if not forwarding or not frame.in_library:
            return frame
    return None
