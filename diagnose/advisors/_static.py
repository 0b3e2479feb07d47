"""Facts read statically from the installed peft/transformers/torch sources (ast, never imported).

What attributes a PeftModel or a transformers model has, and which fields a
peft config class accepts, for the text-only path and for "does it exist on
the other object" questions.  Everything is cached; a missing package gives
empty answers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from diagnose.libfacts import _cached, _package_file

if TYPE_CHECKING:
    import ast

# (package, path inside it, class names): where each object's attributes are defined.
# PeftModel forwards unknown attributes to its tuner (LoraModel -> BaseTuner), which forwards to the
# transformers model; so a PeftModel answers to all three.
PEFT_MODEL = [
    (
        "peft",
        ("peft_model.py",),
        (
            "PeftModel",
            "PeftModelForCausalLM",
            "PeftModelForSeq2SeqLM",
            "PeftModelForSequenceClassification",
            "PeftModelForTokenClassification",
            "PeftModelForQuestionAnswering",
            "PeftModelForFeatureExtraction",
        ),
    ),
    ("peft", ("tuners", "lora", "model.py"), ("LoraModel",)),
    ("peft", ("tuners", "tuners_utils.py"), ("BaseTuner",)),
]
TRANSFORMERS_MODEL = [
    ("transformers", ("modeling_utils.py",), ("PreTrainedModel", "ModuleUtilsMixin", "EmbeddingAccessMixin")),
    ("transformers", ("integrations", "peft.py"), ("PeftAdapterMixin",)),
    ("transformers", ("generation", "utils.py"), ("GenerationMixin",)),
    ("torch", ("nn", "modules", "module.py"), ("Module",)),
]
PEFT_CONFIG_BASE = [("peft", ("config.py",), ("PeftConfigMixin", "PeftConfig"))]


def _parse_classes(path: Path) -> dict[str, ast.ClassDef]:
    import ast  # only on a cache miss (see _cached below)

    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return {}
    return {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}


# Parsing modeling_utils.py and friends takes ~100 ms: each file's facts are
# computed once per library version and kept in the user dir (libfacts._cached).


def _class_members(path: Path) -> dict[str, list[str]]:
    """Every top-level class of the file -> the attribute names it defines."""
    return {name: sorted(_members(node)) for name, node in _parse_classes(path).items()}


def _class_annotations(path: Path) -> dict[str, list[str]]:
    """Every top-level class of the file -> its annotated (dataclass) fields, in order."""
    import ast

    return {
        name: [
            item.target.id
            for item in node.body
            if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)
        ]
        for name, node in _parse_classes(path).items()
    }


def _top_functions(path: Path) -> list[str]:
    import ast

    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return []
    return sorted(node.name for node in tree.body if isinstance(node, ast.FunctionDef))


def _members(node: ast.ClassDef) -> set[str]:
    import ast

    found: set[str] = set()
    for item in node.body:
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found.add(item.name)
            if item.name == "__init__":  # self.x = ... in __init__
                for sub in ast.walk(item):
                    if (
                        isinstance(sub, ast.Attribute)
                        and isinstance(sub.ctx, ast.Store)
                        and isinstance(sub.value, ast.Name)
                        and sub.value.id == "self"
                    ):
                        found.add(sub.attr)
        elif isinstance(item, ast.Assign):
            found |= {t.id for t in item.targets if isinstance(t, ast.Name)}
        elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
            found.add(item.target.id)
    return found


def _per_class(places, fact) -> Iterator:
    """``fact``'s value for each named class of each (package, file, class names) place, where the file exists."""
    for package, parts, class_names in places:
        path = _package_file(package, *parts)
        if path is not None:
            values = _cached(path, fact)
            yield from (values.get(name, ()) for name in class_names)


@lru_cache(maxsize=16)
def _attributes(places: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]) -> frozenset[str]:
    return frozenset(name for members in _per_class(places, _class_members) for name in members)


def peft_model_attributes() -> frozenset[str]:
    """Attributes a PeftModel defines itself (with its tuner), without the transformers model's."""
    return _attributes(tuple((p, parts, names) for p, parts, names in PEFT_MODEL))


def transformers_model_attributes() -> frozenset[str]:
    return _attributes(tuple((p, parts, names) for p, parts, names in TRANSFORMERS_MODEL))


def _config_class_file(class_name: str) -> Path | None:
    """peft/tuners/<x>/config.py that defines ``class <class_name>``."""
    lora = _package_file("peft", "tuners", "lora", "config.py")
    if lora is None:
        return None
    if class_name in _cached(lora, _class_annotations):
        return lora
    for path in sorted(lora.parent.parent.glob("*/config.py")):
        if f"class {class_name}(" in path.read_text(encoding="utf-8", errors="replace"):
            return path
    return None


@lru_cache(maxsize=16)
def peft_config_fields(class_name: str = "LoraConfig") -> tuple[str, ...]:
    """The dataclass fields ``<class_name>(...)`` accepts in the installed peft, base-class fields included."""
    path = _config_class_file(class_name)
    if path is None:
        return ()
    fields = _cached(path, _class_annotations).get(class_name)
    if fields is None:
        return ()
    base = [f for f in _annotated(PEFT_CONFIG_BASE) if f not in fields]
    return tuple(base + fields)


def _annotated(places: Sequence[tuple[str, tuple[str, ...], tuple[str, ...]]]) -> list[str]:
    """The annotated fields of the places' classes, in order, each once."""
    return list(dict.fromkeys(field for fields in _per_class(places, _class_annotations) for field in fields))


@lru_cache(maxsize=4)
def peft_functions(module_parts: tuple[str, ...] = ("utils", "other.py")) -> frozenset[str]:
    """Top-level function names of a peft module (``_get_submodules`` lives in peft/utils/other.py)."""
    path = _package_file("peft", *module_parts)
    if path is None:
        return frozenset()
    return frozenset(_cached(path, _top_functions))
