"""The HubSpot provider kind: settings, tokens and tenant info for the sandbox core."""

from __future__ import annotations

import secrets
from typing import Any

from writeback.sandbox.hubspot import tokens
from writeback.sandbox.hubspot.catalog import CUSTOM_TYPE_ID
from writeback.sandbox.hubspot.portal import Portal
from writeback.sandbox.hubspot.settings import DEFAULT_SETTINGS, parse_settings
from writeback.sandbox.tenants import Tenant

# Private-app tokens never expire; ten years stands in for "never".
_PRIVATE_APP_SECONDS = 10 * 365 * 86400.0


class HubSpotKind:
    name = "hubspot"
    default_settings: dict[str, Any] = DEFAULT_SETTINGS

    def new_state(self, tenant: Tenant) -> Portal:
        if tenant.settings.get("hubId") is None:
            tenant.settings["hubId"] = 10_000_000 + secrets.randbelow(90_000_000)
        parse_settings(tenant.settings)  # SettingsError → the admin API answers 400
        return Portal(tenant)

    def validate_settings(self, settings: dict[str, Any]) -> None:
        # hubId is chosen when the portal is made; any placeholder validates the rest
        parse_settings({**settings, "hubId": settings.get("hubId") or 1})

    def restore_state(self, tenant: Tenant, data: dict[str, Any]) -> Portal:
        return Portal.restore(tenant, data)

    def access_token_lifetime(self, tenant: Tenant) -> float:
        settings = (
            tenant.state.settings if tenant.state is not None else parse_settings(tenant.settings)
        )
        if settings.token_style == "private_app":
            return _PRIVATE_APP_SECONDS
        return settings.access_token_seconds

    def new_access_token(self, tenant: Tenant) -> str:
        if tenant.settings.get("tokenStyle") == "private_app":
            return tokens.private_app_token()
        return tokens.oauth_access_token()

    def new_refresh_token(self, tenant: Tenant) -> str:
        return tokens.refresh_token()

    def tenant_info(self, tenant: Tenant, base_url: str) -> dict[str, Any]:
        portal: Portal = tenant.state
        custom = portal.custom_type
        return {
            "hubId": portal.hub_id,
            "apiBaseUrl": base_url,
            "appId": portal.app_id,
            "tokenStyle": portal.settings.token_style,
            "customObject": {
                "objectTypeId": CUSTOM_TYPE_ID,
                "fullyQualifiedName": custom.fqn,
                "name": custom.name,
            },
        }


KIND = HubSpotKind()
