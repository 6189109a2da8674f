"""Single-record sObject endpoints (§A4): create, get, update, delete, and by external id."""

from __future__ import annotations

import orjson

from writeback.sandbox.http import Response, empty_response, json_response
from writeback.sandbox.salesforce import saving
from writeback.sandbox.salesforce.body import expect_object, load_json, not_writable, record_values
from writeback.sandbox.salesforce.errors import not_found
from writeback.sandbox.salesforce.lookup import existing, external_field, field_list, record_id
from writeback.sandbox.salesforce.pipeline import Call
from writeback.sandbox.salesforce.records import record_url, render
from writeback.sandbox.salesforce.schema import SObject
from writeback.sandbox.salesforce.upsert import MultipleMatches, upsert_one

UPSERT_BODY_SINCE = 46.0  # upsert answers carry "created" and an update answers 200 from here


def _id_of(call: Call, sobject: SObject) -> str:
    return record_id(sobject, call.params["id"], call.tenant.settings["wrongTypeIdOnUpdate"])


def create(call: Call) -> Response:
    sobject = call.sobject(call.params["object"])
    raw = call.request.body
    body = expect_object(load_json(raw), sobject.name)
    values = record_values(sobject, body, raw, creating=True)
    new_id = saving.create(
        call.org, sobject, values, version=call.version, allow_save=call.allow_duplicate_save()
    )
    # Hand-built: this is the hot path of every benchmark.
    return Response(201, b'{"id":"' + new_id.encode() + b'","success":true,"errors":[]}')


def get(call: Call) -> Response:
    sobject = call.sobject(call.params["object"])
    record = existing(call.org, sobject, _id_of(call, sobject))
    only = field_list(sobject, call.arg("fields"))
    return json_response(200, render(sobject, record, call.version, only))


def update(call: Call) -> Response:
    sobject = call.sobject(call.params["object"])
    raw = call.request.body
    body = expect_object(load_json(raw), sobject.name)
    canonical = _id_of(call, sobject)
    record = existing(call.org, sobject, canonical)
    for key, value in body.items():
        # An Id in the body is harmless when it names the same record.
        if key.lower() == "id" and record_id(sobject, str(value), "MALFORMED_ID") != canonical:
            raise not_writable(["Id"], creating=False)
    values = record_values(sobject, body, raw, creating=False, skip=frozenset({"id"}))
    saving.update(
        call.org,
        sobject,
        record,
        values,
        version=call.version,
        allow_save=call.allow_duplicate_save(),
    )
    return empty_response(204)


def delete(call: Call) -> Response:
    sobject = call.sobject(call.params["object"])
    canonical = _id_of(call, sobject)
    existing(call.org, sobject, canonical)
    saving.delete(call.org, sobject, canonical)
    return empty_response(204)


def _multiple(call: Call, sobject: SObject, found: list[str]) -> Response:
    return json_response(300, [record_url(sobject, i, call.version) for i in found])


def _by_external_id(call: Call, sobject: SObject) -> str:
    field = external_field(sobject, call.params["field"])
    value = call.params["value"]
    if field.name == "Id":
        return record_id(sobject, value, "MALFORMED_ID")
    found = sorted(call.org.matching(sobject, field.name, value))
    if not found:
        raise not_found()
    if len(found) > 1:
        raise MultipleMatches(found)
    return found[0]


def get_by_external_id(call: Call) -> Response:
    sobject = call.sobject(call.params["object"])
    try:
        canonical = _by_external_id(call, sobject)
    except MultipleMatches as exc:
        return _multiple(call, sobject, exc.ids)
    record = existing(call.org, sobject, canonical)
    only = field_list(sobject, call.arg("fields"))
    return json_response(200, render(sobject, record, call.version, only))


def delete_by_external_id(call: Call) -> Response:
    sobject = call.sobject(call.params["object"])
    try:
        canonical = _by_external_id(call, sobject)
    except MultipleMatches as exc:
        return _multiple(call, sobject, exc.ids)
    existing(call.org, sobject, canonical)
    saving.delete(call.org, sobject, canonical)
    return empty_response(204)


def upsert(call: Call) -> Response:
    sobject = call.sobject(call.params["object"])
    field = external_field(sobject, call.params["field"])
    raw = call.request.body
    body = expect_object(load_json(raw), sobject.name)
    try:
        new_id, created = upsert_one(
            call.org,
            sobject,
            field,
            call.params["value"],
            body,
            raw,
            version=call.version,
            allow_save=call.allow_duplicate_save(),
            update_only=(call.arg("updateOnly") or "").lower() == "true",
        )
    except MultipleMatches as exc:
        return _multiple(call, sobject, exc.ids)
    result: dict[str, object] = {"id": new_id, "success": True, "errors": []}
    if call.version_number >= UPSERT_BODY_SINCE:
        result["created"] = created
        return Response(201 if created else 200, orjson.dumps(result))
    return Response(201, orjson.dumps(result)) if created else empty_response(204)
