"""CRM v3 Properties API: list, read, create, update and archive property definitions."""

from __future__ import annotations

from writeback.sandbox.http import Request, Response, Router, empty_response, json_response
from writeback.sandbox.hubspot import paths
from writeback.sandbox.hubspot.body import json_object, query_flag
from writeback.sandbox.hubspot.errors import api_error
from writeback.sandbox.hubspot.gate import Gate
from writeback.sandbox.hubspot.portal import Portal
from writeback.sandbox.hubspot.property_input import PropertyInputError, normalise
from writeback.sandbox.hubspot.schema import ObjectType, PropertyDef
from writeback.sandbox.hubspot.system import now_iso


def _find(portal: Portal, object_type: ObjectType, name: str) -> PropertyDef:
    found = object_type.properties.get(name)
    if found is None:
        raise api_error(
            404,
            f"Unable to find property {name} for object type {object_type.type_id}",
            "OBJECT_NOT_FOUND",
        )
    return found


def register(router: Router, gate: Gate) -> None:
    @gate("properties.list")
    async def list_all(request: Request, portal: Portal) -> Response:
        object_type = paths.object_type(portal, request.params["objectType"])
        archived = query_flag(request, "archived")
        results = [p.to_json() for p in object_type.properties.values() if p.archived == archived]
        return json_response(200, {"results": results})

    @gate("properties.get")
    async def get(request: Request, portal: Portal) -> Response:
        object_type = paths.object_type(portal, request.params["objectType"])
        return json_response(
            200, _find(portal, object_type, request.params["propertyName"]).to_json()
        )

    @gate("properties.create")
    async def create(request: Request, portal: Portal) -> Response:
        object_type = paths.object_type(portal, request.params["objectType"])
        try:
            data = normalise(json_object(request), now_iso())
        except PropertyInputError as exc:
            raise api_error(400, str(exc), "VALIDATION_ERROR") from None
        if data["name"] in object_type.properties:
            raise api_error(409, f"Property named '{data['name']}' already exists.", "CONFLICT")
        portal.add_property(object_type, data)
        return json_response(201, object_type.properties[data["name"]].to_json())

    @gate("properties.update")
    async def update(request: Request, portal: Portal) -> Response:
        object_type = paths.object_type(portal, request.params["objectType"])
        current = _find(portal, object_type, request.params["propertyName"])
        if current.hubspot_defined:
            raise api_error(
                400,
                f"{current.name} is a HubSpot-defined property and cannot be changed",
                "VALIDATION_ERROR",
            )
        patch = json_object(request)
        current_options = [{"value": v, "label": label} for v, label in current.options]
        source = {
            "name": current.name,
            "label": patch.get("label", current.label),
            "type": current.type,  # HubSpot does not let a property change type
            "fieldType": patch.get("fieldType", current.field_type),
            "groupName": patch.get("groupName", current.group),
            "description": patch.get("description", current.description),
            "options": patch.get("options", current_options),
            "hasUniqueValue": current.unique,
            "hidden": patch.get("hidden", current.hidden),
            "displayOrder": patch.get("displayOrder", current.display_order),
        }
        try:
            data = normalise(source, now_iso())
        except PropertyInputError as exc:
            raise api_error(400, str(exc), "VALIDATION_ERROR") from None
        data["createdAt"] = current.created_at
        portal.add_property(object_type, data)
        return json_response(200, object_type.properties[current.name].to_json())

    @gate("properties.archive")
    async def archive(request: Request, portal: Portal) -> Response:
        object_type = paths.object_type(portal, request.params["objectType"])
        current = _find(portal, object_type, request.params["propertyName"])
        if current.hubspot_defined:
            raise api_error(
                400,
                f"{current.name} is a HubSpot-defined property and cannot be archived",
                "VALIDATION_ERROR",
            )
        portal.drop_property(object_type, current.name)
        return empty_response(204)

    for prefix in paths.PROPERTIES:
        router.add("GET", prefix + "/{objectType}", list_all)
        router.add("POST", prefix + "/{objectType}", create)
        router.add("GET", prefix + "/{objectType}/{propertyName}", get)
        router.add("PATCH", prefix + "/{objectType}/{propertyName}", update)
        router.add("DELETE", prefix + "/{objectType}/{propertyName}", archive)
