"""A small declarative schema for YAML trees.

Each spec checks one node, reports type errors, missing keys and unknown keys, and returns the
node as plain JSON data (unknown keys dropped) or `INVALID`. Rules that need more than one value
hang off a spec as a `check` hook, which sees the plain data and the raw node (for lines).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from writeback.manifest.nodes import Node, Reporter, describe, key_text


class _Invalid:
    """Marks a value that failed validation (its error is already reported)."""

    def __repr__(self) -> str:
        return "INVALID"


INVALID: Final = _Invalid()

StrCheck = Callable[[str, Node, Reporter], None]
ObjCheck = Callable[[dict[str, Any], Node, Reporter], None]
ListCheck = Callable[[list[Any], Node, Reporter], None]


class Spec(Protocol):
    def validate(self, node: Node, rep: Reporter) -> Any: ...


def _quoted(values: Sequence[str]) -> str:
    return ", ".join(f'"{value}"' for value in values)


@dataclass(frozen=True)
class Str:
    non_empty: bool = False
    max_len: int | None = None
    pattern: re.Pattern[str] | None = None
    pattern_help: str = ""
    enum: tuple[str, ...] = ()
    check: StrCheck | None = None
    # Extra text for "expected a string" errors.
    hint: str = ""

    def validate(self, node: Node, rep: Reporter) -> Any:
        if not isinstance(node.value, str):
            message = f"expected a string, got {describe(node.value)}"
            rep.error(node, f"{message} ({self.hint})" if self.hint else message)
            return INVALID
        value = str(node.value)  # drop ruamel's scalar subclasses
        if self.non_empty and not value.strip():
            rep.error(node, "must not be empty")
            return INVALID
        if self.enum and value not in self.enum:
            rep.error(node, f'expected one of {_quoted(self.enum)}, got "{value}"')
            return INVALID
        if self.max_len is not None and len(value) > self.max_len:
            rep.error(node, f"must be at most {self.max_len} characters, got {len(value)}")
            return INVALID
        if self.pattern is not None and not self.pattern.fullmatch(value):
            rep.error(node, self.pattern_help or f"must match {self.pattern.pattern}")
            return INVALID
        if self.check is not None:
            self.check(value, node, rep)
        return value


@dataclass(frozen=True)
class Bool:
    def validate(self, node: Node, rep: Reporter) -> Any:
        if not isinstance(node.value, bool):
            got = describe(node.value)
            if isinstance(node.value, str):
                got += f' "{node.value}"'  # e.g. `yes`, which YAML 1.2 reads as a string
            rep.error(node, f"expected a boolean (true or false), got {got}")
            return INVALID
        return bool(node.value)


@dataclass(frozen=True)
class Int:
    minimum: int | None = None
    maximum: int | None = None

    def validate(self, node: Node, rep: Reporter) -> Any:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int):
            rep.error(node, f"expected a whole number, got {describe(value)}")
            return INVALID
        if self.minimum is not None and value < self.minimum:
            rep.error(node, f"must be at least {self.minimum}, got {value}")
            return INVALID
        if self.maximum is not None and value > self.maximum:
            rep.error(node, f"must be at most {self.maximum}, got {value}")
            return INVALID
        return int(value)


@dataclass(frozen=True)
class ListOf:
    item: Spec
    non_empty: bool = False
    check: ListCheck | None = None

    def validate(self, node: Node, rep: Reporter) -> Any:
        if not node.is_list:
            rep.error(node, f"expected a list, got {describe(node.value)}")
            return INVALID
        if self.non_empty and not node.value:
            rep.error(node, "must be a non-empty list")
            return INVALID
        # Invalid items keep their slot so hooks can line plain items up with raw nodes.
        values = [self.item.validate(child, rep) for child in node.items()]
        if self.check is not None:
            self.check(values, node, rep)
        return [value for value in values if value is not INVALID]


def _unknown_key_message(key: Any, known: Sequence[str]) -> str:
    text = key_text(key)
    message = f'unknown key "{text}"'
    by_case = [name for name in known if name.lower() == text.lower()]
    close = by_case or difflib.get_close_matches(text, known, n=1, cutoff=0.75)
    if close:
        message += f' (did you mean "{close[0]}"?)'
    return message


@dataclass(frozen=True)
class Obj:
    fields: dict[str, Spec]
    required: tuple[str, ...] = ()
    check: ObjCheck | None = None
    # Extra text for "expected a mapping" errors, e.g. what the mapping should hold.
    hint: str = ""

    def validate(self, node: Node, rep: Reporter) -> Any:
        if not node.is_mapping:
            message = f"expected a mapping, got {describe(node.value)}"
            rep.error(node, f"{message} ({self.hint})" if self.hint else message)
            return INVALID
        plain: dict[str, Any] = {}
        for key, child in node.entries():
            spec = self.fields.get(key) if isinstance(key, str) else None
            if spec is None:
                rep.warning(child, _unknown_key_message(key, list(self.fields)))
                continue
            value = spec.validate(child, rep)
            if value is not INVALID:
                plain[key] = value
        for key in self.required:
            if not node.has(key):
                rep.error(node, f'missing required key "{key}"')
        if self.check is not None:
            self.check(plain, node, rep)
        return plain
