"""HubSpot's property definitions of an object (CRM v3 Properties API) as object metadata."""

from __future__ import annotations

from typing import Any

from writeback.connectors.metadata import FieldInfo, FieldValue, ObjectInfo, ValueType

VALUE_TYPES: dict[str, ValueType] = {
    "string": "string",
    "phone_number": "string",
    "bool": "boolean",
    "number": "float",
    "date": "date",
    "datetime": "datetime",
    "object_coordinates": "other",
}


def _value_type(prop: dict[str, Any]) -> ValueType:
    kind = str(prop.get("type") or "")
    if kind == "enumeration":
        field_type = prop.get("fieldType")
        if field_type == "booleancheckbox":
            return "boolean"
        return "multiSelect" if field_type == "checkbox" else "singleSelect"
    return VALUE_TYPES.get(kind, "other")


def field_info(prop: dict[str, Any]) -> FieldInfo:
    name = str(prop.get("name") or "")
    modification = prop.get("modificationMetadata") or {}
    values = None
    if prop.get("type") == "enumeration":
        values = tuple(
            FieldValue(str(o.get("value")), str(o.get("label") or o.get("value")))
            for o in prop.get("options") or []
            if isinstance(o, dict) and not o.get("hidden")
        )
    reference = prop.get("referencedObjectType")
    return FieldInfo(
        name=name,
        display_name=str(prop.get("label") or name),
        value_type=_value_type(prop),
        provider_type=str(prop.get("type") or ""),
        read_only=bool(modification.get("readOnlyValue") or prop.get("calculated")),
        is_custom=not prop.get("hubspotDefined"),
        is_required=False,  # the Properties API does not say; HubSpot requires no property
        reference_to=(str(reference),) if reference else (),
        values=values,
    )


def object_info(object_name: str, body: Any) -> ObjectInfo:
    results = body.get("results") if isinstance(body, dict) else None
    return ObjectInfo(
        name=object_name,
        # the Properties API names no label for the object itself
        display_name=object_name[:1].upper() + object_name[1:],
        fields=tuple(field_info(p) for p in results or [] if isinstance(p, dict)),
    )
