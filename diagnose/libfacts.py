"""Facts read from the installed libraries' own source, without importing them.

``explain`` must start fast and never import torch, yet its advice should use
peft's own default target modules and transformers' own class names.  Both
are plain literals in their source files, so they are read with ``ast``.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from functools import lru_cache
from pathlib import Path

# LoRA can wrap these layer types (peft 0.21.2, tuners/lora/model.py: the
# "Target module ... is not supported" message lists them; bitsandbytes and
# other quantized linears are dispatched to as well).
LORA_WRAPPABLE = {
    "Linear",
    "Embedding",
    "Conv1d",
    "Conv2d",
    "Conv3d",
    "Conv1D",
    "MultiheadAttention",
    "Linear8bitLt",
    "Linear4bit",
    "QuantLinear",
    "HQQLinear",
    "EetqLinear",
    "AWQLinear",
    "FP8Linear",
}


def installed_version(distribution: str) -> str | None:
    """The installed version of ``distribution``, as ``importlib.metadata.version`` says it.

    Read first from the ``<name>-<version>.dist-info`` folder names on sys.path
    (what importlib.metadata finds first too, without its ~25 ms import);
    importlib.metadata itself when only an ``.egg-info`` or a zip is there.
    """
    found = _dist_info_version(_normalized(distribution))
    if found != "ask-metadata":
        return found
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def version_satisfies(version: str, spec: str) -> bool | None:
    """Whether ``version`` is in the PEP 440 ``spec`` (prereleases count); None when either does not parse.

    The answers are kept in the user dir: the same few (entry spec, installed version) pairs come back on
    every diagnosis, and importing packaging's specifiers costs ~5 ms.
    """
    import json

    from diagnose import paths

    key = f"{spec}|{version}"
    try:
        store: Path | None = paths.user_dir() / "version-checks.json"
    except OSError:
        store = None
    try:
        known = json.loads(store.read_text(encoding="utf-8")) if store is not None else {}
    except (OSError, ValueError):
        known = {}
    if not isinstance(known, dict):
        known = {}
    if key in known:
        return known[key]
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import InvalidVersion, Version

    try:
        answer = SpecifierSet(spec).contains(Version(version), prereleases=True)
    except (InvalidSpecifier, InvalidVersion):
        answer = None
    if store is not None and len(known) < 1000:
        try:
            paths.write_private(store, json.dumps({**known, key: answer}))
        except OSError:
            pass  # not remembered: only costs speed
    return answer


@lru_cache(maxsize=64)
def _dist_info_version(project: str) -> str | None:
    """The version in the first ``<project>-<version>.dist-info`` on sys.path; None when there is none;
    "ask-metadata" when a zip or an ``.egg-info`` comes first (importlib.metadata reads those)."""
    for folder in sys.path:
        if folder.endswith(".zip"):
            if os.path.isfile(folder):  # the stdlib's pythonXY.zip is listed even when absent
                return "ask-metadata"
            continue
        try:
            names = os.listdir(folder or ".")
        except OSError:
            continue
        for name in names:
            stem, _, suffix = name.rpartition(".")
            if suffix not in ("dist-info", "egg-info"):
                continue
            name_part, _, version = stem.partition("-")
            if _normalized(name_part) != project:
                continue
            if suffix == "dist-info" and version:
                return version
            return "ask-metadata"
    return None


def _normalized(name: str) -> str:
    """PEP 503 name normalization (``Google-RE2`` and ``google_re2`` are one project)."""
    import re

    return re.sub(r"[-_.]+", "_", name).lower()


def _package_file(package: str, *parts: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations)), *parts)
    return path if path.is_file() else None


def _literal_assignments(path: Path, names: set[str] | None = None) -> dict[str, object]:
    import ast  # only when a library file changed (see _cached)

    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if names is None or name in names:
                value = node.value
                if isinstance(value, ast.Call) and value.args:  # OrderedDict([...])
                    value = value.args[0]
                try:
                    found[name] = ast.literal_eval(value)
                except ValueError:
                    continue
    return found


@lru_cache(maxsize=64)
def _cached(path: Path, compute):
    """``compute(path)``, remembered in the user dir until the library file changes.

    Parsing transformers' modeling_auto.py or modeling_utils.py takes tens of
    milliseconds; explain should not pay that on every paste.  One small file
    per fact and library file (``libfacts/<fact>-<hash of the path>.json``,
    overwritten when the library file changes), so a diagnosis reads only the
    facts it uses.  Results are JSON data (lists, dicts, strings).
    """
    import json
    import zlib

    from diagnose import paths

    stat = path.stat()
    stamp = f"{path}:{stat.st_size}:{stat.st_mtime_ns}"
    try:
        folder = paths.user_dir() / "libfacts"
        folder.mkdir(mode=0o700, exist_ok=True)
    except OSError:
        return compute(path)
    store = folder / f"{compute.__name__.strip('_')}-{zlib.crc32(str(path).encode()):08x}.json"
    try:
        cached = json.loads(store.read_text(encoding="utf-8"))
        if isinstance(cached, dict) and cached.get("stamp") == stamp:
            return cached["value"]
    except (OSError, ValueError, KeyError):
        pass
    value = compute(path)
    try:
        paths.write_private(store, json.dumps({"stamp": stamp, "value": value}))
        (folder.parent / "libfacts-cache.json").unlink(missing_ok=True)  # the single file of version 0.1.0
    except OSError:
        pass  # a read-only home only costs speed
    return value


@lru_cache(maxsize=1)
def peft_default_target_modules() -> dict[str, list[str]]:
    """peft's TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING: model_type -> default targets."""
    path = _package_file("peft", "utils", "constants.py")
    return _cached(path, _peft_defaults) if path is not None else {}


def _peft_defaults(path: Path) -> dict[str, list[str]]:
    name = "TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING"
    value = _literal_assignments(path, {name}).get(name)
    return dict(value) if isinstance(value, dict) else {}


@lru_cache(maxsize=1)
def model_type_by_class() -> dict[str, str]:
    """transformers' auto mappings inverted: 'GPT2LMHeadModel' -> 'gpt2'."""
    path = _package_file("transformers", "models", "auto", "modeling_auto.py")
    return _cached(path, _model_types) if path is not None else {}


def _model_types(path: Path) -> dict[str, str]:
    candidates: dict[str, set[str]] = {}
    for name, value in _literal_assignments(path).items():
        if not name.endswith("_MAPPING_NAMES"):
            continue
        pairs = value.items() if isinstance(value, dict) else value if isinstance(value, list) else []
        for pair in pairs:
            if isinstance(pair, tuple) and len(pair) == 2:
                model_type, class_names = pair
                for class_name in class_names if isinstance(class_names, (list, tuple)) else [class_names]:
                    if isinstance(class_name, str):
                        candidates.setdefault(class_name, set()).add(model_type)
    return {cls: _own_model_type(cls, types) for cls, types in candidates.items()}


def _own_model_type(class_name: str, model_types: set[str]) -> str:
    """Several model types reuse a class (exaone uses LlamaForCausalLM): pick the one it is named after."""
    squashed = class_name.lower()

    def fit(model_type: str) -> tuple[bool, int]:
        key = model_type.replace("-", "").replace("_", "")
        return squashed.startswith(key), len(key)

    return max(sorted(model_types), key=fit)
