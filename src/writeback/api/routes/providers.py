"""The provider catalog: no authentication, as in Ampersand."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from writeback import catalog
from writeback.api.deps import app_state
from writeback.api.problems import not_found

router = APIRouter(tags=["providers"])


@router.get("/providers")
async def list_providers(request: Request) -> dict[str, Any]:
    return catalog.localize(catalog.list_providers(), app_state(request).settings.sandbox_url)


@router.get("/providers/{provider}")
async def get_provider(provider: str, request: Request) -> dict[str, Any]:
    info = catalog.localize(catalog.get_provider(provider), app_state(request).settings.sandbox_url)
    if info is None:
        known = ", ".join(sorted(catalog.list_providers()))
        raise not_found("Provider", provider, f"Known providers: {known}.")
    return info
