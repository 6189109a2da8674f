"""Positions inside the parsed YAML tree, and the collector of issues.

ruamel's round-trip loader records 0-based line numbers on mappings (`.lc.key`) and sequences
(`.lc.item`); `Node` turns them into 1-based lines next to a readable path.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from writeback.manifest.issues import ManifestIssue, Severity

PathPart = str | int
Path = tuple[PathPart, ...]


def format_path(path: Path) -> str:
    """`("integrations", 0, "write")` → `integrations[0].write`."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


def describe(value: Any) -> str:
    """The YAML kind of a value, for messages such as "expected a list, got a string"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dt.date):
        return "a date"
    return type(value).__name__


def key_text(key: Any) -> str:
    """A mapping key as YAML would spell it (keys are usually strings, but need not be)."""
    if isinstance(key, str):
        return key
    if key is None:
        return "null"
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, tuple | list):
        return "[" + ", ".join(key_text(part) for part in key) + "]"
    return str(key)


def _line_of(position: Any) -> int | None:
    # ruamel positions are (line, column), 0-based.
    try:
        return int(position[0]) + 1
    except (TypeError, ValueError, IndexError):
        return None


@dataclass(frozen=True)
class Node:
    """A value of the document with its path and the line it starts on."""

    value: Any
    path: Path = ()
    line: int | None = None

    @property
    def is_mapping(self) -> bool:
        return isinstance(self.value, Mapping)

    @property
    def is_list(self) -> bool:
        return isinstance(self.value, list)

    def key_line(self, key: Any) -> int | None:
        """Line of `key` in this mapping; keys pulled in by a YAML merge fall back to ours."""
        try:
            return _line_of(self.value.lc.key(key)) or self.line
        except (AttributeError, KeyError, TypeError):
            return self.line

    def child(self, key: Any) -> Node | None:
        if not self.is_mapping or key not in self.value:
            return None
        return Node(self.value[key], (*self.path, key_text(key)), self.key_line(key))

    def entries(self) -> Iterator[tuple[Any, Node]]:
        if self.is_mapping:
            for key in self.value:
                yield key, Node(self.value[key], (*self.path, key_text(key)), self.key_line(key))

    def item(self, index: int) -> Node | None:
        if not self.is_list or not 0 <= index < len(self.value):
            return None
        try:
            line = _line_of(self.value.lc.item(index)) or self.line
        except (AttributeError, KeyError, TypeError):
            line = self.line
        return Node(self.value[index], (*self.path, index), line)

    def items(self) -> Iterator[Node]:
        if self.is_list:
            for index in range(len(self.value)):
                node = self.item(index)
                if node is not None:
                    yield node

    def at(self, *parts: PathPart) -> Node | None:
        """Walk down by keys and list indexes; None when any step is missing."""
        node: Node | None = self
        for part in parts:
            if node is None:
                return None
            node = node.item(part) if isinstance(part, int) else node.child(part)
        return node

    def has(self, key: str) -> bool:
        return self.is_mapping and key in self.value


@dataclass
class Reporter:
    """Collects issues for one file."""

    filename: str
    errors: list[ManifestIssue] = field(default_factory=list)
    warnings: list[ManifestIssue] = field(default_factory=list)

    def _add(self, severity: Severity, node: Node, message: str) -> None:
        issue = ManifestIssue(self.filename, node.line, format_path(node.path), message, severity)
        (self.errors if severity == "error" else self.warnings).append(issue)

    def error(self, node: Node, message: str) -> None:
        self._add("error", node, message)

    def warning(self, node: Node, message: str) -> None:
        self._add("warning", node, message)
