"""Catalog entry for HubSpot (facts: research/providers.md part B, ampersand.md §1.4)."""

from __future__ import annotations

from typing import Any

from writeback.catalog.support import support
from writeback.catalog.urls import require_urls

NAME = "hubspot"


def _crm_support() -> dict[str, Any]:
    # CRM v3 batch endpoints (create/update/upsert/archive) take at most 100 inputs.
    return support(
        actions={"read", "write", "delete", "proxy", "subscribe"},
        bulk=set(),
        batch_limits={"create": 100, "update": 100, "upsert": 100, "delete": 100},
        search_equals=True,
    )


def provider_info() -> dict[str, Any]:
    """A fresh ProviderInfo dict for HubSpot."""
    urls = require_urls(NAME)
    return {
        "name": NAME,
        "displayName": "HubSpot",
        "authType": "oauth2",
        "baseURL": urls.base_url,
        "defaultModule": "crm",
        "oauth2Opts": {
            "grantType": "authorizationCode",
            "authURL": urls.auth_url,
            "tokenURL": urls.token_url,
            # HubSpot apps must name their scopes up front (provider apps require `scopes`).
            "explicitScopesRequired": True,
            "explicitWorkspaceRequired": False,
            # The token response carries the portal id (`hub_id`) and the granted `scopes`.
            "tokenMetadataFields": {
                "workspaceRefField": "hub_id",
                "scopesField": "scopes",
            },
        },
        "support": _crm_support(),
        "modules": {
            "crm": {
                "displayName": "HubSpot CRM",
                "baseURL": urls.module_base_urls["crm"],
                "support": _crm_support(),
            },
        },
        "labels": {"category": "CRM"},
        "providerAppMetadata": {
            "authQueryParams": [
                {
                    "name": "optional_scope",
                    "displayName": "Optional scopes",
                    "prompt": "Space-separated scopes to request when the portal allows them.",
                },
            ],
        },
    }
