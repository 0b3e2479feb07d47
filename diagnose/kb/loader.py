"""Load KB entries from YAML: shipped ones, then user directories that override by id.

A broken file is reported as ``file:line: problem`` and skipped; the rest
still load.  Every regex is compiled with RE2 (linear time: no catastrophic
backtracking on any input), so a contributed pattern cannot hang a run.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from diagnose import paths
from diagnose.paths import SHIPPED_KB
from diagnose.record import Record

if TYPE_CHECKING:  # the schema (pydantic) loads only when an entry is validated
    from diagnose.kb.schema import Entry

MAX_FILE_BYTES = 1_000_000
KB_PATH_ENV = "DIAGNOSE_KB_PATH"

# Records and slotted classes, not dataclasses: `explain` loads this module on
# every run (see diagnose/record.py).  The schema's dataclasses load only when
# an entry is needed whole (``LoadedEntry.entry``).


def _yaml():
    """PyYAML, imported only when a file is read (a cached KB needs none of it)."""
    import yaml

    return yaml


def _safe_loader():
    yaml = _yaml()
    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class Problem(Record):
    """Why a file (or part of it) did not load, at ``path:line``."""

    __slots__ = ("path", "line", "message")

    def __init__(self, path: Path, line: int, message: str) -> None:
        self.path, self.line, self.message = path, line, message

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class CompiledRule:
    """One ``match:`` rule, ready to score: its classes, weight and compiled patterns."""

    __slots__ = ("index", "exception", "weight", "message", "text", "origin")

    def __init__(
        self,
        index: int,
        exception: Sequence[str],
        weight: float,
        message: Pattern | None,
        text: Pattern | None,
        origin: str | None = None,
    ) -> None:
        self.index, self.exception, self.weight = index, tuple(exception), weight
        self.message, self.text = message, text
        self.origin = origin  # "user" | "library": where the error must have been raised (diagnose/origin.py)


class LoadedEntry:
    """An entry as the KB loaded it: where it came from, its compiled rules, the entry itself.

    ``data`` is the validated entry as plain data (the YAML's shape, as the
    cache stores it).  ``entry`` builds the typed ``Entry`` from it on first
    use: matching and a diagnosis read only ``data``.
    """

    __slots__ = ("data", "path", "origin", "rules", "overrides", "_entry")

    def __init__(
        self,
        data: dict,
        path: Path,
        origin: str,
        rules: list[CompiledRule],
        overrides: Path | None = None,
        entry: Entry | None = None,
    ) -> None:
        self.data, self.path, self.origin, self.rules = data, path, origin, rules
        self.overrides, self._entry = overrides, entry

    @property
    def id(self) -> str:
        return self.data["id"]

    # What a diagnosis reads, straight from the data.
    @property
    def title(self) -> str:
        return self.data["title"]

    @property
    def why(self) -> str:
        return self.data["why"]

    @property
    def advisor(self) -> str | None:
        return self.data.get("advisor")

    @property
    def versions(self) -> dict[str, str]:
        return self.data.get("versions") or {}

    @property
    def fixes(self) -> list[dict[str, str]]:
        """Each fix as ``{"title", "safety", "safety_reason", "body"}``."""
        return self.data["fixes"]

    @property
    def quiz_ids(self) -> list[str]:
        return [question["id"] for question in self.data.get("quiz", [])]

    @property
    def entry(self) -> Entry:
        if self._entry is None:
            from diagnose.kb.schema import Entry

            self._entry = Entry.from_trusted(self.data)
        return self._entry

    def __repr__(self) -> str:
        return f"LoadedEntry({self.id!r}, {self.origin!r})"


class KnowledgeBase(Record):
    __slots__ = ("entries", "problems")

    def __init__(self, entries: dict[str, LoadedEntry] | None = None, problems: list[Problem] | None = None) -> None:
        self.entries = {} if entries is None else entries
        self.problems = [] if problems is None else problems

    def get(self, entry_id: str) -> Entry | None:
        loaded = self.entries.get(entry_id)
        return loaded.entry if loaded else None

    def __iter__(self):
        return iter(self.entries.values())

    def __len__(self) -> int:
        return len(self.entries)


def user_kb_dirs(extra: Sequence[Path | str] = (), *, use_env: bool = True) -> list[Path]:
    dirs = [Path(p) for p in os.environ.get(KB_PATH_ENV, "").split(os.pathsep) if p] if use_env else []
    return dirs + [Path(p) for p in extra]


def load_kb(
    extra_dirs: Sequence[Path | str] = (),
    *,
    shipped: Path | None = SHIPPED_KB,
    use_env: bool = True,
    use_cache: bool = True,
) -> KnowledgeBase:
    """The shipped KB, then DIAGNOSE_KB_PATH (unless ``use_env`` is false), then ``extra_dirs``.

    Later directories override earlier ones entry by entry (same id).  Entries
    that validated before come from a cache keyed by file size and mtime, so a
    fast command imports neither PyYAML nor pydantic (see EntryCache).
    """
    kb = KnowledgeBase()
    cache = EntryCache.open() if use_cache else None
    sources: list[tuple[Path, str]] = [(shipped, "shipped")] if shipped else []
    sources += [(d, str(d)) for d in user_kb_dirs(extra_dirs, use_env=use_env)]
    for directory, origin in sources:
        if not directory.is_dir():
            kb.problems.append(Problem(directory, 0, "KB directory not found"))
            continue
        seen_here: dict[str, Path] = {}
        for path in _entry_files(directory):
            loaded, problems = load_entry_file(path, origin, cache=cache)
            kb.problems.extend(problems)
            if loaded is None:
                continue
            if loaded.id in seen_here:
                kb.problems.append(Problem(path, 1, f"duplicate id {loaded.id!r} (also in {seen_here[loaded.id]})"))
                continue
            seen_here[loaded.id] = path
            if loaded.id in kb.entries:
                loaded.overrides = kb.entries[loaded.id].path
            kb.entries[loaded.id] = loaded
    if cache is not None:
        cache.save()
    return kb


def _entry_files(directory: Path) -> list[Path]:
    names = sorted(os.listdir(directory))
    return [directory / n for n in names if n.endswith(".yaml")] + [directory / n for n in names if n.endswith(".yml")]


class EntryCache:
    """Validated entries as plain data, keyed by each file's path, size and mtime.

    Each entry is stored with its rules' prefilter literals (``needles``), so
    a cached KB compiles a regex only when a text could match it.  Also keyed
    by the schema module itself, so a changed schema never meets entries
    cached under the old one.  Only the files of the latest load are kept (the
    cache does not grow with every directory ever loaded).  A missing or
    unreadable cache is just an empty one: the YAML is the truth.
    """

    FORMAT = 2

    def __init__(self, path: Path | None, data: dict) -> None:
        self.path, self.data, self.dirty = path, data, False
        self.used: set[str] = set()

    @classmethod
    def open(cls) -> EntryCache:
        import json

        try:
            path = paths.user_dir() / cls.file_name()
        except OSError:
            return cls(None, {})
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("key") != cls._key():
                data = {}
        except (OSError, ValueError, AttributeError):
            data = {}
        return cls(path, data if data else {"key": cls._key(), "entries": {}})

    @staticmethod
    def file_name() -> str:
        """One cache per installation of lora-diagnose (a wheel and a checkout side by side do not evict
        each other's entries on every run)."""
        import zlib

        return f"kb-cache-{zlib.crc32(str(paths.PACKAGE_ROOT).encode()):08x}.json"

    @staticmethod
    def _key() -> list:
        from diagnose import __version__

        stat = (Path(__file__).parent / "schema.py").stat()
        return [EntryCache.FORMAT, __version__, stat.st_size, stat.st_mtime_ns]

    @staticmethod
    def _stamp(path: Path) -> list:
        stat = path.stat()
        return [stat.st_size, stat.st_mtime_ns]

    def get(self, path: Path) -> tuple[dict, list] | None:
        """(entry data, needles per rule) of a file that has not changed since it was cached."""
        key = os.path.realpath(path)
        cached = self.data.get("entries", {}).get(key)
        if not cached or cached.get("stamp") != self._stamp(path):
            return None
        self.used.add(key)
        return cached["entry"], cached["needles"]

    def put(self, path: Path, entry: Entry, rules: list[CompiledRule]) -> dict:
        from dataclasses import asdict

        key = os.path.realpath(path)
        data = asdict(entry)
        needles = [[_needle_list(r.message), _needle_list(r.text)] for r in rules]
        self.data["entries"][key] = {"stamp": self._stamp(path), "entry": data, "needles": needles}
        self.used.add(key)
        self.dirty = True
        return data

    def save(self) -> None:
        if self.path is None:
            return
        entries = self.data.get("entries", {})
        if set(entries) - self.used:  # files not part of this load: removed, renamed, or another KB dir
            self.data["entries"] = {k: v for k, v in entries.items() if k in self.used}
            self.dirty = True
        if not self.dirty:
            return
        import json

        try:
            paths.write_private(self.path, json.dumps(self.data))
            (self.path.parent / "kb-cache.json").unlink(missing_ok=True)  # the single cache of version 0.1.0
        except OSError:
            pass  # a read-only home only costs speed


def _needle_list(pattern: Pattern | None) -> list[str] | None:
    return None if pattern is None or pattern.needles is None else list(pattern.needles)


def load_entry_file(
    path: Path, origin: str = "shipped", cache: EntryCache | None = None
) -> tuple[LoadedEntry | None, list[Problem]]:
    """One entry file, or the problems that keep it out (each with a line number)."""
    if cache is not None:
        try:
            cached = cache.get(path)
        except (OSError, KeyError, TypeError):
            cached = None
        if cached is not None:
            data, needles = cached
            return LoadedEntry(data, path, origin, _trusted_rules(data, needles)), []
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return None, [Problem(path, 1, f"file is {size:,} bytes; an entry is at most {MAX_FILE_BYTES:,}")]
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return None, [Problem(path, 1, f"cannot read: {error}")]
    yaml = _yaml()
    try:
        node, data = _parse(source)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        reason = getattr(error, "problem", None) or str(error).splitlines()[0]
        context, where = getattr(error, "context", None), getattr(error, "context_mark", None)
        if context and where is not None and where.line + 1 != line:
            reason += f" ({context} at line {where.line + 1})"
        return None, [Problem(path, line, f"malformed YAML: {reason}")]
    except RecursionError:
        return None, [Problem(path, 1, "malformed YAML: nested too deeply")]
    if not isinstance(data, dict):
        return None, [Problem(path, 1, "an entry must be a YAML mapping")]
    from pydantic import ValidationError

    from diagnose.kb.schema import Entry

    try:
        entry = Entry.model_validate(data)
    except ValidationError as error:
        return None, [Problem(path, _line_of(node, err["loc"]), _describe(err)) for err in error.errors()]
    problems = []
    if entry.id != path.stem:
        problems.append(
            Problem(path, _line_of(node, ("id",)), f"id {entry.id!r} must equal the file name {path.stem!r}")
        )
    rules, rule_problems = _compile_rules(entry, path, node)
    problems += rule_problems
    if problems:
        return None, problems
    if cache is not None:
        data = cache.put(path, entry, rules)
    else:
        from dataclasses import asdict

        data = asdict(entry)
    return LoadedEntry(data, path, origin, rules, entry=entry), []


def _trusted_rules(data: dict, needles: list) -> list[CompiledRule]:
    """Rules of a cached entry: validated and compiled before, so each regex compiles on first use."""
    rules = []
    for index, (rule, (message_needles, text_needles)) in enumerate(zip(data["match"], needles)):
        message, text = rule.get("message"), rule.get("text")
        rules.append(
            CompiledRule(
                index,
                rule.get("exception") or (),
                rule.get("weight", 1.0),
                None if message is None else Pattern(message, message_needles),
                None if text is None else Pattern(text, text_needles),
                rule.get("origin"),
            )
        )
    return rules


def _compile_rules(entry: Entry, path: Path, node) -> tuple[list[CompiledRule], list[Problem]]:
    rules, problems = [], []
    for index, rule in enumerate(entry.match):
        compiled: dict[str, Pattern | None] = {}
        for key in ("message", "text"):
            pattern = getattr(rule, key)
            if pattern is None:
                compiled[key] = None
                continue
            try:
                compiled[key] = compile_pattern(pattern)
            except ValueError as error:
                problems.append(Problem(path, _line_of(node, ("match", index, key)), f"regex {pattern!r}: {error}"))
                compiled[key] = None
        rules.append(
            CompiledRule(index, rule.exception, rule.weight, compiled["message"], compiled["text"], rule.origin)
        )
    return rules, problems


def compile_pattern(pattern: str) -> Pattern:
    """Compile with RE2 now (ValueError if RE2 refuses it): linear-time matching; no lookarounds or backreferences."""
    compiled = Pattern(pattern, _needles(pattern))
    compiled.regex  # noqa: B018 - compiles, raising for a bad pattern
    return compiled


def _re2_compile(pattern: str):
    import re2

    options = re2.Options()
    options.log_errors = False
    options.max_mem = 8 << 20
    try:
        return re2.compile(pattern, options)
    except re2.error as error:
        raise ValueError(
            f"not a valid RE2 pattern ({error}); lookarounds and backreferences are not supported"
        ) from None


class Found:
    """What a search found (the matcher reads ``group(0)``)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def group(self, index: int = 0) -> str:
        if index != 0:
            raise IndexError("only group 0 is kept")
        return self.text


class Pattern:
    """An RE2 regex, searched fast: a literal prefilter, then RE2 on the UTF-8 bytes.

    With 1,000 entries every rule is tried on every incident, so the cost of a
    miss matters most.  ``needles`` are literals of which at least one must be
    in any text the regex matches (from the pattern's top level); when none is
    there RE2 is not run at all (nor compiled: a cached pattern compiles on
    first use).  RE2 is then run on bytes: google-re2's str searches re-encode
    the text and map offsets on every call, ~15x slower.
    """

    __slots__ = ("source", "needles", "_regex")

    def __init__(self, source: str, needles: Sequence[str] | None) -> None:
        self.source = source
        self.needles = None if needles is None else tuple(needles)
        self._regex = None

    @property
    def regex(self):
        if self._regex is None:
            self._regex = _re2_compile(self.source)
        return self._regex

    def search(self, text: str) -> Found | None:
        if self.needles is not None and not any(needle in text for needle in self.needles):
            return None
        found = self.regex.search(_utf8(text))
        return None if found is None else Found(found.group(0).decode("utf-8", "replace"))

    def __repr__(self) -> str:
        return f"Pattern({self.source!r})"


_last_encoded: tuple[str, bytes] = ("", b"")


def _utf8(text: str) -> bytes:
    """The UTF-8 of ``text``, encoded once for the many rules searched on one incident."""
    global _last_encoded
    last = _last_encoded
    if last[0] is text:
        return last[1]
    data = text.encode("utf-8", "surrogatepass")
    _last_encoded = (text, data)
    return data


MIN_NEEDLE = 3


_META = set(".^$|?*+()[]{}\\")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "v": "\v"}


def _needles(pattern: str) -> tuple[str, ...] | None:
    """Literals one of which every match contains, or None when that is not certain.

    A small reader of the pattern's top level: runs of plain (or escaped
    punctuation) characters outside groups and classes; a top-level ``|``
    gives one literal per branch.  Anything unusual (case-insensitive flags, a
    branch without a literal) gets no prefilter, which is always correct, only
    slower.
    """
    if any(flags in pattern for flags in ("(?i", "(?x", "(?U", "(?-", "(?s", "(?m")) and "(?" in pattern:
        if any(c in pattern for c in "ixU"):  # case-insensitive, verbose or ungreedy somewhere: no prefilter
            return None
    branches = _top_level_branches(pattern)
    if branches is None:
        return None
    needles = []
    for branch in branches:
        best = _longest_literal(branch)
        if best is None or len(best) < MIN_NEEDLE:
            return None
        needles.append(best)
    return tuple(needles)


def _top_level_branches(pattern: str) -> list[str] | None:
    branches, depth, in_class, current, i = [], 0, False, [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            current.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            in_class = c != "]" or bool(current and current[-1] == "[")
        elif c == "[":
            in_class = True
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth < 0:
                return None
        elif c == "|" and depth == 0:
            branches.append("".join(current))
            current = []
            i += 1
            continue
        current.append(c)
        i += 1
    if depth != 0 or in_class:
        return None
    branches.append("".join(current))
    return branches


def _longest_literal(branch: str) -> str | None:
    """The longest run of literal characters at the top level of one branch."""
    best, depth, i = "", 0, 0
    run: list[str] = []

    def close() -> None:
        nonlocal best, run
        if len(run) > len(best):
            best = "".join(run)
        run = []

    while i < len(branch):
        c = branch[i]
        nxt = branch[i + 1] if i + 1 < len(branch) else ""
        if depth:
            if c == "\\":
                i += 2
                continue
            if c == "[":
                i = _skip_class(branch, i)
                continue
            depth += c == "("
            depth -= c == ")"
            i += 1
            continue
        literal = None
        step = 1
        if c == "{":
            close()
            end = branch.find("}", i)
            if end < 0:
                return None
            i = end + 1
            continue
        if c == "\\":
            if nxt and nxt in "xpPQEC0123456789":
                return None  # hex, unicode classes, quoting, octal: not read here
            if nxt in _ESCAPES:
                literal = _ESCAPES[nxt]
            elif nxt and not nxt.isalnum():
                literal = nxt
            step = 2
        elif c == "(":
            close()
            depth = 1
            i += 1
            continue
        elif c == "[":
            close()
            i = _skip_class(branch, i)
            if i < 0:
                return None
            continue
        elif c not in _META:
            literal = c
        following = branch[i + step] if i + step < len(branch) else ""
        if literal is None:
            close()
        elif following in ("?", "*", "{"):
            close()  # optional or counted: not required as it stands
        elif following == "+":
            run.append(literal)
            close()  # required once, but what follows may come after a repetition
        else:
            run.append(literal)
        i += step
    close()
    return best


def _skip_class(text: str, i: int) -> int:
    """Index after the character class that starts at ``text[i] == '['``, or -1."""
    j = i + 1
    if j < len(text) and text[j] == "^":
        j += 1
    if j < len(text) and text[j] == "]":
        j += 1
    while j < len(text):
        if text[j] == "\\":
            j += 2
            continue
        if text[j] == "]":
            return j + 1
        j += 1
    return -1


def _parse(source: str):
    """The node tree (for line numbers) and the data of one YAML document, parsed once."""
    loader = _safe_loader()(source)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    return node, data


def compose_node(path: Path):
    """The YAML node tree of ``path`` (for line numbers), or None when it does not parse."""
    yaml = _yaml()
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return None
        return yaml.compose(path.read_text(encoding="utf-8"), Loader=_safe_loader())
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError):
        return None


def line_of(node, loc: Iterable) -> int:
    """The 1-based line of the part of an entry at ``loc`` (e.g. ``("examples", 2, "text")``)."""
    return _line_of(node, loc)


def _describe(error: Mapping[str, Any]) -> str:  # one of pydantic's ErrorDetails
    where = ".".join(str(p) for p in error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def _line_of(node, loc: Iterable) -> int:
    """The 1-based line of the YAML node at ``loc`` (or of its nearest parent that exists)."""
    yaml = _yaml()
    line = node.start_mark.line + 1 if node is not None else 1
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if k.value == key:
                    line, node = k.start_mark.line + 1, v
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            return line
    return line
