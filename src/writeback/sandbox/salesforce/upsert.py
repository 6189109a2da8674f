"""Upsert by external id, shared by the single-record URL and sObject Collections."""

from __future__ import annotations

from typing import Any

from writeback.sandbox.salesforce import saving
from writeback.sandbox.salesforce.body import record_values
from writeback.sandbox.salesforce.errors import SfError, not_found
from writeback.sandbox.salesforce.fields import Field
from writeback.sandbox.salesforce.lookup import existing, record_id
from writeback.sandbox.salesforce.org import Org
from writeback.sandbox.salesforce.schema import SObject
from writeback.sandbox.salesforce.validation import ValueProblem


class MultipleMatches(Exception):
    def __init__(self, ids: list[str]) -> None:
        super().__init__(ids)
        self.ids = ids


def upsert_one(
    org: Org,
    sobject: SObject,
    field: Field,
    value: str,
    body: dict[str, Any],
    raw: bytes | None,
    *,
    version: str,
    allow_save: bool,
    update_only: bool = False,
) -> tuple[str, bool]:
    """(record id, created). The URL's value wins over the same field in the body."""
    skip = frozenset({field.name.lower(), "id"})
    if field.name == "Id":
        target = existing(org, sobject, record_id(sobject, value, "MALFORMED_ID"))
        values = record_values(sobject, body, raw, creating=False, skip=skip)
        saving.update(org, sobject, target, values, version=version, allow_save=allow_save)
        return target["Id"], False
    matches = org.matching(sobject, field.name, value)
    if len(matches) > 1:
        raise MultipleMatches(sorted(matches))
    if matches:
        target = org.records[sobject.name][next(iter(matches))]
        values = record_values(sobject, body, raw, creating=False, skip=skip)
        saving.update(org, sobject, target, values, version=version, allow_save=allow_save)
        return target["Id"], False
    if update_only:
        raise not_found()
    values = record_values(sobject, body, raw, creating=True, skip=skip)
    try:
        values[field.name] = sobject.parsers[field.name](value)
    except ValueProblem as exc:
        raise SfError(400, exc.problem) from None
    created = saving.create(org, sobject, values, version=version, allow_save=allow_save)
    return created, True
