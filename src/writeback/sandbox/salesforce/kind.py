"""The Salesforce ProviderKind: settings, state, token shapes, tenant info."""

from __future__ import annotations

import secrets
import string
from typing import Any

from writeback.sandbox.salesforce import ids, settings
from writeback.sandbox.salesforce.org import Org
from writeback.sandbox.tenants import SettingsError, Tenant

TOKEN_CHARS = string.ascii_letters + string.digits + "._"


def _random(length: int, alphabet: str = TOKEN_CHARS) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def _org_id(tenant: Tenant) -> str:
    configured = tenant.settings.get("orgId")
    if configured is None:
        return ids.new_org_id(tenant.id)
    canonical = ids.normalize(str(configured))
    if canonical is None or not canonical.startswith("00D"):
        raise SettingsError(
            f"orgId must be a 15- or 18-character id starting 00D, got {configured!r}"
        )
    return canonical


class SalesforceKind:
    name = "salesforce"
    default_settings: dict[str, Any] = settings.DEFAULT_SETTINGS

    def validate_settings(self, values: dict[str, Any]) -> None:
        wrong = settings.problems(values)
        if wrong:
            raise SettingsError("; ".join(wrong))

    def new_state(self, tenant: Tenant) -> Org:
        self.validate_settings(tenant.settings)
        return Org(tenant, _org_id(tenant))

    def restore_state(self, tenant: Tenant, data: dict[str, Any]) -> Org:
        return Org.restore(tenant, data)

    def access_token_lifetime(self, tenant: Tenant) -> float:
        return float(tenant.settings["sessionSeconds"])

    def new_access_token(self, tenant: Tenant) -> str:
        # Real ones: the 15-char org id, "!", then about 96 characters.
        org: Org = tenant.state
        return f"{org.org_id[:15]}!AQ{_random(94)}"

    def new_refresh_token(self, tenant: Tenant) -> str:
        return "5Aep861" + _random(80, string.ascii_letters + string.digits + "._")

    def tenant_info(self, tenant: Tenant, base_url: str) -> dict[str, Any]:
        org: Org = tenant.state
        return {
            "instanceUrl": base_url,
            "orgId": org.org_id,
            "userId": org.user_id,
            "username": org.username,
            "idUrl": f"{base_url}/id/{org.org_id}/{org.user_id}",
        }
