"""Saving records: required fields, lookups, unique fields, duplicate rules, system fields.

`values` come from body.record_values (already typed and checked field by field); this
module applies the rules that need the rest of the org.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from writeback.sandbox.salesforce.duplicates import duplicates_detected
from writeback.sandbox.salesforce.errors import Problem, SfError, entity_is_deleted
from writeback.sandbox.salesforce.org import Org, Record
from writeback.sandbox.salesforce.schema import SObject
from writeback.sandbox.salesforce.validation import format_datetime

CLOSED_STAGES = {"Closed Won": True, "Closed Lost": False}


def now_text() -> str:
    return format_datetime(datetime.now(UTC))


def _missing(names: list[str]) -> SfError:
    return SfError(
        400,
        Problem(
            "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(names)}]", names
        ),
    )


def _check_references(org: Org, sobject: SObject, values: dict[str, Any]) -> None:
    problems = []
    for field in sobject.references:
        value = values.get(field.name)
        if value is None:
            continue
        state = org.exists(field.reference_to[0], value)
        if state is None:
            problems.append(
                Problem("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [field.name])
            )
        elif state is False:
            problems.append(entity_is_deleted([field.name]))
    if problems:
        raise SfError(400, *problems)


def _check_unique(org: Org, sobject: SObject, values: dict[str, Any], self_id: str | None) -> None:
    for field in sobject.unique:
        value = values.get(field.name)
        if value is None:
            continue
        others = org.matching(sobject, field.name, value) - {self_id}
        if others:
            raise SfError(
                400,
                Problem(
                    "DUPLICATE_VALUE",
                    f"duplicate value found: {field.name} duplicates value on record with id:"
                    f" {min(others)[:15]}",
                ),
            )


def _check_duplicate_rules(
    org: Org,
    sobject: SObject,
    record: Record,
    changed: dict[str, Any] | None,
    version: str,
    allow_save: bool,
) -> None:
    """`changed`: the values of an update, which re-runs the rule only when it touches the
    rule's fields (a simplification: the real rule runs on every edit)."""
    rules = org.tenant.settings.get("duplicateRules") or {}
    names = rules.get(sobject.name)
    if not names:
        return
    if changed is not None and not any(
        (f := sobject.field(n)) is not None and f.name in changed for n in names
    ):
        return
    rule_allows_save = bool(org.tenant.settings.get("duplicateRuleAllowSave", True))
    if allow_save and rule_allows_save:
        return
    matches: set[str] | None = None
    for name in names:
        field = sobject.field(name)
        value = record.get(field.name) if field else None
        if value is None:
            return  # a rule matches only on records that have every field of it
        found = org.matching(sobject, field.name, value)
        matches = set(found) if matches is None else matches & found
        if not matches:
            return
    matches = (matches or set()) - {record["Id"]}
    if matches:
        raise duplicates_detected(sobject, sorted(matches), version, rule_allows_save)


def _derive(sobject: SObject, record: Record) -> None:
    if sobject.has_compound_name:
        parts = (record.get("FirstName"), record.get("LastName"))
        record["Name"] = " ".join(p for p in parts if p) or None
    if sobject.name == "Opportunity":
        won = CLOSED_STAGES.get(record.get("StageName") or "")
        record["IsClosed"] = won is not None
        record["IsWon"] = bool(won)


def create(
    org: Org, sobject: SObject, values: dict[str, Any], *, version: str, allow_save: bool
) -> str:
    missing = [f.name for f in sobject.required if values.get(f.name) is None]
    if missing:
        raise _missing(missing)
    _check_references(org, sobject, values)
    _check_unique(org, sobject, values, None)
    record_id = org.new_id(sobject)
    now, user = now_text(), org.user_id
    record: Record = {
        "Id": record_id,
        "IsDeleted": False,
        "CreatedDate": now,
        "CreatedById": user,
        "LastModifiedDate": now,
        "LastModifiedById": user,
        "SystemModstamp": now,
        **sobject.defaults,
    }
    if sobject.has_owner:
        record["OwnerId"] = user
    for name, value in values.items():
        if value is not None:
            record[name] = value
    if sobject.custom and record.get("Name") is None:
        record["Name"] = record_id  # what Salesforce does with an empty custom-object Name
    _derive(sobject, record)
    _check_duplicate_rules(org, sobject, record, None, version, allow_save)
    org.put(sobject, record)
    return record_id


def update(
    org: Org,
    sobject: SObject,
    existing: Record,
    values: dict[str, Any],
    *,
    version: str,
    allow_save: bool,
) -> None:
    missing = [f.name for f in sobject.not_nillable if f.name in values and values[f.name] is None]
    if missing:
        raise _missing(missing)
    _check_references(org, sobject, values)
    record_id = existing["Id"]
    _check_unique(org, sobject, values, record_id)
    now = now_text()
    record = {**existing, **values}
    record["LastModifiedDate"] = record["SystemModstamp"] = now
    record["LastModifiedById"] = org.user_id
    _derive(sobject, record)
    _check_duplicate_rules(org, sobject, record, values, version, allow_save)
    org.put(sobject, record)


def delete(org: Org, sobject: SObject, record_id: str) -> None:
    org.recycle(sobject, record_id)
