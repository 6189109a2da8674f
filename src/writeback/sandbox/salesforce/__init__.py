"""The Salesforce emulator of the provider sandbox (see docs/sandbox-salesforce.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from writeback.sandbox.http import Request, Response
from writeback.sandbox.salesforce.errors import rest_not_found_response
from writeback.sandbox.salesforce.kind import SalesforceKind
from writeback.sandbox.salesforce.routes import build_router
from writeback.sandbox.tenants import Registry

if TYPE_CHECKING:
    from writeback.sandbox.app import Emulator

KIND = SalesforceKind()
PREFIXES = ("/services/", "/id/")


def not_found(request: Request) -> Response:
    return rest_not_found_response()


def emulator(registry: Registry) -> Emulator:
    from writeback.sandbox.app import Emulator  # app.py imports this package: import late

    return Emulator(KIND, build_router(registry), PREFIXES, not_found)
