"""The provider catalog: no authentication, as in Ampersand."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from writeback import catalog
from writeback.api.problems import not_found

router = APIRouter(tags=["providers"])


@router.get("/providers")
async def list_providers() -> dict[str, Any]:
    return catalog.list_providers()


@router.get("/providers/{provider}")
async def get_provider(provider: str) -> dict[str, Any]:
    info = catalog.get_provider(provider)
    if info is None:
        known = ", ".join(sorted(catalog.list_providers()))
        raise not_found("Provider", provider, f"Known providers: {known}.")
    return info
