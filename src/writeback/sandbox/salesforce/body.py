"""Request bodies: JSON with Salesforce's parser errors, and record bodies turned into values."""

from __future__ import annotations

from typing import Any

import orjson

from writeback.sandbox.salesforce.errors import Problem, SfError, json_parser_error
from writeback.sandbox.salesforce.schema import SObject
from writeback.sandbox.salesforce.validation import (
    TypeMismatch,
    ValueProblem,
    json_token,
    type_mismatch_error,
)

NO_BODY = "The HTTP entity body is required, but this request has no entity body."


def load_json(raw: bytes) -> Any:
    if not raw.strip():
        raise json_parser_error(NO_BODY)
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise json_parser_error(_jackson_message(raw, exc)) from None


def _jackson_message(raw: bytes, exc: orjson.JSONDecodeError) -> str:
    # Salesforce parses with Jackson; mimic its wording and its [line, column] suffix.
    text = raw.decode("utf-8", "replace")
    pos = min(exc.pos, len(text))
    line = text.count("\n", 0, pos) + 1
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    where = f"[line:{line}, column:{column}]"
    if pos >= len(text.rstrip()):
        return f"Unexpected end-of-input: expected close marker for Object at {where}"
    char = text[pos]
    return (
        f"Unexpected character ('{char}' (code {ord(char)})): expected a valid value"
        " (JSON String, Number, Array, Object or token 'null', 'true' or 'false')"
        f" at {where}"
    )


def expect_object(body: Any, type_name: str) -> dict[str, Any]:
    if isinstance(body, dict):
        return body
    token, shown = json_token(body)
    raise json_parser_error(
        f"Cannot deserialize instance of {type_name} from {token} value {shown} or request may"
        " be missing a required field at [line:1, column:1]"
    )


def unknown_field(sobject: SObject, key: str) -> SfError:
    return SfError(
        400, Problem("INVALID_FIELD", f"No such column '{key}' on sobject of type {sobject.name}")
    )


def not_writable(names: list[str], creating: bool) -> SfError:
    if creating and names == ["Id"]:
        return SfError(
            400,
            Problem(
                "INVALID_FIELD_FOR_INSERT_UPDATE", "cannot specify Id in an insert call", ["Id"]
            ),
        )
    return SfError(
        400,
        Problem(
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            f"Unable to create/update fields: {', '.join(names)}. Please check the security"
            " settings of this field and verify that it is read/write for your profile or"
            " permission set.",
            names,
        ),
    )


def record_values(
    sobject: SObject,
    body: dict[str, Any],
    raw: bytes | None,
    *,
    creating: bool,
    skip: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Canonical field name -> stored value, or SfError as the real save reports it.

    Order: unknown field and JSON type errors stop at once (the deserializer), then
    read-only fields, then all value problems together. `skip` holds lower-case keys the
    caller handles itself (the record id of an update).
    """
    values: dict[str, Any] = {}
    locked: list[str] = []
    problems: list[Problem] = []
    by_lower, parsers = sobject.by_lower, sobject.parsers
    for key, value in body.items():
        if key == "attributes":
            continue
        lower = key.lower()
        if lower in skip:
            continue
        field = by_lower.get(lower)
        if field is None:
            raise unknown_field(sobject, key)
        if not (field.createable if creating else field.updateable):
            locked.append(field.name)
            continue
        try:
            values[field.name] = parsers[field.name](value)
        except TypeMismatch:
            raise type_mismatch_error(field, key, value, raw) from None
        except ValueProblem as exc:
            problems.append(exc.problem)
    if locked:
        raise not_writable(locked, creating)
    if problems:
        raise SfError(400, *problems)
    return values
