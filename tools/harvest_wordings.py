"""Every wording of each KB family's library messages, from the released wheels.

For the families whose message is raised by transformers, peft, trl,
accelerate or bitsandbytes, the message templates at their raise sites are
collected from every harvested release (the wheels tools/harvest_api.py
downloaded; read with ``ast``, never imported), with the releases each
wording belongs to.  ``tests/test_wordings.py`` checks that each wording is
diagnosed as its own family and no other, and the engine can tell a user
"this message comes from peft 0.4–0.6: you are on an old peft".

    python tools/harvest_wordings.py    # writes diagnose/wordings.json (run tools/harvest_api.py first)
"""

from __future__ import annotations

import ast
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harvest_api import FLOORS, ROOT, minor_releases, read_release  # noqa: E402

OUTPUT = ROOT / "diagnose" / "wordings.json"

# family -> (exception raised, a plain needle to find the files, the bounded regex every wording matches)
FAMILIES: dict[str, list[tuple[str, str, str]]] = {
    "peft-target-modules-not-found": [
        ("ValueError", "not found in the base model", r"Target modules \{[^}]{0,80}\} not found in the base model"),
    ],
    "peft-unsupported-target-module": [
        ("ValueError", "is not supported", r"Target module \{[^}]{0,80}\} is not supported")
    ],
    "adapter-config-missing": [("ValueError", "Can't find", r"Can't find '\{[^}]{0,40}\}' at '\{")],
    "pad-token-missing": [
        ("ValueError", "Asking to pad", r"Asking to pad but the tokenizer does not have a padding token"),
    ],
    "bnb-quantization-args": [
        ("ValueError", "are both True", r"load_in_4bit and load_in_8bit are both True"),
        ("ValueError", "as a kwarg when passing", r"You can't pass `load_in_4bit`\s?or `load_in_8bit` as a kwarg"),
    ],
    "bnb-gpu-unavailable": [
        ("RuntimeError", "No GPU found", r"No GPU found\. A GPU is needed for quantization"),
        ("RuntimeError", "CUDA is required but not available", r"CUDA is required but not available for bitsandbytes"),
    ],
    # "requires accelerate" messages that tell how to install it (not the "too old a version" ones)
    "accelerate-missing": [
        ("ImportError", "ccelerate", r"(?s)requires (?:the )?`?[Aa]ccelerate\b.{0,160}?pip install")
    ],
    "hub-model-not-found": [
        ("OSError", "is not a valid model identifier", r"is not a local folder and is not a valid model identifier"),
    ],
    "hub-gated-repo": [("OSError", "gated repo", r"You are trying to access a gated repo")],
    "hub-offline": [("OSError", "We couldn't connect to", r"We couldn't connect to '\{[^}]{0,60}\}' to load this")],
}


def templates(source: str) -> list[str]:
    """Message strings of a module, f-string placeholders as ``{...}`` (docstrings left out)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    inner, docstrings = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):  # its literal pieces are not messages of their own
            inner |= {id(v) for v in node.values}
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            docstrings.add(id(node.value))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            out.append(
                "".join(
                    v.value if isinstance(v, ast.Constant) else "{" + ast.unparse(v.value)[:60] + "}"  # type: ignore[attr-defined]
                    for v in node.values
                )
            )
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in inner | docstrings:
            out.append(node.value)
    return out


def harvest() -> dict[str, list[dict]]:
    rules = [(family, exc, needle, re.compile(rx)) for family, items in FAMILIES.items() for exc, needle, rx in items]
    seen: dict[tuple[str, str, str, str], list[str]] = {}  # (family, package, exception, template) -> versions
    versions_of: dict[str, list[str]] = {}
    for package in sorted(FLOORS):
        versions_of[package] = minor_releases(package)
        for version in versions_of[package]:
            print(f"{package} {version}", file=sys.stderr, flush=True)
            for source in read_release(package, version).files.values():
                # raw text first (placeholders read as written there): parse only files that hold a wording
                hits = [rule for rule in rules if rule[2] in source and rule[3].search(source)]
                if not hits:
                    continue
                for text in templates(source):
                    for family, exc, _, rx in hits:
                        if rx.search(text):
                            seen.setdefault((family, package, exc, text.strip()), []).append(version)
    out: dict[str, list[dict]] = {}
    for (family, package, exc, text), versions in sorted(seen.items()):
        out.setdefault(family, []).append(
            {"package": package, "exception": exc, "template": text, "first": versions[0], "last": versions[-1],
             "in_latest": versions[-1] == versions_of[package][-1]}
        )  # fmt: skip
    return out


def main() -> int:
    data = {"format": 1, "families": harvest()}
    OUTPUT.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)}: " + ", ".join(f"{k} {len(v)}" for k, v in data["families"].items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
