"""The HubSpot emulator of the provider sandbox (see docs/sandbox-hubspot.md)."""

from __future__ import annotations

from writeback.sandbox.app import Emulator
from writeback.sandbox.http import Request, Response, Router
from writeback.sandbox.hubspot import (
    associations,
    batch,
    oauth,
    objects,
    paths,
    properties,
    schemas_api,
    search,
)
from writeback.sandbox.hubspot.errors import error_body, error_response
from writeback.sandbox.hubspot.gate import Gate
from writeback.sandbox.hubspot.kind import KIND, HubSpotKind
from writeback.sandbox.tenants import Registry

__all__ = ["KIND", "HubSpotKind", "emulator"]


def _not_found(request: Request) -> Response:
    return error_response(404, error_body("resource not found", None))


def emulator(registry: Registry) -> Emulator:
    router = Router()
    gate = Gate(registry)
    # Batch routes first: their fixed segments must win over `{objectType}/{objectId}`.
    batch.register(router, gate)
    search.register(router, gate)
    objects.register(router, gate)
    associations.register(router, gate)
    properties.register(router, gate)
    schemas_api.register(router, gate)
    oauth.register(router, registry)
    return Emulator(KIND, router, paths.OWNED, _not_found)
