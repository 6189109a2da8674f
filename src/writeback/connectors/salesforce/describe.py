"""A Salesforce sObject describe as writeback's object metadata.

Names are lower-cased as Ampersand reports them (`account`, `billingcity`); Salesforce itself
matches object and field names case-insensitively.
"""

from __future__ import annotations

from typing import Any

from writeback.connectors.metadata import FieldInfo, FieldValue, ObjectInfo, ValueType

VALUE_TYPES: dict[str, ValueType] = {
    "string": "string",
    "textarea": "string",
    "email": "string",
    "phone": "string",
    "url": "string",
    "encryptedstring": "string",
    "id": "string",
    "boolean": "boolean",
    "picklist": "singleSelect",
    "combobox": "singleSelect",
    "multipicklist": "multiSelect",
    "date": "date",
    "datetime": "datetime",
    "int": "int",
    "long": "int",
    "double": "float",
    "currency": "float",
    "percent": "float",
    "reference": "reference",
}


def field_info(field: dict[str, Any]) -> FieldInfo:
    provider_type = str(field.get("type") or "")
    createable = bool(field.get("createable"))
    values = None
    if provider_type in ("picklist", "multipicklist", "combobox"):
        values = tuple(
            FieldValue(str(v.get("value")), str(v.get("label") or v.get("value")))
            for v in field.get("picklistValues") or []
            if isinstance(v, dict) and v.get("active", True)
        )
    name = str(field.get("name") or "")
    return FieldInfo(
        name=name.lower(),
        display_name=str(field.get("label") or name),
        value_type=VALUE_TYPES.get(provider_type, "other"),
        provider_type=provider_type,
        read_only=not createable and not field.get("updateable"),
        is_custom=bool(field.get("custom")),
        # needed on create: no null allowed and no default filled in by Salesforce
        is_required=createable
        and not field.get("nillable", True)
        and not field.get("defaultedOnCreate"),
        reference_to=tuple(str(r) for r in field.get("referenceTo") or []),
        values=values,
    )


def object_info(describe: dict[str, Any]) -> ObjectInfo:
    name = str(describe.get("name") or "")
    return ObjectInfo(
        name=name.lower(),
        display_name=str(describe.get("label") or name),
        fields=tuple(field_info(f) for f in describe.get("fields") or [] if isinstance(f, dict)),
    )
