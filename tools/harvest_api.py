"""Harvest the public API history of the LoRA stack from its released wheels.

For transformers (>= 4.30), peft (>= 0.4), trl (>= 0.7), accelerate (>= 0.20)
and bitsandbytes (>= 0.40), one release per minor version (the last patch) is
downloaded (the wheel file from the package index's JSON API, or ``pip download --no-deps``) into a cache outside the repository
and read with ``ast`` -- never imported.  For each API users call it records
which names exist in which versions, and from the libraries' own deprecation
messages what each name was renamed to and when the old name went away.

    python tools/harvest_api.py            # writes diagnose/api_history.json
    python tools/harvest_api.py --check    # re-harvests and fails if the file differs

The cache is ``$XDG_CACHE_HOME/lora-diagnose-harvest`` (``~/.cache/...``);
a first run downloads about 120 wheels (~1 GB, mostly transformers).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "diagnose" / "api_history.json"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "lora-diagnose-harvest"
INDEX = os.environ.get("HARVEST_INDEX", "https://pypi.org")

FLOORS = {
    "transformers": "4.30",
    "peft": "0.4",
    "trl": "0.7",
    "accelerate": "0.20",
    "bitsandbytes": "0.40",
}


@dataclass(frozen=True, slots=True)
class Api:
    """One API surface: ``kind`` says which names of class ``owner`` are recorded."""

    name: str  # how users and error messages call it, e.g. "TrainingArguments" or "SFTTrainer.__init__"
    owner: str  # the class (or function) defined somewhere in the package
    kind: str  # "fields" (dataclass fields, inherited ones included), "init", "call", "methods", "function", "kwargs"
    method: str = ""  # for "call"/"kwargs": the method whose parameters / kwargs.pop() names are recorded


APIS: dict[str, list[Api]] = {
    "transformers": [
        Api("TrainingArguments", "TrainingArguments", "fields"),
        Api("Seq2SeqTrainingArguments", "Seq2SeqTrainingArguments", "fields"),
        Api("Trainer", "Trainer", "init"),
        Api("Trainer methods", "Trainer", "methods"),
        Api("BitsAndBytesConfig", "BitsAndBytesConfig", "init"),
        Api("from_pretrained", "PreTrainedModel", "kwargs", "from_pretrained"),
        Api("tokenizer from_pretrained", "PreTrainedTokenizerBase", "kwargs", "from_pretrained"),
        Api("tokenizer call", "PreTrainedTokenizerBase", "call", "__call__"),
    ],
    "peft": [
        Api("LoraConfig", "LoraConfig", "fields"),
        Api("PeftConfig", "PeftConfig", "fields"),
        Api("PromptTuningConfig", "PromptTuningConfig", "fields"),
        Api("PrefixTuningConfig", "PrefixTuningConfig", "fields"),
        Api("IA3Config", "IA3Config", "fields"),
        Api("AdaLoraConfig", "AdaLoraConfig", "fields"),
        Api("LoHaConfig", "LoHaConfig", "fields"),
        Api("LoKrConfig", "LoKrConfig", "fields"),
        Api("get_peft_model", "get_peft_model", "function"),
        Api("PeftModel methods", "PeftModel", "methods"),
        Api("PeftModel.from_pretrained", "PeftModel", "call", "from_pretrained"),
        Api("prepare_model_for_kbit_training", "prepare_model_for_kbit_training", "function"),
    ],
    "trl": [
        Api("SFTTrainer", "SFTTrainer", "init"),
        Api("SFTConfig", "SFTConfig", "fields"),
        Api("DPOTrainer", "DPOTrainer", "init"),
        Api("DPOConfig", "DPOConfig", "fields"),
        Api("RewardTrainer", "RewardTrainer", "init"),
        Api("RewardConfig", "RewardConfig", "fields"),
        Api("ORPOTrainer", "ORPOTrainer", "init"),
        Api("KTOTrainer", "KTOTrainer", "init"),
        Api("GRPOTrainer", "GRPOTrainer", "init"),
        Api("GRPOConfig", "GRPOConfig", "fields"),
        Api("PPOTrainer", "PPOTrainer", "init"),
    ],
    "accelerate": [
        Api("Accelerator", "Accelerator", "init"),
        Api("Accelerator methods", "Accelerator", "methods"),
    ],
    "bitsandbytes": [],
}

# Deprecation messages that name an old and a new spelling.  Bounded: no nested repeats.
RENAME_PATTERNS = [
    re.compile(r"`(\w{2,60})`[^`\n]{0,80}?deprecated[^`\n]{0,120}?`(\w{2,60})`"),
    re.compile(r"`(\w{2,60})`[^`\n]{0,40}?(?:has been |was |is )renamed[^`\n]{0,40}?`(\w{2,60})`"),
    re.compile(r"\b(\w{2,60}) is deprecated[^\n`]{0,80}?[Uu]se (\w{2,60}) instead"),
    re.compile(r"argument (\w{2,60}) is deprecated[^.\n]{0,80}?use (\w{2,60})"),
]


@dataclass
class Release:
    package: str
    version: str
    files: dict[str, str] = field(default_factory=dict)  # path -> source (only .py files of the package)
    trees: dict[str, ast.Module | None] = field(default_factory=dict)  # parsed once: big modules are slow to parse
    defs: dict[str, list] = field(default_factory=dict)  # find_defs results by name

    def tree(self, path: str) -> ast.Module | None:
        if path not in self.trees:
            self.trees[path] = parse(self.files[path])
        return self.trees[path]


def minor_releases(package: str) -> list[str]:
    """The last release of every minor version since the floor (no pre-releases, none yanked)."""
    floor = Version(FLOORS[package])
    last_of_minor: dict[tuple[int, int], Version] = {}
    for text, files in release_files(package).items():
        try:
            v = Version(text)
        except ValueError:
            continue
        if v.is_prerelease or v < floor or not files or all(f.get("yanked") for f in files):
            continue
        key = (v.major, v.minor)
        if key not in last_of_minor or v > last_of_minor[key]:
            last_of_minor[key] = v
    return [str(v) for _, v in sorted(last_of_minor.items())]


@cache
def release_files(package: str) -> dict[str, list[dict]]:
    """PyPI's JSON API for the package: every release's files (one request instead of a pip run per wheel)."""
    url = f"{INDEX}/pypi/{package}/json"
    with urllib.request.urlopen(url, timeout=120) as response:
        releases = json.load(response)["releases"]
    for files in releases.values():
        for item in files:
            item["url"] = urllib.parse.urljoin(url, item["url"])  # a mirror may give relative links
    return releases


def fetch(package: str, version: str) -> Path:
    """The release's pure-Python wheel in the cache, downloaded once."""
    CACHE.mkdir(parents=True, exist_ok=True)
    prefix = f"{package.replace('-', '_')}-{version}-"
    for path in CACHE.glob(f"{prefix}*.whl"):
        return path
    wheels = [f for f in release_files(package).get(version, []) if f["filename"].endswith(".whl")]
    wheels.sort(key=lambda f: ("none-any" not in f["filename"], "manylinux" not in f["filename"]))
    if not wheels:  # no wheel on the JSON API: let pip find one
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "--quiet",
             "-d", str(CACHE), f"{package}=={version}"],
            check=True,
        )  # fmt: skip
        return next(CACHE.glob(f"{prefix}*.whl"))
    target = CACHE / wheels[0]["filename"]
    partial = target.with_suffix(".part")
    with urllib.request.urlopen(wheels[0]["url"], timeout=600) as response, partial.open("wb") as out:
        shutil.copyfileobj(response, out)
    partial.rename(target)
    return target


def read_release(package: str, version: str) -> Release:
    release = Release(package, version)
    top = package.replace("-", "_") + "/"
    with zipfile.ZipFile(fetch(package, version)) as wheel:
        for name in wheel.namelist():
            if name.startswith(top) and name.endswith(".py"):
                release.files[name] = wheel.read(name).decode("utf-8", "replace")
    return release


# --- reading one release -------------------------------------------------------------------------


def parse(source: str) -> ast.Module | None:
    try:
        return ast.parse(source)
    except SyntaxError:
        return None


def find_defs(release: Release, name: str) -> list[tuple[str, ast.ClassDef | ast.FunctionDef]]:
    """Every top-level class/function ``name`` in the package, framework variants (tf/flax) last."""
    if name in release.defs:
        return release.defs[name]
    needle = re.compile(rf"^(class|def|async def) {re.escape(name)}\b", re.M)
    found = []
    for path, source in release.files.items():
        if not needle.search(source):
            continue
        tree = release.tree(path)
        if tree is None:
            continue
        for node in tree.body:
            if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
                found.append((path, node))
    found.sort(key=lambda item: ("/tf_" in item[0] or "/flax" in item[0] or "/modeling_tf" in item[0], len(item[0])))
    release.defs[name] = found
    return found


def parameters(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    args = function.args
    names = [a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]]
    return [n for n in names if n not in ("self", "cls")]


def base_names(node: ast.ClassDef) -> list[str]:
    out = []
    for base in node.bases:
        if isinstance(base, ast.Name):
            out.append(base.id)
        elif isinstance(base, ast.Attribute):
            out.append(base.attr)
    return out


def dataclass_fields(release: Release, name: str, seen: frozenset[str] = frozenset()) -> set[str] | None:
    """Annotated class attributes along the base classes that live in the same package."""
    defs = [d for _, d in find_defs(release, name) if isinstance(d, ast.ClassDef)]
    if not defs or name in seen:
        return None
    node = defs[0]
    names: set[str] = set()
    for base in base_names(node):
        inherited = dataclass_fields(release, base, seen | {name})
        if inherited:
            names |= inherited
    for statement in node.body:
        if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            annotation = ast.unparse(statement.annotation)
            if "ClassVar" not in annotation and not statement.target.id.startswith("_"):
                names.add(statement.target.id)
    return names


def method_of(release: Release, owner: str, method: str, seen: frozenset[str] = frozenset()) -> ast.FunctionDef | None:
    defs = [d for _, d in find_defs(release, owner) if isinstance(d, ast.ClassDef)]
    if not defs or owner in seen:
        return None
    for statement in defs[0].body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) and statement.name == method:
            return statement  # type: ignore[return-value]
    for base in base_names(defs[0]):
        found = method_of(release, base, method, seen | {owner})
        if found is not None:
            return found
    return None


def popped_kwargs(function: ast.FunctionDef) -> set[str]:
    """Names read as ``kwargs.pop("name", ...)`` / ``kwargs.get("name")``: keyword arguments hidden in **kwargs."""
    names = set()
    for node in ast.walk(function):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("pop", "get")
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in ("kwargs", "model_kwargs", "init_kwargs")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.add(node.args[0].value)
    return names


def api_names(release: Release, api: Api) -> set[str] | None:
    if api.kind == "fields":
        fields = dataclass_fields(release, api.owner)
        if fields:
            return fields
        init = method_of(release, api.owner, "__init__")  # not a dataclass in this release
        return set(parameters(init)) if init else None
    if api.kind == "init":
        init = method_of(release, api.owner, "__init__")
        return set(parameters(init)) if init else None
    if api.kind == "methods":
        defs = [d for _, d in find_defs(release, api.owner) if isinstance(d, ast.ClassDef)]
        if not defs:
            return None
        return {
            s.name
            for s in defs[0].body
            if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) and not s.name.startswith("_")
        }
    if api.kind == "function":
        defs = [d for _, d in find_defs(release, api.owner) if isinstance(d, (ast.FunctionDef, ast.AsyncFunctionDef))]
        return set(parameters(defs[0])) if defs else None
    function = method_of(release, api.owner, api.method)
    if function is None:
        return None
    names = set(parameters(function))
    if api.kind == "kwargs":
        names = (names - {"args", "kwargs", "model_args", "init_inputs"}) | popped_kwargs(function)
    return names


def top_level_names(release: Release) -> set[str]:
    """What ``from <package> import X`` finds: imports, ``__all__`` and lazy ``_import_structure`` tables."""
    init = release.package.replace("-", "_") + "/__init__.py"
    tree = release.tree(init) if init in release.files else None
    if tree is None:
        return set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level <= 1:
            names |= {alias.asname or alias.name for alias in node.names if alias.name != "*"}
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                label = ast.unparse(target)
                if label == "__all__" or label.startswith("_import_structure"):
                    names |= strings_in(node.value)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("extend", "append")
            and ast.unparse(node.func.value).startswith("_import_structure")
        ):
            for arg in node.args:
                names |= strings_in(arg)
    return {n for n in names if n.isidentifier() and not n.startswith("_")}


def strings_in(node: ast.AST | None) -> set[str]:
    if node is None:
        return set()
    if isinstance(node, ast.Dict):  # {"module": ["Name", ...]}: the values are the names
        return set().union(*(strings_in(v) for v in node.values)) if node.values else set()
    return {n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def message_texts(release: Release, paths: set[str]) -> list[str]:
    """Source lines of ``paths`` that state a deprecation (read as text: parsing every file is too slow)."""
    texts = []
    for path in paths:
        for line in release.files[path].splitlines():
            if "deprecat" in line or "renamed" in line:
                texts.append(line.strip())
    return texts


# --- the history ---------------------------------------------------------------------------------


def spans(present: list[bool]) -> list[list[int]]:
    """Index ranges [first, last] (inclusive) where a name exists."""
    out: list[list[int]] = []
    for index, here in enumerate(present):
        if not here:
            continue
        if out and out[-1][1] == index - 1:
            out[-1][1] = index
        else:
            out.append([index, index])
    return out


def harvest_package(package: str, log) -> dict:
    versions = minor_releases(package)
    per_api: dict[str, list[set[str] | None]] = {api.name: [] for api in APIS[package]}
    per_api["import"] = []
    messages: list[list[str]] = []
    decorated: list[list[tuple[str, str]]] = []
    for version in versions:
        log(f"{package} {version}")
        release = read_release(package, version)
        owners_paths: set[str] = set()
        for api in APIS[package]:
            per_api[api.name].append(api_names(release, api))
            owners_paths |= {path for path, _ in find_defs(release, api.owner)[:1]}
        per_api["import"].append(top_level_names(release))
        deprecating = {
            path
            for path, source in release.files.items()
            if "/models/" not in path and "deprecat" in source and len(source) < 400_000
        }
        messages.append(message_texts(release, owners_paths | deprecating))
        decorated.append(deprecated_kwargs(release, owners_paths | deprecating))
    apis = {}
    for name, history in per_api.items():
        known = [i for i, names in enumerate(history) if names is not None]
        if not known:
            continue
        every = sorted(set().union(*(history[i] for i in known)))  # type: ignore[misc]
        apis[name] = {
            "versions": [known[0], known[-1]],
            "names": {n: spans([bool(h is not None and n in h) for h in history]) for n in every},
        }
    return {
        "versions": versions,
        "apis": apis,
        "renames": renames(versions, per_api, messages, decorated),
        "moves": moves(package, versions, per_api),
    }


_DECORATOR = re.compile(
    r"deprecate_kwarg\(\s*[\"'](\w+)[\"'](?:\s*,\s*(?:version\s*=\s*)?[\"'][^\"']*[\"'])?\s*,\s*"
    r"(?:new_name\s*=\s*)?[\"'](\w+)[\"']"
)


def deprecated_kwargs(release: Release, paths: set[str]) -> list[tuple[str, str]]:
    """``@deprecate_kwarg("old", version, "new")`` / ``new_name="new"``: renames stated by decorator."""
    return [pair for path in paths for pair in _DECORATOR.findall(release.files[path])]


MOVES = {
    "trl": [("SFTTrainer", "SFTConfig"), ("DPOTrainer", "DPOConfig"), ("RewardTrainer", "RewardConfig"),
            ("GRPOTrainer", "GRPOConfig")],
}  # fmt: skip


def moves(package: str, versions: list[str], per_api: dict) -> list[dict]:
    """Arguments that left a trainer's __init__ while its config class has them: "moved into the config"."""
    out = []
    for source, target in MOVES.get(package, []):
        src, dst = per_api.get(source, []), per_api.get(target, [])
        every = set().union(*(h for h in src if h))
        for name in sorted(every):
            last = max(i for i, h in enumerate(src) if h and name in h)
            gone = next((i for i in range(last + 1, len(versions)) if src[i] is not None), None)
            if gone is None or not (dst[gone] and name in dst[gone]):
                continue
            since = min(i for i, h in enumerate(dst) if h and name in h)
            out.append({"old_api": source, "new_api": target, "name": name, "in_config_since": versions[since],
                        "removed_in": versions[gone]})  # fmt: skip
    return out


def renames(versions: list[str], per_api: dict, messages: list[list[str]], decorated: list) -> list[dict]:
    """(old -> new) pairs that a deprecation message or decorator states and the name history confirms."""
    found: dict[tuple[str, str, str], dict] = {}
    for index, texts in enumerate(messages):
        stated = [
            (old, new, text) for text in texts for pattern in RENAME_PATTERNS for old, new in pattern.findall(text)
        ]
        stated += [(old, new, f"@deprecate_kwarg({old!r}, new_name={new!r})") for old, new in decorated[index]]
        for old, new, text in stated:
            for api, history in per_api.items():
                had_old = [i for i, names in enumerate(history) if names and old in names]
                has_new = [i for i, names in enumerate(history) if names and new in names]
                if old == new or not had_old or not has_new or (api, old, new) in found:
                    continue
                removed = next((i for i in range(had_old[-1] + 1, len(history)) if history[i] is not None), None)
                found[(api, old, new)] = {
                    "api": api,
                    "old": old,
                    "new": new,
                    "deprecated_in": versions[index],
                    "new_since": versions[has_new[0]],
                    "removed_in": versions[removed] if removed is not None else None,
                    "message": text.strip()[:300],
                }
    return sorted(found.values(), key=lambda r: (r["api"], r["old"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if the committed file differs from a new harvest")
    parser.add_argument("--package", action="append", choices=sorted(FLOORS), help="harvest only these")
    args = parser.parse_args(argv)
    packages = args.package or sorted(FLOORS)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    current = json.loads(OUTPUT.read_text(encoding="utf-8")) if OUTPUT.exists() else {}
    data = {"format": 1, "packages": dict(current.get("packages", {}))}
    for package in packages:
        data["packages"][package] = harvest_package(package, log)
    text = json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n"
    if args.check:
        same = OUTPUT.exists() and OUTPUT.read_text(encoding="utf-8") == text
        print("api_history.json is up to date" if same else "api_history.json differs from a new harvest")
        return 0 if same else 1
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)} ({len(text) // 1024} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
