"""Per-field value checks, compiled once per field, and the parsing of a record body.

Type problems are what Salesforce's JSON deserializer rejects (JSON_PARSER_ERROR, the
request stops at the first); value problems (length, picklist, range, format) are collected
and reported together, as the real save does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from datetime import date as date_type
from typing import Any

from writeback.sandbox.salesforce import ids
from writeback.sandbox.salesforce.errors import Problem, SfError
from writeback.sandbox.salesforce.fields import Field

Parser = Callable[[Any], Any]

_NUMERIC = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(
    r"^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?$"
)
# Close to what Salesforce accepts: local@domain.tld, no spaces, one @.
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
JSON_TYPE_NAMES = {
    "string": "string",
    "textarea": "string",
    "email": "string",
    "phone": "string",
    "url": "string",
    "picklist": "string",
    "reference": "id",
    "boolean": "boolean",
    "int": "int",
    "double": "double",
    "currency": "double",
    "percent": "double",
    "date": "date",
    "datetime": "datetime",
}


class TypeMismatch(Exception):
    """The JSON value cannot become this field's type."""

    def __init__(self, value: Any) -> None:
        super().__init__(value)
        self.value = value


class ValueProblem(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.code)
        self.problem = problem


def json_token(value: Any) -> tuple[str, str]:
    """Jackson's token name and how it prints the value, for JSON_PARSER_ERROR messages."""
    if isinstance(value, bool):
        return ("VALUE_TRUE" if value else "VALUE_FALSE"), str(value).lower()
    if isinstance(value, int):
        return "VALUE_NUMBER_INT", str(value)
    if isinstance(value, float):
        return "VALUE_NUMBER_FLOAT", repr(value)
    if isinstance(value, dict):
        return "START_OBJECT", "{"
    if isinstance(value, list):
        return "START_ARRAY", "["
    return "VALUE_STRING", str(value)


def _scalar_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise TypeMismatch(value)


def _text_parser(field: Field) -> Parser:
    limit, label, name = field.length, field.label, field.name
    check_email = field.type == "email"
    allowed = frozenset(field.picklist) if field.restricted else None

    def parse(value: Any) -> str | None:
        if value is None:
            return None
        text = _scalar_text(value)
        if text == "":
            return None  # Salesforce stores an empty string as null
        if len(text) > limit:
            raise ValueProblem(
                Problem(
                    "STRING_TOO_LONG",
                    f"{label}: data value too large: {text} (max length={limit})",
                    [name],
                )
            )
        if check_email and not _EMAIL.match(text):
            raise ValueProblem(
                Problem("INVALID_EMAIL_ADDRESS", f"{label}: invalid email address: {text}", [name])
            )
        if allowed is not None and text not in allowed:
            raise ValueProblem(
                Problem(
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    f"{label}: bad value for restricted picklist field: {text}",
                    [name],
                )
            )
        return text

    return parse


def _boolean_parser(field: Field) -> Parser:
    def parse(value: Any) -> bool:
        if value is None:
            return False  # a checkbox is never null
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise TypeMismatch(value)

    return parse


def _to_number(value: Any) -> float | int:
    if isinstance(value, bool):
        raise TypeMismatch(value)
    if isinstance(value, int | float):
        return value
    if isinstance(value, str) and _NUMERIC.match(value.strip()):
        number = float(value)
        return int(number) if number.is_integer() and "." not in value else number
    raise TypeMismatch(value)


def _number_parser(field: Field) -> Parser:
    label, name = field.label, field.name
    if field.type == "int":
        bound, scale = 10**field.digits, None
    else:
        bound, scale = 10 ** (field.precision - field.scale), field.scale

    def parse(value: Any) -> float | int | None:
        if value is None:
            return None
        number = _to_number(value)
        if abs(number) >= bound:
            raise ValueProblem(
                Problem(
                    "NUMBER_OUTSIDE_VALID_RANGE",
                    f"{label}: value outside of valid range on numeric field: {value}",
                    [name],
                )
            )
        if scale is None:
            return int(number)
        return float(round(number, scale))

    return parse


def _date_parser(field: Field) -> Parser:
    def parse(value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or not _DATE.match(value):
            raise TypeMismatch(value)
        try:
            date_type.fromisoformat(value)
        except ValueError:
            raise TypeMismatch(value) from None
        return value

    return parse


def parse_datetime(value: str) -> datetime | None:
    found = _DATETIME.match(value)
    if found is None:
        return None
    day, hour, minute, second, fraction, zone = found.groups()
    micros = (fraction or "0").ljust(6, "0")[:6]
    zone = zone or "Z"
    if zone != "Z" and ":" not in zone:
        zone = zone[:3] + ":" + zone[3:]
    text = f"{day}T{hour}:{minute}:{second or '00'}.{micros}{'+00:00' if zone == 'Z' else zone}"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def format_datetime(moment: datetime) -> str:
    """Salesforce's wire format: 2024-05-01T10:00:00.000+0000, always UTC."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def _datetime_parser(field: Field) -> Parser:
    def parse(value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise TypeMismatch(value)
        moment = parse_datetime(value)
        if moment is None:
            raise TypeMismatch(value)
        return format_datetime(moment)

    return parse


def _reference_parser(field: Field, prefixes: frozenset[str]) -> Parser:
    label, name = field.label, field.name

    def parse(value: Any) -> str | None:
        if value is None:
            return None
        text = _scalar_text(value)
        if text == "":
            return None
        canonical = ids.normalize(text)
        if canonical is None:
            raise ValueProblem(
                Problem("MALFORMED_ID", f"{label}: id value of incorrect type: {text}", [name])
            )
        if canonical[:3] not in prefixes:
            raise ValueProblem(
                Problem(
                    "FIELD_INTEGRITY_EXCEPTION",
                    f"{label}: id value of incorrect type: {text}",
                    [name],
                )
            )
        return canonical

    return parse


def build_parser(field: Field, prefixes_of: Callable[[str], str | None]) -> Parser | None:
    """The value parser of a writable field; None for id and compound fields."""
    kind = field.type
    if kind in ("string", "textarea", "email", "phone", "url", "picklist"):
        return _text_parser(field)
    if kind == "boolean":
        return _boolean_parser(field)
    if kind in ("int", "double", "currency", "percent"):
        return _number_parser(field)
    if kind == "date":
        return _date_parser(field)
    if kind == "datetime":
        return _datetime_parser(field)
    if kind == "reference":
        prefixes = frozenset(p for p in map(prefixes_of, field.reference_to) if p)
        return _reference_parser(field, prefixes)
    return None


def value_position(raw: bytes | None, key: str) -> tuple[int, int]:
    """Line and column of a key's value in the raw body (the first occurrence; good enough
    for error messages, which only people read)."""
    if not raw:
        return 1, 1
    text = raw.decode("utf-8", "replace")
    at = text.find(f'"{key}"')
    if at < 0:
        return 1, 1
    colon = text.find(":", at + len(key) + 2)
    at = colon + 1 if colon >= 0 else at
    while at < len(text) and text[at] in " \t\r\n":
        at += 1
    line = text.count("\n", 0, at) + 1
    column = at - (text.rfind("\n", 0, at) + 1) + 1
    return line, column


def type_mismatch_error(field: Field, key: str, value: Any, raw: bytes | None) -> SfError:
    token, shown = json_token(value)
    line, column = value_position(raw, key)
    return SfError(
        400,
        Problem(
            "JSON_PARSER_ERROR",
            f"Cannot deserialize instance of {JSON_TYPE_NAMES.get(field.type, field.type)}"
            f" from {token} value {shown} or request may be missing a required field at"
            f" [line:{line}, column:{column}]",
        ),
    )
