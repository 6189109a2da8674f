"""sObject Collections (§A5): create, update, delete, retrieve and upsert up to 200 records.

A well-formed request answers 200 with one result per record, in request order. With
allOrNone every record is still tried (so each failure reports its own error), then all
writes are rolled back and the others report ALL_OR_NONE_OPERATION_ROLLED_BACK.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import orjson

from writeback.sandbox.http import Response, json_response
from writeback.sandbox.salesforce import ids, saving
from writeback.sandbox.salesforce.body import expect_object, load_json, record_values
from writeback.sandbox.salesforce.errors import (
    Problem,
    SfError,
    entity_is_deleted,
    invalid_type,
    json_parser_error,
    wrong_type_id,
)
from writeback.sandbox.salesforce.lookup import external_field, field_list
from writeback.sandbox.salesforce.pipeline import Call
from writeback.sandbox.salesforce.records import render
from writeback.sandbox.salesforce.schema import SCHEMA, SObject
from writeback.sandbox.salesforce.upsert import MultipleMatches, upsert_one

ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was using"
    " AllOrNone header",
    "fields": [],
}
MAX_RETRIEVE_IDS = 2000

# One record's outcome: (id, created) on success, or the problems that failed it.
Outcome = tuple[str, bool | None] | list[Problem]


def _bad_request(code: str, message: str) -> SfError:
    return SfError(400, Problem(code, message))


def _too_many(limit: int) -> SfError:
    return _bad_request(
        "EXCEEDED_ID_LIMIT",
        f"record limit reached. cannot submit more than {limit} records into this call",
    )


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def _records_body(call: Call) -> tuple[list[Any], bool]:
    body = expect_object(load_json(call.request.body), "SObjectCollection")
    records = body.get("records")
    if records is None or records == []:
        raise _bad_request("REQUIRED_FIELD_MISSING", "At least 1 record is required")
    if not isinstance(records, list):
        raise json_parser_error(
            "Cannot deserialize instance of List from non-array value or request may be missing"
            " a required field at [line:1, column:1]"
        )
    limit = int(call.tenant.settings["collectionsMaxRecords"])
    if len(records) > limit:
        raise _too_many(limit)
    return records, _flag(body.get("allOrNone", False))


def _record_type(record: Any, default: SObject | None = None) -> SObject:
    if not isinstance(record, dict):
        raise expect_object(record, "SObject")
    attributes = record.get("attributes")
    type_name = attributes.get("type") if isinstance(attributes, dict) else None
    if not type_name:
        if default is not None:
            return default
        raise SfError(400, Problem("INVALID_TYPE", "Must send a concrete entity type.", []))
    sobject = SCHEMA.get(type_name)
    if sobject is None:
        raise SfError(400, invalid_type(type_name))
    return sobject


def _run(
    call: Call, items: list[Any], all_or_none: bool, one: Callable[[Any], tuple[str, bool | None]]
) -> Response:
    outcomes: list[Outcome] = []
    org = call.org
    with org.journal() as entries:
        for item in items:
            try:
                outcomes.append(one(item))
            except SfError as exc:
                if exc.problems and exc.problems[0].code == "JSON_PARSER_ERROR":
                    # The body does not deserialize: Salesforce fails the whole request
                    # before saving anything.
                    org.rollback(entries)
                    raise
                outcomes.append(exc.problems)
        failed = any(isinstance(o, list) for o in outcomes)
        if failed and all_or_none:
            org.rollback(entries)
    results: list[dict[str, Any]] = []
    for outcome in outcomes:
        if isinstance(outcome, list):
            errors = [p.in_collection() for p in outcome]
            results.append({"success": False, "errors": errors})
        elif failed and all_or_none:
            results.append({"success": False, "errors": [ROLLED_BACK]})
        else:
            record_id, created = outcome
            result: dict[str, Any] = {"id": record_id, "success": True, "errors": []}
            if created is not None:
                result["created"] = created
            results.append(result)
    status = 200
    if failed and all_or_none:
        status = int(call.tenant.settings["allOrNoneFailureStatus"])
    return Response(status, orjson.dumps(results))


def create(call: Call) -> Response:
    records, all_or_none = _records_body(call)
    raw, version, allow = call.request.body, call.version, call.allow_duplicate_save()

    def one(record: Any) -> tuple[str, bool | None]:
        sobject = _record_type(record)
        values = record_values(sobject, record, raw, creating=True)
        return saving.create(call.org, sobject, values, version=version, allow_save=allow), None

    return _run(call, records, all_or_none, one)


def _target_id(sobject: SObject, value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    canonical = ids.normalize(text)
    if canonical is None:
        raise SfError(400, Problem("MALFORMED_ID", f"malformed id {text}", []))
    if canonical[:3] != sobject.key_prefix:
        raise SfError(400, wrong_type_id(sobject.label, text))
    return canonical


def update(call: Call) -> Response:
    records, all_or_none = _records_body(call)
    raw, version, allow = call.request.body, call.version, call.allow_duplicate_save()

    def one(record: Any) -> tuple[str, bool | None]:
        sobject = _record_type(record)
        given = next((v for k, v in record.items() if k.lower() == "id"), None)
        if given is None:
            raise SfError(
                400, Problem("MISSING_ARGUMENT", "Id not specified in an update call", [])
            )
        canonical = _target_id(sobject, given)
        target = call.org.live(sobject, canonical)
        if target is None:
            # The SOAP-style save behind collections reports unknown ids as deleted.
            raise SfError(400, entity_is_deleted())
        values = record_values(sobject, record, raw, creating=False, skip=frozenset({"id"}))
        saving.update(call.org, sobject, target, values, version=version, allow_save=allow)
        return canonical, None

    return _run(call, records, all_or_none, one)


def _id_list(call: Call, limit: int) -> list[str]:
    raw = call.arg("ids")
    if not raw:
        raise _bad_request("MISSING_ARGUMENT", "ids parameter is required")
    found = [part.strip() for part in raw.split(",") if part.strip()]
    if len(found) > limit:
        raise _too_many(limit)
    return found


def delete(call: Call) -> Response:
    requested = _id_list(call, int(call.tenant.settings["collectionsMaxRecords"]))
    all_or_none = _flag(call.arg("allOrNone") or "false")

    def one(given: str) -> tuple[str, bool | None]:
        canonical = ids.normalize(given)
        if canonical is None:
            raise SfError(400, Problem("MALFORMED_ID", f"malformed id {given}", []))
        sobject = SCHEMA.for_id(canonical)
        if sobject is None or call.org.live(sobject, canonical) is None:
            raise SfError(400, entity_is_deleted())
        saving.delete(call.org, sobject, canonical)
        return canonical, None

    return _run(call, requested, all_or_none, one)


def retrieve(call: Call) -> Response:
    sobject = call.sobject(call.params["object"])
    if call.request.method == "POST":
        body = expect_object(load_json(call.request.body), "SObjectCollectionRetrieve")
        wanted = [str(i) for i in body.get("ids") or []]
        names = body.get("fields")
        fields_arg = ",".join(names) if isinstance(names, list) else None
    else:
        wanted = _id_list(call, MAX_RETRIEVE_IDS)
        fields_arg = call.arg("fields")
    if not wanted:
        raise _bad_request("MISSING_ARGUMENT", "ids parameter is required")
    if len(wanted) > MAX_RETRIEVE_IDS:
        raise _too_many(MAX_RETRIEVE_IDS)
    if not fields_arg:
        raise _bad_request("MISSING_ARGUMENT", "fields parameter is required")
    only = field_list(sobject, fields_arg)
    out: list[dict[str, Any] | None] = []
    for given in wanted:
        canonical = ids.normalize(given)
        if canonical is None:
            raise _bad_request("MALFORMED_ID", f"malformed id {given}")
        record = call.org.live(sobject, canonical) if canonical[:3] == sobject.key_prefix else None
        out.append(render(sobject, record, call.version, only) if record else None)
    return json_response(200, out)


def upsert(call: Call) -> Response:
    sobject = call.sobject(call.params["object"])
    field = external_field(sobject, call.params["field"])
    records, all_or_none = _records_body(call)
    raw, version, allow = call.request.body, call.version, call.allow_duplicate_save()

    def value_of(record: Any) -> Any:
        if not isinstance(record, dict):
            return None
        return next((v for k, v in record.items() if k.lower() == field.name.lower()), None)

    # The same external id twice in one request is refused for every record carrying it.
    seen = Counter(str(v).lower() for v in map(value_of, records) if v is not None)

    def one(record: Any) -> tuple[str, bool | None]:
        record_sobject = _record_type(record, sobject)
        if record_sobject is not sobject:
            raise SfError(400, invalid_type(record_sobject.name))
        value = value_of(record)
        if value is None or value == "":
            raise SfError(400, Problem("MISSING_ARGUMENT", f"{field.name} not specified", []))
        text = str(value)
        if seen[text.lower()] > 1:
            raise SfError(
                400,
                Problem("DUPLICATE_EXTERNAL_ID", f"Duplicate external id specified: {text}", []),
            )
        try:
            return upsert_one(
                call.org, sobject, field, text, record, raw, version=version, allow_save=allow
            )
        except MultipleMatches as exc:
            raise SfError(
                400,
                Problem(
                    "DUPLICATE_EXTERNAL_ID",
                    f"{field.name}: more than one record found for external id field:"
                    f" [{', '.join(exc.ids)}]",
                    [],
                ),
            ) from None

    return _run(call, records, all_or_none, one)
