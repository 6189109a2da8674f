"""Every provider URL in one table.

Sandbox mode (`WRITEBACK_SANDBOX_URL=http://127.0.0.1:P`, read into `Settings.sandbox_url`)
points every one of them at a running `writeback sandbox`: the emulators serve the same paths on
one host, so only the scheme and host change. Nothing else spells out a provider URL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

_ORIGIN = re.compile(r"^https://[^/]+")


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


def _to_sandbox(url: str, sandbox: str) -> str:
    return _ORIGIN.sub(sandbox, url)


def provider_urls(name: str, sandbox: str | None = None) -> ProviderUrls | None:
    """The URLs of provider `name` (case-insensitive), or None for an unknown provider;
    with `sandbox` (a base URL), the sandbox's equivalents."""
    urls = _URLS.get(name.lower())
    if urls is None or sandbox is None:
        return urls
    return replace(
        urls,
        base_url=_to_sandbox(urls.base_url, sandbox),
        auth_url=_to_sandbox(urls.auth_url, sandbox),
        token_url=_to_sandbox(urls.token_url, sandbox),
        module_base_urls={k: _to_sandbox(v, sandbox) for k, v in urls.module_base_urls.items()},
        health_check_url=(
            _to_sandbox(urls.health_check_url, sandbox) if urls.health_check_url else None
        ),
    )


def require_urls(name: str) -> ProviderUrls:
    """Like `provider_urls`, for catalog code that knows the provider exists."""
    urls = provider_urls(name)
    if urls is None:
        raise KeyError(f"no URLs registered for provider {name!r}")
    return urls


def localize(value: Any, sandbox: str | None) -> Any:
    """A ProviderInfo (or any JSON) with every https URL pointed at the sandbox."""
    if sandbox is None:
        return value
    if isinstance(value, dict):
        return {key: localize(item, sandbox) for key, item in value.items()}
    if isinstance(value, list):
        return [localize(item, sandbox) for item in value]
    if isinstance(value, str) and value.startswith("https://"):
        return _to_sandbox(value, sandbox)
    return value
