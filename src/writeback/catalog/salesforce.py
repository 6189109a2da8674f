"""Catalog entry for Salesforce (facts: research/providers.md part A, ampersand.md §1.4)."""

from __future__ import annotations

from typing import Any

from writeback.catalog.support import support
from writeback.catalog.urls import require_urls

NAME = "salesforce"


def _crm_support() -> dict[str, Any]:
    # Batches go through sObject Collections; the Write API caps a batch at 100 records.
    # Bulk API 2.0 upsert/delete exist at Salesforce but the Write API does not expose them.
    return support(
        actions={"read", "write", "delete", "proxy", "subscribe"},
        bulk={"upsert", "delete"},
        batch_limits={"create": 100, "update": 100},
        search_equals=True,
    )


def provider_info() -> dict[str, Any]:
    """A fresh ProviderInfo dict for Salesforce."""
    urls = require_urls(NAME)
    return {
        "name": NAME,
        "displayName": "Salesforce",
        "authType": "oauth2",
        "baseURL": urls.base_url,
        "defaultModule": "crm",
        "oauth2Opts": {
            "grantType": "authorizationCode",
            "authURL": urls.auth_url,
            "tokenURL": urls.token_url,
            "explicitScopesRequired": False,
            # The REST host is the customer's My Domain, so it must be known before calls.
            "explicitWorkspaceRequired": True,
            # The token response carries the identity URL (`id`), `instance_url` and `scope`.
            "tokenMetadataFields": {
                "consumerRefField": "id",
                "workspaceRefField": "instance_url",
                "scopesField": "scope",
            },
        },
        "authHealthCheck": {
            "url": urls.health_check_url,
            "method": "GET",
            "successStatusCodes": [200],
        },
        "support": _crm_support(),
        "modules": {
            "crm": {
                "displayName": "Salesforce",
                "baseURL": urls.module_base_urls["crm"],
                "support": _crm_support(),
            },
        },
        "labels": {"category": "CRM"},
        "metadata": {
            "input": [
                {
                    "name": "workspace",
                    "displayName": "Subdomain",
                    "prompt": "The My Domain subdomain of your Salesforce org "
                    "(the part before .my.salesforce.com).",
                    "moduleDependencies": {"crm": {}},
                },
            ],
        },
        "providerAppMetadata": {
            "providerParams": [
                {
                    "name": "packageInstallURL",
                    "displayName": "External Client App Install URL",
                    "prompt": "If you connect through an External Client App, the package "
                    "install URL to show to your users.",
                },
            ],
        },
    }
