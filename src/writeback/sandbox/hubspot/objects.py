"""CRM v3 single-object endpoints: create, read, list, update, archive."""

from __future__ import annotations

from typing import Any

from writeback.sandbox.http import Request, Response, Router, empty_response, json_response
from writeback.sandbox.hubspot import paths, writes
from writeback.sandbox.hubspot.body import json_object, query_flag, query_list
from writeback.sandbox.hubspot.errors import PropertyProblem, api_error, error_body, error_response
from writeback.sandbox.hubspot.gate import Gate
from writeback.sandbox.hubspot.portal import Portal
from writeback.sandbox.hubspot.records import Record, render_read, render_written
from writeback.sandbox.hubspot.schema import ObjectType
from writeback.sandbox.hubspot.system import now_iso

MAX_PAGE = 100


def not_found(portal: Portal) -> Response:
    if portal.settings.not_found_body == "empty":
        return empty_response(404)
    return error_response(404, error_body("resource not found", "OBJECT_NOT_FOUND"))


def v3_associations(
    portal: Portal, object_type: ObjectType, record: Record, wanted: list[str]
) -> dict[str, Any]:
    """`associations` of a v3 read: {"companies": {"results": [{"id", "type"}]}}."""
    out: dict[str, Any] = {}
    for name in wanted:
        to_type = portal.types.resolve(name)
        if to_type is None:
            continue
        results = [
            {"id": to_id, "type": portal.assoc.by_id[type_id].v3_name}
            for to_id, kinds in portal.links.targets(
                object_type.type_id, record.id, to_type.type_id
            ).items()
            for type_id in kinds
        ]
        if results:
            key = to_type.name if not to_type.custom else to_type.fqn
            out[key] = {"results": results}
    return out


def read_view(
    request: Request, portal: Portal, object_type: ObjectType, record: Record
) -> dict[str, Any]:
    body = render_read(portal.hub_id, object_type, record, query_list(request, "properties"))
    wanted = query_list(request, "associations")
    if wanted:
        links = v3_associations(portal, object_type, record, wanted)
        if links:
            body["associations"] = links
    return body


def register(router: Router, gate: Gate) -> None:
    @gate("objects.create")
    async def create(request: Request, portal: Portal) -> Response:
        object_type = paths.object_type(portal, request.params["objectType"])
        data = json_object(request)
        problems: list[PropertyProblem] = []
        props = writes.properties_of(portal, object_type, data.get("properties"), problems)
        writes.raise_problems(portal, problems)
        pairs, failure = writes.inline_associations(portal, object_type, data.get("associations"))
        failure = failure or writes.find_conflict(portal, object_type, props)
        if failure is not None:
            failure.raise_whole()
        record = writes.create(portal, object_type, props, now_iso(), pairs)
        return json_response(201, render_written(portal.hub_id, object_type, record))

    @gate("objects.get")
    async def get(request: Request, portal: Portal) -> Response:
        object_type = paths.object_type(portal, request.params["objectType"])
        key, id_property = request.params["objectId"], request.arg("idProperty")
        if query_flag(request, "archived"):
            record = portal.store.get(object_type.type_id, key, archived=True)
        else:
            record = writes.lookup(portal, object_type, key, id_property)
        if record is None:
            return not_found(portal)
        return json_response(200, read_view(request, portal, object_type, record))

    @gate("objects.list")
    async def list_page(request: Request, portal: Portal) -> Response:
        object_type = paths.object_type(portal, request.params["objectType"])
        try:
            limit = int(request.arg("limit") or 10)
            after_raw = request.arg("after")
            after = int(after_raw) if after_raw else None
        except ValueError:
            raise api_error(400, "limit and after must be integers", "VALIDATION_ERROR") from None
        if not 1 <= limit <= MAX_PAGE:
            raise api_error(400, f"limit must be between 1 and {MAX_PAGE}", "VALIDATION_ERROR")
        records, next_after = portal.store.page(
            object_type.type_id, after, limit, query_flag(request, "archived")
        )
        body: dict[str, Any] = {
            "results": [read_view(request, portal, object_type, r) for r in records]
        }
        if next_after is not None:
            host = request.headers.get("host", "127.0.0.1")
            link = f"http://{host}{request.path}?limit={limit}&after={next_after}"
            body["paging"] = {"next": {"after": str(next_after), "link": link}}
        return json_response(200, body)

    @gate("objects.update")
    async def update(request: Request, portal: Portal) -> Response:
        object_type = paths.object_type(portal, request.params["objectType"])
        data = json_object(request)
        raw = data.get("properties")
        if not raw:
            raise api_error(
                400,
                "No properties found to update, please provide at least one.",
                "VALIDATION_ERROR",
            )
        record = writes.lookup(
            portal, object_type, request.params["objectId"], request.arg("idProperty")
        )
        if record is None:
            return not_found(portal)
        problems: list[PropertyProblem] = []
        props = writes.properties_of(portal, object_type, raw, problems)
        writes.raise_problems(portal, problems)
        failure = writes.find_conflict(portal, object_type, props, own_id=record.id)
        if failure is not None:
            failure.raise_whole()
        writes.update(portal, object_type, record, props, now_iso())
        return json_response(200, render_written(portal.hub_id, object_type, record))

    @gate("objects.archive")
    async def archive(request: Request, portal: Portal) -> Response:
        object_type = paths.object_type(portal, request.params["objectType"])
        record = portal.store.get(object_type.type_id, request.params["objectId"])
        if record is None:
            if portal.settings.archive_missing_status == 404:
                return not_found(portal)
            return empty_response(204)
        writes.archive(portal, object_type, record, now_iso())
        return empty_response(204)

    for prefix in paths.OBJECTS:
        router.add("POST", prefix + "/{objectType}", create)
        router.add("GET", prefix + "/{objectType}", list_page)
        router.add("GET", prefix + "/{objectType}/{objectId}", get)
        router.add("PATCH", prefix + "/{objectType}/{objectId}", update)
        router.add("DELETE", prefix + "/{objectType}/{objectId}", archive)
