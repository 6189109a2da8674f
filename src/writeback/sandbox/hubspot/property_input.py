"""Checks a Properties API create body and turns it into a PropertyDef.

Allowed `type`/`fieldType` values are the client's create enums; messages are plausible.
"""

from __future__ import annotations

import re
from typing import Any

from writeback.sandbox.hubspot.schema import PropertyDef

TYPES = ("string", "number", "date", "datetime", "enumeration", "bool")
FIELD_TYPES = (
    "text",
    "textarea",
    "date",
    "file",
    "number",
    "select",
    "radio",
    "checkbox",
    "booleancheckbox",
    "calculation_equation",
    "phonenumber",
    "html",
)
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class PropertyInputError(ValueError):
    pass


def normalise(data: Any, now: str) -> dict[str, Any]:
    """The stored form of a create body; PropertyInputError says what is wrong."""
    if not isinstance(data, dict):
        raise PropertyInputError("The property definition must be a JSON object")
    missing = [f for f in ("name", "label", "type", "fieldType", "groupName") if not data.get(f)]
    if missing:
        raise PropertyInputError(f"Some required fields were not set: [{', '.join(missing)}]")
    name = data["name"]
    if not isinstance(name, str) or not _NAME.match(name):
        raise PropertyInputError(
            f"Property name {name!r} is invalid: use lowercase letters, digits and underscores,"
            " starting with a letter"
        )
    if data["type"] not in TYPES:
        raise PropertyInputError(f"{data['type']} is not a valid property type: {list(TYPES)}")
    if data["fieldType"] not in FIELD_TYPES:
        raise PropertyInputError(f"{data['fieldType']} is not a valid field type")
    options = data.get("options") or []
    if not isinstance(options, list) or not all(
        isinstance(o, dict) and isinstance(o.get("value"), str) for o in options
    ):
        raise PropertyInputError("options must be a list of {label, value} objects")
    if data["type"] == "enumeration" and not options:
        raise PropertyInputError("Enumeration properties must have at least one option")
    if data["type"] == "bool" and sorted(o["value"] for o in options) != ["false", "true"]:
        raise PropertyInputError(
            "Boolean properties must have exactly two options; one with a value of 'true',"
            " the other with a value of 'false'."
        )
    return {
        "name": name,
        "label": str(data["label"]),
        "type": data["type"],
        "fieldType": data["fieldType"],
        "groupName": str(data["groupName"]),
        "description": str(data.get("description") or ""),
        "options": [
            {"value": o["value"], "label": str(o.get("label", o["value"]))} for o in options
        ],
        "hasUniqueValue": bool(data.get("hasUniqueValue", False)),
        "hidden": bool(data.get("hidden", False)),
        "displayOrder": int(data.get("displayOrder", -1)),
        "createdAt": now,
        "updatedAt": now,
    }


def definition_from_json(data: dict[str, Any]) -> PropertyDef:
    return PropertyDef(
        name=data["name"],
        label=data["label"],
        type=data["type"],
        field_type=data["fieldType"],
        group=data["groupName"],
        description=data["description"],
        options=tuple((o["value"], o["label"]) for o in data["options"]),
        unique=data["hasUniqueValue"],
        hidden=data["hidden"],
        display_order=data["displayOrder"],
        hubspot_defined=False,
        created_at=data["createdAt"],
        updated_at=data["updatedAt"],
    )
