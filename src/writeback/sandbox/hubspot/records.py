"""A stored CRM record and its JSON forms (SimplePublicObject and friends)."""

from __future__ import annotations

from typing import Any

from writeback.sandbox.hubspot.schema import ObjectType


class Record:
    __slots__ = ("archived", "archived_at", "created", "id", "props", "updated")

    def __init__(self, record_id: str, props: dict[str, str], created: str) -> None:
        self.id = record_id
        self.props = props
        self.created = created
        self.updated = created
        self.archived = False
        self.archived_at: str | None = None

    def to_state(self) -> list[Any]:
        return [self.id, self.props, self.created, self.updated, self.archived, self.archived_at]

    @classmethod
    def from_state(cls, data: list[Any]) -> Record:
        record = cls(data[0], data[1], data[2])
        record.updated, record.archived, record.archived_at = data[3], data[4], data[5]
        return record


def _envelope(
    hub_id: int, object_type: ObjectType, record: Record, props: dict[str, str | None]
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": record.id,
        "properties": props,
        "createdAt": record.created,
        "updatedAt": record.updated,
        "archived": record.archived,
    }
    if record.archived:
        body["archivedAt"] = record.archived_at
    body["url"] = (
        f"https://app.hubspot.com/contacts/{hub_id}/record/{object_type.type_id}/{record.id}"
    )
    return body


def render_written(hub_id: int, object_type: ObjectType, record: Record) -> dict[str, Any]:
    """Create/update answers: every stored property (what was sent plus system ones)."""
    return _envelope(hub_id, object_type, record, record.props)


def render_read(
    hub_id: int, object_type: ObjectType, record: Record, names: list[str] | None
) -> dict[str, Any]:
    """Read answers: the type's default set, or the asked-for known properties (null if unset)."""
    wanted = names if names else object_type.default_props
    known = object_type.properties
    props = {name: record.props.get(name) for name in wanted if name in known}
    for always in ("hs_object_id", object_type.created_prop, object_type.modified_prop):
        props.setdefault(always, record.props.get(always))
    return _envelope(hub_id, object_type, record, props)


def admin_view(record: Record) -> dict[str, Any]:
    return {
        "id": record.id,
        "properties": record.props,
        "createdAt": record.created,
        "updatedAt": record.updated,
        "archived": record.archived,
        "archivedAt": record.archived_at,
    }
