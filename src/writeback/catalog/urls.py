"""Every provider URL in one table.

Sandbox mode (`WRITEBACK_SANDBOX_URL=http://127.0.0.1:P`, read into `Settings.sandbox_url`)
points every one of them at a running `writeback sandbox`: the emulators serve the same paths on
one host, so only the scheme and host change. Nothing else spells out a provider URL.

Salesforce orgs also log in (and refresh tokens) at other hosts than login.salesforce.com: a
sandbox org at test.salesforce.com, any org at its My Domain. A connection's `login_url` names
that host; in sandbox mode such a host maps to `<sandbox>/_host/<host>/…`, where the emulator
answers as that host would.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

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


def _default_hosts() -> frozenset[str]:
    """The hosts the URL table names (templated ones left out): the sandbox serves them at
    its root."""
    found = set()
    for urls in _URLS.values():
        every = [urls.base_url, urls.auth_url, urls.token_url, *urls.module_base_urls.values()]
        if urls.health_check_url:
            every.append(urls.health_check_url)
        found.update(urlsplit(url).hostname or "" for url in every if "{{" not in url)
    return frozenset(found)


_DEFAULT_HOSTS = _default_hosts()


def to_sandbox_host(url: str, sandbox: str) -> str:
    """An https provider URL on the sandbox: a default host of the URL table maps to the
    sandbox root (as `provider_urls` does); any other host keeps its name in the path,
    `https://test.salesforce.com/x` → `<sandbox>/_host/test.salesforce.com/x`."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host in _DEFAULT_HOSTS:
        return _to_sandbox(url, sandbox)
    return _ORIGIN.sub(sandbox.rstrip("/") + "/_host/" + host, url)


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


def token_url(provider: str, login_url: str | None, sandbox: str | None = None) -> str:
    """The token endpoint a connection refreshes at: `<login_url>/services/oauth2/token` when
    the connection names its login host (Salesforce), else the catalog's; in sandbox mode the
    sandbox's equivalent."""
    if login_url:
        url = login_url.rstrip("/") + "/services/oauth2/token"
        return to_sandbox_host(url, sandbox) if sandbox is not None else url
    urls = provider_urls(provider, sandbox)
    if urls is None:
        raise KeyError(f"no URLs registered for provider {provider!r}")
    return urls.token_url
