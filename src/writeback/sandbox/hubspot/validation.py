"""Property value checks, compiled once per property so the write path only calls functions.

Messages and codes follow captured HubSpot errors where research/providers.md has them
(PROPERTY_DOESNT_EXIST, INVALID_EMAIL, INVALID_OPTION, INVALID_LONG, the INVALID_DATE
"not midnight!" text); the others (READ_ONLY_VALUE text, unparseable dates) are plausible.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from writeback.sandbox.hubspot.errors import PropertyProblem
from writeback.sandbox.hubspot.schema import ObjectType, PropertyDef, Validator

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_EPOCH_MS = re.compile(r"^-?\d{1,15}$")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Invalid(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def iso_millis(moment: datetime) -> str:
    """2025-11-03T23:36:13.632Z, the only timestamp form HubSpot answers with."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _parse_moment(value: str) -> datetime | None:
    if _EPOCH_MS.match(value):
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _string(value: str) -> str:
    return value


def _email(value: str) -> str:
    if value and not _EMAIL.match(value):
        raise Invalid("INVALID_EMAIL", f"Email address {value} is invalid")
    return value.lower()  # HubSpot stores addresses lowercased


def _number(value: str) -> str:
    value = value.strip()
    if value and not _NUMBER.match(value):
        raise Invalid("INVALID_LONG", f"{value} was not a valid long.")
    return value


def _date(value: str) -> str:
    if not value or (_DATE_ONLY.match(value) and _parse_moment(value)):
        return value
    moment = _parse_moment(value)
    if moment is None:
        raise Invalid("INVALID_DATE", f"{value} was not a valid date.")
    if (moment.hour, moment.minute, moment.second, moment.microsecond) != (0, 0, 0, 0):
        when = f"{moment.hour}:{moment.minute}:{moment.second}.{moment.microsecond // 1000}"
        raise Invalid("INVALID_DATE", f"{value} is at {when} UTC, not midnight!")
    return moment.strftime("%Y-%m-%d")


def _datetime(value: str) -> str:
    if not value:
        return value
    moment = _parse_moment(value)
    if moment is None:
        raise Invalid("INVALID_DATE", f"{value} was not a valid datetime.")
    return iso_millis(moment)


def _options(allowed: tuple[str, ...], multiple: bool) -> Validator:
    allowed_set = frozenset(allowed)
    listed = ", ".join(allowed)

    def check(value: str) -> str:
        if not value:
            return value
        for part in value.split(";") if multiple else (value,):
            if part not in allowed_set:
                raise Invalid(
                    "INVALID_OPTION", f"{part} was not one of the allowed options: [{listed}]"
                )
        return value

    return check


def _bool(value: str) -> str:
    lowered = value.lower()
    if lowered in ("true", "false", ""):
        return lowered
    raise Invalid("INVALID_OPTION", f"{value} was not one of the allowed options: [true, false]")


def _read_only(name: str) -> Validator:
    def check(value: str) -> str:
        raise Invalid(
            "READ_ONLY_VALUE", f"{name} is a read only property; its value cannot be set."
        )

    return check


def compile_validator(definition: PropertyDef) -> Validator:
    if definition.read_only:
        return _read_only(definition.name)
    if definition.email:
        return _email
    kind = definition.type
    if kind == "number":
        return _number
    if kind == "bool":
        return _bool
    if kind == "date":
        return _date
    if kind == "datetime":
        return _datetime
    if kind == "enumeration":
        if definition.field_type == "booleancheckbox" and not definition.options:
            return _bool
        return _options(definition.option_values, definition.field_type == "checkbox")
    return _string


def as_text(value: Any) -> str | None:
    """JSON value → HubSpot's string form; None for values HubSpot cannot take."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return None


def check_properties(
    object_type: ObjectType, properties: dict[str, Any], problems: list[PropertyProblem]
) -> dict[str, str]:
    """Validated, normalised copy of `properties`; appends one problem per bad property."""
    clean: dict[str, str] = {}
    validators = object_type.validators
    for name, raw in properties.items():
        validator = validators.get(name)
        if validator is None:
            problems.append(
                PropertyProblem(name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist')
            )
            continue
        text = as_text(raw)
        if text is None:
            problems.append(
                PropertyProblem(name, "INVALID_PROPERTY_VALUE", f"{name} must be a string value")
            )
            continue
        try:
            clean[name] = validator(text)
        except Invalid as exc:
            problems.append(PropertyProblem(name, exc.code, exc.message))
    return clean
