"""`inheritMapping`: rename app field names to the customer's provider field names.

The direction is app name (`mapToName`) → provider field (`fieldName`), the reverse of read
delivery. Sources, in order: static manifest mappings (read fields with both names), then the
customer's `selectedFieldMappings`. Optional user mappings the customer left unmapped are
dropped, so writing them never fails the provider call. Paths may be nested in JSONPath
bracket form: `$['userInfo']['email']`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_BRACKET = re.compile(r"\['((?:[^'\\]|\\.)*)'\]")

Path = tuple[str, ...]


def parse_path(text: str) -> Path:
    """`$['a']['b']` → ("a", "b"); a plain name is a one-part path."""
    if text.startswith("$["):
        parts = tuple(part.replace("\\'", "'") for part in _BRACKET.findall(text))
        if parts:
            return parts
    return (text,)


def _get(record: dict[str, Any], path: Path) -> tuple[bool, Any]:
    node: Any = record
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _pop(record: dict[str, Any], path: Path) -> None:
    """Remove the value at `path`; `record` is a private copy, nested dicts are copied first."""
    parents = [record]
    for part in path[:-1]:
        child = dict(parents[-1][part])
        parents[-1][part] = child
        parents.append(child)
    del parents[-1][path[-1]]
    # drop containers the removal left empty, so {"a": {}} is not sent
    for depth in range(len(path) - 1, 0, -1):
        if parents[depth]:
            break
        del parents[depth - 1][path[depth - 1]]


def _set(record: dict[str, Any], path: Path, value: Any) -> None:
    node = record
    for part in path[:-1]:
        child = node.get(part)
        child = dict(child) if isinstance(child, dict) else {}
        node[part] = child
        node = child
    node[path[-1]] = value


@dataclass
class WriteMapping:
    renames: list[tuple[Path, Path]] = field(default_factory=list)  # app path → provider path
    dropped: list[Path] = field(default_factory=list)  # optional mappings left unmapped
    value_maps: dict[str, dict[str, Any]] = field(default_factory=dict)  # provider field → map

    def apply(self, record: dict[str, Any]) -> dict[str, Any]:
        out = dict(record)
        moved = []
        # Read every source first, then write: renames never chain into each other.
        for source, target in self.renames:
            found, value = _get(out, source)
            if found:
                moved.append((source, target, value))
        for source, _, _ in moved:
            found, _ = _get(out, source)
            if found:
                _pop(out, source)
        for path in self.dropped:
            if _get(out, path)[0]:
                _pop(out, path)
        for _, target, value in moved:
            _set(out, target, value)
        for name, mapping in self.value_maps.items():
            value = out.get(name)
            if isinstance(value, str) and value in mapping:
                out[name] = mapping[value]
        return out

    def provider_field(self, app_field: str) -> str | None:
        """The top-level provider field an app field lands in (None if it is dropped)."""
        for source, target in self.renames:
            if source == (app_field,):
                return target[0]
        if (app_field,) in self.dropped:
            return None
        return app_field


def _read_object(revision_content: dict[str, Any], object_name: str) -> dict[str, Any] | None:
    for obj in (revision_content.get("read") or {}).get("objects") or []:
        if obj.get("objectName") == object_name:
            return obj
    return None


def build_mapping(
    revision_content: dict[str, Any], config_content: dict[str, Any], object_name: str
) -> WriteMapping:
    """The mapping a write to `object_name` inherits from its read object and the customer."""
    mapping = WriteMapping()
    read_object = _read_object(revision_content, object_name) or {}
    read_config = ((config_content.get("read") or {}).get("objects") or {}).get(object_name) or {}
    selected: dict[str, str] = read_config.get("selectedFieldMappings") or {}
    user_mapped: set[str] = set()
    for entry in (read_object.get("requiredFields") or []) + (
        read_object.get("optionalFields") or []
    ):
        app_name, provider_name = entry.get("mapToName"), entry.get("fieldName")
        if app_name and provider_name:
            mapping.renames.append((parse_path(app_name), parse_path(provider_name)))
        elif app_name:
            user_mapped.add(app_name)
            if app_name not in selected:
                mapping.dropped.append(parse_path(app_name))
    static_sources = {source for source, _ in mapping.renames}
    for app_name, provider_name in selected.items():
        source = parse_path(app_name)
        # the customer's choice wins over a static mapping of the same app field
        if source in static_sources:
            mapping.renames = [(s, t) for s, t in mapping.renames if s != source]
        mapping.renames.append((source, parse_path(provider_name)))
    mapping.value_maps = {
        name: values
        for name, values in (read_config.get("selectedValueMappings") or {}).items()
        if isinstance(values, dict)
    }
    return mapping


def resolve_write_object(
    revision_content: dict[str, Any], url_object: str
) -> tuple[dict[str, Any] | None, list[str]]:
    """The manifest write object a URL names: its objectName, or (with inheritMapping) the
    `mapToName` of its read object. Also returns the names that would have worked."""
    write_objects = (revision_content.get("write") or {}).get("objects") or []
    by_name = {obj.get("objectName"): obj for obj in write_objects}
    if url_object in by_name:
        return by_name[url_object], sorted(by_name)
    aliases = {}
    for read_object in (revision_content.get("read") or {}).get("objects") or []:
        target = by_name.get(read_object.get("objectName"))
        if read_object.get("mapToName") and target and target.get("inheritMapping"):
            aliases[read_object["mapToName"]] = target
    return aliases.get(url_object), sorted([*by_name, *aliases])
