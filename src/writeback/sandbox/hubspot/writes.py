"""Record writes shared by the single-object and batch endpoints: validation, unique
values, inline associations, and the create/update steps themselves."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

from writeback.sandbox.http import HttpError
from writeback.sandbox.hubspot.assoc_types import CATEGORIES, AssocType
from writeback.sandbox.hubspot.errors import (
    PropertyProblem,
    api_error,
    invalid_json,
    item_error,
    missing_fields,
    property_errors,
)
from writeback.sandbox.hubspot.portal import Portal
from writeback.sandbox.hubspot.records import Record
from writeback.sandbox.hubspot.schema import ObjectType
from writeback.sandbox.hubspot.system import derive, stamp_new
from writeback.sandbox.hubspot.validation import check_properties

Claims = dict[tuple[str, str], str]  # (property, value) → id, for values taken earlier in a batch


@dataclass
class Failure:
    """Why one input could not be written: a whole-request error or one `errors[]` item."""

    status: int
    category: str
    message: str
    item_context: dict[str, list[str]] = field(default_factory=dict)
    whole_context: dict[str, list[str]] | None = None
    errors: list[dict[str, Any]] | None = None

    def whole(self) -> HttpError:
        return api_error(
            self.status, self.message, self.category, context=self.whole_context, errors=self.errors
        )

    def raise_whole(self) -> NoReturn:
        raise self.whole()

    def item(self, trace_id: str | None = None) -> dict[str, Any]:
        context = dict(self.item_context)
        if trace_id is not None:
            context = {"objectWriteTraceId": [trace_id], **context}
        return item_error(self.category, self.message, context)


def properties_of(
    portal: Portal, object_type: ObjectType, raw: Any, problems: list[PropertyProblem]
) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise invalid_json(
            "Cannot deserialize value of type `java.util.HashMap` from non-object value"
        )
    return check_properties(object_type, raw, problems)


def raise_problems(portal: Portal, problems: list[PropertyProblem]) -> None:
    if problems:
        raise property_errors(problems, portal.hub_id)


def conflict(
    portal: Portal, object_type: ObjectType, name: str, value: str, existing: str
) -> Failure:
    definition = object_type.properties[name]
    if definition.email or portal.settings.unique_value_conflict == "conflict":
        message = f"{object_type.label_singular} already exists. Existing ID: {existing}"
        return Failure(409, "CONFLICT", message, {"existingId": [existing]})
    message = (
        f"A {object_type.singular} with {name} {value} already exists. Existing ID: {existing}"
    )
    errors = [
        {
            "message": message,
            "code": "DUPLICATE_UNIQUE_PROPERTY_VALUE",
            "context": {"propertyName": [name]},
        }
    ]
    context = {"propertyName": [name], "existingId": [existing]}
    return Failure(400, "VALIDATION_ERROR", message, context, errors=errors)


def find_conflict(
    portal: Portal,
    object_type: ObjectType,
    props: dict[str, str],
    own_id: str | None = None,
    claims: Claims | None = None,
) -> Failure | None:
    """A unique value of `props` already held by another record (or earlier in the batch)."""
    for name in object_type.unique_props:
        value = props.get(name)
        if not value:
            continue
        holder = portal.store.find_unique(object_type.type_id, name, value)
        existing = holder.id if holder is not None and holder.id != own_id else None
        if existing is None and claims is not None:
            claimed = claims.get((name, value))
            existing = claimed if claimed != own_id else None
        if existing is not None:
            return conflict(portal, object_type, name, value, existing)
    return None


def claim(object_type: ObjectType, props: dict[str, str], record_id: str, claims: Claims) -> None:
    for name in object_type.unique_props:
        value = props.get(name)
        if value:
            claims[(name, value)] = record_id


def _invalid_associations(context: dict[str, list[str]]) -> Failure:
    return Failure(
        400, "VALIDATION_ERROR", "One or more associations are invalid", context, context
    )


def inline_associations(
    portal: Portal, object_type: ObjectType, raw: Any
) -> tuple[list[tuple[AssocType, str]], Failure | None]:
    """The `associations` of a create body, checked: (type, target id) pairs or a failure."""
    if not raw:
        return [], None
    if not isinstance(raw, list):
        raise invalid_json(
            "Cannot deserialize value of type `java.util.ArrayList` from non-array value"
        )
    pairs: list[tuple[AssocType, str]] = []
    for item in raw:
        if not isinstance(item, dict):
            raise invalid_json("Cannot deserialize association from non-object value")
        target = item.get("to")
        types = item.get("types")
        if not isinstance(target, dict) or target.get("id") in (None, ""):
            raise missing_fields(["to"])
        if not isinstance(types, list) or not types:
            raise missing_fields(["types"])
        to_id = str(target["id"])
        for spec in types:
            found = _association_type(portal, spec)
            if found is None or found.from_type != object_type.type_id:
                type_id = spec.get("associationTypeId") if isinstance(spec, dict) else spec
                return [], _invalid_associations(
                    {
                        "INVALID_ASSOCIATION_TYPES": [
                            f"{type_id} is not a valid association type from {object_type.upper}"
                        ]
                    }
                )
            if portal.store.get(found.to_type, to_id) is None:
                upper = portal.types.by_id[found.to_type].upper
                return [], _invalid_associations(
                    {
                        "INVALID_OBJECT_IDS": [f"{upper}={to_id} is not valid"],
                        "objectId": [to_id],
                        "objectType": [upper],
                    }
                )
            pairs.append((found, to_id))
    return pairs, None


def _association_type(portal: Portal, spec: Any) -> AssocType | None:
    if not isinstance(spec, dict):
        return None
    category = spec.get("associationCategory")
    try:
        type_id = int(spec.get("associationTypeId"))
    except (TypeError, ValueError):
        return None
    found = portal.assoc.get(type_id)
    if found is None or category not in CATEGORIES or found.category != category:
        return None
    return found


def create(
    portal: Portal,
    object_type: ObjectType,
    props: dict[str, str],
    now: str,
    associations: Sequence[tuple[AssocType, str]] = (),
    record_id: str | None = None,
) -> Record:
    record_id = record_id or portal.store.new_id()
    stamp_new(object_type, props, record_id, now, portal.app_id)
    record = Record(record_id, props, now)
    portal.store.insert(object_type.type_id, record, object_type.unique_props)
    for assoc, to_id in associations:
        portal.links.add(assoc, record_id, to_id)
    return record


def update(
    portal: Portal, object_type: ObjectType, record: Record, props: dict[str, str], now: str
) -> None:
    for name in object_type.unique_props:
        if name in props:
            portal.store.reindex(
                object_type.type_id, name, record.props.get(name), props[name], record.id
            )
    record.props.update(props)
    derive(object_type, record.props, props)
    record.props[object_type.modified_prop] = now
    record.updated = now


def archive(portal: Portal, object_type: ObjectType, record: Record, now: str) -> None:
    portal.store.unindex(object_type.type_id, record)
    portal.links.drop_record(object_type.type_id, record.id)
    record.archived = True
    record.archived_at = now
    record.updated = now


def lookup(
    portal: Portal, object_type: ObjectType, key: str, id_property: str | None
) -> Record | None:
    """The live record `key` names: its id, or a unique property value with idProperty."""
    if not id_property or id_property == "hs_object_id":
        return portal.store.get(object_type.type_id, key)
    definition = object_type.properties.get(id_property)
    if definition is None or not definition.unique:
        raise api_error(
            400,
            f"{id_property} is not a unique identifier property of {object_type.upper}"
            " (use hs_object_id or a property with hasUniqueValue=true)",
            "VALIDATION_ERROR",
        )
    return portal.store.find_unique(
        object_type.type_id, id_property, key.lower() if definition.email else key
    )
