"""Lookup over the provider catalog.

Entries are rebuilt on every call, so callers always get their own copy and may mutate it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from writeback.catalog import hubspot, salesforce
from writeback.catalog.support import ACTIONS

_BUILDERS: dict[str, Callable[[], dict[str, Any]]] = {
    salesforce.NAME: salesforce.provider_info,
    hubspot.NAME: hubspot.provider_info,
}


def list_providers() -> dict[str, dict[str, Any]]:
    """Every provider: name → ProviderInfo, as fresh JSON-shaped dicts."""
    return {name: build() for name, build in sorted(_BUILDERS.items())}


def get_provider(name: str) -> dict[str, Any] | None:
    """The ProviderInfo of `name` (case-insensitive), or None if there is no such provider."""
    build = _BUILDERS.get(name.lower()) if isinstance(name, str) else None
    return build() if build else None


def module_names(name: str) -> list[str]:
    """The modules of provider `name`, sorted; empty for an unknown provider."""
    info = get_provider(name)
    if info is None:
        return []
    return sorted(info.get("modules") or {})


def supports(name: str, action: str, module: str | None = None) -> bool:
    """Whether provider `name` (optionally its `module`) supports `action`.

    `action` is one of read, write, delete, proxy, subscribe. A module's own `support`
    replaces the provider-level one. Unknown providers and modules support nothing.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; expected one of {', '.join(ACTIONS)}")
    info = get_provider(name)
    if info is None:
        return False
    support = info["support"]
    if module is not None:
        module_info = (info.get("modules") or {}).get(module)
        if module_info is None:
            return False
        support = module_info.get("support", support)
    return bool(support.get(action, False))
