"""CRM v3 batch endpoints: create, read, update, upsert, archive (100 inputs at most)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from writeback.sandbox.http import Request, Response, Router, empty_response, json_response
from writeback.sandbox.hubspot import paths, writes
from writeback.sandbox.hubspot.assoc_types import AssocType
from writeback.sandbox.hubspot.body import inputs_of, json_object, query_flag
from writeback.sandbox.hubspot.errors import (
    PropertyProblem,
    api_error,
    invalid_json,
    item_error,
    missing_fields,
)
from writeback.sandbox.hubspot.gate import Gate
from writeback.sandbox.hubspot.portal import Portal
from writeback.sandbox.hubspot.records import Record, render_read, render_written
from writeback.sandbox.hubspot.schema import ObjectType
from writeback.sandbox.hubspot.system import now_iso

MAX_INPUTS = 100


def batch_body(
    results: list[dict[str, Any]], errors: list[dict[str, Any]], started: str
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": started,
        "completedAt": now_iso(),
    }
    if errors:
        body["errors"] = errors
        body["numErrors"] = len(errors)
    return body


def checked_inputs(
    request: Request, allow_empty: bool = False
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    data = json_object(request)
    inputs = inputs_of(data)
    if len(inputs) > MAX_INPUTS:
        raise api_error(
            400,
            f"The maximum number of inputs supported in a batch request is {MAX_INPUTS}."
            " Please reduce the number of items and try again",
            "VALIDATION_ERROR",
        )
    if not inputs and not allow_empty:
        raise api_error(400, "At least one input is required.", "VALIDATION_ERROR")
    if not all(isinstance(item, dict) for item in inputs):
        raise invalid_json("Cannot deserialize batch input from non-object value")
    return data, inputs


def trace_of(item: dict[str, Any]) -> str | None:
    trace = item.get("objectWriteTraceId")
    return None if trace is None else str(trace)


def reject_duplicates(keys: list[str]) -> None:
    counts = Counter(keys)
    unique = sorted(k for k, n in counts.items() if n > 1)
    if unique:
        raise api_error(
            400,
            f"Duplicate IDs found in batch input: [{', '.join(unique)}]. IDs must be unique",
            "VALIDATION_ERROR",
            context={"ids": unique},
        )


def not_found_error(object_type: ObjectType, ids: list[str]) -> dict[str, Any]:
    return item_error(
        "OBJECT_NOT_FOUND",
        f"Could not get some {object_type.upper} objects, they may be deleted or not exist."
        " Check that ids are valid.",
        {"ids": ids},
    )


def written(
    portal: Portal, object_type: ObjectType, record: Record, trace: str | None
) -> dict[str, Any]:
    body = render_written(portal.hub_id, object_type, record)
    if trace is not None:
        body["objectWriteTraceId"] = trace
    return body


def all_properties(
    portal: Portal, object_type: ObjectType, inputs: list[dict[str, Any]], require: bool = False
) -> list[dict[str, str]]:
    """Every input's properties, validated together: any bad one fails the whole request."""
    problems: list[PropertyProblem] = []
    out = []
    for item in inputs:
        raw = item.get("properties")
        if require and not raw:
            raise api_error(
                400,
                "No properties found to update, please provide at least one.",
                "VALIDATION_ERROR",
            )
        out.append(writes.properties_of(portal, object_type, raw, problems))
    writes.raise_problems(portal, problems)
    return out


def register(router: Router, gate: Gate) -> None:
    @gate("batch.create")
    async def create(request: Request, portal: Portal) -> Response:
        started = now_iso()
        object_type = paths.object_type(portal, request.params["objectType"])
        _, inputs = checked_inputs(request)
        props_list = all_properties(portal, object_type, inputs)
        traces = [trace_of(item) for item in inputs]
        mode = portal.settings.batch_create_conflict
        per_item = mode == "per_item" or (mode == "auto" and None not in traces)
        claims: writes.Claims = {}
        accepted: list[tuple[str, dict[str, str], list[tuple[AssocType, str]], str | None]] = []
        errors: list[dict[str, Any]] = []
        for item, props, trace in zip(inputs, props_list, traces, strict=True):
            pairs, failure = writes.inline_associations(
                portal, object_type, item.get("associations")
            )
            failure = failure or writes.find_conflict(portal, object_type, props, claims=claims)
            if failure is not None:
                if not per_item:
                    failure.raise_whole()  # nothing is written, as on HubSpot
                errors.append(failure.item(trace))
                continue
            record_id = portal.store.new_id()
            writes.claim(object_type, props, record_id, claims)
            accepted.append((record_id, props, pairs, trace))
        now = now_iso()
        results = [
            written(
                portal,
                object_type,
                writes.create(portal, object_type, props, now, pairs, rid),
                trace,
            )
            for rid, props, pairs, trace in accepted
        ]
        return json_response(207 if errors else 201, batch_body(results, errors, started))

    @gate("batch.read")
    async def read(request: Request, portal: Portal) -> Response:
        started = now_iso()
        object_type = paths.object_type(portal, request.params["objectType"])
        data, inputs = checked_inputs(request)
        names = data.get("properties") or []
        id_property = data.get("idProperty")
        archived = query_flag(request, "archived")
        results, missing = [], []
        for item in inputs:
            key = str(item.get("id", ""))
            if archived:
                record = portal.store.get(object_type.type_id, key, archived=True)
            else:
                record = writes.lookup(portal, object_type, key, id_property)
            if record is None:
                missing.append(key)
            else:
                results.append(render_read(portal.hub_id, object_type, record, names))
        errors = [not_found_error(object_type, missing)] if missing else []
        return json_response(207 if errors else 200, batch_body(results, errors, started))

    @gate("batch.update")
    async def update(request: Request, portal: Portal) -> Response:
        started = now_iso()
        object_type = paths.object_type(portal, request.params["objectType"])
        _, inputs = checked_inputs(request)
        if any(item.get("id") in (None, "") for item in inputs):
            raise missing_fields(["id"])
        reject_duplicates([str(item["id"]) for item in inputs])
        props_list = all_properties(portal, object_type, inputs, require=True)
        results, errors, missing = [], [], []
        now = now_iso()
        for item, props in zip(inputs, props_list, strict=True):
            key, trace = str(item["id"]), trace_of(item)
            record = writes.lookup(portal, object_type, key, item.get("idProperty"))
            if record is None:
                missing.append(key)
                continue
            failure = writes.find_conflict(portal, object_type, props, own_id=record.id)
            if failure is not None:
                failure.item_context = {"ids": [key], **failure.item_context}
                errors.append(failure.item(trace))
                continue
            writes.update(portal, object_type, record, props, now)
            results.append(written(portal, object_type, record, trace))
        if missing:
            errors.insert(0, not_found_error(object_type, missing))
        return json_response(207 if errors else 200, batch_body(results, errors, started))

    @gate("batch.upsert")
    async def upsert(request: Request, portal: Portal) -> Response:
        started = now_iso()
        object_type = paths.object_type(portal, request.params["objectType"])
        _, inputs = checked_inputs(request)
        if any(not item.get("idProperty") for item in inputs):
            raise missing_fields(["idProperty"])
        if any(item.get("id") in (None, "") for item in inputs):
            raise missing_fields(["id"])
        reject_duplicates([str(item["id"]) for item in inputs])
        props_list = all_properties(portal, object_type, inputs)
        results, errors = [], []
        claims: writes.Claims = {}
        now = now_iso()
        for item, props in zip(inputs, props_list, strict=True):
            key, id_property, trace = str(item["id"]), item["idProperty"], trace_of(item)
            record = writes.lookup(portal, object_type, key, id_property)
            if record is None and id_property == "hs_object_id":
                errors.append(not_found_error(object_type, [key]))
                continue
            if record is None:
                problems: list[PropertyProblem] = []
                keyed = writes.properties_of(portal, object_type, {id_property: key}, problems)
                if problems:
                    context = {"propertyName": [id_property]}
                    errors.append(item_error("VALIDATION_ERROR", problems[0].message, context))
                    continue
                props = {**props, **keyed}
            failure = writes.find_conflict(
                portal, object_type, props, own_id=record.id if record else None, claims=claims
            )
            if failure is not None:
                errors.append(failure.item(trace))
                continue
            if record is None:
                record = writes.create(portal, object_type, props, now)
                writes.claim(object_type, props, record.id, claims)
                created = True
            else:
                writes.update(portal, object_type, record, props, now)
                created = False
            body = written(portal, object_type, record, trace)
            body["new"] = created
            results.append(body)
        return json_response(207 if errors else 200, batch_body(results, errors, started))

    @gate("batch.archive")
    async def archive(request: Request, portal: Portal) -> Response:
        object_type = paths.object_type(portal, request.params["objectType"])
        _, inputs = checked_inputs(request)
        now = now_iso()
        for item in inputs:
            record = portal.store.get(object_type.type_id, str(item.get("id", "")))
            if record is not None:
                writes.archive(portal, object_type, record, now)
        return empty_response(204)

    for prefix in paths.OBJECTS:
        base = prefix + "/{objectType}/batch/"
        router.add("POST", base + "create", create)
        router.add("POST", base + "read", read)
        router.add("POST", base + "update", update)
        router.add("POST", base + "upsert", upsert)
        router.add("POST", base + "archive", archive)
