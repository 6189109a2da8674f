"""Every provider URL in one table.

The sandbox mode (a later change) rewrites these hosts to local emulators, so nothing else in
the catalog spells out a URL: provider modules ask this module for theirs.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ProviderUrls:
    """The endpoints of one provider; `{{.workspace}}` is filled in per connection."""

    base_url: str
    auth_url: str
    token_url: str
    module_base_urls: dict[str, str] = field(default_factory=dict)
    health_check_url: str | None = None


_URLS: dict[str, ProviderUrls] = {
    "salesforce": ProviderUrls(
        base_url="https://{{.workspace}}.my.salesforce.com",
        auth_url="https://login.salesforce.com/services/oauth2/authorize",
        token_url="https://login.salesforce.com/services/oauth2/token",
        module_base_urls={"crm": "https://{{.workspace}}.my.salesforce.com"},
        health_check_url="https://{{.workspace}}.my.salesforce.com/services/oauth2/userinfo",
    ),
    "hubspot": ProviderUrls(
        base_url="https://api.hubapi.com",
        auth_url="https://app.hubspot.com/oauth/authorize",
        token_url="https://api.hubapi.com/oauth/v1/token",
        module_base_urls={"crm": "https://api.hubapi.com/crm"},
    ),
}


def provider_urls(name: str) -> ProviderUrls | None:
    """The URLs of provider `name` (case-insensitive), or None for an unknown provider."""
    return _URLS.get(name.lower())


def require_urls(name: str) -> ProviderUrls:
    """Like `provider_urls`, for catalog code that knows the provider exists."""
    urls = provider_urls(name)
    if urls is None:
        raise KeyError(f"no URLs registered for provider {name!r}")
    return urls
