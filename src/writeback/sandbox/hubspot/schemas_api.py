"""CRM object schemas: what Ampersand reads to map association type ids to object pairs."""

from __future__ import annotations

from typing import Any

from writeback.sandbox.http import Request, Response, Router, json_response
from writeback.sandbox.hubspot import paths
from writeback.sandbox.hubspot.assoc_types import AssocType
from writeback.sandbox.hubspot.gate import Gate
from writeback.sandbox.hubspot.portal import Portal
from writeback.sandbox.hubspot.schema import ObjectType

_CREATED = "2020-01-01T00:00:00Z"


def _association(portal: Portal, assoc: AssocType) -> dict[str, Any]:
    inverse = portal.assoc.by_id[assoc.inverse]
    return {
        "fromObjectTypeId": assoc.from_type,
        "toObjectTypeId": assoc.to_type,
        "name": assoc.name,
        "cardinality": "ONE_TO_ONE" if assoc.single else "ONE_TO_MANY",
        "inverseCardinality": "ONE_TO_ONE" if inverse.single else "ONE_TO_MANY",
        "hasUserEnforcedMaxToObjectIds": False,
        "hasUserEnforcedMaxFromObjectIds": False,
        "maxToObjectIds": 1 if assoc.single else 10000,
        "maxFromObjectIds": 1 if inverse.single else 10000,
        "id": str(assoc.id),
        "createdAt": None,
        "updatedAt": None,
    }


def schema_view(portal: Portal, object_type: ObjectType) -> dict[str, Any]:
    return {
        "labels": {"singular": object_type.label_singular, "plural": object_type.label_plural},
        "requiredProperties": list(object_type.required),
        "searchableProperties": [object_type.primary_display, *object_type.secondary_display],
        "primaryDisplayProperty": object_type.primary_display,
        "secondaryDisplayProperties": list(object_type.secondary_display),
        "description": object_type.description,
        "archived": False,
        "restorable": True,
        "metaType": "PORTAL_SPECIFIC" if object_type.custom else "HUBSPOT",
        "id": object_type.schema_id,
        "fullyQualifiedName": object_type.fqn,
        "createdAt": _CREATED,
        "updatedAt": _CREATED,
        "objectTypeId": object_type.type_id,
        "properties": [p.to_json() for p in object_type.properties.values()],
        "associations": [
            _association(portal, a) for a in portal.assoc.touching(object_type.type_id)
        ],
        "name": object_type.name if object_type.custom else object_type.fqn,
    }


def register(router: Router, gate: Gate) -> None:
    @gate("schemas.get")
    async def get(request: Request, portal: Portal) -> Response:
        object_type = paths.object_type(portal, request.params["objectType"])
        return json_response(200, schema_view(portal, object_type))

    @gate("schemas.list")
    async def list_all(request: Request, portal: Portal) -> Response:
        # Like HubSpot, the list holds the portal's custom objects only.
        custom = [schema_view(portal, t) for t in portal.types if t.custom]
        return json_response(200, {"results": custom})

    for prefix in paths.SCHEMAS:
        router.add("GET", prefix, list_all)
        router.add("GET", prefix + "/{objectType}", get)
