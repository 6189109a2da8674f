"""Finding records from URL segments: ids, external-id fields, `?fields=` lists."""

from __future__ import annotations

from writeback.sandbox.salesforce import ids
from writeback.sandbox.salesforce.errors import (
    SfError,
    entity_is_deleted,
    no_external_id_field,
    no_such_column,
    not_found,
    wrong_type_id,
)
from writeback.sandbox.salesforce.fields import Field
from writeback.sandbox.salesforce.org import Org, Record
from writeback.sandbox.salesforce.schema import SObject


def record_id(sobject: SObject, segment: str, wrong_type: str) -> str:
    """The canonical id in /sobjects/{obj}/{segment}.

    A segment that is not id-shaped is read as an external-id field name, as Salesforce
    does; an id of another object answers per the `wrongTypeIdOnUpdate` setting.
    """
    if not ids.looks_like_id(segment):
        raise no_external_id_field(segment)
    canonical = ids.normalize(segment)
    if canonical is None:
        raise SfError(400, wrong_type_id(sobject.label, segment))
    if canonical[:3] != sobject.key_prefix:
        if wrong_type == "NOT_FOUND":
            raise no_external_id_field(segment)
        raise SfError(400, wrong_type_id(sobject.label, segment))
    return canonical


def existing(org: Org, sobject: SObject, canonical: str) -> Record:
    record = org.live(sobject, canonical)
    if record is not None:
        return record
    if org.recycled(sobject, canonical) is not None:
        raise SfError(404, entity_is_deleted())
    raise not_found()


def external_field(sobject: SObject, segment: str) -> Field:
    """The field of an upsert/lookup URL: an external-id field, or Id."""
    field = sobject.field(segment)
    if field is None or not (field.external_id or field.name == "Id"):
        raise no_external_id_field(segment)
    return field


def field_list(sobject: SObject, raw: str | None) -> list[str] | None:
    """Canonical names from `?fields=A,b,C`; None when the parameter is absent."""
    if raw is None:
        return None
    names = []
    for part in raw.split(","):
        name = part.strip()
        if not name:
            continue
        field = sobject.field(name)
        if field is None:
            raise SfError(400, no_such_column(name, sobject.name))
        names.append(field.name)
    return names
