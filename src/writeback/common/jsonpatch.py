"""JSON Patch (RFC 6902) over plain JSON documents, with JSON Pointer (RFC 6901) paths.

Used by `patchObjectConfigContent`, whose body carries `changes: [JSONPatchOperation]`.
Ampersand documents `add`, `remove` and `replace`; `move`, `copy` and `test` are accepted too
because they cost little and clients built on generic JSON Patch libraries emit them.

Every error names the failing change by index (`changes[2]`), the pointer, what is wrong and
how to fix it, so the API layer can put it straight into a problem+json `issues` entry.
"""

from __future__ import annotations

import copy
import json
from typing import Any

__all__ = [
    "SUPPORTED_OPS",
    "JsonPatchError",
    "apply_json_patch",
    "format_json_pointer",
    "parse_json_pointer",
]

SUPPORTED_OPS: tuple[str, ...] = ("add", "remove", "replace", "move", "copy", "test")
_OPS_TEXT = ", ".join(f'"{op}"' for op in SUPPORTED_OPS)

# A sentinel distinguishes "no value" from a JSON null.
_MISSING: Any = object()


class JsonPatchError(ValueError):
    """One patch operation could not be applied; nothing was changed.

    `field` is the operation member at fault: "path" or "from" (then `path` holds that
    pointer), another member such as "op" or "value", or None for the operation as a whole.
    """

    def __init__(self, index: int, path: str, message: str, *, field: str | None = "path") -> None:
        self.index = index
        self.path = path
        self.message = message
        self.field = field
        super().__init__(f"{self.location}: {message}")

    @property
    def location(self) -> str:
        """Where the problem is, e.g. `changes[2].path "/selectedFields/foo"`."""
        where = f"changes[{self.index}]"
        if self.field in ("path", "from"):
            return f'{where}.{self.field} "{self.path}"'
        if self.field:
            return f"{where}.{self.field}"
        return where


class _PointerError(Exception):
    """Internal: a pointer problem, turned into JsonPatchError with the change's index."""


def parse_json_pointer(pointer: str) -> list[str]:
    """Split a JSON Pointer into unescaped reference tokens ("/a~1b/c~0d" -> ["a/b", "c~d"]).

    The empty pointer (whole document) gives []. Raises ValueError for a malformed pointer.
    """
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise ValueError(f'must start with "/", e.g. "/{pointer}"')
    tokens = pointer[1:].split("/")
    for token in tokens:
        # Only ~0 and ~1 are escapes; a lone "~" or "~2" is a typo worth reporting.
        rest = token.replace("~0", "").replace("~1", "")
        if "~" in rest:
            raise ValueError(
                f'invalid escape in token "{token}"; write "~0" for "~" and "~1" for "/"'
            )
    # Order matters (RFC 6901 §4): "~1" first, so "~01" becomes "~1", not "/".
    return [t.replace("~1", "/").replace("~0", "~") for t in tokens]


def format_json_pointer(tokens: list[str]) -> str:
    """Inverse of parse_json_pointer: escape and join tokens into a pointer."""
    return "".join("/" + t.replace("~", "~0").replace("/", "~1") for t in tokens)


def apply_json_patch(document: dict[str, Any], operations: list[dict[str, Any]]) -> dict[str, Any]:
    """Apply `operations` in order to a deep copy of `document` and return the copy.

    The input is never mutated, and values taken from the operations are copied, so the
    result shares no mutable state with the arguments. The patch is atomic: the first
    failing operation raises JsonPatchError and no partial result escapes.
    """
    result = copy.deepcopy(document)
    for index, operation in enumerate(operations):
        _apply_one(result, index, operation)
    return result


def _apply_one(doc: dict[str, Any], index: int, operation: Any) -> None:
    if not isinstance(operation, dict):
        raise JsonPatchError(
            index,
            "",
            f'must be an object like {{"op": "add", "path": "/x", "value": 1}}, '
            f"got {_type_name(operation)}",
            field=None,
        )
    op = _require_op(index, operation)
    path = _require_pointer(index, operation, "path")
    tokens = _parse(index, path, "path")
    if not tokens:
        raise JsonPatchError(
            index, path, 'cannot target the whole document; point at a key, e.g. "/schedule"'
        )

    if op in ("add", "replace", "test"):
        value = operation.get("value", _MISSING)
        if value is _MISSING:
            raise JsonPatchError(
                index,
                "",
                f'"{op}" needs a "value" member (use null to {op} a null value)',
                field="value",
            )
        if op == "add":
            _add(doc, index, path, tokens, copy.deepcopy(value))
        elif op == "replace":
            _replace(doc, index, path, tokens, copy.deepcopy(value))
        else:
            _test(doc, index, path, tokens, value)
    elif op == "remove":
        _remove(doc, index, path, tokens, op)
    else:
        source = _require_pointer(index, operation, "from")
        from_tokens = _parse(index, source, "from")
        if not from_tokens:
            raise JsonPatchError(
                index, source, "cannot take the whole document; point at a key", field="from"
            )
        if op == "move":
            if from_tokens == tokens:
                return  # moving a value onto itself is a no-op (RFC 6902 §4.4)
            if tokens[: len(from_tokens)] == from_tokens:
                raise JsonPatchError(
                    index,
                    source,
                    f'cannot move a value into its own child "{path}"; '
                    "copy it first or choose another destination",
                    field="from",
                )
            value = _remove(doc, index, source, from_tokens, op, field="from")
        else:
            value = copy.deepcopy(_get(doc, index, source, from_tokens, op, field="from"))
        _add(doc, index, path, tokens, value)


def _require_op(index: int, operation: dict[str, Any]) -> str:
    op = operation.get("op", _MISSING)
    if op is _MISSING:
        raise JsonPatchError(index, "", f'missing "op"; set it to one of {_OPS_TEXT}', field="op")
    if op not in SUPPORTED_OPS:
        raise JsonPatchError(
            index, "", f"unknown op {_show(op)}; use one of {_OPS_TEXT}", field="op"
        )
    return str(op)


def _require_pointer(index: int, operation: dict[str, Any], member: str) -> str:
    pointer = operation.get(member, _MISSING)
    if pointer is _MISSING:
        example = "/selectedFields/name" if member == "from" else "/schedule"
        raise JsonPatchError(
            index,
            "",
            f'missing "{member}"; give a JSON Pointer such as "{example}"',
            field=None,
        )
    if not isinstance(pointer, str):
        raise JsonPatchError(
            index,
            "",
            f'"{member}" must be a string JSON Pointer such as "/schedule", '
            f"got {_type_name(pointer)}",
            field=None,
        )
    return pointer


def _parse(index: int, pointer: str, member: str) -> list[str]:
    try:
        return parse_json_pointer(pointer)
    except ValueError as exc:
        raise JsonPatchError(index, pointer, str(exc), field=member) from None


def _resolve_parent(
    doc: dict[str, Any], index: int, pointer: str, tokens: list[str], op: str, field: str
) -> Any:
    """Walk to the container that holds the last token; every step must exist."""
    node: Any = doc
    for depth, token in enumerate(tokens[:-1]):
        here = format_json_pointer(tokens[: depth + 1])
        try:
            node = _child(node, token, here)
        except _PointerError as exc:
            raise JsonPatchError(index, pointer, f"cannot {op}: {exc}", field=field) from None
        if not isinstance(node, dict | list):
            raise JsonPatchError(
                index,
                pointer,
                f'cannot {op}: "{here}" is {_type_name(node)}, not an object or array',
                field=field,
            )
    return node


def _child(node: Any, token: str, here: str) -> Any:
    if isinstance(node, dict):
        if token not in node:
            raise _PointerError(f'"{here}" does not exist; add it first (e.g. with value {{}})')
        return node[token]
    try:
        position = _array_index(token, len(node) - 1)
    except _PointerError as exc:
        raise _PointerError(f'"{here}": {exc}') from None
    if position >= len(node):
        raise _PointerError(f'"{here}" is past the end of an array of length {len(node)}')
    return node[position]


def _array_index(token: str, limit: int) -> int:
    """Parse an array token; `limit` is the highest valid index (only used in messages)."""
    if token == "-":
        raise _PointerError('"-" (append) is only valid as the last token of an "add" path')
    # RFC 6901: "0" or digits without a leading zero; no signs, no spaces.
    if not token.isascii() or not token.isdigit() or (len(token) > 1 and token[0] == "0"):
        valid = f"0..{limit}" if limit >= 0 else "none (the array is empty)"
        raise _PointerError(
            f'"{token}" is not an array index; valid indexes are {valid}, "-" appends with "add"'
        )
    return int(token)


def _add(doc: dict[str, Any], index: int, path: str, tokens: list[str], value: Any) -> None:
    parent = _resolve_parent(doc, index, path, tokens, "add", "path")
    last = tokens[-1]
    if isinstance(parent, dict):
        parent[last] = value  # add on an existing key replaces it (RFC 6902 §4.1)
        return
    if last == "-":
        parent.append(value)
        return
    position = _index_or_error(parent, last, path, index, "add", allow_end=True)
    parent.insert(position, value)


def _replace(doc: dict[str, Any], index: int, path: str, tokens: list[str], value: Any) -> None:
    parent = _resolve_parent(doc, index, path, tokens, "replace", "path")
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise JsonPatchError(
                index, path, f'replace needs an existing value at "{path}"; use "add"'
            )
        parent[last] = value
        return
    position = _index_or_error(parent, last, path, index, "replace", allow_end=False)
    parent[position] = value


def _remove(
    doc: dict[str, Any],
    index: int,
    path: str,
    tokens: list[str],
    op: str,
    field: str = "path",
) -> Any:
    parent = _resolve_parent(doc, index, path, tokens, op, field)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise JsonPatchError(
                index, path, f'cannot {op}, key "{last}" does not exist', field=field
            )
        return parent.pop(last)
    position = _index_or_error(parent, last, path, index, op, allow_end=False, field=field)
    return parent.pop(position)


def _get(
    doc: dict[str, Any], index: int, path: str, tokens: list[str], op: str, field: str = "path"
) -> Any:
    parent = _resolve_parent(doc, index, path, tokens, op, field)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise JsonPatchError(
                index, path, f'cannot {op}, key "{last}" does not exist', field=field
            )
        return parent[last]
    return parent[_index_or_error(parent, last, path, index, op, allow_end=False, field=field)]


def _test(doc: dict[str, Any], index: int, path: str, tokens: list[str], expected: Any) -> None:
    actual = _get(doc, index, path, tokens, "test")
    if not _json_equal(actual, expected):
        raise JsonPatchError(
            index, path, f"test failed: expected {_show(expected)}, found {_show(actual)}"
        )


def _index_or_error(
    array: list[Any],
    token: str,
    path: str,
    index: int,
    op: str,
    *,
    allow_end: bool,
    field: str = "path",
) -> int:
    # add may insert at len(array) (the end); the others need an existing element.
    limit = len(array) if allow_end else len(array) - 1
    try:
        position = _array_index(token, limit)
    except _PointerError as exc:
        raise JsonPatchError(index, path, f"cannot {op}: {exc}", field=field) from None
    if position > limit:
        if limit < 0:
            hint = 'the array is empty; use "add" with "-" to append'
        else:
            hint = f"valid indexes are 0..{limit}"
        raise JsonPatchError(
            index, path, f"cannot {op}: index {position} is out of range; {hint}", field=field
        )
    return position


def _json_equal(left: Any, right: Any) -> bool:
    """JSON equality: unlike Python, true != 1, while 1 == 1.0 (both are JSON numbers)."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, int | float) and isinstance(right, int | float):
        return left == right
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(_json_equal(left[k], right[k]) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(_json_equal, left, right))
    return type(left) is type(right) and left == right


def _type_name(value: Any) -> str:
    """JSON-flavoured type names for messages ("a string", "null", ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _show(value: Any, limit: int = 60) -> str:
    """Short JSON-ish rendering of a value for messages."""
    try:
        text = json.dumps(value, sort_keys=True)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
