"""Record planning: what is sent to the provider for one record, in the documented order:
typed defaults, writeOnCreate / writeOnUpdate, then the inherited mapping."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from writeback.control.config_content import WriteConfigObject
from writeback.writes.mapping import WriteMapping
from writeback.writes.validity import find_record_id

WriteType = Literal["create", "update", "delete"]


@dataclass
class PlannedRecord:
    record_id: str | None
    fields: dict[str, Any]  # provider field names
    if_empty: set[str] = field(default_factory=set)  # provider fields to write only if empty
    associations: list[dict[str, Any]] | None = None


def plan_record(
    record: dict[str, Any],
    write_type: WriteType,
    settings: WriteConfigObject | None,
    mapping: WriteMapping | None,
    associations: list[dict[str, Any]] | None = None,
) -> PlannedRecord:
    body = dict(record)
    record_id = None
    if write_type != "create":
        key, value = find_record_id(body)
        if key is not None:
            del body[key]
            record_id = str(value)
    if_empty: set[str] = set()
    if settings is not None and write_type != "delete":
        _apply_defaults(body, write_type, settings)
        if_empty = _apply_write_policies(body, write_type, settings)
    if mapping is not None:
        body = mapping.apply(body)
        if_empty = {p for f in if_empty if (p := mapping.provider_field(f)) is not None}
    return PlannedRecord(record_id, body, {f for f in if_empty if f in body}, associations)


def _apply_defaults(
    body: dict[str, Any], write_type: WriteType, settings: WriteConfigObject
) -> None:
    for name, setting in settings.selectedFieldSettings.items():
        if setting.default is not None and name not in body:
            body[name] = setting.default.value
    # legacy selectedValueDefaults: applyOnUpdate "never" keeps the default to creates
    for name, legacy in settings.selectedValueDefaults.items():
        if name not in body and (write_type == "create" or legacy.applyOnUpdate == "always"):
            body[name] = legacy.value


def _apply_write_policies(
    body: dict[str, Any], write_type: WriteType, settings: WriteConfigObject
) -> set[str]:
    """Drop fields the policies forbid; return the `ifEmpty` fields (request names)."""
    if_empty = set()
    for name, setting in settings.selectedFieldSettings.items():
        if name not in body:
            continue
        policy = setting.writeOnCreate if write_type == "create" else setting.writeOnUpdate
        if policy == "never":
            del body[name]
        elif policy == "ifEmpty":
            if_empty.add(name)
    return if_empty


def is_empty(value: Any) -> bool:
    """`ifEmpty`: unset or an empty string counts as empty."""
    return value is None or value == ""
