"""Google-style update masks for PATCH endpoints (`{updateMask: [...], installation: {...}}`).

A mask path is dot notation over object keys: `config.content.read.objects.account`.
A key that contains "." or ":" is escaped as `\\.` / `\\:` (and a backslash as `\\\\`);
an unescaped ":" is rejected so a forgotten escape is reported rather than guessed.
Allowed patterns use the same syntax plus `*`, which matches exactly one key
(`config.content.read.objects.*`). Array elements are not addressable.

Semantics of `apply_update_mask` for each mask path, in order:
- the path has a value in `source`: that value replaces the one in `target`
  (intermediate objects are created as needed);
- the path is absent from `source`: the field is removed from `target`. This is how a
  client deletes, e.g., one object's write config. Ampersand asks for every masked path
  to carry a value; treating absence as removal is our deliberate, documented extension.
Fields not named by the mask are left as they are in `target`.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = [
    "UpdateMaskError",
    "apply_update_mask",
    "format_mask_path",
    "match_allowed",
    "parse_mask_path",
]

WILDCARD = "*"
_ESCAPABLE = {".", ":", "\\"}


class UpdateMaskError(ValueError):
    """A mask path is malformed or not updatable; `allowed` lists what is."""

    def __init__(self, path: str, message: str, allowed: list[str]) -> None:
        self.path = path
        self.message = message
        self.allowed = list(allowed)
        where = f'updateMask "{path}"' if path else "updateMask"
        super().__init__(f"{where}: {message}")


def parse_mask_path(path: str) -> list[str]:
    """Split a mask path into unescaped keys ("a.b\\.c" -> ["a", "b.c"]).

    Raises ValueError with a fix-it message when the path is empty, has an empty key
    (leading, trailing or doubled dot), an unescaped ":", or an unknown escape.
    """
    if not path:
        raise ValueError('is empty; name a field such as "connectionId"')
    segments: list[str] = []
    current: list[str] = []
    chars = iter(enumerate(path))
    for position, char in chars:
        if char == "\\":
            escaped = next(chars, None)
            if escaped is None:
                raise ValueError('ends with a lone "\\"; escape a backslash as "\\\\"')
            if escaped[1] not in _ESCAPABLE:
                raise ValueError(
                    f'unknown escape "\\{escaped[1]}" at position {position}; '
                    'only "\\.", "\\:" and "\\\\" are escapes'
                )
            current.append(escaped[1])
        elif char == ".":
            segments.append(_close_segment(current, position))
            current = []
        elif char == ":":
            raise ValueError(f'has an unescaped ":" at position {position}; write it as "\\:"')
        else:
            current.append(char)
    segments.append(_close_segment(current, len(path)))
    return segments


def _close_segment(chars: list[str], position: int) -> str:
    if not chars:
        raise ValueError(
            f"has an empty key at position {position}; remove the extra dot "
            'or escape a literal dot as "\\."'
        )
    return "".join(chars)


def format_mask_path(segments: list[str]) -> str:
    """Inverse of parse_mask_path: escape and join keys into a mask path."""
    return ".".join(
        s.replace("\\", "\\\\").replace(".", "\\.").replace(":", "\\:") for s in segments
    )


def match_allowed(segments: list[str], patterns: list[list[str]]) -> bool:
    """True when `segments` matches one pattern key for key (`*` matches any one key)."""
    return any(
        len(pattern) == len(segments)
        and all(p in (WILDCARD, s) for p, s in zip(pattern, segments, strict=True))
        for pattern in patterns
    )


def apply_update_mask(
    target: dict[str, Any],
    source: dict[str, Any],
    mask: list[str],
    allowed: list[str],
) -> dict[str, Any]:
    """Return a copy of `target` with the masked fields taken from `source`.

    Every mask path is validated against `allowed` before anything is applied. Neither
    argument is mutated and the result shares no mutable values with them.
    """
    patterns = _parse_allowed(allowed)
    parsed = _parse_mask(mask, patterns, allowed)
    result = copy.deepcopy(target)
    for path, segments in parsed:
        found, value = _lookup(source, segments, path, allowed)
        if found:
            _set(result, segments, copy.deepcopy(value), path, allowed)
        else:
            _delete(result, segments)
    return result


def _parse_allowed(allowed: list[str]) -> list[list[str]]:
    patterns = []
    for pattern in allowed:
        try:
            patterns.append(parse_mask_path(pattern))
        except ValueError as exc:
            # A bad pattern is a bug in the endpoint, not in the request: no UpdateMaskError.
            raise ValueError(f"allowed update mask pattern {pattern!r} {exc}") from None
    return patterns


def _parse_mask(
    mask: list[str], patterns: list[list[str]], allowed: list[str]
) -> list[tuple[str, list[str]]]:
    if isinstance(mask, str):
        raise UpdateMaskError(
            "", f'must be a list of paths, e.g. ["{mask}"], not a single string', allowed
        )
    if not mask:
        raise UpdateMaskError(
            "", f"is empty; list the fields to update, one or more of: {_listing(allowed)}", allowed
        )
    parsed = []
    for path in mask:
        if not isinstance(path, str):
            raise UpdateMaskError(
                str(path), 'must be a string path such as "connectionId"', allowed
            )
        try:
            segments = parse_mask_path(path)
        except ValueError as exc:
            raise UpdateMaskError(path, str(exc), allowed) from None
        if WILDCARD in segments:
            # Wildcards belong to allowed patterns; a request names each field it changes.
            raise UpdateMaskError(
                path,
                'wildcards are not allowed in a request; name each key, e.g. "'
                + format_mask_path([s if s != WILDCARD else "account" for s in segments])
                + '"',
                allowed,
            )
        if not match_allowed(segments, patterns):
            raise UpdateMaskError(
                path, f"is not an updatable field; allowed: {_listing(allowed)}", allowed
            )
        parsed.append((path, segments))
    return parsed


def _lookup(
    source: dict[str, Any], segments: list[str], path: str, allowed: list[str]
) -> tuple[bool, Any]:
    node: Any = source
    for depth, key in enumerate(segments):
        if node is None:
            return False, None  # a null parent means "nothing here", like an absent key
        if not isinstance(node, dict):
            where = format_mask_path(segments[:depth])
            raise UpdateMaskError(
                path, f'"{where}" in the request body must be an object to hold "{key}"', allowed
            )
        if key not in node:
            return False, None
        node = node[key]
    return True, node


def _set(
    target: dict[str, Any], segments: list[str], value: Any, path: str, allowed: list[str]
) -> None:
    node = target
    for depth, key in enumerate(segments[:-1]):
        child = node.get(key)
        if child is None:
            child = node[key] = {}
        elif not isinstance(child, dict):
            # Overwriting a scalar with an object would silently drop data; refuse instead.
            where = format_mask_path(segments[: depth + 1])
            raise UpdateMaskError(
                path, f'cannot set inside "{where}": the stored value is not an object', allowed
            )
        node = child
    node[segments[-1]] = value


def _delete(target: dict[str, Any], segments: list[str]) -> None:
    node: Any = target
    for key in segments[:-1]:
        node = node.get(key) if isinstance(node, dict) else None
    if isinstance(node, dict):
        node.pop(segments[-1], None)


def _listing(allowed: list[str]) -> str:
    return ", ".join(allowed) if allowed else "(none)"
