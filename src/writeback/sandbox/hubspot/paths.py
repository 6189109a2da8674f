"""URL prefixes served (dated versions are aliases of v3/v4), and object type lookup."""

from __future__ import annotations

from writeback.sandbox.hubspot.errors import api_error
from writeback.sandbox.hubspot.portal import Portal
from writeback.sandbox.hubspot.schema import ObjectType

# Ampersand's connector uses the 2026-03 dated paths; hubspot-api-client uses v3/v4.
OBJECTS = ("/crm/v3/objects", "/crm/objects/2026-03")
OBJECT_ASSOCIATIONS = ("/crm/v4/objects", "/crm/objects/2026-03")
ASSOCIATIONS = ("/crm/v4/associations", "/crm/associations/2026-03")
PROPERTIES = ("/crm/v3/properties", "/crm/properties/2026-03")
SCHEMAS = (
    "/crm/v3/schemas",
    "/crm-object-schemas/v3/schemas",
    "/crm-object-schemas/2026-03/schemas",
)
TOKEN = ("/oauth/v1/token", "/oauth/v3/token", "/oauth/2026-03/token")
OWNED = ("/crm", "/oauth", "/properties")


def object_type(portal: Portal, name: str) -> ObjectType:
    found = portal.types.resolve(name)
    if found is None:
        # The real body carries no category.
        raise api_error(400, f"Unable to infer object type from: {name}", None)
    return found
