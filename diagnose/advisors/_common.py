"""Helpers shared by the advisors: reading probes, naming things, formatting numbers.

Advisors run in the diagnosing process, which never imports torch,
transformers or peft: everything here works on the plain probe dicts the
capture hook wrote (see diagnose/capture/hookdir/_diagnose_probes.py) and on
the traceback text.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from diagnose.incident import Frame, Incident

# bytes per element of the dtypes that parameters and activations use
DTYPE_BYTES = {
    "float32": 4,
    "float": 4,
    "float64": 8,
    "double": 8,
    "float16": 2,
    "half": 2,
    "bfloat16": 2,
    "int8": 1,
    "uint8": 1,
    "float8_e4m3fn": 1,
    "float8_e5m2": 1,
    "int64": 8,
    "int32": 4,
    "bool": 1,
}
# names as they appear in messages ("Float", "c10::BFloat16", "torch.cuda.HalfTensor") -> torch dtype names
_DTYPE_WORDS = {
    "float": "float32",
    "float32": "float32",
    "floattensor": "float32",
    "half": "float16",
    "float16": "float16",
    "halftensor": "float16",
    "bfloat16": "bfloat16",
    "bfloat16tensor": "bfloat16",
    "double": "float64",
    "float64": "float64",
    "long": "int64",
    "int64": "int64",
    "int": "int32",
    "byte": "uint8",
    "char": "int8",
}

TEXT_ONLY = "From the text alone: {what} Run the script under `diagnose run` to see them for your own objects."


def text_only_note(what: str) -> str:
    return TEXT_ONLY.format(what=what)


def dtype_name(word: str) -> str | None:
    """'c10::BFloat16' / 'Float' / 'torch.cuda.HalfTensor' / 'torch.float16' -> torch dtype name."""
    word = word.strip().strip("'\"`").rsplit("::", 1)[-1].rsplit(".", 1)[-1].lower()
    return _DTYPE_WORDS.get(word)


def split_place(place: str) -> tuple[str, str]:
    """'cuda:0/bfloat16' -> ('cuda:0', 'bfloat16')."""
    device, _, dtype = place.rpartition("/")
    return device, dtype


def models(incident: Incident) -> list[dict[str, Any]]:
    return [m for m in incident.probes.get("models", []) if isinstance(m, dict)]


def main_model(incident: Incident) -> dict[str, Any] | None:
    """The model the user holds: one bound to a variable in their code first, then the PEFT wrapper, then the biggest."""
    found = [m for m in models(incident) if m.get("parameters", {}).get("total")]
    if not found:
        return None
    return max(
        found, key=lambda m: (bool(m.get("variables")), bool(m.get("is_peft")), m.get("parameters", {}).get("total", 0))
    )


def model_var(incident: Incident, default: str = "model") -> str:
    for model in sorted(models(incident), key=lambda m: not m.get("is_peft")):
        if model.get("variables"):
            return model["variables"][0]
    return default


def user_frame(incident: Incident) -> Frame | None:
    """The innermost frame of the user's own code in the final exception (where they can act)."""
    for exc in incident.exceptions():
        for frame in reversed(exc.frames):
            if not frame.in_library:
                return frame
    return None


def user_code(incident: Incident) -> str:
    frame = user_frame(incident)
    if frame is None:
        return ""
    if frame.code:
        return frame.code
    return source_line(frame.file, frame.line) or ""


def source_lines(path: str) -> list[str]:
    """The user's script, when it is still there (captures are diagnosed on the machine that ran them)."""
    try:
        file = Path(path)
        if file.is_file() and file.stat().st_size < 2_000_000:
            return file.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        pass
    return []


def source_line(path: str, line: int | None) -> str | None:
    lines = source_lines(path)
    if line and 0 < line <= len(lines):
        return lines[line - 1].strip()
    return None


def message(incident: Incident) -> str:
    return incident.exception.message if incident.exception else ""


def peft_config_fields(incident: Incident) -> dict[str, Any]:
    """The LoRA config in play (the one in the user's frame first, then the model's)."""
    for config in incident.probes.get("peft_configs", []):
        fields = config.get("fields", {})
        if "r" in fields or "target_modules" in fields:
            return fields
    return {}


def tensors(incident: Incident) -> list[dict[str, Any]]:
    return [t for t in incident.probes.get("tensors", []) if isinstance(t, dict)]


def user_tensor_names(incident: Incident) -> list[str]:
    return [t["name"] for t in tensors(incident) if t.get("user_code")]


def mib(n_bytes: float) -> float:
    return n_bytes / 2**20


def fmt_bytes(n_bytes: float) -> str:
    if n_bytes >= 2**30:
        return f"{n_bytes / 2**30:.2f} GiB"
    if n_bytes >= 2**20:
        return f"{n_bytes / 2**20:.1f} MiB"
    if n_bytes >= 2**10:
        return f"{n_bytes / 2**10:.1f} KiB"
    return f"{int(n_bytes)} B"


def fmt_count(n: float) -> str:
    if n >= 1e9:
        return f"{n / 1e9:.2f}B"
    if n >= 1e6:
        return f"{n / 1e6:.2f}M"
    return f"{int(n):,}"


def names(items: list[str] | tuple[str, ...] | set[str]) -> str:
    return ", ".join(f"`{n}`" for n in items) if items else "—"


_SIZE = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*([KMGT]i?B|bytes|B)\b")
_UNITS = {
    "B": 1,
    "bytes": 1,
    "KB": 1e3,
    "MB": 1e6,
    "GB": 1e9,
    "TB": 1e12,
    "KiB": 2**10,
    "MiB": 2**20,
    "GiB": 2**30,
    "TiB": 2**40,
}


def parse_size(text: str) -> float | None:
    """'22.72 GiB' -> bytes."""
    found = _SIZE.search(text)
    return float(found.group(1)) * _UNITS[found.group(2)] if found else None


def strip_log_prefixes(text: str) -> str:
    """Undo ``[rank3]: `` prefixes and line wrapping so that one message reads as one line."""
    lines = [re.sub(r"^\s*\[(?:rank|default)\d*\]:\s?", "", line) for line in text.splitlines()]
    return re.sub(r"\s+", " ", " ".join(lines))


def user_statement(incident: Incident, max_lines: int = 30) -> str:
    """The whole statement at the user's failing line (a call spread over several lines), from their script."""
    frame = user_frame(incident)
    if frame is None:
        return ""
    lines = source_lines(frame.file)
    if not frame.line or frame.line > len(lines):
        return frame.code
    statement, depth = [], 0
    for line in lines[frame.line - 1 : frame.line - 1 + max_lines]:
        statement.append(line)
        depth += sum(line.count(c) for c in "([{") - sum(line.count(c) for c in ")]}")
        if depth <= 0:
            break
    return "\n".join(statement) if depth <= 0 else frame.code


def script_call_args(incident: Incident, name: str) -> list[str] | None:
    """The positional arguments, as written, of the last ``name(...)`` call in the user's script before the
    failing line (``name`` may be dotted: ``PeftModel.from_pretrained``); None when not found.

    Fixes rebuild such calls with the script's own names rather than a tutorial's (``base_model``)."""
    import ast

    frame = user_frame(incident)
    if frame is None:
        return None
    source = "\n".join(source_lines(frame.file))
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    found = None
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or (frame.line and node.lineno > frame.line):
            continue
        called = ast.get_source_segment(source, node.func) or ""
        if (called == name or called.endswith("." + name)) and (found is None or node.lineno >= found.lineno):
            found = node
    if found is None:
        return None
    return [ast.get_source_segment(source, arg) or "..." for arg in found.args]
