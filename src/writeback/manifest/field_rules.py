"""Rules for read-object field entries (`requiredFields` / `optionalFields`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from writeback.manifest.nodes import Node, Reporter

# Nested fields use JSONPath bracket notation only: $['address']['city'].
_BRACKET_PATH = re.compile(r"\$(\['[^'\]]+'\])+")
# Keys that only mean something on a user-defined mapping (an entry without fieldName).
_MAPPING_ONLY_KEYS = ("prompt", "default")
FIELD_LISTS = ("requiredFields", "optionalFields")


def check_field_path(value: str, node: Node, rep: Reporter) -> None:
    """`fieldName` / `mapToName`: plain names, or a `$['a']['b']` path for nested data."""
    if value.startswith("$") and not _BRACKET_PATH.fullmatch(value):
        rep.error(
            node,
            f"nested field paths use bracket notation, e.g. $['address']['city'], got {value!r}",
        )


def check_field_entry(plain: dict[str, Any], node: Node, rep: Reporter) -> None:
    """An entry names a provider field (`fieldName`) or is a user-defined `mapToName` mapping."""
    if not node.has("fieldName") and not node.has("mapToName"):
        rep.error(
            node,
            'a field entry needs "fieldName" (a provider field) or "mapToName" '
            "(a mapping the customer chooses)",
        )
        return
    if node.has("fieldName"):
        for key in _MAPPING_ONLY_KEYS:
            child = node.child(key)
            if child is not None:
                rep.warning(
                    child,
                    f'"{key}" is only used by user-defined mappings (entries without fieldName)',
                )


def is_user_mapping(entry: Any) -> bool:
    return isinstance(entry, Mapping) and "fieldName" not in entry and "mapToName" in entry


def check_unique_map_to_names(node: Node, rep: Reporter) -> None:
    """Two fields of one object cannot deliver into the same `mapToName`."""
    seen: set[str] = set()
    for list_key in FIELD_LISTS:
        list_node = node.child(list_key)
        for item in list_node.items() if list_node is not None else ():
            name = item.value.get("mapToName") if item.is_mapping else None
            if not isinstance(name, str):
                continue
            if name in seen:
                rep.error(item.child("mapToName") or item, f'duplicate mapToName "{name}"')
            seen.add(name)
