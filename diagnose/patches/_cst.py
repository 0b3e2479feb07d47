"""Shared libcst helpers for the patchers: parse, find nodes by line, edit by node identity.

Every edit is a change of the concrete syntax tree, so the untouched parts of
the script -- formatting, comments, blank lines, line endings -- come back
byte for byte.  Nodes are found through their positions (the failing line of
the user's script from the incident's frames) and replaced or followed by new
statements; nothing is done with regexes on the source text.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import MetadataWrapper, ParentNodeProvider, PositionProvider

from diagnose.errors import DiagnoseError
from diagnose.incident import Incident


class PatchError(DiagnoseError):
    """The script cannot be patched (unparsable, changed, read-only, library code)."""


@dataclass
class Edit:
    """What a patcher returns: the new text of the script and how safe the change is."""

    new_text: str
    title: str
    safety: str  # safe | unsafe | manual (as in the KB's fixes)
    safety_reason: str


def dotted(node: cst.BaseExpression) -> str:
    """``a.b.c`` for Name/Attribute chains, '' for anything else."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        head = dotted(node.value)
        return f"{head}.{node.attr.value}" if head else ""
    return ""


def call_name(call: cst.Call) -> str:
    return dotted(call.func)


def keyword(call: cst.Call, name: str) -> cst.Arg | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg
    return None


def string_value(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


class Script:
    """A parsed script with node positions, edited by node identity."""

    def __init__(self, source: str, path: str = "the script") -> None:
        try:
            module = cst.parse_module(source)
        except cst.ParserSyntaxError as error:
            raise PatchError(f"cannot parse {path} (line {error.raw_line}): {error.message}") from None
        self.path = path
        self.wrapper = MetadataWrapper(module)
        self.module = self.wrapper.module
        self._positions = self.wrapper.resolve(PositionProvider)
        self._parents = self.wrapper.resolve(ParentNodeProvider)
        self.replacements: dict[int, cst.CSTNode] = {}
        self.after: dict[int, list[cst.BaseStatement]] = {}
        self.before: dict[int, list[cst.BaseStatement]] = {}

    # ------------------------------------------------------------------ finding

    def lines(self, node: cst.CSTNode) -> tuple[int, int]:
        span = self._positions[node]
        return span.start.line, span.end.line

    def parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        return self._parents.get(node)

    def walk(self, kind: type | tuple[type, ...] = cst.CSTNode) -> Iterator:
        """Every node of the given type, in source order."""
        nodes = [node for node in self._positions if isinstance(node, kind)]
        nodes.sort(key=lambda n: (self._positions[n].start.line, self._positions[n].start.column))
        return iter(nodes)

    def calls(self, predicate: Callable[[cst.Call], bool] = lambda call: True) -> list[cst.Call]:
        return [call for call in self.walk(cst.Call) if predicate(call)]

    def statement_of(self, node: cst.CSTNode) -> cst.BaseStatement:
        """The statement (simple line or compound) that holds ``node`` in a body."""
        current: cst.CSTNode | None = node
        while current is not None:
            parent = self.parent(current)
            if isinstance(current, (cst.SimpleStatementLine, cst.BaseCompoundStatement)) and isinstance(
                parent, (cst.Module, cst.IndentedBlock)
            ):
                return current
            current = parent
        raise PatchError(f"{self.path}: no statement holds this node")

    def on_lines(self, nodes: list, lines: list[int]) -> list:
        """``nodes`` that span one of ``lines``, in the order of ``lines`` (innermost first)."""
        found = []
        for line in lines:
            for node in nodes:
                start, end = self.lines(node)
                if start <= line <= end and node not in found:
                    found.append(node)
        return found

    def assignments(self, name: str, before_line: int | None = None) -> list[cst.Assign]:
        """``name = ...`` statements (single Name target), in source order, before a line if given."""
        found = []
        for assign in self.walk(cst.Assign):
            if before_line is not None and self.lines(assign)[0] >= before_line:
                continue
            if any(isinstance(t.target, cst.Name) and t.target.value == name for t in assign.targets):
                found.append(assign)
        return found

    def top_level_imports(self) -> list[cst.SimpleStatementLine]:
        return [
            s
            for s in self.module.body
            if isinstance(s, cst.SimpleStatementLine)
            and any(isinstance(small, (cst.Import, cst.ImportFrom)) for small in s.body)
        ]

    # ------------------------------------------------------------------ editing

    def replace(self, old: cst.CSTNode, new: cst.CSTNode) -> None:
        self.replacements[id(old)] = new

    def insert_after(self, statement: cst.BaseStatement, code: str) -> None:
        self.after.setdefault(id(statement), []).append(cst.parse_statement(code))

    def insert_before(self, statement: cst.BaseStatement, code: str) -> None:
        self.before.setdefault(id(statement), []).append(cst.parse_statement(code))

    def imports_name(self, module: str, name: str) -> bool:
        for statement in self.top_level_imports():
            for small in statement.body:
                if isinstance(small, cst.ImportFrom) and small.module is not None and dotted(small.module) == module:
                    if isinstance(small.names, cst.ImportStar):
                        return True
                    if any(dotted(alias.name) == name and alias.asname is None for alias in small.names):
                        return True
        return False

    def add_import(self, module: str, name: str) -> None:
        """``from module import name``: into an existing import of that module, else after the last import."""
        if self.imports_name(module, name):
            return
        for statement in self.top_level_imports():
            for small in statement.body:
                if (
                    isinstance(small, cst.ImportFrom)
                    and small.module is not None
                    and not small.relative
                    and dotted(small.module) == module
                    and not isinstance(small.names, cst.ImportStar)
                ):
                    self.replace(small, _with_alias(small, name))
                    return
        imports = self.top_level_imports()
        code = f"from {module} import {name}\n"
        if imports:
            self.insert_after(imports[-1], code)
        elif self.module.body:
            self.insert_before(self.module.body[0], code)

    def code(self) -> str:
        return self.module.visit(_Editor(self)).code


def tight_equal() -> cst.AssignEqual:
    return cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace(""))


def append_arg(call: cst.Call, new: cst.Arg) -> cst.Call:
    """``call`` with ``new`` as its last argument, keeping a one-per-line layout with trailing comma."""
    args = list(call.args)
    if not args:
        return call.with_changes(args=[new])
    last = args[-1]
    if isinstance(last.comma, cst.Comma):  # trailing comma: one argument per line
        closing = last.comma.whitespace_after  # the newline (and comment) before ")"
        between = (
            args[-2].comma.whitespace_after
            if len(args) >= 2 and isinstance(args[-2].comma, cst.Comma)
            else call.whitespace_before_args
        )
        if isinstance(closing, cst.ParenthesizedWhitespace) and isinstance(between, cst.ParenthesizedWhitespace):
            # the last argument keeps its own comment, the new one ends the list
            args[-1] = last.with_changes(
                comma=last.comma.with_changes(
                    whitespace_after=closing.with_changes(indent=between.indent, last_line=between.last_line)
                )
            )
            new = new.with_changes(
                comma=cst.Comma(
                    whitespace_after=closing.with_changes(first_line=cst.TrailingWhitespace(), empty_lines=[])
                )
            )
        else:
            new = new.with_changes(comma=last.comma)
            args[-1] = last.with_changes(comma=cst.Comma(whitespace_after=between))
    else:
        args[-1] = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
    return call.with_changes(args=[*args, new])


def _with_alias(node: cst.ImportFrom, name: str) -> cst.ImportFrom:
    if isinstance(node.names, cst.ImportStar):
        return node  # `from x import *` already brings the name in
    names = list(node.names)
    last = names[-1]
    new = cst.ImportAlias(name=cst.Name(name))
    if isinstance(last.comma, cst.Comma):  # trailing comma (often a parenthesized, one-per-line import)
        new = new.with_changes(comma=last.comma)
        if node.lpar is not None and names[:-1] and isinstance(names[-2].comma, cst.Comma):
            last = last.with_changes(comma=names[-2].comma)
    else:
        last = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
    return node.with_changes(names=[*names[:-1], last, new])


class _Editor(cst.CSTTransformer):
    def __init__(self, script: Script) -> None:
        super().__init__()
        self.script = script

    def on_leave(self, original_node, updated_node):  # type: ignore[override]
        replacement = self.script.replacements.get(id(original_node))
        if replacement is not None:
            updated_node = replacement
        if isinstance(updated_node, (cst.Module, cst.IndentedBlock)) and isinstance(
            original_node, (cst.Module, cst.IndentedBlock)
        ):
            body = []
            for original, updated in zip(original_node.body, updated_node.body):
                body += self.script.before.get(id(original), [])
                body.append(updated)
                body += self.script.after.get(id(original), [])
            updated_node = updated_node.with_changes(body=body)
        return updated_node


# ---------------------------------------------------------------------- incident


def same_file(frame_file: str, script: str) -> bool:
    if not frame_file or frame_file.startswith("<"):
        return False
    try:
        return os.path.realpath(frame_file) == os.path.realpath(script)
    except OSError:
        return False


def failing_lines(incident: Incident, script: str) -> list[int]:
    """Lines of ``script`` in the traceback, innermost first (the final exception, then its chain)."""
    lines: list[int] = []
    for exception in incident.exceptions():
        for frame in reversed(exception.frames):
            if frame.line and same_file(frame.file, script) and frame.line not in lines:
                lines.append(frame.line)
    return lines


def quote_of(node: cst.CSTNode) -> str:
    """The quote character the script uses in ``node`` (its first string), '"' by default."""
    for child in _descendants(node):
        if isinstance(child, cst.SimpleString) and child.quote in ("'", '"'):
            return child.quote
    return '"'


def _descendants(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    yield node
    for child in node.children:
        yield from _descendants(child)


def list_literal(names: list[str], quote: str = '"') -> str:
    items = ", ".join(f"{quote}{n}{quote}" if quote not in n and "\\" not in n else repr(n) for n in names)
    return f"[{items}]"
