"""Script patches: syntax-tree edits of the user's script (libcst), one module per fix kind.

``propose(entry_id, script, incident, advice)`` returns a Patch or None.  A
patcher is registered per KB entry id in ``PATCHERS``: the name of a module in
this package whose ``make_patch(script, incident, advice)`` takes a parsed
``_cst.Script`` and returns an ``_cst.Edit`` (new text, title, fix safety and
why) or None when it sees nothing it can change.

Applying a patch (``diagnose fix``, ``diagnose run --until-fixed``) is in
``apply``; the preflight ``diagnose check`` is the diagnose.check package.  libcst is
imported only here and below, never by ``diagnose --help``.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
from pathlib import Path

from diagnose.incident import Incident
from diagnose.report import Advice, Patch

# entry id -> module in diagnose.patches
PATCHERS: dict[str, str] = {
    "peft-target-modules-not-found": "target_modules",
    "peft-unsupported-target-module": "target_modules",
    "peft-target-modules-unspecified": "target_modules",
    "quantized-no-adapter": "trainer_model",
    "bnb-quantization-args": "quantization",
    "pad-token-missing": "pad_token",
    "peft-model-missing-attribute": "peft_model",
    "device-mismatch": "device",
    "no-grad-fn": "grad",
    "empty-optimizer": "grad",
    "peft-config-unknown-field": "config_field",
    "api-argument-removed": "api_drift",
    "api-import-removed": "api_drift",
    "peft-task-type-mismatch": "task_type",
    "config-value-wrong-type": "config_type",
}


def is_library_path(path: Path) -> bool:
    """Installed library code (site-packages, the standard library): never patched."""
    import sysconfig

    resolved = path.resolve()
    if {"site-packages", "dist-packages"} & set(resolved.parts):
        return True
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        root = sysconfig.get_paths().get(key)
        if root and resolved.is_relative_to(Path(root).resolve()):
            return True
    return False


def read_script(path: Path) -> tuple[bytes, str]:
    """Raw bytes and text (no newline translation, so CRLF files stay CRLF)."""
    data = path.read_bytes()
    return data, data.decode("utf-8")


def unified_diff(old: str, new: str, name: str) -> str:
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True), new.splitlines(keepends=True), fromfile=f"a/{name}", tofile=f"b/{name}"
        )
    )


def propose(entry_id: str, script: str | None, incident: Incident, advice: Advice | None) -> Patch | None:
    """The patch of ``script`` that fixes ``entry_id`` for this incident, or None."""
    module_name = PATCHERS.get(entry_id)
    if module_name is None or not script:
        return None
    path = Path(script)
    if not path.is_file() or is_library_path(path):
        return None
    try:
        data, source = read_script(path)
    except (OSError, UnicodeDecodeError):
        return None
    from diagnose.patches._cst import PatchError, Script

    module = importlib.import_module(f"diagnose.patches.{module_name}")
    try:
        edit = module.make_patch(Script(source, path.name), incident, advice or Advice(), str(path))
    except PatchError:
        return None  # e.g. the script does not parse: the diagnosis stands without a patch
    if edit is None or edit.new_text == source:
        return None
    return Patch(
        path=str(path),
        sha256=hashlib.sha256(data).hexdigest(),
        diff=unified_diff(source, edit.new_text, path.name),
        new_text=edit.new_text,
        title=edit.title,
        safety=edit.safety,
        safety_reason=edit.safety_reason,
    )
